"""Snapshot benchmark: our `snapshot_revisions` flow vs a sequential loop of the official SDK.

local_hub runs as a separate process, seeded with N models x (2 branches + 3 tags). For each N:
- "sdk loop": the official SDK, `list_models` over all pages + `get_model_branches_and_tags` per
  model, one after the other (less work than ours: no commit ids);
- "ours": the `snapshot_revisions` flow on Prefect's ephemeral server (commit id of every ref),
  timed as the flow's wall time with the server already up (its start-up is shown apart), next to
  a flow with one task that does nothing (Prefect's own cost per flow run).

Each is run `--repeat` times; the table shows the median (and our best): a flow run's end waits for
Prefect's heartbeat thread (up to 1 s), and the embedded SQLite server sometimes answers a write 503,
which Prefect's client retries after about 2 s.

Whether the hub's revision listing names each ref's commit is undocumented, so "ours" runs twice:
with `CommitId` listed (1 request per model, like the SDK loop) and without it (local_hub started
with --no-revision-commit-ids: 1 + one `commits` call per ref, 6 per model here).

Usage: python benchmarks/bench_snapshot.py [--models 1000 2000] [--concurrency 8] [--runner thread|dask]
       [--listing both|with-commit-ids|without-commit-ids]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_hub.blobs import BlobStore  # noqa: E402
from local_hub.clock import IdSource  # noqa: E402
from local_hub.process import LocalHubProcess  # noqa: E402
from local_hub.store import CommitAction, Store  # noqa: E402

TOKEN = "ms-bench-token"
OWNER = "bench"

SDK_LOOP = """
import json, os, time
from modelscope.hub.api import HubApi
api = HubApi()
times = []
for _ in range(int(os.environ["REPEAT"])):
    started = time.perf_counter()
    ids, page = [], 1
    while True:
        listing = api.list_models(os.environ["OWNER"], page_number=page, page_size=50)
        ids += [m["Id"] if "/" in str(m["Id"]) else f"{m['Owner']}/{m['Name']}" for m in listing["Models"]]
        if len(ids) >= listing["TotalCount"] or not listing["Models"]:
            break
        page += 1
    refs = {m: api.get_model_branches_and_tags(m) for m in ids}
    times.append(time.perf_counter() - started)
print(json.dumps({"seconds": times, "models": len(refs)}))
"""

OURS = """
import json, os, sys, time
started = time.perf_counter()
from prefect import flow, task
from hub_tasks import ModelScopeCredentials
from flows.snapshot.flow import snapshot_revisions

@task
def nothing():
    return 1

@flow
def empty_flow():
    return nothing()

empty_flow()  # starts the ephemeral server, so the flow timing below is the flow itself
ready = time.perf_counter()
empty = []
for _ in range(int(os.environ["REPEAT"])):
    began = time.perf_counter()
    empty_flow()
    empty.append(time.perf_counter() - began)
creds = ModelScopeCredentials(token=os.environ["TOKEN"], endpoint=os.environ["ENDPOINT"])
kwargs = {"task_runner": os.environ["RUNNER"]} if os.environ["RUNNER"] != "thread" else {}
times, states = [], []
for i in range(int(os.environ["REPEAT"])):
    began = time.perf_counter()
    # a new folder each time: every run is a first snapshot, the same work as the first
    state = snapshot_revisions([os.environ["OWNER"]], snapshot_dir=f"{os.environ['SNAPDIR']}/{i}",
                               max_concurrency=int(os.environ["CONCURRENCY"]), modelscope_credentials=creds,
                               return_state=True, **kwargs)
    times.append(time.perf_counter() - began)
    states.append(state.type.value)
print(json.dumps({"flow_seconds": times, "empty_flow_seconds": empty, "process_seconds": time.perf_counter() - started,
                  "ready_seconds": ready - started, "state": ",".join(sorted(set(states)))}))
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


def start_hub(data_dir: Path, *extra: str) -> LocalHubProcess:
    """local_hub on the seeded data, without fsync (the benchmark reads; it writes nothing worth keeping)."""
    return LocalHubProcess.start(data_dir, users={OWNER: TOKEN}, log_file=data_dir / "access.log", extra_args=extra)


def run(script: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def timed_runs(data: Path, tmp: str, args: argparse.Namespace) -> tuple[dict, dict[str, dict]]:
    """The SDK loop once, then our flow once per listing mode, each against a freshly started hub."""
    modes = ["with-commit-ids", "without-commit-ids"] if args.listing == "both" else [args.listing]
    sdk: dict = {}
    ours: dict[str, dict] = {}
    for mode in modes:
        hub = start_hub(data, *(["--no-revision-commit-ids"] if mode == "without-commit-ids" else []))
        url = hub.url
        try:
            base = {**os.environ, "OWNER": OWNER, "TOKEN": TOKEN, "ENDPOINT": url}
            if not sdk:
                sdk = run(
                    SDK_LOOP,
                    {
                        **base,
                        "MODELSCOPE_ENDPOINT": url,
                        "MODELSCOPE_API_TOKEN": TOKEN,
                        "MODELSCOPE_HOME": f"{tmp}/ms-home",
                        "MODELSCOPE_CACHE": f"{tmp}/ms-cache",
                        "REPEAT": str(args.repeat),
                    },
                )
            ours_env = {
                **base,
                "PREFECT_HOME": f"{tmp}/prefect-{mode}",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "SNAPDIR": f"{tmp}/snapshots-{mode}",
                "CONCURRENCY": str(args.concurrency),
                "RUNNER": args.runner,
                "REPEAT": str(args.repeat),
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
            ours_env.pop("PREFECT_API_URL", None)
            ours[mode] = run(OURS, ours_env)
        finally:
            hub.stop()
    return sdk, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runner", default="thread", help="thread, or dask (needs the dask extra)")
    parser.add_argument("--listing", choices=["both", "with-commit-ids", "without-commit-ids"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median and best reported)")
    args = parser.parse_args()
    rows = []
    for count in args.models:
        with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
            data = Path(tmp) / "hub"
            seed(data, count)
            sdk, ours = timed_runs(data, tmp, args)
            rows += [(count, mode, sdk, result) for mode, result in ours.items()]
    print(
        f"\nsnapshot of N models x (2 branches + 3 tags), local_hub in its own process, runner={args.runner}, "
        f"max_concurrency={args.concurrency}, {args.repeat} timed runs each (median, best)"
    )
    print(
        f"{'models':>7} {'revision listing':>19} {'sdk loop s':>12} {'ours flow s':>12} {'best':>6} "
        f"{'ours/sdk':>9} {'empty flow s':>13} {'start-up s':>11} {'state':>10}"
    )
    medians: dict[tuple[int, str], float] = {}
    for count, mode, sdk, ours in rows:
        sdk_s, ours_s = statistics.median(sdk["seconds"]), statistics.median(ours["flow_seconds"])
        medians[count, mode] = ours_s
        print(
            f"{count:>7} {mode:>19} {sdk_s:>12.2f} {ours_s:>12.2f} {min(ours['flow_seconds']):>6.2f} "
            f"{ours_s / sdk_s:>9.2f} {statistics.median(ours['empty_flow_seconds']):>13.2f} "
            f"{ours['ready_seconds']:>11.2f} {ours['state']:>10}"
        )
    counts = sorted({count for count, _ in medians})
    if len(counts) >= 2:
        for mode in dict.fromkeys(mode for _, mode in medians):
            scale = medians[counts[-1], mode] / medians[counts[0], mode]
            print(f"{mode}: ours at {counts[-1]} models / ours at {counts[0]} models: {scale:.2f}x")


if __name__ == "__main__":
    main()
