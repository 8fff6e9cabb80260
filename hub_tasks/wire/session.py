"""`HubSession`: the sending half of `HubClient` (session, auth, retries, redirects, error mapping).

`call()` is the only place that sends: it adds auth, applies timeouts, the CA bundle and the proxy
(`wire/network.py`), retries transient faults with tenacity (idempotent requests only), follows
redirects by hand, and hands every response to `error_mapping.raise_for_hub_response`.

Credentials follow where a URL came from, never a domain suffix alone: the SDK token (Bearer and the
`m_session_id` cookie) and the git token go to the endpoint's own origin; the SDK token also goes to
an upload URL that the hub's own LFS batch answer named, when it is on the endpoint's site (the real
hub's `lfs.` sibling); after a redirect to any other origin (a CDN, object storage) nothing is sent.

Non-idempotent operations (create, tag, commit) go through `call_checked()`: after an ambiguous failure
they ask the hub whether the first attempt took effect before sending again.
"""

from __future__ import annotations

import base64
import logging
import random
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from hub_tasks.error_mapping import raise_for_hub_response
from hub_tasks.errors import (
    HubConnectionError,
    InvalidParameter,
    NotLoginError,
    RateLimitedError,
    TransientHubError,
    connection_error,
    tls_error,
)
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.settings import HubSettings, normalize_endpoint
from hub_tasks.wire.network import Network

log = logging.getLogger("hub_tasks.client")  # one logger for the whole client
Auth = Literal["sdk", "git"]
T = TypeVar("T")
S = TypeVar("S", bound="HubSession")
_REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "prefect-modelscope/0.1"
# Upload URLs the hub's batch answers named, remembered until used; a bound, so that a publish of millions
# of blobs cannot grow it without end (the oldest are forgotten: such an upload goes without credentials,
# and the hub refuses it, which is loud, never a leak).
MAX_UPLOAD_GRANTS = 200_000


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, lower-case host, port with the scheme's default filled in) of a URL; empty when unparsable.

    Example:
        >>> origin("HTTPS://Hub.Example.com/api")
        ('https', 'hub.example.com', 443)
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is not a number
        return ("", "", None)
    return scheme, parts.hostname or "", port


def site_of(host: str) -> str:
    """The hub's site: the parent domain of a `www.`-like endpoint host (three labels or more), else the host.

    The real hub's API is `www.modelscope.cn` (or `modelscope.cn`) and its LFS host `lfs.modelscope.cn`;
    the official SDK's own check for "the LFS sibling" takes the same parent. An IP address is its own site.

    Example:
        >>> site_of("www.modelscope.cn"), site_of("modelscope.cn"), site_of("127.0.0.1")
        ('modelscope.cn', 'modelscope.cn', '127.0.0.1')
    """
    labels = host.split(".")
    if host.replace(".", "").isdigit() or ":" in host or len(labels) < 3:
        return host
    return ".".join(labels[1:])


