"""A participant's side of a session: admission, keys, frames.

    Join ──> PakeReply ──> PakeConfirm ──> Admit ──> frames, key updates ... SessionEnded

Admission and decryption are protocol/'s; this module moves messages and
hands each decrypted picture to a FrameSink (a window, PNG files, nothing).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.frames import (
    FLAG_HIDDEN,
    FLAG_PAUSED,
    FrameHeader,
    frame_is_keyframe,
    frame_status,
    parse_frame,
)
from protocol.keys import EpochRing, unwrap_epoch_key
from protocol.pake import JoinerHandshake
from protocol.sframe import ReceiverCipher
from protocol.wire import FLAG_KEYFRAME, ORGANIZER_MEMBER, Credential, Tag
from viewer_app.commands import CommandError, parse_command
from viewer_app.control import ControlClient
from viewer_app.decoder import Canvas
from viewer_app.events import EventSink
from viewer_app.transport import EXIT_REFUSED, ClientError, RelayConnection

_M = TypeVar("_M", bound=messages.Message)

#: Marks a status frame in decode()'s result even when no flag is set (resumed).
STATUS_CHANGE = 0x100


class FrameSink(Protocol):
    """Where composed pictures go."""

    def show(self, canvas: Canvas, header: FrameHeader) -> None: ...

    def status(self, *, paused: bool, hidden: bool) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class JoinTarget:
    """Which session to join and with what secret."""

    relay_url: str
    session_id: int
    credential: Credential
    #: The normalized password bytes, or the link's 32-byte secret.
    secret: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class ViewerOptions:
    """How the viewer behaves once admitted."""

    #: Stop after this many frames (None: until the session ends).
    max_frames: int | None = None
    #: CA file for a relay with a private certificate.
    cafile: str | None = None
    #: Ask the presenter for remote control right after joining.
    request_control: bool = False


class PngSaver:
    """Writes each composed picture as ``frame-<seq>.png`` in a directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def show(self, canvas: Canvas, header: FrameHeader) -> None:
        canvas.save_png(self.directory / f"frame-{header.seq:08d}.png")

    def status(self, *, paused: bool, hidden: bool) -> None:
        """Files keep the last picture; the event stream tells the status."""


