"""Remote control on the presenter's machine: consent, the input gate, revoke.

Rules (MISSION.md rule 7; the relay is only a second line):
  1. View-only by default: the gate is closed until this machine's user
     accepts a request, in a prompt shown here. There is no way to accept in
     advance, and an unanswered prompt declines after its timeout.
  2. Each grant gets a new number; input is injected only while the gate is
     open for exactly that controller and grant, and never while a prompt is
     showing (so a controller cannot click Accept on someone else's request).
  3. Revoke (Ctrl+F12, or Ctrl+Esc on macOS; the host's window; `revoke` on
     the terminal) closes the gate synchronously first, then tells everyone.
     Input still in flight, or held back by the relay, finds the gate closed.
  4. Input must open under the controller's own pairwise key: the relay
     cannot forge it or pass one member's input off as another's.
  5. A ControlState POLICY from the relay (its policy no longer allows remote
     control) closes the gate and withdraws any prompt at once: a restriction
     is always safe to obey; only a grant needs this machine's consent.

The same class serves the organizer's machine while it presents (controllers:
its admitted participants, keys: `Organizer`) and a participant's machine
while it presents (controller: the organizer alone, key: the pairwise key of
its admission; see viewer_app/presenting.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal

from host_app.hotkey import RevokeHotkey
from host_app.injector import Injector, open_injector
from host_app.input_gate import InputGate
from host_app.prompt import Answer, ConsentPrompt, ConsentQuestion, TerminalConsentPrompt
from protocol import messages
from protocol.control import ControlMachine, Decision, Ended, Event, State
from protocol.errors import RemoteProtocolError
from protocol.input_events import parse_batch
from protocol.sframe import InputOpener
from protocol.wire import ORGANIZER_MEMBER, ControlReason, Tag
from viewer_app.events import EventSink

#: Seconds a consent prompt waits for an answer before it declines.
CONSENT_TIMEOUT: Final = 30.0

Send = Callable[[messages.Message], Awaitable[None]]


class PairwiseKeys(Protocol):
    """Who may control this machine, and the pairwise key each one's input opens under."""

    @property
    def members(self) -> list[int]: ...

    def pairwise(self, member_id: int) -> bytes | None: ...


class OrganizerKey:
    """A participant's only controller: the organizer, under the key of its admission."""

    def __init__(self, pairwise: bytes) -> None:
        self._pairwise = pairwise

    @property
    def members(self) -> list[int]:
        return [ORGANIZER_MEMBER]

    def pairwise(self, member_id: int) -> bytes | None:
        return self._pairwise if member_id == ORGANIZER_MEMBER else None


def requester_name(member_id: int) -> str:
    """How a prompt names who asks."""
    return "The organizer" if member_id == ORGANIZER_MEMBER else f"Participant {member_id}"


