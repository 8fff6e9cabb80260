"""The hub's web pages, as far as links point at them: `/models/{owner}/{name}`, a model's page, and
`/datasets/{owner}/{name}`, a dataset's.

The publish artifact, the demo and `HubClient.model_url` link to `<hub>/models/owner/name`, as on the real
hub's website; local_hub answers it with a small HTML page (the model's name, its branches and tags with
their commits, and the files of its default branch) so that those links work against local_hub too. Who
looks is read from the website's session cookie (`m_session_id`, as a logged-in browser sends it): a model
the visitor may not see is a 404, like one that does not exist. It is not part of the API: never
journaled nor checked by strict mode.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from local_hub.envelope import hub_of, presented_token, repo_type_of

STYLE = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 12px;text-align:left}code{font-size:95%}"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


async def repo_page(request: Request) -> HTMLResponse:
    """GET /models/{owner}/{name} (or /datasets/...): the repo's page, for a visitor who may see it (else a
    404 page)."""
    owner, name = request.path_params["owner"], request.path_params["name"]
    store, kind = hub_of(request).store, repo_type_of(request)
    token = presented_token(request)
    visitor = store.user_for_token(token) if token else None  # an unknown session is an anonymous visitor
    repo = store.find_repo(owner, name, kind.name)
    if repo is None or not store.may_read(visitor, repo):
        message = f"No {kind.name} {owner}/{name} here (or you may not see it)."
        return _page("Not found", f"<h1>Not found</h1><p>{escape(message)}</p>", status=404)
    branches, tags = store.refs(repo)
    refs = [
        (kind, f"<code>{escape(ref.name)}</code>", f"<code>{escape(ref.commit_id)}</code>")
        for kind, group in (("branch", branches), ("tag", tags))
        for ref in group
    ]
    head = store.resolve(repo, "master")
    files = [
        (f"<code>{escape(entry.path)}</code>", f"{entry.size:,}", "lfs" if entry.is_lfs else "inline")
        for entry in (store.tree(head) if head else [])
    ]
    parts = [
        f"<h1>{escape(repo.repo_id)}</h1>",
        f"<p>{escape(repo.chinese_name)}</p>" if repo.chinese_name else "",
        f"<p>License: {escape(repo.license or '-')}</p>",
        "<h2>Branches and tags</h2>",
        _table(("kind", "name", "commit"), refs) if refs else "<p>No branches yet.</p>",
        "<h2>Files (master)</h2>",
        _table(("path", "bytes", "stored"), files) if files else "<p>No files yet.</p>",
    ]
    return _page(repo.repo_id, "".join(parts))
