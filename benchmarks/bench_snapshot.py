"""Snapshot benchmark: our `snapshot_revisions` flow vs a sequential loop of the official SDK, on loopback
and on a link with latency (local_hub's network profile).

local_hub runs as a separate process, seeded with N models x (2 branches + 3 tags). For each case:
- "sdk loop": the official SDK, `list_models` over all pages + `get_model_branches_and_tags` per
  model, one after the other (less work than ours: no commit ids);
- "ours": the `snapshot_revisions` flow on Prefect's ephemeral server (commit id of every ref) at its
  defaults (or `--concurrency`), timed as the flow's wall time with the server already up, next to a
  flow with one task that does nothing (Prefect's own cost per flow run, its heartbeat wait included).

Each is run `--repeat` times (median, and the spread min-max). Every run of ours after the first compares
with the previous one (the scope's baseline in the Prefect server), as a nightly run does; each writes to
a new folder. The load average is printed before and after each case: on a shared machine it explains
the spread.

Cases (`--cases`, default all):
- latency:  30 ms per request, 1,000 models, SDK loop and ours side by side (target: ours <= 0.1x SDK)
- latency10k: 30 ms per request, 10,000 models, ours only (target: <= 60 s; the SDK loop would take ~6 min)
- loopback: no added latency, 1,000 and 2,000 models, SDK loop and ours (target: ours at 2,000 <= 2.2x at 1,000,
  counted net of Prefect's fixed cost per flow run, the empty flow's median, which is the same at both sizes)
- hosts: 30 ms per request, 1,000 models, through the real hub's network shape (local_hub `--tls --hosts`:
  TLS, its forward proxy, reached with `HTTPS_PROXY` and `REQUESTS_CA_BUNDLE` as a user behind a proxy does),
  SDK loop and ours side by side (target: ours <= 0.1x SDK, as on the plain link)

Or a custom case: `--models 1000 2000 --latency 0.03 [--no-sdk] [--hosts]`.

Every verdict is computed from the runs: a run that did not complete, or that read another number of models
than were seeded, makes its case's targets "NOT met" whatever its time.

Whether the hub's revision listing names each ref's commit is undocumented; `--listing
without-commit-ids` starts local_hub with --no-revision-commit-ids (1 + one `commits` call per ref).

Usage: python benchmarks/bench_snapshot.py [--cases latency latency10k loopback] [--repeat 3]
       [--concurrency N] [--runner thread|dask] [--listing with-commit-ids|without-commit-ids]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
if os.environ["CONCURRENCY"]:
    kwargs["max_concurrency"] = int(os.environ["CONCURRENCY"])
times, states, models = [], [], []
for i in range(int(os.environ["REPEAT"])):
    began = time.perf_counter()
    state = snapshot_revisions([os.environ["OWNER"]], snapshot_dir=f"{os.environ['SNAPDIR']}/{i}",
                               modelscope_credentials=creds, return_state=True, **kwargs)
    times.append(time.perf_counter() - began)
    states.append(state.type.value)
    result = state.result(raise_on_failure=False)
    models.append(getattr(result, "models", 0))  # how many models the snapshot read (0 when it failed)
    if not state.is_completed():
        print(state.message, file=sys.stderr)
print(json.dumps({"flow_seconds": times, "empty_flow_seconds": empty, "process_seconds": time.perf_counter() - started,
                  "ready_seconds": ready - started, "states": states, "models": models}))
"""


@dataclass
class Case:
    """One measurement: `models` seeded models behind `latency` seconds per request."""

    name: str
    models: int
    latency: float
    sdk: bool
    hosts: bool = False


CASES = {
    "latency": [Case("latency", 1000, 0.03, sdk=True)],
    "latency10k": [Case("latency10k", 10_000, 0.03, sdk=False)],
    "loopback": [Case("loopback", 1000, 0.0, sdk=True), Case("loopback", 2000, 0.0, sdk=True)],
    "hosts": [Case("hosts", 1000, 0.03, sdk=True, hosts=True)],
}


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


