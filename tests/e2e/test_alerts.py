"""Alerts end to end: the automations of deployments/automations.yaml, set up with the documented command,
send a moved tag found by two nightly snapshots to a webhook (a `CustomWebhookNotificationBlock` pointed at
a loopback receiver), with the model, the tag, both commits and the snapshot run, and never the token."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from tests.helpers.hub import ROOT, RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, final
from tests.helpers.webhook import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_moved_tag_reaches_the_webhook_with_the_model_the_commits_and_the_run(
    stack: PrefectStack, hub: RunningHub, tmp_path: Path
) -> None:
    demo = HubWriter(SimpleNamespace(url=hub.url, tokens={"demo": DEMO_TOKEN}, control=hub.control), "demo")
    demo.create("demo/alerted")
    before = demo.commit("demo/alerted", {"configuration.json": b"{}"})
    demo.tag("demo/alerted", "v1")
    with WebhookReceiver() as receiver, api(stack) as client:
        CustomWebhookNotificationBlock(
            name="alerts", url=receiver.url, json_data={"subject": "{{subject}}", "text": "{{body}}"}
        ).save("alerts", overwrite=True)
        setup = subprocess.run(
            [sys.executable, "-m", "flows.alerts", "--notify", "custom-webhook/alerts"],
            env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert setup.returncode == 0, setup.stderr
        names = (
            "modelscope-tag-moved, modelscope-model-removed, modelscope-dataset-tag-moved, modelscope-dataset-removed"
        )
        assert setup.stdout.strip() == f"alerts through custom-webhook/alerts: {names}"

        nightly = client.read_deployment_by_name("snapshot-revisions/nightly")

        def snapshot(folder: Path):
            run = client.create_flow_run_from_deployment(
                nightly.id, parameters={"owners": ["demo"], "snapshot_dir": str(folder)}
            )
            done = wait_for(lambda: final(client, run.id), "the snapshot run", timeout=180, interval=0.5)
            assert done.state is not None and done.state.is_completed(), done.state
            return done

        snapshot(tmp_path / "first")
        demo.delete("demo/alerted")
        demo.create("demo/alerted")
        after = demo.commit("demo/alerted", {"configuration.json": b'{"v": 2}'})
        demo.tag("demo/alerted", "v1")
        second = snapshot(tmp_path / "second")
        bodies = wait_for(receiver.received, "the tag-moved notification at the webhook", timeout=120, interval=0.5)

    assert len(bodies) == 1, bodies  # one moved tag, nothing removed: one notification
    note = json.loads(bodies[0])
    assert note["subject"] == "ModelScope: tag v1 of demo/alerted moved"
    text = note["text"]
    assert f"Tag v1 of demo/alerted moved: it pointed at commit {before} and now points at {after}." in text
    assert f"Reported by snapshot run {second.name} ({second.id})" in text
    assert f"Hub: {hub.url}" in text
    assert DEMO_TOKEN not in bodies[0].decode()
