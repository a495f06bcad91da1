"""Screens that change at a steady rate, for ``benchmarks.e2e_latency``.

    python -m benchmarks.scene typing --rate 10        # one character changes
    python -m benchmarks.scene fullscreen --rate 4     # the whole screen changes

Run with ``DISPLAY`` set. ``typing`` shows a small Tk label in which one
character (the last) steps through the alphabet ``rate`` times a second, as
when someone types; ``fullscreen`` covers the whole screen with a window that
alternates between two desktop-like pictures (``tests.scenes.desktop_picture``:
flat colours and text-like strokes) ``rate`` times a second. Each prints one
JSON line ``{"event": "ready"}`` once its first picture is on the screen and
runs until it is terminated.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
import tkinter as tk
from collections.abc import Callable, Sequence
from typing import Final

from PIL import Image, ImageTk

from tests.scenes import desktop_picture

#: Where the typing label sits (left, top): on the desktop, clear of the canary.
TYPING_AT: Final = (600, 300)
#: The label's fixed text; the character after it is the one that changes.
TYPING_TEXT: Final = "Dear team, the build is gree"
#: Seeds of the two pictures the fullscreen scene alternates between.
FULLSCREEN_SEEDS: Final = (11, 12)


def every(root: tk.Tk, rate: float, step: Callable[[int], None]) -> None:
    """Call ``step(0)``, ``step(1)``, ... ``rate`` times a second."""
    interval = max(1, round(1000 / rate))
    count = 0

    def tick() -> None:
        nonlocal count
        step(count)
        count += 1
        root.after(interval, tick)

    tick()


def typing_scene(root: tk.Tk, rate: float) -> None:
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

    every(root, rate, step)


def fullscreen_scene(root: tk.Tk, rate: float) -> None:
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

    every(root, rate, step)


SCENES: Final[dict[str, Callable[[tk.Tk, float], None]]] = {
    "typing": typing_scene,
    "fullscreen": fullscreen_scene,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", choices=sorted(SCENES))
    parser.add_argument("--rate", type=float, required=True, help="changes per second")
    args = parser.parse_args(argv)
    root = tk.Tk()
    root.overrideredirect(True)
    SCENES[args.scene](root, args.rate)
    root.update()
    sys.stdout.write(json.dumps({"event": "ready"}) + "\n")
    sys.stdout.flush()
    root.mainloop()


if __name__ == "__main__":
    main()
