"""The viewer's window: Tk on the main thread, the session on a portal thread.

The session thread hands over the newest picture only (a slot, not a queue);
the window polls the slot and draws whatever is newest, so a slow window never
slows decoding or backs anything up. Closing the window leaves the session.

When the organizer asks this participant to present (or, while it presents,
to control its screen), a consent window asks the person here: the host's
`TkConsentPrompt` (keyboard-usable, focus on Decline, Accept armed after a
moment, expiring to Decline), on a Tk thread of its own.
"""

from __future__ import annotations

import threading
import tkinter as tk
from concurrent.futures import CancelledError, Future
from typing import Final

from anyio.from_thread import start_blocking_portal
from PIL import Image, ImageTk

from host_app.prompt import TkConsentPrompt
from protocol.frames import FrameHeader
from viewer_app.decoder import Canvas
from viewer_app.events import EventSink
from viewer_app.picture import SCREEN_SHARE, fit, status_notice
from viewer_app.running import report_or_raise
from viewer_app.session import JoinTarget, ViewerOptions, join

#: Milliseconds between two looks at the picture slot (about 60 per second).
POLL_MS: Final = 16


class LatestPicture:
    """A one-picture slot the session fills and the window empties."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._image: Image.Image | None = None
        self.title = "screenrelay"
        #: A notice to show over the picture ("" for none).
        self.notice = ""

    def show(self, canvas: Canvas, header: FrameHeader) -> None:
        image = canvas.to_rgb_image()
        with self._lock:
            self._image = image

    def status(self, *, paused: bool, hidden: bool) -> None:
        with self._lock:
            self.notice = status_notice(paused=paused, hidden=hidden)
            if hidden:
                self._image = None

    def take(self) -> Image.Image | None:
        with self._lock:
            image, self._image = self._image, None
        return image


def run_with_window(target: JoinTarget, sink: EventSink, options: ViewerOptions) -> int:
    """Join and show the presenter's screen in a window until either side ends."""
    slot = LatestPicture()
    prompt = TkConsentPrompt()

    async def session() -> None:
        viewer = await join(
            target,
            sink,
            cafile=options.cafile,
            tls_fingerprint=options.tls_fingerprint,
            prompt=prompt,
            consent_timeout=options.consent_timeout,
            account=options.account,
        )
        try:
            await viewer.run(slot, options)
        finally:
            await viewer.close()

    root = tk.Tk()
    root.title(f"screenrelay: session {target.session_id:09d}")
    label = tk.Label(
        root, text="Waiting for the presenter's screen...", bg="black", fg="white", borderwidth=0
    )
    label.pack(fill=tk.BOTH, expand=True)
    photo: list[ImageTk.PhotoImage] = []

    with start_blocking_portal() as portal:
        future: Future[None] = portal.start_task_soon(session)

        def poll() -> None:
            if future.done():
                root.destroy()
                return
            image = slot.take()
            notice = slot.notice
            if notice and label.cget("text") != notice:
                label.configure(text=notice, compound=tk.CENTER, fg="yellow")
            elif not notice and label.cget("text"):
                label.configure(text="")
            if image is not None:
                if not photo:  # first picture: size the window to it, within the screen
                    image = fit(
                        image,
                        int(root.winfo_screenwidth() * SCREEN_SHARE),
                        int(root.winfo_screenheight() * SCREEN_SHARE),
                    )
                    root.geometry(f"{image.width}x{image.height}")
                else:  # later: fit the window as the user sized it
                    image = fit(image, label.winfo_width(), label.winfo_height())
                photo[:] = [ImageTk.PhotoImage(image)]
                label.configure(image=photo[0])
            root.after(POLL_MS, poll)

        root.protocol("WM_DELETE_WINDOW", lambda: future.cancel())
        root.after(POLL_MS, poll)
        try:
            root.mainloop()
        finally:
            prompt.close()
        try:
            future.result()
        except CancelledError:
            return 0
        except BaseException as exc:
            return report_or_raise(sink, exc)
    return 0
