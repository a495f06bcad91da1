"""Screens that change at a steady rate, for ``benchmarks.e2e_latency`` and ``vnc_compare``.

    python -m benchmarks.scene typing --rate 10        # one character changes
    python -m benchmarks.scene fullscreen --rate 4     # the whole screen changes
    python -m benchmarks.scene scroll --rate 15 --stamp

Run with ``DISPLAY`` set. ``typing`` shows a small Tk label in which one
character (the last) steps through the alphabet ``rate`` times a second, as
when someone types; ``fullscreen`` covers the whole screen with a window that
alternates between two desktop-like pictures (``tests.scenes.desktop_picture``:
flat colours and text-like strokes) ``rate`` times a second; ``scroll`` moves a
long text-like document up by ``SCROLL_STEP`` pixels in a 1000x800 window;
``drag`` moves a 480x320 window across the screen by ``DRAG_STEP`` pixels and
back; ``video`` plays moving gradients with a moving block of noise in a
640x360 area. Each prints one JSON line ``{"event": "ready"}`` once its first
picture is on the screen and runs until it is terminated.

With ``--stamp``, every change also draws the wall-clock time
(``benchmarks.stamp``) in a small box at ``STAMP_AT``, above every window, in
the same X request batch as the change and after it, so a viewer that reads
the box from its decoded picture knows how old the picture is; and the
changes come at random intervals (0.5 to 1.5 times 1/rate, mean 1/rate), so
that their phase against a viewer's polling period is random rather than
fixed for a whole measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import string
import sys
import time
import tkinter as tk
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageTk

from benchmarks import stamp
from tests.scenes import CANARY_BOX, desktop_picture

#: Where the typing label sits (left, top): on the desktop, clear of the canary.
TYPING_AT: Final = (600, 300)
#: The label's fixed text; the character after it is the one that changes.
TYPING_TEXT: Final = "Dear team, the build is gree"
#: Seeds of the two pictures the fullscreen scene alternates between.
FULLSCREEN_SEEDS: Final = (11, 12)
#: Where the time stamp box sits (left, top): top right, on the 8-pixel grid.
STAMP_AT: Final = (1840, 16)
#: The scroll window (left, top, width, height), its document's height, pixels per step.
SCROLL_BOX: Final = (460, 140, 1000, 800)
SCROLL_DOCUMENT: Final = 4000
SCROLL_STEP: Final = 20
#: The dragged window's size, its path (left from, left to, top), pixels per step.
DRAG_SIZE: Final = (480, 320)
DRAG_PATH: Final = (100, 1300, 500)
DRAG_STEP: Final = 16
#: The video area (left, top, width, height) and how many distinct pictures it loops.
VIDEO_BOX: Final = (1120, 600, 640, 360)
VIDEO_FRAMES: Final = 60
#: Colour of the desktop behind text-like strokes.
PAPER: Final = (236, 240, 244)

#: Seed of the random intervals between changes (with ``--stamp``).
JITTER_SEED: Final = 5

#: Called after each change, once the change is drawn.
AfterStep = Callable[[], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Pace:
    """When a scene changes: ``rate`` times a second, at random intervals if ``jitter``."""

    rate: float
    jitter: bool
    #: Called after each change.
    after: AfterStep


def every(root: tk.Tk, pace: Pace, step: Callable[[int], None]) -> None:
    """Call ``step(0)``, ``step(1)``, ... as ``pace`` says, each followed by ``pace.after``.

    With ``pace.jitter`` the intervals are random, uniform in 0.5 to 1.5 times
    1/rate, so that a change's phase against a poller's period is random.
    """
    interval = 1000 / pace.rate
    rng = np.random.default_rng(JITTER_SEED)
    count = 0

    def tick() -> None:
        nonlocal count
        step(count)
        pace.after()
        count += 1
        scale = rng.uniform(0.5, 1.5) if pace.jitter else 1.0
        root.after(max(1, round(interval * scale)), tick)

    tick()


class StampBox:
    """A small window above all others showing the time it was last marked."""

    def __init__(self, root: tk.Tk) -> None:
        self._window = tk.Toplevel(root)
        self._window.overrideredirect(True)
        left, top = STAMP_AT
        self._window.geometry(f"{stamp.STAMP_W}x{stamp.STAMP_H}+{left}+{top}")
        self._photo = ImageTk.PhotoImage("L", (stamp.STAMP_W, stamp.STAMP_H))
        label = tk.Label(self._window, image=self._photo, borderwidth=0, highlightthickness=0)
        label.pack()
        self._root = root

    def mark(self) -> None:
        """Draw the scene's pending change, then the time, and raise the box."""
        self._root.update_idletasks()
        self._photo.paste(Image.fromarray(stamp.draw(stamp.units_of(time.time_ns()))))
        self._window.lift()
        self._window.update_idletasks()


def typing_scene(root: tk.Tk, pace: Pace) -> None:
    """A label whose last character changes ``rate`` times a second."""
    left, top = TYPING_AT
    root.geometry(f"+{left}+{top}")
    label = tk.Label(
        root, font="TkFixedFont", bg="#eceff4", fg="#1e1e1e", borderwidth=0, anchor="w"
    )
    label.pack()
    letters = string.ascii_lowercase

    def step(count: int) -> None:
        label.configure(text=TYPING_TEXT + letters[count % len(letters)])

    every(root, pace, step)


