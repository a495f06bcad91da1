"""The revoke hotkey: Ctrl+F12 (Windows, Linux) or Ctrl+Esc (macOS).

It works inside the host even with the network down (MISSION.md rule 7,
DESIGN.md Keys item 6): pynput's listener thread calls ``activate``, which
closes the ``InputGate`` itself, synchronously, and only then calls
``notify`` to hand the news to the event loop (the caller passes something
thread-safe such as ``lambda: loop.call_soon_threadsafe(on_revoke)``).

An exception inside a pynput callback stops its listener for good, so
``activate`` never raises: every error is swallowed and counted. The
combination logic is pynput's ``HotKey`` (pure); ``revoke_combinations``
says which combinations apply, and ``activate`` can be called without a
listener, so both are tested with none.

Events injected by a controller never trigger the hotkey the other way
round (pynput ignores its own process's injections), but a controller that
injects Ctrl+F12 through the X server only revokes its own control.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Self

from host_app.input_gate import InputGate
from protocol.errors import ScreenrelayError

_log = logging.getLogger(__name__)

#: The hotkey on every platform, in pynput's ``HotKey.parse`` syntax.
REVOKE_HOTKEY = "<ctrl>+<f12>"
#: The extra hotkey on macOS, where F12 is often taken by the system.
MACOS_REVOKE_HOTKEY = "<ctrl>+<esc>"
#: Seconds to wait for the listener to watch the keyboard.
START_TIMEOUT: Final = 10.0
#: Seconds to wait for the listener's thread to end.
STOP_TIMEOUT: Final = 5.0


def revoke_combinations(platform: str = sys.platform) -> tuple[str, ...]:
    """The hotkey combinations that revoke control on ``platform``."""
    if platform == "darwin":
        return (REVOKE_HOTKEY, MACOS_REVOKE_HOTKEY)
    return (REVOKE_HOTKEY,)


def _check_x_server() -> None:
    """Fail here, not in pynput's thread (where it would die unseen), if the
    X server cannot be reached or cannot record key events."""
    import Xlib.display  # type: ignore[import-untyped]

    display = Xlib.display.Display()
    try:
        if not display.has_extension("RECORD"):
            raise HotkeyError("the X server has no RECORD extension")
    finally:
        display.close()


def _wake_xorg_listener(listener: Any) -> None:
    """Make a stopped X11 listener's thread end now.

    pynput 1.8's ``stop()`` disables the RECORD context on the connection its
    thread is blocked reading, and never flushes it, so the thread lingers
    until the next key event (pynput pull request #583). Sending the disable
    on the other connection, as that fix does, ends it at once.
    """
    display, context = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if display is None or context is None:
        return
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception:  # already closed: the thread is ending anyway
        _log.debug("could not wake the hotkey listener", exc_info=True)


class HotkeyError(ScreenrelayError):
    """The revoke hotkey cannot be watched (no display, no permission)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HotkeyStatistics:
    #: Times the hotkey was pressed (``activate`` calls).
    presses: int
    #: Exceptions swallowed in ``activate`` (from closing the gate or from
    #: ``notify``); each is logged.
    errors: int


class RevokeHotkey:
    """Listens for the revoke hotkey and closes ``gate`` when it is pressed.

    ``start()`` starts pynput's listener thread (importing pynput then, so
    this module imports without a display); ``stop()`` ends it. A context
    manager does both.
    """

    def __init__(
        self,
        gate: InputGate,
        notify: Callable[[], None],
        *,
        combinations: tuple[str, ...] | None = None,
    ) -> None:
        self._gate = gate
        self._notify = notify
        self.combinations = revoke_combinations() if combinations is None else combinations
        self._lock = threading.Lock()
        self._presses = 0
        self._errors = 0
        self._listener: Any = None

    def activate(self) -> None:
        """The hotkey was pressed: close the gate, then notify. Never raises."""
        try:
            self._gate.close()
        except BaseException:
            self._failed("closing the input gate")
        try:
            self._notify()
        except BaseException:
            self._failed("notifying the event loop of a revoke")
        try:
            with self._lock:
                self._presses += 1
        except BaseException:
            self._failed("counting")

    def _failed(self, what: str) -> None:
        """Count and log the exception being handled; never raises."""
        try:
            with self._lock:
                self._errors += 1
            _log.exception("revoke hotkey: %s failed", what)
        except BaseException:  # noqa: S110 - even logging failed; the listener must live on
            pass

    def start(self) -> None:
        """Start listening (pynput's thread); raises ``HotkeyError`` if the
        keyboard cannot be watched here."""
        if self._listener is not None:
            return
        try:
            from pynput import keyboard

            listener: Any = keyboard.GlobalHotKeys(
                {combination: self.activate for combination in self.combinations}
            )
            if any(c.__module__ == "pynput.keyboard._xorg" for c in type(listener).__mro__):
                _check_x_server()
            listener.start()
        except Exception as exc:
            raise HotkeyError(f"cannot watch the keyboard for the revoke hotkey: {exc}") from exc
        # Not listener.wait(): it waits forever if the listener's thread dies
        # before it is ready (no display, no RECORD extension).
        deadline = time.monotonic() + START_TIMEOUT
        while not getattr(listener, "_ready", True):
            if not listener.is_alive() or time.monotonic() > deadline:
                # Not listener.stop() either: it too waits for "ready".
                raise HotkeyError("cannot watch the keyboard for the revoke hotkey")
            time.sleep(0.01)
        self._listener = listener

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            _wake_xorg_listener(listener)
            try:
                listener.join(STOP_TIMEOUT)
            except Exception:  # an error pynput kept from its thread; logged there
                _log.debug("the hotkey listener ended with an error", exc_info=True)

    @property
    def running(self) -> bool:
        return self._listener is not None and bool(self._listener.is_alive())

    def statistics(self) -> HotkeyStatistics:
        with self._lock:
            return HotkeyStatistics(presses=self._presses, errors=self._errors)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
