"""A window that records the input it receives: ``input_target.py LOG L T W H``.

Each pointer motion, button press and key press inside the window is
appended to LOG as one JSON line ({"kind": ..., "x": ..., "y": ...} with root
coordinates, or {"kind": "key", "keysym": ...}). It grabs keyboard focus, so
injected keys land in it. Run on a test's Xvfb as the host's screen.
"""

from __future__ import annotations

import json
import sys
import time
import tkinter as tk
from typing import TextIO


def main() -> None:
    path = sys.argv[1]
    left, top, width, height = (int(v) for v in sys.argv[2:6])
    root = tk.Tk()
    root.geometry(f"{width}x{height}+{left}+{top}")
    root.configure(bg="#dfe7ef")
    log: TextIO = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the window

    def write(record: dict[str, object]) -> None:
        log.write(json.dumps({**record, "t": time.time()}) + "\n")

    root.bind("<Motion>", lambda e: write({"kind": "motion", "x": e.x_root, "y": e.y_root}))
    root.bind(
        "<ButtonPress>",
        lambda e: write({"kind": "button", "button": e.num, "x": e.x_root, "y": e.y_root}),
    )

    entry = tk.Entry(root)  # a focusable child: keys go to the focus widget
    entry.place(x=0, y=0, width=1, height=1)
    entry.bind("<KeyPress>", lambda e: write({"kind": "key", "keysym": e.keysym}))

    def keep_focus() -> None:
        entry.focus_force()
        root.after(200, keep_focus)

    root.after(100, keep_focus)
    root.after(300, lambda: write({"kind": "ready"}))
    root.mainloop()


if __name__ == "__main__":
    main()
