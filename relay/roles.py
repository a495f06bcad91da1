"""Who presents, as the relay enforces it (the second line).

Consent to show a screen is given on the presenter's own machine, which
captures nothing until its user accepts there; the relay cannot make it.
The rules of who presents are protocol/roles.py's table (`RolesMachine`);
this module drives it with what members send and adds what only the relay
can check (MISSION.md rules 3-5):
  1. Only the organizer asks a participant to present, only an admitted one,
     and only where policy lets participants present.
  2. The role moves to a participant only on that participant's own ACCEPT
     answering the ask in force (the table's rule 3): an answer from anyone
     else changes nothing.
  3. The organizer takes the role back at any time without asking (rule 5),
     or presents its own screen (its client asks its own user first).
  4. The presenting participant may stop; if it leaves, nobody presents.
  5. Every change goes to everyone (PresenterChanged) and into the audit
     trail. Only the presenter's frames are forwarded, and a new presenter is
     asked for a key frame at once.
  6. When policy stops letting participants present, a presenting
     participant loses the role and an ask in force is withdrawn
     (PresenterChanged POLICY); an ACCEPT that arrives afterwards is refused
     the same way. Taking a role away needs no consent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.roles import Change, Event, RolesMachine
from protocol.wire import ORGANIZER_MEMBER, PresentAnswerKind, PresenterReason
from relay.store import DetailValue

#: The audit action for each kind of change.
AUDIT_ACTION: Final = {
    PresenterReason.ACCEPTED: "presenter_changed",
    PresenterReason.DECLINED: "consent_declined",
    PresenterReason.EXPIRED: "consent_expired",
    PresenterReason.TAKEN_BACK: "presenter_changed",
    PresenterReason.ORGANIZER: "presenter_changed",
    PresenterReason.STOPPED: "presenter_changed",
    PresenterReason.LEFT: "presenter_changed",
    PresenterReason.POLICY: "refused",
}

#: The table's event for each answer (STOP is handled apart: it needs no ask).
ANSWER_EVENT: Final = {
    PresentAnswerKind.ACCEPT: Event.ACCEPT,
    PresentAnswerKind.DECLINE: Event.DECLINE,
    PresentAnswerKind.EXPIRED: Event.EXPIRE,
}

Record = Callable[..., None]
Broadcast = Callable[[messages.Message], None]


class Roles:
    """The presenter of one live session and the ask in force."""

    def __init__(self, *, participants_may_present: bool) -> None:
        #: Whether policy lets participants present.
        self.allowed = participants_may_present
        #: The rules, as a table (protocol/roles.py).
        self.machine = RolesMachine()

    @property
    def presenter(self) -> int:
        """Who presents (the organizer at first; 0: nobody)."""
        return self.machine.presenter

    @property
    def asked(self) -> int:
        """The participant asked to present and not yet answered (0: none)."""
        return self.machine.asked

    def ask(self, member_id: int, admitted: bool, forward: Broadcast, record: Record) -> None:
        """The organizer asks ``member_id`` to present."""
        if not self.allowed:
            raise RemoteProtocolError(
                "participants may not present on this relay", ErrorCode.NOT_ALLOWED
            )
        if not admitted or member_id == ORGANIZER_MEMBER:
            raise RemoteProtocolError(f"member {member_id} cannot be asked", ErrorCode.NOT_ALLOWED)
        if self.machine.ask(member_id):
            forward(messages.PresentRequest(member_id))
            record("consent_asked", member=member_id, what="present")

    def answer(
        self, member_id: int, answer: messages.PresentAnswer, broadcast: Broadcast, record: Record
    ) -> bool:
        """A participant answered, or stops; True if it now presents."""
        kind = PresentAnswerKind(answer.answer)
        if kind is PresentAnswerKind.STOP:
            change = self.machine.stop(member_id)
        elif kind is PresentAnswerKind.ACCEPT and not self.allowed:
            change = self.machine.answer(member_id, Event.DECLINE)
            if change is not None:
                change = Change(change.presenter, change.subject, PresenterReason.POLICY)
        else:
            change = self.machine.answer(member_id, ANSWER_EVENT[kind])
        if change is None:
            return False  # not asked, or not presenting: nothing to answer
        self._tell(change, broadcast, record)
        return change.presenter == member_id

    def set_by_organizer(self, presenter: int, broadcast: Broadcast, record: Record) -> bool:
        """The organizer takes the role back (0) or presents itself (1); True if it presents."""
        change = self.machine.organizer_presents() if presenter else self.machine.take_back()
        self._tell(change, broadcast, record)
        return change.presenter == ORGANIZER_MEMBER

    def withdraw_by_policy(self, broadcast: Broadcast, record: Record) -> None:
        """Policy no longer lets participants present: take the role back, end any ask."""
        presenter, asked = self.machine.presenter, self.machine.asked
        if presenter > ORGANIZER_MEMBER:
            self.machine.take_back()
            self._tell(Change(0, presenter, PresenterReason.POLICY), broadcast, record)
        elif asked:
            change = self.machine.answer(asked, Event.DECLINE)
            if change is not None:
                self._tell(
                    Change(change.presenter, asked, PresenterReason.POLICY), broadcast, record
                )

    def left(self, member_id: int, broadcast: Broadcast, record: Record) -> None:
        change = self.machine.member_left(member_id)
        if change is not None:
            self._tell(change, broadcast, record)

    @staticmethod
    def _tell(change: Change, broadcast: Broadcast, record: Record) -> None:
        broadcast(messages.PresenterChanged(change.presenter, change.subject, change.reason))
        if change.reason is PresenterReason.ACCEPTED:
            # The participant's own machine said yes: the consent, then its effect.
            record("consent_given", member=change.subject, what="present")
        detail: dict[str, DetailValue] = {
            "member": change.subject,
            "presenter": change.presenter,
            "reason": change.reason.name.lower(),
        }
        if change.reason is PresenterReason.POLICY:
            detail["rule"] = "features.participants_present"
        record(AUDIT_ACTION[change.reason], **detail)
