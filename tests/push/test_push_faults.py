"""push_model when things go wrong: commit answers lost after the commit landed, a publish killed half-way
and resumed, transient faults during blob uploads, and two writers publishing to one model at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import ConcurrentChangeError, HubClient
from hub_tasks.types import CommitOperation, PushResult
from tests.helpers.clients import make_client, push
from tests.helpers.folders import MIB, blob, make_folder, manifest, model_folder, remote, write_files
from tests.helpers.hub import ROOT, Counter, RunningHub, settled
from tests.helpers.polling import wait_for


def fired(hub: RunningHub) -> list[int]:
    return [rule["fired"] for rule in hub.control.faults()]


# -- lost answers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "settings"),
    [
        ({"then": "status", "status": 502}, {}),
        ({"then": "drop"}, {}),
        ({"then": "hang", "seconds": 5}, {"read_timeout": 1}),
    ],
    ids=["502", "drop", "hang"],
)
@pytest.mark.parametrize("first", [True, False], ids=["first-commit", "later-commit"])
def test_a_commit_whose_answer_is_lost_is_made_exactly_once(
    hub: RunningHub, tmp_path: Path, rule: dict[str, Any], settings: dict[str, Any], first: bool
) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub, **settings) as client:
        if not first:
            push(client, "alice/lost", folder, None)
            (folder / "README.md").write_text("second\n")
            (folder / "weights/part-0.safetensors").write_bytes(blob(100 * 1024))
        hub.control.set_faults([{"route": "commit", "effect": "apply_then_fail", "times": 1, **rule}])
        counter = Counter(hub)
        result = push(client, "alice/lost", folder, None, tag="v-lost")
        assert fired(hub) == [1]
        delta = counter.delta()
        assert delta["commits"] == 1, delta
        assert delta["requests"]["commit"] == 1  # never blindly re-sent: the hub was asked first
        assert result.verified and result.commit_ids == [client.resolve_ref("alice/lost")]
        assert result.created_repo == first
        assert remote(client, "alice/lost") == manifest(folder)
        assert client.resolve_ref("alice/lost", "v-lost") == result.commit_id


def test_a_commit_refused_with_a_transient_error_is_sent_again(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub) as client:
        hub.control.set_faults([{"route": "commit", "effect": "status", "status": 503, "times": 2}])
        counter = Counter(hub)
        result = push(client, "alice/retry", folder, None)
        delta = counter.delta()
        assert (delta["commits"], delta["requests"]["commit"]) == (1, 3)
        assert result.commit_ids == [client.resolve_ref("alice/retry")]
        assert remote(client, "alice/retry") == manifest(folder)


@pytest.mark.parametrize("route", ["create_model", "create_tag"])
def test_lost_answers_to_repo_and_tag_creation(hub: RunningHub, tmp_path: Path, route: str) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub) as client:
        hub.control.set_faults([{"route": route, "effect": "apply_then_fail", "then": "drop", "times": 1}])
        result = push(client, "alice/created", folder, None, tag="v1")
        assert fired(hub) == [1]
        assert result.created_repo and client.resolve_ref("alice/created", "v1") == result.commit_id
        assert remote(client, "alice/created") == manifest(folder)


# -- crash and resume ----------------------------------------------------------------------------
PUBLISH_SCRIPT = """
import json, sys
from hub_tasks import HubClient, HubSettings

url, token, model_id, folder, cache = sys.argv[1:6]
with HubClient(endpoint=url, token=token, settings=HubSettings(retry_backoff_seconds=0.01)) as client:
    result = client.push_model(model_id, folder, max_workers=1, hash_cache=cache)
