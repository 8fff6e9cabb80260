"""local_hub: an offline, ModelScope-compatible model hub (HTTP, SQLite, content-addressed blobs, faults).

It speaks the hub's wire protocol well enough for the official `modelscope` SDK, keeps state on
disk, and injects faults on demand. It imports nothing from `hub_tasks`: it is the other side of
the wire and must not share the client's assumptions.

Example:
    ```python
    from local_hub import LocalHub

    with LocalHub(users={"alice": "ms-alice-token"}) as hub:
        print(hub.url, hub.control.stats()["commits"])
    ```
"""

from local_hub.control import HubControl
from local_hub.server import LocalHub
from local_hub.state import HubOptions, HubState

__all__ = ["HubControl", "HubOptions", "HubState", "LocalHub"]
