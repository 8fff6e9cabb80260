"""The push engine: scan a folder, hash it through a cache, plan against the remote tree, upload,
commit, tag and verify. One owner per publish step.

Imports the leaves and the wire layer only; it is typed on the hub operations it uses (`PushHub`), so
`client.py` may import it and it never imports the client, the Prefect layer or the flows.
"""
