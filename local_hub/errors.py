"""The emulator's own error tree: each class carries the HTTP status and hub codes it is served with.

This tree shares no code with the client's (`hub_tasks.errors`) on purpose: the two sides of the
wire must not be able to agree on a mistake. Statuses, business codes and messages follow
protocol.md (§1.2 legacy envelope, §1.3 OpenAPI envelope, §18.2 checklist).
"""

from __future__ import annotations


class HubApiError(Exception):
    """An error the hub answers with.

    Attributes:
        status: HTTP status code.
        code: Legacy-envelope `Code` (an HTTP-like int or a long business code).
        openapi_code: OpenAPI-envelope string `code`.
        message: Human-readable message (never contains a token or a body).
    """

    status = 500
    code = 500
    openapi_code = "InternalServerError"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(HubApiError):
    """400: malformed input. Messages never say "exist" (the SDK reads that as a duplicate, §1.5)."""

    status = 400
    code = 400
    openapi_code = "InputParameterError"


class LoginFailed(HubApiError):
    """400 with business code 10010103009: the real login rejection (§Op 1, HUBTEST)."""

    status = 400
    code = 10010103009
    openapi_code = "InvalidAuthentication"


class AlreadyExists(HubApiError):
    """400 with business code 10010101001: a model with that name already exists (§Op 2)."""

    status = 400
    code = 10010101001
    openapi_code = "DuplicateEntity"


class DatasetAlreadyExists(AlreadyExists):
    """400 with business code 10020101001: a dataset with that name already exists (§21.1, §21.11); the
    SDK maps the code to AlreadyExistsError and swallows it on the create every upload sends first."""

    code = 10020101001


class Unauthorized(HubApiError):
    """401: no token where one is needed, or a token the hub does not know."""

    status = 401
    code = 401
    openapi_code = "InvalidAuthentication"


class Forbidden(HubApiError):
    """403: a valid token that may not do this (not the owner, not a group member)."""

    status = 403
    code = 403
    openapi_code = "OperationNotAllowed"


class NotFound(HubApiError):
    """404: missing repo, revision or file, or a private repo the caller may not see."""

    status = 404
    code = 404
    openapi_code = "ResourceNotFound"


class MethodNotAllowed(HubApiError):
    """405: the path exists but not with this method."""

    status = 405
    code = 405
    openapi_code = "InputParameterError"


class LengthRequired(HubApiError):
    """411: a blob upload without an explicit Content-Length (clients always send one, §10.4)."""

    status = 411
    code = 411
    openapi_code = "InputParameterError"


class Unprocessable(HubApiError):
    """422: e.g. a commit with more than 2000 actions (§10.5, HUBTEST test_commit_action_limit)."""

    status = 422
    code = 422
    openapi_code = "InputParameterError"


class NotImplementedOnHub(HubApiError):
    """501: an operation of the real hub that local_hub does not emulate (never a fake 200)."""

    status = 501
    code = 501
    openapi_code = "InternalServerError"


OPENAPI_CODES_BY_STATUS = {
    400: "InputParameterError",
    401: "InvalidAuthentication",
    403: "OperationNotAllowed",
    404: "ResourceNotFound",
    409: "DuplicateEntity",
    429: "RateLimitExceed",
    500: "InternalServerError",
    502: "ServiceUnavailable",
    503: "ServiceUnavailable",
    504: "ServiceUnavailable",
}
