"""The participant-side presenting machine: every transition, and rule 1 exhaustively."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import LocalProtocolError
from protocol.presenting import TRANSITIONS, Event, PresentingMachine, State, next_state


def run(events: list[Event]) -> PresentingMachine:
    machine = PresentingMachine()
    for event in events:
        machine.fire(event)
    return machine


def test_the_happy_path_needs_the_users_yes_then_the_announcement() -> None:
    machine = run([Event.ASK, Event.ACCEPT])
    assert machine.state is State.AGREED and not machine.capturing
    machine.fire(Event.ANNOUNCED_ME)
    assert machine.capturing
    machine.fire(Event.ANNOUNCED_OTHER)  # taken back: no consent needed
    assert machine.state is State.IDLE and not machine.capturing


@pytest.mark.parametrize("state", list(State))
def test_stop_leaves_every_state(state: State) -> None:
    assert next_state(state, Event.STOP) is State.IDLE


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS],
)
def test_a_missing_pair_raises_naming_state_and_event(state: State, event: Event) -> None:
    with pytest.raises(LocalProtocolError, match=f"event {event.name} .* state {state.name}"):
        next_state(state, event)


def test_no_sequence_without_accept_ever_captures() -> None:
    """Rule 1 and 2, exhaustively: whatever the relay says, no yes, no capture."""
    others = [e for e in Event if e is not Event.ACCEPT]
    for length in range(1, 7):
        for events in itertools.product(others, repeat=length):
            machine = PresentingMachine()
            for event in events:
                try:
                    machine.fire(event)
                except LocalProtocolError:
                    break
                assert not machine.capturing, events


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_capturing_only_after_an_accept_not_undone(events: list[Event]) -> None:
    machine = PresentingMachine()
    last_accept = last_undo = -1
    for index, event in enumerate(events):
        try:
            machine.fire(event)
        except LocalProtocolError:
            continue
        if event is Event.ACCEPT:
            last_accept = index
        if event in (Event.STOP, Event.DECLINE, Event.EXPIRE) or (
            event is Event.ANNOUNCED_OTHER and machine.state is State.IDLE
        ):
            last_undo = index
        if machine.capturing:
            assert last_accept > last_undo
