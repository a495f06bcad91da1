"""The relay over HTTPS/WSS with a given certificate or its own local CA; clients verify it."""

from __future__ import annotations

import datetime
import hashlib
import re
import ssl
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import scenes
from tests.certs import previous_version_certificate, self_signed
from tests.conftest import SCREEN
from tests.procs import Processes, Relay

pytestmark = pytest.mark.e2e


def test_a_session_over_tls_with_the_link(display: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    relay = Relay(tmp_path, tls=(cert, key))
    relay.add_organizer()
    relay.start()
    procs = Processes(relay, display, tmp_path)
    try:
        picture = scenes.desktop_picture(*SCREEN, seed=9)
        scenes.show(display, picture, tmp_path / "s.png")
        host = procs.host("--share", "--cafile", str(cert))
        started = host.wait_for("session_started")
        assert started["link"].startswith("https://127.0.0.1:")
        viewer = procs.join(
            started["link"], "--cafile", str(cert), "--save", str(tmp_path / "out"), "--frames", "1"
        )
        viewer.wait_for("frame")
        assert viewer.wait_exit() == 0
        saved = sorted((tmp_path / "out").glob("*.png"))[-1]
        np.testing.assert_array_equal(np.asarray(Image.open(saved).convert("RGB")), picture)
        # Without the certificate the client refuses the relay, clearly.
        stranger = procs.join(started["link"], "--no-window")
        error = stranger.wait_for("error")
        assert "Cannot reach the relay" in error["message"]
        assert "certificate" in error["message"].lower()
        assert stranger.wait_exit() == 4
    finally:
        procs.stop_all()
        relay.stop()


SERVER_FINGERPRINT = re.compile(
    r"server certificate SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})"
)
CA_FINGERPRINT = re.compile(r"local CA .* SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


class SelfSignedRelay(Relay):
    """A relay started with ``--tls-self-signed``: its local CA is in its data."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.url = f"https://127.0.0.1:{self.port}"
        self.tls_dir = self.data / "tls"
        self.ca = self.tls_dir / "ca.pem"
        self.cert = self.tls_dir / "cert.pem"

    def _tls_args(self) -> list[str]:
        return ["--tls-self-signed"]

    def _context(self) -> ssl.SSLContext:
        # Until the relay has made its certificates, this fails and start() retries.
        context = ssl.create_default_context(cafile=str(self.ca))
        context.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13 does by default
        return context

    def fingerprints(self) -> list[str]:
        """Every server certificate fingerprint the relay logged, one per start."""
        return SERVER_FINGERPRINT.findall(self.log.read_text())

    def ca_fingerprints(self) -> list[str]:
        """Every local CA fingerprint the relay logged, one per start."""
        return CA_FINGERPRINT.findall(self.log.read_text())

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.tls_dir.iterdir()}


def sha256_of_pem(path: Path) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(path.read_text())).digest()
    return ":".join(f"{b:02X}" for b in digest)


def test_a_self_signed_relay_is_trusted_by_its_ca_file_or_its_fingerprint(
    display: str, tmp_path: Path
) -> None:
    relay = SelfSignedRelay(tmp_path)
    relay.add_organizer()
    relay.start()
    procs = Processes(relay, display, tmp_path)
    try:
        [fingerprint] = relay.fingerprints()
        assert fingerprint == sha256_of_pem(relay.cert)
        assert relay.ca_fingerprints() == [sha256_of_pem(relay.ca)]
        log = relay.log.read_text()
        assert f"clients: --cafile {relay.ca} (or --tls-fingerprint {fingerprint})" in log
        assert f"browsers: import {relay.ca} as a trusted authority" in log
        assert "PRIVATE KEY" not in log
        for key in ("key.pem", "ca-key.pem"):
            assert stat.S_IMODE((relay.tls_dir / key).stat().st_mode) == 0o600

        picture = scenes.desktop_picture(*SCREEN, seed=10)
        scenes.show(display, picture, tmp_path / "s.png")
        host = procs.host("--share", "--cafile", str(relay.ca))
        started = host.wait_for("session_started")
        assert started["link"].startswith(f"{relay.url}/j/")
        # The pin (of the served certificate) as a person would copy it from
        # a browser: any case, no colons.
        pin = fingerprint.replace(":", "").lower()
        viewer = procs.join(
            started["link"], "--tls-fingerprint", pin, "--save", str(tmp_path / "out"),
            "--frames", "1",
        )  # fmt: skip
        viewer.wait_for("frame")
        assert viewer.wait_exit() == 0
        saved = sorted((tmp_path / "out").glob("*.png"))[-1]
        np.testing.assert_array_equal(np.asarray(Image.open(saved).convert("RGB")), picture)

        # A wrong pin is refused before anything is sent, by join and by host alike.
        wrong = "00" * 32
        impostor = procs.join(started["link"], "--tls-fingerprint", wrong, "--no-window")
        error = impostor.wait_for("error")
        assert error["message"] == (
            f"Cannot reach the relay at {relay.url}: the relay's certificate has SHA-256 "
            f"fingerprint {fingerprint}, not the {':'.join(['00'] * 32)} given with "
            "--tls-fingerprint (this may not be your relay)"
        )
        assert impostor.wait_exit() == 4
        other_host = procs.host("--tls-fingerprint", wrong)
        assert "fingerprint" in other_host.wait_for("error")["message"]
        assert other_host.wait_exit() == 4
        # The CA's fingerprint is no pin for the server.
        ca_pin = procs.host("--tls-fingerprint", relay.ca_fingerprints()[0])
        assert "fingerprint" in ca_pin.wait_for("error")["message"]
        assert ca_pin.wait_exit() == 4
    finally:
        procs.stop_all()
        relay.stop()


def test_a_restarted_self_signed_relay_keeps_its_ca_and_certificate(tmp_path: Path) -> None:
    relay = SelfSignedRelay(tmp_path)
    relay.start()
    try:
        [first] = relay.fingerprints()
        [first_ca] = relay.ca_fingerprints()
        files = relay.files()
        assert sorted(files) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
    finally:
        relay.stop()
    relay.start()  # start() checks /healthz with the first start's ca.pem
    try:
        assert relay.fingerprints() == [first, first]
        assert relay.ca_fingerprints() == [first_ca, first_ca]
        assert relay.log.read_text().count("the same as before") == 2  # CA and certificate
        assert relay.files() == files
        assert sha256_of_pem(relay.cert) == first
        assert sha256_of_pem(relay.ca) == first_ca
    finally:
        relay.stop()


def test_a_relay_replaces_the_previous_versions_certificate(tmp_path: Path) -> None:
    relay = SelfSignedRelay(tmp_path)
    old = previous_version_certificate(
        relay.tls_dir, ("localhost", "127.0.0.1"), datetime.datetime.now(datetime.UTC)
    )
    relay.start()  # /healthz answers with a certificate issued by the new ca.pem
    try:
        log = relay.log.read_text()
        assert "replaced the self-signed certificate of an earlier version" in log
        [fingerprint] = relay.fingerprints()
        assert fingerprint != old and fingerprint == sha256_of_pem(relay.cert)
        assert sorted(relay.files()) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
    finally:
        relay.stop()