def start_hub(data_dir: Path, latency: float, listing: str, hosts: bool) -> LocalHubProcess:
    """local_hub on the seeded data, without fsync (the benchmark reads; it writes nothing worth keeping); with
    `hosts`, in the real hub's network shape (TLS, its proxy, www./lfs./cdn. hosts)."""
    extra = ["--network-latency", str(latency)] if latency else []
    if listing == "without-commit-ids":
        extra.append("--no-revision-commit-ids")
    return LocalHubProcess.start(
        data_dir,
        users={OWNER: TOKEN},
        log_file=data_dir / "access.log",
        extra_args=extra,
        tls=hosts,
        hosts="hub.test" if hosts else None,
    )


def network_env(hub: LocalHubProcess) -> dict[str, str]:
    """The environment of a user who reaches `hub`: its proxy and CA under `--hosts`, and nothing else that
    would steer requests (the ephemeral Prefect server on 127.0.0.1 stays direct)."""
    names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    if hub.proxy is not None:
        env.update(HTTPS_PROXY=hub.proxy, REQUESTS_CA_BUNDLE=str(hub.ca_bundle), NO_PROXY="127.0.0.1,localhost")
    return env


def run(script: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(case: Case, data: Path, tmp: str, args: argparse.Namespace) -> dict:
    """The SDK loop (when the case has it), then our flow, against one hub started for the case."""
    hub = start_hub(data, case.latency, args.listing, case.hosts)
    load_before = os.getloadavg()
    try:
        base = {**network_env(hub), "OWNER": OWNER, "TOKEN": TOKEN, "ENDPOINT": hub.url, "REPEAT": str(args.repeat)}
        sdk = {}
        if case.sdk:
            sdk = run(
                SDK_LOOP,
                {
                    **base,
                    "MODELSCOPE_ENDPOINT": hub.url,
                    "MODELSCOPE_API_TOKEN": TOKEN,
                    "MODELSCOPE_HOME": f"{tmp}/ms-home",
                    "MODELSCOPE_CACHE": f"{tmp}/ms-cache",
                },
            )
        ours_env = {
            **base,
            "PREFECT_HOME": f"{tmp}/prefect",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "SNAPDIR": f"{tmp}/snapshots",
            "CONCURRENCY": str(args.concurrency or ""),
            "RUNNER": args.runner,
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        ours_env.pop("PREFECT_API_URL", None)
        ours = run(OURS, ours_env)
    finally:
        hub.stop()
    return {"case": case, "sdk": sdk, "ours": ours, "load": (load_before, os.getloadavg())}


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def complete(ours: dict, models: int) -> str | None:
    """Why a case's runs of ours cannot be judged (a run not completed, or another number of models read), else
    None."""
    if any(state != "COMPLETED" for state in ours["states"]):
        return f"runs ended {ours['states']}"
    if any(read != models for read in ours["models"]):
        return f"read {ours['models']} of {models} models"
    return None


def report(results: list[dict], args: argparse.Namespace) -> None:
    """The table, then each target with its verdict, computed from the runs (their states and model counts)."""
    print(
        f"\nsnapshot of N models x (2 branches + 3 tags), local_hub in its own process, runner={args.runner}, "
        f"max_concurrency={args.concurrency or 'default'}, listing {args.listing}, {args.repeat} timed runs each "
        "(median, spread min-max), load average (1 min) before/after each case"
    )
    print(
        f"{'case':>10} {'models':>7} {'latency':>8} {'sdk loop s':>11} {'spread':>12} {'ours s':>7} "
        f"{'spread':>11} {'ours/sdk':>9} {'empty flow s':>13} {'load':>11} {'read':>6}"
    )
    medians: dict[tuple[str, int], tuple[float, float, str | None]] = {}
    for r in results:
        case, sdk, ours = r["case"], r["sdk"], r["ours"]
        ours_s, empty_s = statistics.median(ours["flow_seconds"]), statistics.median(ours["empty_flow_seconds"])
        problem = complete(ours, case.models)
        if sdk and sdk["models"] != case.models:
            problem = f"the SDK loop read {sdk['models']} of {case.models} models"
        medians[case.name, case.models] = (ours_s, empty_s, problem)
        sdk_s = statistics.median(sdk["seconds"]) if sdk else None
        print(
            f"{case.name:>10} {case.models:>7} {case.latency * 1000:>6.0f}ms "
            f"{f'{sdk_s:.2f}' if sdk_s else '-':>11} {spread(sdk['seconds']) if sdk else '-':>12} "
            f"{ours_s:>7.2f} {spread(ours['flow_seconds']):>11} {f'{ours_s / sdk_s:.3f}' if sdk_s else '-':>9} "
            f"{empty_s:>13.2f} {r['load'][0][0]:>5.2f}/{r['load'][1][0]:<5.2f} {min(ours['models']):>6}"
        )
        if problem:
            print(f"  every target of this case: NOT met ({problem})")
            continue
        if sdk_s and case.latency:
            verdict = "met" if max(ours["flow_seconds"]) <= 0.1 * min(sdk["seconds"]) else "NOT met"
            print(f"  target ours <= 0.1x sdk at {case.models} models (every run): {ours_s / sdk_s:.3f}x ({verdict})")
        if case.models >= 10_000:
            slowest = max(ours["flow_seconds"])
            print(f"  target <= 60 s at {case.models} models (slowest run): {slowest:.1f} s "
                  f"({'met' if slowest <= 60 else 'NOT met'})")  # fmt: skip
    for name in dict.fromkeys(n for n, _ in medians):
        counts = sorted(m for n, m in medians if n == name)
        if len(counts) < 2:
            continue
        (small, small_empty, small_problem), (big, big_empty, big_problem) = (
            medians[name, counts[0]], medians[name, counts[-1]]
        )  # fmt: skip
        if small_problem or big_problem:
            print(f"  {name}: scaling NOT met (a run failed or read too few models)")
            continue
        # Prefect's own cost per flow run (the empty flow) is the same at both sizes: the scaling of the
        # snapshot's work is the ratio net of it.
        fixed = statistics.median([small_empty, big_empty])
        raw, net = big / small, (big - fixed) / (small - fixed)
        verdict = "met" if net <= 2.2 else "NOT met"
        print(
            f"  {name}: ours at {counts[-1]} / at {counts[0]} models: {raw:.2f}x as timed; net of the {fixed:.2f} s "
            f"fixed cost per flow run: {net:.2f}x (target <= 2.2x: {verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=None)
    parser.add_argument("--models", type=int, nargs="+", help="a custom case instead of --cases")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request for --models")
    parser.add_argument("--no-sdk", action="store_true", help="skip the SDK loop in a custom case")
    parser.add_argument("--hosts", action="store_true", help="a custom case in the real hub's network shape")
    parser.add_argument("--concurrency", type=int, default=None, help="max_concurrency (default: the flow's)")
    parser.add_argument("--runner", default="thread", help="thread, or dask (needs the dask extra)")
    parser.add_argument("--listing", choices=["with-commit-ids", "without-commit-ids"], default="with-commit-ids")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median and spread reported)")
    args = parser.parse_args()
    if args.models:
        cases = [Case("custom", n, args.latency, sdk=not args.no_sdk, hosts=args.hosts) for n in args.models]
    else:
        cases = [case for name in (args.cases or list(CASES)) for case in CASES[name]]
    results = []
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
            data = Path(tmp) / "hub"
            started = time.perf_counter()
            seed(data, case.models)
            print(f"{case.name}: seeded {case.models} models in {time.perf_counter() - started:.1f} s", flush=True)
            results.append(measure(case, data, tmp, args))
    report(results, args)


if __name__ == "__main__":
    main()
