"""Command line: `python -m local_hub serve [--host] [--port] [--data] [--user NAME:TOKEN] ...`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from local_hub.cdn import DEFAULT_CDN_URL_TTL, DOWNLOAD_REDIRECT_MODES, url_ttl
from local_hub.hosts import hosts_domain
from local_hub.hub_files import HUB_FILES_MODES
from local_hub.server import Topology, bind, make_server
from local_hub.state import HubOptions, HubState


def _pair(value: str, what: str) -> tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name or not rest:
        raise argparse.ArgumentTypeError(f"{what} must look like NAME:{what.split()[-1].upper()}, got {value!r}")
    return name, rest


def url_ttl_arg(value: str) -> float:
    """`--cdn-url-ttl`'s seconds (argparse reports the ValueError as a usage error)."""
    return url_ttl(float(value))


def parser() -> argparse.ArgumentParser:
    """The `local_hub` argument parser."""
    root = argparse.ArgumentParser(prog="python -m local_hub", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the hub until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    serve.add_argument("--data", type=Path, help="state directory (default: a temporary one, removed at exit)")
    serve.add_argument(
        "--user", action="append", default=[], metavar="NAME:TOKEN", type=lambda v: _pair(v, "--user token")
    )
    serve.add_argument(
        "--group", action="append", default=[], metavar="NAME:MEMBER,MEMBER", type=lambda v: _pair(v, "--group members")
    )
    serve.add_argument("--faults", type=Path, help='JSON file {"seed": n, "rules": [...]}')
    serve.add_argument(
        "--admin-token",
        default=os.environ.get("LOCAL_HUB_ADMIN_TOKEN"),
        help="enables the /_local_hub/ control plane for requests carrying this token",
    )
    serve.add_argument("--seed", type=int, help="seed for ids and fault decisions")
    serve.add_argument("--tree-limit", type=int, default=3000, help="repo/files truncates here, like the hub")
    serve.add_argument("--max-list-offset", type=int, default=10_000, help="model listings end at this offset")
    serve.add_argument(
        "--no-revision-commit-ids",
        action="store_true",
        help="list refs without CommitId in /revisions (clients then resolve each ref)",
    )
    serve.add_argument(
        "--clock-offset", type=float, default=0.0, help="seconds the hub's clock runs ahead (or behind, < 0)"
    )
    serve.add_argument(
        "--gitattributes",
        choices=HUB_FILES_MODES,
        default="on-create",
        help="when the hub injects its .gitattributes: in a first commit at creation (default), "
        "with the first content commit, or never",
    )
    serve.add_argument(
        "--network-latency", type=float, default=0.0, metavar="SECONDS", help="added to every request (the round trip)"
    )
    serve.add_argument(
        "--network-bandwidth",
        type=float,
        default=None,
        metavar="BYTES_PER_SECOND",
        help="the link's capacity in each direction, shared by all requests (default: unlimited)",
    )
    serve.add_argument(
        "--lenient",
        action="store_true",
        help="accept queries and JSON bodies no official client sends (by default they get a 400 naming the field)",
    )
    topology = serve.add_argument_group("realistic topology", "the real hub's network: TLS, host names, a proxy, a CDN")
    topology.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate from <data>/tls/ca.pem")
    topology.add_argument(
        "--hosts",
        metavar="DOMAIN",
        type=hosts_domain,
        help="answer as www.DOMAIN (API, git), lfs.DOMAIN (blob uploads) and cdn.DOMAIN (signed downloads), "
        "reached through a forward proxy the hub starts (printed as 'proxy')",
    )
    topology.add_argument(
        "--download-redirect",
        choices=DOWNLOAD_REDIRECT_MODES,
        default=None,
        help="which downloads from www. answer 302 to a signed cdn. URL: none, LFS files (default with --hosts) "
        "or all files",
    )
    topology.add_argument(
        "--cdn-url-ttl",
        type=url_ttl_arg,
        default=DEFAULT_CDN_URL_TTL,
        metavar="SECONDS",
        help="how long a signed CDN URL is valid",
    )
    serve.add_argument("--no-fsync", action="store_true", help="do not fsync blobs (faster, less durable)")
    serve.add_argument("--log-file", type=Path, help="write the access log here instead of stderr")
    return root


def hub_options(args: argparse.Namespace, data_dir: Path) -> HubOptions:
    """The `HubOptions` a parsed `serve` command line asks for.

    Example:
        >>> hub_options(parser().parse_args(["serve", "--lenient"]), Path("/tmp/hub")).strict
        False
    """
    return HubOptions(
        data_dir=data_dir,
        users=dict(args.user),
        groups={name: [m for m in members.split(",") if m] for name, members in args.group},
        admin_token=args.admin_token,
        seed=args.seed,
        tree_limit=args.tree_limit,
        max_list_offset=args.max_list_offset,
        fsync=not args.no_fsync,
        revision_commit_ids=not args.no_revision_commit_ids,
        clock_offset_seconds=args.clock_offset,
        gitattributes=args.gitattributes,
        network_latency_seconds=args.network_latency,
        network_bytes_per_second=args.network_bandwidth,
        strict=not args.lenient,
        tls=args.tls,
        hosts=args.hosts,
        download_redirect=args.download_redirect,
        cdn_url_ttl_seconds=args.cdn_url_ttl,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; prints one JSON line with the base URL, then serves.

    The line holds `url`, `data_dir`, `pid` and `control_plane`; under `--tls`/`--hosts` also `proxy`
    (the forward proxy's URL, or null), `ca_bundle` (the CA to trust, or null) and `listen_url` (the
    listener's own address, for the control plane), and `url` is then `https://www.DOMAIN`.
    """
    cli = parser()
    args = cli.parse_args(argv)
    if args.download_redirect not in (None, "off") and not args.hosts:
        cli.error("--download-redirect redirects downloads from www.DOMAIN to cdn.DOMAIN: it needs --hosts")
    handler = logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(asctime)s %(name)s %(message)s")
    temp = args.data is None
    data_dir = Path(tempfile.mkdtemp(prefix="local-hub-")) if temp else args.data
    topology: Topology | None = None
    try:
        state = HubState(hub_options(args, data_dir))
        if args.faults:
            table = json.loads(args.faults.read_text())
            state.faults.configure(table.get("rules", []), seed=table.get("seed", args.seed))
        sock = bind(args.host, args.port)
        topology = Topology.around(state, sock)
        server = make_server(state, topology)
        topology.start()
        line = {"url": topology.url, "data_dir": str(data_dir), "pid": os.getpid()}
        line |= {"control_plane": args.admin_token is not None, **topology.startup_fields()}
        print(json.dumps(line), flush=True)
        server.run(sockets=[sock])
    finally:
        if topology is not None:
            topology.stop()
        if temp:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
