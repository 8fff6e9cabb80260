"""Throughput of local_hub's blob PUT and downloads, against a server in a separate process.

For each server mode (fsync on, the default; then `--no-fsync`) it starts
`python -m local_hub serve --port 0 --data <tmp> --user bench:TOKEN --admin-token X`, creates a
model, and times (median of `--repeat` runs):

1. one blob PUT of `--size-mib` MiB of random data, streamed from a file on disk with an explicit
   Content-Length, after the LFS batch that hands out the upload href (before every run the blob is
   removed from the server's store, so each PUT is a first upload: hash, write, fsync, rename);
2. a full download of the committed file (`GET /api/v1/models/o/n/repo?FilePath=...&Revision=master`,
   `iter_content(1 MiB)`, bytes discarded);
3. a ranged download of its second half (`Range: bytes=<size/2>-`, 206).

Then it prints a table (MB = 10^6 bytes) and each server's peak RSS (`VmHWM`), which shows whether
the server streamed or buffered. Usage:

    .venv/bin/python benchmarks/bench_local_hub.py               # 1 GiB, about a minute
    .venv/bin/python benchmarks/bench_local_hub.py --size-mib 64 # CI-sized
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

from local_hub.process import LocalHubProcess  # noqa: E402

USER, TOKEN, ADMIN = "bench", "bench-token-7f3a", "bench-admin-91c2"
MODEL = f"{USER}/bench-model"
PIECE = 8 << 20  # the source file is generated in 8 MiB pieces
READ = 1 << 20  # downloads are consumed a MiB at a time


class _BigBlocks(HTTPAdapter):
    """urllib3 sends a file body in `blocksize` pieces (16 KiB by default); 1 MiB keeps the client cheap."""

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["blocksize"] = READ
        super().init_poolmanager(*args, **kwargs)


def session() -> requests.Session:
    s = requests.Session()
    s.mount("http://", _BigBlocks())
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    return s


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews every number here."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def write_random(path: Path, size: int) -> str:
    """Write `size` random bytes to `path` in `PIECE`-sized pieces; returns their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            piece = os.urandom(min(PIECE, left))
            digest.update(piece)
            out.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def make_source(path: Path, size: int) -> str:
    """Write `size` random bytes to `path` (once; reused when the sidecar hash matches). Returns sha256."""
    sidecar = path.with_suffix(".sha256")
    if path.exists() and path.stat().st_size == size and sidecar.exists():
        return sidecar.read_text().strip()
    sha = write_random(path, size)
    sidecar.write_text(sha)
    return sha


@dataclass
class Server:
    """One `python -m local_hub serve` process (started by `local_hub.process`), with the benchmark's user."""

    hub: LocalHubProcess

    @classmethod
    def start(cls, data_dir: Path, fsync: bool) -> Server:
        log_file = data_dir.parent / f"{data_dir.name}.log"
        return cls(
            LocalHubProcess.start(data_dir, users={USER: TOKEN}, admin_token=ADMIN, log_file=log_file, fsync=fsync)
        )

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.hub.process

    @property
    def url(self) -> str:
        return self.hub.url

    @property
    def data_dir(self) -> Path:
        return self.hub.data_dir

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.hub.stop()


@dataclass
class Case:
    """Timings of one benchmark case."""

    name: str
    size: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def check(response: requests.Response, status: int = 200) -> dict:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code} {response.text[:500]}")
    return response.json() if response.headers.get("content-type", "").startswith("application/json") else {}


def upload_once(http: requests.Session, server: Server, source: Path, sha: str, size: int) -> float:
    """LFS batch for the href, then the timed PUT streamed from disk. Returns seconds (batch excluded)."""
    owner, name = MODEL.split("/")
    blob = server.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    blob.unlink(missing_ok=True)  # each run is a first upload, so the batch hands out an href
    batch = check(
        http.post(
            f"{server.url}/api/v1/repos/models/{owner}/{name}/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": sha, "size": size}]},
            timeout=30,
        )
    )
    href = batch["Data"]["objects"][0]["actions"]["upload"]["href"]
    with open(source, "rb") as body:
        started = time.perf_counter()
        answer = check(http.put(href, data=body, headers={"Content-Length": str(size)}, timeout=3600))
        elapsed = time.perf_counter() - started
    if answer.get("Code") != 200:
        raise RuntimeError(f"blob PUT answered {answer}")
    return elapsed


