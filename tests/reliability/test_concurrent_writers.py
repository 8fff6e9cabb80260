"""Item 5, concurrent writers: two `publish_model` flows publish different folders to the same model at the
same time. The final tree equals one of the two folders exactly; the other publish either succeeded with
its own folder verified at its own commit (it simply came first), or failed with an error saying that a
concurrent change was detected. Never a silently mixed tree.

Each flow runs in its own process (as on two workers; Prefect runs the sync flows of one process one
after the other) against the session's Prefect server. Both start together; without the lock their first
writes meet at local_hub (a `rendezvous` fault holds each until the other arrives), so that the two
publishes plan against the same tree and their writes race, and the push engine's checks decide; with the
lock (the default) the first commit is held a while and the two serialize.

Each round first proves that the race it needs happened, from local_hub's `in_flight_peak` (the most
requests of a route served at once) and the two publish calls' own clocks, and only then judges the
outcome: a new model's two creations were in flight together (one publish created the repo, the other
found it); an existing model's two commits were in flight together, so the second landed on a tree it
had not planned against (the winner repaired it, or the loser reported the concurrent change); with the
lock, the two calls ran at the same time but their commits never overlapped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL

from tests.helpers.clients import make_client
from tests.helpers.folders import blob, make_folder, manifest, remote
from tests.helpers.hub import ROOT, RunningHub

pytestmark = pytest.mark.reliability

ROUNDS = [(False, False), (True, False), (True, True)]  # (existing model, publish lock)
ROUND_IDS = [f"{'existing' if e else 'new'}-model-{'lock' if k else 'no-lock'}" for e, k in ROUNDS]
PUBLISHER = """
import json, sys, time
from flows.publish.flow import PublishLock, PublishRequest, publish_model
from hub_tasks import ModelScopeCredentials

url, token, model_id, folder, lock = sys.argv[1:6]
block = ModelScopeCredentials(token=token, endpoint=url)
print("ready", flush=True)
sys.stdin.readline()  # the start barrier: both publishers are imported and waiting
started = time.time()
state = publish_model(PublishRequest(model_id=model_id, model_dir=folder), block,
                      lock=PublishLock(enabled=lock == "1", lease_seconds=60), return_state=True)
out = {"state": state.type.value, "message": state.message or "", "started": started, "ended": time.time()}
if state.is_completed():
    result = state.result()
    out.update(commit_id=result.commit_id, commit_ids=result.commit_ids, created_repo=result.created_repo)
else:
    error = state.result(raise_on_failure=False)
    out.update(error=type(error).__name__, text=str(error))
print(json.dumps(out), flush=True)
"""


def folders(root: Path) -> tuple[Path, Path, Path]:
    base = make_folder(
        root / "base", {"README.md": "base\n", "base-only.txt": "gone in both\n", "weights/base.bin": blob(90_000)}
    )
    a = make_folder(root / "a", {"README.md": "A\n", "a.txt": "a", "weights/a.safetensors": blob(150_000)})
    b = make_folder(root / "b", {"README.md": "B\n", "b.txt": "b", "weights/b.safetensors": blob(120_000)})
    return base, a, b


def race(hub: RunningHub, model_id: str, a: Path, b: Path, lock: bool) -> dict[Path, dict[str, Any]]:
    """Publish `a` and `b` from two processes at once; returns each one's outcome."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    processes = {
        folder: subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, hub.url, hub.tokens["alice"], model_id, str(folder), str(int(lock))],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for folder in (a, b)
    }  # fmt: skip
    try:
        for process in processes.values():
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        for process in processes.values():
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outcomes = {}
        for folder, process in processes.items():
            stdout, _ = process.communicate(timeout=120)
            outcomes[folder] = json.loads(stdout.strip().splitlines()[-1])
        return outcomes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize(("existing", "lock"), ROUNDS, ids=ROUND_IDS)
def test_two_concurrent_publishes_never_leave_a_mixed_tree(
    hub_idle: RunningHub, prefect_harness: None, fast_backoff: None, tmp_path: Path, existing: bool, lock: bool
) -> None:
    hub = hub_idle
    model_id = f"alice/race-{int(existing)}-{int(lock)}"
    base, a, b = folders(tmp_path)
    if existing:
        with make_client(hub) as client:
            client.push_model(model_id, base, hash_cache=None)
    if lock:  # the first commit is held a while: the other publish, started with it, waits on the lock
        rules = [{"route": "commit", "effect": "latency", "seconds": 4, "times": 1}]
    else:
        # The first write of each publish (a new model's creation, else the commit) waits at local_hub until
        # the other one's arrives too: they are certainly in flight together, whatever the start skew of two
        # flow runs on a loaded machine (a fixed latency only made that likely).
        held = "commit" if existing else "create_model"
        rules = [{"route": held, "effect": "rendezvous", "count": 2, "times": 2, "seconds": 120}]
    hub.control.set_faults(rules)
    hub.control.reset(state=False, faults=False)  # count from here: the race itself
    outcomes = race(hub, model_id, a, b, lock)
    peak = hub.control.stats()["in_flight_peak"]

    # First: the race this round needs really happened.
    assert max(o["started"] for o in outcomes.values()) < min(o["ended"] for o in outcomes.values()), (
        f"the two publishes did not run at the same time: {outcomes}"
    )
    if lock:
        assert peak.get("commit", 0) == 1, f"with the lock, commits must never overlap: {peak}"
    elif not existing:
        stats = hub.control.stats()
        assert peak.get("create_model", 0) == 2, f"the two creations were not in flight together: {peak}"
        # One created the repo; the hub told the other that the name was taken (its 400, §Op 2).
        created = {key: n for key, n in stats["statuses"].items() if key.startswith("create_model ")}
        assert created == {"create_model 200": 1, "create_model 400": 1}, created
    else:
        assert peak.get("commit", 0) == 2, f"the two commits were not in flight together: {peak}"

    with make_client(hub) as client:
        final = remote(client, model_id)
        assert final in (manifest(a), manifest(b)), f"a mixed tree: {sorted(final)}; {outcomes}"
        winner, loser = (a, b) if final == manifest(a) else (b, a)
        head = client.resolve_ref(model_id)
        won, lost = outcomes[winner], outcomes[loser]
        assert won["state"] == "COMPLETED", f"the publish whose folder is on the hub failed: {won}"
        assert won["commit_id"] == head
        if lost["state"] == "COMPLETED":  # it came first: its commit holds exactly its folder, the winner's followed
            assert remote(client, model_id, lost["commit_id"]) == manifest(loser)
            history = [c.id for c in client.list_commits(model_id, page_size=100)]
            assert history.index(lost["commit_id"]) > history.index(head)
        else:
            assert lost["error"] == "ConcurrentChangeError", lost
            assert "a concurrent change was detected" in lost["text"], lost
            assert not lock, "with the publish lock, the two publishes must not conflict"
        if lock:
            assert lost["state"] == won["state"] == "COMPLETED", outcomes
        elif existing:
            # Both commits were planned against the same tree and in flight together, so the race showed: the
            # hub refused the later one (it deletes what the first deleted), or it landed on the first one's
            # files and its publisher re-applied its folder. Never a quiet sequential outcome.
            repaired = len(won["commit_ids"]) == 2
            assert lost.get("error") == "ConcurrentChangeError" or repaired, outcomes
