"""A participant's side of presenting (MISSION.md rules 3-6).

Rules:
  1. Whether this machine shares is decided by protocol/presenting.py's
     table: only after its own user accepted the ask in force (in a window,
     or with a typed command) and then the relay announced it. An unanswered
     ask declines after its timeout. A relay that announces it without the
     accept starts nothing; the organizer taking the role back (or anyone
     else presenting) stops the capture at once.
  3. The participant may stop at any moment, and pause or hide meanwhile.
  4. Frames are sealed under this member's own sender key of the current
     epoch. On a new epoch the sealer moves after REKEY_GRACE seconds, so
     every viewer has the new key before the first frame needs it.
  5. While it presents, the organizer may ask to control this screen; the
     person here answers (host_app/remote_control.py: the same prompt, input
     gate, injector and Ctrl+F12 hotkey as the organizer's machine). Input
     opens only under the pairwise key of this participant's admission.
     When presenting ends, the gate closes first, then control ends.
"""

from __future__ import annotations

import asyncio
from typing import Final

import anyio
import anyio.abc

from host_app.prompt import Answer, ConsentPrompt, ConsentQuestion, PromptError
from host_app.remote_control import CONSENT_TIMEOUT, OrganizerKey, RemoteControl
from host_app.sharer import ScreenSharer
from protocol import messages
from protocol.control import State as ControlState
from protocol.keys import EpochRing
from protocol.presenting import Event, PresentingMachine, State
from protocol.sframe import SenderCipher
from protocol.wire import FLAG_KEYFRAME, PresentAnswerKind, Tag
from viewer_app.events import EventSink
from viewer_app.transport import RelayConnection

#: Seconds a participant keeps sealing under the old epoch after a rekey.
REKEY_GRACE: Final = 1.0

#: Seconds an ask to present waits for an answer before it declines.
PRESENT_TIMEOUT: Final = 30.0

ANSWER_EVENTS: Final = {
    Answer.ACCEPT: Event.ACCEPT,
    Answer.DECLINE: Event.DECLINE,
    Answer.EXPIRED: Event.EXPIRE,
}

ANSWERS: Final = {
    Answer.ACCEPT: PresentAnswerKind.ACCEPT,
    Answer.DECLINE: PresentAnswerKind.DECLINE,
    Answer.EXPIRED: PresentAnswerKind.EXPIRED,
}


class CommandAnswers(ConsentPrompt):
    """Answers typed as commands (``accept_present``/``decline_present``)."""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: asyncio.Future[Answer] | None = None

    async def ask(self, question: ConsentQuestion) -> Answer:
        self._counters.add("asked")
        self._waiting = asyncio.get_running_loop().create_future()
        self._counters.add("ready")
        try:
            answer = await asyncio.wait_for(self._waiting, question.timeout)
        except TimeoutError:
            answer = Answer.EXPIRED
        finally:
            self._waiting = None
        return self._counters.answered(answer)

    def answer(self, accept: bool) -> bool:
        """Answer the question waiting, if one is; whether one was."""
        if self._waiting is None or self._waiting.done():
            return False
        self._waiting.set_result(Answer.ACCEPT if accept else Answer.DECLINE)
        return True


