"""The hub's TLS material: a CA of its own per data dir, and a server certificate for its names.

`--tls` serves HTTPS with a certificate that this module issues from a CA it keeps in `<data>/tls/`
(`ca.pem`, `ca.key`, `server.pem`, `server.key`). Clients trust the hub by trusting `ca.pem`, e.g.
through `REQUESTS_CA_BUNDLE`, the only setting the official SDK's `requests` honours for it
(protocol.md §22.4). Files are written to a temp file and renamed, and reused on the next start: the
CA as long as it is valid, the server certificate as long as it names the same hosts. Keys are EC
P-256 (fast to make and to handshake with).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest lifetime clients accept for a server certificate
RENEW_DAYS = 30  # a certificate closer than this to its end is issued anew


@dataclass(frozen=True)
class TlsFiles:
    """Where one hub's TLS files are.

    Attributes:
        ca_bundle: The CA certificate clients trust (`ca.pem`).
        certfile: The server certificate (`server.pem`).
        keyfile: The server's private key (`server.key`).
    """

    ca_bundle: Path
    certfile: Path
    keyfile: Path


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Write `path` whole or not at all: a temp file beside it, then a rename."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            if not private:
                os.fchmod(handle.fileno(), 0o644)  # mkstemp made it 0600; only keys stay that way
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, none)


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=RENEW_DAYS)


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # a client clock a little behind still accepts it
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local_hub CA")])
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert and CRL signing
    cert = (
        _builder(name, name, key.public_key(), CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _alt_names(names: Iterable[str]) -> list[x509.GeneralName]:
    """DNS names and IP addresses, each as the kind of subjectAltName it is."""
    found: list[x509.GeneralName] = []
    for name in names:
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def _make_server(
    names: list[str], ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)  # digital signature
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(subject, ca.subject, key.public_key(), SERVER_DAYS)
        .add_extension(x509.SubjectAlternativeName(_alt_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The stored CA when it is whole, valid for a while yet, and an EC key of ours; else None."""
    try:
        cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key() or not _fresh(cert):
        return None
    return cert, key


def _server_ok(files: TlsFiles, names: set[str], ca: x509.Certificate) -> bool:
    """Whether the stored server certificate and key can be served as they are: a matching pair, issued
    by `ca`, fresh, and naming exactly `names`."""
    try:
        cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
        key = serialization.load_pem_private_key(files.keyfile.read_bytes(), password=None)
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    found = {str(n) for n in alt.get_values_for_type(x509.IPAddress)} | set(alt.get_values_for_type(x509.DNSName))
    return found == names and cert.public_key() == key.public_key() and _fresh(cert)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise hubs starting on one data dir, so that no two issue a CA and a certificate that differ."""
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_tls(data_dir: Path, names: Iterable[str]) -> TlsFiles:
    """The data dir's TLS files for a server certificate that covers `names` (DNS names or IPs), made
    or renewed as needed.

    Args:
        data_dir: The hub's state directory; the files go to its `tls/` folder.
        names: What the server certificate must name, e.g. `www.hub.test`, `127.0.0.1`.

    Returns:
        The paths of the CA bundle, the server certificate and its key.

    Example:
        >>> import tempfile
        >>> files = ensure_tls(Path(tempfile.mkdtemp()), ["www.hub.test", "127.0.0.1"])
        >>> files.ca_bundle.name, files.keyfile.stat().st_mode & 0o777
        ('ca.pem', 384)
    """
    folder = data_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = list(dict.fromkeys(names))
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    with _locked(folder):
        ca = _load_ca(folder)
        if ca is None:
            ca = _make_ca()
            _write(folder / "ca.key", _key_pem(ca[1]), private=True)
            _write(files.ca_bundle, ca[0].public_bytes(serialization.Encoding.PEM))
        if not _server_ok(files, set(wanted), ca[0]):
            cert, key = _make_server(wanted, *ca)
            _write(files.keyfile, _key_pem(key), private=True)
            _write(files.certfile, cert.public_bytes(serialization.Encoding.PEM))
    return files