class Viewer:
    """One admitted participant receiving one presenter's screen."""

    def __init__(
        self,
        conn: RelayConnection,
        target: JoinTarget,
        member_id: int,
        ring: EpochRing,
        pairwise: bytes,
        sink: EventSink,
    ) -> None:
        self._conn = conn
        self._target = target
        self.member_id = member_id
        self._ring = ring
        self._pairwise = pairwise
        self._cipher = ReceiverCipher(target.session_id, ring)
        self._events = sink
        self.canvas = Canvas()
        self.frames = 0
        #: What the presenter last said: the picture is paused / hidden.
        self.paused = False
        self.hidden = False
        #: Remote control from this viewer.
        self.control = ControlClient(conn, target.session_id, member_id, pairwise, sink)

    async def run(
        self,
        frames: FrameSink | None,
        options: ViewerOptions,
        commands: MemoryObjectReceiveStream[str] | None = None,
    ) -> None:
        """Receive until the session ends or ``max_frames`` pictures arrived.

        ``commands``: lines of scripted commands (viewer_app/commands.py).
        """
        async with anyio.create_task_group() as tg:
            if options.request_control:
                await self.control.request()
            if commands is not None:
                tg.start_soon(self._follow, commands, tg.cancel_scope)
            await self._receive(frames, options)
            tg.cancel_scope.cancel()

    async def _follow(
        self, commands: MemoryObjectReceiveStream[str], scope: anyio.CancelScope
    ) -> None:
        async for line in commands:
            try:
                action = parse_command(line)
            except CommandError as exc:
                self._events.emit("command_error", f"screenrelay: {exc}", message=str(exc))
                continue
            if action is None:
                continue
            if action.kind == "request_control":
                await self.control.request()
            elif action.kind == "release_control":
                await self.control.release()
            elif action.kind == "leave":
                scope.cancel()
                return
            elif not await self.control.send(action.events):
                self._events.emit(
                    "command_error",
                    "screenrelay: you do not control the screen",
                    message="not in control",
                )

    async def _receive(self, frames: FrameSink | None, options: ViewerOptions) -> None:
        while options.max_frames is None or self.frames < options.max_frames:
            message, data = await self._conn.recv()
            if isinstance(message, messages.SealedHeader):
                await self._on_frame(data, frames)
            elif isinstance(message, messages.KeyUpdate):
                key = unwrap_epoch_key(
                    self._pairwise,
                    self._target.session_id,
                    self.member_id,
                    message.epoch,
                    message.wrapped,
                )
                self._ring.install(message.epoch, key)
                self._events.emit("key_update", epoch=message.epoch)
            elif isinstance(message, messages.ControlState):
                self.control.on_state(message)
            elif isinstance(message, messages.SessionEnded):
                self._events.emit("session_ended", "The session has ended.", reason=message.text)
                return
            else:
                raise ClientError(f"Unexpected {type(message).__name__} from the relay.", 1)

    async def close(self) -> None:
        """Leave the session (the relay tells the organizer)."""
        await self._conn.close()

    async def _on_frame(self, data: bytes, frames: FrameSink | None) -> None:
        def decode() -> tuple[FrameHeader, int, int]:
            sealed, plaintext = self._cipher.open(data)
            if sealed.tag is not Tag.FRAME or sealed.sender != ORGANIZER_MEMBER:
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
            pixels=sum(r.w * r.h for r in rects),
            latency_ms=round((decoded_ns - header.capture_ns) / 1e6, 3),
        )

    def _on_status(self, status: int, frames: FrameSink | None) -> None:
        self.paused = bool(status & FLAG_PAUSED)
        self.hidden = bool(status & FLAG_HIDDEN)
        if frames is not None:
            frames.status(paused=self.paused, hidden=self.hidden)
        human = (
            "The presenter has hidden their screen."
            if self.hidden
            else "The presenter paused the picture."
            if self.paused
            else "The presenter is sharing again."
        )
        self._events.emit("presenter", human, paused=self.paused, hidden=self.hidden)


async def join(
    target: JoinTarget,
    sink: EventSink,
    *,
    cafile: str | None = None,
    rng: Callable[[int], bytes] = os.urandom,
) -> Viewer:
    """Connect and run admission; the returned Viewer is admitted."""
    conn = await RelayConnection.open(target.relay_url, cafile=cafile)
    try:
        handshake = JoinerHandshake(target.session_id, target.secret, rng)
        await conn.send(messages.Join(target.session_id, target.credential, handshake.start()))
        reply = await _expect(conn, messages.PakeReply)
        tag = handshake.finish(reply.member_id, reply.pake)
        await conn.send(messages.PakeConfirm(reply.member_id, tag))
        admit = await _expect(conn, messages.Admit)
        pairwise = handshake.verify_admit(admit.tag)
        ring = EpochRing()
        ring.install(
            admit.epoch,
            unwrap_epoch_key(
                pairwise, target.session_id, reply.member_id, admit.epoch, admit.wrapped
            ),
        )
    except RemoteProtocolError as exc:
        await conn.close()
        if exc.code == ErrorCode.ADMISSION_FAILED:
            raise ClientError("Wrong session ID or password.", EXIT_REFUSED, exc.code) from exc
        raise ClientError(f"Admission failed: {exc.text}", EXIT_REFUSED, exc.code) from exc
    except BaseException:
        await conn.close()
        raise
    sink.emit(
        "joined",
        f"Joined session {target.session_id:09d}.",
        session_id=f"{target.session_id:09d}",
        member_id=reply.member_id,
    )
    return Viewer(conn, target, reply.member_id, ring, pairwise, sink)


async def _expect(conn: RelayConnection, kind: type[_M]) -> _M:
    message, _ = await conn.recv()
    if not isinstance(message, kind):
        raise ClientError(
            f"The relay sent {type(message).__name__} where {kind.__name__} was due.", 1
        )
    return message
