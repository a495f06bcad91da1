"""A viewer's side of remote control: ask for it, send input while it holds, give it back.

The viewer sends Input only while the presenter's last ControlState names it
as controller; that is courtesy, not security. The presenter's input gate is
what decides, and it cannot be opened from here or by the relay.

Where the relay's policy forbids remote control (Welcome said so, or control
ended with reason POLICY), a request is refused here with a sentence; the
relay refuses it anyway.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from protocol import messages
from protocol.input_events import InputBatch, InputEvent, encode_batch
from protocol.sframe import InputSealer
from protocol.wire import ControlReason
from viewer_app.events import EventSink
from viewer_app.transport import RelayConnection

#: Events sent in one Input message at most (protocol limit: 256).
BATCH: int = 64


class ControlClient:
    """Remote control as one viewer sees and uses it."""

    def __init__(
        self,
        conn: RelayConnection,
        session_id: int,
        member_id: int,
        pairwise: bytes,
        events: EventSink,
    ) -> None:
        self._conn = conn
        self.member_id = member_id
        self._sealer = InputSealer(session_id, pairwise, member_id)
        self._events = events
        #: The grant under which this viewer controls, 0 while it does not.
        self.grant = 0
        #: Who controls now (0: nobody), as last announced.
        self.controller = 0
        self.sent = 0
        #: The relay's policy forbids remote control.
        self.forbidden = conn.policy.get("remote_control") is False

    @property
    def in_control(self) -> bool:
        return self.grant != 0

    async def request(self) -> None:
        if self.forbidden:
            message = "Remote control is disabled by this relay's policy."
            self._events.emit("command_error", f"screenrelay: {message}", message=message)
            return
        await self._conn.send(messages.ControlRequest(self.member_id))
        self._events.emit("control_requested", "Asked the presenter for control.")

    async def release(self) -> None:
        if self.in_control:
            self.grant = 0
            await self._conn.send(messages.ControlRelease())

    async def send(self, batch: Sequence[InputEvent]) -> bool:
        """Send events if this viewer is in control; False (nothing sent) if not."""
        grant = self.grant
        if not grant:
            return False
        for start in range(0, len(batch), BATCH):
            plaintext = encode_batch(
                InputBatch(time.time_ns(), tuple(batch[start : start + BATCH]))
            )
            await self._conn.send_bytes(self._sealer.seal(grant, plaintext))
            self.sent += 1
        return True

    def on_state(self, state: messages.ControlState) -> None:
        """Follow the presenter's announcement and tell the user."""
        reason = ControlReason(state.reason)
        if reason is ControlReason.POLICY:
            self.forbidden = True
        self.controller = state.controller
        mine = state.controller == self.member_id
        self.grant = state.grant if mine else 0
        if state.subject == self.member_id and reason is not ControlReason.GRANTED and not mine:
            human = {
                ControlReason.DECLINED: "The presenter declined your request for control.",
                ControlReason.EXPIRED: "The presenter did not answer your request for control.",
                ControlReason.REFUSED: "Remote control is not available now.",
                ControlReason.REVOKED_HOTKEY: "The presenter took control back.",
                ControlReason.REVOKED_WINDOW: "The presenter took control back.",
                ControlReason.RELEASED: "You gave control back.",
                ControlReason.CONTROLLER_LEFT: "Control ended.",
                ControlReason.POLICY: "Remote control is disabled by this relay's policy.",
            }.get(reason)
        elif mine:
            human = "You control the presenter's screen. They can take it back at any moment."
        else:
            human = None
        self._events.emit(
            "control",
            human,
            at_ns=time.time_ns(),
            controller=state.controller,
            grant=state.grant,
            subject=state.subject,
            reason=reason.name.lower(),
            mine=mine,
        )
