"""Serve Prefect's own UI bundles for a server that runs without them: `python -m ui_tests.ui_server PORT`.

The stack of tests/helpers/stack.py starts `prefect server start` with the UI switched off (the e2e
tier never needs it). Rather than a second copy of that stack, this process serves the very app
`prefect server start` mounts for the UI (`create_ui_app`: the static bundles plus `/ui-settings`), and
`PREFECT_UI_API_URL` points the pages at the stack's API, which allows cross-origin calls by default
(`PREFECT_SERVER_CORS_ALLOWED_ORIGINS="*"`). Set `PREFECT_UI_STATIC_DIRECTORY` to a scratch folder: the
bundles are copied there with their base path filled in, instead of into site-packages.
"""

from __future__ import annotations

import sys

import uvicorn
from prefect.server.api.server import create_ui_app


def main(argv: list[str]) -> None:
    """Serve the UI on 127.0.0.1:`argv[0]` until terminated."""
    uvicorn.run(create_ui_app(ephemeral=False), host="127.0.0.1", port=int(argv[0]), log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
