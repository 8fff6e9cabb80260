"""Dataset benchmark: publishing a dataset of many small files, ours (`HubClient.push_dataset`) against the
official SDK's `upload_folder(repo_type="dataset")`, behind local_hub's network profile (30 ms per request).

The folder is an image dataset's shape: N/2 small `.jpg` files (LFS blobs for a dataset, as the SDK sends
them) and N/2 `.txt` captions (inline in the commit), in folders of 1,000, plus a README.md. Per round
(`--rounds`, interleaved, each client first in turn), each client publishes its own copy (different bytes,
so no blob is already on the hub) to a new dataset:
- "cold": the first publish; the commits it made are counted from local_hub's request counters (the hub
  throttles commits, E1021, so fewer is better);
- "no-op": the same folder again; ours still lists and verifies the remote tree (its pages read in
  parallel) and re-hashes nothing (its hash cache); the SDK runs with its upload cache off, as in tests.

Each client runs in its own process (the path a user's script takes). Prints the median and the spread
(min-max) of the rounds, the load average before and after, and the verdicts computed from the runs:
cold no slower than the SDK (met when ours was faster in every round, "parity" when the spreads overlap), fewer
commits in every round, and ours' no-op under 2 s in every round.

Usage: python benchmarks/bench_dataset.py [--files 20000] [--rounds 3] [--latency 0.03]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_hub.control import HubControl  # noqa: E402
from local_hub.process import LocalHubProcess  # noqa: E402

OWNER, TOKEN, ADMIN = "bench", "ms-bench-token", "bench-admin"

OURS = """
import json, os, sys, time
from hub_tasks import HubClient
with HubClient(endpoint=os.environ["ENDPOINT"], token=os.environ["TOKEN"]) as client:
    started = time.perf_counter()
    cold = client.push_dataset(os.environ["DATASET"], os.environ["FOLDER"], hash_cache=os.environ["CACHE"])
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    noop = client.push_dataset(os.environ["DATASET"], os.environ["FOLDER"], hash_cache=os.environ["CACHE"])
    noop_s = time.perf_counter() - started
print(json.dumps({"cold": cold_s, "noop": noop_s, "noop_commit": noop.commit_id,
                  "files": cold.files_added, "verified": cold.verified and noop.verified}))
"""

SDK = """
import json, os, time
from modelscope.hub.api import HubApi
api = HubApi()
api.login(os.environ["TOKEN"])
started = time.perf_counter()
api.upload_folder(repo_id=os.environ["DATASET"], folder_path=os.environ["FOLDER"], repo_type="dataset",
                  commit_message="upload dataset")
cold_s = time.perf_counter() - started
started = time.perf_counter()
api.upload_folder(repo_id=os.environ["DATASET"], folder_path=os.environ["FOLDER"], repo_type="dataset",
                  commit_message="upload dataset")
noop_s = time.perf_counter() - started
print(json.dumps({"cold": cold_s, "noop": noop_s}))
"""


def make_folder(path: Path, files: int, salt: str) -> None:
    """An image dataset's shape: `.jpg` blobs and `.txt` captions in folders of 1,000, and a README."""
    rng = random.Random(salt)
    path.mkdir(parents=True)
    (path / "README.md").write_text(f"# bench dataset {salt}\n")
    for i in range(files // 2):
        folder = path / "images" / f"part-{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:06d}.jpg").write_bytes(rng.randbytes(rng.randint(512, 4096)))
        (folder / f"{i:06d}.txt").write_text(f"caption {salt} {i}: {rng.random()}\n")


