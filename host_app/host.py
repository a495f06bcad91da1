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
from collections.abc import Callable, Coroutine
from dataclasses import field
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.abc

from host_app.controlling import ParticipantControl
from host_app.host_window import REFRESH, HostActions, HostWindow
from host_app.lossy import decide_lossy
from host_app.organizer import Organizer
from host_app.picture_window import PictureWindow
from host_app.prompt import (
    Answer,
    ConsentPrompt,
    ConsentQuestion,
    PromptError,
    TerminalConsentPrompt,
    TkConsentPrompt,
)
from host_app.remote_control import CONSENT_TIMEOUT, RemoteControl
from host_app.sharer import ScreenSharer
from protocol import messages
from protocol.control import State as ControlMachineState
from protocol.pake import (
    encode_link,
    new_link_secret,
    new_password,
    normalize_password,
    password_bits,
)
from protocol.wire import (
    FLAG_KEYFRAME,
    ORGANIZER_MEMBER,
    ControlReason,
    Credential,
    PresenterReason,
    Tag,
)
from viewer_app.events import EventSink
from viewer_app.receiver import FrameReceiver, FrameSink, PngSaver
from viewer_app.transport import EXIT_REFUSED, ClientError, RelayConnection

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
    #: SHA-256 fingerprint the relay's certificate must have (instead of cafile).
    tls_fingerprint: str | None = None
    #: Seconds a consent prompt waits before it declines.
    consent_timeout: float = CONSENT_TIMEOUT
    #: Write the pictures of another presenter as PNG files here.
    save: Path | None = None
    #: The session ID to ask for (0: a random one from the relay).
    session_id: int = 0
    #: The session password chosen by the organizer (None: a generated one).
    session_password: str | None = field(default=None, repr=False)
    #: Ask to send photo-like areas as JPEG (only if the relay's policy allows).
    lossy: bool = False


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
        #: What the relay's policy allows, as Welcome said (narrowed as the
        #: relay reports restrictions); the relay enforces it regardless.
        self._policy = dict(conn.policy)
        #: Lossy or not, decided once from the Welcome (host_app/lossy.py).
        self.lossy = decide_lossy(options.lossy, self._policy)
        self.organizer = organizer
        self._options = options
        self._events = sink
        self._send_lock = anyio.Lock()
        self._ended = anyio.Event()
        #: Consent, the input gate and revoke.
        self.control = RemoteControl(
            session_id=organizer.session_id,
            keys=organizer,
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
            lossy=self.lossy.lossy,
        )
        #: This organizer controlling a presenting participant, with its consent.
        self.participant_control = ParticipantControl(conn, organizer, sink)
        self._prompt = prompt
        #: How to join, as the host's window shows it.
        self.invitation = ""
        self._tg: anyio.abc.TaskGroup | None = None
        self._share_scope: anyio.CancelScope | None = None
        #: This machine's user agreed to show its screen (--share, or 'share').
        self._own_consent = options.share
        #: Another presenter's screen, as this host sees it.
        self.receiver = FrameReceiver(organizer.session_id, organizer.ring, sink)
        self._saver: FrameSink | None = None
        if options.save is not None:
            self._saver = PngSaver(options.save)
        elif isinstance(prompt, TkConsentPrompt):
            self._saver = PictureWindow(prompt)
        # Typed commands work whether consent is asked in windows or here.
        terminal = prompt if isinstance(prompt, TerminalConsentPrompt) else TerminalConsentPrompt()
        self._commands = terminal
        terminal.commands["present"] = self._ask_to_present
        terminal.commands["take"] = self._take_back
        terminal.commands["share"] = self._share_own
        terminal.commands["revoke"] = self.control.revoke_from_terminal
        terminal.commands["control"] = self._soon(self.participant_control.request)
        terminal.commands["release"] = self._soon(self.participant_control.release)
        terminal.commands["input"] = self._input
        for word, change in (
            ("pause", {"paused": True}),
            ("resume", {"paused": False}),
            ("hide", {"hidden": True}),
            ("show", {"hidden": False}),
        ):
            terminal.commands[word] = functools.partial(self.sharer.set_status, **change)

    def _soon(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        """A terminal command that starts ``fn`` in the host's task group."""

        def start() -> None:
            if self._tg is not None:
                self._tg.start_soon(fn)

        return start

    def _input(self, *words: str) -> None:
        """'input {json command}' on the terminal: input for a participant's screen."""
        if self._tg is not None:
            self._tg.start_soon(self.participant_control.command, " ".join(words))

    async def send(self, *batch: messages.Message) -> None:
        async with self._send_lock:
            for message in batch:
                await self._conn.send(message)

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._receive)
            tg.start_soon(self._tick)
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            tg.start_soon(self.control.run)
            if self._commands is not self._prompt:
                await self._commands.listen()
            if isinstance(self._prompt, TkConsentPrompt):
                window = HostWindow(self._prompt, self.control.gate, self._window_actions())
                tg.start_soon(self._run_window, window)
            if self._options.share:
                self._start_sharing()
            await self._ended.wait()
            tg.cancel_scope.cancel()

    # -- presenting -----------------------------------------------------------

    def _start_sharing(self) -> None:
        if self._share_scope is None and self._tg is not None:
            self._share_scope = anyio.CancelScope()
            self._tg.start_soon(self._share, self._share_scope)

    async def _share(self, scope: anyio.CancelScope) -> None:
        with scope:
            await self.sharer.run()

    def _stop_sharing(self) -> None:
        if self._share_scope is not None:
            self._share_scope.cancel()
            self._share_scope = None

    def _ask_to_present(self, member: str) -> None:
        """'present N' on the terminal: ask participant N to share its screen."""
        assert self._tg is not None
        if self._policy.get("participants_present") is False:
            message = "Participants presenting is disabled by this relay's policy."
            self._events.emit("command_error", f"screenrelay: {message}", message=message)
            return
        self._tg.start_soon(self.send, messages.PresentRequest(int(member)))

    def _take_back(self) -> None:
        """'take' on the terminal: nobody presents now (no consent needed, rule 5)."""
        assert self._tg is not None
        self._tg.start_soon(self.send, messages.SetPresenter(0))

    def _share_own(self) -> None:
        """'share' on the terminal: show this screen again, once confirmed here (rule 4)."""
        assert self._tg is not None
        self._tg.start_soon(self._confirm_and_share)

    async def _confirm_and_share(self) -> None:
        self._events.emit(
            "consent_asked",
            "Share your screen with the session? Answer 'accept share' or 'decline share'.",
            id="share",
            what="present",
        )
        answer = await self._prompt.ask(
            ConsentQuestion(
                who="You",
                what="show your screen to the session",
                timeout=self._options.consent_timeout,
                id="share",
            )
        )
        self._events.emit("share_answered", answer=answer.value)
        if answer is Answer.ACCEPT:
            self._own_consent = True
            await self.send(messages.SetPresenter(ORGANIZER_MEMBER))

    async def _on_presenter_changed(self, change: messages.PresenterChanged) -> None:
        if change.reason is PresenterReason.POLICY:
            self._policy["participants_present"] = False
        self.receiver.presenter_changed(change, ORGANIZER_MEMBER)
        self.participant_control.presenter_changed(change.presenter)
        if change.presenter == ORGANIZER_MEMBER and self._own_consent:
            self._start_sharing()
        if change.presenter in (0, ORGANIZER_MEMBER) and isinstance(self._saver, PictureWindow):
            self._saver.close()
        if change.presenter != ORGANIZER_MEMBER:
            self._own_consent = False
            self._stop_sharing()
            if self.control.machine.controller or self.control.machine.requester:
                await self.control.revoke()  # this screen is not shown any more

    async def _receive(self) -> None:
        org = self.organizer
        while True:
            message, data = await self._conn.recv()
            now = time.time()
            if isinstance(message, messages.SealedHeader):
                await self.receiver.on_frame(data, self._saver)
            elif isinstance(message, messages.PresenterChanged):
                await self._on_presenter_changed(message)
            elif isinstance(message, messages.JoinRequest):
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
            elif isinstance(message, messages.ControlState):
                if message.reason is ControlReason.POLICY:
                    self._policy["remote_control"] = False
                    if self.control.machine.state is not ControlMachineState.IDLE:
                        await self.control.on_policy_end()
                self.participant_control.on_state(message)
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
                await self.end_session()
                return

    async def end_session(self) -> None:
        """End the session for everyone (Ctrl+C, or the window's button)."""
        self._events.emit("ending", "Ending the session for everyone...")
        await self.send(messages.EndSession())
        with anyio.move_on_after(END_TIMEOUT):
            await self._ended.wait()
        self._ended.set()

    # -- the host's own window --------------------------------------------------

    async def _run_window(self, window: HostWindow) -> None:
        try:
            await window.open(self.invitation)
        except PromptError as exc:
            self._events.emit("warning", f"screenrelay: no host window: {exc}", message=str(exc))
            return
        while True:
            await window.show_status(
                self._status_line(), paused=self.sharer.paused, hidden=self.sharer.hidden
            )
            await anyio.sleep(REFRESH)

    def _status_line(self) -> str:
        controller = self.control.machine.controller
        presenter = self.receiver.presenter
        shown = {0: "nobody", ORGANIZER_MEMBER: "you"}.get(presenter, f"participant {presenter}")
        state = " (hidden)" if self.sharer.hidden else " (paused)" if self.sharer.paused else ""
        return (
            f"Watching: {len(self.organizer.members)}    "
            f"In control: {f'participant {controller}' if controller else 'nobody'}    "
            f"Presenting: {shown}{state}"
        )

    def _window_actions(self) -> HostActions:
        soon = self._soon
        return HostActions(
            revoke=soon(self.control.revoke),
            toggle_pause=lambda: self.sharer.set_status(paused=not self.sharer.paused),
            toggle_hide=lambda: self.sharer.set_status(hidden=not self.sharer.hidden),
            end_session=soon(self.end_session),
            ask_to_present=self._ask_from_window,
        )

    def _ask_from_window(self, text: str) -> None:
        """The window's Ask to present: the participant typed, or the first one."""
        members = self.organizer.members
        number = text.strip()
        if number.isdigit() and int(number) in members:
            self._ask_to_present(number)
        elif not number and members:
            self._ask_to_present(str(members[0]))
        else:
            message = f"no participant {number}" if number else "no participant has joined"
            self._events.emit("command_error", f"screenrelay: {message}", message=message)

    async def _send_frame(self, payload: bytes, keyframe: bool) -> int:
        async with self._send_lock:
            data = self.organizer.cipher.seal(Tag.FRAME, FLAG_KEYFRAME if keyframe else 0, payload)
            await self._conn.send_bytes(data)
        return len(data)


