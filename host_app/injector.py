"""Where remote-control input lands: the presenter's mouse and keyboard.

``Injector`` is the small interface ``InputGate`` drives; ``open_injector``
is the one place that chooses an implementation. ``PynputInjector`` injects
with pynput (XTEST on X11); ``RecordingInjector`` records calls for tests.

An event's coordinates are pixels of the shared picture. ``to_screen`` maps
them onto the shared area (``origin`` = its top-left corner on the screen,
``size`` = its width and height) and clamps them to it, so a controller can
never reach outside what is shared.

An injector releases only what it pressed itself: a release for a key or
button it does not hold is dropped, so a controller cannot lift a key the
presenter is holding. ``release_all`` lets go of everything it holds.

Importing this module needs no display: pynput is imported when a
``PynputInjector`` is made.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import logging
from types import TracebackType
from typing import Any, Final, Self

from protocol.errors import ScreenrelayError
from protocol.input_events import Button, InputEvent, Key, Scroll

_log = logging.getLogger(__name__)

#: pynput releases whose private X11 members ``PynputInjector`` uses to
#: inject into a display other than ``$DISPLAY``.
_PYNPUT_REBIND_VERSIONS: Final = frozenset({(1, 8, 2)})

#: Protocol button numbers -> pynput ``mouse.Button`` member names.
BUTTON_NAMES: Final = {1: "left", 2: "middle", 3: "right"}


class InjectorError(ScreenrelayError):
    """Input cannot be injected here (no display, unsupported platform...)."""


def to_screen(x: int, y: int, origin: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """Screen position of picture pixel (x, y), clamped to the shared area."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"the shared area must not be empty, got {size}")
    return origin[0] + min(max(x, 0), width - 1), origin[1] + min(max(y, 0), height - 1)


class Injector(abc.ABC):
    """Injects input events into this machine's screen."""

    @abc.abstractmethod
    def apply(self, event: InputEvent, origin: tuple[int, int], size: tuple[int, int]) -> None:
        """Inject one event; its coordinates are mapped with ``to_screen``."""

    @abc.abstractmethod
    def release_all(self) -> None:
        """Release every key and button this injector holds pressed."""

    def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Release what is held and let go of the screen; safe to repeat."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """One recorded call: ``("apply", event, (sx, sy))`` or ``("release_all", ...)``."""

    #: "apply" or "release_all".
    name: str
    #: The event applied (None for release_all).
    event: InputEvent | None = None
    #: Where it landed on the screen (None for a key or release_all).
    at: tuple[int, int] | None = None
    #: For release_all: what was still held, in press order.
    released: tuple[str, ...] = ()


class RecordingInjector(Injector):
    """A fake that records every call, and tracks held keys and buttons as the
    real one does ("button:1", "key:ctrl")."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.held: list[str] = []

    def apply(self, event: InputEvent, origin: tuple[int, int], size: tuple[int, int]) -> None:
        at = None if isinstance(event, Key) else to_screen(event.x, event.y, origin, size)
        self.calls.append(Call("apply", event, at))
        if isinstance(event, Button):
            _track(self.held, f"button:{int(event.button)}", event.pressed)
        elif isinstance(event, Key):
            _track(self.held, f"key:{event.key}", event.pressed)

    def release_all(self) -> None:
        self.calls.append(Call("release_all", released=tuple(self.held)))
        self.held.clear()

    @property
    def applied(self) -> list[InputEvent]:
        return [call.event for call in self.calls if call.event is not None]


def _track(held: list[str], name: str, pressed: bool) -> None:
    if pressed and name not in held:
        held.append(name)
    elif not pressed and name in held:
        held.remove(name)


