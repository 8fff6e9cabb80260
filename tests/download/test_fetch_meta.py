"""`fetch_meta_files_from_url` against local_hub and against a plain local HTTP server (another origin).

The plain server (`http.server` in a thread) plays every kind of third-party host: with and without
Range support, answering 416, dropping the connection half-way through a body once, serving HTML
error pages, and recording what headers arrived, so the tests can prove the hub token never does.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import pickle
import random
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hub_tasks import HubClient, InvalidParameter, NotExistError, RequestError, ServerError
from hub_tasks.download import meta_file_name
from tests.helpers.clients import make_client
from tests.helpers.hub_http import commit_files
from tests.helpers.secret_scan import leak_guard, raises

BODY = random.Random(7).randbytes(300_000)


class DownloadMode(enum.Enum):
    """Shaped like the SDK's `modelscope.utils.constant.DownloadMode` (a plain Enum of strings)."""

    REUSE_DATASET_IF_EXISTS = "reuse_dataset_if_exists"
    FORCE_REDOWNLOAD = "force_redownload"


@dataclass
class Route:
    """How the plain server answers one path."""

    body: bytes = BODY
    status: int = 200
    content_type: str = "application/octet-stream"
    ranges: str = "yes"  # "yes": 206 for `bytes=N-`; "no": ignore Range (always 200); "416": refuse every Range
    drops: int = 0  # answer this many requests with half the body, then drop the connection
    etag: str | None = '"v1"'