def download_once(http: requests.Session, server: Server, size: int, start: int = 0) -> float:
    """Timed GET of the committed file from `start` to the end; bytes are counted and discarded."""
    headers = {"Range": f"bytes={start}-"} if start else {}
    started = time.perf_counter()
    with http.get(
        f"{server.url}/api/v1/models/{MODEL}/repo",
        params={"FilePath": "weights/blob.bin", "Revision": "master"},
        headers=headers,
        stream=True,
        timeout=3600,
    ) as response:
        if response.status_code != (206 if start else 200):
            raise RuntimeError(f"download answered {response.status_code}: {response.text[:300]}")
        got = sum(len(chunk) for chunk in response.iter_content(READ))
    elapsed = time.perf_counter() - started
    if got != size - start:
        raise RuntimeError(f"download returned {got} bytes, expected {size - start}")
    return elapsed


def run_mode(
    work: Path, source: Path, sha: str, size: int, repeat: int, fsync: bool, put_only: bool = False
) -> tuple[list[Case], float]:
    """All cases against one fresh server. Returns the cases and the server's peak RSS in MiB."""
    label = "fsync" if fsync else "no-fsync"
    data_dir = work / f"data-{label}"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = Server.start(data_dir, fsync)
    http = session()
    try:
        owner, name = MODEL.split("/")
        check(http.post(f"{server.url}/api/v1/models", json={"Path": owner, "Name": name, "Visibility": 5}))
        put = Case(f"blob PUT ({label})", size)
        for _ in range(repeat):
            put.seconds.append(upload_once(http, server, source, sha, size))
        if put_only:
            return [put], server.peak_rss_mib()
        action = {"action": "create", "path": "weights/blob.bin", "type": "lfs", "size": size, "sha256": sha}
        check(
            http.post(
                f"{server.url}/api/v1/repos/models/{owner}/{name}/commit/master",
                json={"commit_message": "bench", "actions": [action]},
                timeout=60,
            )
        )
        full = Case(f"download full ({label})", size)
        half = Case(f"download 2nd half, Range ({label})", size - size // 2)
        for _ in range(repeat):
            full.seconds.append(download_once(http, server, size))
        for _ in range(repeat):
            half.seconds.append(download_once(http, server, size, start=size // 2))
        return [put, full, half], server.peak_rss_mib()
    finally:
        http.close()
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="blob size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    parser.add_argument("--workdir", type=Path, help="where the source file and server data go (default: a tmp dir)")
    parser.add_argument("--mode", choices=["both", "fsync", "no-fsync"], default="both")
    parser.add_argument("--put-only", action="store_true", help="time the blob PUT only (no commit, no downloads)")
    args = parser.parse_args(argv)

    size = args.size_mib << 20
    own = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="bench-local-hub-")) if own else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    try:
        source = work / f"source-{args.size_mib}MiB.bin"
        started = time.perf_counter()
        sha = make_source(source, size)
        print(f"source: {source} ({size} bytes, sha256 {sha[:12]}..., {time.perf_counter() - started:.1f}s)")
        print(f"load average before: {load_average()} (the runs share {os.cpu_count()} CPUs with whatever else runs)")
        modes = {"both": [True, False], "fsync": [True], "no-fsync": [False]}[args.mode]
        cases: list[Case] = []
        rss: dict[str, float] = {}
        for fsync in modes:
            mode_cases, peak = run_mode(work, source, sha, size, args.repeat, fsync, args.put_only)
            cases += mode_cases
            rss["fsync" if fsync else "no-fsync"] = peak
        print(f"\n{'case':<36} {'bytes':>12} {'seconds':>9} {'MB/s':>9}   runs (s)")
        for case in cases:
            runs = " ".join(f"{s:.2f}" for s in case.seconds)
            mbps = case.size / case.median / 1e6
            print(f"{case.name:<36} {case.size:>12} {case.median:>9.3f} {mbps:>9.1f}   {runs}")
        print()
        for label, peak in rss.items():
            print(f"server peak RSS (VmHWM), {label} run: {peak:.1f} MiB")
        print(f"load average after: {load_average()}")
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
