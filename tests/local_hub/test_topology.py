"""local_hub's realistic topology (`--tls --hosts hub.test`): TLS from the data dir's own CA, three host names
behind a forward proxy, blob uploads on `lfs.`, and downloads redirected to signed `cdn.` URLs.

Plain `requests` goes through the proxy with the hub's CA (tests/helpers/topology.py); the official SDK runs
unchanged with `HTTPS_PROXY`, `REQUESTS_CA_BUNDLE` and `MODELSCOPE_ENDPOINT=https://www.hub.test`. Two hubs
serve the module: one started with the default redirect mode (`lfs`), one with `--download-redirect all`.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local_hub import LocalHub
from tests.helpers.folders import tree_of
from tests.helpers.hub import ADMIN_TOKEN, ROOT, settled
from tests.helpers.hub_http import TIMEOUT, sha
from tests.helpers.polling import wait_for
from tests.helpers.sdk import run_sdk
from tests.helpers.topology import (
    CDN,
    LFS,
    WWW,
    TopologyHub,
    create_model,
    download,
    push,
    start_topology_hub,
    upload_href,
)

MIB = 1 << 20
AUTH_KEY = re.compile(r"(\d+)-([0-9a-f]{32})-0-([0-9a-f]{64})")


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyHub]:
    """The module's hub with `--tls --hosts hub.test` and the default redirect mode."""
    hub = start_topology_hub(tmp_path_factory.mktemp("topology"))
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def topo_all(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyHub]:
    """A second hub that redirects every download (`--download-redirect all`)."""
    hub = start_topology_hub(tmp_path_factory.mktemp("topology-all"), download_redirect="all")
    yield hub
    hub.stop()


@pytest.fixture
def hub(topo: TopologyHub) -> TopologyHub:
    """The topology hub with zeroed counters, an empty journal, no faults and its start-up configuration."""
    topo.control.reset()
    topo.control.configure(download_redirect="lfs", cdn_url_ttl_seconds=1800)
    return topo


def signed_url(hub: TopologyHub, model_id: str, path: str) -> str:
    """The `Location` of a download's 302 (asserted to be one)."""
    response = download(hub, model_id, path)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def put_href(hub: TopologyHub, model_id: str, content: bytes) -> str:
    """Where the LFS batch on `www.` says to PUT `content` (asserted to be asked for)."""
    href = upload_href(hub, model_id, content)
    assert href is not None
    return href


def direct_address(hub: TopologyHub) -> tuple[str, int]:
    """The (host, port) of the hub's own listener."""
    netloc = urlsplit(hub.listen_url)
    return netloc.hostname or "", netloc.port or 0


def oss_error(response: requests.Response) -> str:
    """The `<Message>` of a CDN refusal, after checking its OSS shape."""
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in response.text
    return re.search(r"<Message>(.*)</Message>", response.text)[1]


def test_the_start_up_line_names_the_proxy_the_ca_and_the_direct_address(hub):
    assert hub.url == f"https://{WWW}"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", hub.proxy)
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", hub.listen_url)
    assert hub.ca_bundle == hub.data_dir / "tls" / "ca.pem"
    assert hub.control.configure()["download_redirect"] == "lfs"  # the default under --hosts


