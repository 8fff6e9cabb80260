"""Branch creation: one ref update over the hub's git endpoint, checked before anything is written.

The HTTP API has no branch call (protocol.md Op 10), so this is the seed's own route: the legacy
push_model created a missing branch with `git push` and the token login hands out. Only a ref moves;
the commit is already on the hub (`wire/git.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from hub_tasks.errors import AlreadyExistsError, InvalidParameter, NotLoginError, RequestError
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.validation import COMMIT_ID_RE, validate_branch, validate_model_id, validate_ref
from hub_tasks.wire.git import UPLOAD_PACK, Advertisement, GitRefs
from hub_tasks.wire.session import HubSession

OPERATION = "create_branch"


def _source_commit(git: GitRefs, refs: Advertisement, from_revision: str) -> str | None:
    """The commit a branch, a tag, or the commit id at the head of one names; None when nothing does.

    receive-pack advertises an annotated tag's own object id, and a branch must point at a commit,
    so a tag is peeled through upload-pack's advertisement, which lists `refs/tags/<tag>^{}`.
    """
    found = refs.branch(from_revision)
    if found is None and refs.tag(from_revision) is not None:
        found = git.advertisement(OPERATION, UPLOAD_PACK).tag(from_revision)
    if found is None and COMMIT_ID_RE.fullmatch(from_revision) and from_revision in refs.refs.values():
        found = from_revision
    return found


def create_branch(
    session: HubSession,
    model_id: str,
    branch: str,
    from_revision: str = "master",
    *,
    exist_ok: bool = False,
    login: Callable[[], object],
    repo_type: RepoType = "model",
) -> str:
    """Create `branch` at the commit `from_revision` points at; returns that commit id.

    Args:
        session: The hub session; it must hold the git token, or `login` must fetch it.
        model_id: "owner/name".
        branch: The new branch's name (git check-ref-format rules).
        from_revision: A branch or tag, or the commit id at the head of one.
        exist_ok: When the branch already exists, return its commit instead of raising.
        login: Called once when the session has no git token yet (`HubClient.login`).
        repo_type: "model" or "dataset".

    Raises:
        InvalidParameter: A name git refuses, a name equal to an existing tag, or a `from_revision`
            that does not exist; raised before anything is written.
        AlreadyExistsError: The branch exists (and `exist_ok` is false), or someone else created it
            at another commit meanwhile.
        NotLoginError: No SDK token, or the hub issued no git token at login.
        RequestError: The hub's git endpoint refused the update; its reason is in the message.

    Example:
        >>> create_branch(HubSession("http://127.0.0.1:9"), "alice/demo", "a..b", login=lambda: None)
        Traceback (most recent call last):
        ...
        hub_tasks.errors.InvalidParameter: create_branch: branch 'a..b' is not a valid name ...
    """
    repo_kind(repo_type, OPERATION)
    validate_model_id(model_id, OPERATION, repo_type)
    validate_branch(branch, OPERATION)
    validate_ref(from_revision, "from_revision", OPERATION)
    session.require_token(OPERATION, model_id)
    if session.git_token is None:
        login()
    if session.git_token is None:
        raise NotLoginError(
            "the hub issued no git token at login, and branches can only be created over git",
            operation=OPERATION,
            model_id=model_id,
        )
    git = GitRefs(session, model_id, repo_type)
    refs = git.advertisement(OPERATION)
    existing = refs.branch(branch)
    if existing is not None:
        if exist_ok:
            return existing
        raise AlreadyExistsError(
            f"branch {branch!r} already exists at {existing}", operation=OPERATION, model_id=model_id
        )
    if refs.tag(branch) is not None:
        raise InvalidParameter(
            f"branch {branch!r} has the name of an existing tag; a revision name must say which one it means, "
            "so choose another branch name",
            operation=OPERATION,
            model_id=model_id,
        )
    target = _source_commit(git, refs, from_revision)
    if target is None:
        hint = " (the repo has no commits yet; publish to master first)" if not refs.refs else ""
        raise InvalidParameter(
            f"from_revision {from_revision!r} does not exist in {model_id}{hint}: name an existing branch or tag",
            operation=OPERATION,
            model_id=model_id,
        )
    refname = f"refs/heads/{branch}"

    def send() -> str:
        reason = git.create(refname, target, OPERATION)
        if reason is not None:
            raise RequestError(
                f"the hub's git endpoint refused to create branch {branch!r}: {reason}",
                operation=OPERATION,
                model_id=model_id,
            )
        return target

    def landed() -> str | None:
        now = git.advertisement(OPERATION).branch(branch)
        if now is not None and now != target:
            raise AlreadyExistsError(
                f"branch {branch!r} was created at {now} by someone else meanwhile",
                operation=OPERATION,
                model_id=model_id,
            )
        return now

    return session.call_checked(send, landed, operation=OPERATION, model_id=model_id)
