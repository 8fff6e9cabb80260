"""Push benchmark: our `push_model` against the official SDK's `upload_folder` and the wire limit.

Generates a model folder once (default 2 GiB: `--big-files` x `--big-mib` MiB random `.safetensors`
plus `--small-files` small text files, `configuration.json` among them), starts local_hub as a
separate process (`python -m local_hub serve`, no fsync unless `--fsync`), then runs these cases
interleaved, round after round (`--rounds`, median reported):

1. ours cold: `HubClient.push_model` to a fresh model id with a fresh (empty) hash cache;
2. sdk cold: the official SDK's `HubApi().upload_folder` to a fresh model id (upload cache off);
3. wire: plain parallel PUTs of the same LFS blobs (one LFS batch for the hrefs, sha256 known in
   advance: no client hashing) with `--workers` connections; the floor for moving these bytes;
4. ours unchanged: re-publish of the same folder with the warm hash cache of the cold run (the
   realistic case: the same machine publishes again);
5. ours one changed: the first big file gets new bytes (its first 8 MiB rewritten), re-publish,
   warm cache (every other file is a cache hit);
6. sdk unchanged: `upload_folder` again on the unchanged folder (the file of case 5 is restored);
7. hash-and-send alone: sha256 of one big file plus one PUT of it (the floor for case 5);
8. floor: sha256 of every big file, then plain parallel PUTs of them (the CPU floor of a cold publish);
9. ours cold through the `push_model` task, called inside a flow as a flow would (Prefect's ephemeral
   server starts before "go"; a fresh hash cache);
10. ours download: `HubClient.download_model` of the published model into an empty folder (run right
    after case 1, while every blob of it is on the hub);
11. sdk download: the official SDK's `snapshot_download` of the same model into an empty cache (right
    after case 10).

`--hosts` runs local_hub in the real hub's network shape (`--tls --hosts hub.test`): every client reaches
`https://www.hub.test` through local_hub's forward proxy with its CA, as a user behind a company proxy
does (`HTTPS_PROXY`, `REQUESTS_CA_BUNDLE`), uploads go to `lfs.` and downloads are redirected to signed
`cdn.` URLs (`--download-redirect lfs`: the big files).

`--network-latency SECONDS` and `--network-bandwidth BYTES_PER_SECOND` put local_hub's network profile
in front of every request (`PUT /_local_hub/network`): the latency a real hub adds to each request, and
one link shared by uploads and downloads. With a bandwidth, the targets table adds the link time (the
folder's bytes over the bandwidth) and each cold publish and the download against it.

Each client runs in its own child process, which imports what it needs, prints "ready" and waits;
the parent then prepares the hub and answers "go", and only then do the child's clock and the
hub's counters start. Preparing: `os.sync()` first (local_hub does not fsync by default, and the
write-back of earlier cases would land on whichever case runs next); then, for every case that
uploads, the hub's blob store is emptied, so every cold run is truly cold (case 5, which must leave
the blobs for case 6, deletes a ballast file of the changed file's size instead). Every upload
thus starts with at least as much memory freed a moment ago as it will write. On this VM
(virtio-balloon with free page reporting, which hands free memory back to the host every 2 s) writing
into memory freed more than 2 s earlier costs the kernel 3 to 5 CPU-s per 2 GiB against 0.6 into memory
freed just now, which by itself swung the ratios between cases. With `--fsync`, local_hub also drops
each blob from its page cache as it reaches the disk (see `local_hub.blobs`), so it recycles a few MiB
of recently freed memory instead of taking 2 GiB of memory that may have gone cold. The folder itself
stays in the page cache: reads cost no disk time.

Numbers are the client's alone (interpreter start and imports included): CPU is ru_utime +
ru_stime from `os.wait4` on the child; peak RSS is the child's own `VmHWM`, reported as it ends
(wait4's ru_maxrss is not used: Linux carries the spawning process's high-water mark across fork
and exec into it, so it could never be lower than this script's own peak). Wall is the operation
itself, timed inside the child after "go"; "proc" is the whole child. Blob bytes received and
commits are deltas of the hub's control-plane stats, hub CPU the server process's CPU, all from
"go" to the child's exit. Finally a table of the issue's targets says which are met.

Usage:

    python3 dev.py bench push                      # 2 GiB folder, 3 rounds (a minute or two)
    python3 dev.py bench push --big-files 2 --big-mib 32 --small-files 20 --rounds 1   # a quick run
    python3 dev.py bench push --network-latency 0.03 --network-bandwidth 100e6   # a real link's profile
    python3 dev.py bench push --hosts --network-latency 0.03 --network-bandwidth 100e6   # and its TLS, proxy, CDN

Verdicts that compare two clients are printed from the runs' spreads: "met" only when every run of ours
beat every run of the other, "NOT met" when every run lost, otherwise "parity" (the spreads overlap).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks.bench_local_hub import ADMIN, TOKEN, USER, Server, load_average, write_random  # noqa: E402
from local_hub import HubControl  # noqa: E402
from local_hub.process import LocalHubProcess  # noqa: E402

MIB = 1 << 20
PIECE = 8 << 20  # the changed file gets a new first piece of this size
SMALL_SUFFIXES = (".json", ".txt", ".py", ".md")

# Every child, once its imports are done, says "ready" and waits for "go" (the parent prepares the hub in
# between), and ends by reporting its own VmHWM: the exec'd image's high-water mark, nothing inherited.
PRELUDE = """
def ready():
    import sys
    print("ready", flush=True)
    sys.stdin.readline()

