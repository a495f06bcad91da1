"""The relay's own certificate (``--tls-self-signed``): made once, kept, reused.

For a relay inside a network that has no PKI yet. The certificate is its own
trust anchor: clients trust exactly this file (``--cafile DATA/tls/cert.pem``)
or its SHA-256 fingerprint (``--tls-fingerprint``), and browsers show that
fingerprint for a person to compare.

Rules:
1. The key is ECDSA P-256 and never leaves ``DATA/tls/key.pem`` (mode 0600,
   directory 0700). Nothing here logs it or puts it in a record.
2. Files are written to temporary files in the same directory and renamed, so
   a crash leaves the old pair or the new one; a pair whose key does not match
   its certificate counts as unreadable.
3. A stored pair is reused (same fingerprint, so clients keep trusting it)
   unless it is missing, unreadable, expired (or not yet valid), or does not
   cover every requested name; then a new one is made and the caller is told
   why, so that it can say so.
4. The certificate has everything a client checks: subjectAltName with every
   name (Chromium and Python ignore the common name), serverAuth extended key
   usage, CA:TRUE with keyCertSign (a trust anchor under
   ``ssl.VERIFY_X509_STRICT``), subject and authority key identifiers.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: How long a generated certificate is valid: 825 days, the longest that
#: Apple platforms accept for a TLS server certificate.
VALIDITY: Final = datetime.timedelta(days=825)
#: How far notBefore lies in the past, so that a client whose clock is a
#: little behind accepts a certificate made a moment ago.
BACKDATE: Final = datetime.timedelta(hours=1)
#: Names every generated certificate covers, so that the machine itself can
#: always connect.
LOCAL_NAMES: Final = ("localhost", "127.0.0.1", "::1")
#: Listen hosts that mean "every interface": not a name of the machine.
ANY_ADDRESS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)
#: File names inside the directory.
CERT_FILE: Final = "cert.pem"
KEY_FILE: Final = "key.pem"

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclasses.dataclass(frozen=True, slots=True)
class SelfSigned:
    """A certificate ready to serve (the key stays in its file)."""

    #: The PEM certificate; clients pass it as ``--cafile``.
    cert_path: Path
    #: The PEM private key (mode 0600).
    key_path: Path
    #: SHA-256 of the certificate's DER bytes, as ``AB:CD:...`` (32 pairs).
    fingerprint: str
    #: The DNS names and IP addresses it covers, in its own order.
    names: tuple[str, ...]
    #: The end of its validity.
    not_after: datetime.datetime
    #: Why a new certificate was made now; None when the stored one was reused.
    generated_because: str | None
    #: Whether the new certificate replaced files that were there (clients
    #: that trusted the old one must be given the new one).
    replaced: bool = False


def parse_name(text: str) -> str:
    """A DNS name or IP address, normalized (lower case; compressed IP form).

    Raises ValueError with a sentence for anything a certificate cannot name.
    """
    name = text.strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        pass
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    if not name or len(name) > 253 or not all(_DNS_LABEL.fullmatch(lb) for lb in labels):
        raise ValueError(
            f"{text!r} is neither an IP address nor a DNS name "
            "(letters, digits, hyphens and dots; write internationalized names as xn--)"
        )
    return name


def default_names(listen_host: str, hostname: str) -> tuple[str, ...]:
    """The names covered without asking: the listen host, loopback, the hostname."""
    candidates = [] if listen_host in ANY_ADDRESS else [listen_host]
    candidates += [*LOCAL_NAMES, hostname]
    names: list[str] = []
    for candidate in candidates:
        try:
            names.append(parse_name(candidate))
        except ValueError:
            continue  # e.g. a hostname with an underscore: nobody can connect by it
    return _unique(names)


def format_fingerprint(digest: bytes) -> str:
    """``AB:CD:...``: the form browsers and ``openssl x509 -fingerprint`` show."""
    return ":".join(f"{byte:02X}" for byte in digest)


def fingerprint(cert: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint, colon-separated upper-case hex."""
    return format_fingerprint(
        hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    )


def certificate_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses in the subjectAltName, normalized."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = []
    for general in san:
        if isinstance(general, x509.DNSName):
            names.append(general.value.lower().rstrip("."))
        elif isinstance(general, x509.IPAddress):
            names.append(general.value.compressed)
    return tuple(names)


def generate(
    names: Sequence[str], now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key and a self-signed certificate covering ``names`` (normalized)."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # A subject of its own per key: NSS (Firefox) mixes up certificates that
    # share a subject, which a regenerated certificate would otherwise do.
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "screenrelay"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"screenrelay relay {hashlib.sha256(spki).hexdigest()[:8]}"
            ),
        ]
    )
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def ensure_self_signed(directory: Path, names: Iterable[str], now: datetime.datetime) -> SelfSigned:
    """The certificate in ``directory``, made first if there is none fit to serve.

    ``names`` must all be covered (they are normalized here); ``now`` is an
    aware datetime.
    """
    wanted = _unique(parse_name(n) for n in names)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    replaced = cert_path.exists() or key_path.exists()
    cert, reason = _check_stored(cert_path, key_path, wanted, now)
    if cert is None:
        cert, key = generate(wanted, now)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Key first: a crash between the renames leaves a pair that does not
        # match, which the next start replaces.
        _write_atomically(key_path, key_pem)
        _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    elif key_path.stat().st_mode & 0o077:
        key_path.chmod(0o600)
    return SelfSigned(
        cert_path=cert_path,
        key_path=key_path,
        fingerprint=fingerprint(cert),
        names=certificate_names(cert),
        not_after=cert.not_valid_after_utc,
        generated_because=reason,
        replaced=reason is not None and replaced,
    )


def _check_stored(
    cert_path: Path, key_path: Path, wanted: Sequence[str], now: datetime.datetime
) -> tuple[x509.Certificate | None, str | None]:
    """(the stored certificate, None) if fit to reuse, else (None, why not)."""
    if not cert_path.exists() and not key_path.exists():
        return None, f"there was none in {cert_path.parent}"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # The exception names the file or the format; it never holds key bytes.
        return None, f"the stored one cannot be used ({type(exc).__name__}: {exc})"
    if _spki(key.public_key()) != _spki(cert.public_key()):
        return None, f"the stored {KEY_FILE} does not belong to {CERT_FILE}"
    if now >= cert.not_valid_after_utc:
        return None, f"the stored one expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if now < cert.not_valid_before_utc:
        return None, f"the stored one is not valid until {cert.not_valid_before_utc:%Y-%m-%d}"
    covered = set(certificate_names(cert))
    missing = [n for n in wanted if n not in covered]
    if missing:
        return None, f"the stored one does not cover {', '.join(missing)}"
    return cert, None


def _spki(public: PublicKeyTypes) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a new file beside ``path``, flush it to disk, rename it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