@dataclass
class Site:
    """The plain server's routes, what it received, and how many body bytes it sent."""

    url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        wanted = self.headers.get("Range")
        site.log.append(
            {"path": path, "range": wanted, "if_range": self.headers.get("If-Range"), "headers": dict(self.headers)}
        )
        route = site.routes.get(path)
        if route is None or route.status != 200:
            status = 404 if route is None else route.status
            self._answer(status, b"<html><body><h1>Error %d</h1></body></html>" % status, "text/html; charset=utf-8")
            return
        body, status, extra = route.body, 200, {}
        if wanted and route.ranges == "416":
            self._answer(416, b"", route.content_type, {"Content-Range": f"bytes */{len(body)}"})
            return
        if wanted and route.ranges == "yes":
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])
            status, extra = 206, {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            body = body[start:]
        if route.etag:
            extra["ETag"] = route.etag
        cut = None
        if route.drops:
            route.drops -= 1
            cut = len(body) // 2
        self._answer(status, body, route.content_type, extra, cut)

    def _answer(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None, cut: int | None = None
    ) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": ctype, "Content-Length": str(len(body)), **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        data = body if cut is None else body[:cut]
        # Counted before the write: once the bytes are out, the client (and the test) may go on before this
        # thread runs again, and a count made afterwards could be read too early.
        self.server.site.sent += len(data)  # type: ignore[attr-defined]
        self.wfile.write(data)
        self.wfile.flush()
        if cut is not None:  # the promised Content-Length never arrives
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.site = Site(url=f"http://127.0.0.1:{server.server_address[1]}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.site  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_token_leaks(hub: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    yield from leak_guard(hub, caplog)


@pytest.fixture
def alice(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, "alice") as client:
        yield client


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


def sidecar(path: str) -> dict[str, Any]:
    return json.loads(Path(path + ".meta.json").read_text())


# -- the hub: success, reuse without a request, force_redownload -----------------------------------
def test_hub_file_is_fetched_with_the_token_then_reused_without_a_request(hub: Any, alice: HubClient, tmp_path: Path):
    alice.create_model("alice/data", visibility=1)  # private: only a request that carries the token gets it
    data = b"text,label\nhello,1\nworld,0\n"
    commit_files(hub, "alice/data", {"train.csv": data})
    url = f"{hub.url}/api/v1/models/alice/data/repo?Revision=master&FilePath=train.csv"
    out = tmp_path / "meta"
    hub.control.reset()

    path = alice.fetch_meta_files_from_url(url, out)
    assert path == str(out / (hashlib.md5(url.encode()).hexdigest() + ".csv"))  # the SDK's name, plus the extension
    assert Path(path).read_bytes() == data
    meta = sidecar(path)
    assert meta["url"] == url and meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["etag"] and meta["last_modified"]
    assert names(out) == sorted([Path(path).name, Path(path).name + ".meta.json"])  # no temp file left
    assert hub.control.requests("download") == 1

    assert alice.fetch_meta_files_from_url(url, out) == path
    assert hub.control.requests("download") == 1  # reused: no request at all

    assert alice.fetch_meta_files_from_url(url, out, mode="force_redownload") == path
    assert hub.control.requests("download") == 2
    assert alice.fetch_meta_files_from_url(url, out, mode=DownloadMode.FORCE_REDOWNLOAD) == path
    assert alice.fetch_meta_files_from_url(url, out, mode=DownloadMode.REUSE_DATASET_IF_EXISTS) == path
    assert hub.control.requests("download") == 3
    assert Path(path).read_bytes() == data


def test_a_hub_error_writes_nothing(hub: Any, tmp_path: Path):
    with make_client(hub, None) as anon:
        url = f"{hub.url}/api/v1/models/alice/nope/repo?Revision=master&FilePath=train.csv"
        with raises(NotExistError):
            anon.fetch_meta_files_from_url(url, tmp_path / "meta")
    assert names(tmp_path / "meta") == []


# -- what is saved -------------------------------------------------------------------------------
def test_jsonl_is_saved_byte_for_byte_not_converted(alice: HubClient, site: Site, tmp_path: Path):
    body = b'{"a": 1, "b": "x"}\r\n\n{"c": [1, 2]}\n{"b": "y", "a": 2}'  # CRLF, a blank line, no final newline
    site.routes["/sets/train.jsonl"] = Route(body=body)
    path = alice.fetch_meta_files_from_url(f"{site.url}/sets/train.jsonl?x=1", tmp_path, chunk_size=7)
    assert path.endswith(".jsonl") and Path(path).read_bytes() == body


def test_meta_file_name_is_the_sdk_md5_plus_a_sane_extension():
    url = "https://example.com/data/train.jsonl"
    assert meta_file_name(url) == hashlib.md5(url.encode()).hexdigest() + ".jsonl"
    assert meta_file_name("https://h/api/repo?FilePath=a/b.csv").endswith(".csv")
    assert len(meta_file_name("https://h/x.<script>")) == 32  # an odd "extension" is dropped
    assert len(meta_file_name("https://h/")) == 32


# -- refusals ------------------------------------------------------------------------------------
def test_bad_arguments_are_refused_before_any_request(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/f.csv"] = Route()
    url = f"{site.url}/f.csv"
    for bad in ("ftp://example.com/f.csv", "file:///etc/passwd", "example.com/f.csv", "http:///nohost", 42):
        with raises(InvalidParameter, match="http"):
            alice.fetch_meta_files_from_url(bad, tmp_path)  # type: ignore[arg-type]
    with raises(InvalidParameter, match="mode"):
        alice.fetch_meta_files_from_url(url, tmp_path, mode="reuse")
    for chunk in (0, -1, 1.5, True):
        with raises(InvalidParameter, match="chunk_size"):
            alice.fetch_meta_files_from_url(url, tmp_path, chunk_size=chunk)  # type: ignore[arg-type]
    (tmp_path / "a-file").write_text("x")
    with raises(InvalidParameter, match="not a folder"):
        alice.fetch_meta_files_from_url(url, tmp_path / "a-file")
    assert site.log == []


def test_non_2xx_writes_nothing(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/broken.csv"] = Route(status=500)
    with raises(NotExistError) as missing:
        alice.fetch_meta_files_from_url(f"{site.url}/missing.csv", tmp_path / "a")
    assert missing.value.status_code == 404
    with raises(ServerError) as broken:
        alice.fetch_meta_files_from_url(f"{site.url}/broken.csv", tmp_path / "b")
    assert broken.value.status_code == 500
    assert len(site.log) == 1 + alice.settings.retry_attempts  # 404 is final; 5xx is retried within the budget
    assert names(tmp_path / "a") == [] and names(tmp_path / "b") == []


def test_an_html_page_is_never_saved_as_data(alice: HubClient, site: Site, tmp_path: Path):
    page = b"<html><body>Please log in</body></html>"
    site.routes["/data.csv"] = Route(body=page, content_type="text/html; charset=utf-8")
    site.routes["/about.html"] = Route(body=page, content_type="text/html")
    with raises(RequestError, match="HTML"):
        alice.fetch_meta_files_from_url(f"{site.url}/data.csv", tmp_path)
    assert names(tmp_path) == []
    assert Path(alice.fetch_meta_files_from_url(f"{site.url}/about.html", tmp_path)).read_bytes() == page


# -- resume --------------------------------------------------------------------------------------
def test_a_dropped_body_resumes_with_range(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/big.bin"] = Route(drops=1)
    path = alice.fetch_meta_files_from_url(f"{site.url}/big.bin", tmp_path, chunk_size=4096)
    assert Path(path).read_bytes() == BODY
    first, second = site.log
    assert first["range"] is None
    kept = int(re.fullmatch(r"bytes=(\d+)-", second["range"])[1])
    assert 0 < kept <= len(BODY) // 2
    assert second["if_range"] == '"v1"'  # a changed file would come back whole, never spliced
    resent = site.sent - len(BODY)  # bytes the server had to send twice: only what was lost in flight
    assert resent == len(BODY) // 2 - kept and resent < 64 * 1024
    assert sidecar(path)["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert names(tmp_path) == sorted([Path(path).name, Path(path).name + ".meta.json"])


def test_a_server_without_range_support_restarts_cleanly(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/big.bin"] = Route(drops=1, ranges="no")
    path = alice.fetch_meta_files_from_url(f"{site.url}/big.bin", tmp_path)
    assert [entry["range"] is not None for entry in site.log] == [False, True]  # asked, got 200 with everything
    assert Path(path).read_bytes() == BODY  # the partial was replaced, not appended to


def test_416_drops_the_partial_and_restarts(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/big.bin"] = Route(drops=1, ranges="416")
    path = alice.fetch_meta_files_from_url(f"{site.url}/big.bin", tmp_path)
    assert [entry["range"] is not None for entry in site.log] == [False, True, False]
    assert Path(path).read_bytes() == BODY


# -- reuse only what a previous call completed -----------------------------------------------------
def test_a_truncated_or_partial_previous_file_is_never_reused(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/t.csv"] = Route()
    url = f"{site.url}/t.csv"
    target = tmp_path / meta_file_name(url)
    target.write_bytes(BODY[:1000])  # what the SDK leaves after an interrupted run (and would reuse forever)
    assert Path(alice.fetch_meta_files_from_url(url, tmp_path)).read_bytes() == BODY
    assert len(site.log) == 1

    with open(target, "r+b") as handle:  # completed once, truncated since: the sidecar no longer matches
        handle.truncate(5000)
    assert Path(alice.fetch_meta_files_from_url(url, tmp_path)).read_bytes() == BODY
    assert len(site.log) == 2

    (tmp_path / f".{target.name}.incomplete").write_bytes(b"junk from a crashed process")
    target.unlink()
    assert Path(alice.fetch_meta_files_from_url(url, tmp_path)).read_bytes() == BODY  # nothing appended
    assert site.log[-1]["range"] is None

    sidecar_path = Path(str(target) + ".meta.json")
    sidecar_path.write_text(json.dumps({**sidecar(str(target)), "url": f"{site.url}/other.csv"}))
    alice.fetch_meta_files_from_url(url, tmp_path)  # a sidecar written for another URL vouches for nothing
    assert len(site.log) == 4


def test_a_failed_force_redownload_keeps_the_completed_file(alice: HubClient, site: Site, tmp_path: Path):
    site.routes["/t.csv"] = Route()
    url = f"{site.url}/t.csv"
    path = alice.fetch_meta_files_from_url(url, tmp_path)
    site.routes["/t.csv"] = Route(status=500)
    with raises(ServerError):
        alice.fetch_meta_files_from_url(url, tmp_path, mode="force_redownload")
    requests_made = len(site.log)
    assert alice.fetch_meta_files_from_url(url, tmp_path) == path  # still complete, still reusable
    assert len(site.log) == requests_made and Path(path).read_bytes() == BODY


# -- the token -----------------------------------------------------------------------------------
def test_the_token_never_reaches_another_origin(hub: Any, alice: HubClient, site: Site, tmp_path: Path):
    token = hub.tokens["alice"]
    site.routes["/t.csv"] = Route()
    assert urlsplit(site.url).hostname == urlsplit(hub.url).hostname  # same host, another port
    alice.fetch_meta_files_from_url(f"{site.url}/t.csv", tmp_path)
    (entry,) = site.log
    sent = json.dumps(entry["headers"])
    assert "Authorization" not in entry["headers"] and "m_session_id" not in sent and token not in sent


def test_credentials_go_to_the_hub_origin_and_to_upload_urls_the_hub_named_on_its_site(hub: Any):
    settings = make_client(hub).settings
    local = HubClient(endpoint="http://127.0.0.1:8000", token="ms-x", settings=settings)
    assert local._auth_headers("http://127.0.0.1:8000/api")
    for other in ("http://127.0.0.1:8001/api", "https://127.0.0.1:8000/api", "http://localhost:8000/api"):
        assert local._auth_headers(other) == {}
    real = HubClient(endpoint="https://www.modelscope.cn", token="ms-x", settings=settings)
    for api in ("https://www.modelscope.cn/a", "https://WWW.modelscope.cn:443/c"):
        assert real._auth_headers(api), api
        assert real._auth_headers(api, "git") == {}  # no git token yet: nothing, rather than the SDK token
    # A sibling host gets the token only for an upload URL the hub's own batch answer named, never by name.
    upload = "https://lfs.modelscope.cn/api/v1/repos/models/alice/demo/blobs/" + "a" * 64
    assert real._auth_headers(upload) == {}
    real.grant_upload(upload)
    assert real._auth_headers(upload)["Authorization"] == "Bearer ms-x"
    assert real._auth_headers(upload, "git") == {}  # git's token goes to the API host only
    for named_elsewhere in (
        "http://lfs.modelscope.cn/b",  # no downgrade to cleartext
        "https://lfs.modelscope.cn:8443/b",
        "https://cdn-lfs-cn-1.modelscope.cn.evil.com/c",
        "https://bucket.oss-cn-hangzhou.aliyuncs.com/d",
        "https://evilmodelscope.cn/e",
    ):
        real.grant_upload(named_elsewhere)
        assert real._auth_headers(named_elsewhere) == {}, named_elsewhere
    for never in ("http://www.modelscope.cn/a", "https://www.modelscope.cn:8443/a", "https://cdn.modelscope.cn/f"):
        assert real._auth_headers(never) == {}, never


def test_errors_pickle_and_name_the_operation(alice: HubClient, site: Site, tmp_path: Path):
    with raises(NotExistError) as err:
        alice.fetch_meta_files_from_url(f"{site.url}/missing.csv", tmp_path)
    again = pickle.loads(pickle.dumps(err.value))
    assert type(again) is NotExistError and again.operation == "fetch_meta_files_from_url"
    assert str(again) == str(err.value)
