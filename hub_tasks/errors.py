"""The `HubError` tree, the one mapper from (HTTP status, envelope) to it, and `is_retryable`.

```
HubError(Exception)              operation, model_id, status_code, hub_code, request_id; retryable = False
├── NotLoginError                missing or invalid token (401, business code 10010103009)
├── PermissionDeniedError        403
├── NotExistError                404, or HTTP 200 whose envelope says a lookup failed
├── AlreadyExistsError           duplicate name (business codes), 409; a tag that points elsewhere
├── InvalidParameter(ValueError) local validation before any I/O, or a 400/405/413/422 from the hub
├── RequestError                 any other 4xx, or a failing/malformed envelope on HTTP 200
│   └── ListingLimitError        a listing the hub cannot page through completely
├── VerificationError            the remote tree does not match what was published
│   └── ConcurrentChangeError    someone else changed the revision while we published
├── DownloadError                files that could not be downloaded and verified; `failures` lists them
└── TransientHubError            retryable = True
    ├── RateLimitedError         429, with retry_after
    ├── ServerError              5xx
    └── HubConnectionError       connection refused or dropped, timeouts
```

Messages name the operation, the model id, the status, the hub code and the request id; never a
token, a cookie, a request body or headers. Every error pickles (Prefect stores failed states).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import requests

# Business codes of the legacy envelope (protocol.md §1.5, HUB errors._BUSINESS_CODE_MAP).
_LOGIN_CODES = frozenset({10010103009})
_DUPLICATE_CODES = frozenset({10010101001, 10020101001, 10010202004})
# A commit refused because the branch moved or a policy throttled it: retryable (§10.5).
_COMMIT_RETRY_CODES = frozenset({10030000001})


class HubError(Exception):
    """Base of every error this package raises about the hub.

    Attributes:
        operation: What was being done ("create_model", "push_model", ...).
        model_id: The model concerned, when there is one.
        status_code: HTTP status, when a response arrived.
        hub_code: The envelope's `Code`/`code`, when present.
        request_id: The hub's request id, when it sent one.
        retryable: Whether retrying the same call may succeed.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        model_id: str | None = None,
        status_code: int | None = None,
        hub_code: int | str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.operation = operation
        self.model_id = model_id
        self.status_code = status_code
        self.hub_code = hub_code
        self.request_id = request_id
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = " ".join(p for p in (self.operation, self.model_id) if p)
        details = [f"HTTP {self.status_code}"] if self.status_code else []
        if self.hub_code not in (None, "", self.status_code):
            details.append(f"hub code {self.hub_code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{where}: {self.message}{suffix}" if where else f"{self.message}{suffix}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._fields()))

    def _fields(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "model_id": self.model_id,
            "status_code": self.status_code,
            "hub_code": self.hub_code,
            "request_id": self.request_id,
        }


def _rebuild(cls: type[HubError], message: str, fields: dict[str, Any]) -> HubError:
    return cls(message, **fields)


class NotLoginError(HubError):
    """No token, or a token the hub rejects. Fix: set MODELSCOPE_API_TOKEN or the credentials block."""


class PermissionDeniedError(HubError):
    """The token is valid but may not do this (not the owner, not a member of the owning group)."""


class NotExistError(HubError):
    """The model, revision or file does not exist, or is private to someone else."""


class AlreadyExistsError(HubError):
    """The name is taken, or a tag already points at another commit."""


class InvalidParameter(HubError, ValueError):
    """Bad input: rejected locally before any request, or by the hub with 400/405/413/422."""


class RequestError(HubError):
    """Any other refusal: an unexpected 4xx, or HTTP 200 with a failing or malformed envelope."""


class ListingLimitError(RequestError):
    """The hub cannot page through this listing completely; nothing was silently truncated."""


class VerificationError(HubError):
    """After a publish, the remote tree differs from the local files; the message lists the paths."""


class ConcurrentChangeError(VerificationError):
    """Another writer changed the revision during this publish; the run did not overwrite it silently."""


class DownloadError(HubError):
    """Files could not be downloaded and verified; `failures` holds (path, reason) for each of them."""

    def __init__(self, message: str, *, failures: list[tuple[str, str]] | None = None, **fields: Any) -> None:
        self.failures = list(failures or [])
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, {**self._fields(), "failures": self.failures}))


class TransientHubError(HubError):
    """A failure that may go away: retry with back-off."""

    retryable = True


class RateLimitedError(TransientHubError):
    """HTTP 429. `retry_after` holds the hub's `Retry-After` in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, {**self._fields(), "retry_after": self.retry_after}))


class ServerError(TransientHubError):
    """HTTP 5xx (and 408)."""


class HubConnectionError(TransientHubError):
    """The connection failed, dropped mid-way, or timed out."""


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


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-trivial) secret in `text` with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


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


def connection_error(exc: Exception, *, operation: str, model_id: str | None = None) -> HubConnectionError:
    """A `HubConnectionError` describing a transport failure (type only; URLs may carry queries)."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return HubConnectionError(f"{kind} ({type(exc).__name__})", operation=operation, model_id=model_id)


def is_retryable(exc: BaseException) -> bool:
    """True exactly for rate limits, 5xx, connection errors and timeouts.

    Example:
        >>> is_retryable(ServerError("boom")), is_retryable(NotExistError("gone"))
        (True, False)
    """
    if isinstance(exc, HubError):
        return exc.retryable
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, TimeoutError, ConnectionError))
