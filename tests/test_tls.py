"""The relay's local CA and server certificate (relay/tls.py), and the clients' pin."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import re
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from relay import tls
from relay.cli import build_parser
from relay.config import RelayConfig
from relay.server import tls_files
from tests.certs import previous_version_certificate
from viewer_app.transport import format_fingerprint, parse_fingerprint, tls_context

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
NAMES = ("localhost", "127.0.0.1", "::1", "relayhost")
FINGERPRINT = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){31}")


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def der_sha256(path: Path) -> bytes:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(path.read_text())).digest()


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str) -> None:
    """A whole TLS handshake in memory; raises what the client raises."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client_side = client.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server_side = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = True
        for side in (client_side, server_side):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                done = False
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done:
            return
    raise AssertionError("the handshake did not finish")


def server_context(own: tls.SelfSigned) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(own.cert_path, own.key_path)
    return context


# --- names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Relay.Corp.Example.", "relay.corp.example"),
        ("10.0.0.5", "10.0.0.5"),
        ("[2001:DB8:0:0::1]", "2001:db8::1"),
        ("*.corp.example", "*.corp.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_parse_name_normalizes_dns_names_and_addresses(text: str, name: str) -> None:
    assert tls.parse_name(text) == name


@pytest.mark.parametrize(
    "text", ["", "under_score", "-dash.example", "a..b", "bücher.example", "*.example", "x" * 64]
)
def test_parse_name_refuses_what_a_certificate_cannot_name(text: str) -> None:
    with pytest.raises(ValueError, match="neither an IP address nor a DNS name"):
        tls.parse_name(text)


def test_default_names_cover_loopback_the_listen_host_and_the_hostname() -> None:
    assert tls.default_names("0.0.0.0", "Box") == ("localhost", "127.0.0.1", "::1", "box")
    assert tls.default_names("::", "box") == ("localhost", "127.0.0.1", "::1", "box")
    assert tls.default_names("10.0.0.5", "box") == (
        "10.0.0.5",
        "localhost",
        "127.0.0.1",
        "::1",
        "box",
    )
    # Duplicates once; a hostname nobody can connect by is left out.
    assert tls.default_names("127.0.0.1", "my_box") == ("127.0.0.1", "localhost", "::1")


def strict_client(cafile: Path) -> ssl.SSLContext:
    """Python's default client, plus what Python 3.13 turns on by default."""
    client = ssl.create_default_context(cafile=str(cafile))
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    return client


def browser_verify(own: tls.SelfSigned, name: str, now: datetime.datetime) -> int:
    """Verify like a browser (CA/Browser Forum rules, as in cryptography's verifier).

    Returns the chain's length; raises VerificationError as the browser would refuse.
    """
    builder = PolicyBuilder().store(Store([load(own.ca.cert_path)])).time(now)
    try:
        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    return len(builder.build_server_verifier(subject).verify(load(own.cert_path), []))


@pytest.fixture
def own(tmp_path: Path) -> tls.SelfSigned:
    """Certificates made now (handshakes check validity against the real clock)."""
    return tls.ensure_self_signed(
        tmp_path / "tls", NAMES, datetime.datetime.now(datetime.UTC), hostname="relayhost"
    )


# --- generating --------------------------------------------------------------


def test_first_use_writes_a_local_ca_and_a_server_certificate_it_issued(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "tls"
    own = tls.ensure_self_signed(
        directory, ["relay.corp.example", "10.0.0.5", *NAMES], NOW, hostname="relayhost"
    )

    assert own.cert_path == directory / "cert.pem"
    assert own.key_path == directory / "key.pem"
    assert own.ca.cert_path == directory / "ca.pem"
    assert own.ca.key_path == directory / "ca-key.pem"
    assert own.generated_because == own.ca.generated_because == f"there was none in {directory}"
    assert not own.replaced and not own.migrated and not own.ca.replaced
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(own.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(own.ca.key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in directory.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "cert.pem",
        "key.pem",
    ]  # no temp files
    for key_path in (own.key_path, own.ca.key_path):
        assert b"PRIVATE KEY" in key_path.read_bytes()
    for cert_path in (own.cert_path, own.ca.cert_path):
        assert b"PRIVATE KEY" not in cert_path.read_bytes()
    assert "PRIVATE" not in repr(own)

    # The CA: a self-signed authority that signs certificates and nothing else.
    ca = load(own.ca.cert_path)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "screenrelay local CA (relayhost)"
    )
    ca.verify_directly_issued_by(ca)
    ca_public = ca.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    assert isinstance(ca_public.curve, ec.SECP256R1)
    assert ca.not_valid_before_utc <= NOW < ca.not_valid_after_utc
    assert ca.not_valid_after_utc == NOW + tls.CA_VALIDITY
    assert datetime.timedelta(days=3650) <= tls.CA_VALIDITY
    assert own.ca.not_after == ca.not_valid_after_utc
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage_ext = ca.extensions.get_extension_for_class(x509.KeyUsage)
    usage = usage_ext.value
    assert usage_ext.critical and usage.key_cert_sign and usage.crl_sign
    assert not usage.digital_signature
    with pytest.raises(x509.ExtensionNotFound):
        ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ca_ski == x509.SubjectKeyIdentifier.from_public_key(ca_public)

    # The server certificate: issued by the CA, not an authority itself.
    cert = load(own.cert_path)
    assert cert.issuer == ca.subject and cert.subject != ca.subject
    cert.verify_directly_issued_by(ca)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, ec.SECP256R1)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc == NOW + tls.VALIDITY
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(days=398)
    assert datetime.timedelta(days=397) >= tls.VALIDITY
    assert own.not_after == cert.not_valid_after_utc

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["relay.corp.example", "localhost", "relayhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert own.names == ("relay.corp.example", "10.0.0.5", *NAMES)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    usage_ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    usage = usage_ext.value
    assert usage_ext.critical and usage.digital_signature
    assert not usage.key_cert_sign and not usage.crl_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(public)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest


def test_the_fingerprints_are_the_sha256_of_each_certificate_colon_separated(
    tmp_path: Path,
) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    assert FINGERPRINT.fullmatch(own.fingerprint) and FINGERPRINT.fullmatch(own.ca.fingerprint)
    assert own.fingerprint == format_fingerprint(der_sha256(own.cert_path))
    assert own.fingerprint == tls.fingerprint(load(own.cert_path))
    assert own.ca.fingerprint == format_fingerprint(der_sha256(own.ca.cert_path))
    assert own.fingerprint != own.ca.fingerprint


def test_the_ca_name_fits_whatever_the_hostname(tmp_path: Path) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW, hostname="h" * 200)
    [cn] = load(own.ca.cert_path).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert isinstance(cn.value, str)
    assert cn.value.startswith("screenrelay local CA (hhh") and len(cn.value) <= 64
    unnamed = tls.ensure_self_signed(tmp_path / "other", NAMES, NOW)
    [cn] = load(unnamed.ca.cert_path).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == "screenrelay local CA"


def test_two_cas_never_share_a_subject(tmp_path: Path) -> None:
    # NSS (Firefox) mixes up authorities with the same subject.
    one = tls.ensure_self_signed(tmp_path / "one", NAMES, NOW, hostname="box")
    two = tls.ensure_self_signed(tmp_path / "two", NAMES, NOW, hostname="box")
    assert load(one.ca.cert_path).subject != load(two.ca.cert_path).subject
    assert load(one.cert_path).subject != load(two.cert_path).subject


# --- reusing and reissuing ---------------------------------------------------


def test_a_later_start_reuses_both_certificates(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", ["relay.corp.example", *NAMES], NOW)
    stored = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()}
    later = NOW + datetime.timedelta(days=300)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, later)  # fewer names: covered
    assert again.generated_because is None and not again.replaced
    assert again.ca.generated_because is None and not again.ca.replaced
    assert again.fingerprint == first.fingerprint
    assert again.ca.fingerprint == first.ca.fingerprint
    assert {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()} == stored


