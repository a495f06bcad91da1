"""The relay's self-signed certificate (relay/tls.py) and the clients' fingerprint pin."""

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
from cryptography.x509.oid import ExtendedKeyUsageOID

from relay import tls
from relay.cli import build_parser
from relay.config import RelayConfig
from relay.server import tls_files
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


# --- generating --------------------------------------------------------------


def test_first_use_writes_a_key_and_a_self_signed_certificate(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "tls"
    own = tls.ensure_self_signed(directory, ["relay.corp.example", "10.0.0.5", *NAMES], NOW)

    assert own.cert_path == directory / "cert.pem"
    assert own.key_path == directory / "key.pem"
    assert own.generated_because is not None and "none" in own.generated_because
    assert not own.replaced
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(own.key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in directory.iterdir()) == ["cert.pem", "key.pem"]  # no temp files
    assert b"PRIVATE KEY" in own.key_path.read_bytes()
    assert b"PRIVATE KEY" not in own.cert_path.read_bytes()
    assert "PRIVATE" not in repr(own)

    cert = load(own.cert_path)
    assert cert.subject == cert.issuer
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, ec.SECP256R1)
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc == NOW + tls.VALIDITY
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
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_the_fingerprint_is_the_sha256_of_the_certificate_colon_separated(
    tmp_path: Path,
) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    assert FINGERPRINT.fullmatch(own.fingerprint)
    assert own.fingerprint == format_fingerprint(der_sha256(own.cert_path))
    assert own.fingerprint == tls.fingerprint(load(own.cert_path))


# --- reusing and regenerating ------------------------------------------------


def test_a_later_start_reuses_the_certificate_and_its_fingerprint(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", ["relay.corp.example", *NAMES], NOW)
    key_pem = first.key_path.read_bytes()
    later = NOW + datetime.timedelta(days=400)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, later)  # fewer names: covered
    assert again.generated_because is None and not again.replaced
    assert again.fingerprint == first.fingerprint
    assert again.key_path.read_bytes() == key_pem


def test_a_looser_key_file_mode_is_tightened_on_reuse(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    first.key_path.chmod(0o644)
    (tmp_path / "tls").chmod(0o755)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    assert again.fingerprint == first.fingerprint
    assert stat.S_IMODE(again.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


def test_a_name_not_covered_makes_a_new_certificate_and_says_which(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    again = tls.ensure_self_signed(tmp_path / "tls", ["Relay.Corp.Example", *NAMES], NOW)
    assert again.replaced
    assert again.generated_because == "the stored one does not cover relay.corp.example"
    assert again.fingerprint != first.fingerprint
    assert "relay.corp.example" in again.names
    assert again.fingerprint == format_fingerprint(der_sha256(again.cert_path))


def test_an_expired_certificate_is_replaced(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    later = first.not_after + datetime.timedelta(seconds=1)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, later)
    assert again.replaced
    assert again.generated_because == f"the stored one expired on {first.not_after:%Y-%m-%d}"
    assert again.fingerprint != first.fingerprint
    assert again.not_after == later + tls.VALIDITY


def test_a_certificate_from_the_future_is_replaced(tmp_path: Path) -> None:
    tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    again = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW - datetime.timedelta(days=2))
    assert again.generated_because is not None and "not valid until" in again.generated_because


@pytest.mark.parametrize("damage", ["no key", "no cert", "garbage cert", "other key"])
def test_a_missing_or_unreadable_pair_is_replaced(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "tls"
    first = tls.ensure_self_signed(directory, NAMES, NOW)
    if damage == "no key":
        first.key_path.unlink()
    elif damage == "no cert":
        first.cert_path.unlink()
    elif damage == "garbage cert":
        first.cert_path.write_text("not a certificate\n")
    else:
        other = tls.ensure_self_signed(tmp_path / "other", NAMES, NOW)
        first.key_path.write_bytes(other.key_path.read_bytes())
    again = tls.ensure_self_signed(directory, NAMES, NOW)
    assert again.replaced and again.generated_because is not None
    assert again.fingerprint != first.fingerprint
    assert "BEGIN" not in again.generated_because  # never key material in the reason
    assert tls.ensure_self_signed(directory, NAMES, NOW).fingerprint == again.fingerprint


# --- clients accept it -------------------------------------------------------


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1", "::1", "relayhost"])
def test_python_trusts_the_certificate_as_its_own_anchor(
    tmp_path: Path, server_hostname: str
) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    client = ssl.create_default_context(cafile=str(own.cert_path))
    # What Python 3.13 turns on by default; the certificate must pass it.
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    handshake(server_context(own), client, server_hostname)


def test_python_refuses_a_name_the_certificate_does_not_cover(tmp_path: Path) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    client = ssl.create_default_context(cafile=str(own.cert_path))
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server_context(own), client, "elsewhere.example")


def test_the_fingerprint_pin_accepts_the_certificate_whatever_the_name(tmp_path: Path) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    pin = own.fingerprint.lower().replace(":", "")
    handshake(server_context(own), tls_context(fingerprint=pin), "elsewhere.example")


def test_the_fingerprint_pin_refuses_another_certificate_clearly(tmp_path: Path) -> None:
    own = tls.ensure_self_signed(tmp_path / "tls", NAMES, NOW)
    other = tls.ensure_self_signed(tmp_path / "other", NAMES, NOW)
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


def test_the_relay_logs_where_the_certificate_is_and_its_fingerprint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = RelayConfig(data_dir=tmp_path, host="0.0.0.0", tls_self_signed=True)
    caplog.set_level(logging.INFO, logger="screenrelay.relay")
    cert, key = tls_files(config, NOW, "relayhost")
    assert cert == tmp_path / "tls" / "cert.pem" and key == tmp_path / "tls" / "key.pem"
    fingerprint = format_fingerprint(der_sha256(cert))
    text = caplog.text
    assert f"SHA-256 fingerprint {fingerprint}" in text
    assert f"--cafile {cert}" in text
    assert "made a self-signed certificate" in text
    key_body = "".join(key.read_text().splitlines()[1:-1])
    assert "PRIVATE KEY" not in text and key_body not in text

    caplog.clear()
    config = RelayConfig(data_dir=tmp_path, tls_self_signed=True, tls_names=("relay.corp.example",))
    tls_files(config, NOW, "relayhost")
    assert "replaced the self-signed certificate because the stored one does not cover " in (
        caplog.text
    )
    assert "relay.corp.example" in caplog.text
    assert fingerprint not in caplog.text


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
