"""Helpers shared by the test packages: plain functions and classes, no test in here.

Fixtures live in the conftest files; anything two test modules need lives here, so that no test
module imports another (tests/unit/test_suite_layout.py holds that rule). By subject:

- `hub`: the session local_hub (users, tokens, `RunningHub`, `start_local_hub`) and its counters.
- `hub_http`: local_hub's routes over plain `requests`, and setup as another user would do it.
- `clients`: `HubClient`s and credentials blocks configured for a test suite.
- `folders`: model folders on disk, and comparing them with a revision on the hub.
- `sdk`: the official SDK in a subprocess against the session hub.
- `secret_scan`: the token-leak check of the client tests.
- `polling`: `wait_for`, the one polling loop.
- `prefect_api`: reading back what the Prefect server recorded, once it has.
- `exported_tasks`: the Prefect tasks `hub_tasks` exports, found by type.
- `flow_tasks`: the Prefect tasks the product flows call, found by type.
- `stack`: a real Prefect server, work pool and workers as subprocesses (e2e and scale tiers).
- `scale`: many seeded models for the scale tier.
"""
