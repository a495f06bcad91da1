"""Presenting on a participant's machine: whether it shows its screen, as data.

Rules (MISSION.md rules 3, 4, 5, 8; docs/protocol.md "Presenting"):

Rule 1: a participant shows its screen only after its own user said yes, on
its own machine, to the ask in force. The only way into PRESENTING is the
relay's announcement (ANNOUNCED_ME) in AGREED, and the only way into AGREED
is ACCEPT while ASKED.

Rule 2: the relay's word alone starts nothing. ANNOUNCED_ME in IDLE or ASKED
changes nothing: a modified relay that announces a participant without its
yes gets no capture.

Rule 3: an unanswered ask declines (EXPIRE), exactly as DECLINE does.

Rule 4: taking the role away needs no consent. When the relay announces
another presenter (or nobody), a presenting or agreed participant goes back
to IDLE, and its capture stops at once.

Rule 5: the participant may stop at any moment. STOP leaves every state.

Capture runs exactly while the state is PRESENTING (`capturing`). Pure
logic: the caller shows the prompt, runs the capture and talks to the relay.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from protocol.tables import transition


class State(enum.Enum):
    """Where presenting stands on this participant's machine."""

    #: Not asked, not presenting.
    IDLE = "idle"
    #: The organizer asked; the prompt is showing here.
    ASKED = "asked"
    #: This machine's user said yes; waiting for the relay to hand the role over.
    AGREED = "agreed"
    #: Sharing this screen.
    PRESENTING = "presenting"


class Event(enum.Enum):
    """What can happen to presenting on this machine."""

    #: The organizer asks this participant to present (PresentRequest).
    ASK = "ask"
    #: This machine's user said yes.
    ACCEPT = "accept"
    #: This machine's user said no.
    DECLINE = "decline"
    #: Nobody answered in time.
    EXPIRE = "expire"
    #: The relay announced that this participant presents.
    ANNOUNCED_ME = "announced_me"
    #: The relay announced someone else, or nobody (the role was taken back).
    ANNOUNCED_OTHER = "announced_other"
    #: This machine's user stops presenting (or withdraws a yes).
    STOP = "stop"


#: Every transition: (state, event) -> next state. A missing pair raises.
TRANSITIONS: Final[Mapping[tuple[State, Event], State]] = MappingProxyType(
    {
        (State.IDLE, Event.ASK): State.ASKED,
        (State.IDLE, Event.ANNOUNCED_ME): State.IDLE,
        (State.IDLE, Event.ANNOUNCED_OTHER): State.IDLE,
        (State.IDLE, Event.STOP): State.IDLE,
        (State.ASKED, Event.ASK): State.ASKED,
        (State.ASKED, Event.ACCEPT): State.AGREED,
        (State.ASKED, Event.DECLINE): State.IDLE,
        (State.ASKED, Event.EXPIRE): State.IDLE,
        (State.ASKED, Event.ANNOUNCED_ME): State.ASKED,
        (State.ASKED, Event.ANNOUNCED_OTHER): State.ASKED,
        (State.ASKED, Event.STOP): State.IDLE,
        (State.AGREED, Event.ASK): State.ASKED,
        (State.AGREED, Event.ANNOUNCED_ME): State.PRESENTING,
        (State.AGREED, Event.ANNOUNCED_OTHER): State.IDLE,
        (State.AGREED, Event.STOP): State.IDLE,
        (State.PRESENTING, Event.ASK): State.PRESENTING,
        (State.PRESENTING, Event.ANNOUNCED_ME): State.PRESENTING,
        (State.PRESENTING, Event.ANNOUNCED_OTHER): State.IDLE,
        (State.PRESENTING, Event.STOP): State.IDLE,
    }
)


def next_state(state: State, event: Event) -> State:
    """The state *event* leads to from *state*; `LocalProtocolError` if not allowed."""
    return transition(TRANSITIONS, state, event)


class PresentingMachine:
    """Presenting on one participant's machine, for one session."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = State.IDLE

    @property
    def state(self) -> State:
        return self._state

    @property
    def capturing(self) -> bool:
        """Whether this machine may capture and send its screen now."""
        return self._state is State.PRESENTING

    def fire(self, event: Event) -> State:
        """Apply *event*; return the new state. Raises for a pair not in the table."""
        self._state = next_state(self._state, event)
        return self._state
