"""The `HubError` tree, `is_retryable`, and the helpers errors share (`redact`, `connection_error`).

`hub_tasks.error_mapping.raise_for_hub_response` is the one mapper from a hub response to these.

```
HubError(Exception)              operation, model_id, status_code, hub_code, request_id; retryable = False
├── NotLoginError(ValueError)    missing or invalid token (401, business code 10010103009)
├── PermissionDeniedError        403
├── NotExistError                404, or HTTP 200 whose envelope says a lookup failed
├── AlreadyExistsError           duplicate name (business codes), 409; a tag that points elsewhere
├── InvalidParameter(ValueError) local validation before any I/O, or a 400/405/413/422 from the hub
├── RequestError                 any other 4xx, or a failing/malformed envelope on HTTP 200
│   └── ListingLimitError        a listing the hub cannot page through completely
├── VerificationError            the remote tree does not match what was published
│   └── ConcurrentChangeError    someone else changed the revision while we published
├── DownloadError                files that could not be downloaded and verified; `failures` lists them
├── TLSVerificationError         the host's certificate is not trusted (a company CA, a TLS-inspecting proxy)
└── TransientHubError            retryable = True
    ├── RateLimitedError         429, with retry_after
    ├── ServerError              5xx
    └── HubConnectionError       connection refused or dropped, timeouts
```

Messages name the operation, the model id, the status, the hub code and the request id; never a
token, a cookie, a request body or headers. Every error pickles (Prefect stores failed states).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests


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


class NotLoginError(HubError, ValueError):
    """No token, or a token the hub rejects. Fix: set MODELSCOPE_API_TOKEN or the credentials block.

    Also a `ValueError`, as the SDK documents ("ValueError -- if not login"), so code written for the
    SDK catches it.
    """


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
    """Files could not be downloaded and verified; `failures` holds (path, reason) for each of them.

    `retryable` is true when every failure was transient (dropped connections, timeouts, 5xx after the
    client's own retries): a retry resumes the partial files. A file whose bytes do not match the
    listing is what the hub serves, so one such failure makes the error permanent.
    """

    def __init__(
        self, message: str, *, failures: list[tuple[str, str]] | None = None, transient: bool = False, **fields: Any
    ) -> None:
        self.failures = list(failures or [])
        self.retryable = transient
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {**self._fields(), "failures": self.failures, "transient": self.retryable}
        return (_rebuild, (type(self), self.message, fields))


class TLSVerificationError(HubError):
    """The host's TLS certificate could not be verified against the CA bundle in use.

    Never retried: the same certificate fails again. Behind a TLS-inspecting proxy or a company CA, point
    `REQUESTS_CA_BUNDLE` (or `CURL_CA_BUNDLE`, `SSL_CERT_FILE`, `MODELSCOPE_CA_BUNDLE`, or the credentials
    block's `ca_bundle`) at that CA's PEM file. Verification is never switched off.
    """


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


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-trivial) secret in `text` with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def connection_error(exc: Exception, *, operation: str, model_id: str | None = None) -> HubConnectionError:
    """A `HubConnectionError` describing a transport failure (type only; URLs may carry queries)."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return HubConnectionError(f"{kind} ({type(exc).__name__})", operation=operation, model_id=model_id)


def tls_error(
    exc: Exception, *, host: str, verify_source: str, operation: str, model_id: str | None = None
) -> TLSVerificationError:
    """A `TLSVerificationError` naming the host, the CA bundle in use and the variables that set one."""
    return TLSVerificationError(
        f"TLS verification of {host} failed ({type(exc).__name__}: the certificate is not signed by a CA in the "
        f"bundle in use, {verify_source}, or is not valid for {host}). Behind a company CA or a TLS-inspecting "
        "proxy, set REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE, SSL_CERT_FILE, MODELSCOPE_CA_BUNDLE, or the "
        "credentials block's ca_bundle) to that CA's PEM file",
        operation=operation,
        model_id=model_id,
    )


def is_retryable(exc: BaseException) -> bool:
    """True exactly for rate limits, 5xx, connection errors and timeouts.

    Example:
        >>> is_retryable(ServerError("boom")), is_retryable(NotExistError("gone"))
        (True, False)
    """
    if isinstance(exc, HubError):
        return exc.retryable
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, TimeoutError, ConnectionError))
