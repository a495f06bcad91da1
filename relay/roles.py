"""Who presents, as the relay enforces it (the second line).

Consent to show a screen is given on the presenter's own machine, which
captures nothing until its user accepts there; the relay cannot make it.
Rules the relay adds (MISSION.md rules 3-5):
  1. Only the organizer asks a participant to present, only an admitted one,
     and only where policy lets participants present. One ask at a time: a
     new ask replaces the one before.
  2. The role moves to a participant only on that participant's own ACCEPT
     answering the ask in force.
  3. The organizer takes the role back at any time without asking (rule 5),
     or presents its own screen (its client asks its own user first).
  4. The presenting participant may stop; if it leaves, nobody presents.
  5. Every change goes to everyone (PresenterChanged) and into the audit
     trail. Only the presenter's frames are forwarded, and a new presenter is
     asked for a key frame at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.wire import ORGANIZER_MEMBER, PresentAnswerKind, PresenterReason

#: The audit action for each kind of change.
AUDIT_ACTION: Final = {
    PresenterReason.ACCEPTED: "presenter_changed",
    PresenterReason.DECLINED: "consent_declined",
    PresenterReason.EXPIRED: "consent_expired",
    PresenterReason.TAKEN_BACK: "presenter_changed",
    PresenterReason.ORGANIZER: "presenter_changed",
    PresenterReason.STOPPED: "presenter_changed",
    PresenterReason.LEFT: "presenter_changed",
}

#: The change an answer makes (STOP is handled apart: it needs no ask).
ANSWER_REASON: Final = {
    PresentAnswerKind.ACCEPT: PresenterReason.ACCEPTED,
    PresentAnswerKind.DECLINE: PresenterReason.DECLINED,
    PresentAnswerKind.EXPIRED: PresenterReason.EXPIRED,
}

Record = Callable[..., None]
Broadcast = Callable[[messages.Message], None]


class Roles:
    """The presenter of one live session and the ask in force."""

    def __init__(self, *, participants_may_present: bool) -> None:
        #: Whether policy lets participants present.
        self.allowed = participants_may_present
        #: Who presents (the organizer at first; 0: nobody).
        self.presenter = ORGANIZER_MEMBER
        #: The participant asked to present and not yet answered (0: none).
        self.asked = 0

    def ask(self, member_id: int, admitted: bool, forward: Broadcast, record: Record) -> None:
        """The organizer asks ``member_id`` to present."""
        if not self.allowed:
            raise RemoteProtocolError(
                "participants may not present on this relay", ErrorCode.NOT_ALLOWED
            )
        if not admitted or member_id == ORGANIZER_MEMBER:
            raise RemoteProtocolError(f"member {member_id} cannot be asked", ErrorCode.NOT_ALLOWED)
        self.asked = member_id
        forward(messages.PresentRequest(member_id))
        record("consent_asked", member=member_id, what="present")

    def answer(
        self, member_id: int, answer: messages.PresentAnswer, broadcast: Broadcast, record: Record
    ) -> bool:
        """A participant answered, or stops; True if it now presents."""
        kind = PresentAnswerKind(answer.answer)
        if kind is PresentAnswerKind.STOP:
            if self.presenter == member_id:
                self._change(0, member_id, PresenterReason.STOPPED, broadcast, record)
            return False
        if self.asked != member_id:
            return False  # no ask in force for it: nothing to answer
        self.asked = 0
        reason = ANSWER_REASON[kind]
        presenter = member_id if kind is PresentAnswerKind.ACCEPT else self.presenter
        self._change(presenter, member_id, reason, broadcast, record)
        return presenter == member_id

    def set_by_organizer(self, presenter: int, broadcast: Broadcast, record: Record) -> bool:
        """The organizer takes the role back (0) or presents itself (1); True if it presents."""
        previous = self.presenter
        self.asked = 0
        reason = PresenterReason.ORGANIZER if presenter else PresenterReason.TAKEN_BACK
        self._change(presenter, previous or ORGANIZER_MEMBER, reason, broadcast, record)
        return presenter == ORGANIZER_MEMBER

    def left(self, member_id: int, broadcast: Broadcast, record: Record) -> None:
        if self.asked == member_id:
            self.asked = 0
        if self.presenter == member_id:
            self._change(0, member_id, PresenterReason.LEFT, broadcast, record)

    def _change(
        self,
        presenter: int,
        subject: int,
        reason: PresenterReason,
        broadcast: Broadcast,
        record: Record,
    ) -> None:
        self.presenter = presenter
        broadcast(messages.PresenterChanged(presenter, subject, reason))
        record(
            AUDIT_ACTION[reason], member=subject, presenter=presenter, reason=reason.name.lower()
        )
