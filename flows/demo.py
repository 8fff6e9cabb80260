"""The main job, for now: local_hub plus the official SDK publishing and listing a generated folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from local_hub import LocalHub

DEMO_TOKEN = "ms-demo-token-not-a-secret"


def make_folder(root: Path) -> Path:
    """A small model folder: configuration, a README, a nested 3 MiB weight file."""
    folder = root / "model"
    (folder / "weights").mkdir(parents=True)
    (folder / "configuration.json").write_text('{"framework": "pytorch", "task": "text-generation"}\n')
    (folder / "README.md").write_text("# demo model\n")
    (folder / "weights" / "model.safetensors").write_bytes(os.urandom(3 * 1024 * 1024))
    return folder


def main() -> None:
    """Start local_hub, publish with the SDK, list what landed, and print a report."""
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp, LocalHub(users={"demo": DEMO_TOKEN}) as hub:
        os.environ.update(
            MODELSCOPE_ENDPOINT=hub.url,
            MODELSCOPE_HOME=f"{tmp}/home",
            MODELSCOPE_CACHE=f"{tmp}/cache",
            MODELSCOPE_UPLOAD_CACHE_ENABLED="false",
            MODELSCOPE_DOWNLOAD_INTRA_CLOUD="false",
        )
        from modelscope.hub.api import HubApi  # after the env: the SDK reads it once

        api = HubApi()
        api.login(DEMO_TOKEN)
        print(f"local_hub at {hub.url}")
        print("created", api.create_model("demo/first-model"))
        api.upload_folder(repo_id="demo/first-model", folder_path=str(make_folder(Path(tmp))))
        for entry in api.get_model_files("demo/first-model"):
            print(f"  {entry['Path']:40} {entry['Size']:>10} bytes")
        stats = hub.control.stats()
        print(f"hub received {stats['blob_bytes_received']} blob bytes in {stats['commits']} commit(s)")


if __name__ == "__main__":
    main()
