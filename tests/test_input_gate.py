"""InputGate: pure logic, driven with RecordingInjector and real threads."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest

from host_app.injector import Call, InjectorError, RecordingInjector, to_screen
from host_app.input_gate import GateStatistics, InputGate
from protocol.errors import LocalProtocolError
from protocol.input_events import Button, InputEvent, Key, MouseButton, PointerMove, Scroll

AREA = {"origin": (100, 50), "size": (640, 480)}
MOVE = PointerMove(10, 20)


def test_a_new_gate_is_closed_and_refuses() -> None:
    gate, injector = InputGate(), RecordingInjector()
    assert gate.holder is None
    assert gate.inject(1, 1, [MOVE, MOVE], injector, **AREA) == 0
    assert injector.calls == []
    assert gate.statistics() == GateStatistics(
        injected=0, refused=2, opened=0, closed=0, release_failures=0
    )


def test_an_open_gate_injects_mapped_to_the_shared_area() -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.open(3, 1)
    events: list[InputEvent] = [
        PointerMove(10, 20),
        Button(MouseButton.LEFT, True, 0, 0),
        Button(MouseButton.LEFT, False, 639, 479),
        Scroll(0, -2, 5000, 5000),  # clamped into the area
        Key(True, "a"),
        Key(False, "a"),
    ]
    assert gate.inject(3, 1, events, injector, **AREA) == 6
    assert injector.applied == events
    assert [call.at for call in injector.calls] == [
        (110, 70),
        (100, 50),
        (739, 529),
        (739, 529),
        None,
        None,
    ]
    assert gate.holder == (3, 1)
    assert gate.statistics().injected == 6


def test_to_screen_clamps_and_refuses_an_empty_area() -> None:
    assert to_screen(0, 0, (5, 7), (10, 10)) == (5, 7)
    assert to_screen(9, 9, (5, 7), (10, 10)) == (14, 16)
    assert to_screen(65535, 10**6, (5, 7), (10, 10)) == (14, 16)
    assert to_screen(-3, -3, (5, 7), (10, 10)) == (5, 7)
    with pytest.raises(ValueError, match="empty"):
        to_screen(0, 0, (0, 0), (0, 10))


@pytest.mark.parametrize(("controller", "grant"), [(2, 1), (3, 2), (3, 0), (0, 1)])
def test_wrong_controller_or_grant_is_refused(controller: int, grant: int) -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.open(3, 1)
    assert gate.inject(controller, grant, [MOVE], injector, **AREA) == 0
    assert injector.calls == []
    assert gate.statistics().refused == 1


def test_open_refuses_nobody() -> None:
    gate = InputGate()
    with pytest.raises(LocalProtocolError):
        gate.open(0, 1)
    with pytest.raises(LocalProtocolError):
        gate.open(1, 0)
    assert gate.holder is None


def test_close_reports_whether_it_was_open() -> None:
    gate = InputGate()
    assert gate.close() is False
    gate.open(3, 1)
    assert gate.close() is True
    assert gate.close() is False
    assert gate.inject(3, 1, [MOVE], RecordingInjector(), **AREA) == 0
    stats = gate.statistics()
    assert (stats.opened, stats.closed) == (1, 1)


def test_close_releases_what_the_controller_left_pressed() -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.open(3, 1)
    held: list[InputEvent] = [
        Key(True, "ctrl"),
        Button(MouseButton.RIGHT, True, 1, 1),
        Key(True, "x"),
        Key(False, "x"),
    ]
    gate.inject(3, 1, held, injector, **AREA)
    assert gate.close()
    assert injector.calls[-1] == Call("release_all", released=("key:ctrl", "button:3"))
    assert injector.held == []


def test_pause_blocks_until_resumed_and_nests() -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.open(3, 1)
    gate.inject(3, 1, [Key(True, "shift")], injector, **AREA)
    gate.pause()
    assert gate.paused
    # Pausing releases what was held: the user answers the prompt unhindered.
    assert injector.calls[-1] == Call("release_all", released=("key:shift",))
    gate.pause()
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 0
    gate.resume()
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 0
    gate.resume()
    assert not gate.paused
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 1
    with pytest.raises(LocalProtocolError, match="resume"):
        gate.resume()


def test_a_pause_outlives_a_grant() -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.pause()
    gate.open(3, 1)
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 0
    gate.resume()
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 1


def test_a_new_grant_replaces_the_old_one() -> None:
    gate, injector = InputGate(), RecordingInjector()
    gate.open(3, 1)
    gate.inject(3, 1, [Key(True, "alt")], injector, **AREA)
    gate.open(4, 2)
    assert injector.calls[-1] == Call("release_all", released=("key:alt",))
    assert gate.inject(3, 1, [MOVE], injector, **AREA) == 0
    assert gate.inject(4, 2, [MOVE], injector, **AREA) == 1
    gate.open(4, 2)  # the same grant again changes nothing
    stats = gate.statistics()
    assert (stats.opened, stats.closed) == (2, 1)


class FailingInjector(RecordingInjector):
    def __init__(self, *, apply_fails_at: int = -1, release_fails: bool = False) -> None:
        super().__init__()
        self.apply_fails_at = apply_fails_at
        self.release_fails = release_fails

    def apply(self, event: InputEvent, origin: tuple[int, int], size: tuple[int, int]) -> None:
        if len(self.calls) == self.apply_fails_at:
            raise InjectorError("the X server went away")
        super().apply(event, origin, size)

    def release_all(self) -> None:
        super().release_all()
        if self.release_fails:
            raise InjectorError("cannot release")


def test_a_failing_release_still_closes_and_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    gate, injector = InputGate(), FailingInjector(release_fails=True)
    gate.open(3, 1)
    gate.inject(3, 1, [Key(True, "ctrl")], injector, **AREA)
    assert gate.close() is True
    assert gate.holder is None
    assert gate.statistics().release_failures == 1
    assert "releasing" in caplog.text


def test_an_injector_error_propagates_after_counting() -> None:
    gate, injector = InputGate(), FailingInjector(apply_fails_at=2)
    gate.open(3, 1)
    with pytest.raises(InjectorError):
        gate.inject(3, 1, [MOVE] * 5, injector, **AREA)
    stats = gate.statistics()
    assert (stats.injected, stats.refused) == (2, 3)
    # The lock was released: the gate still works.
    assert gate.close() is True


def test_every_injector_used_in_a_grant_is_released() -> None:
    gate, first, second = InputGate(), RecordingInjector(), RecordingInjector()
    gate.open(3, 1)
    gate.inject(3, 1, [Key(True, "a")], first, **AREA)
    gate.inject(3, 1, [Key(True, "b")], second, **AREA)
    gate.inject(3, 1, [Key(True, "c")], first, **AREA)
    gate.close()
    assert first.calls[-1].released == ("key:a", "key:c")
    assert second.calls[-1].released == ("key:b",)
    gate.open(3, 2)
    gate.close()  # a new grant starts with nothing to release
    assert len(first.calls) == 3


# -- racing threads ---------------------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as possible, so the races below really race."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class WatchingInjector(RecordingInjector):
    """Counts events applied while the test says the gate must be shut."""

    def __init__(self) -> None:
        super().__init__()
        self.must_be_shut = True
        self.violations = 0
        self.applied_count = 0

    def apply(self, event: InputEvent, origin: tuple[int, int], size: tuple[int, int]) -> None:
        if self.must_be_shut:
            self.violations += 1
        self.applied_count += 1
        time.sleep(0)  # let the other thread run in the middle of a batch


ITERATIONS = 3000


@pytest.mark.parametrize("shut", ["close", "pause"])
@pytest.mark.usefixtures("fast_switching")
def test_nothing_lands_after_close_or_pause_returns(shut: str) -> None:
    gate, injector = InputGate(), WatchingInjector()
    grant = [0]
    attempts = [0]
    stop = threading.Event()
    errors: list[BaseException] = []
    batch = [MOVE] * 8

    def stream() -> None:
        try:
            while not stop.is_set():
                gate.inject(7, grant[0], batch, injector, **AREA)
                attempts[0] += 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=stream)
    thread.start()
    try:
        for number in range(1, ITERATIONS + 1):
            grant[0] = number
            injector.must_be_shut = False
            gate.open(7, number)
            # Let some events through (most iterations), or none at all.
            seen = injector.applied_count
            deadline = time.monotonic() + 5
            while number % 3 and injector.applied_count == seen and time.monotonic() < deadline:
                time.sleep(0)
            if shut == "close":
                gate.close()
            else:
                gate.pause()
            injector.must_be_shut = True
            # The streamer keeps trying for a while: all of it must be refused.
            tried = attempts[0]
            deadline = time.monotonic() + 5
            while attempts[0] < tried + 2 and time.monotonic() < deadline:
                time.sleep(0)
            if shut == "pause":
                gate.close()
                gate.resume()
    finally:
        stop.set()
        thread.join(30)
    assert not errors
    assert injector.violations == 0
    stats = gate.statistics()
    assert stats.injected == injector.applied_count > 0
    assert stats.refused > 0
    assert stats.opened == stats.closed == ITERATIONS


@pytest.mark.usefixtures("fast_switching")
def test_close_from_many_threads_at_once() -> None:
    gate, injector = InputGate(), WatchingInjector()
    injector.must_be_shut = False
    for number in range(1, 301):
        gate.open(1, number)
        closers = [threading.Thread(target=gate.close) for _ in range(3)]
        injecting = threading.Thread(
            target=gate.inject, args=(1, number, [MOVE] * 20, injector), kwargs=AREA
        )
        injecting.start()
        for closer in closers:
            closer.start()
        for thread in [injecting, *closers]:
            thread.join(30)
        assert gate.holder is None
    assert gate.statistics().closed == 300
