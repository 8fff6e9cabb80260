"""The publish flow: a PublishRequest in, a verified commit on the hub out (see flow.py)."""
