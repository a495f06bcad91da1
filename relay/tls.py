"""The relay's own certificates (``--tls-self-signed``): made once, kept, reused.

For a relay inside a network that has no PKI yet. Two levels, as browsers
require (Firefox refuses a server certificate that is itself an authority):

* a local certificate authority, ``DATA/tls/ca.pem`` with its key
  ``DATA/tls/ca-key.pem``: self-signed, CA:TRUE (path length 0), valid
  ten years. It is the trust anchor that is handed out: clients pass
  ``--cafile DATA/tls/ca.pem``, browsers import it as a trusted authority.
* the server certificate, ``DATA/tls/cert.pem`` with ``DATA/tls/key.pem``,
  issued by that CA: CA:FALSE, serverAuth, every name in its
  subjectAltName, valid at most 397 days (the longest browsers accept for a
  server certificate). Its SHA-256 fingerprint is what ``--tls-fingerprint``
  pins; it changes whenever the certificate is reissued, the CA's does not.

Rules:
1. Keys are ECDSA P-256 and never leave their files (mode 0600, directory
   0700). Nothing here logs them or puts them in a record.
2. Files are written to temporary files in the same directory and renamed
   (key first), so a crash leaves the old pair or the new one; a pair whose
   key does not match its certificate counts as unreadable.
3. The CA is reused unless it is missing, unreadable, not an authority, or
   expired (or within ``RENEW_BEFORE`` of it, since it could not cover a
   server certificate for that long); a new CA means a new server
   certificate, and clients must be given the new ``ca.pem``.
4. The server certificate is reissued by the same CA, with a new key, when it
   is missing, unreadable, not issued by the current CA (which includes the
   single self-signed certificate that earlier versions served), expired or
   within ``RENEW_BEFORE`` of it, or does not cover every requested name.
   Clients trusting ``ca.pem`` notice nothing; fingerprint pins must change.
   The caller is told why each was made, so that it can say so.
5. Each certificate has what strict verifiers check (browsers, Python's
   ``ssl.VERIFY_X509_STRICT``): critical basicConstraints and keyUsage,
   subject and authority key identifiers, and for the server certificate
   serverAuth and subjectAltName (Chromium and Python ignore the common name).
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: How long the server certificate is valid: 397 days, the longest that
#: browsers accept for a TLS server certificate (even from a private CA, Apple
#: platforms refuse longer ones).
VALIDITY: Final = datetime.timedelta(days=397)
#: How long the local CA is valid.
CA_VALIDITY: Final = datetime.timedelta(days=3650)
#: A certificate with less than this left is renewed at start, so that a
#: relay restarted now and then never serves an expired one.
RENEW_BEFORE: Final = datetime.timedelta(days=30)
#: How far notBefore lies in the past, so that a client whose clock is a
#: little behind accepts a certificate made a moment ago.
BACKDATE: Final = datetime.timedelta(hours=1)
#: Names every server certificate covers, so that the machine itself can
#: always connect.
LOCAL_NAMES: Final = ("localhost", "127.0.0.1", "::1")
#: Listen hosts that mean "every interface": not a name of the machine.
ANY_ADDRESS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)
#: File names inside the directory.
CERT_FILE: Final = "cert.pem"
KEY_FILE: Final = "key.pem"
CA_FILE: Final = "ca.pem"
CA_KEY_FILE: Final = "ca-key.pem"

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_MAX_COMMON_NAME: Final = 64


@dataclasses.dataclass(frozen=True, slots=True)
class LocalCA:
    """The local certificate authority (its key stays in its file)."""

    #: The PEM CA certificate: what clients and browsers are given to trust.
    cert_path: Path
    #: The PEM private key (mode 0600).
    key_path: Path
    #: SHA-256 of the certificate's DER bytes, as ``AB:CD:...``.
    fingerprint: str
    #: The end of its validity.
    not_after: datetime.datetime
    #: Why a new CA was made now; None when the stored one was reused.
    generated_because: str | None
    #: Whether the new CA replaced files that were there (everyone who
    #: imported the old one must be given the new one).
    replaced: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SelfSigned:
    """The server certificate ready to serve, and the local CA that issued it."""

    #: The PEM server certificate (the relay serves it).
    cert_path: Path
    #: Its PEM private key (mode 0600).
    key_path: Path
    #: SHA-256 of the certificate's DER bytes, as ``AB:CD:...`` (32 pairs):
    #: what ``--tls-fingerprint`` pins and browsers show.
    fingerprint: str
    #: The DNS names and IP addresses it covers, in its own order.
    names: tuple[str, ...]
    #: The end of its validity.
    not_after: datetime.datetime
    #: Why a new server certificate was issued now; None when reused.
    generated_because: str | None
    #: The authority that issued it.
    ca: LocalCA
    #: Whether the new certificate replaced files that were there (its
    #: fingerprint changed; clients that trust ``ca.pem`` do not notice).
    replaced: bool = False
    #: Whether what it replaced was the single self-signed certificate of an
    #: earlier version (an authority used as server certificate).
    migrated: bool = False


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


def is_authority(cert: x509.Certificate) -> bool:
    """Whether basicConstraints says CA:TRUE."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (names and signature; not validity)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_tag(public: ec.EllipticCurvePublicKey) -> str:
    return hashlib.sha256(_spki(public)).hexdigest()[:8]


