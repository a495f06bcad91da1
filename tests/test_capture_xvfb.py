"""MssSource against a real X server (a private Xvfb with MIT-SHM): the pixels
grabbed are the pixels shown, and survive TileEncoder -> Canvas unchanged.

A known picture is put on the root window with ImageMagick's
``display -window root FILE``, which sets the root background and exits.
(ImageMagick 6 exits with status 1 even when it succeeded, so the status is
not checked; the grabbed pixels are.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from host_app.capture import CaptureError, MssSource, ScreenSource, open_source
from host_app.encoder import TileEncoder
from protocol.frames import parse_frame
from tests.xvfb import running_xvfb
from viewer_app.decoder import Canvas

WIDTH, HEIGHT = 1280, 800
#: Seconds to wait for the root window to show a new picture.
PAINT_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("display") is None,
    reason="needs Xvfb and ImageMagick's display",
)

Rgb = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def screen() -> Iterator[str]:
    with running_xvfb(WIDTH, HEIGHT) as display:
        yield display


def random_rgb(width: int, height: int, seed: int) -> Rgb:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def bgr_of(picture: npt.NDArray[np.uint8]) -> Rgb:
    """The RGB pixels of a grabbed BGRA picture."""
    return picture[:, :, 2::-1]


def shown(canvas: Canvas) -> npt.NDArray[np.uint8]:
    picture = canvas.picture
    assert picture is not None
    return picture


def paint(display: str, rgb: Rgb, folder: Path, source: ScreenSource) -> None:
    """Show ``rgb`` on the root window and wait until ``source`` sees it."""
    path = folder / f"root-{time.monotonic_ns()}.png"
    Image.fromarray(rgb).save(path)
    subprocess.run(
        ["display", "-window", "root", str(path)],
        env={**os.environ, "DISPLAY": display},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    deadline = time.monotonic() + PAINT_TIMEOUT
    while not np.array_equal(bgr_of(source.grab()), rgb):
        if time.monotonic() > deadline:
            pytest.fail(f"the root window did not show {path.name} within {PAINT_TIMEOUT} s")
        time.sleep(0.05)


@pytest.fixture
def picture(screen: str, tmp_path: Path) -> Rgb:
    rgb = random_rgb(WIDTH, HEIGHT, seed=1)
    with MssSource(display=screen) as source:
        paint(screen, rgb, tmp_path, source)
    return rgb


@pytest.mark.parametrize("zero_copy", [True, False])
def test_grab_equals_the_picture_shown(screen: str, picture: Rgb, zero_copy: bool) -> None:
    with MssSource(display=screen, zero_copy=zero_copy) as source:
        assert source.size == (WIDTH, HEIGHT)
        assert source.zero_copy is zero_copy  # Xvfb has MIT-SHM
        grabbed = source.grab()
        assert grabbed.shape == (HEIGHT, WIDTH, 4) and grabbed.dtype == np.uint8
        assert not grabbed.flags.writeable
        assert np.array_equal(bgr_of(grabbed), picture)


def test_zero_copy_grab_reuses_the_shared_segment(screen: str, picture: Rgb) -> None:
    with MssSource(display=screen) as source:
        first = source.grab()
        second = source.grab()
        assert np.shares_memory(first, second)
    with MssSource(display=screen, zero_copy=False) as source:
        assert not np.shares_memory(source.grab(), source.grab())


def test_region(screen: str, picture: Rgb) -> None:
    with open_source(display=screen, region=(100, 50, 301, 203)) as source:
        assert source.size == (301, 203)
        assert np.array_equal(bgr_of(source.grab()), picture[50:253, 100:401])


def test_encoder_and_canvas_reproduce_the_screen(screen: str, picture: Rgb, tmp_path: Path) -> None:
    with open_source(display=screen) as source:
        width, height = source.size
        encoder = TileEncoder(width, height)
        canvas = Canvas()
        grabbed = source.grab()
        payload = encoder.encode(grabbed, keyframe=True, seq=0, capture_ns=time.time_ns())
        assert payload is not None
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), grabbed)  # X byte included
        assert np.array_equal(np.asarray(canvas.to_rgb_image()), picture)

        # Nothing moved: nothing to send.
        assert encoder.encode(source.grab(), keyframe=False, seq=1, capture_ns=0) is None

        # Change a 100x30 box (typing-sized) and send only that box.
        changed = picture.copy()
        changed[700:730, 1000:1100] = random_rgb(100, 30, seed=2)
        paint(screen, changed, tmp_path, source)
        payload = encoder.encode(source.grab(), keyframe=False, seq=2, capture_ns=0)
        assert payload is not None
        rects = [(r.x, r.y, r.w, r.h) for r in parse_frame(payload)[1]]
        assert rects == [(1000, 700, 100, 30)]
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), source.grab())
        assert np.array_equal(np.asarray(canvas.to_rgb_image()), changed)

        canvas.save_png(tmp_path / "viewer.png")
        with Image.open(tmp_path / "viewer.png") as saved:
            assert np.array_equal(np.asarray(saved), changed)


def test_close_with_a_picture_still_held(screen: str, picture: Rgb) -> None:
    source = MssSource(display=screen)
    held = source.grab()
    source.close()
    source.close()
    # The mapping lives on with the picture that still refers to it.
    assert np.array_equal(bgr_of(held), picture)
    with pytest.raises(CaptureError):
        source.grab()


def test_bad_monitor_region_and_display(screen: str) -> None:
    with pytest.raises(CaptureError, match="monitor"):
        MssSource(monitor=5, display=screen)
    with pytest.raises(ValueError, match="region"):
        MssSource(region=(1200, 0, 100, 10), display=screen)
    with pytest.raises(ValueError, match="region"):
        MssSource(region=(0, 0, 0, 10), display=screen)
    with pytest.raises(CaptureError, match="cannot open"):
        MssSource(display=":65000")