class Presenting:
    """Whether, and what, this participant shares."""

    def __init__(
        self,
        *,
        conn: RelayConnection,
        session_id: int,
        member_id: int,
        ring: EpochRing,
        events: EventSink,
        prompt: ConsentPrompt,
        pairwise: bytes,
        control_prompt: ConsentPrompt,
        timeout: float = PRESENT_TIMEOUT,
        control_timeout: float = CONSENT_TIMEOUT,
    ) -> None:
        self._conn = conn
        self._session_id = session_id
        self.member_id = member_id
        self._ring = ring
        self._events = events
        self.prompt = prompt
        self._timeout = timeout
        #: The consent rules, as a table (protocol/presenting.py).
        self.machine = PresentingMachine()
        self._scope: anyio.CancelScope | None = None
        self._cipher: SenderCipher | None = None
        self._send_lock = anyio.Lock()
        #: The organizer's remote control of this screen, while it is shown.
        self.remote = RemoteControl(
            session_id=session_id,
            keys=OrganizerKey(pairwise),
            send=conn.send,
            prompt=control_prompt,
            events=events,
            consent_timeout=control_timeout,
        )
        self.sharer = ScreenSharer(
            send_frame=self._send_frame,
            events=events,
            audience=lambda: True,
            on_area=self.remote.set_area,
        )

    @property
    def sharing(self) -> bool:
        return self._scope is not None

    async def on_request(self) -> None:
        """The organizer asks this participant to present: ask the person here."""
        if self.machine.fire(Event.ASK) is not State.ASKED:
            return  # already presenting: nothing to ask
        self._events.emit(
            "present_asked",
            "The organizer asks you to share your screen: answer in the window.",
        )
        question = ConsentQuestion(
            who="The organizer",
            what="show your screen to the session",
            timeout=self._timeout,
            id="present",
        )
        try:
            answer = await self.prompt.ask(question)
        except PromptError as exc:  # nobody can be asked here: that is a no
            self._events.emit("warning", f"screenrelay: {exc}", message=str(exc))
            answer = Answer.EXPIRED
        if self.machine.state is not State.ASKED:
            return  # withdrawn meanwhile (stopped)
        self.machine.fire(ANSWER_EVENTS[answer])
        self._events.emit("present_answered", answer=answer.value)
        await self._conn.send(messages.PresentAnswer(ANSWERS[answer]))

    def on_changed(self, change: messages.PresenterChanged, tg: anyio.abc.TaskGroup) -> None:
        """The relay announced who presents; share only with this machine's own yes."""
        mine = change.presenter == self.member_id
        self.machine.fire(Event.ANNOUNCED_ME if mine else Event.ANNOUNCED_OTHER)
        if self.machine.capturing and not self.sharing:
            tg.start_soon(self._share)
        elif not self.machine.capturing:
            self._stop_capture()
            if self.remote.machine.state is not ControlState.IDLE:
                tg.start_soon(self.remote.revoke)

    async def stop(self) -> None:
        """This participant stops presenting: capture stops first, then the relay is told."""
        self.machine.fire(Event.STOP)
        self._stop_capture()
        if self.remote.machine.state is not ControlState.IDLE:
            await self.remote.revoke()
        await self._conn.send(messages.PresentAnswer(PresentAnswerKind.STOP))

    async def on_control_request(self, member_id: int) -> None:
        """Someone asks to control this screen: ask here, only while it is shown."""
        if self.machine.capturing and self.remote.running:
            await self.remote.on_request(member_id)
        # Otherwise nothing is shown to control; a relay that forwards it anyway
        # gets no answer.

    def on_key_update(self, tg: anyio.abc.TaskGroup) -> None:
        if self._cipher is not None:
            tg.start_soon(self._rekey_later)

    async def _rekey_later(self) -> None:
        await anyio.sleep(REKEY_GRACE)
        epoch = self._ring.current
        key = self._ring.key_for(epoch) if epoch is not None else None
        if self._cipher is not None and epoch is not None and key is not None:
            async with self._send_lock:
                self._cipher.rekey(epoch, key)
            self.sharer.request_keyframe()

    def _stop_capture(self) -> None:
        self.remote.gate.close()  # no input lands on a screen no longer shown
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    async def _share(self) -> None:
        epoch = self._ring.current
        key = self._ring.key_for(epoch) if epoch is not None else None
        if epoch is None or key is None:
            return
        self._cipher = SenderCipher(self._session_id, epoch, key, self.member_id)
        with anyio.CancelScope() as scope:
            self._scope = scope
            self._events.emit("presenting", "You are sharing your screen.")
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.remote.run)
                await self.sharer.run()
                tg.cancel_scope.cancel()
        self._cipher = None
        self._events.emit("presenting_stopped", "You stopped sharing your screen.")

    async def _send_frame(self, payload: bytes, keyframe: bool) -> int:
        async with self._send_lock:
            if self._cipher is None:
                return 0
            data = self._cipher.seal(Tag.FRAME, FLAG_KEYFRAME if keyframe else 0, payload)
            await self._conn.send_bytes(data)
        return len(data)
