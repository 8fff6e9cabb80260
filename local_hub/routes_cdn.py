"""The CDN host's one endpoint: a blob behind a signed URL (`cdn_download`), refused in OSS's XML.

`cdn.DOMAIN` is object storage, not the hub's API: it reads no token and no cookie, only the URL's
`auth_key` (`local_hub.cdn`). Like OSS it refuses a request that carries an `Authorization` header
next to the URL's signature (Alibaba Cloud OSS EC 0002-00000039, protocol.md §22.5; the status there
is UNCERTAIN, 403 AccessDenied is answered here), and an expired or tampered signature.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from local_hub.blobs import is_sha256
from local_hub.cdn import oss_error
from local_hub.envelope import hub_of
from local_hub.routes_repo import blob_answer

# What each refusal reason says; the reasons are also the keys of the `cdn_refused` counters.
REFUSALS = {
    "authorization": "The header and the URL request parameter cannot include a signature in a request at the same"
    " time.",
    "bad_signature": "The request signature we calculated does not match the signature you provided.",
    "expired": "Request has expired.",
}


def _xml_error(request: Request, status: int, code: str, message: str) -> Response:
    rid = hub_of(request).ids.request_id()
    body = oss_error(code, message, rid, request.url.hostname or "")
    return Response(body, status_code=status, headers={"x-oss-request-id": rid}, media_type="application/xml")


def _refuse(request: Request, reason: str) -> Response:
    hub_of(request).stats.count("cdn_refused", reason)
    return _xml_error(request, 403, "AccessDenied", REFUSALS[reason])


async def cdn_download(request: Request) -> Response:
    """GET /prod/lfs-objects/{oid}?auth_key=&filename= on `cdn.`: the blob, with Range/206/416 as the
    file route serves it; 403 for an `Authorization` header or a bad or expired `auth_key`."""
    hub = hub_of(request)
    if "authorization" in request.headers:
        return _refuse(request, "authorization")
    reason = hub.signer.check(request.url.path, request.query_params.get("auth_key"))
    if reason is not None:
        return _refuse(request, reason)
    oid = request.path_params["oid"]
    try:
        stat = hub.blobs.path_for(oid).stat() if is_sha256(oid) else None
    except FileNotFoundError:
        stat = None
    if stat is None:
        return _xml_error(request, 404, "NoSuchKey", "The specified key does not exist.")
    headers = {}
    filename = request.query_params.get("filename")
    if filename:  # the name the URL gives the file, for clients that save under the server's name
        headers["content-disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return blob_answer(request, oid, stat.st_size, stat.st_mtime, headers)
