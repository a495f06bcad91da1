"""The host program: sign in, open a session, admit joiners, share the screen.

Tasks, in one task group: the receiver (admission, leaves, key frame requests,
session end), a one-second ticker (admission timeouts, scheduled rekeys), the
sharer (capture -> diff -> encode on a worker thread, seal and send here), and
a signal watcher (Ctrl+C ends the session for everyone). Messages go out under
one lock, so a rekey's KeyUpdates always precede the first frame of the new
epoch.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import time
from collections.abc import Callable
from typing import Final

import anyio
import anyio.abc

from host_app.organizer import Organizer
from host_app.prompt import ConsentPrompt, TerminalConsentPrompt
from host_app.remote_control import CONSENT_TIMEOUT, RemoteControl
from host_app.sharer import ScreenSharer
from protocol import messages
from protocol.pake import encode_link, new_link_secret, new_password, normalize_password
from protocol.wire import FLAG_KEYFRAME, Credential, Tag
from viewer_app.events import EventSink
from viewer_app.transport import ClientError, RelayConnection

#: Seconds to wait for the relay to confirm the end of the session.
END_TIMEOUT: Final = 3.0


@dataclasses.dataclass(frozen=True, slots=True)
class HostOptions:
    """What the host was asked to do."""

    #: The relay's address, http(s)://host:port.
    relay_url: str
    #: Organizer account name.
    user: str
    #: Organizer account password (sent to the relay over its TLS; never stored).
    password: str
    #: Share the screen as soon as the session starts.
    share: bool = False
    #: mss monitor number (1 = first monitor, 0 = all monitors together).
    monitor: int = 1
    #: Share only this region (left, top, width, height) of the monitor.
    region: tuple[int, int, int, int] | None = None
    #: Most pictures per second.
    fps: float = 30.0
    #: CA file for a relay with a private certificate.
    cafile: str | None = None
    #: Seconds a consent prompt waits before it declines.
    consent_timeout: float = CONSENT_TIMEOUT


class Host:
    """A running session on the organizer's machine."""

    def __init__(
        self,
        conn: RelayConnection,
        organizer: Organizer,
        options: HostOptions,
        sink: EventSink,
        prompt: ConsentPrompt,
    ) -> None:
        self._conn = conn
        self.organizer = organizer
        self._options = options
        self._events = sink
        self._send_lock = anyio.Lock()
        self._ended = anyio.Event()
        #: Consent, the input gate and revoke.
        self.control = RemoteControl(
            session_id=organizer.session_id,
            organizer=organizer,
            send=self.send,
            prompt=prompt,
            events=sink,
            consent_timeout=options.consent_timeout,
        )
        #: This machine's screen, shared while the organizer presents.
        self.sharer = ScreenSharer(
            send_frame=self._send_frame,
            events=sink,
            audience=lambda: bool(organizer.members),
            monitor=options.monitor,
            region=options.region,
            fps=options.fps,
            on_area=self.control.set_area,
        )
        if isinstance(prompt, TerminalConsentPrompt):
            for word, change in (
                ("pause", {"paused": True}),
                ("resume", {"paused": False}),
                ("hide", {"hidden": True}),
                ("show", {"hidden": False}),
            ):
                prompt.commands[word] = functools.partial(self.sharer.set_status, **change)

    async def send(self, *batch: messages.Message) -> None:
        async with self._send_lock:
            for message in batch:
                await self._conn.send(message)

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._receive)
            tg.start_soon(self._tick)
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            tg.start_soon(self.control.run)
            if self._options.share:
                tg.start_soon(self.sharer.run)
            await self._ended.wait()
            tg.cancel_scope.cancel()

    async def _receive(self) -> None:
        org = self.organizer
        while True:
            message, data = await self._conn.recv()
            now = time.time()
            if isinstance(message, messages.JoinRequest):
                self._events.emit(
                    "join_request",
                    member_id=message.member_id,
                    credential=message.credential.name.lower(),
                )
                await self.send(org.on_join_request(message, now))
            elif isinstance(message, messages.PakeConfirm):
                answer = org.on_confirm(message)
                admitted = isinstance(answer, messages.Admit)
                self._events.emit(
                    "admitted" if admitted else "admission_failed",
                    f"Participant {message.member_id} joined." if admitted else None,
                    member_id=message.member_id,
                    locked=org.locked,
                )
                await self.send(answer)
            elif isinstance(message, messages.MemberJoined):
                pass  # the relay asks for the new member's key frame itself
            elif isinstance(message, messages.Input):
                await self.control.on_input(data)
            elif isinstance(message, messages.ControlRequest):
                await self.control.on_request(message.member_id)
            elif isinstance(message, messages.ControlRelease):
                await self.control.on_release(self.control.machine.controller)
            elif isinstance(message, messages.MemberLeft):
                await self.control.on_member_left(message.member_id)
                async with self._send_lock:
                    for update in org.on_member_left(message.member_id, now):
                        await self._conn.send(update)
                self._events.emit(
                    "member_left",
                    f"Participant {message.member_id} left.",
                    member_id=message.member_id,
                    epoch=org.epoch,
                )
            elif isinstance(message, messages.KeyframeRequest):
                self.sharer.request_keyframe()
            elif isinstance(message, messages.SessionEnded):
                self._events.emit("session_ended", "The session has ended.", reason=message.text)
                self._ended.set()
                return

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(1.0)
            async with self._send_lock:
                updates = self.organizer.tick(time.time())
                for update in updates:
                    await self._conn.send(update)

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self._events.emit("ending", "Ending the session for everyone...")
                await self.send(messages.EndSession())
                with anyio.move_on_after(END_TIMEOUT):
                    await self._ended.wait()
                self._ended.set()
                return

    async def _send_frame(self, payload: bytes, keyframe: bool) -> int:
        async with self._send_lock:
            data = self.organizer.cipher.seal(Tag.FRAME, FLAG_KEYFRAME if keyframe else 0, payload)
            await self._conn.send_bytes(data)
        return len(data)


async def start(
    options: HostOptions,
    sink: EventSink,
    prompt: ConsentPrompt,
    rng: Callable[[int], bytes] = os.urandom,
) -> Host:
    """Sign in, create the session and print how to join it."""
    conn = await RelayConnection.open(options.relay_url, cafile=options.cafile)
    try:
        await conn.send(messages.SignIn(options.user, options.password))
        signed, _ = await conn.recv()
        if not isinstance(signed, messages.SignedIn):
            raise ClientError("The relay did not confirm the sign-in.", 1)
        await conn.send(messages.CreateSession(0))
        created, _ = await conn.recv()
        if not isinstance(created, messages.SessionCreated):
            raise ClientError("The relay did not create the session.", 1)
    except BaseException:
        await conn.close()
        raise
    password = new_password(rng)
    link_secret = new_link_secret(rng)
    session_id = created.session_id
    organizer = Organizer(
        session_id,
        {Credential.PASSWORD: normalize_password(password), Credential.LINK: link_secret},
        rng,
        time.time(),
    )
    link = encode_link(options.relay_url.rstrip("/"), session_id, link_secret)
    spaced = f"{session_id:09d}"
    sink.emit(
        "session_started",
        f"Session ID {spaced[:3]} {spaced[3:6]} {spaced[6:]}   password {password}\n"
        f"Invitation link: {link}\n"
        "Press Ctrl+C to end the session for everyone.",
        session_id=spaced,
        password=password,
        link=link,
    )
    return Host(conn, organizer, options, sink, prompt)