def vm_hwm_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
"""

OURS = """
import json, os, time
P = json.loads(os.environ["BENCH_PARAMS"])
from hub_tasks import HubClient
ready()
started, cpu = time.perf_counter(), time.process_time()
with HubClient(endpoint=P["url"], token=P["token"]) as client:
    result = client.push_model(P["model_id"], P["folder"], hash_cache=P["cache"], max_workers=P["workers"])
print(json.dumps({"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
                  "commits": len(result.commit_ids), "bytes_uploaded": result.bytes_uploaded,
                  "bytes_hashed": result.bytes_hashed, "cache_hits": result.hash_cache_hits,
                  "timings": result.timings, "hwm_kib": vm_hwm_kib()}))
"""

SDK = """
import json, os, time
P = json.loads(os.environ["BENCH_PARAMS"])
from modelscope.hub.api import HubApi
api = HubApi()
api.login(P["token"])
ready()
started, cpu = time.perf_counter(), time.process_time()
answer = api.upload_folder(repo_id=P["model_id"], folder_path=P["folder"], commit_message="bench")
print(json.dumps({"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
                  "answer": str(answer)[:200], "hwm_kib": vm_hwm_kib()}))
"""

# Plain PUTs: the same requests stack as the clients, 1 MiB send blocks (urllib3's default is 16 KiB).
WIRE = """
import hashlib, json, os, time
from concurrent.futures import ThreadPoolExecutor
P = json.loads(os.environ["BENCH_PARAMS"])
import requests
from requests.adapters import HTTPAdapter

