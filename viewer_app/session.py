"""A participant's side of a session: admission, keys, frames.

    Join ──> PakeReply ──> PakeConfirm ──> Admit ──> frames, key updates ... SessionEnded

Admission and decryption are protocol/'s; this module moves messages and
hands each decrypted picture to a FrameSink (a window, PNG files, nothing).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream

from host_app.prompt import ConsentPrompt
from protocol import messages
from protocol.control import State as ControlMachineState
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.keys import EpochRing, unwrap_epoch_key
from protocol.pake import JoinerHandshake
from protocol.wire import ControlReason, Credential
from viewer_app.commands import CommandError, parse_command
from viewer_app.control import ControlClient
from viewer_app.events import EventSink
from viewer_app.presenting import PRESENT_TIMEOUT, CommandAnswers, Presenting
from viewer_app.receiver import FrameReceiver, FrameSink
from viewer_app.transport import EXIT_REFUSED, ClientError, RelayConnection

_M = TypeVar("_M", bound=messages.Message)

IDLE = ControlMachineState.IDLE


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
    #: SHA-256 fingerprint the relay's certificate must have (instead of cafile).
    tls_fingerprint: str | None = None
    #: Ask the presenter for remote control right after joining.
    request_control: bool = False
    #: Seconds a consent prompt here (present, control) waits before it declines.
    consent_timeout: float = PRESENT_TIMEOUT
    #: Sign in with this (account name, password) before joining, where the
    #: relay's policy admits only accounts. Kept out of repr.
    account: tuple[str, str] | None = dataclasses.field(default=None, repr=False)


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
        prompt: ConsentPrompt | None = None,
        consent_timeout: float = PRESENT_TIMEOUT,
    ) -> None:
        self._conn = conn
        self._target = target
        self.member_id = member_id
        self._ring = ring
        self._pairwise = pairwise
        self._events = sink
        #: Opens, decodes and shows the presenter's frames.
        self.receiver = FrameReceiver(target.session_id, ring, sink)
        #: Remote control from this viewer.
        self.control = ControlClient(conn, target.session_id, member_id, pairwise, sink)
        #: Answers to "please present" typed as commands, unless a window asks.
        self.answers = CommandAnswers()
        #: Answers to "may I control your screen" typed as commands, likewise.
        self.control_answers = CommandAnswers()
        #: Presenting this participant's own screen, when asked and it agrees.
        self.presenting = Presenting(
            conn=conn,
            session_id=target.session_id,
            member_id=member_id,
            ring=ring,
            events=sink,
            prompt=prompt if prompt is not None else self.answers,
            pairwise=pairwise,
            control_prompt=prompt if prompt is not None else self.control_answers,
            timeout=consent_timeout,
            control_timeout=consent_timeout,
        )
        self._tg: anyio.abc.TaskGroup | None = None

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
            self._tg = tg
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
            elif action.kind in ("accept_present", "decline_present"):
                if not self.answers.answer(action.kind == "accept_present"):
                    self._events.emit("command_error", message="no request to present is waiting")
            elif action.kind in ("accept_control", "decline_control"):
                if not self.control_answers.answer(action.kind == "accept_control"):
                    self._events.emit("command_error", message="no request for control is waiting")
            elif action.kind == "stop_presenting":
                await self.presenting.stop()
            elif action.kind in ("pause", "resume", "hide", "show"):
                change = {
                    "pause": {"paused": True},
                    "resume": {"paused": False},
                    "hide": {"hidden": True},
                    "show": {"hidden": False},
                }[action.kind]
                self.presenting.sharer.set_status(**change)
            elif not await self.control.send(action.events):
                self._events.emit(
                    "command_error",
                    "screenrelay: you do not control the screen",
                    message="not in control",
                )

    async def _receive(self, frames: FrameSink | None, options: ViewerOptions) -> None:
        while options.max_frames is None or self.receiver.frames < options.max_frames:
            message, data = await self._conn.recv()
            if isinstance(message, messages.SealedHeader):
                await self.receiver.on_frame(data, frames)
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
                assert self._tg is not None
                self.presenting.on_key_update(self._tg)
            elif isinstance(message, messages.PresentRequest):
                assert self._tg is not None
                self._tg.start_soon(self.presenting.on_request)
            elif isinstance(message, messages.PresenterChanged):
                assert self._tg is not None
                self.receiver.presenter_changed(message, self.member_id)
                self.presenting.on_changed(message, self._tg)
            elif isinstance(message, messages.KeyframeRequest):
                self.presenting.sharer.request_keyframe()
            elif isinstance(message, messages.ControlState):
                remote = self.presenting.remote
                if message.reason is ControlReason.POLICY and remote.machine.state is not IDLE:
                    await remote.on_policy_end()  # a restriction: obeyed at once
                self.control.on_state(message)
            elif isinstance(message, messages.ControlRequest):
                await self.presenting.on_control_request(message.member_id)
            elif isinstance(message, messages.Input):
                await self.presenting.remote.on_input(data)
            elif isinstance(message, messages.ControlRelease):
                remote = self.presenting.remote
                await remote.on_release(remote.machine.controller)
            elif isinstance(message, messages.SessionEnded):
                self._events.emit("session_ended", "The session has ended.", reason=message.text)
                return
            else:
                raise ClientError(f"Unexpected {type(message).__name__} from the relay.", 1)

    async def close(self) -> None:
        """Leave the session (the relay tells the organizer)."""
        await self._conn.close()


async def join(
    target: JoinTarget,
    sink: EventSink,
    *,
    cafile: str | None = None,
    tls_fingerprint: str | None = None,
    rng: Callable[[int], bytes] = os.urandom,
    prompt: ConsentPrompt | None = None,
    consent_timeout: float = PRESENT_TIMEOUT,
    account: tuple[str, str] | None = None,
) -> Viewer:
    """Connect and run admission; the returned Viewer is admitted.

    ``prompt`` asks this machine's user (a window); without one, answers
    come as scripted commands. ``account`` (name, password) signs in first,
    for relays whose policy admits only accounts.
    """
    conn = await RelayConnection.open(
        target.relay_url, cafile=cafile, tls_fingerprint=tls_fingerprint
    )
    try:
        if account is not None:
            await conn.send(messages.SignIn(*account))
            await _expect(conn, messages.SignedIn)
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
    return Viewer(conn, target, reply.member_id, ring, pairwise, sink, prompt, consent_timeout)


async def _expect(conn: RelayConnection, kind: type[_M]) -> _M:
    message, _ = await conn.recv()
    if not isinstance(message, kind):
        raise ClientError(
            f"The relay sent {type(message).__name__} where {kind.__name__} was due.", 1
        )
    return message
