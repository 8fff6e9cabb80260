"""The official `modelscope` SDK, run against the session hub in a subprocess of its own.

A subprocess, because the SDK reads its endpoint, token and cache folders from the environment once,
at import time, and keeps module-level state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers.hub import ROOT

SNAPSHOT = """
import hashlib, json, os, sys
from modelscope.hub.snapshot_download import snapshot_download

model_id, revision, cache, repo_type = sys.argv[1:5]
path = snapshot_download(model_id, revision=revision, cache_dir=cache, repo_type=repo_type)
files = {}
for dirpath, _, names in os.walk(path):
    for name in names:
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, path).replace(os.sep, "/")
        with open(full, "rb") as handle:
            data = handle.read()
        files[rel] = [hashlib.sha256(data).hexdigest(), len(data)]
print(json.dumps(files))
"""


# Variables of the test process that would change how requests reaches a hub: a hub's own `client_env()` sets
# what it needs (a proxy and a CA in the topology), and nothing else leaks in.
NETWORK_VARIABLES = (
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)  # fmt: skip


def sdk_env(hub: Any, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    """Environment for running the official SDK against `hub` in a subprocess (through its proxy, with its
    CA, when it has them)."""
    env = {k: v for k, v in os.environ.items() if k not in NETWORK_VARIABLES}
    env.update(
        MODELSCOPE_ENDPOINT=hub.url,
        MODELSCOPE_HOME=str(tmp_path / "ms-home"),
        MODELSCOPE_CACHE=str(tmp_path / "ms-cache"),
        **hub.client_env(),
    )
    if token:
        env["MODELSCOPE_API_TOKEN"] = token
    return env


def run_sdk(script: str, env: dict[str, str], timeout: float = 240) -> dict:
    """Run a Python snippet with the official SDK; it must print one JSON object last."""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    if result.returncode != 0:
        raise AssertionError(f"SDK script failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def sdk_snapshot(
    hub: Any, tmp_path: Path, model_id: str, revision: str = "master", repo_type: str = "model"
) -> dict[str, tuple]:
    """What the official SDK's snapshot_download fetches of a model (or dataset): rel path -> (sha256, size),
    SDK bookkeeping left out."""
    cache = tmp_path / "sdk-download"
    script = (
        "import sys; sys.argv = ['snap', "
        + ", ".join(json.dumps(a) for a in (model_id, revision, str(cache), repo_type))
        + "]\n"
        + textwrap.dedent(SNAPSHOT)
    )
    files = run_sdk(script, sdk_env(hub, tmp_path, hub.tokens["alice"]), timeout=120)
    return {rel: tuple(v) for rel, v in files.items() if rel not in (".mdl", ".msc", ".mv")}