class RemoteControl:
    """Everything the presenter's machine does about remote control."""

    def __init__(
        self,
        *,
        session_id: int,
        keys: PairwiseKeys,
        send: Send,
        prompt: ConsentPrompt,
        events: EventSink,
        consent_timeout: float = CONSENT_TIMEOUT,
        injector_factory: Callable[[], Injector] = open_injector,
    ) -> None:
        self._session_id = session_id
        self._keys = keys
        self._send = send
        self._prompt = prompt
        self._events = events
        self._timeout = consent_timeout
        self._injector_factory = injector_factory
        self.machine = ControlMachine()
        self.gate = InputGate()
        self._injector: Injector | None = None
        self._area: tuple[tuple[int, int], tuple[int, int]] | None = None
        self._openers: dict[int, InputOpener] = {}
        self._prompt_scope: anyio.CancelScope | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    def set_area(self, origin: tuple[int, int], size: tuple[int, int]) -> None:
        """Where the shared picture lies on this screen (input maps into it)."""
        self._area = (origin, size)

    @property
    def running(self) -> bool:
        """Whether `run` is running, so requests can be asked."""
        return self._tg is not None

    async def run(self) -> None:
        """Listen for the revoke hotkey and handle prompts until cancelled."""
        try:
            await self._run()
        finally:
            self._tg = None

    async def _run(self) -> None:
        async with BlockingPortal() as portal, anyio.create_task_group() as tg:
            self._tg = tg
            if isinstance(self._prompt, TerminalConsentPrompt):
                await self._prompt.listen()

            def notify() -> None:  # on pynput's thread, right after the gate closed
                closed_ns = time.time_ns()
                portal.start_task_soon(self._after_revoke, ControlReason.REVOKED_HOTKEY, closed_ns)

            hotkey = RevokeHotkey(self.gate, notify)
            try:
                hotkey.start()
            except Exception as exc:  # no RECORD extension, no display: say so, go on
                self._events.emit(
                    "warning",
                    f"screenrelay: the revoke hotkey is unavailable: {exc}",
                    message=f"revoke hotkey unavailable: {exc}",
                )
            try:
                await anyio.sleep_forever()
            finally:
                hotkey.stop()

    # -- messages from the relay ---------------------------------------------

    async def on_request(self, member_id: int) -> None:
        if (
            not self.running
            or member_id not in self._keys.members
            or self.machine.request(member_id) is Decision.BUSY
        ):
            await self._announce(ControlReason.REFUSED, member_id)
            return
        assert self._tg is not None
        self._tg.start_soon(self._ask, member_id, self.machine.prompt)

    async def on_input(self, data: bytes) -> None:
        header = messages.parse_sealed_header(data, Tag.INPUT)
        opener = self._opener(header.sender)
        if opener is None or self._area is None:
            return
        try:
            _sealed, plaintext = opener.open(data)
            batch = parse_batch(plaintext)
        except RemoteProtocolError as exc:
            self._events.emit("input_dropped", reason=exc.text)
            return
        injector = self._injector
        injected = 0
        if injector is not None:
            origin, size = self._area
            injected = self.gate.inject(
                header.sender, header.epoch, batch.events, injector, origin=origin, size=size
            )
        self._events.emit(
            "input",
            member_id=header.sender,
            grant=header.epoch,
            injected=injected,
            refused=len(batch.events) - injected,
            latency_ms=round((time.time_ns() - batch.sent_ns) / 1e6, 3),
        )

    async def on_release(self, member_id: int) -> None:
        if not member_id or self.machine.controller != member_id:
            return
        self.gate.close()
        if self.machine.release(member_id) is not None:
            await self._announce(ControlReason.RELEASED, member_id)

    async def on_member_left(self, member_id: int) -> None:
        self._openers.pop(member_id, None)
        if self.machine.controller == member_id:
            self.gate.close()
        ended = self.machine.member_left(member_id)
        if ended is None:
            return
        if ended.event is Event.CONTROLLER_LEFT:
            await self._announce(ControlReason.CONTROLLER_LEFT, member_id)
        elif self._prompt_scope is not None:
            self._prompt_scope.cancel()

    async def on_policy_end(self) -> None:
        """The relay's policy ended remote control: close the gate, forget the grant."""
        self.gate.close()
        closed_ns = time.time_ns()
        ended = self.machine.revoke()
        if self._prompt_scope is not None:
            self._prompt_scope.cancel()
        self._events.emit(
            "control_ended",
            "Remote control is disabled by this relay's policy.",
            reason="policy",
            member_id=ended.subject if ended is not None else 0,
            gate_closed_ns=closed_ns,
        )

    # -- revoke ---------------------------------------------------------------

    def revoke_from_terminal(self) -> None:
        """'revoke' typed on the host's terminal (runs on the event loop)."""
        self.gate.close()
        closed_ns = time.time_ns()
        assert self._tg is not None
        self._tg.start_soon(self._after_revoke, ControlReason.REVOKED_WINDOW, closed_ns)

    async def revoke(self, reason: ControlReason = ControlReason.REVOKED_WINDOW) -> None:
        """Take control back (from the host's window or terminal)."""
        self.gate.close()
        await self._after_revoke(reason, time.time_ns())

    async def _after_revoke(self, reason: ControlReason, closed_ns: int) -> None:
        ended: Ended | None = self.machine.revoke()
        if self._prompt_scope is not None:
            self._prompt_scope.cancel()
        subject = ended.subject if ended is not None else 0
        if subject:
            await self._announce(reason, subject)
        self._events.emit(
            "control_revoked",
            "Control taken back." if ended is not None and ended.grant else None,
            how="hotkey" if reason is ControlReason.REVOKED_HOTKEY else "window",
            member_id=subject,
            gate_closed_ns=closed_ns,
        )

    # -- internals ------------------------------------------------------------

    async def _ask(self, member_id: int, prompt: int) -> None:
        who = requester_name(member_id)
        question = ConsentQuestion(
            who=who,
            what="control your mouse and keyboard",
            timeout=self._timeout,
            id=str(member_id),
        )
        self.gate.pause()
        answer: Answer | None = None
        try:
            with anyio.CancelScope() as scope:
                self._prompt_scope = scope
                self._events.emit(
                    "consent_asked",
                    f"{who} asks to control your screen: answer in the window.",
                    id=member_id,
                    member_id=member_id,
                    what="control",
                )
                answer = await self._prompt.ask(question)
        finally:
            self._prompt_scope = None
            self.gate.resume()
        if answer is None or self.machine.state is not State.ASKING:
            return  # withdrawn meanwhile (revoked, or the requester left)
        if self.machine.prompt != prompt:
            return
        if answer is Answer.ACCEPT:
            grant = self.machine.accept(prompt)
            if self._injector is None:
                self._injector = self._injector_factory()
            self.gate.open(member_id, grant)
            self._events.emit("consent_given", member_id=member_id, grant=grant)
            await self._announce(ControlReason.GRANTED, member_id)
        elif answer is Answer.DECLINE:
            self.machine.decline(prompt)
            self._events.emit("consent_declined", member_id=member_id)
            await self._announce(ControlReason.DECLINED, member_id)
        else:
            self.machine.expire(prompt)
            self._events.emit("consent_expired", member_id=member_id)
            await self._announce(ControlReason.EXPIRED, member_id)

    async def _announce(self, reason: ControlReason, subject: int) -> None:
        await self._send(
            messages.ControlState(self.machine.controller, self.machine.grant, subject, reason)
        )

    def _opener(self, member_id: int) -> InputOpener | None:
        opener = self._openers.get(member_id)
        if opener is None:
            pairwise = self._keys.pairwise(member_id)
            if pairwise is None:
                return None
            opener = self._openers[member_id] = InputOpener(self._session_id, pairwise, member_id)
        return opener
