"""Moves on a real Xvfb: a real window moved with xdotool is sent as a copy
rect, and the decoded picture equals the grab."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from host_app.capture import MssSource
from host_app.encoder import TileEncoder
from protocol.frames import Encoding, parse_frame
from tests import scenes
from tests.conftest import SCREEN
from viewer_app.decoder import Canvas

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None
    or shutil.which("xdotool") is None
    or shutil.which("display") is None,
    reason="needs Xvfb, xdotool and ImageMagick",
)

TITLE = "moves-xvfb-window"


def settled(source: MssSource, seconds: float = 10.0) -> np.ndarray:
    """A copy of the screen once two grabs 0.15 s apart are equal."""
    deadline = time.monotonic() + seconds
    last = source.grab().copy()
    while time.monotonic() < deadline:
        time.sleep(0.15)
        now = source.grab().copy()
        if np.array_equal(now, last):
            return now
        last = now
    raise AssertionError("the screen did not settle")


def test_a_window_moved_by_xdotool_is_sent_as_a_copy(display: str, tmp_path: Path) -> None:
    width, height = SCREEN
    scenes.show(display, scenes.desktop_picture(width, height, seed=3), tmp_path / "bg.png")
    page = scenes.text_page(360, 240, seed=4).copy()
    page[:20] = (52, 101, 164)  # a title bar
    path = tmp_path / f"{TITLE}.png"
    Image.fromarray(page).save(path)
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    viewer = subprocess.Popen(
        ["display", "-title", TITLE, "-geometry", "+300+200", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while scenes.window_box(display, TITLE) is None:
            assert time.monotonic() < deadline, "the window did not appear"
            time.sleep(0.1)
        window = subprocess.run(
            ["xdotool", "search", "--name", TITLE], env=env, capture_output=True, text=True,
            check=True,
        ).stdout.split()[0]  # fmt: skip
        with MssSource(display=display) as source:
            before = settled(source)
            subprocess.run(["xdotool", "windowmove", window, "337", "221"], env=env, check=True)
            deadline = time.monotonic() + 10
            while scenes.window_box(display, TITLE) != (337, 221, 360, 240):
                assert time.monotonic() < deadline, scenes.window_box(display, TITLE)
                time.sleep(0.05)
            after = settled(source)
    finally:
        viewer.terminate()
        viewer.wait(10)

    encoder = TileEncoder(width, height)
    canvas = Canvas()
    key = encoder.encode(before, keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    canvas.apply(key)
    delta = encoder.encode(after, keyframe=False, seq=1, capture_ns=0)
    assert delta is not None
    canvas.apply(delta)
    assert canvas.picture is not None and np.array_equal(canvas.picture, after)
    _, rects, _ = parse_frame(delta)
    copies = [r for r in rects if r.encoding == Encoding.COPY]
    assert copies, rects
    # Most of the window's new place arrives as a copy.
    assert sum(r.w * r.h for r in copies) >= 0.8 * 360 * 240
    without = TileEncoder(width, height, moves=False)
    without.encode(before, keyframe=True, seq=0, capture_ns=0)
    plain = without.encode(after, keyframe=False, seq=1, capture_ns=0)
    assert plain is not None and len(delta) * 3 < len(plain)
