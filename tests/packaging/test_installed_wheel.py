"""The built wheel as a user installs it: into a fresh venv without the dev extra, used from a Prefect
project of the user's own outside the repository (a `flows/` folder of scripts, no `__init__.py`).

In the main suite the test builds the wheel and the venv itself (the dependencies resolved to the versions
of the suite's own venv, so they come from pip's cache); in the floor tier (`python3 dev.py
test-prefect-floor`) the running interpreter already is such a venv, with the floor Prefect, and is used as is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.hub import ROOT

pytestmark = pytest.mark.timeout(600)
TOKEN = "ms-wheel-user-7e1d0c-SECRET"
# The user's own flow: it publishes a folder and snapshots the owner, with our flows as subflows.
USER_FLOW = """
import json, sys
from pathlib import Path

from prefect import flow

from flows.publish.flow import PublishRequest, publish_model
from flows.snapshot.flow import snapshot_revisions
from hub_tasks import ModelScopeCredentials


@flow
def my_pipeline(endpoint: str, token: str, folder: str, snapshots: str) -> None:
    block = ModelScopeCredentials(token=token, endpoint=endpoint)
    block.save("modelscope", overwrite=True)
    credentials = ModelScopeCredentials.load("modelscope")
    published = publish_model(PublishRequest(model_id="me/my-model", model_dir=folder, tag="v1"), credentials,
                              return_state=True)
    snapshot = snapshot_revisions(owners=["me"], snapshot_dir=snapshots, modelscope_credentials=credentials,
                                  return_state=True)
    import flows, hub_tasks, prefect
    print(json.dumps({"publish": published.type.value, "snapshot": snapshot.type.value,
                      "flows": flows.__file__, "hub_tasks": hub_tasks.__file__, "prefect": prefect.__version__}))


if __name__ == "__main__":
    my_pipeline(*sys.argv[1:5])
"""


def _venv_from_wheel(root: Path) -> Path:
    """Build the wheel and install it, without extras, into a new venv; returns the venv's bin folder."""
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("prefect_modelscope-*.whl")
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
    ).stdout
    pins = root / "pins.txt"
    pins.write_text("\n".join(line for line in freeze.splitlines() if "prefect-modelscope" not in line) + "\n")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", str(pins),
         str(wheel)],
        check=True, capture_output=True, timeout=500,
    )  # fmt: skip
    return bin_dir


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a venv that holds the built wheel and no dev extra."""
    if os.environ.get("PM_TESTS_INSTALLED_WHEEL"):  # the floor tier: this interpreter's venv is one
        return Path(sys.executable).parent
    return _venv_from_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's Prefect project outside the repository: `flows/` holds scripts and no `__init__.py`."""
    root = tmp_path / "my-project"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "my_pipeline.py").write_text(USER_FLOW)
    (root / "model").mkdir()
    (root / "model" / "configuration.json").write_text('{"framework": "pytorch"}')
    (root / "model" / "weights.bin").write_bytes(os.urandom(50_000))
    assert not (root / "flows" / "__init__.py").exists()
    return root


def user_env(project: Path, bin_dir: Path) -> dict[str, str]:
    """The environment of a user's shell in `project`: the venv first on PATH, the project on PYTHONPATH (as
    Prefect puts a flow's working directory there), a Prefect home of its own, no API URL (the ephemeral
    server), and none of the test suite's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELSCOPE_", "PYTEST_", "PM_"))}
    return {
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(project),
        "PREFECT_HOME": str(project / ".prefect"),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(project / ".prefect" / "storage"),  # 3.4 ignores the home
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        # The ephemeral server's start-up, given the time a loaded 2-core machine needs (20 s by default).
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "MODELSCOPE_CACHE": str(project / ".modelscope-cache"),
    }


@pytest.fixture
def local_hub(project: Path, installed: Path) -> Iterator[str]:
    """`local-hub serve`, the wheel's console script, started from the project with user `me`."""
    process = subprocess.Popen(
        [str(installed / "local-hub"), "serve", "--port", "0", "--data", str(project / ".hub"), "--no-fsync",
         "--user", f"me:{TOKEN}"],
        cwd=project, env=user_env(project, installed), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())["url"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_wheel_holds_the_three_packages_of_the_layout(project: Path, installed: Path) -> None:
    listing = (
        "import importlib.metadata as m; "
        "print(sorted({f.parts[0] for f in m.files('prefect-modelscope') if f.parts[0] not in ('..', 'bin')"
        " and not f.parts[0].startswith('prefect_modelscope-')}))"
    )
    top = subprocess.run(
        [str(installed / "python"), "-c", listing],
        cwd=project, env=user_env(project, installed), check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert top.strip() == str(["flows", "hub_tasks", "local_hub"])


def test_hub_client_imports_no_prefect(project: Path, installed: Path) -> None:
    check = (
        "import sys; from hub_tasks import HubClient; print(sorted(m for m in sys.modules if m.startswith('prefect')))"
    )
    out = subprocess.run(
        [str(installed / "python"), "-c", check],
        cwd=project, env=user_env(project, installed), check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_the_users_project_runs_both_flows_from_the_installed_wheel(
    project: Path, installed: Path, local_hub: str
) -> None:
    env = user_env(project, installed)
    registered = subprocess.run(
        [str(installed / "prefect"), "block", "register", "-m", "hub_tasks"],
        cwd=project, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "Successfully registered 1 block" in registered.stdout, registered.stdout
    ran = subprocess.run(
        [str(installed / "python"), "flows/my_pipeline.py", local_hub, TOKEN, str(project / "model"),
         str(project / "snapshots")],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert (result["publish"], result["snapshot"]) == ("COMPLETED", "COMPLETED"), result
    # Our packages came from the venv's site-packages, not from the project (whose `flows/` has no __init__).
    for package in ("flows", "hub_tasks"):
        assert Path(result[package]).is_relative_to(installed.parent), result
    (snapshot,) = (project / "snapshots").glob("snapshot-*.json")
    assert list(json.loads(snapshot.read_text())["models"]) == ["me/my-model"]
    assert TOKEN not in ran.stdout + ran.stderr + registered.stdout + registered.stderr