def test_tls_verifies_with_the_hubs_ca_and_only_with_it(hub):
    assert hub.session().get(f"{hub.url}/_local_hub/health", timeout=TIMEOUT).json() == {"ok": True}
    # The direct address is in the certificate too (IP 127.0.0.1): the control plane needs no proxy.
    assert requests.get(f"{hub.listen_url}/_local_hub/health", verify=str(hub.ca_bundle), timeout=TIMEOUT).ok
    context = ssl.create_default_context(cafile=str(hub.ca_bundle))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # the default of Python 3.13's contexts
    for name in (WWW, LFS, CDN):  # one certificate for the three names, checked against each
        with (
            socket.create_connection(direct_address(hub), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    untrusted = requests.Session()
    untrusted.trust_env = False  # certifi's bundle, not the hub's CA
    with pytest.raises(requests.exceptions.SSLError):
        untrusted.get(f"{hub.listen_url}/_local_hub/health", timeout=TIMEOUT)


def test_the_ca_and_certificate_are_kept_in_the_data_dir_and_reused(tmp_path):
    with LocalHub(data_dir=tmp_path, tls=True, hosts="hub.test") as first:
        assert first.url == f"https://{WWW}" and first.ca_bundle == tmp_path / "tls" / "ca.pem"
        assert first.control is not None and first.control.stats()["proxy"] == {}
        files = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir() if not p.name.startswith(".")}
    assert set(files) == {"ca.pem", "ca.key", "server.pem", "server.key"}
    assert (tmp_path / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    with LocalHub(data_dir=tmp_path, tls=True, hosts="hub.test") as second:
        assert second.control is not None and second.control.configure()["download_redirect"] == "lfs"
        again = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir() if not p.name.startswith(".")}
    assert again == files
    with LocalHub(data_dir=tmp_path, tls=True, hosts="other.test") as renamed:
        assert renamed.url == "https://www.other.test"
    assert (tmp_path / "tls" / "ca.pem").read_bytes() == files["ca.pem"]  # same CA, a certificate for the new names
    assert (tmp_path / "tls" / "server.pem").read_bytes() != files["server.pem"]


def test_the_proxy_refuses_other_hosts_and_ports_with_403(hub):
    proxy = urlsplit(hub.proxy)
    for target in ("example.com:443", f"{WWW}:22", f"api.{WWW}:443"):
        with socket.create_connection((proxy.hostname, proxy.port), timeout=TIMEOUT) as raw:
            raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            assert raw.recv(4096).startswith(b"HTTP/1.1 403 Forbidden\r\n")
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        hub.session().get("https://example.com/", timeout=TIMEOUT)
    stats = hub.control.stats()
    assert stats["proxy_refused"] == {"example.com": 2, WWW: 1, f"api.{WWW}": 1}
    assert stats["proxy"] == {}


def test_lfs_takes_blob_puts_with_credentials_only(hub):
    create_model(hub, "alice/lfs-auth")
    content = os.urandom(4096)
    href = put_href(hub, "alice/lfs-auth", content)
    assert href == f"https://{LFS}/api/v1/repos/models/alice/lfs-auth/info/lfs/objects/{sha(content)}"
    anonymous = hub.session().put(href, data=content, timeout=TIMEOUT)
    assert anonymous.status_code == 400
    body = anonymous.json()
    assert re.fullmatch(r"[0-9a-f-]{36}", body.pop("RequestId"))
    assert body == {"Code": 10030000001, "Message": "user not logged in", "Success": False}
    unknown = hub.session().put(href, data=content, headers={"Authorization": "Bearer ms-nobody"}, timeout=TIMEOUT)
    assert unknown.status_code == 400 and unknown.json()["Code"] == 10030000001
    bob = hub.session("bob").put(href, data=content, timeout=TIMEOUT)
    assert bob.status_code == 403 and bob.json()["Message"] == "no write permission to repository"
    cookie = {"Cookie": f"m_session_id={hub.tokens['alice']}"}
    assert hub.session().put(href, data=content, headers=cookie, timeout=TIMEOUT).status_code == 200
    # lfs. serves blob PUTs only; www. still takes them (a client handed a www. href keeps working).
    other = hub.session("alice").get(f"https://{LFS}/api/v1/models/alice/lfs-auth", timeout=TIMEOUT)
    assert other.status_code == 404 and other.json()["Success"] is False
    assert hub.session("alice").put(href.replace(LFS, WWW), data=content, timeout=TIMEOUT).status_code == 200

    entries = [e for e in hub.control.journal() if e["route"] == "blob_put"]
    assert [(e["host"], e["headers"]) for e in entries] == [
        (LFS, ["user-agent"]),
        (LFS, ["authorization", "user-agent"]),
        (LFS, ["authorization", "user-agent"]),
        (LFS, ["cookie", "user-agent"]),
        (WWW, ["authorization", "user-agent"]),
    ]
    assert not [token for token in hub.tokens.values() if token in json.dumps(entries)]


def test_www_redirects_lfs_files_to_a_signed_cdn_url(hub):
    create_model(hub, "alice/redirect")
    weights, notes = os.urandom(MIB), b"small inline notes\n"
    push(hub, "alice/redirect", {"sub/model.bin": weights, "notes.txt": notes}, lfs_paths=("sub/model.bin",))

    redirect = download(hub, "alice/redirect", "sub/model.bin")
    assert redirect.status_code == 302
    assert redirect.content == b"" and redirect.headers["content-length"] == "0"  # nothing to take for the file
    location = urlsplit(redirect.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", CDN, f"/prod/lfs-objects/{sha(weights)}")
    query = parse_qs(location.query)
    assert set(query) == {"auth_key", "filename"} and query["filename"] == ["model.bin"]
    assert AUTH_KEY.fullmatch(query["auth_key"][0])

    followed = download(hub, "alice/redirect", "sub/model.bin", follow=True)
    assert followed.content == weights and [r.status_code for r in followed.history] == [302]
    inline = download(hub, "alice/redirect", "notes.txt")  # inline content is not an LFS object: served by www.
    assert inline.status_code == 200 and inline.content == notes

    stats = hub.control.stats()
    assert stats["requests"]["download"] == 3 and stats["requests"]["cdn_download"] == 1
    assert stats["proxy"][WWW] >= 1 and stats["proxy"][CDN] == 1  # the follow-up took a tunnel to cdn.


def test_the_cdn_serves_ranges_and_ignores_cookies(hub):
    create_model(hub, "alice/ranges")
    weights = os.urandom(MIB)
    push(hub, "alice/ranges", {"w.bin": weights}, lfs_paths=("w.bin",))
    url = signed_url(hub, "alice/ranges", "w.bin")
    cdn = hub.session()

    part = cdn.get(url, headers={"Range": "bytes=10-19"}, timeout=TIMEOUT)
    assert part.status_code == 206 and part.content == weights[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{MIB}"
    tail = cdn.get(url, headers={"Range": "bytes=-5"}, timeout=TIMEOUT)
    assert tail.status_code == 206 and tail.content == weights[-5:]
    past = cdn.get(url, headers={"Range": f"bytes={MIB}-"}, timeout=TIMEOUT)
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{MIB}"
    whole = cdn.get(url, timeout=TIMEOUT)
    assert whole.status_code == 200 and whole.content == weights
    # Object storage ignores query keys it does not read: strict mode does not apply to the CDN.
    assert cdn.get(f"{url}&response-content-type=x", timeout=TIMEOUT).status_code == 200
    assert whole.headers["content-disposition"] == "attachment; filename*=UTF-8''w.bin"

    session_cookie = {"Cookie": f"m_session_id={hub.tokens['alice']}"}
    assert cdn.get(url, headers=session_cookie, timeout=TIMEOUT).content == weights  # a cookie changes nothing
    unsigned = cdn.get(url.split("?")[0], headers=session_cookie, timeout=TIMEOUT)  # nor does it stand in for one
    assert oss_error(unsigned) == "The request signature we calculated does not match the signature you provided."

    cdn_entries = [e for e in hub.control.journal() if e["route"] == "cdn_download"]
    assert {e["host"] for e in cdn_entries} == {CDN}
    assert cdn_entries[0]["query"] == ["auth_key", "filename"] and cdn_entries[0]["headers"] == ["user-agent"]
    assert cdn_entries[-1]["query"] == [] and cdn_entries[-1]["headers"] == ["cookie", "user-agent"]


def test_the_cdn_refuses_tampered_expired_and_authorized_requests(hub):
    create_model(hub, "alice/refusals")
    weights, other = os.urandom(4096), os.urandom(4096)
    push(hub, "alice/refusals", {"a.bin": weights, "b.bin": other}, lfs_paths=("a.bin", "b.bin"))
    url = signed_url(hub, "alice/refusals", "a.bin")
    cdn = hub.session()
    expires = AUTH_KEY.search(url)[1]

    later = url.replace(f"auth_key={expires}-", f"auth_key={int(expires) + 3600}-")
    assert oss_error(cdn.get(later, timeout=TIMEOUT)).startswith("The request signature we calculated")
    elsewhere = url.replace(sha(weights), sha(other))  # another blob under this blob's signature
    assert oss_error(cdn.get(elsewhere, timeout=TIMEOUT)).startswith("The request signature we calculated")
    bearer = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    assert oss_error(cdn.get(url, headers=bearer, timeout=TIMEOUT)) == (
        "The header and the URL request parameter cannot include a signature in a request at the same time."
    )
    assert cdn.get(url, timeout=TIMEOUT).content == weights  # the genuine URL still works

    hub.control.configure(cdn_url_ttl_seconds=0)  # URLs minted from now on have already expired
    expired = signed_url(hub, "alice/refusals", "a.bin")
    assert oss_error(cdn.get(expired, timeout=TIMEOUT)) == "Request has expired."

    assert hub.control.stats()["cdn_refused"] == {"bad_signature": 2, "authorization": 1, "expired": 1}


def test_each_host_serves_only_its_own_routes(hub):
    create_model(hub, "alice/hosts")
    weights = os.urandom(4096)
    push(hub, "alice/hosts", {"w.bin": weights}, lfs_paths=("w.bin",))
    url = signed_url(hub, "alice/hosts", "w.bin")
    on_www = hub.session().get(url.replace(CDN, WWW), timeout=TIMEOUT)
    assert on_www.status_code == 404 and on_www.json()["Success"] is False
    on_cdn = hub.session("alice").get(f"https://{CDN}/api/v1/models/alice/hosts", timeout=TIMEOUT)
    assert on_cdn.status_code == 404 and "<Code>NoSuchKey</Code>" in on_cdn.text
    assert on_cdn.headers["content-type"] == "application/xml"
    # The listener's own address serves the API as plain loopback does, and never redirects.
    direct = requests.get(
        f"{hub.listen_url}/api/v1/models/alice/hosts/repo",
        params={"FilePath": "w.bin"},
        verify=str(hub.ca_bundle),
        timeout=TIMEOUT,
    )
    assert direct.status_code == 200 and direct.content == weights and not direct.history
    assert hub.control.journal()[-1]["host"] == "127.0.0.1"


def test_off_serves_downloads_from_www_and_modes_change_live(hub):
    create_model(hub, "alice/modes")
    weights, notes = os.urandom(4096), b"notes\n"
    push(hub, "alice/modes", {"w.bin": weights, "notes.txt": notes}, lfs_paths=("w.bin",))
    assert hub.control.configure(download_redirect="off")["download_redirect"] == "off"
    direct = download(hub, "alice/modes", "w.bin")
    assert direct.status_code == 200 and direct.content == weights
    assert hub.control.configure(download_redirect="all")["download_redirect"] == "all"
    assert download(hub, "alice/modes", "notes.txt").status_code == 302
    stats = hub.control.stats()
    assert "cdn_download" not in stats["requests"] and CDN not in stats["proxy"]
    bad = requests.put(
        f"{hub.listen_url}/_local_hub/config",
        json={"download_redirect": "sometimes"},
        headers={"X-Local-Hub-Admin": ADMIN_TOKEN},
        verify=str(hub.ca_bundle),
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400 and "download_redirect must be one of off, lfs, all" in bad.json()["Message"]


def test_faults_apply_to_the_cdn_and_lfs_routes(hub):
    create_model(hub, "alice/faulty")
    weights = os.urandom(4096)
    push(hub, "alice/faulty", {"w.bin": weights}, lfs_paths=("w.bin",))
    url = signed_url(hub, "alice/faulty", "w.bin")
    hub.control.set_faults([{"effect": "status", "status": 503, "route": "cdn_download", "times": 1}], seed=1)
    assert hub.session().get(url, timeout=TIMEOUT).status_code == 503
    assert hub.session().get(url, timeout=TIMEOUT).content == weights
    hub.control.set_faults([{"effect": "status", "status": 500, "route": "blob_put", "times": 1}], seed=1)
    create_model(hub, "alice/faulty-put")
    content = os.urandom(2048)
    href = put_href(hub, "alice/faulty-put", content)
    assert hub.session("alice").put(href, data=content, timeout=TIMEOUT).status_code == 500


def test_plain_loopback_is_unchanged(tmp_path):
    with LocalHub(data_dir=tmp_path) as plain:
        assert plain.url == plain.listen_url and plain.proxy is None and plain.ca_bundle is None
        assert plain.control is not None
        assert "proxy" not in plain.control.stats() and "download_redirect" not in plain.control.configure()
        assert requests.post(f"{plain.url}/api/v1/login", json={"AccessToken": "x"}, timeout=TIMEOUT).status_code
        assert "host" not in plain.control.journal()[0]
        assert requests.get(f"{plain.url}/prod/lfs-objects/{'0' * 64}", timeout=TIMEOUT).status_code == 404
    assert not (tmp_path / "tls").exists()


def test_download_redirect_without_hosts_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "local_hub", "serve", "--download-redirect", "all"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "needs --hosts" in result.stderr and result.stdout == ""


def test_hosts_without_tls_go_through_the_proxy_as_plain_http(tmp_path):
    hub = start_topology_hub(tmp_path, tls=False)
    try:
        assert hub.url == f"http://{WWW}" and hub.ca_bundle is None and hub.listen_url.startswith("http://127.0.0.1:")
        create_model(hub, "alice/plain")
        weights = os.urandom(MIB)
        push(hub, "alice/plain", {"w.bin": weights}, lfs_paths=("w.bin",))
        followed = download(hub, "alice/plain", "w.bin", follow=True)
        assert followed.content == weights
        assert urlsplit(followed.history[0].headers["location"]).netloc == CDN
        # One request per proxy connection, each counted under the host it named.
        assert hub.control.stats()["proxy"] == {WWW: 4, LFS: 1, CDN: 1}
        hosts = [e["host"] for e in hub.control.journal()]
        assert hosts == [WWW, WWW, LFS, WWW, WWW, CDN]
    finally:
        hub.stop()


SDK_ROUND_TRIP = """
import hashlib, json, os, sys
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download

model, folder, cache = sys.argv[1:4]
api = HubApi()
api.create_model(model)
api.upload_folder(repo_id=model, folder_path=folder, commit_message="first")
api.create_model_tag(model, "v1.0")
branches, tags = api.get_model_branches_and_tags(model)
files = api.get_model_files(model, revision="v1.0")
path = snapshot_download(model, revision="v1.0", cache_dir=cache)
print(json.dumps({"branches": branches, "tags": tags, "files": sorted(f["Path"] for f in files), "path": path}))
"""


@pytest.mark.compat
@pytest.mark.parametrize("mode", ["lfs", "all"])
def test_the_official_sdk_works_unchanged_through_the_topology(mode, topo, topo_all, tmp_path):
    hub = topo if mode == "lfs" else topo_all
    assert mode == "lfs" or hub.control.configure()["download_redirect"] == "all"  # as --download-redirect said
    hub.control.reset()
    hub.control.configure(download_redirect=mode, cdn_url_ttl_seconds=1800)
    model = f"alice/sdk-{mode}"
    folder = tmp_path / "folder"
    files = {"README.md": b"# topology\n", "config.json": b"{}\n", "weights/model.safetensors": os.urandom(3 * MIB)}
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)

    script = f"import sys; sys.argv = ['sdk', {model!r}, {str(folder)!r}, {str(tmp_path / 'dl')!r}]\n"
    result = run_sdk(script + textwrap.dedent(SDK_ROUND_TRIP), hub.sdk_env(tmp_path, hub.tokens["alice"]))

    assert result["branches"] == ["master"] and result["tags"] == ["v1.0"]
    assert {"README.md", "config.json", "weights/model.safetensors"} <= set(result["files"])
    snapshot = Path(result["path"])
    match, mismatch, errors = filecmp.cmpfiles(folder, snapshot, list(files), shallow=False)
    assert sorted(match) == sorted(files) and not mismatch and not errors
    assert set(tree_of(snapshot)) - set(files) == {".gitattributes"}  # the hub's own file, nothing else

    wait_for(lambda: settled(hub), "every request answered")
    stats = hub.control.stats()
    assert stats["statuses"]["blob_put 200"] == 1 and stats["statuses"]["create_tag 200"] == 1
    redirected = len(tree_of(snapshot)) if mode == "all" else 1  # only the safetensors file is an LFS object
    assert stats["statuses"]["download 302"] == redirected and stats["statuses"]["cdn_download 200"] == redirected
    assert stats["statuses"].get("download 200", 0) == len(tree_of(snapshot)) - redirected
    assert {WWW, LFS, CDN} <= set(stats["proxy"]) and stats["cdn_refused"] == {}

    journal = hub.control.journal()
    puts = [e for e in journal if e["route"] == "blob_put"]
    # The SDK sends its Bearer token and a session cookie to whatever href the batch names (protocol.md §22.2).
    assert [(e["host"], e["headers"]) for e in puts] == [(LFS, ["authorization", "cookie", "user-agent"])]
    # The redirect hop carries no credentials: requests drops Authorization across hosts, and the SDK's
    # session cookie is scoped to www. (protocol.md §22.2).
    for entry in (e for e in journal if e["route"] == "cdn_download"):
        assert entry["host"] == CDN and not {"authorization", "cookie"} & set(entry["headers"])
    assert not [token for token in hub.tokens.values() if token in json.dumps(journal)]