def test_looser_key_file_modes_are_tightened_on_reuse(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    first.key_path.chmod(0o644)
    first.ca.key_path.chmod(0o640)
    (tmp_path / "tls").chmod(0o755)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    assert again.fingerprint == first.fingerprint
    assert again.ca.fingerprint == first.ca.fingerprint
    assert stat.S_IMODE(again.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(again.ca.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


def assert_reissued_by_the_same_ca(first: tls.SelfSigned, again: tls.SelfSigned) -> None:
    assert again.replaced and not again.migrated
    assert again.fingerprint != first.fingerprint
    assert again.fingerprint == format_fingerprint(der_sha256(again.cert_path))
    assert again.ca.generated_because is None and not again.ca.replaced
    assert again.ca.fingerprint == first.ca.fingerprint
    load(again.cert_path).verify_directly_issued_by(load(first.ca.cert_path))


def test_a_name_not_covered_reissues_the_server_certificate_and_says_which(
    tmp_path: Path,
) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    again = tls.ensure_self_signed(tmp_path / "tls", ["Relay.Corp.Example", *NAMES], NOW)
    assert again.generated_because == "the stored one does not cover relay.corp.example"
    assert_reissued_by_the_same_ca(first, again)
    assert "relay.corp.example" in again.names


def test_a_server_certificate_near_its_end_is_reissued_ahead(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    not_yet = first.not_after - tls.RENEW_BEFORE - datetime.timedelta(days=1)
    assert tls.ensure_self_signed(tmp_path / "tls", NAMES, not_yet).generated_because is None
    soon = first.not_after - tls.RENEW_BEFORE + datetime.timedelta(days=1)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, soon)
    assert again.generated_because == (
        f"the stored one expires on {first.not_after:%Y-%m-%d} (renewed 30 days ahead)"
    )
    assert_reissued_by_the_same_ca(first, again)
    assert again.not_after == soon + tls.VALIDITY


def test_an_expired_server_certificate_is_reissued(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    later = first.not_after + datetime.timedelta(seconds=1)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, later)
    assert again.generated_because == f"the stored one expired on {first.not_after:%Y-%m-%d}"
    assert_reissued_by_the_same_ca(first, again)
    assert again.not_after == later + tls.VALIDITY


def test_certificates_from_the_future_are_made_anew(tmp_path: Path) -> None:
    # A clock set back: the CA is not valid yet either.
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW + datetime.timedelta(days=2))
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW + datetime.timedelta(hours=1))
    assert again.ca.generated_because == "the stored one is not valid until 2026-03-03"
    assert again.ca.fingerprint != first.ca.fingerprint
    assert again.generated_because == "a new local CA was made (ca.pem)"


@pytest.mark.parametrize("damage", ["no key", "no cert", "garbage cert", "other key", "other ca"])
def test_a_missing_unreadable_or_foreign_server_certificate_is_reissued(
    tmp_path: Path, damage: str
) -> None:
    directory = tmp_path / "tls"
    first = tls.ensure_self_signed(directory, NAMES, NOW)
    other = tls.ensure_self_signed(tmp_path / "other", NAMES, NOW)
    if damage == "no key":
        first.key_path.unlink()
    elif damage == "no cert":
        first.cert_path.unlink()
    elif damage == "garbage cert":
        first.cert_path.write_text("not a certificate\n")
    elif damage == "other key":
        first.key_path.write_bytes(other.key_path.read_bytes())
    else:  # a valid pair, but from another relay's CA
        first.key_path.write_bytes(other.key_path.read_bytes())
        first.cert_path.write_bytes(other.cert_path.read_bytes())
    again = tls.ensure_self_signed(directory, NAMES, NOW)
    assert again.generated_because is not None
    assert "BEGIN" not in again.generated_because  # never key material in the reason
    if damage == "other ca":
        assert again.generated_because == "the stored one was not issued by the local CA in ca.pem"
    assert_reissued_by_the_same_ca(first, again)
    assert tls.ensure_self_signed(directory, NAMES, NOW).fingerprint == again.fingerprint


@pytest.mark.parametrize(
    "damage", ["no ca key", "no ca cert", "garbage ca", "other ca key", "leaf as ca"]
)
def test_a_missing_or_unusable_ca_is_made_anew_with_a_new_server_certificate(
    tmp_path: Path, damage: str
) -> None:
    directory = tmp_path / "tls"
    first = tls.ensure_self_signed(directory, NAMES, NOW)
    other = tls.ensure_self_signed(tmp_path / "other", NAMES, NOW)
    if damage == "no ca key":
        first.ca.key_path.unlink()
    elif damage == "no ca cert":
        first.ca.cert_path.unlink()
    elif damage == "garbage ca":
        first.ca.cert_path.write_text("not a certificate\n")
    elif damage == "other ca key":
        first.ca.key_path.write_bytes(other.ca.key_path.read_bytes())
    else:  # a server certificate is no authority
        first.ca.key_path.write_bytes(other.key_path.read_bytes())
        first.ca.cert_path.write_bytes(other.cert_path.read_bytes())
    again = tls.ensure_self_signed(directory, NAMES, NOW)
    assert again.ca.replaced and again.ca.generated_because is not None
    assert "BEGIN" not in again.ca.generated_because
    if damage == "leaf as ca":
        assert again.ca.generated_because == (
            "the stored ca.pem is not a self-signed certificate authority"
        )
    assert again.ca.fingerprint != first.ca.fingerprint
    assert again.replaced and again.generated_because == "a new local CA was made (ca.pem)"
    assert again.fingerprint != first.fingerprint
    load(again.cert_path).verify_directly_issued_by(load(again.ca.cert_path))
    settled = tls.ensure_self_signed(directory, NAMES, NOW)
    assert settled.generated_because is None and settled.ca.generated_because is None


def test_the_ca_lasts_years_and_is_renewed_only_at_its_end(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    first = tls.ensure_self_signed(directory, NAMES, NOW)
    # Years later: server certificates come and go, the CA stays.
    late = first.ca.not_after - datetime.timedelta(days=200)
    again = tls.ensure_self_signed(directory, NAMES, late)
    assert again.ca.fingerprint == first.ca.fingerprint and again.ca.generated_because is None
    assert again.generated_because is not None and "expired" in again.generated_because
    # A server certificate never outlives its CA.
    assert again.not_after == first.ca.not_after
    assert tls.ensure_self_signed(directory, NAMES, late).fingerprint == again.fingerprint
    # Near its end the CA is made anew, and with it the server certificate.
    end = first.ca.not_after - tls.RENEW_BEFORE + datetime.timedelta(days=1)
    renewed = tls.ensure_self_signed(directory, NAMES, end)
    assert renewed.ca.replaced and renewed.ca.fingerprint != first.ca.fingerprint
    assert renewed.ca.generated_because == (
        f"the stored one expires on {first.ca.not_after:%Y-%m-%d} (renewed 30 days ahead)"
    )
    assert renewed.replaced and renewed.not_after == end + tls.VALIDITY
    expired = tls.ensure_self_signed(tmp_path / "x", NAMES, NOW)
    gone = tls.ensure_self_signed(tmp_path / "x", NAMES, expired.ca.not_after)
    assert gone.ca.generated_because == (
        f"the stored one expired on {expired.ca.not_after:%Y-%m-%d}"
    )


def test_the_previous_versions_single_certificate_is_migrated(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    old = previous_version_certificate(directory, NAMES, NOW)
    own = tls.ensure_self_signed(directory, NAMES, NOW)
    assert own.migrated and own.replaced
    assert own.generated_because is not None and "earlier version" in own.generated_because
    assert own.fingerprint != old
    assert not own.ca.replaced and own.ca.generated_because is not None
    assert not tls.is_authority(load(own.cert_path))
    load(own.cert_path).verify_directly_issued_by(load(own.ca.cert_path))
    assert sorted(p.name for p in directory.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "cert.pem",
        "key.pem",
    ]
    again = tls.ensure_self_signed(directory, NAMES, NOW)
    assert not again.migrated and again.generated_because is None


# --- clients accept it -------------------------------------------------------


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1", "::1", "relayhost"])
def test_python_in_strict_mode_trusts_the_chain_from_the_ca_file(
    own: tls.SelfSigned, server_hostname: str
) -> None:
    handshake(server_context(own), strict_client(own.ca.cert_path), server_hostname)


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1", "::1", "relayhost"])
def test_a_browser_like_verifier_accepts_the_chain(
    own: tls.SelfSigned, server_hostname: str
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    assert browser_verify(own, server_hostname, now) == 2


def test_a_browser_like_verifier_refuses_the_previous_versions_certificate(
    tmp_path: Path,
) -> None:
    # Why the two levels: an authority used as server certificate is refused
    # (Firefox: MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY).
    previous_version_certificate(tmp_path, NAMES, NOW)
    old = load(tmp_path / "cert.pem")
    verifier = (
        PolicyBuilder()
        .store(Store([old]))
        .time(NOW)
        .build_server_verifier(x509.DNSName("relayhost"))
    )
    with pytest.raises(VerificationError, match="must not be asserted in an EE"):
        verifier.verify(old, [])


def test_a_reissued_server_certificate_is_trusted_with_the_same_ca_file(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, now)
    handed_out = tmp_path / "handed-out-ca.pem"
    handed_out.write_bytes(first.ca.cert_path.read_bytes())
    again = tls.ensure_self_signed(tmp_path / "tls", ["relay.corp.example", *NAMES], now)
    assert again.replaced and again.fingerprint != first.fingerprint
    handshake(server_context(again), strict_client(handed_out), "relay.corp.example")


def test_the_server_certificate_alone_is_no_trust_anchor(own: tls.SelfSigned) -> None:
    # Clients given the old --cafile cert.pem must switch to ca.pem: without
    # partial-chain trust (the default before Python 3.13) it is refused.
    client = ssl.create_default_context(cafile=str(own.cert_path))
    client.verify_flags &= ~ssl.VERIFY_X509_PARTIAL_CHAIN
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(server_context(own), client, "localhost")


def test_python_refuses_a_name_the_certificate_does_not_cover(own: tls.SelfSigned) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server_context(own), strict_client(own.ca.cert_path), "elsewhere.example")


def test_the_fingerprint_pin_accepts_the_server_certificate_whatever_the_name(
    own: tls.SelfSigned,
) -> None:
    pin = own.fingerprint.lower().replace(":", "")
    handshake(server_context(own), tls_context(fingerprint=pin), "elsewhere.example")


def test_the_fingerprint_pin_is_of_the_server_certificate_not_the_ca(
    own: tls.SelfSigned,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="fingerprint"):
        handshake(server_context(own), tls_context(fingerprint=own.ca.fingerprint), "localhost")


def test_the_fingerprint_pin_refuses_another_certificate_clearly(
    own: tls.SelfSigned, tmp_path: Path
) -> None:
    other = tls.ensure_self_signed(tmp_path / "other", NAMES, datetime.datetime.now(datetime.UTC))
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        handshake(server_context(own), tls_context(fingerprint=other.fingerprint), "localhost")
    assert str(caught.value).startswith(
        f"the relay's certificate has SHA-256 fingerprint {own.fingerprint}, "
    )
    assert f"not the {other.fingerprint}" in str(caught.value)


def test_fingerprints_are_read_with_or_without_colons_in_any_case() -> None:
    digest = bytes(range(32))
    text = format_fingerprint(digest)
    assert text == "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:" + (
        "18:19:1A:1B:1C:1D:1E:1F"
    )
    for variant in (text, text.lower(), text.replace(":", ""), f" {text.replace(':', ' ')} "):
        assert parse_fingerprint(variant) == digest
    for bad in ("", "00:01", text + ":20", text.replace("0A", "0G")):
        with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
            parse_fingerprint(bad)


def test_the_pin_and_a_cafile_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="not both"):
        tls_context(cafile="ca.pem", fingerprint="00" * 32)


# --- the relay's start -------------------------------------------------------


def test_the_relay_logs_what_it_made_where_the_ca_is_and_both_fingerprints(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = RelayConfig(data_dir=tmp_path, host="0.0.0.0", tls_self_signed=True)
    caplog.set_level(logging.INFO, logger="screenrelay.relay")
    cert, key = tls_files(config, NOW, "relayhost")
    directory = tmp_path / "tls"
    assert cert == directory / "cert.pem" and key == directory / "key.pem"
    ca = directory / "ca.pem"
    fingerprint = format_fingerprint(der_sha256(cert))
    ca_fingerprint = format_fingerprint(der_sha256(ca))
    text = caplog.text
    assert "TLS: made a local CA (there was none in" in text
    assert f"TLS: issued a server certificate (there was none in {directory})" in text
    assert f"TLS: local CA {ca} (new; valid until 2036-02-27; SHA-256 fingerprint " in text
    assert ca_fingerprint in text
    assert (
        f"TLS: server certificate {cert} (new; issued by the local CA; valid until 2027-04-02;"
        in text
    )
    assert f"server certificate SHA-256 fingerprint {fingerprint}" in text
    assert (
        f"TLS: clients: --cafile {ca} (or --tls-fingerprint {fingerprint}); "
        f"browsers: import {ca} as a trusted authority, or compare" in text
    )
    assert "WARNING" not in text
    for key_path in (key, directory / "ca-key.pem"):
        key_body = "".join(key_path.read_text().splitlines()[1:-1])
        assert key_body not in text
    assert "PRIVATE KEY" not in text

    caplog.clear()
    tls_files(config, NOW + datetime.timedelta(days=1), "relayhost")
    assert "the same as before" in caplog.text and "made" not in caplog.text
    assert "issued a" not in caplog.text

    caplog.clear()
    config = RelayConfig(data_dir=tmp_path, tls_self_signed=True, tls_names=("relay.corp.example",))
    tls_files(config, NOW, "relayhost")
    text = caplog.text
    assert "TLS: issued a new server certificate because the stored one does not cover " in text
    assert "relay.corp.example" in text and f"whoever trusts {ca} notices nothing" in text
    assert fingerprint not in text
    assert f"SHA-256 fingerprint {ca_fingerprint}" in text  # the CA's stays


def test_the_relay_says_when_the_ca_itself_is_new(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = RelayConfig(data_dir=tmp_path, tls_self_signed=True)
    tls_files(config, NOW, "relayhost")
    (tmp_path / "tls" / "ca-key.pem").unlink()
    caplog.set_level(logging.INFO, logger="screenrelay.relay")
    tls_files(config, NOW, "relayhost")
    assert "TLS: made a new local CA because the stored one cannot be used" in caplog.text
    assert "must be given the new" in caplog.text
    assert "TLS: issued a new server certificate because a new local CA was made" in caplog.text


def test_the_relay_warns_a_year_before_its_ca_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = RelayConfig(data_dir=tmp_path, tls_self_signed=True)
    tls_files(config, NOW, "relayhost")
    caplog.set_level(logging.INFO, logger="screenrelay.relay")
    tls_files(config, NOW + tls.CA_VALIDITY - datetime.timedelta(days=300), "relayhost")
    assert "TLS: the local CA expires on 2036-02-27; 30 days before, a new one is made" in (
        caplog.text
    )


def test_the_relay_migrates_the_previous_versions_certificate_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = previous_version_certificate(tmp_path / "tls", NAMES, NOW)
    config = RelayConfig(data_dir=tmp_path, tls_self_signed=True)
    caplog.set_level(logging.INFO, logger="screenrelay.relay")
    cert, _ = tls_files(config, NOW, "relayhost")
    assert cert is not None
    ca = tmp_path / "tls" / "ca.pem"
    text = caplog.text
    assert "TLS: replaced the self-signed certificate of an earlier version" in text
    assert f"clients now use --cafile {ca} instead of --cafile {cert}" in text
    assert "TLS: made a local CA" in text
    assert old not in text
    assert format_fingerprint(der_sha256(cert)) in text


def test_a_given_certificate_is_served_as_given(tmp_path: Path) -> None:
    config = RelayConfig(data_dir=tmp_path, tls_cert=Path("c.pem"), tls_key=Path("k.pem"))
    assert tls_files(config, NOW, "relayhost") == (Path("c.pem"), Path("k.pem"))
    assert config.serves_tls
    assert not (tmp_path / "tls").exists()
    with pytest.raises(ValueError, match="excludes"):
        RelayConfig(data_dir=tmp_path, tls_cert=Path("c.pem"), tls_self_signed=True)


# --- command lines -----------------------------------------------------------


def run_cli(argv: list[str]) -> SystemExit:
    args = build_parser().parse_args(argv)
    with pytest.raises(SystemExit) as caught:
        args.run(args)
    return caught.value


def test_self_signed_and_a_given_certificate_exclude_each_other(tmp_path: Path) -> None:
    stop = run_cli(
        [
            "relay",
            "--data",
            str(tmp_path),
            "--tls-self-signed",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]
    )
    assert "--tls-self-signed and --tls-cert/--tls-key exclude each other" in str(stop.code)
    stop = run_cli(["relay", "--data", str(tmp_path), "--tls-name", "relay.corp.example"])
    assert "--tls-name goes with --tls-self-signed" in str(stop.code)
    assert not (tmp_path / "tls").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["relay", "--tls-self-signed", "--tls-name", "bad_name"],
        ["join", "123456789", "--tls-fingerprint", "AB:CD"],
        ["join", "123456789", "--cafile", "c.pem", "--tls-fingerprint", "00" * 32],
        ["host", "--relay", "https://x", "--user", "u", "--cafile", "c", "--tls-fingerprint", "0"],
    ],
)
def test_bad_tls_arguments_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "not a SHA-256 fingerprint" in err or "not allowed with" in err or "DNS name" in err


def test_the_fingerprint_argument_is_normalized() -> None:
    pin = "ab" * 32
    args = build_parser().parse_args(["join", "123456789", "--tls-fingerprint", pin])
    assert args.tls_fingerprint == ":".join(["AB"] * 32)
    args = build_parser().parse_args(
        ["host", "--relay", "https://x", "--user", "u", "--tls-fingerprint", pin]
    )
    assert args.tls_fingerprint == ":".join(["AB"] * 32)