def _certificate_failure(exc: BaseException) -> bool:
    """Whether a requests error was caused by a certificate that could not be verified."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return True
        nested = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = getattr(cause, "reason", None) or nested or cause.__cause__ or cause.__context__
    return False


class HubSession:
    """One `requests.Session` to one hub, with its settings, token and the one `call()` that sends.

    `HubClient` adds an operation per hub call on top; see it for the arguments.
    """

    def __init__(
        self, endpoint: str | None = None, token: str | SecretStr | None = None, settings: HubSettings | None = None
    ) -> None:
        base = settings or HubSettings()
        updates: dict[str, Any] = {}
        if endpoint is not None:
            try:
                updates["endpoint"] = normalize_endpoint(endpoint)
            except ValueError as exc:
                raise InvalidParameter(str(exc), operation="HubClient") from exc
        if token is not None:
            updates["token"] = token if isinstance(token, SecretStr) else SecretStr(token)
        self.settings = base.model_copy(update=updates)
        self.endpoint = self.settings.endpoint
        self.git_token: SecretStr | None = None
        # Called before every request; the Prefect layer plugs a shared rate limit in here.
        self.throttle: Callable[[], None] | None = None
        self._session = requests.Session()
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the token is never a jar entry
        # Enough pooled connections for every thread that shares this client: the snapshot reads with up
        # to 64 requests in flight, and a full pool makes urllib3 discard the extra connections (a new
        # TCP and TLS handshake for each later request, and a warning per discard).
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(64, 2 * self.settings.upload_max_workers))
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = USER_AGENT
        # The CA bundle and the proxies come from the settings and the environment once, here (network.py):
        # with trust_env on, requests re-reads the environment and ~/.netrc on every request (about half a
        # millisecond each), and a .netrc entry could even attach credentials we did not choose.
        self._session.trust_env = False
        self.network = Network.from_settings(self.settings)
        self._origin = origin(self.endpoint)
        self._site = site_of(self._origin[1])
        self._upload_grants: OrderedDict[str, None] = OrderedDict()
        self._grants_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, token={'***' if self.settings.token else None})"

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def token(self) -> SecretStr | None:
        """The SDK token in use (a `SecretStr`)."""
        return self.settings.token

    def _secret_values(self) -> list[str | None]:
        token, git, proxy = self.settings.token, self.git_token, self.settings.proxy
        return [s.get_secret_value() if s else None for s in (token, git, proxy)]

    def grant_upload(self, href: str) -> None:
        """Remember an upload URL the hub's own LFS batch answer named: it may get the SDK token (if it is
        on the endpoint's site, see `_credentials_for`). Callers are the wire layer's batch readers."""
        with self._grants_lock:
            self._upload_grants[href] = None
            if len(self._upload_grants) > MAX_UPLOAD_GRANTS:
                self._upload_grants.popitem(last=False)

    def _on_site(self, url: str) -> bool:
        """Same scheme and port as the endpoint, on the endpoint's site (its host or a sibling of it)."""
        scheme, host, port = origin(url)
        own_scheme, _, own_port = self._origin
        if not host or (scheme, port) != (own_scheme, own_port):
            return False
        return host == self._site or host.endswith("." + self._site)

    def _credentials_for(self, url: str, auth: Auth) -> bool:
        """Whether the first hop to `url` may carry credentials: the endpoint's own origin, or (SDK token
        only) an upload URL the hub's batch answer named that lies on the endpoint's site."""
        if origin(url) == self._origin:
            return True
        with self._grants_lock:
            granted = url in self._upload_grants
        return auth == "sdk" and granted and self._on_site(url)

    def _auth_headers(self, url: str, auth: Auth = "sdk") -> dict[str, str]:
        """The SDK token as Bearer and cookie, or (`auth="git"`) the git token as Basic `oauth2:<git
        token>`, the way git sends it; only where `_credentials_for` allows, and never after a redirect
        to another origin (`_send`)."""
        if not self._credentials_for(url, auth):
            return {}
        if auth == "git":
            if self.git_token is None:
                return {}
            basic = base64.b64encode(f"oauth2:{self.git_token.get_secret_value()}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        token = self.settings.token
        if token is None:
            return {}
        value = token.get_secret_value()
        return {"Authorization": f"Bearer {value}", "Cookie": f"m_session_id={value}"}

    def require_token(self, operation: str, model_id: str | None = None) -> None:
        """Raise `NotLoginError` before any request when no token (or an empty one) is configured."""
        if self.settings.token is None or not self.settings.token.get_secret_value():
            raise NotLoginError(
                "no access token: set MODELSCOPE_API_TOKEN, pass token=..., or use a ModelScopeCredentials block",
                operation=operation,
                model_id=model_id,
            )

    def retrying(self, operation: str, model_id: str | None) -> Retrying:
        settings = self.settings

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimitedError) and (exc.retry_after or 0) > settings.retry_after_max_seconds:
                return True  # a longer pause than we may wait: fail now (a task retry comes back later)
            return (
                state.attempt_number >= settings.retry_attempts
                or state.idle_for >= settings.retry_max_total_wait_seconds
            )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
                delay = min(exc.retry_after, settings.retry_after_max_seconds)
            else:
                cap = min(
                    settings.retry_backoff_max_seconds, settings.retry_backoff_seconds * 2 ** (state.attempt_number - 1)
                )
                delay = random.uniform(cap / 2, cap)
            return max(0.0, min(delay, settings.retry_max_total_wait_seconds - state.idle_for))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "retrying %s %s after %s (attempt %d/%d, waiting %.2fs, request id %s)",
                operation,
                model_id or "",
                type(exc).__name__,
                state.attempt_number,
                settings.retry_attempts,
                state.next_action.sleep if state.next_action else 0.0,
                getattr(exc, "request_id", None),
            )

        return Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type(TransientHubError),
            reraise=True,
            before_sleep=before_sleep,
        )

    def _send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        model_id: str | None,
        body: bytes | Callable[[], Any] | None = None,
        timeout: tuple[float, float] | None = None,
        stream: bool = False,
        auth: Auth = "sdk",
        **kwargs: Any,
    ) -> requests.Response:
        """One HTTP exchange, following redirects by hand: credentials only on the hops `_auth_headers`
        allows and never again once a redirect left the first hop's origin; each hop's proxy decided by
        its own host (NO_PROXY included)."""
        timeout = timeout or (self.settings.connect_timeout, self.settings.read_timeout)
        extra = kwargs.pop("headers", None) or {}
        if self.throttle is not None:  # e.g. a Prefect rate limit shared by every worker
            self.throttle()
        first = origin(url)
        for _ in range(6):
            data = body() if callable(body) else body
            credentials = self._auth_headers(url, auth) if origin(url) == first else {}
            try:
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    headers={**extra, **credentials},
                    timeout=timeout,
                    stream=stream,
                    allow_redirects=False,
                    verify=self.network.verify,
                    proxies=self.network.proxies_for(url),
                    **kwargs,
                )
            except requests.exceptions.SSLError as exc:
                if _certificate_failure(exc):
                    raise tls_error(
                        exc,
                        host=urlsplit(url).hostname or url,
                        verify_source=self.network.verify_source,
                        operation=operation,
                        model_id=model_id,
                    ) from exc
                raise connection_error(exc, operation=operation, model_id=model_id) from exc
            except requests.RequestException as exc:
                raise connection_error(exc, operation=operation, model_id=model_id) from exc
            finally:
                if hasattr(data, "close"):
                    data.close()
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                return response
            response.close()
            url = urljoin(url, response.headers["location"])
            kwargs.pop("params", None)  # the Location carries its own query
        raise HubConnectionError("too many redirects", operation=operation, model_id=model_id)

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        model_id: str | None = None,
        retry: bool | None = None,
        lookup: bool = False,
        stream: bool = False,
        auth: Auth = "sdk",
        **kwargs: Any,
    ) -> tuple[dict[str, Any] | None, requests.Response]:
        """Send, retry when safe, and classify. Returns (parsed envelope or None, response).

        `retry` defaults to True for GET/PUT/DELETE/HEAD (idempotent) and False for POST. With
        `stream=True` a successful response is returned unread (the caller closes it). `auth="git"`
        sends the git token (git smart HTTP) instead of the SDK token.
        """
        url = path if "://" in path else f"{self.endpoint}{path}"
        retry = method in ("GET", "PUT", "DELETE", "HEAD") if retry is None else retry

        def once() -> tuple[dict[str, Any] | None, requests.Response]:
            started = time.perf_counter()
            response = self._send(
                method, url, operation=operation, model_id=model_id, stream=stream, auth=auth, **kwargs
            )
            log.debug(
                "%s %s -> %s in %.0f ms",
                method,
                urlsplit(url).path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if stream and response.status_code < 400:
                return None, response
            try:
                payload = raise_for_hub_response(
                    response,
                    operation=operation,
                    model_id=model_id,
                    lookup=lookup,
                    expect_json=not stream,
                    secrets=self._secret_values(),
                )
            except requests.RequestException as exc:  # the body broke off while being read
                raise connection_error(exc, operation=operation, model_id=model_id) from exc
            finally:
                if stream:
                    response.close()
            return payload, response

        if not retry:
            return once()
        for attempt in self.retrying(operation, model_id):
            with attempt:
                return once()
        raise AssertionError("unreachable")  # pragma: no cover

    def call_checked(
        self, send: Callable[[], T], landed: Callable[[], T | None], *, operation: str, model_id: str | None
    ) -> T:
        """Run a non-idempotent request; after a transient failure, `landed()` decides whether the
        first attempt already took effect (its result is then returned) before anything is re-sent."""
        ambiguous = False
        for attempt in self.retrying(operation, model_id):
            with attempt:
                if ambiguous:
                    result = landed()
                    if result is not None:
                        log.info("%s %s: the earlier attempt had taken effect", operation, model_id or "")
                        return result
                ambiguous = True
                return send()
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def unwrap(payload: dict[str, Any] | None) -> Any:
        """Unwrap `Data` (legacy) or `data` (OpenAPI)."""
        if not payload:
            return None
        return payload.get("Data", payload.get("data"))

    def model_url(self, model_id: str) -> str:
        """The model's page on the hub."""
        return self.repo_url(model_id)

    def repo_url(self, repo_id: str, repo_type: RepoType = "model") -> str:
        """The page of a model or dataset on the hub."""
        return f"{self.endpoint}{repo_kind(repo_type).web(repo_id)}"