class PynputInjector(Injector):
    """Injects with pynput's mouse and keyboard controllers.

    ``display`` (X11 only) names the X display to inject into; by default
    pynput's, ``$DISPLAY``. pynput itself needs a reachable ``$DISPLAY`` when
    it is first imported on X11.
    """

    def __init__(self, display: str | None = None) -> None:
        try:
            from pynput import keyboard, mouse
            from pynput._info import __version__ as pynput_version
        except ImportError as exc:  # pynput raises ImportError when no display works
            raise InjectorError(f"cannot inject input here: {exc}") from exc
        self._key_type: Any = keyboard.Key
        self._keycode_type: Any = keyboard.KeyCode
        self._buttons: dict[int, Any] = {n: mouse.Button[name] for n, name in BUTTON_NAMES.items()}
        try:
            self._mouse: Any = mouse.Controller()
            self._keyboard: Any = keyboard.Controller()
        except Exception as exc:
            raise InjectorError(f"cannot open the mouse and keyboard: {exc}") from exc
        if display is not None:
            _rebind(self._mouse, self._keyboard, display, pynput_version)
        #: What is held, by name ("key:ctrl", "button:1"): (controller, key or button).
        self._held: dict[str, tuple[Any, Any]] = {}
        #: The names in ``_held``, in press order.
        self._order: list[str] = []

    def apply(self, event: InputEvent, origin: tuple[int, int], size: tuple[int, int]) -> None:
        if isinstance(event, Key):
            key = self._pynput_key(event.key)
            if key is None:
                _log.warning("key %r has no pynput equivalent here; dropped", event.key)
            else:
                self._send(f"key:{event.key}", self._keyboard, key, event.pressed)
            return
        self._mouse.position = to_screen(event.x, event.y, origin, size)
        if isinstance(event, Scroll):
            self._mouse.scroll(event.dx, event.dy)
        elif isinstance(event, Button):
            button = self._buttons.get(event.button)
            if button is None:
                _log.warning("button %r is not a known button; dropped", event.button)
            else:
                self._send(f"button:{int(event.button)}", self._mouse, button, event.pressed)

    def release_all(self) -> None:
        """Release in reverse press order; every release is tried, the first
        failure is raised after the others."""
        failure: Exception | None = None
        while self._held:
            device, what = self._held.pop(self._order.pop())
            try:
                device.release(what)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise InjectorError(f"could not release a key or button: {failure}") from failure

    def close(self) -> None:
        """Release what is held, then close the X connections (pynput would
        close them when collected, which fails once the server is gone)."""
        try:
            self.release_all()
        finally:
            for controller in (self._mouse, self._keyboard):
                display = getattr(controller, "_display", None)
                if display is not None and hasattr(display, "close"):
                    del controller._display
                    with contextlib.suppress(Exception):
                        display.close()

    def _send(self, name: str, device: Any, what: Any, pressed: bool) -> None:
        """Press (and remember), or release only if held."""
        if pressed:
            device.press(what)
            if name not in self._held:
                self._held[name] = (device, what)
                self._order.append(name)
        elif name in self._held:
            del self._held[name]
            self._order.remove(name)
            device.release(what)

    def _pynput_key(self, key: str) -> Any:
        if len(key) == 1:
            return self._keycode_type.from_char(key)
        try:
            return self._key_type[key]
        except KeyError:
            return None


def _rebind(mouse: Any, keyboard: Any, display: str, version: tuple[int, ...]) -> None:
    """Point pynput's X11 controllers at ``display`` (pynput has no such
    option: its controllers open ``$DISPLAY``)."""
    if type(mouse).__module__ != "pynput.mouse._xorg":
        raise InjectorError("choosing a display is supported on X11 only")
    if version not in _PYNPUT_REBIND_VERSIONS:
        raise InjectorError(f"cannot choose a display with pynput {version}; set DISPLAY")
    import importlib

    import Xlib.display  # type: ignore[import-untyped]
    import Xlib.error  # type: ignore[import-untyped]

    xorg: Any = importlib.import_module("pynput._util.xorg")

    try:
        for controller in (mouse, keyboard):
            old, controller._display = controller._display, Xlib.display.Display(display)
            old.close()
    except (Xlib.error.DisplayError, OSError) as exc:
        raise InjectorError(f"cannot open display {display!r}: {exc}") from exc
    keyboard._keyboard_mapping = None
    keyboard.ALT_MASK = xorg.alt_mask(keyboard._display)
    keyboard.ALT_GR_MASK = xorg.alt_gr_mask(keyboard._display)


def open_injector(display: str | None = None) -> Injector:
    """Open this machine's mouse and keyboard; the one place an injector is
    chosen. ``display`` is an X11 display name such as ":0" (default
    ``$DISPLAY``, read by pynput)."""
    return PynputInjector(display)