def fullscreen_scene(root: tk.Tk, pace: Pace) -> None:
    """A window over the whole screen alternating between two pictures."""
    width, height = root.winfo_screenwidth(), root.winfo_screenheight()
    root.geometry(f"{width}x{height}+0+0")
    images = [
        ImageTk.PhotoImage(Image.fromarray(desktop_picture(width, height, seed)))
        for seed in FULLSCREEN_SEEDS
    ]
    label = tk.Label(root, borderwidth=0, highlightthickness=0)
    label.pack()

    def step(count: int) -> None:
        label.configure(image=images[count % len(images)])

    every(root, pace, step)


def document_picture(width: int, height: int, seed: int) -> npt.NDArray[np.uint8]:
    """Text-like strokes on flat paper, without the desktop picture's noise block."""
    picture = desktop_picture(width, height, seed)
    left, top, w, h = CANARY_BOX
    picture[top : top + h, left : left + w] = PAPER
    return picture


def scroll_scene(root: tk.Tk, pace: Pace) -> None:
    """A long document scrolled up by ``SCROLL_STEP`` pixels per change, wrapping."""
    left, top, width, height = SCROLL_BOX
    root.geometry(f"{width}x{height}+{left}+{top}")
    canvas = tk.Canvas(root, width=width, height=height, borderwidth=0, highlightthickness=0)
    canvas.pack()
    document = ImageTk.PhotoImage(
        Image.fromarray(document_picture(width, SCROLL_DOCUMENT, seed=21))
    )
    item = canvas.create_image(0, 0, image=document, anchor="nw")
    travel = SCROLL_DOCUMENT - height

    def step(count: int) -> None:
        canvas.coords(item, 0, -((count * SCROLL_STEP) % travel))

    root.document = document  # type: ignore[attr-defined]  # keep the image alive
    every(root, pace, step)


def drag_scene(root: tk.Tk, pace: Pace) -> None:
    """A window moved by ``DRAG_STEP`` pixels per change, to and fro along ``DRAG_PATH``."""
    width, height = DRAG_SIZE
    start, end, top = DRAG_PATH
    top_of_text = 220  # where desktop_picture's strokes begin
    picture = document_picture(width, height + top_of_text, seed=31)[top_of_text:]
    picture[:28] = (52, 101, 164)  # a title bar
    image = ImageTk.PhotoImage(Image.fromarray(picture))
    label = tk.Label(root, image=image, borderwidth=0, highlightthickness=0)
    label.pack()
    root.geometry(f"{width}x{height}+{start}+{top}")
    span = end - start

    def step(count: int) -> None:
        offset = (count * DRAG_STEP) % (2 * span)
        left = start + (offset if offset <= span else 2 * span - offset)
        root.geometry(f"+{left}+{top}")

    root.picture = image  # type: ignore[attr-defined]  # keep the image alive
    every(root, pace, step)


def video_frames(width: int, height: int, count: int) -> list[npt.NDArray[np.uint8]]:
    """Moving colour gradients with a 160x90 block of noise wandering over them."""
    rng = np.random.default_rng(41)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for k in range(count):
        phase = 2 * np.pi * k / count
        channels = [
            127 + 120 * np.sin(x / (60 + 25 * c) + y / (90 - 20 * c) + phase * (c + 1))
            for c in range(3)
        ]
        frame = np.stack(channels, axis=2).astype(np.uint8)
        bx = int((width - 160) * k / count)
        by = int((height - 90) * (0.5 + 0.5 * np.sin(phase)))
        frame[by : by + 90, bx : bx + 160] = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
        frames.append(frame)
    return frames


def video_scene(root: tk.Tk, pace: Pace) -> None:
    """A 640x360 area showing a new picture each change, like a playing video."""
    left, top, width, height = VIDEO_BOX
    root.geometry(f"{width}x{height}+{left}+{top}")
    images = [
        ImageTk.PhotoImage(Image.fromarray(f)) for f in video_frames(width, height, VIDEO_FRAMES)
    ]
    label = tk.Label(root, borderwidth=0, highlightthickness=0)
    label.pack()

    def step(count: int) -> None:
        label.configure(image=images[count % len(images)])

    every(root, pace, step)


SCENES: Final[dict[str, Callable[[tk.Tk, Pace], None]]] = {
    "typing": typing_scene,
    "fullscreen": fullscreen_scene,
    "scroll": scroll_scene,
    "drag": drag_scene,
    "video": video_scene,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", choices=sorted(SCENES))
    parser.add_argument("--rate", type=float, required=True, help="changes per second")
    parser.add_argument("--stamp", action="store_true", help="draw the time with each change")
    args = parser.parse_args(argv)
    root = tk.Tk()
    root.overrideredirect(True)
    after: AfterStep = StampBox(root).mark if args.stamp else (lambda: None)
    SCENES[args.scene](root, Pace(args.rate, jitter=args.stamp, after=after))
    root.update()
    sys.stdout.write(json.dumps({"event": "ready"}) + "\n")
    sys.stdout.flush()
    root.mainloop()


if __name__ == "__main__":
    main()
