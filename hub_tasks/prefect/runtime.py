"""What every hub task shares: the retry policy and timeouts, the run logger, and the one client factory.

Retry policy: inside one task attempt the client sends one HTTP *call* up to `retry_attempts` = 4
times on transient faults (429, 5xx, dropped connections, timeouts), with jittered exponential
back-off (0.5 s doubling, capped at 8 s, honouring `Retry-After` up to 30 s, 30 s of waiting in total
per call). One send waits at most `connect_timeout` + `read_timeout` = 70 s, so one call takes at most
4 x 70 + 30 = 310 s. The task itself retries 3 times (after about 2, 4 and 8 s, jitter 0.5: at most
21 s of waiting) and only when `is_retryable` says the failure was transient; a 400, 401, 403 or 404
fails at once. One call of a simple task: at most (3 + 1) x 4 = 16 requests. Every task's
`timeout_seconds` is longer than one attempt's worst case. Override any of this with
`.with_options(retries=..., timeout_seconds=...)`.

Retry budgets of the compound operations, written once here (defaults as above; "calls" are counted
in one task attempt, each is at most 4 requests and 30 s of back-off; the task multiplies by 4 and
adds at most 21 s):

* Publish (`publish_model` flow; the `push_folder` / `push_model` task; engine `REPAIR_ROUNDS` = 2), for
  U blobs the hub lacks, B = ceil(LFS files / 64) negotiations, K commit batches (one unless the hub's
  limits split it): read the remote (model_exists, branches and tags, resolve, the tag, the file
  listing: 5 calls), create the repo (at most 2), negotiate B, upload U (in parallel, `max_workers`),
  then at most 1 + 2 rounds of K commits + resolve + listing (a repair round negotiates and uploads
  again only what a concurrent commit undid), then the tag (2). A commit whose answer was lost is never
  re-sent blindly: each of its 3 retries first resolves the branch and lists the tree (2 calls) to see
  whether it landed, so a commit is at most 7 calls. Calls per attempt: at most 15 + B + U + 21 K, plus
  what repair rounds upload again; e.g. 10 new blobs in one batch: 47 calls, at most 188 requests and
  23.5 min of back-off per attempt, 752 requests over the task's 4 attempts. The flow adds login and
  model_exists (16 requests each at most) and, after a failure, a rollback of 3 calls outside the task's
  retries. Wall clock per attempt is capped by the task timeout (6 h).
* Snapshot read (`snapshot_revisions`): listing every model is `list_owner_models`, one call per page
  of 100, the pages after the first in parallel, the whole listing read again (at most 3 times) when
  it changed while it was read (task: 4 attempts). Each model is then read in a batch task with one call for its refs,
  one more (`get_model`) for a non-public model, whose exact visibility the listing does not give,
  and one listing per ref with `include_files`; a transient failure after those 4 requests hands
  the model to `read_model_state`, which retries it 4 times: at most 4 + 16 requests of each call
  for one model, and 30 s + 4 x 30 s + 21 s of back-off.
* Download (`download_model`): one listing call, then one call per file (resumed with `Range`
  after a dropped connection, never restarted): 4 requests per file per attempt. A task retry lists
  again and fetches only the files not yet complete, so a file costs at most 16 GETs.

No task caches by default (mutating tasks must not; reads should show fresh hub state): pass
`cache_policy=INPUTS - "modelscope_credentials"` through `.with_options` to cache reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.context import TaskRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.tasks import Task, exponential_backoff

from hub_tasks.client import HubClient
from hub_tasks.errors import is_retryable
from hub_tasks.prefect.concurrency import rate_limiter
from hub_tasks.settings import HubSettings

TASK_RETRIES = 3
READ_TIMEOUT_SECONDS = 900
TRANSFER_TIMEOUT_SECONDS = 6 * 3600
PROGRESS_EVERY_SECONDS = 2.0


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn` for hub tasks: retry only failures `is_retryable` calls transient."""
    try:
        state.result()
    except Exception as exc:
        return is_retryable(exc)
    return False