class BigBlocks(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["blocksize"] = 1 << 20
        super().init_poolmanager(*args, **kwargs)

http = requests.Session()  # reads HTTPS_PROXY and REQUESTS_CA_BUNDLE under --hosts, as any requests user
for scheme in ("http://", "https://"):
    http.mount(scheme, BigBlocks(pool_maxsize=max(16, P["workers"])))
http.headers["Authorization"] = "Bearer " + P["token"]
ready()
started, cpu = time.perf_counter(), time.process_time()
hash_seconds = 0.0
if P.get("hash"):  # hash-and-send (and the floor): the client must learn every sha256 first
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    for item in P["files"]:
        digest = hashlib.sha256()
        with open(item[1], "rb", buffering=0) as handle:
            while n := handle.readinto(buffer):
                digest.update(view[:n])
        item[0] = digest.hexdigest()
    hash_seconds = time.perf_counter() - started
objects = [{"oid": sha, "size": size} for sha, _, size in P["files"]]
hrefs = {}
for start in range(0, len(objects), 64):
    answer = http.post(P["batch_url"], json={"operation": "upload", "objects": objects[start:start + 64]}, timeout=60)
    answer.raise_for_status()
    for obj in answer.json()["Data"]["objects"]:
        hrefs[obj["oid"]] = obj["actions"]["upload"]["href"]  # KeyError if the hub already had it: not cold

def put(item):
    sha, path, size = item
    with open(path, "rb") as body:
        response = http.put(hrefs[sha], data=body, headers={"Content-Length": str(size)}, timeout=3600)
    if response.status_code != 200 or response.json().get("Code") != 200:
        raise RuntimeError(f"PUT {path}: {response.status_code} {response.text[:300]}")

with ThreadPoolExecutor(P["workers"]) as pool:
    list(pool.map(put, P["files"]))
print(json.dumps({"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
                  "hash_seconds": hash_seconds, "hwm_kib": vm_hwm_kib()}))
"""

# The path a flow takes: the `push_model` task called inside a flow (Prefect's ephemeral server, started
# before "ready"), with the hash cache under this child's own MODELSCOPE_CACHE (fresh: cold).
TASK = """
import json, os, time
P = json.loads(os.environ["BENCH_PARAMS"])
from prefect import flow
from hub_tasks import push_model

@flow(name="bench-publish", persist_result=False)
def publish():
    ready()
    started, cpu = time.perf_counter(), time.process_time()
    result = push_model(P["model_id"], P["folder"], max_workers=P["workers"])
    return {"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
            "commits": len(result.commit_ids), "bytes_uploaded": result.bytes_uploaded}

answer = publish()
print(json.dumps({**answer, "hwm_kib": vm_hwm_kib()}))
"""

# A cold mirror of the published model into an empty folder.
DOWNLOAD = """
import json, os, time
P = json.loads(os.environ["BENCH_PARAMS"])
from hub_tasks import HubClient
ready()
started, cpu = time.perf_counter(), time.process_time()
with HubClient(endpoint=P["url"], token=P["token"]) as client:
    result = client.download_model(P["model_id"], P["dest"], max_workers=P["workers"])
print(json.dumps({"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
                  "bytes_downloaded": result.bytes_downloaded, "hwm_kib": vm_hwm_kib()}))
"""

# The SDK's cold mirror of the same model (its own cache folder, fresh per round).
SDK_DOWNLOAD = """
import json, os, time
P = json.loads(os.environ["BENCH_PARAMS"])
from modelscope.hub.snapshot_download import snapshot_download
ready()
started, cpu = time.perf_counter(), time.process_time()
path = snapshot_download(P["model_id"], cache_dir=P["dest"])
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)
print(json.dumps({"wall": time.perf_counter() - started, "op_cpu": time.process_time() - cpu,
                  "bytes_downloaded": size, "hwm_kib": vm_hwm_kib()}))
