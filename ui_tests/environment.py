"""The tier's process environment: private homes for Prefect and the SDK, set before either is imported.

A leaf module (standard library only): `ui_tests.__main__` calls `isolate()` first, because Prefect
reads its settings, and the official SDK its home, when they are first imported.
"""

from __future__ import annotations

import os
from pathlib import Path

# Variables of the caller's shell that would point the tier at another hub or server.
FOREIGN = ("MODELSCOPE_API_TOKEN", "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN", "PREFECT_API_URL")


def isolate(workdir: Path) -> None:
    """Point Prefect and the SDK at folders under `workdir`, as tests/conftest.py does for the suite.

    Args:
        workdir: The run's scratch folder; it holds every home, log and screenshot.
    """
    os.environ.update(
        PREFECT_HOME=str(workdir / "prefect-client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MODELSCOPE_HOME=str(workdir / "modelscope-home"),
        MODELSCOPE_CACHE=str(workdir / "modelscope-cache"),
        MODELSCOPE_UPLOAD_CACHE_ENABLED="false",
        MODELSCOPE_DOWNLOAD_INTRA_CLOUD="false",
        PYTHONUNBUFFERED="1",
        # The stack's server inherits this environment: a 503 ("retry") it answers the UI, which does not
        # retry, then leaves its cause in server.log.
        PREFECT_API_LOG_RETRYABLE_ERRORS="true",
    )
    for name in FOREIGN:
        os.environ.pop(name, None)