def generate_ca(
    now: datetime.datetime, hostname: str | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key and a self-signed CA certificate, named after ``hostname``."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    common_name = "screenrelay local CA"
    if hostname:
        room = _MAX_COMMON_NAME - len(common_name) - len(" ()")
        common_name += f" ({hostname[:room]})"
    # The key's tag in the subject: NSS (Firefox) mixes up certificates that
    # share a subject, which a regenerated CA would otherwise do.
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "screenrelay"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"key {_key_tag(public)}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(
    names: Sequence[str],
    now: datetime.datetime,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key and a server certificate for ``names`` (normalized), issued by the CA.

    It ends after ``VALIDITY`` or with the CA, whichever is first.
    """
    if not names:
        raise ValueError("a certificate needs at least one name")
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "screenrelay"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"screenrelay relay {_key_tag(public)}"),
        ]
    )
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - BACKDATE, ca_cert.not_valid_before_utc))
        .not_valid_after(min(now + VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def ensure_self_signed(
    directory: Path,
    names: Iterable[str],
    now: datetime.datetime,
    *,
    hostname: str | None = None,
) -> SelfSigned:
    """The local CA and server certificate in ``directory``, made first if not fit to serve.

    ``names`` must all be covered (they are normalized here); ``now`` is an
    aware datetime; ``hostname`` goes into the name of a new CA.
    """
    wanted = _unique(parse_name(n) for n in names)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca, ca_cert, ca_key = _ensure_ca(directory, now, hostname)

    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    existed = cert_path.exists() or key_path.exists()
    stored, reason = _check_stored(cert_path, key_path)
    migrated = stored is not None and is_authority(stored[0])
    if stored is not None:
        reason = _check_server(
            stored[0], ca_cert, wanted, now, ca_is_new=ca.generated_because is not None
        )
    if stored is None or reason is not None:
        cert, key = issue(wanted, now, ca_cert, ca_key)
        _write_pair(cert_path, key_path, cert, key)
    else:
        cert = stored[0]
        _tighten(key_path)
    return SelfSigned(
        cert_path=cert_path,
        key_path=key_path,
        fingerprint=fingerprint(cert),
        names=certificate_names(cert),
        not_after=cert.not_valid_after_utc,
        generated_because=reason,
        ca=ca,
        replaced=reason is not None and existed,
        migrated=migrated,
    )


def _ensure_ca(
    directory: Path, now: datetime.datetime, hostname: str | None
) -> tuple[LocalCA, x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_FILE, directory / CA_KEY_FILE
    existed = cert_path.exists() or key_path.exists()
    stored, reason = _check_stored(cert_path, key_path)
    if stored is not None:
        reason = _check_ca(stored[0], now)
    if stored is None or reason is not None:
        cert, key = generate_ca(now, hostname)
        _write_pair(cert_path, key_path, cert, key)
    else:
        cert, key = stored
        _tighten(key_path)
    ca = LocalCA(
        cert_path=cert_path,
        key_path=key_path,
        fingerprint=fingerprint(cert),
        not_after=cert.not_valid_after_utc,
        generated_because=reason,
        replaced=reason is not None and existed,
    )
    return ca, cert, key


def _check_stored(
    cert_path: Path, key_path: Path
) -> tuple[tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, str | None]:
    """(the stored pair, None) if readable and matching, else (None, why not)."""
    if not cert_path.exists() and not key_path.exists():
        return None, f"there was none in {cert_path.parent}"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # The exception names the file or the format; it never holds key bytes.
        return None, f"the stored one cannot be used ({type(exc).__name__}: {exc})"
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None, f"the stored {key_path.name} is not an ECDSA key"
    if _spki(key.public_key()) != _spki(cert.public_key()):
        return None, f"the stored {key_path.name} does not belong to {cert_path.name}"
    return (cert, key), None


def _check_ca(cert: x509.Certificate, now: datetime.datetime) -> str | None:
    """Why the stored CA cannot be reused, or None."""
    if not is_authority(cert) or not is_issued_by(cert, cert):
        return f"the stored {CA_FILE} is not a self-signed certificate authority"
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return f"the stored {CA_FILE} lacks key usage or a subject key identifier"
    if not usage.key_cert_sign:
        return f"the stored {CA_FILE} may not sign certificates"
    return _check_validity(cert, now)


def _check_server(
    cert: x509.Certificate,
    ca_cert: x509.Certificate,
    wanted: Sequence[str],
    now: datetime.datetime,
    *,
    ca_is_new: bool,
) -> str | None:
    """Why the stored server certificate cannot be reused, or None."""
    if is_authority(cert):
        return (
            "the stored one is the self-signed certificate of an earlier version "
            "(an authority serving as server certificate, which Firefox refuses)"
        )
    if ca_is_new:
        return f"a new local CA was made ({CA_FILE})"
    if not is_issued_by(cert, ca_cert):
        return f"the stored one was not issued by the local CA in {CA_FILE}"
    if cert.not_valid_after_utc - cert.not_valid_before_utc > VALIDITY + BACKDATE:
        return "the stored one is valid for longer than browsers accept"
    reason = _check_validity(cert, now)
    if reason is not None:
        return reason
    covered = set(certificate_names(cert))
    missing = [n for n in wanted if n not in covered]
    if missing:
        return f"the stored one does not cover {', '.join(missing)}"
    return None


def _check_validity(cert: x509.Certificate, now: datetime.datetime) -> str | None:
    if now >= cert.not_valid_after_utc:
        return f"the stored one expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if now < cert.not_valid_before_utc:
        return f"the stored one is not valid until {cert.not_valid_before_utc:%Y-%m-%d}"
    if now >= cert.not_valid_after_utc - RENEW_BEFORE:
        return (
            f"the stored one expires on {cert.not_valid_after_utc:%Y-%m-%d} "
            f"(renewed {RENEW_BEFORE.days} days ahead)"
        )
    return None


def _tighten(key_path: Path) -> None:
    """Make a reused key file 0600 again if someone loosened it."""
    if key_path.stat().st_mode & 0o077:
        key_path.chmod(0o600)


def _write_pair(
    cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Key first: a crash between the renames leaves a pair that does not
    # match, which the next start replaces.
    _write_atomically(key_path, key_pem)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


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
