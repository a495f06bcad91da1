"""The presenter's frames as a viewer receives them: open, check, decode, show.

Used by every participant's viewer and by the organizer's host while someone
else presents. A frame is refused (reported, skipped) unless it authenticates
under a known epoch, comes from the presenter the relay last announced, and
its key frame flags agree inside and outside the encryption. While the
presenter hides the screen, pictures still in flight are not shown.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import anyio

from protocol import messages
from protocol.errors import RemoteProtocolError
from protocol.frames import (
    FLAG_HIDDEN,
    FLAG_PAUSED,
    Encoding,
    FrameHeader,
    frame_is_keyframe,
    frame_status,
    parse_frame,
)
from protocol.keys import EpochRing
from protocol.sframe import ReceiverCipher
from protocol.wire import FLAG_KEYFRAME, ORGANIZER_MEMBER, PresenterReason, Tag
from viewer_app.decoder import Canvas
from viewer_app.events import EventSink
from viewer_app.picture import status_notice

#: Marks a status frame in decode()'s result even when no flag is set (resumed).
STATUS_CHANGE = 0x100


class FrameSink(Protocol):
    """Where composed pictures go."""

    def show(self, canvas: Canvas, header: FrameHeader) -> None: ...

    def status(self, *, paused: bool, hidden: bool) -> None: ...


class PngSaver:
    """Writes each composed picture as ``frame-<n>.png`` in a directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.saved = 0

    def show(self, canvas: Canvas, header: FrameHeader) -> None:
        # Numbered in the order written: a presenter's seq restarts with each presenter.
        self.saved += 1
        canvas.save_png(self.directory / f"frame-{self.saved:08d}.png")

    def status(self, *, paused: bool, hidden: bool) -> None:
        """Files keep the last picture; the event stream tells the status."""


class FrameReceiver:
    """One viewer's picture of whoever presents."""

    def __init__(self, session_id: int, ring: EpochRing, events: EventSink) -> None:
        self._cipher = ReceiverCipher(session_id, ring)
        self._events = events
        self.canvas = Canvas()
        self.frames = 0
        #: Whose frames are accepted: the presenter the relay last announced.
        self.presenter = ORGANIZER_MEMBER
        #: What the presenter last said: the picture is paused / hidden.
        self.paused = False
        self.hidden = False
        #: Nanoseconds the last picture took to open, decode and compose.
        self.work_ns = 0

    def presenter_changed(self, change: messages.PresenterChanged, me: int) -> None:
        """Follow the relay's announcement, and report it; ``me`` is this member's id.

        A new presenter's first frame will be a key frame on a fresh canvas.
        """
        self._events.emit(
            "presenter_changed",
            presenter=change.presenter,
            subject=change.subject,
            reason=PresenterReason(change.reason).name.lower(),
            mine=change.presenter == me,
        )
        presenter = change.presenter
        if presenter != self.presenter:
            self.presenter = presenter
            self.canvas = Canvas()
            self.paused = self.hidden = False

    async def on_frame(self, data: bytes, frames: FrameSink | None) -> None:
        """Open, check and show one sealed frame; a bad one is reported and skipped."""

        def decode() -> tuple[FrameHeader, int, int]:
            started = time.perf_counter_ns()
            sealed, plaintext = self._cipher.open(data)
            if sealed.tag is not Tag.FRAME or sealed.sender != self.presenter:
                raise RemoteProtocolError("a sealed message that is not the presenter's frame")
            if bool(sealed.flags & FLAG_KEYFRAME) != frame_is_keyframe(plaintext):
                raise RemoteProtocolError("key frame flags of header and payload disagree")
            status = frame_status(plaintext)
            if status or (sealed.flags & FLAG_KEYFRAME and not parse_frame(plaintext)[1]):
                header, _rects, _blob = parse_frame(plaintext)
                return header, time.time_ns(), status | STATUS_CHANGE
            if self.hidden:
                raise RemoteProtocolError("a picture while the presenter hides the screen")
            header = self.canvas.apply(plaintext)
            decoded_ns = time.time_ns()
            self.work_ns = time.perf_counter_ns() - started
            if frames is not None:
                frames.show(self.canvas, header)
            return header, decoded_ns, 0

        try:
            header, decoded_ns, status = await anyio.to_thread.run_sync(decode)
        except RemoteProtocolError as exc:
            # A frame we cannot use (stale epoch, corrupt): skip it and say so.
            self._events.emit("frame_dropped", reason=exc.text)
            return
        if status:
            self._on_status(status, frames)
            return
        self.frames += 1
        rects = self.canvas.last_rects
        self._events.emit(
            "frame",
            seq=header.seq,
            keyframe=header.keyframe,
            bytes=len(data),
            width=header.width,
            height=header.height,
            rects=len(rects),
            pixels=sum(r.w * r.h for r in rects if r.encoding != Encoding.COPY),
            moved=sum(r.w * r.h for r in rects if r.encoding == Encoding.COPY),
            jpeg=sum(1 for r in rects if r.encoding == Encoding.JPEG),
            latency_ms=round((decoded_ns - header.capture_ns) / 1e6, 3),
            decode_ms=round(self.work_ns / 1e6, 3),
        )

    def _on_status(self, status: int, frames: FrameSink | None) -> None:
        self.paused = bool(status & FLAG_PAUSED)
        self.hidden = bool(status & FLAG_HIDDEN)
        if frames is not None:
            frames.status(paused=self.paused, hidden=self.hidden)
        human = status_notice(paused=self.paused, hidden=self.hidden)
        self._events.emit(
            "presenter",
            human or "The presenter is sharing again.",
            paused=self.paused,
            hidden=self.hidden,
        )
