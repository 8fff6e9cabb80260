"""Snapshot benchmark: our `snapshot_revisions` flow vs a sequential loop of the official SDK.

local_hub runs as a separate process, seeded with N models x (2 branches + 3 tags). For each N:
- "sdk loop": the official SDK, `list_models` over all pages + `get_model_branches_and_tags` per
  model, one after the other (less work than ours: no commit ids);
- "ours": the `snapshot_revisions` flow on Prefect's ephemeral server (commit id of every ref),
  timed as the flow's wall time with the server already up, and as the whole process.

Usage: python benchmarks/bench_snapshot.py [--models 1000 2000] [--concurrency 8] [--runner thread|dask]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_hub.blobs import BlobStore  # noqa: E402
from local_hub.clock import IdSource  # noqa: E402
from local_hub.store import CommitAction, Store  # noqa: E402

TOKEN = "ms-bench-token"
OWNER = "bench"

SDK_LOOP = """
import json, os, time
from modelscope.hub.api import HubApi
api = HubApi()
started = time.perf_counter()
ids, page = [], 1
while True:
    listing = api.list_models(os.environ["OWNER"], page_number=page, page_size=50)
    ids += [m["Id"] if "/" in str(m["Id"]) else f"{m['Owner']}/{m['Name']}" for m in listing["Models"]]
    if len(ids) >= listing["TotalCount"] or not listing["Models"]:
        break
    page += 1
refs = {m: api.get_model_branches_and_tags(m) for m in ids}
print(json.dumps({"seconds": time.perf_counter() - started, "models": len(refs)}))
"""

OURS = """
import json, os, sys, time
started = time.perf_counter()
from prefect import flow
from hub_tasks import ModelScopeCredentials
from flows.snapshot_revisions import snapshot_revisions

@flow
def warm_up():
    return 1

warm_up()  # starts the ephemeral server, so the flow timing below is the flow itself
ready = time.perf_counter()
creds = ModelScopeCredentials(token=os.environ["TOKEN"], endpoint=os.environ["ENDPOINT"])
kwargs = {"task_runner": os.environ["RUNNER"]} if os.environ["RUNNER"] != "thread" else {}
state = snapshot_revisions([os.environ["OWNER"]], snapshot_dir=os.environ["SNAPDIR"],
                           max_concurrency=int(os.environ["CONCURRENCY"]), modelscope_credentials=creds,
                           return_state=True, **kwargs)
done = time.perf_counter()
summary = state.result(raise_on_failure=False)
print(json.dumps({"flow_seconds": done - ready, "process_seconds": done - started, "state": state.type.value,
                  "models": getattr(summary, "models", None)}))
"""


def seed(data_dir: Path, count: int) -> None:
    """N models, each with a commit on master, a `dev` branch and tags v1..v3 (straight into the store)."""
    ids = IdSource(seed=1)
    store = Store(data_dir / "hub.db", BlobStore(data_dir / "blobs", fsync=False), ids)
    user = store.ensure_user(OWNER, TOKEN)
    for i in range(count):
        repo = store.create_repo(OWNER, f"model-{i:05d}", created_by=OWNER)
        store.commit(
            repo, "master", "init", user, [CommitAction("create", "configuration.json", "normal", 2, content=b"{}")]
        )
        store.create_branch(repo, "dev", "master")
        for tag in ("v1", "v2", "v3"):
            store.create_tag(repo, tag, "master")


def start_hub(data_dir: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_hub",
            "serve",
            "--port",
            "0",
            "--data",
            str(data_dir),
            "--no-fsync",
            "--user",
            f"{OWNER}:{TOKEN}",
            "--log-file",
            str(data_dir / "access.log"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())["url"]


def run(script: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runner", default="thread", help="thread, or dask (needs the dask extra)")
    args = parser.parse_args()
    rows = []
    for count in args.models:
        with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
            data = Path(tmp) / "hub"
            started = time.perf_counter()
            seed(data, count)
            seeded = time.perf_counter() - started
            hub, url = start_hub(data)
            try:
                base = {**os.environ, "OWNER": OWNER, "TOKEN": TOKEN, "ENDPOINT": url}
                sdk_env = {
                    **base,
                    "MODELSCOPE_ENDPOINT": url,
                    "MODELSCOPE_API_TOKEN": TOKEN,
                    "MODELSCOPE_HOME": f"{tmp}/ms-home",
                    "MODELSCOPE_CACHE": f"{tmp}/ms-cache",
                }
                ours_env = {
                    **base,
                    "PREFECT_HOME": f"{tmp}/prefect",
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "SNAPDIR": f"{tmp}/snapshots",
                    "CONCURRENCY": str(args.concurrency),
                    "RUNNER": args.runner,
                    "PREFECT_LOGGING_LEVEL": "WARNING",
                }
                ours_env.pop("PREFECT_API_URL", None)
                sdk = run(SDK_LOOP, sdk_env)
                ours = run(OURS, ours_env)
            finally:
                hub.terminate()
                hub.wait()
            rows.append((count, seeded, sdk, ours))
    print(
        f"\nsnapshot of N models x (2 branches + 3 tags), local_hub in its own process, runner={args.runner}, "
        f"max_concurrency={args.concurrency}"
    )
    print(f"{'models':>7} {'sdk loop s':>11} {'ours flow s':>12} {'ours process s':>15} {'ours/sdk':>9} {'state':>10}")
    for count, _seeded, sdk, ours in rows:
        ratio = ours["flow_seconds"] / sdk["seconds"]
        print(
            f"{count:>7} {sdk['seconds']:>11.2f} {ours['flow_seconds']:>12.2f} {ours['process_seconds']:>15.2f} "
            f"{ratio:>9.2f} {ours['state']:>10}"
        )
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        scale = last[3]["flow_seconds"] / first[3]["flow_seconds"]
        print(f"ours at {last[0]} models / ours at {first[0]} models: {scale:.2f}x")


if __name__ == "__main__":
    main()
