"""The example training flow on a hub dataset: it downloads the dataset, trains on its files, publishes the model,
and Prefect records the lineage dataset -> model folder -> model (asset materialization events, read back from the
API: the open-source server has no asset endpoint of its own)."""

from __future__ import annotations

from pathlib import Path

from prefect.events import Event
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from flows.publish.flow import publish_dataset
from flows.publish.request import DatasetPublishRequest
from flows.train_and_publish import PublishMode, train_and_publish
from hub_tasks import ModelScopeCredentials
from tests.helpers.folders import write_files
from tests.helpers.hub import RunningHub
from tests.helpers.prefect_api import all_events, events_settled

DATASET, MODEL = "alice/tiny-dataset", "alice/tiny-model"
DATASET_ASSET, MODEL_ASSET = "modelscope://datasets/alice/tiny-dataset", "modelscope://alice/tiny-model"


def materializations(asset_key: str) -> list[Event]:
    """Every successful materialization event of `asset_key` the server holds."""
    only = EventFilter(
        event=EventNameFilter(name=["prefect.asset.materialization.succeeded"]),
        resource=EventResourceFilter(id=[asset_key]),
    )
    return all_events(only)


def upstream(asset_key: str) -> set[str]:
    """The assets recorded upstream of `asset_key`, directly or through other assets."""
    found: set[str] = set()
    pending = [asset_key]
    while pending:
        for event in materializations(pending.pop()):
            for related in event.related:
                if related.role == "asset" and related.id not in found:
                    found.add(related.id)
                    pending.append(related.id)
    return found


def test_the_model_trained_on_a_dataset_has_the_dataset_upstream(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    source = tmp_path / "dataset"
    write_files(source, {"README.md": "# tiny\n", "train.csv": "text,label\nhi,1\nbye,0\n"})
    published = publish_dataset(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(source)), credentials)
    model_folder, data = tmp_path / "model", tmp_path / "downloaded"

    def train(dataset_id: str | None) -> str:
        result = train_and_publish(
            model_id=MODEL,
            output_dir=str(model_folder),
            dataset_id=dataset_id,
            data_dir=str(data),
            publish=PublishMode.subflow,
            modelscope_credentials=credentials,
        )
        assert result is not None and result.repo_type == "model"
        return (model_folder / "model.safetensors").read_bytes().hex()

    weights = train(DATASET)
    # It read the dataset's files (the hub's own .gitattributes is no example) and says what it trained on.
    assert (data / "train.csv").read_bytes() == (source / "train.csv").read_bytes()
    readme = (model_folder / "README.md").read_text()
    assert f"- dataset: {DATASET} at {published.commit_id} (4 examples)" in readme, readme
    assert train(None) != weights  # the data changes the weights

    events_settled()
    model_folder_asset = model_folder.resolve().as_uri()
    published_models = materializations(MODEL_ASSET)
    assert len(published_models) == 2
    assert all({r.id for r in e.related if r.role == "asset"} == {model_folder_asset} for e in published_models)
    trained = [e for e in materializations(model_folder_asset) if DATASET_ASSET in {r.id for r in e.related}]
    assert len(trained) == 1, "only the run on the dataset records it upstream"
    assert {DATASET_ASSET, model_folder_asset, source.resolve().as_uri()} <= upstream(MODEL_ASSET)
    assert materializations(DATASET_ASSET), "the dataset's own asset, from its publish"
