"""The relay's second line for remote control.

Rules (the first line, consent and the input gate, is on the presenter's
machine; see host_app and protocol/control.py):
  1. A ControlRequest is forwarded to the presenter only from an admitted
     member who is not the presenter and shares a pairwise key with it, and
     only where policy allows remote control; otherwise the relay answers the
     requester with ControlState REFUSED itself. While the organizer
     presents, any participant may ask; while a participant presents, only
     the organizer may (participants share no key with each other).
  2. Only the presenter announces control changes (ControlState); the relay
     records each in the audit trail and forwards it to every member. It
     names as controller only a member who may ask (rule 1), or nobody. A
     former presenter may still announce that control ended (nobody named);
     that is recorded and forwarded but changes nothing here.
  3. Input is forwarded only from the current controller, under the current
     grant, and only to the presenter. Anything else is dropped and counted,
     never an error: events in flight when control ends are expected.
  4. A controller may send at most INPUT_BURST messages at once and
     INPUT_RATE per second after that; beyond it input is dropped and
     counted, so no controller can flood the presenter's connection.
  5. ControlRelease is forwarded to the presenter only from the controller.
  6. When the presenter changes, control ends at the relay at once: no input
     goes to the new presenter under a grant of the old one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.wire import ControlReason
from relay.ratelimit import RateLimiter
from relay.store import DetailValue

#: Input messages a controller may send at once; a fast drag sends ~120/s.
INPUT_BURST: Final = 240
#: Input messages per second a controller may sustain.
INPUT_RATE: Final = 240.0

#: The audit action for each reason of a ControlState.
AUDIT_ACTION: Final = {
    ControlReason.GRANTED: "control_granted",
    ControlReason.DECLINED: "consent_declined",
    ControlReason.EXPIRED: "consent_expired",
    ControlReason.REVOKED_HOTKEY: "control_revoked",
    ControlReason.REVOKED_WINDOW: "control_revoked",
    ControlReason.RELEASED: "control_released",
    ControlReason.CONTROLLER_LEFT: "control_ended",
    ControlReason.REFUSED: "control_refused",
}

#: How a revoke was made, for the audit trail.
REVOKE_HOW: Final = {
    ControlReason.REVOKED_HOTKEY: "hotkey",
    ControlReason.REVOKED_WINDOW: "window",
}

Record = Callable[..., None]


@dataclasses.dataclass(slots=True)
class ControlStatistics:
    """What the relay did with control traffic of one session."""

    requests_forwarded: int = 0
    requests_refused: int = 0
    inputs_forwarded: int = 0
    inputs_dropped: int = 0


class ControlRouter:
    """Control state of one live session as the relay knows it."""

    def __init__(self, *, allowed: bool) -> None:
        #: Whether policy allows remote control in this session.
        self.allowed = allowed
        #: Member who holds control (0: nobody), as the presenter announced.
        self.controller = 0
        #: The current grant number (0: none).
        self.grant = 0
        self.stats = ControlStatistics()
        self._input_limit = RateLimiter(rate=INPUT_RATE, burst=INPUT_BURST, max_keys=64)

    def request(
        self,
        requester: int,
        presenter_id: int,
        admitted: bool,
        send_to_presenter: Callable[[messages.Message], None],
        send_to_requester: Callable[[messages.Message], None],
        record: Record,
    ) -> None:
        """Forward a ControlRequest, or refuse it on the relay's own authority."""
        if not admitted or requester == presenter_id:
            raise RemoteProtocolError(
                "only an admitted viewer may ask for control", ErrorCode.NOT_ALLOWED
            )
        if not self.allowed:
            self.stats.requests_refused += 1
            send_to_requester(
                messages.ControlState(self.controller, self.grant, requester, ControlReason.REFUSED)
            )
            record("control_refused", member=requester, reason="remote control not allowed")
            return
        self.stats.requests_forwarded += 1
        send_to_presenter(messages.ControlRequest(requester))
        record("consent_asked", member=requester, what="remote control")

    def announce(self, state: messages.ControlState, admitted: set[int], record: Record) -> None:
        """Take the presenter's ControlState; raise if it names a non-member."""
        if state.controller and state.controller not in admitted:
            raise RemoteProtocolError(
                f"member {state.controller} cannot hold control", ErrorCode.NOT_ALLOWED
            )
        if state.controller and not self.allowed:
            raise RemoteProtocolError("remote control is not allowed", ErrorCode.NOT_ALLOWED)
        self.controller = state.controller
        self.grant = state.grant
        self.note(state, record)

    def note(self, state: messages.ControlState, record: Record) -> None:
        """A former presenter says control ended: record it, change nothing."""
        detail: dict[str, DetailValue] = {"member": state.subject, "grant": state.grant}
        if state.reason in REVOKE_HOW:
            detail["how"] = REVOKE_HOW[state.reason]
        if state.reason == ControlReason.GRANTED:
            # The presenter's own machine said yes: the consent, then the grant.
            record("consent_given", what="remote control", **detail)
        record(AUDIT_ACTION[ControlReason(state.reason)], **detail)

    def presenter_changed(self) -> None:
        """A new presenter (or nobody): control of the old one ends here (rule 6)."""
        self.controller = 0
        self.grant = 0

    def may_forward_input(self, member: int, sender: int, grant: int, now: float) -> bool:
        """Whether an Input that ``member`` sent, naming ``sender`` and ``grant``,
        goes to the presenter."""
        ok = (
            self.controller != 0
            and member == sender == self.controller
            and grant == self.grant
            and self._input_limit.allow(sender, now)
        )
        if ok:
            self.stats.inputs_forwarded += 1
        else:
            self.stats.inputs_dropped += 1
        return ok

    def may_release(self, sender: int) -> bool:
        return self.controller != 0 and sender == self.controller
