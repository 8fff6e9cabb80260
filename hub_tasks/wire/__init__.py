"""The wire layer: the one session that sends (auth, retries, error mapping) and the byte-moving calls.

Imports only the leaves (`settings`, `errors`, `error_mapping`, `types`, `validation`). `client.py`, the
push engine and the download engine build on its public API (`call`, `call_checked`, `retrying`).
"""
