"""What a person should see, written out: the labels and help texts of the run forms and the block's form.

These are literals on purpose. The pages are held to what this file says, never to values read from
the code under test (a schema, a class attribute), so a text that a renderer mangles, or a code change
that makes a label read worse, fails the tier instead of being copied into its expectations. Labels are
written without the " (Optional)" the UIs append to a field that has a default.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field of a form as a person should read it.

    Attributes:
        label: The label, without the UI's " (Optional)".
        help: The help text under it, word for word (whitespace runs compare as one space).
    """

    label: str
    help: str


# -- the publish form (deployment publish-model/manual) --------------------------------------------------
PUBLISH_TOP = {
    "request": Field("Publish request", "What to publish and how."),
    "modelscope_credentials": Field(
        "ModelScope credentials", "A saved credentials block (picked in the UI); env vars when None."
    ),
    "lock": Field(
        "Publish lock",
        "The per-model publish lock taken around the write phase (the whole push: ensure repo, upload, commit, tag, "
        "verify), so that two runs for one model never interleave, even on different workers.",
    ),
}
PUBLISH_REQUEST = {
    "model_id": Field("Model ID", "Hub id as owner/name, e.g. alice/my-model."),
    "model_dir": Field("Model folder", "Folder to publish; it must hold a configuration.json."),
    "revision": Field("Revision", "Branch to publish to; a missing one is created from master's head."),
    "tag": Field("Tag", "Tag the new commit, e.g. v1.0 (never moved); empty for no tag."),
    "commit_message": Field("Commit message", "Commit message (empty: the default)."),
    "visibility": Field("Visibility", "Visibility if the repo is created."),
    "license": Field("License", "License if the repo is created."),
    "chinese_name": Field("Chinese name", "Display name if the repo is created; empty for none."),
    "original_model_id": Field(
        "Original model ID", "Base model this one was trained from, as owner/name; empty for none."
    ),
    "ignore_file_pattern": Field(
        "Ignore file pattern",
        "Regular expressions (as the SDK's push_model takes them) searched in each file's path relative to the "
        "folder, e.g. checkpoint-\\d+ or [.]tmp$ for names ending in .tmp; matching files are left out and kept "
        "on the hub.",
    ),
    "ignore_patterns": Field(
        "Ignore patterns",
        "Globs matched against each file's relative path and name (e.g. *.log); matching files are left out and "
        "kept on the hub.",
    ),
    "delete_missing": Field("Delete missing", "Remove hub files that are not in the folder."),
    "allow_secret_files": Field(
        "Allow secret files",
        "Secret-looking files (keys, .env, credentials) the folder may publish on purpose, as globs, e.g. "
        "keys/public.pem or * for all; empty refuses them.",
    ),
    "rollback_new_repo": Field(
        "Roll back a new repo", "Delete the repo again if this run created it and the push failed."
    ),
}
PUBLISH_LOCK = {
    "enabled": Field("Enabled", "Take the model's lock around the write phase."),
    "name": Field(
        "Lock name", "Global concurrency limit to use; empty for the model's own, modelscope-publish-OWNER--NAME."
    ),
    "timeout_seconds": Field("Timeout in seconds", "Give up waiting for the lock after this long."),
    "lease_seconds": Field("Lease in seconds", "A crashed holder's lock frees itself after this long."),
}
# The first request fields, in the order a publish is described; the options follow them.
PUBLISH_LEADING = ("model_id", "model_dir", "revision", "tag", "commit_message")
# Optional texts where empty means none: plain text boxes, never a "str | None" toggle.
PUBLISH_PLAIN_TEXT = (
    ("request", "tag"),
    ("request", "chinese_name"),
    ("request", "original_model_id"),
    ("lock", "name"),
)

