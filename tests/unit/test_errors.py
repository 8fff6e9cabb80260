"""The error tree without a server: the mapper's tables on hand-built responses, pickling, is_retryable, redaction."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
import requests

from hub_tasks import errors
from hub_tasks.error_mapping import raise_for_hub_response
from hub_tasks.errors import (
    AlreadyExistsError,
    ConcurrentChangeError,
    HubConnectionError,
    HubError,
    InvalidParameter,
    ListingLimitError,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
    ServerError,
    TransientHubError,
    VerificationError,
    connection_error,
    is_retryable,
    redact,
)

TOKEN = "ms-alice-4f1c9e7a2b-SECRET"


def response(status: int, body: Any = None, *, raw: bytes | None = None, headers: dict | None = None,
             reason: str | None = None) -> requests.Response:  # fmt: skip
    """A `requests.Response` as the transport would hand it over: status, body bytes, headers."""
    r = requests.Response()
    r.status_code = status
    r._content = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    r.headers.update(headers or {})
    r.reason = reason  # type: ignore[assignment]
    return r


def legacy(code: Any, message: str = "refused", rid: str = "rid-1") -> dict:
    return {"Code": code, "Data": None, "Message": message, "RequestId": rid, "Success": False}


def openapi(code: str, message: str = "refused", rid: str = "rid-2") -> dict:
    return {"success": False, "code": code, "message": message, "request_id": rid}


def classify(r: requests.Response, **kwargs: Any) -> HubError:
    with pytest.raises(HubError) as info:
        raise_for_hub_response(r, operation="op", model_id="alice/m", **kwargs)
    return info.value


# -- status and business-code tables -------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidParameter), (401, NotLoginError), (403, PermissionDeniedError), (404, NotExistError),
        (405, InvalidParameter), (408, ServerError), (409, AlreadyExistsError), (411, RequestError),
        (413, InvalidParameter), (418, RequestError), (422, InvalidParameter), (429, RateLimitedError),
        (451, RequestError), (500, ServerError), (501, ServerError), (502, ServerError), (503, ServerError),
        (504, ServerError), (599, ServerError),
    ],
)  # fmt: skip
def test_status_table_on_the_legacy_envelope(status: int, expected: type[HubError]) -> None:
    err = classify(response(status, legacy(status)))
    assert type(err) is expected
    assert (err.status_code, err.hub_code, err.request_id, err.operation, err.model_id) == (
        status, status, "rid-1", "op", "alice/m",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 10010103009, NotLoginError),
        (400, 10010101001, AlreadyExistsError),
        (400, 10020101001, AlreadyExistsError),
        (400, 10010202004, AlreadyExistsError),
        (403, 10010101001, AlreadyExistsError),  # the business code wins over the status
        (404, 10010103009, NotLoginError),
        (500, 10010101001, ServerError),  # but never over a 5xx
        (400, 12345, InvalidParameter),  # an unknown business code falls back to the status
    ],
)
def test_business_codes_come_before_the_status(status: int, code: int, expected: type[HubError]) -> None:
    err = classify(response(status, legacy(code)))
    assert type(err) is expected and err.hub_code == code


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("InvalidAuthentication", NotLoginError), ("OperationNotAllowed", PermissionDeniedError),
        ("ResourceNotFound", NotExistError), ("DuplicateEntity", AlreadyExistsError),
        ("InputParameterError", InvalidParameter), ("QuotaLimitExceed", RateLimitedError),
        ("RateLimitExceed", RateLimitedError), ("InternalServerError", ServerError),
        ("ServiceUnavailable", ServerError), ("SomethingNew", InvalidParameter),
    ],
)  # fmt: skip
def test_openapi_codes_on_a_4xx(code: str, expected: type[HubError]) -> None:
    err = classify(response(400, openapi(code)))
    assert type(err) is expected and err.request_id == "rid-2" and err.hub_code == code


def test_messages_are_never_matched() -> None:
    err = classify(response(400, legacy(400, "model already exists; not found; login required")))
    assert type(err) is InvalidParameter


def test_rate_limit_reads_retry_after_in_seconds() -> None:
    assert classify(response(429, legacy(429), headers={"Retry-After": "3"})).retry_after == 3.0
    assert classify(response(429, legacy(429), headers={"retry-after": "0.25"})).retry_after == 0.25
    assert classify(response(429, legacy(429), headers={"Retry-After": "-4"})).retry_after == 0.0
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert classify(response(429, legacy(429), headers={"Retry-After": date})).retry_after is None
    assert classify(response(429, legacy(429))).retry_after is None
    assert classify(response(400, openapi("RateLimitExceed"), headers={"Retry-After": "2"})).retry_after == 2.0


# -- defensive parsing ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b"", b"\xff\xfe", b"[1, 2]", b"null"])
def test_a_body_that_is_not_an_envelope_still_gives_a_typed_error(raw: bytes) -> None:
    err = classify(response(502, raw=raw, headers={"x-request-id": "hdr-rid"}, reason="Bad Gateway"))
    assert type(err) is ServerError
    assert (err.status_code, err.request_id, err.hub_code) == (502, "hdr-rid", None)
    assert str(err) == "op alice/m: Bad Gateway (HTTP 502, request id hdr-rid)"
    assert "no message" in str(classify(response(404, raw=raw)))


@pytest.mark.parametrize("key", ["Message", "message", "msg", "error", "detail"])
def test_the_message_comes_from_any_usual_key(key: str) -> None:
    assert classify(response(404, {key: "gone away"})).message == "gone away"


def test_long_messages_are_truncated() -> None:
    assert len(classify(response(400, legacy(400, "x" * 5000))).message) == 500


@pytest.mark.parametrize(
    "body",
    [
        {"Code": 200, "Success": False, "Message": "no such model"},
        {"Code": 10010101001, "Message": "odd", "Success": True},
        {"Code": "500", "Message": "odd"},
        {"success": False, "message": "no such model"},
    ],
)
def test_http_200_with_a_failing_envelope(body: dict) -> None:
    err = classify(response(200, body))
    assert type(err) is RequestError and err.status_code == 200
    assert type(classify(response(200, body), lookup=True)) is NotExistError


def test_http_200_that_is_not_json() -> None:
    assert type(classify(response(200, raw=b"<html>login</html>"))) is RequestError
    ok = response(200, raw=b"binary")
    assert raise_for_hub_response(ok, operation="download", expect_json=False) is None


def test_http_200_success_returns_the_envelope() -> None:
    legacy_ok = {"Code": 200, "Data": {"x": 1}, "Message": "success", "RequestId": "r", "Success": True}
    assert raise_for_hub_response(response(200, legacy_ok), operation="op") == legacy_ok
    assert raise_for_hub_response(response(200, {"Code": "200", "Data": 1}), operation="op")["Data"] == 1
    openapi_ok = {"success": True, "data": [], "request_id": "r"}
    assert raise_for_hub_response(response(200, openapi_ok), operation="op") == openapi_ok


def test_message_format_names_operation_model_status_code_and_request_id() -> None:
    err = classify(response(400, legacy(10010101001, "taken", "rid-9")))
    assert str(err) == "op alice/m: taken (HTTP 400, hub code 10010101001, request id rid-9)"
    assert str(HubError("plain")) == "plain"
    assert str(NotExistError("gone", operation="get_model")) == "get_model: gone"


# -- secrets ---------------------------------------------------------------------------------------
def test_the_hubs_message_is_scrubbed_of_secrets() -> None:
    r = response(401, legacy(401, f"token {TOKEN} is invalid; cookie m_session_id={TOKEN}"))
    err = classify(r, secrets=[TOKEN, None, "git-abc123456"])
    for text in (str(err), repr(err), err.message, str(pickle.loads(pickle.dumps(err)))):
        assert TOKEN not in text
    assert "***" in err.message


def test_redact() -> None:
    assert redact(f"a {TOKEN} b {TOKEN}", [TOKEN]) == "a *** b ***"
    assert redact("abc", ["abc"]) == "abc"  # too short to be a secret; never mangles ordinary text
    assert redact("text", [None, ""]) == "text"


def test_connection_errors_name_the_failure_not_the_url() -> None:
    url = f"http://hub.example/api?token={TOKEN}"
    timeout = connection_error(requests.ReadTimeout(url), operation="get_model", model_id="a/b")
    refused = connection_error(requests.ConnectionError(url), operation="get_model")
    assert str(timeout) == "get_model a/b: timed out (ReadTimeout)"
    assert str(refused) == "get_model: connection failed (ConnectionError)"
    assert all(TOKEN not in repr(e) for e in (timeout, refused))


# -- pickling and retryability ---------------------------------------------------------------------
ALL_ERRORS = sorted(
    (c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, HubError)), key=lambda c: c.__name__
)
# Extra constructor fields some classes carry, and must keep through pickling.
EXTRA_FIELDS = {"RateLimitedError": {"retry_after": 1.5}, "DownloadError": {"failures": [("a.bin", "sha256 differs")]}}


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_round_trips_through_pickle(cls: type[HubError]) -> None:
    fields = {"operation": "op", "model_id": "a/b", "status_code": 503, "hub_code": "X1", "request_id": "rid"}
    extra = EXTRA_FIELDS.get(cls.__name__, {})
    err = cls("boom", **fields, **extra)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls and str(copy) == str(err) and copy.args == err.args
    assert {k: getattr(copy, k) for k in fields} == fields and copy.message == "boom"
    assert {k: getattr(copy, k) for k in extra} == extra
    bare = pickle.loads(pickle.dumps(cls("bare")))
    assert str(bare) == "bare" and bare.status_code is None


def test_the_tree() -> None:
    assert {InvalidParameter, ListingLimitError, RateLimitedError, HubConnectionError} <= set(ALL_ERRORS)
    assert issubclass(InvalidParameter, ValueError)
    assert issubclass(ListingLimitError, RequestError)
    assert issubclass(ConcurrentChangeError, VerificationError)
    for cls in ALL_ERRORS:  # retryable exactly below TransientHubError
        assert cls.retryable is issubclass(cls, TransientHubError), cls


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (RateLimitedError("r", retry_after=1), True), (ServerError("s"), True), (HubConnectionError("c"), True),
        (TransientHubError("t"), True), (NotLoginError("n"), False), (PermissionDeniedError("p"), False),
        (NotExistError("n"), False), (AlreadyExistsError("a"), False), (InvalidParameter("i"), False),
        (RequestError("r"), False), (ListingLimitError("l"), False), (VerificationError("v"), False),
        (ConcurrentChangeError("c"), False), (HubError("h"), False),
        (requests.ConnectionError("c"), True), (requests.Timeout("t"), True), (requests.ReadTimeout("t"), True),
        (TimeoutError(), True), (ConnectionResetError(), True), (ConnectionError(), True),
        (requests.HTTPError("h"), False), (ValueError("v"), False), (KeyError("k"), False),
        (RuntimeError("r"), False), (KeyboardInterrupt(), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)  # fmt: skip
def test_is_retryable_truth_table(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable
