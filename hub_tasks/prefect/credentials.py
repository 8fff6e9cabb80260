"""The `ModelScopeCredentials` block: an SDK token and connection settings, and `get_client()`."""

from __future__ import annotations

from typing import Any

from prefect.blocks.abstract import CredentialsBlock
from prefect.settings import get_current_settings
from pydantic import Field, SecretStr, field_validator

from hub_tasks.client import HubClient
from hub_tasks.prefect.runtime import new_client
from hub_tasks.settings import DEFAULT_ENDPOINT, HubSettings, normalize_endpoint

# The block's "View Docs" link: this project's README section on credentials (also [project.urls] in
# pyproject.toml).
DOCS_URL = "https://github.com/prefect-modelscope/prefect-modelscope#credentials"
# The one image every Prefect server serves, with or without its UI: the API app's static folder (3.4.10 and 3.9.1).
SERVER_LOGO_PATH = "/static/prefect-logo-mark-gradient.png"


class _ServerLogo:
    """The block type's `_logo_url`, read when the type is registered: the server's own image (see below).

    Why not a ModelScope logo: a block type's logo must be an http(s) URL (Prefect's client schemas check
    it as pydantic `HttpUrl` when the type is registered and again on every block load, so a `data:` URI
    breaks both), and the v2 UI draws an <img> beside every selector of the block, whatever the logo is:
    None shows a broken image with the type's name cut off, and so does a remote image wherever the browser
    has no internet (v1 draws nothing for None, a broken image for a failing URL). The only images that load
    wherever the UI loads are those the Prefect server serves itself, and they are Prefect's. So the logo is
    the image at SERVER_LOGO_PATH on the API the browser uses: PREFECT_UI_API_URL (by default PREFECT_API_URL,
    else the server's own address), resolved by the process that registers the type (`prefect block
    register`, a block's `save()`, the server's start-up registration), which for a local server is the
    address the browser opens. Measured in both UIs by `python3 dev.py test-ui`.
    """

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return f"{str(get_current_settings().server.ui.api_url).rstrip('/')}{SERVER_LOGO_PATH}"


def _blank_is_default(schema: dict[str, Any]) -> None:
    """Render an optional knob as a plain input: an empty one means "the default", not a "null" card.

    Pydantic writes `float | None = None` as `anyOf: [number, null]` with `default: null`, which the
    Prefect UI draws as a "number / null" type picker. The form only needs the non-null branch: a field
    left empty is omitted from the saved block, and the block reads it as None again.
    """
    (kept,) = [branch for branch in schema.pop("anyOf") if branch.get("type") != "null"]
    schema.update(kept)
    schema.pop("default", None)


