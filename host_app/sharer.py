"""Sharing one screen while this machine presents: capture, encode, hand to a sender.

Used by the organizer's host and by a participant who accepted to present.
Rules (MISSION.md rule 6):
  1. Nothing is captured unless someone watches, and never while paused or
     hidden; a capture already under way when the presenter pauses or hides
     is discarded, not sent.
  2. Viewers learn of a pause, a hide or a resume from a status frame, sent
     as a key frame (the relay never drops it). A viewer that joins while
     paused gets the status frame again.
  3. Capture and encoding run on one worker thread into reused buffers; the
     event loop only seals and sends.
  4. An idle screen is not grabbed: before each grab the worker asks a
     ``ChangeWatcher`` (host_app/damage.py: the X server's DAMAGE reports)
     whether anything was drawn; a key frame is always grabbed. The
     rectangles drawn go to the encoder as a hint (only the tiles they touch
     are diffed; the watcher's periodic full check diffs everything).
  5. Pacing follows the drawing: with an event-driven watcher (DAMAGE) the
     worker waits on the X connection and the grab starts as soon as
     something is drawn, but never sooner than 1/``fps`` after the last
     grab began. ``request_keyframe`` and ``set_status`` wake that wait; it
     also ends every ``MAX_WAIT`` seconds so the loop looks again at the
     audience. Without DAMAGE (``PollingWatcher``) the loop ticks at ``fps``.
  6. A grab woken by drawing starts ``SETTLE`` seconds after the first
     damage report, not at once: an application draws one change in several
     requests (a character, then the cursor; a line, then the status bar),
     and a grab between them would send half the change now and the rest a
     frame cap (1/fps) later. Measured on typing (benchmarks.vnc_compare,
     drawn-to-decoded): 36-37 ms median without the wait, 7.7 ms with 3 ms.
  7. With lossy tiles on, a tile sent as JPEG is sent again exactly once it
     has not changed for ``encoder.REFRESH_AFTER`` seconds
     (``TileEncoder.refresh``, from the encoder's exact copy: no grab); the
     wait for drawing ends when such a refresh is due.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

from host_app.capture import ScreenSource, open_source
from host_app.damage import ChangeWatcher, PollingWatcher, clip, open_watcher
from host_app.encoder import TileEncoder
from host_app.worker import WorkerThread
from protocol.frames import status_frame
from viewer_app.events import EventSink

#: Seals and sends one frame payload; returns the bytes sent.
SendFrame = Callable[[bytes, bool], Awaitable[int]]

#: Longest wait for drawing before the loop looks at its state again (rule 5).
MAX_WAIT: Final = 0.25
#: Seconds between the first damage report and the grab (rule 6).
SETTLE: Final = 0.003


class ScreenSharer:
    """One monitor or region, shared while ``run`` runs."""

    def __init__(
        self,
        *,
        send_frame: SendFrame,
        events: EventSink,
        audience: Callable[[], bool],
        monitor: int = 1,
        region: tuple[int, int, int, int] | None = None,
        fps: float = 30.0,
        on_area: Callable[[tuple[int, int], tuple[int, int]], None] | None = None,
        watch_damage: bool = True,
        lossy: bool = False,
    ) -> None:
        self._send_frame = send_frame
        self._events = events
        self._audience = audience
        self._monitor = monitor
        self._region = region
        self._fps = fps
        self._on_area = on_area
        self._watch_damage = watch_damage
        #: Photo-like areas may go as JPEG (host_app/lossy.py decided).
        self.lossy = lossy
        #: Ticks whose grab was skipped because nothing was drawn.
        self.skipped_grabs = 0
        #: The presenter paused / hid the picture.
        self.paused = False
        self.hidden = False
        #: Grabs made (key frames included).
        self.grabs = 0
        self._status_due = False
        self._want_keyframe = True
        self._watcher: ChangeWatcher = PollingWatcher()

    def request_keyframe(self) -> None:
        self._want_keyframe = True
        self._watcher.wake()

    def set_status(self, *, paused: bool | None = None, hidden: bool | None = None) -> None:
        """Pause or hide (or resume, show); takes effect before the next grab."""
        if paused is not None:
            self.paused = paused
        if hidden is not None:
            self.hidden = hidden
        self._status_due = True
        self._want_keyframe = True
        self._watcher.wake()
        self._events.emit(
            "sharing_status",
            "Hidden." if self.hidden else "Paused." if self.paused else "Sharing again.",
            paused=self.paused,
            hidden=self.hidden,
        )

    async def run(self) -> None:
        """Share until cancelled."""
        worker = WorkerThread("capture")
        try:
            source = await worker.run(
                lambda: open_source(monitor=self._monitor, region=self._region)
            )
            watcher: ChangeWatcher = PollingWatcher()
            try:
                if self._watch_damage:
                    watcher = await worker.run(open_watcher)
                self._watcher = watcher
                width, height = source.size
                if self._on_area is not None:
                    self._on_area(source.origin, source.size)
                self._events.emit(
                    "sharing", f"Sharing a {width}x{height} screen.", width=width, height=height
                )
                self._want_keyframe = True
                encoder = TileEncoder(width, height, lossy=self.lossy)
                await self._loop(worker, source, watcher, encoder)
            finally:
                self._watcher = PollingWatcher()
                watcher.wake()  # a wait under way on the worker ends now
                with anyio.CancelScope(shield=True):
                    await worker.run(watcher.close)
                    await worker.run(source.close)
        finally:
            worker.close()

    async def _loop(
        self,
        worker: WorkerThread,
        source: ScreenSource,
        watcher: ChangeWatcher,
        encoder: TileEncoder,
    ) -> None:
        interval = 1.0 / self._fps
        width, height = source.size
        area = (*source.origin, width, height)
        seq = 0
        last_grab = float("-inf")
        while True:
            started = time.monotonic()
            still = self.paused or self.hidden
            if not self._audience():
                self._want_keyframe = True
            elif self._status_due or (still and self._want_keyframe):
                self._status_due = self._want_keyframe = False
                notice = status_frame(
                    seq, time.time_ns(), width, height, paused=self.paused, hidden=self.hidden
                )
                await self._sent(notice, seq, keyframe=True)
                seq += 1
                if not still:
                    self._want_keyframe = True
            elif not still:
                if watcher.event_driven:
                    # Rule 5: no sooner than the frame cap, then until drawn.
                    pause = last_grab + interval - time.monotonic()
                    if pause > 0:
                        await anyio.sleep(pause)
                        continue  # look at the state again
                    if not self._want_keyframe and not await self._drawn_or_due(
                        worker, watcher, encoder
                    ):
                        continue  # woken, or nothing to send: look at the state again
                keyframe, self._want_keyframe = self._want_keyframe, False

                def capture(keyframe: bool = keyframe, seq: int = seq) -> bytes | None:
                    if watcher.event_driven and not keyframe:
                        time.sleep(SETTLE)  # rule 6: let the rest of the drawing land
                    payload = None
                    if not watcher.changed(time.monotonic()) and not keyframe:
                        self.skipped_grabs += 1
                    elif (damage := None if keyframe else clip(watcher.damage, area)) == []:
                        self.skipped_grabs += 1  # drawn, but outside the shared area
                    else:
                        capture_ns = time.time_ns()
                        self.grabs += 1
                        payload = encoder.encode(
                            source.grab(),
                            keyframe=keyframe,
                            seq=seq,
                            capture_ns=capture_ns,
                            damage=damage,
                        )
                    if payload is None and not keyframe:  # rule 7
                        payload = encoder.refresh(
                            seq=seq, capture_ns=time.time_ns(), now=time.monotonic()
                        )
                    return payload

                last_grab = time.monotonic()
                payload = await worker.run(capture)
                # Paused or hidden while that capture ran: it stays here.
                if payload is not None and not (self.paused or self.hidden or self._status_due):
                    await self._sent(payload, seq, keyframe=keyframe)
                    seq += 1
                elif payload is not None:
                    self._want_keyframe = True  # the encoder moved on; resync later
                if watcher.event_driven:
                    continue
            await anyio.sleep(max(0.0, started + interval - time.monotonic()))

    async def _drawn_or_due(
        self, worker: WorkerThread, watcher: ChangeWatcher, encoder: TileEncoder
    ) -> bool:
        """Wait until something is drawn or a refresh of JPEG tiles is due
        (rule 7), at most ``MAX_WAIT``; False if woken for anything else."""
        due = encoder.refresh_due_in(time.monotonic())
        timeout = MAX_WAIT if due is None else min(MAX_WAIT, due)
        drawn = await worker.run(lambda: watcher.wait(timeout, time.monotonic()))
        if self._interrupted():
            return False
        return drawn or encoder.refresh_due_in(time.monotonic()) == 0.0

    def _interrupted(self) -> bool:
        """Something other than drawing needs the loop (rule 5's wake-ups)."""
        return (
            self._want_keyframe
            or self._status_due
            or self.paused
            or self.hidden
            or not self._audience()
        )

    async def _sent(self, payload: bytes, seq: int, *, keyframe: bool) -> None:
        size = await self._send_frame(payload, keyframe)
        self._events.emit("frame_sent", seq=seq, keyframe=keyframe, bytes=size)
