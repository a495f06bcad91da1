"""Known pictures on a real X display, for end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = npt.NDArray[np.uint8]

#: Where the incompressible canary block sits in every desktop picture.
CANARY_BOX = (64, 64, 256, 128)  # left, top, width, height


def desktop_picture(width: int, height: int, seed: int) -> RGB:
    """A desktop-like picture: flat background, text-like strokes, one noise block.

    The noise block (CANARY_BOX) does not compress, so its raw bytes would
    appear verbatim in any stream that carried the picture unencrypted.
    """
    rng = np.random.default_rng(seed)
    picture = np.empty((height, width, 3), np.uint8)
    picture[:] = (236, 240, 244)
    for row in range(220, height - 20, 18):
        for col in range(40, width - 200, 90):
            length = int(rng.integers(20, 80))
            picture[row : row + 9, col : col + length] = (30, 30, 30)
            picture[row + 3 : row + 5, col : col + length : 3] = (236, 240, 244)
    left, top, w, h = CANARY_BOX
    picture[top : top + h, left : left + w] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return picture


def show(display: str, picture: RGB, path: Path) -> None:
    """Make ``picture`` the root window's background on ``display``."""
    Image.fromarray(picture).save(path)
    # ImageMagick's display exits 1 after setting the root background even
    # when it worked; the tests check the pixels, not the status.
    subprocess.run(
        ["display", "-window", "root", str(path)],
        env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        check=False,
        capture_output=True,
        timeout=30,
    )


def canary_row_bytes(picture: RGB, row: int = 10) -> bytes:
    """One row of the canary block as BGRX bytes, as a capture holds it."""
    left, top, w, _h = CANARY_BOX
    rgb = picture[top + row, left : left + w]
    bgrx = np.zeros((w, 4), np.uint8)
    bgrx[:, 0], bgrx[:, 1], bgrx[:, 2] = rgb[:, 2], rgb[:, 1], rgb[:, 0]
    return bgrx[:, :3].tobytes()  # compare colour bytes only: the X byte varies


def contains_canary(blob: bytes, picture: RGB) -> bool:
    """Whether ``blob`` holds 48 consecutive canary bytes in BGR, BGRX, RGB or RGBA order."""
    left, top, _w, _h = CANARY_BOX
    rgb = picture[top + 10, left : left + 16]
    needles = [
        rgb.tobytes(),
        rgb[:, ::-1].tobytes(),
    ]
    for alpha in (0, 255):
        four = np.full((16, 4), alpha, np.uint8)
        four[:, :3] = rgb[:, ::-1]
        needles.append(four.tobytes())
        four[:, :3] = rgb
        needles.append(four.tobytes())
    return any(needle[:48] in blob for needle in needles)


ANIMATOR = Path(__file__).with_name("animate.py")


def start_animator(
    display: str, box: tuple[int, int, int, int], fps: float
) -> subprocess.Popen[bytes]:
    """A Tk window at ``box`` whose pixels change ``fps`` times a second."""
    left, top, width, height = box
    return subprocess.Popen(
        [sys.executable, str(ANIMATOR), str(left), str(top), str(width), str(height), str(fps)],
        env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def grab_rgb(display: str, box: tuple[int, int, int, int]) -> RGB:
    """The pixels of ``box`` (left, top, width, height) on ``display``, as RGB."""
    import mss

    left, top, width, height = box
    with mss.MSS(display=display) as grabber:
        shot = grabber.grab({"left": left, "top": top, "width": width, "height": height})
        bgra = np.frombuffer(shot.raw, np.uint8).reshape(height, width, 4)
        return np.ascontiguousarray(bgra[:, :, 2::-1])


def window_box(display: str, title: str) -> tuple[int, int, int, int] | None:
    """Where the window named ``title`` is, or None."""
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        ["xdotool", "search", "--name", title], env=env, capture_output=True, text=True, check=False
    )
    if not found.stdout.split():
        return None
    window = found.stdout.split()[0]
    geometry = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", window],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if geometry.returncode != 0:  # the window went away between the two calls
        return None
    values = dict(line.split("=", 1) for line in geometry.stdout.split())
    if not {"X", "Y", "WIDTH", "HEIGHT"} <= values.keys():
        return None
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


def wait_for_window(
    display: str, title: str, size: tuple[int, int], expected: RGB, timeout: float = 20.0
) -> RGB:
    """The window's pixels once it has ``size`` and shows ``expected`` (or the last seen)."""
    import time

    deadline = time.monotonic() + timeout
    shown = np.zeros_like(expected)
    while time.monotonic() < deadline:
        box = window_box(display, title)
        if box is not None and box[2:] == size:
            shown = grab_rgb(display, box)
            if np.array_equal(shown, expected):
                break
        time.sleep(0.2)
    return shown


#: Where ``document_picture`` shows its page: left, top, width, height.
DOCUMENT_BOX = (160, 120, 900, 500)


def text_page(width: int, height: int, seed: int) -> RGB:
    """A long page of real text (Pillow's bitmap font), a line every 16 rows."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    words = ["scroll", "relay", "screen", "the", "of", "tile", "move", "frame", "copy", "a"]
    image = Image.new("RGB", (width, height), (252, 252, 250))
    draw = ImageDraw.Draw(image)
    for n, top in enumerate(range(4, height - 16, 16)):
        text = f"{n:4d}  " + " ".join(rng.choice(words, size=int(rng.integers(3, 16))))
        draw.text((8, top), text, fill=(20, 20, 30))
    return np.asarray(image)


def document_picture(width: int, height: int, offset: int, seed: int = 0) -> RGB:
    """A desktop with a document window (``DOCUMENT_BOX``) scrolled down by
    ``offset`` rows of a long page: scroll it by showing another offset."""
    picture = desktop_picture(width, height, seed)
    left, top, w, h = DOCUMENT_BOX
    page = text_page(w, h + 2000, seed)
    picture[top : top + h, left : left + w] = page[offset : offset + h]
    return picture
