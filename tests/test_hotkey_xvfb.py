"""RevokeHotkey: its logic with no listener, then pynput's listener on a real Xvfb
driven by ``xdotool key`` (XTEST, as a real keyboard would)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from host_app.hotkey import HotkeyError, RevokeHotkey, revoke_combinations
from host_app.injector import RecordingInjector
from host_app.input_gate import InputGate
from protocol.input_events import Key
from tests.xvfb import running_xvfb

#: Seconds to wait for the listener to see a key.
SEE_TIMEOUT = 10.0
#: Seconds a key that must do nothing is given to do it anyway.
QUIET = 0.5

needs_xvfb = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool",
)


class Notices:
    """A thread-safe notify that counts calls and can be told to raise."""

    def __init__(self, gate: InputGate) -> None:
        self._gate = gate
        self._lock = threading.Lock()
        self.count = 0
        self.gate_was_open: list[bool] = []
        self.fail = False

    def __call__(self) -> None:
        with self._lock:
            self.count += 1
            self.gate_was_open.append(self._gate.holder is not None)
        if self.fail:
            raise RuntimeError("the event loop is closed")


def wait_until(condition: Callable[[], bool], timeout: float = SEE_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- no listener -------------------------------------------------------------------


def test_combinations_per_platform() -> None:
    assert revoke_combinations("linux") == ("<ctrl>+<f12>",)
    assert revoke_combinations("win32") == ("<ctrl>+<f12>",)
    assert revoke_combinations("darwin") == ("<ctrl>+<f12>", "<ctrl>+<esc>")


def test_activate_closes_the_gate_first_then_notifies() -> None:
    gate, injector = InputGate(), RecordingInjector()
    notices = Notices(gate)
    hotkey = RevokeHotkey(gate, notices)
    gate.open(2, 5)
    gate.inject(2, 5, [Key(True, "ctrl")], injector, origin=(0, 0), size=(10, 10))
    hotkey.activate()
    assert gate.holder is None
    assert notices.gate_was_open == [False]
    assert injector.held == []  # the controller's Ctrl was let go
    assert hotkey.statistics().presses == 1
    assert hotkey.statistics().errors == 0


def test_activate_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenGate(InputGate):
        def close(self) -> bool:
            raise RuntimeError("broken")

    gate = BrokenGate()
    notices = Notices(gate)
    notices.fail = True
    hotkey = RevokeHotkey(gate, notices)
    hotkey.activate()
    hotkey.activate()
    assert notices.count == 2  # a failed close does not keep the news back
    assert hotkey.statistics().presses == 2
    assert hotkey.statistics().errors == 4
    assert "closing the input gate" in caplog.text


def test_activate_swallows_even_base_exceptions() -> None:
    def notify() -> None:
        raise KeyboardInterrupt

    hotkey = RevokeHotkey(InputGate(), notify)
    hotkey.activate()
    assert hotkey.statistics().errors == 1


# -- a real X server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def screen() -> Iterator[str]:
    with running_xvfb(320, 240) as display:
        yield display


@pytest.fixture
def on_screen(screen: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """pynput opens ``$DISPLAY`` (when imported, and in its listener thread)."""
    monkeypatch.setenv("DISPLAY", screen)
    return screen


def xdotool_key(display: str, *keys: str) -> None:
    subprocess.run(
        ["xdotool", "key", *keys],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=30,
    )


@needs_xvfb
@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_the_combination_logic_with_no_listener(on_screen: str, platform: str) -> None:
    """pynput's HotKey, fed what its listener would feed it."""
    from pynput import keyboard

    canonical: Any = keyboard.Listener().canonical  # made, never started
    pressed: list[str] = []

    def on(combo: str) -> Callable[[], None]:
        return lambda: pressed.append(combo)

    hotkeys = [
        keyboard.HotKey(keyboard.HotKey.parse(combo), on(combo))
        for combo in revoke_combinations(platform)
    ]

    def press(*keys: Any) -> None:
        for key in keys:
            for hotkey in hotkeys:
                hotkey.press(canonical(key))
        for key in reversed(keys):
            for hotkey in hotkeys:
                hotkey.release(canonical(key))

    k = keyboard.Key
    press(k.f12)
    press(k.ctrl_l, k.f11)
    press(k.shift, k.f12)
    press(k.ctrl_r, keyboard.KeyCode.from_char("a"))
    assert pressed == []
    press(k.ctrl_l, k.f12)
    press(k.ctrl_r, k.f12)
    assert pressed == ["<ctrl>+<f12>"] * 2
    pressed.clear()
    press(k.ctrl, k.esc)
    assert pressed == (["<ctrl>+<esc>"] if platform == "darwin" else [])


