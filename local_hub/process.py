"""Start `python -m local_hub serve` as a child process and learn its URL; stop it again.

The test suite and the benchmarks run local_hub in a process of its own, so that it is measured and
exercised exactly as a user runs it (its own interpreter, its own event loop, its own CPU time). This
module is the one place that builds that command line and reads the line the server prints first:
one JSON object with the base URL, printed once the socket is bound (`--port 0` picks a free port, so
nothing is known before that line arrives).

Example:
    ```python
    from pathlib import Path
    from local_hub.process import LocalHubProcess

    with LocalHubProcess.start(Path("/tmp/hub-data"), users={"alice": "ms-alice-token"}) as hub:
        print(hub.url)
    ```
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# `python -m local_hub` must find this very package, installed or not: the child runs from the folder
# that holds it.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LocalHubProcess:
    """A running `python -m local_hub serve` child process.

    Attributes:
        process: The child process. Its stdout is a pipe that carried the start-up line; nothing
            else is written to it.
        url: The hub's base URL, e.g. `http://127.0.0.1:41234`; `https://www.hub.test` under
            `tls=True, hosts="hub.test"` (reached through `proxy`).
        data_dir: The hub's state directory.
        log_file: Where the hub writes its access log (None: the child's stderr, inherited).
        proxy: The hub's forward proxy (`http://127.0.0.1:PORT`) under `hosts`, else None.
        ca_bundle: The CA certificate that verifies the hub under `tls`, else None.
        listen_url: The listener's own address, for the control plane; the same as `url` on plain loopback.
    """

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    log_file: Path | None = None
    proxy: str | None = None
    ca_bundle: Path | None = None
    listen_url: str = ""

    def __post_init__(self) -> None:
        self.listen_url = self.listen_url or self.url

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        users: Mapping[str, str],
        groups: Mapping[str, Sequence[str]] | None = None,
        admin_token: str | None = None,
        log_file: Path | None = None,
        fsync: bool = False,
        extra_args: Sequence[str] = (),
        tls: bool = False,
        hosts: str | None = None,
        download_redirect: str | None = None,
    ) -> LocalHubProcess:
        """Start local_hub on a free loopback port and wait until it listens.

        Args:
            data_dir: The state directory (`--data`); created by the hub when missing, reused with
                what it holds when present.
            users: User name -> SDK token (`--user NAME:TOKEN`, one per user).
            groups: Group name -> member user names (`--group NAME:MEMBER,MEMBER`).
            admin_token: Enables the `/_local_hub/` control plane for this token; None leaves it off.
            log_file: Where the access log goes (`--log-file`); None leaves it on the child's stderr.
            fsync: Whether blobs are fsynced. Off by default: tests and benchmarks throw the data away,
                and fsync would dominate their timings; the benchmark of the server's own write path
                turns it on.
            extra_args: More `serve` options, e.g. `["--no-revision-commit-ids"]` or `["--cdn-url-ttl", "60"]`.
            tls: Serve HTTPS (`--tls`); the CA to trust is then `ca_bundle`.
            hosts: The domain of the hub's three host names (`--hosts`), reached through `proxy`.
            download_redirect: Which downloads from `www.` go to the CDN (`--download-redirect`: `off`,
                `lfs`, `all`); None leaves the hub's default (`lfs` with `hosts`, else `off`).

        Returns:
            The running hub; call `stop()` (or use it as a context manager) to end it.

        Raises:
            RuntimeError: The process exited, or printed something else, before its start-up line.
        """
        args = [sys.executable, "-m", "local_hub", "serve", "--port", "0", "--data", str(data_dir)]
        for user, token in users.items():
            args += ["--user", f"{user}:{token}"]
        for group, members in (groups or {}).items():
            args += ["--group", f"{group}:{','.join(members)}"]
        if admin_token is not None:
            args += ["--admin-token", admin_token]
        if log_file is not None:
            args += ["--log-file", str(log_file)]
        if not fsync:
            args.append("--no-fsync")
        if tls:
            args.append("--tls")
        if hosts is not None:
            args += ["--hosts", hosts]
        if download_redirect is not None:
            args += ["--download-redirect", download_redirect]
        args += list(extra_args)
        process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=_SOURCE_ROOT)
        assert process.stdout is not None
        # The server prints this line after binding its socket, so once it is read requests can be sent;
        # an empty read means the process died first (a bad option, a data directory it cannot use).
        line = process.stdout.readline()
        try:
            fields = json.loads(line)
            url = fields["url"]
        except (ValueError, KeyError, TypeError):
            hub = cls(process, "", data_dir, log_file)
            hub.stop()
            where = f"see {log_file}" if log_file is not None else "see its stderr"
            raise RuntimeError(f"local_hub did not start ({' '.join(args[1:])}); {where}") from None
        ca_bundle = fields.get("ca_bundle")
        return cls(
            process,
            url,
            data_dir,
            log_file,
            proxy=fields.get("proxy"),
            ca_bundle=Path(ca_bundle) if ca_bundle else None,
            listen_url=fields.get("listen_url") or url,
        )

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def stop(self) -> None:
        """Stop the hub: SIGTERM, up to 10 s for a clean exit, then SIGKILL. Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # A server stuck in a long request would outlive the caller: it must not.
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> LocalHubProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
