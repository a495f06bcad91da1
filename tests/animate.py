"""A window whose picture changes every frame: ``animate.py LEFT TOP W H FPS``.

Run under a test's Xvfb to give the host a screen that keeps changing.
"""

from __future__ import annotations

import sys
import tkinter as tk

import numpy as np
from PIL import Image, ImageTk


def main() -> None:
    left, top, width, height = (int(v) for v in sys.argv[1:5])
    interval = max(1, int(1000 / float(sys.argv[5])))
    root = tk.Tk()
    root.overrideredirect(True)
    root.geometry(f"{width}x{height}+{left}+{top}")
    label = tk.Label(root, borderwidth=0)
    label.pack()
    rng = np.random.default_rng(7)
    keep: list[ImageTk.PhotoImage] = []

    def step() -> None:
        noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        keep[:] = [ImageTk.PhotoImage(Image.fromarray(noise))]
        label.configure(image=keep[0])
        root.after(interval, step)

    step()
    root.mainloop()


if __name__ == "__main__":
    main()
