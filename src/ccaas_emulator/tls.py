"""HTTPS for `serve`: a local CA and a server certificate, generated with `cryptography` and kept with the data.

Both are stored in the database (emulator_tls_material), so every process sharing it, and a restart, serves the
same CA; the CA's certificate is also written to a file next to the data (`ca_bundle_path`), which clients trust
through REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS or SSL_CERT_FILE. The server certificate names 127.0.0.1, ::1,
localhost, CCAAS_HOST and the org URL's host; it is issued again when those names change or within RENEW_BEFORE
of its expiry. Private keys never leave the database except for the moment ssl loads them (a private temporary
file, removed at once: the ssl module reads key files only).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import TlsMaterial
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=365)  # under the 398 days browsers and Apple's clients allow a server certificate
RENEW_BEFORE = timedelta(days=30)
_BACKDATE = timedelta(minutes=5)  # a client whose clock is a little behind still sees the certificate as valid
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 (names them, binds nothing)


@dataclass(frozen=True)
class TlsBundle:
    """The PEMs `serve` needs: the CA certificate (for clients) and the server's certificate and key."""

    ca_pem: str
    server_certificate_pem: str
    server_key_pem: str

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context holding the server certificate, followed by its CA (a complete chain)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory(prefix="ccaas-tls-") as directory:  # created 0700
            chain = Path(directory) / "server.pem"
            fd = os.open(chain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(self.server_key_pem + self.server_certificate_pem + self.ca_pem)
            context.load_cert_chain(chain)
        return context


def server_host_names(settings: Settings) -> tuple[str, ...]:
    """The names the server certificate covers: loopback, CCAAS_HOST (unless a wildcard) and the org URL's host."""
    names = {"127.0.0.1", "::1", "localhost"}
    host = settings.host.strip().lower().removeprefix("[").removesuffix("]")
    if host not in WILDCARD_ADDRESSES:
        names.add(host)
    org_host = urlsplit(settings.org_url).hostname
    if org_host:
        names.add(org_host.lower())
    return tuple(sorted(names))


def ensure_tls(database: Database, clock: Clock, host_names: tuple[str, ...]) -> TlsBundle:
    """The stored CA and server certificate, generating the CA on first use and the server certificate whenever
    its names differ from `host_names` or it expires within RENEW_BEFORE."""
    now = clock.now()
    stored = _read(database)
    ca = _usable_ca(database, stored, now)
    server = stored.get("server")
    wanted = ",".join(host_names)
    if server is None or server.host_names != wanted or server.not_after - RENEW_BEFORE <= now:
        server = _store(database, "server", *_new_server(ca, host_names, now), now=now, replace=True)
    else:
        # A server certificate another CA issued (the CA was renewed by another process) is issued again.
        try:
            load_certificate(server.certificate_pem).verify_directly_issued_by(load_certificate(ca.certificate_pem))
        except (ValueError, TypeError, InvalidSignature):
            server = _store(database, "server", *_new_server(ca, host_names, now), now=now, replace=True)
    return TlsBundle(ca.certificate_pem, server.certificate_pem, server.private_key_pem)


def ensure_ca(database: Database, clock: Clock) -> str:
    """The stored CA certificate (PEM), generated on first use; the server certificate is left to `serve`."""
    return _usable_ca(database, _read(database), clock.now()).certificate_pem


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _read(database: Database) -> dict[str, _Stored]:
    with database.read() as session:
        return {row.name: _Stored.of(row) for row in session.scalars(select(TlsMaterial))}


def _usable_ca(database: Database, stored: dict[str, _Stored], now: datetime) -> _Stored:
    ca = stored.get("ca")
    if ca is None or ca.not_after - RENEW_BEFORE <= now:
        ca = _store(database, "ca", *_new_ca(now), now=now, replace=ca is not None)
    return ca


def ca_bundle_path(settings: Settings) -> Path:
    """Where the CA certificate is written: beside a SQLite database file, else under ./var, one file per database."""
    url = make_url(settings.database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        return (path.parent / f"{path.stem}-ca.pem").resolve()
    # PostgreSQL (or an in-memory SQLite): no data folder of ours, so ./var, named after the database it holds.
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{url.host or 'local'}-{database or 'db'}")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:8]
    return (Path("var") / f"{safe}-{digest}-ca.pem").resolve()


def write_ca_bundle(settings: Settings, ca_pem: str) -> Path:
    """Write (or refresh) the CA bundle file and return its absolute path."""
    path = ca_bundle_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != ca_pem:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(ca_pem)
        partial.replace(path)  # atomic: a client reading it never sees half a certificate
    return path


# --- generation and storage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    certificate_pem: str
    private_key_pem: str
    host_names: str
    not_after: datetime

    @classmethod
    def of(cls, row: TlsMaterial) -> _Stored:
        return cls(row.certificate_pem, row.private_key_pem, row.host_names, row.not_after)


def _store(
    database: Database, name: str, certificate: x509.Certificate, key_pem: str, host_names: str, *, now: datetime,
    replace: bool,
) -> _Stored:  # fmt: skip
    """Store the material, unless another process stored a usable one first; what the database holds wins."""
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    not_after = certificate.not_valid_after_utc
    # IntegrityError: another process inserted it between our read and our write (PostgreSQL); theirs stands.
    with contextlib.suppress(IntegrityError):
        _write(database, name, pem, key_pem, host_names, not_after, now=now, replace=replace)
    with database.read() as session:
        stored = session.get(TlsMaterial, name)
        assert stored is not None
        return _Stored.of(stored)


def _write(
    database: Database, name: str, pem: str, key_pem: str, host_names: str, not_after: datetime, *, now: datetime,
    replace: bool,
) -> None:  # fmt: skip
    with database.transaction() as session:
        row = session.get(TlsMaterial, name, with_for_update=True)
        if row is None:
            session.add(
                TlsMaterial(
                    name=name,
                    certificate_pem=pem,
                    private_key_pem=key_pem,
                    host_names=host_names,
                    not_after=not_after,
                    created_on=now,
                )
            )
        elif replace:
            row.certificate_pem, row.private_key_pem, row.host_names = pem, key_pem, host_names
            row.not_after, row.created_on = not_after, now


def _key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key, pem.decode()


def _key_usage(*, certificate_signing: bool) -> x509.KeyUsage:
    """digitalSignature (an ECDSA TLS key signs the handshake), and for the CA keyCertSign and cRLSign."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificate_signing,
        crl_sign=certificate_signing,
        encipher_only=False,
        decipher_only=False,
    )


def _new_ca(now: datetime) -> tuple[x509.Certificate, str, str]:
    key, key_pem = _key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ccaas-emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"ccaas-emulator local CA {now:%Y-%m-%d %H:%M}"),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificate_signing=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key_pem, ""


def _new_server(ca: _Stored, host_names: tuple[str, ...], now: datetime) -> tuple[x509.Certificate, str, str]:
    ca_certificate = load_certificate(ca.certificate_pem)
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the stored CA key is not an EC key")
    key, key_pem = _key()
    alternative_names: list[x509.GeneralName] = []
    for host in host_names:
        try:
            alternative_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternative_names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + SERVER_LIFETIME, ca_certificate.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificate_signing=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key_pem, ",".join(host_names)
