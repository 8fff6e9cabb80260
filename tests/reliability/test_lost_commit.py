"""Item 2, lost commit answer: the hub applies the publish's commit, then the answer fails (a 502, or the
connection is dropped) or never comes (the client times out). The `publish_model` flow must complete
with exactly one commit, report that commit, send the commit request only once (the engine asks the
hub whether it landed instead of re-sending it), and leave no empty follow-up commit behind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from flows.publish.flow import PublishRequest, publish_model
from tests.helpers.clients import make_block, make_client
from tests.helpers.folders import manifest, model_folder, remote
from tests.helpers.hub import Counter, RunningHub

pytestmark = pytest.mark.reliability

LOST = {
    "answer-502": {"then": "status", "status": 502},
    "answer-dropped": {"then": "drop"},
    "answer-timeout": {"then": "hang", "seconds": 30},
}


def publish(hub: RunningHub, model_id: str, folder: Path, **knobs: Any) -> Any:
    state = publish_model(
        PublishRequest(model_id=model_id, model_dir=str(folder)), make_block(hub, **knobs), return_state=True
    )
    assert state.is_completed(), state.message
    return state.result()


@pytest.mark.parametrize("lost", list(LOST), ids=list(LOST))
@pytest.mark.parametrize("existing", [False, True], ids=["new-model", "existing-model"])
def test_a_commit_whose_answer_is_lost_lands_exactly_once(
    hub_idle: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, tmp_path: Path,
    lost: str, existing: bool,
) -> None:  # fmt: skip
    hub = hub_idle
    model_id = f"alice/lost-{lost}-{int(existing)}"
    folder = model_folder(tmp_path / "model")
    read_timeout = {"read_timeout": 2.0} if lost == "answer-timeout" else {}
    if existing:  # setup through the engine directly (one flow run per test keeps the suite fast)
        with make_client(hub) as client:
            client.push_model(model_id, folder, hash_cache=None)
        (folder / "README.md").write_text("# second version\n")
        (folder / "tokenizer/vocab.txt").unlink()
    with make_client(hub) as client:
        history_before = len(client.list_commits(model_id, page_size=100)) if existing else 0

    hub.control.set_faults([{"route": "commit", "effect": "apply_then_fail", "times": 1, **LOST[lost]}])
    counter = Counter(hub)
    started = time.monotonic()
    result = publish(hub, model_id, folder, **read_timeout)
    elapsed = time.monotonic() - started
    assert [rule["fired"] for rule in hub.control.faults()] == [1], "the commit's answer was never lost"
    delta = counter.delta()

    assert delta["commits_total"] == 1, f"exactly one commit, got {delta['commits_total']}"
    assert delta["requests"]["commit"] == 1, "the commit must be checked, never re-sent blindly"
    with make_client(hub) as client:
        history = client.list_commits(model_id, page_size=100)
        assert len(history) == history_before + 1, "no empty follow-up commit"
        assert result.commit_ids == [result.commit_id] == [history[0].id]
        assert remote(client, model_id) == manifest(folder)
    assert not result.noop and result.verified
    if lost == "answer-timeout":
        assert elapsed < 25, f"the client should give up on the hung answer after its 2 s read timeout ({elapsed:.1f}s)"
    # Publishing the same folder again is a no-op: nothing was left half-done.
    counter.mark()
    with make_client(hub) as client:
        assert client.push_model(model_id, folder, hash_cache=None).noop
    assert counter.delta()["commits_total"] == 0
