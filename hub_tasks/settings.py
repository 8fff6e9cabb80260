"""`HubSettings`: endpoint, token, timeouts and retry knobs, read from `MODELSCOPE_*` environment variables."""

from __future__ import annotations

import os

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ENDPOINT = "https://www.modelscope.cn"


def normalize_endpoint(value: str) -> str:
    """Strip spaces and trailing slashes; require an http(s) scheme.

    Example:
        >>> normalize_endpoint("http://127.0.0.1:8000/")
        'http://127.0.0.1:8000'
    """
    value = value.strip().rstrip("/")
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError(f"endpoint must start with http:// or https://, got {value!r}")
    return value


def endpoint_from_env() -> str:
    """`MODELSCOPE_ENDPOINT`, else the deprecated `MODELSCOPE_DOMAIN` (scheme optional), else the hub."""
    explicit = os.environ.get("MODELSCOPE_ENDPOINT", "").strip()
    if explicit:
        return explicit
    domain = os.environ.get("MODELSCOPE_DOMAIN", "").strip()
    if domain:
        return domain if "://" in domain else f"https://{domain}"
    return DEFAULT_ENDPOINT


class HubSettings(BaseSettings):
    """Client configuration. Every knob has a default and an environment variable.

    The token and endpoint use the official SDK's variable names, so a machine set up for the SDK
    works unchanged. The timeouts reuse the SDK's names where the meaning is the same.

    Attributes:
        token: SDK access token (`MODELSCOPE_API_TOKEN`); a `SecretStr` until it goes on the wire.
        endpoint: Hub base URL (`MODELSCOPE_ENDPOINT`, then `MODELSCOPE_DOMAIN`).
        connect_timeout: Seconds to open a connection (`MODELSCOPE_API_CONNECT_TIMEOUT`).
        read_timeout: Seconds to wait for response bytes (`MODELSCOPE_API_TIMEOUT`).
        retry_attempts: Attempts per HTTP call on transient faults, first included.
        retry_backoff_seconds: First back-off wait; doubles per attempt, with jitter.
        retry_backoff_max_seconds: Cap of one back-off wait.
        retry_max_total_wait_seconds: Cap of all back-off waits of one call together.
        retry_after_max_seconds: Longest `Retry-After` honoured; longer ones fail the call instead.
        upload_max_workers: Parallel blob uploads and downloads.
        list_max_offset: The hub lists no model past this offset; listings fail clearly there.
        tree_limit: The hub silently truncates a file listing at this many entries.
        ca_bundle: The CA to verify the hub's TLS with, as a PEM file's path or the PEM text
            (`MODELSCOPE_CA_BUNDLE`); unset: `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE`, certifi.
        proxy: The proxy for every hub request, e.g. `http://user:password@proxy:3128`
            (`MODELSCOPE_PROXY`); unset: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`. `NO_PROXY` applies to both.

    Example:
        >>> HubSettings(endpoint="http://127.0.0.1:8000/").endpoint
        'http://127.0.0.1:8000'
    """

    # An empty variable counts as unset, as `endpoint_from_env` already treats it (`MODELSCOPE_API_TOKEN=` is no token).
    model_config = SettingsConfigDict(
        env_prefix="MODELSCOPE_", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MODELSCOPE_API_TOKEN"), description="SDK token."
    )
    endpoint: str = Field(default_factory=endpoint_from_env)
    connect_timeout: float = Field(default=10.0, gt=0, validation_alias=AliasChoices("MODELSCOPE_API_CONNECT_TIMEOUT"))
    read_timeout: float = Field(default=60.0, gt=0, validation_alias=AliasChoices("MODELSCOPE_API_TIMEOUT"))
    retry_attempts: int = Field(default=4, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    retry_backoff_max_seconds: float = Field(default=8.0, ge=0)
    retry_max_total_wait_seconds: float = Field(default=30.0, ge=0)
    retry_after_max_seconds: float = Field(default=30.0, ge=0)
    upload_max_workers: int = Field(
        default=min(8, (os.cpu_count() or 1) + 4),
        ge=1,
        le=64,
        validation_alias=AliasChoices("MODELSCOPE_UPLOAD_MAX_CONCURRENT_WORKERS"),
    )
    list_max_offset: int = Field(default=10_000, ge=1)
    tree_limit: int = Field(default=3000, ge=1)
    ca_bundle: str | None = None
    # A proxy URL may carry a password: a SecretStr, like the token.
    proxy: SecretStr | None = None

    def __init__(self, **values: object) -> None:
        # A value passed by field name must win over the environment. pydantic-settings before 2.11 keeps the
        # name as given while the environment source keys the same field by its alias (MODELSCOPE_API_TOKEN),
        # and validation then prefers the alias: the variable won. Passing every value by its alias makes the
        # explicit one win on every release.
        super().__init__(**{_ALIASES.get(name, name): value for name, value in values.items()})

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        return normalize_endpoint(value)

    def worst_case_call_seconds(self) -> float:
        """Longest one client call can take: every attempt timing out plus every back-off wait."""
        return self.retry_attempts * (self.connect_timeout + self.read_timeout) + self.retry_max_total_wait_seconds


# Field name -> the environment variable that is its alias (the fields that have one).
_ALIASES = {
    name: field.validation_alias.choices[0]
    for name, field in HubSettings.model_fields.items()
    if isinstance(field.validation_alias, AliasChoices)
}
