"""HubClient through the hub's real network shape: TLS with the user's CA, the proxy from the environment,
uploads on `lfs.`, downloads redirected to signed `cdn.` URLs; credentials only where they belong.

What each host received is read from local_hub's journal (route, host, and the names of the credential
headers a request carried, never their values) and its proxy counters (which host names went through it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import DownloadError, HubClient, HubConnectionError, HubSettings, TLSVerificationError
from tests.helpers.clients import FAST
from tests.helpers.folders import blob, make_folder, manifest, remote, tree_of
from tests.helpers.topology import CDN, LFS, WWW, TopologyHub

CREDENTIALS = {"authorization", "cookie"}
MIB = 1 << 20


def client(hub: TopologyHub, **settings: Any) -> HubClient:
    """Alice's client, configured by the environment (`network`) plus `settings`, with fast retries."""
    return HubClient(token=hub.tokens["alice"], settings=HubSettings(**{"endpoint": hub.url, **FAST, **settings}))


def sent(hub: TopologyHub) -> dict[tuple[str, str], set[frozenset[str]]]:
    """(route, host) -> the sets of credential headers its requests carried, from the journal."""
    found: dict[tuple[str, str], set[frozenset[str]]] = {}
    for entry in hub.control.journal():
        found.setdefault((entry["route"], entry["host"]), set()).add(frozenset(set(entry["headers"]) & CREDENTIALS))
    return found


def folder_with_blobs(root: Path) -> Path:
    """A model folder: small inline files and two LFS files (fresh bytes: the blob store outlives resets)."""
    files = {"README.md": "# topology\n", "sub/notes.txt": "notes\n"}
    files.update({"a.safetensors": blob(MIB), "b.bin": blob(300_000)})
    return make_folder(root, files)


def test_a_publish_creates_the_repo_uploads_to_lfs_branches_over_git_and_tags(network: TopologyHub, tmp_path):
    folder = folder_with_blobs(tmp_path / "model")
    with client(network) as alice:
        result = alice.push_model("alice/topo", folder, revision="dev", tag="v1", hash_cache=None)
        assert result.created_repo and result.created_branch and result.verified
        assert remote(alice, "alice/topo", "v1") == manifest(folder)
        assert alice.resolve_ref("alice/topo", "v1") == alice.resolve_ref("alice/topo", "dev") == result.commit_id
    credentials = sent(network)
    # The blobs went to lfs. (the batch's hrefs) with the token; the API and git stayed on www.
    assert credentials[("blob_put", LFS)] == {frozenset(CREDENTIALS)}
    assert not any(host == WWW for route, host in credentials if route == "blob_put")
    assert credentials[("git_receive_pack", WWW)] == {frozenset({"authorization"})}  # git's own token, Basic
    assert credentials[("commit", WWW)] == {frozenset(CREDENTIALS)}
    assert {host for _, host in credentials} == {WWW, LFS}
    assert set(network.control.stats()["proxy"]) == {WWW, LFS}


def test_a_download_is_byte_identical_and_the_cdn_never_gets_a_credential(network: TopologyHub, tmp_path):
    folder = folder_with_blobs(tmp_path / "model")
    with client(network) as alice:
        alice.push_model("alice/fetch", folder, hash_cache=None)
        network.control.reset(state=False)
        alice.download_model("alice/fetch", tmp_path / "out")
    hub_files = {".gitattributes"}
    assert {p: d for p, d in tree_of(tmp_path / "out").items() if p not in hub_files} == tree_of(folder)
    credentials = sent(network)
    mode = network.control.configure()["download_redirect"]
    cdn_requests = network.control.stats()["requests"].get("cdn_download", 0)
    # Which files went to the CDN: none, the two LFS files, or all six (configuration.json, the hub's own
    # .gitattributes, the two small files and the two LFS files).
    assert cdn_requests == {"off": 0, "lfs": 2, "all": 6}[mode]
    if cdn_requests:
        assert credentials[("cdn_download", CDN)] == {frozenset()}
    assert credentials[("download", WWW)] == {frozenset(CREDENTIALS)}
    assert network.control.stats()["cdn_refused"] == {}


def test_fetch_meta_files_from_url_follows_the_redirect_without_credentials(network: TopologyHub, tmp_path):
    folder = make_folder(tmp_path / "model", {"meta.csv": "a,b\n1,2\n", "big.jsonl": blob(200_000)})
    with client(network) as alice:
        alice.push_model("alice/meta", folder, hash_cache=None)
        network.control.reset(state=False)
        url = f"{network.url}/api/v1/models/alice/meta/repo?Revision=master&FilePath=big.jsonl"
        saved = alice.fetch_meta_files_from_url(url, tmp_path / "meta")
    assert Path(saved).read_bytes() == (folder / "big.jsonl").read_bytes()
    credentials = sent(network)
    assert credentials[("download", WWW)] == {frozenset(CREDENTIALS)}
    assert credentials.get(("cdn_download", CDN), {frozenset()}) == {frozenset()}


@pytest.mark.parametrize("hub", ["all"], indirect=True)
def test_a_signed_url_that_expired_mid_download_is_asked_for_again_at_www(network: TopologyHub, tmp_path):
    """The first transfer from the CDN stalls half-way past its URL's lifetime and breaks; the client asks
    www. for a new redirect and resumes with Range; it never sends the dead URL again (the CDN would
    refuse it: `cdn_refused` stays empty)."""
    content = blob(2 * MIB)
    folder = make_folder(tmp_path / "model", {"weights.bin": content})
    with client(network) as alice:
        alice.push_model("alice/expiry", folder, hash_cache=None)
        network.control.reset(state=False)
        network.control.configure(cdn_url_ttl_seconds=1)
        stall_then_break = {"route": "cdn_download", "effect": "drop_mid_body", "seconds": 2, "times": 1}
        network.control.set_faults([stall_then_break])
        alice.download_model("alice/expiry", tmp_path / "out", allow_patterns=["weights.bin"])
    assert (tmp_path / "out" / "weights.bin").read_bytes() == content
    stats = network.control.stats()
    assert stats["requests"]["download"] == 2 and stats["requests"]["cdn_download"] == 2
    assert stats["cdn_refused"] == {}
    assert [rule["fired"] for rule in network.control.faults()] == [1]


