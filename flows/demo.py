"""The main job: publish a dataset, train on it, publish, re-publish one changed file, and snapshot, on an
embedded local_hub.

    python3 dev.py demo [--keep] [--verbose]

Starts local_hub on a free port (throw-away data, a "demo" user) and uses Prefect's embedded
server in a temporary PREFECT_HOME; saves a ModelScopeCredentials block pointing at local_hub;
publishes a tiny dataset it writes (`publish_dataset`), runs the example training flow on it (it
downloads the dataset and publishes the model as a subflow), takes a snapshot, changes one file
and re-publishes with a new tag (only that file is sent), snapshots again, and prints a report with
the lineage Prefect recorded (dataset -> model).
Everything is removed at the end unless --keep is given. Point the block at https://www.modelscope.cn
with your own token and the same flows publish to the real hub.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEMO_TOKEN = "ms-demo-token-for-local-hub-only"
MODEL_ID = "demo/tiny-model"
DATASET_ID = "demo/tiny-dataset"
MATERIALIZED = "prefect.asset.materialization.succeeded"


def _environment(home: Path, verbose: bool) -> None:
    """Isolate Prefect and the hash cache in `home`; must run before Prefect is imported."""
    os.environ.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        MODELSCOPE_CACHE=str(home / "modelscope-cache"),
        PREFECT_LOGGING_LEVEL="INFO" if verbose else "WARNING",
    )
    for name in ("PREFECT_API_URL", "MODELSCOPE_API_TOKEN", "MODELSCOPE_ENDPOINT"):
        os.environ.pop(name, None)


def _fine_tune(folder: Path) -> None:
    """Change exactly one file: nudge the weights (same size, new bytes)."""
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    for i in range(len(data) - 1, len(data) - 4097, -4):
        data[i] ^= 0x01
    weights.write_bytes(bytes(data))


def _write_dataset(folder: Path) -> None:
    """A tiny labelled text dataset: a CSV of 40 examples and a README."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"sample text {i},{i % 2}" for i in range(40)]
    (folder / "train.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (folder / "README.md").write_text("# tiny-dataset\n\nForty labelled lines for the prefect-modelscope demo.\n")


def _upstream(client: Any, asset: str) -> list[str]:
    """The assets Prefect recorded upstream of `asset` (the related assets of its materialization events)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    only = EventFilter(event=EventNameFilter(name=[MATERIALIZED]), resource=EventResourceFilter(id=[asset]))
    response = client.request("POST", "/events/filter", json={"filter": only.model_dump(mode="json"), "limit": 50})
    response.raise_for_status()
    related = (r for event in response.json()["events"] for r in event.get("related", []))
    return sorted({r["prefect.resource.id"] for r in related if r.get("prefect.resource.role") == "asset"})


def _lineage(asset: str, source: str, timeout: float = 10.0) -> list[str]:
    """`asset` and its upstream assets, oldest first, as the Prefect server recorded them; waits (up to
    `timeout` seconds: the server stores events asynchronously) until the walk reaches `source`."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            chain, key = [asset], asset
            while ups := [up for up in _upstream(client, key) if up not in chain]:
                chain.insert(0, ", ".join(ups))
                key = ups[0]
            if source in chain or time.monotonic() > deadline:
                return chain
            time.sleep(0.2)


def _artifacts() -> list[tuple[str, str, str]]:
    from prefect.client.orchestration import get_client

    from flows.snapshot.baseline import ARTIFACT_TYPE as BASELINE

    def shown(artifact: Any) -> str:  # a baseline's data is a compressed snapshot: its description says more
        return artifact.description or "" if artifact.type == BASELINE else str(artifact.data or "")

    with get_client(sync_client=True) as client:
        found = [a for a in client.read_artifacts() if a.key]
    # The same order every run: by key, then oldest first (the server's own order is not stable).
    found.sort(key=lambda a: (a.key or "", a.created or 0))
    return [(a.key or "-", a.type or "-", shown(a)) for a in found]


def run(home: Path) -> None:
    """The demo proper (Prefect already configured by `_environment`)."""
    import requests

    from flows.events import asset_key
    from flows.publish.flow import DatasetPublishRequest, PublishRequest, publish_dataset, publish_model
    from flows.snapshot.flow import snapshot_revisions
    from flows.train_and_publish import PublishMode, train_and_publish
    from hub_tasks import ModelScopeCredentials
    from local_hub import LocalHub

    started = time.perf_counter()
    with LocalHub(data_dir=home / "hub", users={"demo": DEMO_TOKEN}) as hub:
        print(f"local_hub at {hub.url} (data in {home / 'hub'})")
        credentials = ModelScopeCredentials(token=DEMO_TOKEN, endpoint=hub.url)
        credentials.save("modelscope", overwrite=True)
        folder, snapshots = home / "model", str(home / "snapshots")
        _write_dataset(home / "dataset")  # beside the model folder, in the demo's one example folder
        dataset = publish_dataset(
            DatasetPublishRequest(dataset_id=DATASET_ID, dataset_dir=str(home / "dataset"), tag="v1"), credentials
        )

        first = train_and_publish(
            model_id=MODEL_ID,
            output_dir=str(folder),
            dataset_id=DATASET_ID,
            data_dir=str(home / "downloads" / "tiny-dataset"),
            tag="v1",
            publish=PublishMode.subflow,
            modelscope_credentials=credentials,
        )
        snapshot_revisions(["demo"], snapshot_dir=snapshots, modelscope_credentials=credentials)
        _fine_tune(folder)
        hub.control.reset()  # count only what the re-publish sends
        second = publish_model(
            PublishRequest(model_id=MODEL_ID, model_dir=str(folder), tag="v2", commit_message="fine-tune"), credentials
        )
        sent = hub.control.stats()
        after = snapshot_revisions(["demo"], snapshot_dir=snapshots, modelscope_credentials=credentials)
        from flows.snapshot.diff import diff

        first_snapshot, second_snapshot = sorted(Path(snapshots).glob("snapshot-*.json"))
        changes = diff(_load(first_snapshot), _load(second_snapshot))
        artifacts = _artifacts()
        page = requests.get(first.model_url, timeout=10).status_code  # the link the artifact and this report give
        dataset_page = requests.get(dataset.repo_url, timeout=10).status_code
        lineage = _lineage(asset_key("model", MODEL_ID), asset_key("dataset", DATASET_ID))

    print("\n=== prefect-modelscope demo report ===")
    print(
        f"dataset:      {dataset.repo_url} (its page answered {dataset_page}): commit {dataset.commit_id} (tag v1), "
        f"{dataset.files_added} files added, {dataset.bytes_uploaded:,} blob bytes + {dataset.bytes_inline:,} inline "
        "bytes sent; the model below was trained on it"
    )
    print(f"model:        {first.model_url} (its page answered {page} while the hub ran)")
    print(
        f"publish 1:    commit {first.commit_id} (tag v1): {first.files_added} files added, "
        f"{first.bytes_uploaded:,} blob bytes + {first.bytes_inline:,} inline bytes sent"
    )
    print(
        f"publish 2:    commit {second.commit_id} (tag v2): {second.files_changed} changed, {second.files_unchanged} "
        f"unchanged; sent only {', '.join(c.path for c in second.changes)} = {second.bytes_uploaded:,} blob bytes "
        f"(the hub received {sent['blob_bytes_received']:,} blob bytes in {sent['commits']} commit)"
    )
    print("lineage:      " + "\n           -> ".join(lineage) + "  (the assets Prefect recorded, data -> model)")
    counts = f"{after.models} model(s), {after.datasets} dataset(s), {after.changes} change(s) since the first"
    print(f"snapshots:    {after.location} ({counts})")
    for c in changes:
        print(f"  {c.kind:<15} {c.repo_type} {c.repo_id} {c.ref or ''}: {c.old or '-'} -> {c.new or '-'}")
    print("artifacts:    (in the Prefect server under " + os.environ["PREFECT_HOME"] + ")")
    key_width = max((len(key) for key, _, _ in artifacts), default=0)
    kind_width = max((len(kind) for _, kind, _ in artifacts), default=0)
    for key, kind, data in artifacts:
        first_line = data.strip().splitlines()[0][:90] if data.strip() else ""
        print(f"  {key:<{key_width}}  {kind:<{kind_width}}  {first_line}")
    print(f"done in {time.perf_counter() - started:.1f}s")


def _load(path: Path):
    from flows.snapshot.format import Snapshot

    return Snapshot.model_validate_json(path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    """Run the demo in a temporary home; remove it afterwards unless --keep."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (hub data, Prefect DB, snapshots)")
    parser.add_argument("--verbose", action="store_true", help="show Prefect's run logs")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="prefect-modelscope-demo-"))
    _environment(home, args.verbose)
    try:
        run(home)
    finally:
        if args.keep:
            print(f"kept {home}: PREFECT_HOME={home / 'prefect'} prefect server start  # to browse the runs")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