class ModelScopeCredentials(CredentialsBlock):
    """Credentials for the ModelScope Hub: an SDK access token, the hub's URL, and client knobs.

    Tasks take it as `modelscope_credentials`; without one they read the official SDK's
    environment variables (`MODELSCOPE_API_TOKEN`, `MODELSCOPE_ENDPOINT`). The token is stored
    encrypted by Prefect and is never written to logs, results or artifacts.

    Attributes:
        token: SDK access token from the hub's user center.
        endpoint: Hub base URL.

    Example:
        Load stored credentials and list a model's files:
        ```python
        from hub_tasks import ModelScopeCredentials

        modelscope_credentials = ModelScopeCredentials.load("BLOCK_NAME")
        with modelscope_credentials.get_client() as client:
            print([f.path for f in client.get_model_files("alice/demo", recursive=True)])
        ```
        Prints:
        ```text
        ['README.md', 'configuration.json', 'notes.txt', 'weights', 'weights/w.bin']
        ```
    """

    _block_type_name = "ModelScope Credentials"
    _block_type_slug = "modelscope-credentials"
    _logo_url = _ServerLogo()  # see _ServerLogo for why this is the Prefect server's own image
    _documentation_url = DOCS_URL
    # The catalog card shows about two lines, so it gets one whole sentence, not the docstring.
    _description = "A ModelScope Hub access token and hub URL for every prefect-modelscope task and flow."

    token: SecretStr = Field(
        default=...,
        title="SDK access token",
        description="SDK access token from the ModelScope user center (Account settings, Access tokens).",
    )
    endpoint: str = Field(
        default=DEFAULT_ENDPOINT,
        title="Hub endpoint",
        description="Base URL of the hub, e.g. https://www.modelscope.cn or a local_hub URL for tests.",
    )
    connect_timeout: float | None = Field(
        default=None,
        gt=0,
        title="Connect timeout in seconds",
        description="Seconds to open a connection; empty for 10.",
        json_schema_extra=_blank_is_default,
    )
    read_timeout: float | None = Field(
        default=None,
        gt=0,
        title="Read timeout in seconds",
        description="Seconds to wait for the hub's bytes; empty for 60.",
        json_schema_extra=_blank_is_default,
    )
    retry_attempts: int | None = Field(
        default=None,
        ge=1,
        le=20,
        title="Attempts per request",
        description="Attempts per HTTP call on transient faults (429, 5xx, dropped connections); empty for 4.",
        json_schema_extra=_blank_is_default,
    )
    retry_max_total_wait_seconds: float | None = Field(
        default=None,
        ge=0,
        title="Total back-off per request in seconds",
        description="Cap of all back-off waits of one HTTP call together; empty for 30.",
        json_schema_extra=_blank_is_default,
    )
    upload_max_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        title="Parallel transfers",
        description="Parallel blob uploads and downloads; empty for the CPU count + 4, at most 8.",
        json_schema_extra=_blank_is_default,
    )

    rate_limit: str | None = Field(
        default=None,
        title="Hub rate limit",
        description="Name of a Prefect global concurrency limit with slot decay; every hub request takes a slot. "
        "Empty for none.",
        json_schema_extra=_blank_is_default,
    )

    ca_bundle: str | None = Field(
        default=None,
        title="CA bundle",
        description="The CA that signs the hub's TLS certificate, as a PEM file path or the PEM text, e.g. a "
        "company CA behind a TLS-inspecting proxy. Empty for REQUESTS_CA_BUNDLE, SSL_CERT_FILE or the public CAs.",
        json_schema_extra=_blank_is_default,
    )
    proxy: SecretStr | None = Field(
        default=None,
        title="Proxy",
        description="Proxy URL for every hub request, e.g. http://user:password@proxy.example:3128 (kept secret). "
        "Empty for HTTPS_PROXY; NO_PROXY applies either way.",
        json_schema_extra=_blank_is_default,
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return normalize_endpoint(value)

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def settings(self) -> HubSettings:
        """`HubSettings` from the environment, overridden by every field set on this block."""
        knobs: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "connect_timeout",
                "read_timeout",
                "retry_attempts",
                "retry_max_total_wait_seconds",
                "upload_max_workers",
                "ca_bundle",
                "proxy",
            )
            if getattr(self, name) is not None
        }
        # Constructor arguments, not an update of HubSettings(): the environment's value of a field the
        # block sets is then never read, so a malformed MODELSCOPE_ENDPOINT cannot break a block with its own.
        return HubSettings(**knobs, token=self.token, endpoint=self.endpoint)

    def get_client(self) -> HubClient:
        """A configured `HubClient` (use it as a context manager to close its connections).

        Built by the Prefect layer's one client factory, so it honours `rate_limit` like the tasks do.

        Returns:
            A client using this block's token, endpoint, knobs and rate limit.

        Example:
            ```python
            from hub_tasks import ModelScopeCredentials

            with ModelScopeCredentials.load("BLOCK_NAME").get_client() as client:
                print(client.login().username)
            ```
            Prints:
            ```text
            alice
            ```
        """
        return new_client(self.settings(), self.rate_limit)