print(json.dumps({"commit_id": result.commit_id}))
"""


def test_a_killed_publish_resends_at_most_the_blob_in_flight(hub: RunningHub, tmp_path: Path) -> None:
    size, count = 8 * MIB, 6
    folder = make_folder(tmp_path / "model", {f"shards/model-{i}.safetensors": blob(size) for i in range(count)})
    total = size * count
    cache = tmp_path / "hashes.sqlite"
    hub.control.set_faults([{"route": "blob_put", "effect": "latency", "seconds": 0.4}])
    args = [hub.url, hub.tokens["alice"], "alice/resume", str(folder), str(cache)]
    process = subprocess.Popen([sys.executable, "-c", PUBLISH_SCRIPT, *args], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        wait_for(lambda: hub.control.stats()["blob_puts"] >= 2 or process.poll() is not None, "two blob uploads")
        assert process.poll() is None, "the publish finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()

    # Every request the dead process started (its blob PUT in flight) has been answered or abandoned.
    wait_for(lambda: settled(hub), "the hub to finish the interrupted upload")
    hub.control.clear_faults()
    before = hub.control.stats()
    stored_before = before["blob_bytes_stored"]
    assert before["commits"] == 0 and 2 * size <= stored_before < total

    with make_client(hub) as client:
        result = push(client, "alice/resume", folder, cache)
        after = hub.control.stats()
        resent = after["blob_bytes_received"] - before["blob_bytes_received"]
        assert resent <= total - stored_before + size, (resent, total, stored_before)
        assert result.bytes_uploaded == resent and result.bytes_reused >= stored_before
        assert after["blob_bytes_stored"] == total  # every blob stored exactly once
        assert after["commits"] == 1
        assert result.verified and remote(client, "alice/resume") == manifest(folder)
        # The killed run had hashed everything: the resume reads no file twice.
        assert result.hash_cache_hits == count + 1 and result.bytes_hashed == 0


# -- transient faults during uploads -------------------------------------------------------------
def test_blob_uploads_survive_random_503s(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model", lfs=8, lfs_size=100 * 1024)
    hub.control.set_faults([{"route": "blob_put", "effect": "status", "status": 503, "rate": 0.3}], seed=11)
    with make_client(hub, retry_attempts=8) as client:
        result = push(client, "alice/flaky", folder, None)
        assert fired(hub)[0] > 0
        assert result.verified and remote(client, "alice/flaky") == manifest(folder)
        assert result.bytes_uploaded == 8 * 100 * 1024
        assert hub.control.stats()["blob_bytes_stored"] == 8 * 100 * 1024


def test_blob_uploads_survive_connections_dropped_mid_body(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model", lfs=3, lfs_size=2 * MIB)
    hub.control.set_faults([{"route": "blob_put", "effect": "drop_mid_body", "times": 2}])
    with make_client(hub) as client:
        result = push(client, "alice/dropped", folder, None)
        assert fired(hub) == [2]
        stats = hub.control.stats()
        assert stats["blob_bytes_stored"] == 3 * 2 * MIB < stats["blob_bytes_received"]
        assert result.bytes_uploaded == 3 * 2 * MIB
        assert result.verified and remote(client, "alice/dropped") == manifest(folder)


def test_a_publish_survives_faults_on_every_route(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model", lfs=4, lfs_size=300 * 1024)
    rules = [
        {"route": "blob_put", "effect": "drop_mid_body", "rate": 0.15},
        {"route": "*", "effect": "status", "status": 503, "rate": 0.15},
        {"route": "*", "effect": "status", "status": 429, "retry_after": 0.05, "rate": 0.05},
        {"route": "commit", "effect": "apply_then_fail", "then": "drop", "rate": 0.3},
    ]
    hub.control.set_faults(rules, seed=5)
    with make_client(hub, retry_attempts=10) as client:
        result = push(client, "alice/chaos", folder, None, tag="v1")
        assert sum(fired(hub)) > 0
        hub.control.clear_faults()
        assert result.verified and remote(client, "alice/chaos") == manifest(folder)
        assert client.resolve_ref("alice/chaos", "v1") == result.commit_id
        assert hub.control.stats()["commits"] == len(result.commit_ids) == 1


# -- concurrent writers --------------------------------------------------------------------------
def _publish(client: HubClient, model_id: str, folder: Path, start: threading.Barrier, out: dict[str, Any]) -> None:
    start.wait()
    try:
        out[str(folder)] = push(client, model_id, folder, None)
    except Exception as exc:  # the test inspects what was raised
        out[str(folder)] = exc


@pytest.mark.parametrize("round_number", range(4))
def test_two_concurrent_publishers_end_with_exactly_one_folder(
    hub: RunningHub, tmp_path: Path, round_number: int
) -> None:
    """Two publishers start together; their first writes meet at local_hub (a `rendezvous` fault holds each
    until the other arrives), so both are in flight at once, which `in_flight_peak` proves before the
    outcome is judged: in the rounds
    on a new repo both create it (one finds it made), on an existing one both commit against the same tree
    (the later commit lands on a tree it did not plan against, and its publisher repairs it)."""
    model_id = f"alice/race-{round_number}"
    root = tmp_path / f"round-{round_number}"
    shared = {"README.md": "base\n", "base-only.txt": "gone in both\n", "weights/base.safetensors": blob(80 * 1024)}
    a = make_folder(root / "a", {"README.md": "A\n", "a.txt": "a", "weights/a.safetensors": blob(150 * 1024)})
    b = make_folder(root / "b", {"README.md": "B\n", "b.txt": "b", "weights/b.safetensors": blob(120 * 1024)})
    existing = bool(round_number % 2)  # the even rounds race on creating the repo too
    held = "commit" if existing else "create_model"
    # The first write waits at the hub until the other's arrives: a read timeout shorter than that wait would
    # let a slow second publisher (a loaded machine) make the first one give up and resend on its own.
    with make_client(hub, read_timeout=60.0) as one, make_client(hub, read_timeout=60.0) as two:
        if existing:
            push(one, model_id, make_folder(root / "base", shared), None)
        hub.control.reset(state=False)  # count the race alone
        hub.control.set_faults([{"route": held, "effect": "rendezvous", "count": 2, "times": 2, "seconds": 60}])
        start = threading.Barrier(2)
        outcomes: dict[str, Any] = {}
        threads = [
            threading.Thread(target=_publish, args=(client, model_id, folder, start, outcomes))
            for client, folder in ((one, a), (two, b))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        peak = hub.control.stats()["in_flight_peak"]
        final = remote(one, model_id)
    assert peak.get(held, 0) == 2, f"the two publishes' {held} requests were not in flight together: {peak}, {outcomes}"
    assert final in (manifest(a), manifest(b)), (sorted(final), outcomes)
    winner = a if final == manifest(a) else b
    for folder in (a, b):
        outcome = outcomes[str(folder)]
        if isinstance(outcome, PushResult):
            assert outcome.verified
        else:
            assert isinstance(outcome, ConcurrentChangeError), repr(outcome)
    won = outcomes[str(winner)]
    assert isinstance(won, PushResult), outcomes
    results = [o for o in outcomes.values() if isinstance(o, PushResult)]
    if existing:
        # Both commits were planned against the same tree and in flight together, so the race showed: the
        # hub refused the later one (it deletes what the first deleted) or it landed on the first one's
        # files and its publisher re-applied its folder. Never a quiet sequential outcome.
        lost = outcomes[str(b if winner == a else a)]
        assert isinstance(lost, ConcurrentChangeError) or len(won.commit_ids) == 2, outcomes
    else:  # both asked to create the repo at once: one made it, the other found it made
        assert sum(r.created_repo for r in results) <= 1, outcomes
    with make_client(hub) as client:
        assert push(client, model_id, winner, None).noop


class Publish(threading.Thread):
    """A publish in a background thread; `join_result()` returns its result or raises its error."""

    def __init__(self, client: HubClient, model_id: str, folder: Path) -> None:
        super().__init__(daemon=True)
        self.args = (client, model_id, folder)
        self.outcome: Any = None

    def run(self) -> None:
        try:
            self.outcome = push(*self.args, None)
        except Exception as exc:  # handed to the test
            self.outcome = exc

    def join_result(self) -> PushResult:
        self.join(timeout=60)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def intrude(hub: RunningHub, model_id: str, *operations: CommitOperation) -> str:
    """Another writer's commit, made while a publish is held up by a latency fault."""
    with make_client(hub) as other:
        return other.create_commit(model_id, "master", "someone else", list(operations))


