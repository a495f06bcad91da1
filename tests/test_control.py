"""protocol.control: the presenter's remote-control state machine, and its diagram."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.control import (
    PROMPT_TIMEOUT,
    TRANSITIONS,
    ControlMachine,
    Decision,
    Ended,
    Event,
    State,
    next_state,
)
from protocol.errors import LocalProtocolError

ROOT = Path(__file__).resolve().parent.parent

ALL_PAIRS = list(itertools.product(State, Event))
MISSING_PAIRS = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def asking(requester: int = 3) -> ControlMachine:
    machine = ControlMachine()
    assert machine.request(requester) is Decision.ASK
    return machine


def granted(controller: int = 3) -> tuple[ControlMachine, int]:
    machine = asking(controller)
    return machine, machine.accept()


def in_state(state: State) -> ControlMachine:
    if state is State.IDLE:
        return ControlMachine()
    if state is State.ASKING:
        return asking()
    return granted()[0]


def assert_idle(machine: ControlMachine) -> None:
    assert machine.state is State.IDLE
    assert (machine.requester, machine.controller, machine.grant) == (0, 0, 0)


# -- the table ----------------------------------------------------------------


def test_the_table() -> None:
    assert dict(TRANSITIONS) == {
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
    with pytest.raises(TypeError):
        TRANSITIONS[(State.IDLE, Event.ACCEPT)] = State.GRANTED  # type: ignore[index]


@pytest.mark.parametrize(("pair", "target"), list(TRANSITIONS.items()), ids=str)
def test_every_transition(pair: tuple[State, Event], target: State) -> None:
    assert next_state(*pair) is target


@pytest.mark.parametrize("pair", MISSING_PAIRS, ids=lambda p: f"{p[0].name}-{p[1].name}")
def test_every_missing_pair_raises_naming_state_and_event(pair: tuple[State, Event]) -> None:
    state, event = pair
    with pytest.raises(LocalProtocolError) as info:
        next_state(state, event)
    assert str(info.value) == f"event {event.name} is not allowed in state {state.name}"


def test_the_example_message() -> None:
    with pytest.raises(LocalProtocolError, match=r"^event ACCEPT is not allowed in state IDLE$"):
        ControlMachine().accept()


@pytest.mark.parametrize("state", State)
def test_revoke_leaves_every_state_for_idle(state: State) -> None:
    assert next_state(state, Event.REVOKE) is State.IDLE
    machine = in_state(state)
    assert machine.state is state
    ended = machine.revoke()
    assert_idle(machine)
    if state is State.IDLE:
        assert ended is None
    else:
        assert isinstance(ended, Ended)
        assert ended.event is Event.REVOKE
        assert ended.subject == 3


def test_only_accept_leads_to_granted() -> None:
    into_granted = [pair for pair, target in TRANSITIONS.items() if target is State.GRANTED]
    assert into_granted == [(State.ASKING, Event.ACCEPT)]


# -- each method, in every state ------------------------------------------------


def test_request_shows_a_prompt() -> None:
    machine = ControlMachine()
    assert machine.prompt == 0
    assert machine.request(3) is Decision.ASK
    assert machine.state is State.ASKING
    assert machine.requester == 3
    assert machine.controller == 0
    assert machine.prompt == 1
    assert not machine.may_inject(3, 0)
    assert not machine.may_inject(3, 1)


@pytest.mark.parametrize("state", [State.ASKING, State.GRANTED])
@pytest.mark.parametrize("member", [2, 3, 4])
def test_busy_requests_are_refused_without_a_change(state: State, member: int) -> None:
    machine = in_state(state)
    before = repr(machine)
    assert machine.request(member) is Decision.BUSY
    assert repr(machine) == before


def test_accept_grants_control_to_the_requester() -> None:
    machine = asking(5)
    assert machine.accept() == 1
    assert machine.state is State.GRANTED
    assert (machine.requester, machine.controller, machine.grant) == (0, 5, 1)
    assert machine.last_grant == 1
    assert machine.may_inject(5, 1)
    assert not machine.may_inject(5, 2)
    assert not machine.may_inject(5, 0)
    assert not machine.may_inject(4, 1)


@pytest.mark.parametrize("method", ["decline", "expire"])
def test_decline_and_expire_close_the_prompt(method: str) -> None:
    machine = asking(5)
    ended = getattr(machine, method)()
    assert ended == Ended(Event[method.upper()], 5, 0)
    assert_idle(machine)
    assert machine.last_grant == 0


@pytest.mark.parametrize("method", ["accept", "decline", "expire"])
@pytest.mark.parametrize("state", [State.IDLE, State.GRANTED])
def test_answers_without_a_prompt_raise(method: str, state: State) -> None:
    machine = in_state(state)
    before = repr(machine)
    with pytest.raises(LocalProtocolError, match=f"in state {state.name}$"):
        getattr(machine, method)()
    assert repr(machine) == before


@pytest.mark.parametrize("method", ["accept", "decline", "expire"])
def test_answers_to_a_closed_prompt_raise(method: str) -> None:
    machine = asking(3)
    first = machine.prompt
    machine.member_left(3)
    assert machine.request(4) is Decision.ASK
    assert machine.prompt == first + 1
    with pytest.raises(LocalProtocolError, match=f"prompt {first}"):
        getattr(machine, method)(first)
    assert machine.state is State.ASKING
    assert machine.requester == 4
    getattr(machine, method)(first + 1)
    assert machine.state is not State.ASKING


def test_revoke_ends_a_grant() -> None:
    machine, grant = granted(5)
    assert machine.revoke() == Ended(Event.REVOKE, 5, grant)
    assert_idle(machine)
    assert not machine.may_inject(5, grant)
    assert machine.last_grant == grant


def test_revoke_withdraws_a_prompt() -> None:
    machine = asking(5)
    assert machine.revoke() == Ended(Event.REVOKE, 5, 0)
    assert_idle(machine)
    with pytest.raises(LocalProtocolError):
        machine.accept()


def test_revoke_in_idle_succeeds_and_changes_nothing() -> None:
    machine = ControlMachine()
    for _ in range(3):
        assert machine.revoke() is None
        assert_idle(machine)
    assert machine.prompt == 0


def test_only_the_controller_releases() -> None:
    machine, grant = granted(5)
    for member in (1, 2, 4, 6, 0xFFFF):
        assert machine.release(member) is None
        assert machine.state is State.GRANTED
        assert machine.may_inject(5, grant)
    assert machine.release(5) == Ended(Event.RELEASE, 5, grant)
    assert_idle(machine)
    assert machine.release(5) is None  # a second, late release is ignored


@pytest.mark.parametrize("state", [State.IDLE, State.ASKING])
def test_release_without_a_grant_is_ignored(state: State) -> None:
    machine = in_state(state)
    before = repr(machine)
    assert machine.release(3) is None
    assert repr(machine) == before


def test_the_requester_leaving_closes_the_prompt() -> None:
    machine = asking(5)
    assert machine.member_left(4) is None
    assert machine.state is State.ASKING
    assert machine.member_left(5) == Ended(Event.REQUESTER_LEFT, 5, 0)
    assert_idle(machine)


def test_the_controller_leaving_ends_control() -> None:
    machine, grant = granted(5)
    assert machine.member_left(4) is None
    assert machine.may_inject(5, grant)
    assert machine.member_left(5) == Ended(Event.CONTROLLER_LEFT, 5, grant)
    assert_idle(machine)
    assert not machine.may_inject(5, grant)


def test_anyone_leaving_in_idle_is_ignored() -> None:
    machine = ControlMachine()
    assert machine.member_left(3) is None
    assert_idle(machine)


def test_grant_numbers_are_never_reused() -> None:
    machine = ControlMachine()
    seen: list[int] = []
    enders: list[Callable[[ControlMachine, int], object]] = [
        lambda m, _: m.revoke(),
        lambda m, member: m.release(member),
        lambda m, member: m.member_left(member),
    ]
    for round_, member in enumerate([2, 3, 2, 4, 2, 5, 6]):
        assert machine.request(member) is Decision.ASK
        if round_ % 3 == 1:
            machine.decline()  # a declined prompt uses no grant number
            continue
        grant = machine.accept()
        assert grant == machine.last_grant
        assert grant not in seen
        assert all(grant > old for old in seen)
        seen.append(grant)
        enders[round_ % 3](machine, member)
        assert_idle(machine)
        assert not machine.may_inject(member, grant)
    assert seen == list(range(1, len(seen) + 1))


def test_input_under_an_old_grant_is_refused_after_a_new_grant() -> None:
    machine, first = granted(3)
    machine.revoke()
    assert machine.request(3) is Decision.ASK
    second = machine.accept()
    assert second == first + 1
    assert machine.may_inject(3, second)
    assert not machine.may_inject(3, first)


@pytest.mark.parametrize("member", [0, -1, 0x10000, True, 2.0])
@pytest.mark.parametrize("method", ["request", "release", "member_left"])
def test_member_ids_are_checked(method: str, member: object) -> None:
    with pytest.raises(LocalProtocolError):
        getattr(ControlMachine(), method)(member)


def test_prompt_timeout_is_the_documented_30_seconds() -> None:
    assert PROMPT_TIMEOUT == 30.0


# -- random sequences ------------------------------------------------------------

MEMBERS = st.integers(2, 5)
ACTIONS = st.one_of(
    st.tuples(st.just("request"), MEMBERS),
    st.tuples(st.just("accept"), st.none()),
    st.tuples(st.just("decline"), st.none()),
    st.tuples(st.just("expire"), st.none()),
    st.tuples(st.just("revoke"), st.none()),
    st.tuples(st.just("release"), MEMBERS),
    st.tuples(st.just("member_left"), MEMBERS),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(ACTIONS, max_size=40))
def test_random_sequences_keep_the_rules(actions: list[tuple[str, int | None]]) -> None:
    """A controller exists only after an accept that nothing later undid.

    The expectation is computed from the action list alone, not from the
    machine: who was asked last, whether an accept followed, and whether a
    revoke, or a release or departure by that controller, came after it.
    """
    machine = ControlMachine()
    grants: list[int] = []
    asked: int | None = None  # the member whose prompt the model thinks is showing
    holder: int | None = None  # the member the model thinks holds control
    for name, member in actions:
        args = () if member is None else (member,)
        try:
            result = getattr(machine, name)(*args)
        except LocalProtocolError:
            # Only the presenter's own answers raise, and only without a prompt.
            assert name in ("accept", "decline", "expire")
            assert asked is None
            continue
        if name == "request":
            if asked is None and holder is None:
                assert result is Decision.ASK
                asked = member
            else:
                assert result is Decision.BUSY
        elif name == "accept":
            assert asked is not None
            holder, asked = asked, None
            assert not grants or result > grants[-1]
            grants.append(result)
        elif name in ("decline", "expire"):
            asked = None
        elif name == "revoke":
            asked = holder = None
        elif member == holder:  # release or member_left by the controller
            holder = None
        elif name == "member_left" and member == asked:
            asked = None

        assert machine.controller == (holder or 0)
        assert machine.requester == (asked or 0)
        assert machine.state is (State.GRANTED if holder else State.ASKING if asked else State.IDLE)
        if holder is None:
            assert machine.grant == 0
            assert not any(machine.may_inject(m, g) for m in range(2, 6) for g in grants)
        else:
            assert machine.grant == grants[-1]
            for m in range(2, 6):
                for g in [*grants, grants[-1] + 1]:
                    assert machine.may_inject(m, g) == (m == holder and g == grants[-1])
    assert grants == list(range(1, len(grants) + 1))


# -- the diagram cannot drift from the table -------------------------------------


def _diagram_script() -> ModuleType:
    path = ROOT / "docs" / "make_state_diagrams.py"
    spec = importlib.util.spec_from_file_location("make_state_diagrams", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as importlib's recipe does: its dataclass looks itself up.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_state_diagrams_are_current() -> None:
    rendered = _diagram_script().render()
    committed = (ROOT / "docs" / "state-diagrams.md").read_text(encoding="utf-8")
    assert committed == rendered, "rerun: PYTHONPATH=. .venv/bin/python docs/make_state_diagrams.py"


def test_the_diagram_draws_every_transition() -> None:
    rendered = _diagram_script().render()
    for (state, event), target in TRANSITIONS.items():
        assert f"| {state.name} | {event.name} | {target.name} |" in rendered
    assert "[*] --> IDLE" in rendered