@pytest.mark.parametrize("hub", ["lfs"], indirect=True)
def test_without_the_ca_the_error_names_the_host_and_the_variables_and_is_not_retried(network, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # the public CAs only, as on a machine behind a TLS-inspecting proxy
    with client(network) as alice, pytest.raises(TLSVerificationError) as err:
        alice.login()
    text = str(err.value)
    assert "TLS verification of www.hub.test failed" in text and "certifi" in text
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "ca_bundle"):
        assert variable in text, variable
    assert not err.value.retryable
    assert network.control.stats()["proxy"] == {WWW: 1}  # one tunnel: no retry


@pytest.mark.parametrize("hub", ["lfs"], indirect=True)
@pytest.mark.parametrize("how", ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "MODELSCOPE_CA_BUNDLE", "pem-text-setting"])
def test_every_way_users_name_a_ca_is_honoured(network: TopologyHub, monkeypatch, how: str):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    settings: dict[str, Any] = {}
    if how == "pem-text-setting":  # the block's field holds the PEM text itself
        settings["ca_bundle"] = network.ca_bundle.read_text()
    else:
        monkeypatch.setenv(how, str(network.ca_bundle))
    with client(network, **settings) as alice:
        assert alice.login().username == "alice"


@pytest.mark.parametrize("hub", ["all"], indirect=True)
def test_no_proxy_is_decided_for_every_hop_of_a_redirect(network: TopologyHub, monkeypatch, tmp_path):
    """NO_PROXY names the CDN: its hop goes direct (and cdn.hub.test resolves nowhere here, so the download
    fails), while www. still goes through the proxy. requests itself would keep the first hop's proxy."""
    folder = make_folder(tmp_path / "model", {"weights.bin": blob(100_000)})
    with client(network) as alice:
        alice.push_model("alice/no-proxy", folder, hash_cache=None)
    monkeypatch.setenv("NO_PROXY", f"localhost,127.0.0.1,{CDN}")
    network.control.reset(state=False)
    with client(network, retry_attempts=1) as alice, pytest.raises((DownloadError, HubConnectionError)):
        alice.download_model("alice/no-proxy", tmp_path / "out", allow_patterns=["weights.bin"])
    stats = network.control.stats()
    assert WWW in stats["proxy"] and CDN not in stats["proxy"]
    assert stats["requests"].get("cdn_download", 0) == 0


@pytest.mark.parametrize("hub", ["lfs"], indirect=True)
def test_a_proxy_from_the_settings_with_a_password_works_and_the_password_is_never_shown(
    network: TopologyHub, monkeypatch, tmp_path, caplog
):
    monkeypatch.delenv("HTTPS_PROXY")
    password = "proxy-pw-SECRET-7342"
    proxy = network.proxy.replace("http://", f"http://me:{password}@")
    folder = make_folder(tmp_path / "model", {"weights.bin": blob(100_000)})
    with caplog.at_level("DEBUG"), client(network, proxy=proxy) as alice:
        alice.push_model("alice/proxied", folder, hash_cache=None)
        assert password not in repr(alice) and password not in repr(alice.settings)
    assert set(network.control.stats()["proxy"]) == {WWW, LFS}
    # A proxy that is not there: the error names the failure, never the URL with its password.
    dead = f"http://me:{password}@127.0.0.1:9"
    with client(network, proxy=dead, retry_attempts=1) as alice, pytest.raises(HubConnectionError) as err:
        alice.login()
    assert password not in str(err.value) and password not in repr(err.value)
    assert password not in caplog.text
    assert os.environ.get("HTTPS_PROXY") is None


def test_a_dataset_publishes_to_lfs_and_downloads_from_the_cdn_without_credentials(network: TopologyHub, tmp_path):
    """The dataset routes in the same network: blobs to lfs. with the token, a branch over the dataset's git
    endpoint on www., downloads of LFS-stored files (a small .jsonl among them) from the CDN with none."""
    folder = make_folder(
        tmp_path / "data", {"README.md": "# rows\n", "train.jsonl": blob(200), "x.csv": "a\n"}, config=None
    )
    with client(network) as alice:
        result = alice.push_dataset("alice/topo-data", folder, revision="dev", tag="v1", hash_cache=None)
        assert result.created_repo and result.created_branch and result.verified
        published = sent(network)
        assert published[("blob_put", LFS)] == {frozenset(CREDENTIALS)}  # train.jsonl: a dataset's LFS file
        assert published[("dataset_git_receive_pack", WWW)] == {frozenset({"authorization"})}
        network.control.reset(state=False)
        alice.download_dataset("alice/topo-data", tmp_path / "out", revision="v1")
    assert {p: d for p, d in tree_of(tmp_path / "out").items() if p != ".gitattributes"} == tree_of(folder)
    credentials = sent(network)
    mode = network.control.configure()["download_redirect"]
    cdn_requests = network.control.stats()["requests"].get("cdn_download", 0)
    assert cdn_requests == {"off": 0, "lfs": 1, "all": len(tree_of(tmp_path / "out"))}[mode]
    if cdn_requests:
        assert credentials[("cdn_download", CDN)] == {frozenset()}
    assert credentials[("dataset_download", WWW)] == {frozenset(CREDENTIALS)}
