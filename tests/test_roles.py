"""The roles machine (protocol/roles.py) and the relay driving it (relay/roles.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import messages
from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.roles import TRANSITIONS, Change, Event, RolesMachine, State, next_state
from protocol.wire import ORGANIZER_MEMBER, PresentAnswerKind, PresenterReason
from relay.roles import Roles

ROOT = Path(__file__).resolve().parent.parent

#: States in which a participant presents.
PRESENTING = {State.PARTICIPANT, State.PARTICIPANT_ASKED}
#: States with an ask in force.
ASKED = {State.ORGANIZER_ASKED, State.PARTICIPANT_ASKED, State.NOBODY_ASKED}


@pytest.mark.parametrize(("pair", "target"), list(TRANSITIONS.items()))
def test_every_transition(pair: tuple[State, Event], target: State) -> None:
    assert next_state(*pair) is target


@pytest.mark.parametrize(
    ("state", "event"), [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS]
)
def test_an_event_with_no_entry_raises_naming_state_and_event(state: State, event: Event) -> None:
    with pytest.raises(LocalProtocolError) as info:
        next_state(state, event)
    assert str(info.value) == f"event {event.name} is not allowed in state {state.name}"


@pytest.mark.parametrize("state", list(State))
def test_the_organizer_takes_the_role_back_or_presents_from_every_state(state: State) -> None:
    assert next_state(state, Event.TAKE_BACK) is State.NOBODY
    assert next_state(state, Event.ORGANIZER_PRESENTS) is State.ORGANIZER


def test_only_accept_makes_a_participant_present() -> None:
    """Rule 3, on the table itself: every edge into a presenting state from a
    state where no participant presents is ACCEPT."""
    for (state, event), target in TRANSITIONS.items():
        if target in PRESENTING and state not in PRESENTING:
            assert event is Event.ACCEPT, (state, event)


def test_answers_exist_only_while_an_ask_is_in_force() -> None:
    for (state, event), _target in TRANSITIONS.items():
        if event in (Event.ACCEPT, Event.DECLINE, Event.EXPIRE, Event.ASKED_LEFT):
            assert state in ASKED, (state, event)


def test_the_asked_participants_accept_hands_the_role_over() -> None:
    machine = RolesMachine()
    assert (machine.state, machine.presenter, machine.asked) == (State.ORGANIZER, 1, 0)
    assert machine.ask(2)
    assert (machine.state, machine.asked) == (State.ORGANIZER_ASKED, 2)
    assert machine.answer(2, Event.ACCEPT) == Change(2, 2, PresenterReason.ACCEPTED)
    assert (machine.state, machine.presenter, machine.asked) == (State.PARTICIPANT, 2, 0)


def test_nobody_but_the_asked_participant_can_answer() -> None:
    machine = RolesMachine()
    machine.ask(2)
    assert machine.answer(3, Event.ACCEPT) is None
    assert (machine.state, machine.presenter, machine.asked) == (State.ORGANIZER_ASKED, 1, 2)
    fresh = RolesMachine()
    assert fresh.answer(2, Event.ACCEPT) is None  # no ask in force at all
    assert fresh.state is State.ORGANIZER


def test_a_new_ask_replaces_the_one_before() -> None:
    machine = RolesMachine()
    machine.ask(2)
    machine.ask(3)
    assert machine.answer(2, Event.ACCEPT) is None
    assert machine.answer(3, Event.ACCEPT) == Change(3, 3, PresenterReason.ACCEPTED)


@pytest.mark.parametrize(
    ("event", "reason"),
    [(Event.DECLINE, PresenterReason.DECLINED), (Event.EXPIRE, PresenterReason.EXPIRED)],
)
def test_decline_and_expire_leave_the_presenter_as_it_was(
    event: Event, reason: PresenterReason
) -> None:
    machine = RolesMachine()
    machine.ask(2)
    machine.answer(2, Event.ACCEPT)
    machine.ask(3)
    assert machine.state is State.PARTICIPANT_ASKED
    assert machine.answer(3, event) == Change(2, 3, reason)
    assert (machine.state, machine.presenter, machine.asked) == (State.PARTICIPANT, 2, 0)


def test_asking_the_participant_who_presents_changes_nothing() -> None:
    machine = RolesMachine()
    machine.ask(2)
    machine.answer(2, Event.ACCEPT)
    assert not machine.ask(2)
    assert (machine.state, machine.asked) == (State.PARTICIPANT, 0)


def test_the_organizer_cannot_be_asked_and_member_ids_are_checked() -> None:
    machine = RolesMachine()
    for bad in (ORGANIZER_MEMBER, 0, 0x10000, True):
        with pytest.raises(LocalProtocolError):
            machine.ask(bad)
    with pytest.raises(LocalProtocolError, match="not an answer"):
        machine.answer(2, Event.STOP)


def test_taking_back_needs_no_consent_and_withdraws_the_ask() -> None:
    machine = RolesMachine()
    machine.ask(2)
    machine.answer(2, Event.ACCEPT)
    machine.ask(3)
    assert machine.take_back() == Change(0, 2, PresenterReason.TAKEN_BACK)
    assert (machine.state, machine.presenter, machine.asked) == (State.NOBODY, 0, 0)
    assert machine.answer(3, Event.ACCEPT) is None  # the withdrawn ask cannot be accepted
    assert machine.organizer_presents() == Change(1, 1, PresenterReason.ORGANIZER)
    assert machine.state is State.ORGANIZER


def test_the_presenter_stops_or_leaves_and_an_ask_survives() -> None:
    machine = RolesMachine()
    machine.ask(2)
    machine.answer(2, Event.ACCEPT)
    assert machine.stop(3) is None  # not presenting: nothing to stop
    machine.ask(3)
    assert machine.stop(2) == Change(0, 2, PresenterReason.STOPPED)
    assert (machine.state, machine.asked) == (State.NOBODY_ASKED, 3)
    assert machine.answer(3, Event.ACCEPT) == Change(3, 3, PresenterReason.ACCEPTED)
    assert machine.member_left(4) is None  # a bystander
    assert machine.member_left(3) == Change(0, 3, PresenterReason.LEFT)
    assert machine.state is State.NOBODY


def test_the_asked_participant_leaving_ends_the_ask_quietly() -> None:
    machine = RolesMachine()
    machine.ask(2)
    assert machine.member_left(2) is None
    assert (machine.state, machine.presenter, machine.asked) == (State.ORGANIZER, 1, 0)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["ask", "accept", "decline", "expire", "take_back", "organizer", "stop", "left"]
        ),
        st.integers(2, 5),
    ),
    max_size=40,
)


@given(ACTIONS)
def test_random_sequences_keep_the_rules(actions: list[tuple[str, int]]) -> None:
    machine = RolesMachine()
    for action, member in actions:
        before = machine.presenter
        accepted_by = 0
        if action == "ask":
            machine.ask(member)
        elif action in ("accept", "decline", "expire"):
            event = {"accept": Event.ACCEPT, "decline": Event.DECLINE, "expire": Event.EXPIRE}
            if machine.answer(member, event[action]) is not None and action == "accept":
                accepted_by = member
        elif action == "take_back":
            machine.take_back()
        elif action == "organizer":
            machine.organizer_presents()
        elif action == "stop":
            machine.stop(member)
        else:
            machine.member_left(member)
        # The state says what the fields say.
        assert (machine.asked != 0) == (machine.state in ASKED)
        assert (machine.presenter > ORGANIZER_MEMBER) == (machine.state in PRESENTING)
        assert (machine.presenter == ORGANIZER_MEMBER) == (
            machine.state in (State.ORGANIZER, State.ORGANIZER_ASKED)
        )
        assert machine.asked == 0 or machine.asked != machine.presenter
        # A participant becomes presenter only by its own accept.
        if machine.presenter > ORGANIZER_MEMBER and machine.presenter != before:
            assert accepted_by == machine.presenter


# -- the relay driving the machine -------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[messages.Message] = []
        self.records: list[tuple[str, dict[str, Any]]] = []

    def send(self, message: messages.Message) -> None:
        self.sent.append(message)

    def record(self, action: str, **detail: Any) -> None:
        self.records.append((action, detail))


def test_the_relay_asks_only_admitted_participants_where_policy_allows() -> None:
    out = Recorder()
    with pytest.raises(RemoteProtocolError) as info:
        Roles(participants_may_present=False).ask(2, True, out.send, out.record)
    assert info.value.code is ErrorCode.NOT_ALLOWED
    roles = Roles(participants_may_present=True)
    for member, admitted in ((2, False), (ORGANIZER_MEMBER, True)):
        with pytest.raises(RemoteProtocolError):
            roles.ask(member, admitted, out.send, out.record)
    assert out.sent == [] and roles.asked == 0
    roles.ask(2, True, out.send, out.record)
    assert out.sent == [messages.PresentRequest(2)]
    assert out.records == [("consent_asked", {"member": 2, "what": "present"})]


def test_the_relay_moves_the_role_only_on_the_asked_participants_accept() -> None:
    out = Recorder()
    roles = Roles(participants_may_present=True)
    accept = messages.PresentAnswer(PresentAnswerKind.ACCEPT)
    assert not roles.answer(2, accept, out.send, out.record)  # nobody asked it
    roles.ask(2, True, out.send, out.record)
    assert not roles.answer(3, accept, out.send, out.record)  # someone else's answer
    assert roles.presenter == ORGANIZER_MEMBER
    assert roles.answer(2, accept, out.send, out.record)
    assert roles.presenter == 2
    assert out.sent[-1] == messages.PresenterChanged(2, 2, PresenterReason.ACCEPTED)
    assert out.records[-2:] == [
        ("consent_given", {"member": 2, "what": "present"}),
        ("presenter_changed", {"member": 2, "presenter": 2, "reason": "accepted"}),
    ]
    assert not roles.set_by_organizer(0, out.send, out.record)
    assert out.sent[-1] == messages.PresenterChanged(0, 2, PresenterReason.TAKEN_BACK)
    assert roles.set_by_organizer(1, out.send, out.record)
    assert roles.presenter == ORGANIZER_MEMBER


def test_the_relay_tells_everyone_when_the_presenter_stops_or_leaves() -> None:
    out = Recorder()
    roles = Roles(participants_may_present=True)
    roles.ask(2, True, out.send, out.record)
    roles.answer(2, messages.PresentAnswer(PresentAnswerKind.ACCEPT), out.send, out.record)
    roles.answer(2, messages.PresentAnswer(PresentAnswerKind.STOP), out.send, out.record)
    assert out.sent[-1] == messages.PresenterChanged(0, 2, PresenterReason.STOPPED)
    roles.ask(3, True, out.send, out.record)
    roles.answer(3, messages.PresentAnswer(PresentAnswerKind.ACCEPT), out.send, out.record)
    count = len(out.sent)
    roles.left(4, out.send, out.record)
    assert len(out.sent) == count
    roles.left(3, out.send, out.record)
    assert out.sent[-1] == messages.PresenterChanged(0, 3, PresenterReason.LEFT)


def test_the_roles_diagram_is_drawn_from_the_table() -> None:
    path = ROOT / "docs" / "make_state_diagrams.py"
    spec = importlib.util.spec_from_file_location("make_state_diagrams_roles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    rendered = module.render()
    assert "[*] --> ORGANIZER" in rendered
    for (state, event), target in TRANSITIONS.items():
        assert f"| {state.name} | {event.name} | {target.name} |" in rendered