def check_chosen_password(password: str, policy: dict[str, Any]) -> None:
    """Refuse a chosen session password the relay's policy does not allow.

    Only this client can check: the password never reaches the relay.
    """
    if policy.get("custom_password") is False:
        raise ClientError(
            "Choosing the session password is disabled by this relay's policy; "
            "leave it out and one is made for you.",
            EXIT_REFUSED,
        )
    wanted = policy.get("min_password_bits")
    bits = password_bits(password)
    if isinstance(wanted, int) and bits < wanted:
        raise ClientError(
            f"The session password is too weak: about {int(bits)} bits, and this relay's "
            f"policy asks for at least {wanted}. Use a longer one, or leave it out and "
            "one is made for you.",
            EXIT_REFUSED,
        )


async def start(
    options: HostOptions,
    sink: EventSink,
    prompt: ConsentPrompt,
    rng: Callable[[int], bytes] = os.urandom,
) -> Host:
    """Sign in, create the session and print how to join it."""
    conn = await RelayConnection.open(
        options.relay_url, cafile=options.cafile, tls_fingerprint=options.tls_fingerprint
    )
    try:
        if options.session_password is not None:
            check_chosen_password(options.session_password, conn.policy)
        await conn.send(messages.SignIn(options.user, options.password))
        signed, _ = await conn.recv()
        if not isinstance(signed, messages.SignedIn):
            raise ClientError("The relay did not confirm the sign-in.", 1)
        # A chosen ID is the relay's to allow or refuse (it says why).
        await conn.send(messages.CreateSession(options.session_id))
        created, _ = await conn.recv()
        if not isinstance(created, messages.SessionCreated):
            raise ClientError("The relay did not create the session.", 1)
    except BaseException:
        await conn.close()
        raise
    password = options.session_password or new_password(rng)
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
    invitation = (
        f"Session ID {spaced[:3]} {spaced[3:6]} {spaced[6:]}    password {password}\n"
        f"Invitation link: {link}"
    )
    sink.emit(
        "session_started",
        f"{invitation}\nPress Ctrl+C to end the session for everyone.",
        session_id=spaced,
        password=password,
        link=link,
    )
    host = Host(conn, organizer, options, sink, prompt)
    host.invitation = invitation
    if host.lossy.message is not None:
        sink.emit(
            "encoding", host.lossy.message, lossy=host.lossy.lossy, message=host.lossy.message
        )
    return host
