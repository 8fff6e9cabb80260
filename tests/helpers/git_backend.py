"""git's own smart-HTTP server (`git http-backend`, run as CGI) over bare repositories, with Basic auth.

The reference implementation our git client is checked against: what it accepts, git accepts. The
server asks for credentials the way the hub's git front end does (a 401 with a Basic challenge), and
lets a request through only with the password it was given (any user name, as the hub's `oauth2`).
"""

from __future__ import annotations

import base64
import hmac
import os
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT = shutil.which("git") or "git"
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(*args: str, cwd: Path | None = None, home: Path) -> str:
    """Run git with an isolated HOME and no system config; its stdout, stripped."""
    env = {**os.environ, **GIT_ENV, "HOME": str(home)}
    done = subprocess.run([GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


@dataclass
class GitServer:
    """A running `git http-backend`: its base URL, repository root, the password it wants, and counters."""

    url: str
    root: Path
    password: str = field(repr=False)
    home: Path
    requests: Counter[str] = field(default_factory=Counter)

    def bare_repo(self, model_id: str, files: dict[str, str]) -> str:
        """A bare `<root>/<model_id>.git` with one commit on master holding `files`; its commit id."""
        work = self.root.parent / "work" / model_id
        work.mkdir(parents=True)
        git("init", "-q", "-b", "master", str(work), home=self.home)
        for path, text in files.items():
            (work / path).write_text(text)
        git("add", "-A", cwd=work, home=self.home)
        git("commit", "-q", "-m", "first", cwd=work, home=self.home)
        bare = self.root / f"{model_id}.git"
        git("clone", "-q", "--bare", str(work), str(bare), home=self.home)
        git("config", "http.receivepack", "true", cwd=bare, home=self.home)
        return git("rev-parse", "HEAD", cwd=work, home=self.home)

    def refs(self, model_id: str) -> dict[str, str]:
        """Every ref of a served repository, read by git itself: refname -> commit id."""
        out = git(
            "for-each-ref", "--format=%(refname) %(objectname)", cwd=self.root / f"{model_id}.git", home=self.home
        )
        return dict(line.split(" ", 1) for line in out.splitlines())


def _handler(server: GitServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def _authorized(self) -> bool:
            scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
            try:
                _, _, password = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return False
            return scheme == "Basic" and hmac.compare_digest(password.encode(), server.password.encode())

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            server.requests[f"{self.command} {parts.path.rsplit('/', 1)[-1]}"] += 1
            if not self._authorized():
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                **os.environ,
                **GIT_ENV,
                "HOME": str(server.home),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "oauth2",
                "REMOTE_ADDR": "127.0.0.1",
            }
            done = subprocess.run([GIT, "http-backend"], input=body, env=env, capture_output=True, timeout=60)
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


@contextmanager
def git_http_backend(tmp: Path, password: str) -> Iterator[GitServer]:
    """Serve `tmp/srv` with `git http-backend` on a free loopback port for the `with` block."""
    (tmp / "srv").mkdir()
    (tmp / "home").mkdir()
    state = GitServer("", tmp / "srv", password, tmp / "home")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
