"""The Prefect layer: the credentials block, the runtime (retry policy, logger, the one client factory),
concurrency (publish lock, shared rate limit) and the tasks.

The top of `hub_tasks`: it imports `client.py` and the leaves; nothing below imports it. `hub_tasks`
re-exports its public names.
"""
