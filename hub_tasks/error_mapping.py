"""The one mapper from a hub response (HTTP status, envelope, business code) to a typed `HubError`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import requests

from hub_tasks.errors import (
    AlreadyExistsError,
    HubError,
    InvalidParameter,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
    ServerError,
    redact,
)

# Business codes of the legacy envelope (protocol.md §1.5, HUB errors._BUSINESS_CODE_MAP).
_LOGIN_CODES = frozenset({10010103009})
_DUPLICATE_CODES = frozenset({10010101001, 10020101001, 10010202004})
# A commit refused because the branch moved or a policy throttled it: retryable (§10.5).
_COMMIT_RETRY_CODES = frozenset({10030000001})


_BY_OPENAPI_CODE: dict[str, type[HubError]] = {
    "InvalidAuthentication": NotLoginError,
    "OperationNotAllowed": PermissionDeniedError,
    "ResourceNotFound": NotExistError,
    "DuplicateEntity": AlreadyExistsError,
    "InputParameterError": InvalidParameter,
    "QuotaLimitExceed": RateLimitedError,
    "RateLimitExceed": RateLimitedError,
    "InternalServerError": ServerError,
    "ServiceUnavailable": ServerError,
}
_BY_STATUS: dict[int, type[HubError]] = {
    400: InvalidParameter,
    401: NotLoginError,
    403: PermissionDeniedError,
    404: NotExistError,
    405: InvalidParameter,
    408: ServerError,
    409: AlreadyExistsError,
    413: InvalidParameter,
    422: InvalidParameter,
    429: RateLimitedError,
}


def _envelope(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None  # an HTTP-date: treated as absent, the client's own back-off applies


def _classify(status: int, code: Any, openapi_code: Any, operation: str) -> type[HubError]:
    if 400 <= status < 500 and code in _COMMIT_RETRY_CODES and operation == "create_commit":
        return ServerError
    if 400 <= status < 500:
        if code in _LOGIN_CODES:
            return NotLoginError
        if code in _DUPLICATE_CODES:
            return AlreadyExistsError
        if isinstance(openapi_code, str) and openapi_code in _BY_OPENAPI_CODE:
            return _BY_OPENAPI_CODE[openapi_code]
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, RequestError)


def raise_for_hub_response(
    response: requests.Response,
    *,
    operation: str,
    model_id: str | None = None,
    lookup: bool = False,
    expect_json: bool = True,
    secrets: Iterable[str | None] = (),
) -> dict[str, Any] | None:
    """Classify one response; the only place in the package that does.

    Reads the envelope even on HTTP 200 (the legacy API can say `Success: false` there), looks up
    the business code first and then the status, and never matches message text.

    Args:
        response: The hub's answer.
        operation: Name of the operation, for the message.
        model_id: The model concerned, for the message.
        lookup: A failing envelope on HTTP 200 means "not found" (get_model) rather than refused.
        expect_json: Whether a 2xx must carry a JSON envelope.
        secrets: Values to scrub from the hub's message before it goes into the exception.

    Returns:
        The parsed JSON body of a successful response (None when not JSON and not expected).

    Raises:
        HubError: The subclass for this status, business code or envelope.

    Example:
        >>> import requests
        >>> r = requests.Response(); r.status_code = 404; r._content = b'{"Code": 404, "Message": "gone"}'
        >>> try:
        ...     raise_for_hub_response(r, operation="get_model", model_id="a/b")
        ... except NotExistError as err:
        ...     print(err)
        get_model a/b: gone (HTTP 404)
    """
    payload = _envelope(response)
    body = payload or {}
    request_id = body.get("RequestId") or body.get("request_id") or response.headers.get("x-request-id")
    message = next((body[k] for k in ("Message", "message", "msg", "error", "detail") if body.get(k)), "")
    if not message and payload is None and response.headers.get("content-type", "").startswith("text/plain"):
        message = response.text.strip()  # git's smart-HTTP endpoints explain a refusal in plain text
    message = redact(str(message), secrets)[:500] or (response.reason or "no message")
    code = body.get("Code", body.get("code"))
    fields = {
        "operation": operation,
        "model_id": model_id,
        "status_code": response.status_code,
        "hub_code": code,
        "request_id": request_id,
    }
    status = response.status_code
    if status >= 400:
        cls = _classify(status, code, body.get("code"), operation)
        if issubclass(cls, RateLimitedError):
            raise RateLimitedError(message, retry_after=_retry_after(response), **fields)
        raise cls(message, **fields)
    if payload is None:
        if expect_json:
            raise RequestError("the hub answered with a body that is not a JSON envelope", **fields)
        return None
    failed = payload.get("Success") is False or payload.get("success") is False
    if "Code" in payload and payload["Code"] not in (200, "200"):
        failed = True
    if failed:
        raise (NotExistError if lookup else RequestError)(message or "the hub reported a failure", **fields)
    return payload
