"""The organizer's view of a participant who presents, on the prompt's Tk thread.

Newest picture wins: the decode thread leaves the latest picture in a slot
and posts one update; a slow window never queues pictures up.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from PIL import Image

from host_app.prompt import TkConsentPrompt
from protocol.frames import FrameHeader
from viewer_app.decoder import Canvas
from viewer_app.picture import SCREEN_SHARE, fit, status_notice

#: The title people and tests find the window by.
TITLE: Final = "screenrelay: presenting"


class PictureWindow:
    """A FrameSink that shows pictures in a Tk window (created on first picture)."""

    def __init__(self, prompt: TkConsentPrompt) -> None:
        self._prompt = prompt
        self._lock = threading.Lock()
        self._latest: Image.Image | None = None
        self._posted = False
        self._notice = ""
        self._top: Any = None
        self._label: Any = None
        self._photo: Any = None

    def show(self, canvas: Canvas, header: FrameHeader) -> None:
        image = canvas.to_rgb_image()  # on the decode thread
        with self._lock:
            self._latest = image
            post, self._posted = not self._posted, True
        if post:
            self._prompt.post(self._draw)

    def status(self, *, paused: bool, hidden: bool) -> None:
        with self._lock:
            self._notice = status_notice(paused=paused, hidden=hidden)
            post, self._posted = not self._posted, True
        if post:
            self._prompt.post(self._draw)

    def close(self) -> None:
        self._prompt.post(self._withdraw)

    def _withdraw(self, _root: Any) -> None:
        if self._top is not None:
            self._top.destroy()
            self._top = self._label = self._photo = None

    def _draw(self, root: Any) -> None:  # on the Tk thread
        import tkinter as tk

        from PIL import ImageTk

        with self._lock:
            image, self._latest = self._latest, None
            notice = self._notice
            self._posted = False
        if self._top is None:
            self._top = tk.Toplevel(root)
            self._top.title(TITLE)
            self._label = tk.Label(self._top, bg="black", fg="yellow", borderwidth=0,
                                   compound=tk.CENTER)  # fmt: skip
            self._label.pack(fill=tk.BOTH, expand=True)
        if image is not None:
            image = fit(
                image,
                int(root.winfo_screenwidth() * SCREEN_SHARE),
                int(root.winfo_screenheight() * SCREEN_SHARE),
            )
            self._photo = ImageTk.PhotoImage(image)
            self._label.configure(image=self._photo)
        self._label.configure(text=notice)
