"""Prefect flows built on hub_tasks: publish a model folder, snapshot revisions, the demo."""
