"""The `ModelScopeCredentials` block: Prefect's block standards, its fields, saving and loading it,
`get_client()`, registration with `prefect block register`, and the `prefect.collections` entry point."""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from urllib.request import urlopen

import pytest
from prefect.blocks.abstract import CredentialsBlock
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

import hub_tasks
from hub_tasks import HubClient, HubSettings, ModelScopeCredentials

KNOBS = (
    "connect_timeout",
    "read_timeout",
    "retry_attempts",
    "retry_max_total_wait_seconds",
    "upload_max_workers",
    "ca_bundle",
    "proxy",
)


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own checks (description, documentation URL, field descriptions ending in '.', a code
    example that imports the block and loads "BLOCK_NAME", and a square logo: that one needs Pillow)."""

    @pytest.fixture
    def block(self) -> type[ModelScopeCredentials]:
        return ModelScopeCredentials

    def test_has_a_valid_image(self, block: type[ModelScopeCredentials], prefect_harness: None) -> None:
        """Prefect's check, against a running server: the logo is the image the server itself serves (see
        `_ServerLogo`), so it needs one, and it is 1000 px wide where Prefect's check wants less than 1000
        (no smaller image is served by every Prefect server)."""
        api_url = PREFECT_API_URL.value()
        assert api_url and block._logo_url == f"{api_url}/static/prefect-logo-mark-gradient.png"
        with urlopen(block._logo_url, timeout=30) as answer:
            assert answer.status == 200 and answer.headers.get_content_type().startswith("image/")
            data = answer.read()
        # The size, with Pillow as Prefect's own check does (installed in the floor tier, not in .venv).
        image = pytest.importorskip("PIL.Image").open(io.BytesIO(data))
        assert image.width == image.height and 45 < image.width <= 1000


# -- the class -----------------------------------------------------------------------------------------
def test_block_metadata() -> None:
    assert issubclass(ModelScopeCredentials, CredentialsBlock)
    assert ModelScopeCredentials.get_block_type_name() == "ModelScope Credentials"
    assert ModelScopeCredentials.get_block_type_slug() == "modelscope-credentials"
    # "View Docs" opens this project's README section on the block; the catalog card gets one whole sentence.
    docs = str(ModelScopeCredentials._documentation_url)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert docs.endswith("#credentials") and "\n## Credentials\n" in readme
    home = re.search(r'^Source = "(.+)"$', (Path(__file__).parents[2] / "pyproject.toml").read_text(), re.M)
    assert home is not None and docs == f"{home[1]}#credentials"
    description = ModelScopeCredentials.get_description()
    assert description is not None and len(description) <= 100 and description.count(".") == 1
    assert description.endswith(".")


def test_optional_knobs_render_as_plain_inputs_not_type_pickers() -> None:
    """An empty knob means "the default": the form shows a number (or text) input, not a "number / null" card,
    and a block saved with the field left out reads it as None."""
    properties = ModelScopeCredentials.model_json_schema()["properties"]
    for name in (*KNOBS, "rate_limit"):
        assert "anyOf" not in properties[name] and "default" not in properties[name], name
        assert properties[name]["type"] in ("number", "integer", "string"), name
    assert properties["connect_timeout"]["exclusiveMinimum"] == 0
    assert ModelScopeCredentials(token="t").connect_timeout is None
    assert ModelScopeCredentials(token="t", rate_limit=" ").rate_limit is None


def test_fields_have_titles_and_descriptions_and_only_the_token_is_required() -> None:
    fields = ModelScopeCredentials.model_fields
    assert {"token", "endpoint", *KNOBS} <= set(fields)
    for name, field in fields.items():
        assert field.title, name
        assert field.description and field.description.endswith("."), name
        assert field.is_required() == (name == "token"), name  # fields added later must stay optional
    assert fields["token"].annotation is SecretStr
    for name in KNOBS:
        assert fields[name].default is None, name  # unset: the client's own default applies


def test_the_token_and_the_proxy_url_are_secret_fields() -> None:
    token, password = "ms-block-test-SECRET-1234", "proxy-pw-SECRET-5678"
    block = ModelScopeCredentials(token=token, endpoint="http://127.0.0.1:9", proxy=f"http://me:{password}@p:3128")
    assert ModelScopeCredentials.model_json_schema()["secret_fields"] == ["token", "proxy"]
    assert isinstance(block.token, SecretStr) and isinstance(block.proxy, SecretStr)
    for text in (repr(block), str(block), block.model_dump_json(), str(block.model_dump(mode="json"))):
        assert token not in text and password not in text
    with block.get_client() as client:
        assert token not in repr(client) and password not in repr(client) and password not in repr(client.settings)


def test_google_docstring_with_an_example_that_loads_by_name() -> None:
    doc = inspect.getdoc(ModelScopeCredentials)
    assert doc is not None
    for section in ("Attributes:", "Example:"):
        assert section in doc
    assert 'ModelScopeCredentials.load("BLOCK_NAME")' in ModelScopeCredentials.get_code_example()
    get_client_doc = inspect.getdoc(ModelScopeCredentials.get_client)
    assert get_client_doc is not None and "Returns:" in get_client_doc


def test_endpoint_is_normalised_and_checked() -> None:
    assert ModelScopeCredentials(token="t", endpoint=" http://127.0.0.1:8000/ ").endpoint == "http://127.0.0.1:8000"
    assert ModelScopeCredentials(token="t").endpoint == "https://www.modelscope.cn"
    with pytest.raises(ValidationError):
        ModelScopeCredentials(token="t", endpoint="ftp://hub.example")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry_attempts", 0),
        ("retry_attempts", 21),
        ("connect_timeout", 0),
        ("read_timeout", -1),
        ("retry_max_total_wait_seconds", -1),
        ("upload_max_workers", 0),
        ("upload_max_workers", 65),
    ],
)
def test_knobs_are_bounded(field: str, value: float) -> None:
    with pytest.raises(ValidationError):
        ModelScopeCredentials(token="t", **{field: value})


def test_token_is_required() -> None:
    with pytest.raises(ValidationError):
        ModelScopeCredentials()  # type: ignore[call-arg]


# -- get_client --------------------------------------------------------------------------------------
def test_get_client_returns_a_configured_client(hub) -> None:
    block = ModelScopeCredentials(
        token=hub.tokens["alice"],
        endpoint=hub.url + "/",
        connect_timeout=3,
        read_timeout=7,
        retry_attempts=2,
        retry_max_total_wait_seconds=1.5,
        upload_max_workers=3,
    )
    with block.get_client() as client:
        assert isinstance(client, HubClient)
        assert client.endpoint == hub.url
        settings = client.settings
        assert settings.token is not None and settings.token.get_secret_value() == hub.tokens["alice"]
        assert (settings.connect_timeout, settings.read_timeout, settings.retry_attempts) == (3, 7, 2)
        assert (settings.retry_max_total_wait_seconds, settings.upload_max_workers) == (1.5, 3)
        assert hub.tokens["alice"] not in repr(client)
        assert client.login().username == "alice"


def test_unset_knobs_keep_the_client_defaults() -> None:
    settings = ModelScopeCredentials(token="t", endpoint="http://127.0.0.1:9").get_client().settings
    defaults = HubSettings()
    for name in KNOBS:
        assert getattr(settings, name) == getattr(defaults, name), name


def test_block_fields_win_over_the_environment(hub, monkeypatch) -> None:
    """The block overrides MODELSCOPE_* variables it sets; knobs it leaves unset still come from them."""
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", hub.tokens["bob"])
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("MODELSCOPE_API_TIMEOUT", "42")
    with ModelScopeCredentials(token=hub.tokens["alice"], endpoint=hub.url).get_client() as client:
        assert client.settings.read_timeout == 42
        assert client.login().username == "alice"


def test_a_malformed_environment_endpoint_does_not_break_a_block(hub, monkeypatch) -> None:
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "www.modelscope.cn")  # no scheme: HubSettings() rejects it
    monkeypatch.setenv("MODELSCOPE_API_TIMEOUT", "not-a-number")  # rejected too, but the block sets it
    block = ModelScopeCredentials(token=hub.tokens["alice"], endpoint=hub.url, read_timeout=5)
    with block.get_client() as client:
        assert (client.endpoint, client.settings.read_timeout) == (hub.url, 5)
        assert client.login().username == "alice"


# -- saved blocks ------------------------------------------------------------------------------------
def test_save_and_load_round_trip(hub, prefect_harness) -> None:
    block = ModelScopeCredentials(
        token=hub.tokens["alice"],
        endpoint=hub.url,
        connect_timeout=4,
        read_timeout=20,
        retry_attempts=2,
        retry_max_total_wait_seconds=3,
        upload_max_workers=2,
    )
    block.save("round-trip", overwrite=True)

    loaded = ModelScopeCredentials.load("round-trip")
    assert loaded.token.get_secret_value() == hub.tokens["alice"]
    assert loaded.model_dump(exclude={"token"}) == block.model_dump(exclude={"token"})
    with loaded.get_client() as client:
        assert client.login().username == "alice"

    # What the API hands out without include_secrets: the token obfuscated.
    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name("round-trip", "modelscope-credentials", include_secrets=False)
    assert hub.tokens["alice"] not in str(document.data)
    assert document.data["endpoint"] == hub.url


def test_save_overwrite_replaces_the_token(hub, prefect_harness) -> None:
    ModelScopeCredentials(token=hub.tokens["alice"], endpoint=hub.url).save("rotated", overwrite=True)
    ModelScopeCredentials(token=hub.tokens["bob"], endpoint=hub.url).save("rotated", overwrite=True)
    with ModelScopeCredentials.load("rotated").get_client() as client:
        assert client.login().username == "bob"


# -- registration and discovery ----------------------------------------------------------------------
def test_prefect_block_register_lists_the_block_type(prefect_harness) -> None:
    api_url = PREFECT_API_URL.value()
    assert api_url
    with get_client(sync_client=True) as client:
        # Start from a server that does not know the type, so that the CLI must be what registers it.
        with contextlib.suppress(ObjectNotFound):
            client.delete_block_type(client.read_block_type_by_slug("modelscope-credentials").id)
        with pytest.raises(ObjectNotFound):
            client.read_block_type_by_slug("modelscope-credentials")

    prefect_cli = os.path.join(os.path.dirname(sys.executable), "prefect")
    result = subprocess.run(
        [prefect_cli, "block", "register", "-m", "hub_tasks"],
        env={**os.environ, "PREFECT_API_URL": api_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully registered 1 block" in result.stdout

    with get_client(sync_client=True) as client:
        block_type = client.read_block_type_by_slug("modelscope-credentials")
        assert block_type.name == "ModelScope Credentials"
        assert str(block_type.documentation_url) == str(ModelScopeCredentials._documentation_url)
        # The logo the CLI registered is the image this server serves (it resolved the CLI's API URL).
        assert str(block_type.logo_url) == f"{api_url}/static/prefect-logo-mark-gradient.png"
        assert "ModelScopeCredentials.load" in (block_type.code_example or "")
        schema = client.get_most_recent_block_schema_for_block_type(block_type.id)
        assert schema is not None and schema.fields["secret_fields"] == ["token", "proxy"]


def test_the_package_declares_the_prefect_collections_entry_point() -> None:
    found = [ep for ep in entry_points(group="prefect.collections") if ep.name == "hub_tasks"]
    assert len(found) == 1
    assert found[0].value == "hub_tasks.prefect.credentials"
    assert found[0].load().ModelScopeCredentials is ModelScopeCredentials is hub_tasks.ModelScopeCredentials


def test_a_plain_client_script_does_not_import_prefect() -> None:
    """`from hub_tasks import HubClient` leaves Prefect out (about 2 s of imports); a task still imports."""
    probe = (
        "import sys; from hub_tasks import HubClient; assert 'prefect' not in sys.modules, 'prefect imported'; "
        "from hub_tasks import push_model, ModelScopeCredentials; import prefect; "
        "assert isinstance(push_model, prefect.Task) and 'ModelScopeCredentials' in dir(__import__('hub_tasks'))"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