def run(script: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="small files (half .jpg, half .txt)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds added to every request")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {"ours": {}, "sdk": {}}
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        hub = LocalHubProcess.start(
            Path(tmp) / "hub",
            users={OWNER: TOKEN},
            admin_token=ADMIN,
            log_file=Path(tmp) / "access.log",
            extra_args=["--network-latency", str(args.latency)],
        )
        try:
            control = HubControl(hub.listen_url, ADMIN)
            base = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
            base |= {"ENDPOINT": hub.url, "TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
            sdk_env = base | {
                "MODELSCOPE_ENDPOINT": hub.url,
                "MODELSCOPE_HOME": f"{tmp}/ms-home",
                "MODELSCOPE_CACHE": f"{tmp}/ms-cache",
                "MODELSCOPE_UPLOAD_CACHE_ENABLED": "false",
                "MODELSCOPE_DOWNLOAD_INTRA_CLOUD": "false",
            }
            for round_number in range(args.rounds):
                order = ["ours", "sdk"] if round_number % 2 == 0 else ["sdk", "ours"]
                for who in order:
                    folder = Path(tmp) / f"{who}-{round_number}"
                    make_folder(folder, args.files, f"{who}-{round_number}")
                    dataset = f"{OWNER}/{who}-{round_number}"
                    before = control.requests("commit")
                    env = (sdk_env if who == "sdk" else base) | {
                        "DATASET": dataset,
                        "FOLDER": str(folder),
                        "CACHE": f"{tmp}/hash-cache-{who}-{round_number}.sqlite",
                    }
                    began = time.perf_counter()
                    outcome = run(SDK if who == "sdk" else OURS, env)
                    commits = control.requests("commit") - before
                    row = results[who]
                    for key in ("cold", "noop"):
                        row.setdefault(key, []).append(outcome[key])
                    row.setdefault("commits", []).append(commits)
                    if who == "ours" and (outcome["noop_commit"] is not None or not outcome["verified"]):
                        raise SystemExit(f"round {round_number}: our no-op publish committed or did not verify")
                    print(
                        f"round {round_number + 1} {who}: cold {outcome['cold']:.2f} s, no-op {outcome['noop']:.2f} s, "
                        f"{commits} commit requests ({time.perf_counter() - began:.0f} s with start-up)",
                        flush=True,
                    )
        finally:
            hub.stop()
    loads.append(os.getloadavg())
    report(results, args, loads)


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace, loads: list) -> None:
    ours, sdk = results["ours"], results["sdk"]
    print(f"\n{args.files} small files + README.md, {args.latency * 1000:.0f} ms per request, {args.rounds} rounds")
    print(f"load average before {loads[0][0]:.2f}, after {loads[1][0]:.2f}\n")
    print("| case | ours median s (spread) | SDK median s (spread) |")
    print("|---|---|---|")
    for key, label in (("cold", "cold publish"), ("noop", "no-op re-publish")):
        o, s = ours[key], sdk[key]
        print(f"| {label} | {statistics.median(o):.2f} ({spread(o)}) | {statistics.median(s):.2f} ({spread(s)}) |")
    oc, sc = ours["commits"], sdk["commits"]
    print(f"| commit requests | {statistics.median(oc):.0f} ({min(oc)}-{max(oc)}) | {statistics.median(sc):.0f} "
          f"({min(sc)}-{max(sc)}) |\n")  # fmt: skip
    ratio = statistics.median(sdk["cold"]) / statistics.median(ours["cold"])
    overlap = min(sdk["cold"]) <= max(ours["cold"]) and min(ours["cold"]) <= max(sdk["cold"])
    every = all(o <= s for o, s in zip(ours["cold"], sdk["cold"], strict=True))  # round by round
    cold = "yes" if every else ("parity" if overlap else "NOT met")
    fewer = "yes" if all(o < s for o, s in zip(oc, sc, strict=True)) else "NOT met"
    quick = "yes" if max(ours["noop"]) < 2.0 else "NOT met"
    print(f"cold: ours no slower than the SDK (SDK / ours)     {ratio:5.2f}x  {cold}")
    print(f"cold: fewer commits than the SDK in every round    {fewer}")
    print(f"no-op: ours under 2 s in every round ({max(ours['noop']):.2f} s max)  {quick}")


if __name__ == "__main__":
    main()
