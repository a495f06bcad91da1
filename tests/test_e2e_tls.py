"""The relay over HTTPS/WSS with a given certificate; clients verify it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import scenes
from tests.certs import self_signed
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
