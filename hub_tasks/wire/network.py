"""How the client reaches a host: the CA bundle it verifies TLS with, and the proxy (if any) per URL.

The session sets `requests`' `trust_env` off (it would re-read the environment and `~/.netrc` on every
request, and a `.netrc` entry could attach credentials we did not choose), so the variables requests and
Prefect read are read here instead, once, when the client is made:

- CA bundle: `HubSettings.ca_bundle` (a PEM file's path, or the PEM text itself), else
  `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` (what requests, and so the official SDK, reads), `SSL_CERT_FILE`
  (what Prefect's own httpx client reads), else the `certifi` bundle. Verification is never turned off.
- Proxy: `HubSettings.proxy` for every scheme, else `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` (either
  case). `NO_PROXY` is evaluated for every URL, redirect hops included (requests keeps the first hop's
  proxy for the redirected ones, psf/requests#3296).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hub_tasks.errors import InvalidParameter
from hub_tasks.settings import HubSettings

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
PEM_MARKER = "-----BEGIN CERTIFICATE-----"


def _pem_file(text: str) -> str:
    """A file holding PEM text given inline (requests verifies against a path), named by its hash and
    written once (temp file + rename, so a reader never sees half of it)."""
    folder = Path(tempfile.gettempdir()) / "prefect-modelscope-ca"
    folder.mkdir(exist_ok=True)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()}.pem"
    if not path.exists():
        temp = folder / f".{path.name}.{os.getpid()}.tmp"
        temp.write_text(text if text.endswith("\n") else text + "\n")
        os.replace(temp, path)
    return str(path)


def ca_bundle(settings: HubSettings, environ: Mapping[str, str]) -> tuple[str | bool, str]:
    """The `verify` value for requests, and where it came from (for error messages).

    Raises:
        InvalidParameter: The configured bundle is neither PEM text nor a readable file.

    Example:
        >>> ca_bundle(HubSettings(), {"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"})
        ('/etc/ssl/certs/ca-certificates.crt', 'REQUESTS_CA_BUNDLE')
    """
    if settings.ca_bundle:
        value = settings.ca_bundle.strip()
        if PEM_MARKER in value:
            return _pem_file(value), "ca_bundle (PEM text)"
        if not Path(value).expanduser().is_file():
            raise InvalidParameter(
                f"ca_bundle {value!r} is neither PEM text nor a readable file: give the path of your CA's PEM "
                "file, or paste its text (-----BEGIN CERTIFICATE----- ...)",
                operation="HubClient",
            )
        return str(Path(value).expanduser()), "ca_bundle"
    for name in CA_VARIABLES:
        if environ.get(name):
            return environ[name], name
    return True, "certifi"


@dataclass(frozen=True)
class NoProxy:
    """Parsed `NO_PROXY`: host names (a suffix matches its subdomains), IP networks, optional ports.

    Example:
        >>> rules = NoProxy.parse("localhost, .internal.example, 10.0.0.0/8, cdn.hub.test:443")
        >>> [rules.bypasses(h, p) for h, p in [("a.internal.example", 443), ("10.1.2.3", 80), ("cdn.hub.test", 80)]]
        [True, True, False]
    """

    everything: bool = False
    names: tuple[tuple[str, int | None], ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, value: str) -> NoProxy:
        names: list[tuple[str, int | None]] = []
        networks = []
        for raw in value.replace(" ", "").lower().split(","):
            if not raw:
                continue
            if raw == "*":
                return cls(everything=True)
            try:
                networks.append(ipaddress.ip_network(raw, strict=False))
                continue
            except ValueError:
                pass
            host, _, port = raw.lstrip("*").lstrip(".").partition(":")
            names.append((host, int(port) if port.isdigit() else None))
        return cls(False, tuple(names), tuple(networks))

    def bypasses(self, host: str, port: int | None) -> bool:
        """Whether a request to `host:port` goes direct."""
        if self.everything:
            return True
        host = host.lower().strip("[]")
        try:
            address = ipaddress.ip_address(host)
            return any(address in network for network in self.networks)
        except ValueError:
            pass
        return any(
            (host == name or host.endswith("." + name)) and (wanted is None or wanted == port)
            for name, wanted in self.names
        )


@dataclass(frozen=True)
class Network:
    """The CA bundle and the proxies of one client, resolved once from its settings and the environment.

    Attributes:
        verify: requests' `verify`: a CA bundle path, or True for certifi's.
        verify_source: Which setting or variable chose `verify`.
        proxy_urls: scheme -> proxy URL (may hold a password: never log it).
        no_proxy: Hosts that go direct.
    """

    verify: str | bool
    verify_source: str
    proxy_urls: Mapping[str, str] = field(default_factory=dict, repr=False)
    no_proxy: NoProxy = field(default_factory=NoProxy)

    @classmethod
    def from_settings(cls, settings: HubSettings, environ: Mapping[str, str] | None = None) -> Network:
        """Resolve the settings and the environment (`os.environ` when None).

        Example:
            >>> net = Network.from_settings(HubSettings(), {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "lan"})
            >>> net.proxies_for("https://www.modelscope.cn/api"), net.proxies_for("https://hub.lan/api")
            ({'https': 'http://proxy:3128'}, {})
        """
        env = os.environ if environ is None else environ
        verify, source = ca_bundle(settings, env)
        if settings.proxy is not None and settings.proxy.get_secret_value().strip():
            proxy = settings.proxy.get_secret_value().strip()
            urls = {"http": proxy, "https": proxy}
        else:
            urls = _environment_proxies(env)
        no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
        return cls(verify, source, urls, NoProxy.parse(no_proxy))

    def proxies_for(self, url: str) -> dict[str, str]:
        """requests' `proxies` for one URL: the scheme's proxy, or none when `NO_PROXY` covers the host."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        proxy = self.proxy_urls.get(scheme) or self.proxy_urls.get("all")
        if not proxy or self.no_proxy.bypasses(parts.hostname or "", _port(parts.port, scheme)):
            return {}
        return {scheme: proxy}


def _port(port: int | None, scheme: str) -> int | None:
    return port or {"http": 80, "https": 443}.get(scheme)


def _environment_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """`HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` as scheme -> URL; the lower-case name wins, as in urllib."""
    found: dict[str, str] = {}
    for lower in (False, True):
        for scheme in ("http", "https", "all"):
            name = f"{scheme}_proxy" if lower else f"{scheme.upper()}_PROXY"
            if environ.get(name):
                found[scheme] = environ[name]
    return found