def test_a_commit_refused_after_a_concurrent_delete_is_a_concurrent_change(hub: RunningHub, tmp_path: Path) -> None:
    base = model_folder(tmp_path / "model")
    write_files(base, {"old.txt": "old\n"})
    with make_client(hub) as client:
        push(client, "alice/gone", base, None)
        (base / "old.txt").unlink()
        hub.control.set_faults([{"route": "commit", "effect": "latency", "seconds": 1.0, "times": 1}])
        publish = Publish(client, "alice/gone", base)
        publish.start()
        wait_for(lambda: fired(hub) == [1], "the publish's commit to be held up")
        theirs = intrude(hub, "alice/gone", CommitOperation(action="delete", path="old.txt"))
        with pytest.raises(ConcurrentChangeError, match="refused our commit") as info:
            publish.join_result()
        assert theirs in str(info.value)
        assert client.resolve_ref("alice/gone") == theirs


def test_a_commit_that_lands_on_a_concurrent_one_is_repaired(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub) as client:
        push(client, "alice/repair", folder, None)
        (folder / "README.md").write_text("ours\n")
        hub.control.set_faults([{"route": "commit", "effect": "latency", "seconds": 1.0, "times": 1}])
        publish = Publish(client, "alice/repair", folder)
        publish.start()
        wait_for(lambda: fired(hub) == [1], "the publish's commit to be held up")
        intrude(hub, "alice/repair", CommitOperation(action="create", path="intruder.txt", size=1, content=b"x"))
        result = publish.join_result()
        assert len(result.commit_ids) == 2 and result.verified  # our commit, then the repair
        assert remote(client, "alice/repair") == manifest(folder)


