"""The snapshot flow: every model's branches and tags, read, written as JSON Lines and diffed (see flow.py)."""