@pytest.fixture
def listening(on_screen: str) -> Iterator[tuple[RevokeHotkey, InputGate, Notices]]:
    """A started RevokeHotkey whose listener has already seen one press (a
    listener is "ready" a moment before X records for it)."""
    gate = InputGate()
    notices = Notices(gate)
    with RevokeHotkey(gate, notices) as hotkey:
        for _ in range(10):
            xdotool_key(on_screen, "ctrl+F12")
            if wait_until(lambda: hotkey.statistics().presses > 0, 5.0):
                break
        else:
            pytest.fail("the listener never saw ctrl+F12")
        wait_until(lambda: False, QUIET)  # any press still in flight lands now
        yield hotkey, gate, notices
    assert not hotkey.running


@needs_xvfb
def test_ctrl_f12_closes_an_open_gate_and_notifies_once(
    on_screen: str, listening: tuple[RevokeHotkey, InputGate, Notices]
) -> None:
    hotkey, gate, notices = listening
    before, presses = notices.count, hotkey.statistics().presses
    gate.open(4, 1)
    xdotool_key(on_screen, "ctrl+F12")
    assert wait_until(lambda: notices.count > before)
    assert gate.holder is None
    assert notices.gate_was_open[-1] is False
    wait_until(lambda: False, QUIET)
    assert notices.count == before + 1
    assert hotkey.statistics().presses == presses + 1
    assert gate.inject(4, 1, [Key(True, "a")], RecordingInjector(), origin=(0, 0), size=(1, 1)) == 0


@needs_xvfb
def test_a_raising_notify_does_not_stop_the_listener(
    on_screen: str, listening: tuple[RevokeHotkey, InputGate, Notices]
) -> None:
    hotkey, gate, notices = listening
    notices.fail = True
    for grant in (1, 2):
        before = notices.count
        gate.open(4, grant)
        xdotool_key(on_screen, "ctrl+F12")
        assert wait_until(lambda: notices.count > before), f"press {grant} was not seen"  # noqa: B023
        assert gate.holder is None
    assert hotkey.statistics().errors == 2
    assert hotkey.running


@needs_xvfb
def test_other_keys_do_nothing(
    on_screen: str, listening: tuple[RevokeHotkey, InputGate, Notices]
) -> None:
    _, gate, notices = listening
    before, closed = notices.count, gate.statistics().closed
    gate.open(4, 1)
    xdotool_key(on_screen, "F12", "ctrl+F11", "shift+F12", "alt+F12", "ctrl+a", "ctrl+Escape")
    # A sentinel: keys are seen in order, so once it lands the others have.
    xdotool_key(on_screen, "ctrl+F12")
    assert wait_until(lambda: notices.count > before)
    wait_until(lambda: False, QUIET)
    assert notices.count == before + 1
    assert gate.statistics().closed == closed + 1


@needs_xvfb
def test_ctrl_esc_on_macos(on_screen: str) -> None:
    gate = InputGate()
    notices = Notices(gate)
    with RevokeHotkey(gate, notices, combinations=revoke_combinations("darwin")) as hotkey:
        for grant in range(1, 11):
            gate.open(1, grant)
            xdotool_key(on_screen, "ctrl+Escape")
            if wait_until(lambda: notices.count > 0, 5.0):
                break
        assert gate.holder is None
        assert hotkey.statistics().presses >= 1


@needs_xvfb
def test_stop_ends_the_listener_thread_at_once(on_screen: str) -> None:
    hotkey = RevokeHotkey(InputGate(), lambda: None)
    hotkey.start()
    assert hotkey.running
    started = time.monotonic()
    hotkey.stop()
    # pynput alone would linger until the next key event (and time out here).
    assert time.monotonic() - started < 4.0
    assert not hotkey.running
    hotkey.stop()  # again: nothing to do


@needs_xvfb
# python-xlib leaves its first socket unclosed when a connection fails.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_no_x_server_is_a_hotkey_error(on_screen: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # pynput is imported with a working display first (it checks one on import).
    import pynput.keyboard  # noqa: F401

    monkeypatch.setenv("DISPLAY", ":999")
    with pytest.raises(HotkeyError, match="revoke hotkey"):
        RevokeHotkey(InputGate(), lambda: None).start()
