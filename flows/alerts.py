"""Alerts: the automations that send a snapshot's red flags (a moved tag, a removed model or dataset) to a
person.

The definitions live in deployments/automations.yaml, beside the deployments; `alert_automations` reads
them, points their notifications at a Prefect notification block named by `type-slug/name`, and creates
each automation or updates the one of the same name, so running it again changes nothing twice. It is a
`prefect deploy` build step (deployments/prefect.yaml, with the block from MODELSCOPE_ALERT_BLOCK) and a
command:

    python -m flows.alerts --notify slack-webhook/ml-team [--file deployments/automations.yaml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from prefect.client.orchestration import get_client
from prefect.events.schemas.automations import AutomationCore
from prefect.exceptions import ObjectNotFound

from flows.events import change_event

DEFAULT_FILE = "deployments/automations.yaml"
PLACEHOLDER = "NOTIFICATION_BLOCK"
ALERTED = (change_event("tag.moved"), change_event("model.removed"), change_event("dataset.removed"))


class AlertSetupError(ValueError):
    """The alerts cannot be set up as asked: a malformed block name, a missing block or file."""


def _block_document_id(block: str) -> str:
    """The document id of the notification block `type-slug/name` (e.g. `slack-webhook/ml-team`)."""
    slug, _, name = block.partition("/")
    if not slug or not name:
        raise AlertSetupError(
            f"name the notification block as <block type slug>/<block name>, e.g. slack-webhook/ml-team; got {block!r}"
        )
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name=name, block_type_slug=slug, include_secrets=False)
        except ObjectNotFound:
            raise AlertSetupError(
                f"no {slug} block named {name!r} on this Prefect server: create it first (UI: Blocks, or "
                f"<BlockClass>(...).save({name!r})), then run this again"
            ) from None
    return str(document.id)


def _definitions(path: Path, block_document_id: str) -> list[AutomationCore]:
    """The file's automations, their notifications pointed at the block."""
    if not path.is_file():
        raise AlertSetupError(f"no automations file at {path}: pass --file, e.g. {DEFAULT_FILE}")
    raw = yaml.safe_load(path.read_text()) or {}
    automations = []
    for entry in raw.get("automations") or []:
        for action in entry.get("actions") or []:
            if action.get("block_document_id") == PLACEHOLDER:
                action["block_document_id"] = block_document_id
        automations.append(AutomationCore.model_validate(entry))
    return automations


def alert_automations(notification_block: str | None = None, file: str | Path = DEFAULT_FILE) -> dict[str, Any]:
    """Create or update (by name) the alert automations of `file`, notifying through `notification_block`.

    Also a `prefect deploy` build step: with no block named (an empty MODELSCOPE_ALERT_BLOCK, or the
    variable unset, which Prefect leaves as its placeholder) it changes nothing and says how to turn alerts on.

    Args:
        notification_block: `<block type slug>/<block name>` of a Prefect notification block, e.g.
            `slack-webhook/ml-team`, `custom-webhook/ops`, `email/oncall`.
        file: The automations file (deployments/automations.yaml).

    Returns:
        `{"automations": [names created or updated], "block_document_id": "<uuid>" or None}`.

    Raises:
        AlertSetupError: The block name is malformed, the block or the file does not exist.

    Example:
        ```python
        from flows.alerts import alert_automations

        print(alert_automations("slack-webhook/ml-team")["automations"])
        ```
    """
    block = (notification_block or "").strip()
    if not block or block.startswith("{{"):
        print("no alerts set up: name a notification block in MODELSCOPE_ALERT_BLOCK (e.g. slack-webhook/ml-team)")
        return {"automations": [], "block_document_id": None}
    block_document_id = _block_document_id(block)
    names = []
    with get_client(sync_client=True) as client:
        for automation in _definitions(Path(file), block_document_id):
            existing = client.read_automations_by_name(automation.name)
            if existing:
                client.update_automation(existing[0].id, automation)
            else:
                client.create_automation(automation)
            names.append(automation.name)
    return {"automations": names, "block_document_id": block_document_id}


def main(argv: list[str] | None = None) -> int:
    """The command line: create or update the alert automations."""
    parser = argparse.ArgumentParser(prog="python -m flows.alerts", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--notify", required=True, help="notification block as type-slug/name, e.g. slack-webhook/ml-team"
    )
    parser.add_argument("--file", default=DEFAULT_FILE, help=f"the automations file (default: {DEFAULT_FILE})")
    args = parser.parse_args(argv)
    try:
        done = alert_automations(args.notify, args.file)
    except AlertSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"alerts through {args.notify}: {', '.join(done['automations'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
