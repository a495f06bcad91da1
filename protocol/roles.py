"""Who presents in a session, and the ask in force, as data (the relay's view).

Rules (MISSION.md "Roles and consent", rules 3-5 and 8; docs/protocol.md
"Presenting"). Consent to show a screen is given on the presenter's own
machine (protocol/presenting.py); this table is the relay's second line.

Rule 1: roles are organizer, presenter, participant, and one presenter at a
time. The organizer presents first (ORGANIZER); a participant presents only
in PARTICIPANT or PARTICIPANT_ASKED; nobody presents in NOBODY and
NOBODY_ASKED.

Rule 2: only the organizer hands the presenter role to a participant, by
asking it (ASK). One ask is in force at a time: a new ask replaces the one
before. The `*_ASKED` states are "who presents" plus "an ask is in force".
Asking the participant who presents already changes nothing.

Rule 3: the role moves to a participant only on that participant's own
ACCEPT answering the ask in force: the only way into PARTICIPANT from
anywhere else is ACCEPT, from an `*_ASKED` state, and `RolesMachine.accept`
ignores anyone but the asked participant. DECLINE and EXPIRE end the ask
and leave the presenter as it was; so does the asked participant leaving.

Rule 4: taking the role away needs no consent (rule 5 of MISSION.md): the
organizer's TAKE_BACK leaves every state for NOBODY, and ORGANIZER_PRESENTS
(after the organizer confirmed on its own machine) every state for
ORGANIZER. Both withdraw the ask in force.

Rule 5: the presenting participant may stop (STOP); if it leaves
(PRESENTER_LEFT), nobody presents. An ask in force survives both.

Events a peer causes can arrive in any state, so `RolesMachine` filters out
those that do not apply (an answer from someone not asked, a stop from
someone not presenting, a departure of a bystander) before the table is
consulted: they change nothing. A pair the table lacks raises
`LocalProtocolError` naming the state and the event.

Pure logic: no clock, no I/O. relay/roles.py drives it, tells everyone of
each change (PresenterChanged) and records it. docs/state-diagrams.md is
drawn from `TRANSITIONS` by docs/make_state_diagrams.py.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from protocol.errors import LocalProtocolError
from protocol.tables import transition
from protocol.wire import ORGANIZER_MEMBER, PresenterReason

_MEMBER_MAX: Final = 0xFFFF


class State(enum.Enum):
    """Who presents, and whether an ask is in force."""

    #: The organizer presents; no ask is in force.
    ORGANIZER = "organizer"
    #: The organizer presents; a participant is asked and has not answered.
    ORGANIZER_ASKED = "organizer-asked"
    #: A participant presents; no ask is in force.
    PARTICIPANT = "participant"
    #: A participant presents; another participant is asked.
    PARTICIPANT_ASKED = "participant-asked"
    #: Nobody presents; no ask is in force.
    NOBODY = "nobody"
    #: Nobody presents; a participant is asked.
    NOBODY_ASKED = "nobody-asked"


class Event(enum.Enum):
    """What can happen to the roles of a session."""

    #: The organizer asks a participant to present (PresentRequest).
    ASK = "ask"
    #: The asked participant's own machine said yes (PresentAnswer ACCEPT).
    ACCEPT = "accept"
    #: The asked participant's machine said no.
    DECLINE = "decline"
    #: The asked participant's prompt went unanswered.
    EXPIRE = "expire"
    #: The asked participant left the session.
    ASKED_LEFT = "asked_left"
    #: The organizer takes the role back; nobody presents (SetPresenter 0).
    TAKE_BACK = "take_back"
    #: The organizer presents its own screen (SetPresenter 1).
    ORGANIZER_PRESENTS = "organizer_presents"
    #: The presenting participant stops (PresentAnswer STOP).
    STOP = "stop"
    #: The presenting participant left the session.
    PRESENTER_LEFT = "presenter_left"


_S = State
_E = Event

#: Every transition: (state, event) -> next state. A missing pair is not allowed.
TRANSITIONS: Final[Mapping[tuple[State, Event], State]] = MappingProxyType(
    {
        (_S.ORGANIZER, _E.ASK): _S.ORGANIZER_ASKED,
        (_S.ORGANIZER, _E.TAKE_BACK): _S.NOBODY,
        (_S.ORGANIZER, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
        (_S.ORGANIZER_ASKED, _E.ASK): _S.ORGANIZER_ASKED,
        (_S.ORGANIZER_ASKED, _E.ACCEPT): _S.PARTICIPANT,
        (_S.ORGANIZER_ASKED, _E.DECLINE): _S.ORGANIZER,
        (_S.ORGANIZER_ASKED, _E.EXPIRE): _S.ORGANIZER,
        (_S.ORGANIZER_ASKED, _E.ASKED_LEFT): _S.ORGANIZER,
        (_S.ORGANIZER_ASKED, _E.TAKE_BACK): _S.NOBODY,
        (_S.ORGANIZER_ASKED, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
        (_S.PARTICIPANT, _E.ASK): _S.PARTICIPANT_ASKED,
        (_S.PARTICIPANT, _E.TAKE_BACK): _S.NOBODY,
        (_S.PARTICIPANT, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
        (_S.PARTICIPANT, _E.STOP): _S.NOBODY,
        (_S.PARTICIPANT, _E.PRESENTER_LEFT): _S.NOBODY,
        (_S.PARTICIPANT_ASKED, _E.ASK): _S.PARTICIPANT_ASKED,
        (_S.PARTICIPANT_ASKED, _E.ACCEPT): _S.PARTICIPANT,
        (_S.PARTICIPANT_ASKED, _E.DECLINE): _S.PARTICIPANT,
        (_S.PARTICIPANT_ASKED, _E.EXPIRE): _S.PARTICIPANT,
        (_S.PARTICIPANT_ASKED, _E.ASKED_LEFT): _S.PARTICIPANT,
        (_S.PARTICIPANT_ASKED, _E.TAKE_BACK): _S.NOBODY,
        (_S.PARTICIPANT_ASKED, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
        (_S.PARTICIPANT_ASKED, _E.STOP): _S.NOBODY_ASKED,
        (_S.PARTICIPANT_ASKED, _E.PRESENTER_LEFT): _S.NOBODY_ASKED,
        (_S.NOBODY, _E.ASK): _S.NOBODY_ASKED,
        (_S.NOBODY, _E.TAKE_BACK): _S.NOBODY,
        (_S.NOBODY, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
        (_S.NOBODY_ASKED, _E.ASK): _S.NOBODY_ASKED,
        (_S.NOBODY_ASKED, _E.ACCEPT): _S.PARTICIPANT,
        (_S.NOBODY_ASKED, _E.DECLINE): _S.NOBODY,
        (_S.NOBODY_ASKED, _E.EXPIRE): _S.NOBODY,
        (_S.NOBODY_ASKED, _E.ASKED_LEFT): _S.NOBODY,
        (_S.NOBODY_ASKED, _E.TAKE_BACK): _S.NOBODY,
        (_S.NOBODY_ASKED, _E.ORGANIZER_PRESENTS): _S.ORGANIZER,
    }
)

#: The PresenterChanged reason each answer gives.
ANSWER_REASONS: Final = MappingProxyType(
    {
        Event.ACCEPT: PresenterReason.ACCEPTED,
        Event.DECLINE: PresenterReason.DECLINED,
        Event.EXPIRE: PresenterReason.EXPIRED,
    }
)


def next_state(state: State, event: Event) -> State:
    """The state *event* leads to from *state*; `LocalProtocolError` if not allowed."""
    return transition(TRANSITIONS, state, event)


@dataclass(frozen=True, slots=True)
class Change:
    """What to tell everyone (PresenterChanged) after an event."""

    #: Who presents now (1: the organizer; 0: nobody).
    presenter: int
    #: The member the change concerns.
    subject: int
    reason: PresenterReason


def _check_participant(member_id: int) -> None:
    if (
        isinstance(member_id, bool)
        or not isinstance(member_id, int)
        or not ORGANIZER_MEMBER < member_id <= _MEMBER_MAX
    ):
        raise LocalProtocolError(
            f"a participant's member_id is in {ORGANIZER_MEMBER + 1}..{_MEMBER_MAX}, "
            f"not {member_id!r}"
        )


class RolesMachine:
    """The roles of one live session. ``presenter`` and ``asked`` are 0 for none."""

    __slots__ = ("_asked", "_presenter", "_state")

    def __init__(self) -> None:
        self._state = State.ORGANIZER
        self._presenter = ORGANIZER_MEMBER
        self._asked = 0

    def __repr__(self) -> str:
        return (
            f"RolesMachine(state={self._state.name}, presenter={self._presenter}, "
            f"asked={self._asked})"
        )

    @property
    def state(self) -> State:
        return self._state

    @property
    def presenter(self) -> int:
        """Who presents: 1 the organizer, a participant's id, or 0 for nobody."""
        return self._presenter

    @property
    def asked(self) -> int:
        """The participant asked to present and not yet answered (0: none)."""
        return self._asked

    def _fire(self, event: Event) -> None:
        self._state = next_state(self._state, event)

    def ask(self, member_id: int) -> bool:
        """The organizer asks ``member_id``; False if it presents already (nothing to ask)."""
        _check_participant(member_id)
        if member_id == self._presenter:
            return False
        self._fire(Event.ASK)
        self._asked = member_id
        return True

    def answer(self, member_id: int, event: Event) -> Change | None:
        """``member_id`` answered (ACCEPT, DECLINE or EXPIRE); None if it was not asked."""
        if event not in ANSWER_REASONS:
            raise LocalProtocolError(f"event {event.name} is not an answer")
        _check_participant(member_id)
        if member_id != self._asked:
            return None
        self._fire(event)
        self._asked = 0
        if event is Event.ACCEPT:
            self._presenter = member_id
        return Change(self._presenter, member_id, ANSWER_REASONS[event])

    def take_back(self) -> Change:
        """The organizer takes the role back: nobody presents (no consent needed)."""
        return self._organizer_sets(Event.TAKE_BACK, 0, PresenterReason.TAKEN_BACK)

    def organizer_presents(self) -> Change:
        """The organizer presents its own screen (its client asked its user first)."""
        return self._organizer_sets(
            Event.ORGANIZER_PRESENTS, ORGANIZER_MEMBER, PresenterReason.ORGANIZER
        )

    def _organizer_sets(self, event: Event, presenter: int, reason: PresenterReason) -> Change:
        previous = self._presenter
        self._fire(event)
        self._presenter, self._asked = presenter, 0
        return Change(presenter, previous or ORGANIZER_MEMBER, reason)

    def stop(self, member_id: int) -> Change | None:
        """``member_id`` stops presenting; None if it does not present."""
        _check_participant(member_id)
        if member_id != self._presenter:
            return None
        self._fire(Event.STOP)
        self._presenter = 0
        return Change(0, member_id, PresenterReason.STOPPED)

    def member_left(self, member_id: int) -> Change | None:
        """A participant left: its ask ends quietly; if it presented, nobody does now."""
        _check_participant(member_id)
        if member_id == self._asked:
            self._fire(Event.ASKED_LEFT)
            self._asked = 0
            return None
        if member_id == self._presenter:
            self._fire(Event.PRESENTER_LEFT)
            self._presenter = 0
            return Change(0, member_id, PresenterReason.LEFT)
        return None