# -- the snapshot form (deployment snapshot-revisions/nightly) -------------------------------------------
SNAPSHOT_TOP = {
    "owners": Field(
        "Owners",
        "Users or groups whose models to snapshot (e.g. alice, my-org). With the hub's endpoint they are the "
        "snapshot's scope: it is compared only with the previous snapshot of the same scope.",
    ),
    "include_files": Field(
        "Include files", "Also record every branch head's files (path, size, sha256): one request per branch."
    ),
    "snapshot_dir": Field(
        "Snapshot folder",
        "Folder that archives every snapshot, on the worker (a leading ~ is expanded), or the path inside the "
        "file system block (the default then means its snapshots/ folder). Scopes can share it.",
    ),
    "filesystem_block": Field(
        "File system block",
        "A WritableFileSystem block as slug/name (e.g. s3-bucket/snapshots); empty for the local folder.",
    ),
    "max_concurrency": Field(
        "Requests in flight",
        "Hub requests in flight at once (the reads wait on the network, not the CPU); the credentials block's "
        "rate limit, if set, still caps the request rate.",
    ),
    "task_runner": Field("Task runner", "Run the reads in threads of the flow's process, or on a local Dask cluster."),
    "modelscope_credentials": Field(
        "ModelScope credentials",
        "The ModelScope credentials block; empty for the MODELSCOPE_API_TOKEN and MODELSCOPE_ENDPOINT "
        "environment variables.",
    ),
}
SNAPSHOT_PLAIN_TEXT = ("filesystem_block",)

# -- the credentials block's form (its edit page) --------------------------------------------------------
BLOCK_FIELDS = {
    "token": Field(
        "SDK access token", "SDK access token from the ModelScope user center (Account settings, Access tokens)."
    ),
    "endpoint": Field(
        "Hub endpoint", "Base URL of the hub, e.g. https://www.modelscope.cn or a local_hub URL for tests."
    ),
    "connect_timeout": Field("Connect timeout in seconds", "Seconds to open a connection; empty for 10."),
    "read_timeout": Field("Read timeout in seconds", "Seconds to wait for the hub's bytes; empty for 60."),
    "retry_attempts": Field(
        "Attempts per request",
        "Attempts per HTTP call on transient faults (429, 5xx, dropped connections); empty for 4.",
    ),
    "retry_max_total_wait_seconds": Field(
        "Total back-off per request in seconds", "Cap of all back-off waits of one HTTP call together; empty for 30."
    ),
    "upload_max_workers": Field(
        "Parallel transfers", "Parallel blob uploads and downloads; empty for the CPU count + 4, at most 8."
    ),
    "rate_limit": Field(
        "Hub rate limit",
        "Name of a Prefect global concurrency limit with slot decay; every hub request takes a slot. Empty for none.",
    ),
    "ca_bundle": Field(
        "CA bundle",
        "The CA that signs the hub's TLS certificate, as a PEM file path or the PEM text, e.g. a company CA "
        "behind a TLS-inspecting proxy. Empty for REQUESTS_CA_BUNDLE, SSL_CERT_FILE or the public CAs.",
    ),
    "proxy": Field(
        "Proxy",
        "Proxy URL for every hub request, e.g. http://user:password@proxy.example:3128 (kept secret). Empty for "
        "HTTPS_PROXY; NO_PROXY applies either way.",
    ),
}
BLOCK_TYPE_NAME = "ModelScope Credentials"
BLOCK_DESCRIPTION = "A ModelScope Hub access token and hub URL for every prefect-modelscope task and flow."
DOCS_URL = "https://github.com/prefect-modelscope/prefect-modelscope#credentials"

# -- messages ---------------------------------------------------------------------------------------------
# Next to a refused model id: the words the schema's if/else makes the server say (never the raw regex).
MODEL_ID_ERROR = "'owner/name, e.g. alice/my-model' was expected"
# Text the UIs print for a bare "null" branch of a type toggle: a form that shows it offers a None toggle.
NONE_TOGGLE_TEXT = 'Property is type "None"'
