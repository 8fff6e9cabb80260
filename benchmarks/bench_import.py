"""What importing the package costs a fresh process: the plain client, and a task (which brings Prefect).

Each case runs in its own `python -c` child, `--repeat` times, interleaved (case A, B, C, then A, B,
C again), so a busy moment hits every case alike. A child times only its import statement, with
`time.perf_counter()` around it; interpreter start-up is not counted. Prints the median, the spread
(min-max) and the machine's load average before and after. Usage:

    .venv/bin/python benchmarks/bench_import.py             # 7 rounds
    .venv/bin/python benchmarks/bench_import.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "from hub_tasks import HubClient": "from hub_tasks import HubClient",
    "from hub_tasks import push_model": "from hub_tasks import push_model",
    "import prefect (reference)": "import prefect",
}
# The target of the plain client's import, judged on the median and on the slowest round.
CLIENT_TARGET_SECONDS = 0.5
PROBE = "import time, sys\nstarted = time.perf_counter()\n{statement}\nprint(time.perf_counter() - started)\n"


def time_import(statement: str) -> float:
    """Seconds the statement takes in a fresh interpreter (its import only)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="rounds (each runs every case once)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, statement in CASES.items():
            times[name].append(time_import(statement))
    load_after = os.getloadavg()[0]
    print(f"{args.repeat} interleaved rounds; load average {load_before:.2f} before, {load_after:.2f} after\n")
    print("| import | median (s) | spread (s) |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| `{name}` | {statistics.median(values):.3f} | {min(values):.3f}–{max(values):.3f} |")
    client = times["from hub_tasks import HubClient"]
    median, slowest = statistics.median(client), max(client)
    verdict = "met" if median <= CLIENT_TARGET_SECONDS else "NOT met"
    print(
        f"\ntarget: `from hub_tasks import HubClient` <= {CLIENT_TARGET_SECONDS} s: median {median:.3f} s "
        f"({verdict}); slowest round {slowest:.3f} s"
    )
    check = "import sys; from hub_tasks import HubClient; print(any(m.startswith('prefect') for m in sys.modules))"
    imported = subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, capture_output=True, text=True)
    print(f"a plain client script imports Prefect: {imported.stdout.strip()} (target: False)")


if __name__ == "__main__":
    main()