def hub_task_options(name: str, timeout: float = READ_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The options every hub task shares (retry policy, timeout, no caching, the `modelscope` tag)."""
    return {
        "name": name,
        "retries": TASK_RETRIES,
        "retry_delay_seconds": exponential_backoff(backoff_factor=2),
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": retry_if_transient,
        "timeout_seconds": timeout,
        "cache_policy": NO_CACHE,
        "tags": ["modelscope"],
    }


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run, else this module's logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("hub_tasks.prefect.tasks")  # the tasks' logger outside a run


def artifact_key(prefix: str, name: str) -> str:
    """A Prefect artifact key (lower-case ASCII letters, digits and dashes, at most 64 characters).

    Example:
        >>> artifact_key("publish", "Alice/My_Model.v2")
        'publish-alice-my-model-v2'
    """
    cleaned = "".join(c if c.isascii() and c.isalnum() else "-" for c in f"{prefix}-{name}".lower())
    return cleaned[:64].strip("-")


def is_task_retry() -> bool:
    """True in a task attempt after the first. Retries follow only transient failures, whose request
    may have taken effect with its answer lost; the client's own "check, then retry" does not span
    task attempts, so mutating tasks repeat that check here."""
    context = TaskRunContext.get()
    return context is not None and context.task_run.run_count > 1


class ClientConfig(Protocol):
    """What a client is built from: a `ModelScopeCredentials` block is one (typed here without importing it)."""

    rate_limit: str | None

    def settings(self) -> HubSettings: ...


# Names the shared hub rate limit when there is no block (the block's `rate_limit` field otherwise).
RATE_LIMIT_ENV = "MODELSCOPE_RATE_LIMIT"


def env_rate_limit() -> str | None:
    """The rate limit `MODELSCOPE_RATE_LIMIT` names, for clients built from the environment; None when unset.

    Example:
        >>> import os; os.environ.pop("MODELSCOPE_RATE_LIMIT", None) and None
        >>> env_rate_limit() is None
        True
    """
    return os.environ.get(RATE_LIMIT_ENV, "").strip() or None


def new_client(settings: HubSettings, rate_limit: str | None = None) -> HubClient:
    """THE client factory of the Prefect layer: every client the tasks, the flows and
    `ModelScopeCredentials.get_client()` use is built here, with the same settings, the same shared
    rate limit (a Prefect global concurrency limit, when the block names one) and the same redaction."""
    client = HubClient(settings=settings)
    client.throttle = rate_limiter(rate_limit) if rate_limit else None
    return client


_SHARED: OrderedDict[str, HubClient] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 16


def _fingerprint(settings: HubSettings) -> str:
    """Identifies a configuration without keeping the token itself as a key."""
    token = settings.token.get_secret_value() if settings.token else ""
    described = settings.model_dump(mode="json", exclude={"token"})
    return hashlib.sha256(json.dumps([described, token], sort_keys=True).encode()).hexdigest()


@contextmanager
def hub_client(modelscope_credentials: ClientConfig | None, *, shared: bool = True) -> Iterator[HubClient]:
    """A client from the block, or from `HubSettings` (the SDK's env vars) when there is none.

    Tasks of one process share one client per configuration, so fan-outs (a snapshot of
    thousands of models) reuse pooled connections instead of opening new ones per task.
    `shared=False` gives a private client, for operations that change its state (login).
    """
    settings = modelscope_credentials.settings() if modelscope_credentials is not None else HubSettings()
    limit = modelscope_credentials.rate_limit if modelscope_credentials is not None else env_rate_limit()
    if not shared:
        with new_client(settings, limit) as private:
            yield private
        return
    key = _fingerprint(settings) + (limit or "")
    with _SHARED_LOCK:
        client = _SHARED.get(key)
        if client is None:
            client = _SHARED[key] = new_client(settings, limit)
            if len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)  # not closed: another thread may still be using it
        _SHARED.move_to_end(key)
    yield client
