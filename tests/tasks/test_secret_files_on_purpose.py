"""Secret-looking files can be published on purpose through the flow and verified with the task; both
refuse them by default, as the push does."""

from __future__ import annotations

from pathlib import Path

from flows.publish.flow import PublishRequest, publish_model
from hub_tasks import InvalidParameter, ModelScopeCredentials, verify_model_folder
from tests.helpers.folders import make_folder


def verify(folder: Path, credentials: ModelScopeCredentials, **options: object):
    """The verify task's final state (a refusal is not retried: it is not transient)."""
    return verify_model_folder(
        "alice/certs", str(folder), modelscope_credentials=credentials, return_state=True, **options
    )


def test_the_flow_and_the_verify_task_allow_named_secret_files(hub, credentials, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "model", {"certs/ca.pem": "CERT", "README.md": "# certs\n"})
    plain = PublishRequest(model_id="alice/certs", model_dir=str(folder))
    refused = publish_model(plain, credentials, return_state=True)
    assert refused.is_failed() and "looks like a secret" in str(refused.message)
    assert hub.control.requests("create_model") == 0  # refused before anything changed

    request = PublishRequest(model_id="alice/certs", model_dir=str(folder), allow_secret_files=["certs/*.pem"])
    published = publish_model(request, credentials, return_state=True)
    assert published.is_completed(), published.message
    assert {c.path for c in published.result().changes} == {"configuration.json", "README.md", "certs/ca.pem"}

    by_default = verify(folder, credentials)
    assert by_default.is_failed()
    try:
        by_default.result()
    except InvalidParameter as exc:
        assert "looks like a secret" in str(exc)
    allowed = verify(folder, credentials, allow_secret_files=["*.pem"])
    assert allowed.is_completed() and allowed.result() == 3
