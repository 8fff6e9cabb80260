"""The model page at `/models/{owner}/{name}`: the link the publish artifact and the demo print works."""

from __future__ import annotations

import requests

from tests.helpers.folders import blob
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import api, create_model, push


def test_a_public_models_page_shows_its_refs_and_files(hub: RunningHub) -> None:
    create_model(hub, "alice/paged")
    weights = blob(2048)
    head = push(hub, "alice/paged", {"README.md": b"# paged\n", "w/weights.bin": weights}, lfs_paths=["w/weights.bin"])
    assert api(hub, "POST", "/api/v1/models/alice/paged/repo/tag", json={"TagName": "v1", "Ref": "master"}).ok
    page = requests.get(f"{hub.url}/models/alice/paged", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<h1>alice/paged</h1>" in text
    assert f"<td>branch</td><td><code>master</code></td><td><code>{head}</code></td>" in text
    assert f"<td>tag</td><td><code>v1</code></td><td><code>{head}</code></td>" in text
    assert "<td><code>README.md</code></td><td>8</td><td>inline</td>" in text
    assert "<td><code>w/weights.bin</code></td><td>2,048</td><td>lfs</td>" in text


def test_a_private_model_shows_to_its_owners_session_only_and_a_missing_one_is_a_404(hub: RunningHub) -> None:
    create_model(hub, "alice/hidden", visibility=1)
    for model, session in (("alice/hidden", None), ("alice/hidden", "bob"), ("alice/nothing", "alice")):
        cookies = {"m_session_id": hub.tokens[session]} if session else {}
        page = requests.get(f"{hub.url}/models/{model}", cookies=cookies, timeout=10)
        assert page.status_code == 404 and f"No model {model} here" in page.text, (model, session)
    page = requests.get(f"{hub.url}/models/alice/hidden", cookies={"m_session_id": hub.tokens["alice"]}, timeout=10)
    assert page.status_code == 200 and "<h1>alice/hidden</h1>" in page.text
    routes = [entry["route"] for entry in hub.control.journal()]
    assert "create_model" in routes and "model_page" not in routes  # a page is not an API request
