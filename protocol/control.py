"""Remote control on the presenter's machine: who may drive it, as data.

Rules (MISSION.md "Roles and consent", rule 7; docs/protocol.md "Remote
control"). This is the first line; the relay's checks are the second.

Rule 1: view only by default. The machine starts IDLE, with no controller,
and every prompt or grant that ends brings it back to IDLE.

Rule 2: every grant needs an explicit accept on the presenter's machine. The
only way into GRANTED is ACCEPT, from ASKING, and only the presenter's own
client calls `ControlMachine.accept`: nothing a peer sends can grant control.
An answer may name the prompt it answers, so a click on a prompt that has
since closed cannot accept a newer one.

Rule 3: a prompt that nobody answers declines. EXPIRE (after
`PROMPT_TIMEOUT`) ends it exactly as DECLINE does.

Rule 4: one controller at a time, and one prompt at a time. A request while
a prompt is showing or while someone holds control is refused as busy, not
queued: the requester may ask again later.

Rule 5: the presenter may revoke at any moment. REVOKE is allowed in every
state and always leads to IDLE; in IDLE it changes nothing and still
succeeds, so the hotkey never fails.

Rule 6: grants are numbered 1, 2, ... and never reused. Input is injected
only for the current controller under the current grant (`may_inject`), so
nothing sent under an earlier grant lands after a revoke.

Rule 7: only the controller ends its control by releasing or leaving, and
only the requester ends its prompt by leaving; the same messages about
anyone else are ignored.

Events a peer causes (REQUEST, RELEASE, and members leaving) can arrive in
any state, so their methods never raise for the state: they return what
they did (`Decision.BUSY`, or None for "nothing changed"). Events of the
presenter's own client (ACCEPT, DECLINE, EXPIRE) where the table has no
entry are bugs or lost races on this side and raise `LocalProtocolError`
naming the state and the event.

Pure logic: no clock, no threads. The caller (the host's control gate)
serializes calls, runs the prompt timer and announces each change with a
ControlState message. docs/state-diagrams.md is drawn from `TRANSITIONS`
by docs/make_state_diagrams.py.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from protocol.errors import LocalProtocolError
from protocol.tables import transition

#: Seconds a prompt shows before it expires and so declines (docs/protocol.md).
PROMPT_TIMEOUT: Final = 30.0

#: The largest grant number (a u32 on the wire).
MAX_GRANT: Final = 0xFFFF_FFFF

_MEMBER_MIN: Final = 1
_MEMBER_MAX: Final = 0xFFFF


class State(enum.Enum):
    """Where remote control of this presenter's machine stands."""

    #: View only: nobody holds control and no prompt is showing.
    IDLE = "idle"
    #: A prompt is showing for one requester, waiting for the presenter's answer.
    ASKING = "asking"
    #: One controller holds control under one grant; its input may be injected.
    GRANTED = "granted"


class Event(enum.Enum):
    """What can happen to remote control."""

    #: A member asked for control (ControlRequest, from a peer).
    REQUEST = "request"
    #: The presenter's user accepted the prompt.
    ACCEPT = "accept"
    #: The presenter's user declined the prompt.
    DECLINE = "decline"
    #: The prompt went unanswered for PROMPT_TIMEOUT seconds.
    EXPIRE = "expire"
    #: The presenter's user revoked (hotkey, window or terminal).
    REVOKE = "revoke"
    #: The controller gave control back (ControlRelease, from a peer).
    RELEASE = "release"
    #: The member whose prompt is showing left the session.
    REQUESTER_LEFT = "requester_left"
    #: The controller left the session.
    CONTROLLER_LEFT = "controller_left"


#: Every transition: (state, event) -> next state. A missing pair is not
#: allowed. REVOKE leaves every state (rule 5). Peer events that do not apply
#: (a request while busy, a release or a departure of anyone but the
#: requester or controller) are filtered out by ControlMachine before this
#: table is consulted: they change nothing.
TRANSITIONS: Final[Mapping[tuple[State, Event], State]] = MappingProxyType(
    {
        (State.IDLE, Event.REQUEST): State.ASKING,
        (State.IDLE, Event.REVOKE): State.IDLE,
        (State.ASKING, Event.ACCEPT): State.GRANTED,
        (State.ASKING, Event.DECLINE): State.IDLE,
        (State.ASKING, Event.EXPIRE): State.IDLE,
        (State.ASKING, Event.REVOKE): State.IDLE,
        (State.ASKING, Event.REQUESTER_LEFT): State.IDLE,
        (State.GRANTED, Event.REVOKE): State.IDLE,
        (State.GRANTED, Event.RELEASE): State.IDLE,
        (State.GRANTED, Event.CONTROLLER_LEFT): State.IDLE,
    }
)


def next_state(state: State, event: Event) -> State:
    """The state *event* leads to from *state*; `LocalProtocolError` if not allowed."""
    return transition(TRANSITIONS, state, event)


class Decision(enum.Enum):
    """The answer to a request for control."""

    #: Show the prompt; answer it with accept, decline or expire.
    ASK = "ask"
    #: Refuse at once (ControlState REFUSED): a prompt is showing or someone
    #: holds control.
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class Ended:
    """A prompt or a grant ended; announce it with a ControlState naming nobody."""

    #: What ended it: DECLINE, EXPIRE, REVOKE, RELEASE, REQUESTER_LEFT or
    #: CONTROLLER_LEFT.
    event: Event
    #: The requester whose prompt closed, or the controller who lost control.
    subject: int
    #: The grant that ended; 0 when a prompt ended (nothing was granted).
    grant: int