"""

CASES = (
    "ours cold",
    "sdk cold",
    "wire limit (parallel PUTs, no hashing)",
    "ours unchanged (warm hash cache)",
    "ours one changed (warm hash cache)",
    "sdk unchanged",
    "hash-and-send of one file alone",
    "floor: sha256 pass + plain PUTs",
    "ours cold through the push_model task",
    "ours download (cold mirror)",
    "sdk download (cold snapshot_download)",
)


@dataclass
class Run:
    """One measured child process."""

    wall: float  # the operation, timed inside the child
    process: float  # the whole child, parent's clock
    cpu: float  # ru_utime + ru_stime of the child
    rss_mib: float  # VmHWM of the child (see run_child)
    hub_cpu: float
    hub_sys: float  # the kernel's share of hub_cpu (page cache, fsync, sockets)
    blob_bytes: int
    commits: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Folder:
    """The generated model folder."""

    path: Path
    big: list[tuple[str, Path, int]]  # (sha256, path, size) of the LFS files
    small_bytes: int

    @property
    def total(self) -> int:
        return sum(size for _, _, size in self.big) + self.small_bytes


def make_folder(path: Path, big_files: int, big_mib: int, small_files: int) -> Folder:
    """Big random `.safetensors` shards and small text files (all inline in a commit), written once."""
    path.mkdir(parents=True)
    config = b'{"framework": "pytorch", "task": "text-generation"}\n'
    (path / "configuration.json").write_bytes(config)
    small_bytes = len(config)
    rng = random.Random(20240611)
    for i in range(max(0, small_files - 1)):
        size = rng.randint(1024, 32 * 1024)
        rel = Path(f"extra/part{i % 8}") / f"file_{i:03d}{SMALL_SUFFIXES[i % len(SMALL_SUFFIXES)]}"
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(os.urandom(size // 2).hex().encode())
        small_bytes += size // 2 * 2
    big = []
    for i in range(big_files):
        shard = path / f"model-{i + 1:05d}-of-{big_files:05d}.safetensors"
        big.append((write_random(shard, big_mib * MIB), shard, big_mib * MIB))
    return Folder(path, big, small_bytes)


class Hub(Server):
    """bench_local_hub's `Server`, plus its control plane, its CPU time and blob removal."""

    @classmethod
    def start_with_hosts(cls, data_dir: Path, fsync: bool) -> Hub:
        """local_hub in the real hub's network shape: TLS, its proxy, www./lfs./cdn. (downloads redirected)."""
        log_file = data_dir.parent / f"{data_dir.name}.log"
        hub = LocalHubProcess.start(
            data_dir, users={USER: TOKEN}, admin_token=ADMIN, log_file=log_file, fsync=fsync, tls=True, hosts="hub.test"
        )
        return cls(hub)

    @cached_property
    def control(self) -> HubControl:
        return HubControl(self.hub.listen_url, ADMIN, ca_bundle=self.hub.ca_bundle)

    def client_env(self) -> dict[str, str]:
        """What a user behind a proxy sets: the proxy and the CA (none on plain loopback)."""
        if self.hub.proxy is None:
            return {}
        return {
            "HTTPS_PROXY": self.hub.proxy,
            "REQUESTS_CA_BUNDLE": str(self.hub.ca_bundle),
            "NO_PROXY": "127.0.0.1,localhost",  # the task case's ephemeral Prefect server stays direct
        }

    def http(self) -> requests.Session:
        """A requests session that reaches the hub (through its proxy, trusting its CA, under --hosts)."""
        session = requests.Session()
        session.trust_env = False
        if self.hub.proxy is not None:
            session.proxies = {"https": self.hub.proxy}
            session.verify = str(self.hub.ca_bundle)
        return session

    def cpu_seconds(self) -> tuple[float, float]:
        """utime + stime, and stime alone, of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks, int(fields[12]) / ticks

    def drop_blobs(self, shas: list[str] | None = None) -> None:
        """Remove stored blobs (all of them, or these), so the next upload of them is a first upload."""
        root = self.data_dir / "blobs"
        if shas is None:
            for sub in root.iterdir():
                if sub.name != "tmp":
                    shutil.rmtree(sub, ignore_errors=True)
            return
        for sha in shas:
            (root / sha[:2] / sha[2:4] / sha).unlink(missing_ok=True)


def run_child(
    script: str,
    env: dict[str, str],
    params: dict[str, Any],
    hub: Hub,
    log_dir: Path,
    label: str,
    prepare: Callable[[], None] | None = None,
) -> Run:
    """Run one client in a child process (after `prepare()`); its rusage comes from `os.wait4` on it alone."""
    err_path = log_dir / f"{label}.err"
    # No case pays for the previous one's writes: the hub's blobs sit in the page cache (no fsync) and the
    # kernel would otherwise write them back, with CPU and disk, during whichever case comes next.
    os.sync()
    started = time.perf_counter()
    with open(err_path, "wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", PRELUDE + script],
            env={**env, "BENCH_PARAMS": json.dumps(params)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=ROOT,
        )
        assert child.stdin is not None and child.stdout is not None
        lines = []
        for line in child.stdout:  # up to "ready": the child has started and imported what it needs
            if line.strip() == b"ready":
                break
            lines.append(line)
        if prepare is not None:  # blobs dropped here are freed a moment before the client needs memory
            prepare()
        before, (hub_cpu, hub_sys) = hub.control.stats(), hub.cpu_seconds()
        with contextlib.suppress(BrokenPipeError):  # a child that died before "ready" is reported below
            child.stdin.write(b"go\n")
            child.stdin.close()
        lines += child.stdout.readlines()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
    process = time.perf_counter() - started
    hub_cpu, hub_sys = (now - then for now, then in zip(hub.cpu_seconds(), (hub_cpu, hub_sys), strict=True))
    after = hub.control.stats()
    if child.returncode:
        raise RuntimeError(f"{label} failed ({child.returncode}):\n{err_path.read_text()[-4000:]}")
    answer = json.loads(lines[-1])
    return Run(
        wall=answer.pop("wall"),
        process=process,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=answer.pop("hwm_kib") / 1024,
        hub_cpu=hub_cpu,
        hub_sys=hub_sys,
        blob_bytes=after["blob_bytes_received"] - before["blob_bytes_received"],
        commits=after["commits"] - before["commits"],
        extra=answer,
    )


def median(runs: list[Run], pick: Callable[[Run], float]) -> float:
    return statistics.median(pick(r) for r in runs)


def print_results(results: dict[str, list[Run]]) -> None:
    header = (
        f"{'case':<40} {'wall s':>7} {'proc s':>7} {'CPU s':>6} {'RSS MiB':>8} {'hub CPU s':>9} {'hub sys':>7} "
        f"{'blob MiB':>9} {'commits':>7}   runs wall (s)"
    )
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        print(
            f"{name:<40} {median(runs, lambda r: r.wall):>7.2f} {median(runs, lambda r: r.process):>7.2f} "
            f"{median(runs, lambda r: r.cpu):>6.2f} {max(r.rss_mib for r in runs):>8.1f} "
            f"{median(runs, lambda r: r.hub_cpu):>9.2f} {median(runs, lambda r: r.hub_sys):>7.2f} "
            f"{median(runs, lambda r: r.blob_bytes) / MIB:>9.1f} "
            f"{median(runs, lambda r: r.commits):>7.0f}   {' '.join(f'{r.wall:.2f}' for r in runs)}"
        )


def faster(ours: list[Run], theirs: list[Run]) -> tuple[str, bool | None]:
    """Ours against another client, from the runs' spreads: the median ratio (theirs / ours) and a verdict:
    True when every run of ours beat every run of theirs, False when every one lost, None (parity) when the
    spreads overlap, where a difference of medians is no finding."""
    ours_walls, their_walls = [r.wall for r in ours], [r.wall for r in theirs]
    ratio = statistics.median(their_walls) / statistics.median(ours_walls)
    if max(ours_walls) < min(their_walls):
        return f"{ratio:.2f}x", True
    if min(ours_walls) > max(their_walls):
        return f"{ratio:.2f}x", False
    return f"{ratio:.2f}x", None


def print_targets(results: dict[str, list[Run]], total_bytes: int, bandwidth: float | None) -> None:
    """The targets, each with its measured median and a verdict computed here from the runs."""

    def wall(case: int) -> float:
        return median(results[CASES[case]], lambda r: r.wall)

    def op_cpu(case: int) -> float:
        return median(results[CASES[case]], lambda r: r.extra["op_cpu"])

    ours_cold, wire, task, download = wall(0), wall(2), wall(8), wall(9)
    unchanged = results[CASES[3]]
    one, alone = wall(4), wall(6)
    ours_rss = max(r.rss_mib for i in (0, 3, 4) for r in results[CASES[i]])
    unchanged_bytes = max(r.blob_bytes for r in unchanged)
    unchanged_commits = max(r.commits for r in unchanged)
    floor_cpu = op_cpu(7)
    cold, cold_verdict = faster(results[CASES[0]], results[CASES[1]])
    fetch, fetch_verdict = faster(results[CASES[9]], results[CASES[10]])
    rows = [
        ("cold: ours no slower than the SDK (SDK / ours)", cold, cold_verdict is not False),
        ("download: ours no slower than the SDK (SDK / ours)", fetch, fetch_verdict is not False),
        ("cold: ours / wire limit", f"{ours_cold / wire:.2f}x", None),
        ("cold: CPU in the call / floor <= 1.15x", f"{op_cpu(0) / floor_cpu:.2f}x", op_cpu(0) / floor_cpu <= 1.15),
        ("cold: through the task / the engine", f"{task / ours_cold:.2f}x", None),
        ("unchanged: 0 blob bytes (every run)", f"{unchanged_bytes}", unchanged_bytes == 0),
        ("unchanged: 0 commits (every run)", f"{unchanged_commits}", unchanged_commits == 0),
        ("one changed / hash-and-send alone <= 1.2x", f"{one / alone:.2f}x", one / alone <= 1.2),
        ("ours peak RSS <= 200 MiB (max of all runs)", f"{ours_rss:.1f} MiB", ours_rss <= 200),
    ]
    if bandwidth:
        link = total_bytes / bandwidth  # the bytes alone over the link, before any latency
        rows[2:2] = [
            ("link time (bytes / bandwidth)", f"{link:.2f} s", None),
            ("cold: ours / link time <= 1.1x", f"{ours_cold / link:.2f}x", ours_cold / link <= 1.1),
            ("cold: SDK / link time", f"{wall(1) / link:.2f}x", None),
            ("download: ours / link time <= 1.1x", f"{download / link:.2f}x", download / link <= 1.1),
            ("download: SDK / link time", f"{wall(10) / link:.2f}x", None),
        ]
    print(f"\n{'target':<52} {'measured':>12}  met")
    print("-" * 70)
    for target, measured, met in rows:
        print(f"{target:<52} {measured:>12}  {'-' if met is None else 'yes' if met else 'NO'}")
    for label, verdict in (("cold publish", cold_verdict), ("download", fetch_verdict)):
        said = {True: "ours faster in every run", False: "ours slower in every run", None: "parity (spreads overlap)"}
        print(f"{label}, ours vs the SDK: {said[verdict]}")
    print(f"floor CPU (sha256 pass + plain PUTs, in the call): {floor_cpu:.2f} s; ours: {op_cpu(0):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--big-files", type=int, default=4, help="random .safetensors shards (default 4)")
    parser.add_argument("--big-mib", type=int, default=512, help="MiB per shard (default 512)")
    parser.add_argument("--small-files", type=int, default=200, help="small text files, configuration.json included")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    parser.add_argument("--workers", type=int, help="our upload concurrency, also the wire case's (default: ours)")
    parser.add_argument("--fsync", action="store_true", help="let local_hub fsync every blob (default: no fsync)")
    parser.add_argument("--keep-data", action="store_true", help="keep the generated folder and the child logs")
    parser.add_argument(
        "--network-latency", type=float, default=0.0, help="seconds local_hub adds to every request (e.g. 0.03)"
    )
    parser.add_argument(
        "--network-bandwidth", type=float, help="bytes per second of local_hub's one shared link (e.g. 100e6)"
    )
    parser.add_argument(
        "--hosts", action="store_true", help="the real hub's network shape: TLS, a proxy, www./lfs./cdn. hosts"
    )
    args = parser.parse_args(argv)
    if args.big_files < 1 or args.big_mib < 9 or args.rounds < 1:
        parser.error("need at least one big file of at least 9 MiB and one round")

    # HubSettings.upload_max_workers' default (the children get no MODELSCOPE_* variables from here).
    workers = args.workers or min(8, (os.cpu_count() or 1) + 4)
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    hub: Hub | None = None
    try:
        started = time.perf_counter()
        folder = make_folder(work / "model", args.big_files, args.big_mib, args.small_files)
        print(
            f"folder: {folder.path}: {args.big_files} x {args.big_mib} MiB .safetensors + {args.small_files} small "
            f"files ({folder.small_bytes / MIB:.1f} MiB), {folder.total / MIB:.0f} MiB, "
            f"written in {time.perf_counter() - started:.1f}s"
        )
        start = Hub.start_with_hosts if args.hosts else Hub.start
        hub = server = start(work / "hub", args.fsync)  # `server` for the closures below: never None
        if args.network_latency or args.network_bandwidth:
            hub.control.set_network(args.network_latency, args.network_bandwidth)
        logs = work / "logs"
        logs.mkdir()
        network = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MODELSCOPE_", "PREFECT_API")) and k.upper() not in network
        }
        env.update(hub.client_env())
        env.update(
            MODELSCOPE_ENDPOINT=hub.url,
            MODELSCOPE_HOME=str(work / "ms-home"),
            MODELSCOPE_CACHE=str(work / "ms-cache"),
            MODELSCOPE_UPLOAD_CACHE_ENABLED="false",
            PYTHONUNBUFFERED="1",
        )
        base = {"url": hub.url, "token": TOKEN, "folder": str(folder.path), "workers": workers}
        wire_model = f"{USER}/wire"  # the wire cases negotiate hrefs in a repo of their own
        created = hub.http().post(
            f"{hub.url}/api/v1/models",
            json={"Path": USER, "Name": wire_model.split("/")[1], "Visibility": 5},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        created.raise_for_status()
        batch_url = f"{hub.url}/api/v1/repos/models/{wire_model}/info/lfs/objects/batch"
        big = [[sha, str(path), size] for sha, path, size in folder.big]
        changed_path = folder.big[0][1]
        sdk_workers = min(8, (os.cpu_count() or 4) + 4)  # the SDK's default (MODELSCOPE_UPLOAD_MAX_CONCURRENT_WORKERS)
        print(
            f"local_hub: {hub.url} ({'fsync' if args.fsync else 'no fsync'}"
            f"{', TLS through its proxy, downloads redirected to cdn.' if args.hosts else ''}); "
            "upload workers: ours and wire "
            f"{workers}, SDK {sdk_workers} (its default); network: {hub.control.network()}"
        )
        print(f"load average before: {load_average()} ({os.cpu_count()} CPUs, shared by clients and local_hub)")

        results: dict[str, list[Run]] = {name: [] for name in CASES}
        for number in range(1, args.rounds + 1):
            ours = {**base, "model_id": f"{USER}/ours-r{number}", "cache": str(work / f"cache-r{number}.sqlite")}
            sdk = {**base, "model_id": f"{USER}/sdk-r{number}"}

            def measure(
                case: int,
                script: str,
                params: dict[str, Any],
                prepare: Callable[[], None] | None = None,
                number: int = number,
            ) -> None:
                run = run_child(script, env, params, server, logs, f"r{number}-{case}", prepare)
                results[CASES[case]].append(run)
                print(f"  round {number}: {CASES[case]:<40} {run.wall:7.2f} s")

            measure(0, OURS, ours, server.drop_blobs)
            # Right after the cold publish, while every blob of it is on the hub (later cases drop them).
            dest = work / f"download-r{number}"
            try:
                measure(9, DOWNLOAD, {**base, "model_id": ours["model_id"], "dest": str(dest)})
            finally:
                shutil.rmtree(dest, ignore_errors=True)
            try:
                measure(10, SDK_DOWNLOAD, {**base, "model_id": ours["model_id"], "dest": str(dest)})
            finally:
                shutil.rmtree(dest, ignore_errors=True)
            measure(1, SDK, sdk, server.drop_blobs)
            measure(2, WIRE, {**base, "files": big, "batch_url": batch_url}, server.drop_blobs)
            measure(3, OURS, ours)
            with open(changed_path, "r+b") as handle:  # new bytes in the first piece: a new 512 MiB blob
                original = handle.read(PIECE)
                handle.seek(0)
                handle.write(os.urandom(PIECE))
            # The SDK's unchanged re-run needs every blob, so no blob is dropped here: a ballast file of the
            # changed file's size is freed instead (see the module docstring).
            ballast = work / "ballast"
            write_random(ballast, args.big_mib * MIB)
            try:
                measure(4, OURS, ours, ballast.unlink)
            finally:
                with open(changed_path, "r+b") as handle:
                    handle.write(original)
            measure(5, SDK, sdk)
            alone = {**base, "files": [[None, *big[0][1:]]], "batch_url": batch_url, "hash": True}
            measure(6, WIRE, alone, lambda: server.drop_blobs([folder.big[0][0]]))
            floor = {**base, "files": [[None, *item[1:]] for item in big], "batch_url": batch_url, "hash": True}
            measure(7, WIRE, floor, server.drop_blobs)
            task_env = {
                **env,
                "MODELSCOPE_API_TOKEN": TOKEN,
                "MODELSCOPE_CACHE": str(work / f"task-cache-r{number}"),  # a fresh hash cache: cold
                "PREFECT_HOME": str(work / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
            task = {**base, "model_id": f"{USER}/task-r{number}"}
            results[CASES[8]].append(run_child(TASK, task_env, task, server, logs, f"r{number}-8", server.drop_blobs))
            print(f"  round {number}: {CASES[8]:<40} {results[CASES[8]][-1].wall:7.2f} s")

        print(f"\nload average after: {load_average()}")
        print(
            f"\npush of {folder.total / MIB:.0f} MiB ({args.big_files} x {args.big_mib} MiB + {args.small_files} "
            f"small files), median of {args.rounds} interleaved round(s); wall = the operation (timed in the child); "
            "proc = the whole child process; CPU (wait4) and RSS (VmHWM, max over rounds) = the child process, "
            "interpreter start and imports included; hub CPU = local_hub's CPU during the operation; blob MiB and "
            "commits = deltas of the hub's counters; our hash cache is cold for the cold run and warm (that run's) "
            "for the re-publishes, the realistic case\n"
        )
        print_results(results)
        hashing = median(results[CASES[6]], lambda r: r.extra["hash_seconds"])
        print(
            f"\nsha256 on this CPU (one thread, hash-and-send case): {args.big_mib * MIB / hashing / 1e6:.0f} MB/s; "
            f"the PUT of that file: {(median(results[CASES[6]], lambda r: r.wall) - hashing):.2f} s"
        )
        for index in (0, 3, 4):
            runs = sorted(results[CASES[index]], key=lambda r: r.wall)
            print(f"{CASES[index]}: push timings (s) of the median run: {runs[len(runs) // 2].extra['timings']}")
        print_targets(results, folder.total, args.network_bandwidth)
    finally:
        if hub is not None:
            hub.stop()
        shutil.rmtree(work / "hub", ignore_errors=True)
        if args.keep_data:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