def test_a_commit_made_after_ours_is_a_concurrent_change(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub) as client:
        push(client, "alice/after", folder, None)
        (folder / "README.md").write_text("ours\n")
        # The publish resolves the branch head twice: to read the tree, then to verify its commit.
        hub.control.set_faults([{"route": "commits", "effect": "latency", "seconds": 1.0, "after": 1, "times": 1}])
        publish = Publish(client, "alice/after", folder)
        publish.start()
        wait_for(lambda: fired(hub) == [1], "the publish's verification to be held up")
        theirs = intrude(hub, "alice/after", CommitOperation(action="create", path="late.txt", size=1, content=b"x"))
        with pytest.raises(ConcurrentChangeError, match=f"moved to {theirs}"):
            publish.join_result()
        assert "late.txt" in remote(client, "alice/after")


def test_a_commit_made_during_verification_is_never_undone(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    with make_client(hub) as client:
        push(client, "alice/undo", folder, None)
        (folder / "README.md").write_text("ours\n")
        # The publish lists the tree twice: to plan, then to verify its commit.
        hub.control.set_faults([{"route": "repo_files", "effect": "latency", "seconds": 1.0, "after": 1, "times": 1}])
        publish = Publish(client, "alice/undo", folder)
        publish.start()
        wait_for(lambda: fired(hub) == [1], "the publish's verification to be held up")
        theirs = intrude(hub, "alice/undo", CommitOperation(action="create", path="later.txt", size=1, content=b"x"))
        result = publish.join_result()
        assert result.verified and len(result.commit_ids) == 1  # it verified its own commit ...
        assert client.resolve_ref("alice/undo") == theirs  # ... and left the later one alone
        published = remote(client, "alice/undo")
        assert published == {**manifest(folder), "later.txt": published["later.txt"]}