def _check_member(member_id: int) -> None:
    if (
        isinstance(member_id, bool)
        or not isinstance(member_id, int)
        or not _MEMBER_MIN <= member_id <= _MEMBER_MAX
    ):
        raise LocalProtocolError(
            f"member_id must be in {_MEMBER_MIN}..{_MEMBER_MAX}, not {member_id!r}"
        )


class ControlMachine:
    """Remote control of one presenter's machine, for one session.

    ``requester``, ``controller`` and ``grant`` are 0 when there is none, as
    on the wire.
    """

    __slots__ = ("_controller", "_grant", "_last_grant", "_prompt", "_requester", "_state")

    def __init__(self) -> None:
        self._state = State.IDLE
        self._requester = 0
        self._controller = 0
        self._grant = 0
        self._last_grant = 0
        self._prompt = 0

    def __repr__(self) -> str:
        return (
            f"ControlMachine(state={self._state.name}, requester={self._requester}, "
            f"controller={self._controller}, grant={self._grant}, prompt={self._prompt})"
        )

    @property
    def state(self) -> State:
        return self._state

    @property
    def requester(self) -> int:
        """The member whose prompt is showing (ASKING), else 0."""
        return self._requester

    @property
    def controller(self) -> int:
        """The member holding control (GRANTED), else 0."""
        return self._controller

    @property
    def grant(self) -> int:
        """The current grant (GRANTED), else 0."""
        return self._grant

    @property
    def last_grant(self) -> int:
        """The highest grant issued so far; 0 before the first."""
        return self._last_grant

    @property
    def prompt(self) -> int:
        """The number of the prompt showing (ASKING) or shown last; 0 before the first."""
        return self._prompt

    # -- events ------------------------------------------------------------

    def _fire(self, event: Event, prompt: int | None = None) -> None:
        """Move to the state *event* leads to, checking the prompt it answers."""
        target = next_state(self._state, event)
        if prompt is not None and prompt != self._prompt:
            raise LocalProtocolError(
                f"event {event.name} answers prompt {prompt}, but prompt {self._prompt} is showing"
            )
        self._state = target

    def request(self, member_id: int) -> Decision:
        """A member asked for control: ASK (show the prompt) or BUSY (refuse it)."""
        _check_member(member_id)
        if self._state is not State.IDLE:
            return Decision.BUSY
        self._fire(Event.REQUEST)
        self._requester = member_id
        self._prompt += 1
        return Decision.ASK

    def accept(self, prompt: int | None = None) -> int:
        """The presenter's user accepted the prompt: return the new grant number.

        Pass the `prompt` number the user saw to make sure it is still the
        one showing (rule 2).
        """
        if self._last_grant >= MAX_GRANT:
            raise LocalProtocolError("grant numbers are exhausted")
        self._fire(Event.ACCEPT, prompt)
        self._last_grant += 1
        self._controller, self._requester = self._requester, 0
        self._grant = self._last_grant
        return self._grant

    def _close_prompt(self, event: Event, prompt: int | None = None) -> Ended:
        self._fire(event, prompt)
        ended = Ended(event, self._requester, 0)
        self._requester = 0
        return ended

    def _end_grant(self, event: Event) -> Ended:
        self._fire(event)
        ended = Ended(event, self._controller, self._grant)
        self._controller = self._grant = 0
        return ended

    def decline(self, prompt: int | None = None) -> Ended:
        """The presenter's user declined the prompt."""
        return self._close_prompt(Event.DECLINE, prompt)

    def expire(self, prompt: int | None = None) -> Ended:
        """The prompt went unanswered for PROMPT_TIMEOUT: it declines (rule 3).

        Pass the number of the prompt the timer was armed for, so a timer of
        an earlier prompt cannot end a later one.
        """
        return self._close_prompt(Event.EXPIRE, prompt)

    def revoke(self) -> Ended | None:
        """The presenter revoked: valid in every state (rule 5).

        Returns what ended (a grant, or a prompt withdrawn), or None in IDLE,
        where revoking changes nothing.
        """
        if self._state is State.GRANTED:
            return self._end_grant(Event.REVOKE)
        if self._state is State.ASKING:
            return self._close_prompt(Event.REVOKE)
        self._fire(Event.REVOKE)
        return None

    def release(self, member_id: int) -> Ended | None:
        """A member sent ControlRelease: control ends only if it is the controller."""
        _check_member(member_id)
        if self._state is not State.GRANTED or member_id != self._controller:
            return None
        return self._end_grant(Event.RELEASE)

    def member_left(self, member_id: int) -> Ended | None:
        """A member left: its prompt closes, or its control ends; otherwise None."""
        _check_member(member_id)
        if self._state is State.ASKING and member_id == self._requester:
            return self._close_prompt(Event.REQUESTER_LEFT)
        if self._state is State.GRANTED and member_id == self._controller:
            return self._end_grant(Event.CONTROLLER_LEFT)
        return None

    # -- the question the input path asks -------------------------------------

    def may_inject(self, member_id: int, grant: int) -> bool:
        """Whether input from *member_id* under *grant* may be injected now (rule 6)."""
        return (
            self._state is State.GRANTED and member_id == self._controller and grant == self._grant
        )
