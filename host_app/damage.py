"""Whether the screen may have changed: so an idle screen is not grabbed.

``ChangeWatcher`` is the small interface the sharer asks before each grab;
``open_watcher`` is the one place that chooses an implementation:

- ``XDamageWatcher``: the X server's DAMAGE extension (through python-xlib,
  on its own X connection), one ``DamageNotify`` per burst of drawing on the
  root window (report level NonEmpty); ``changed`` reads the events already
  received, without waiting, and empties the damage before saying yes, so
  drawing during the grab that follows raises a new event.
- ``PollingWatcher``: always yes (no X11, no DAMAGE, or python-xlib missing):
  every tick grabs and diffs, as before.

Rules:
  1. ``changed`` never blocks.
  2. Even with DAMAGE, it says yes at least every ``FULL_CHECK_INTERVAL``
     seconds: a change the server did not report (a driver that draws
     behind its back) shows up within that time, at the cost of one grab
     and diff a second.
  3. Call it, and ``close``, on one thread (the capture worker's).
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, Final

#: Longest time without a grab while DAMAGE reports nothing (rule 2).
FULL_CHECK_INTERVAL: Final = 1.0


class ChangeWatcher(abc.ABC):
    """Says whether the screen may have changed since it last said so."""

    @abc.abstractmethod
    def changed(self, now: float) -> bool:
        """True if the screen may have changed since the last True;
        ``now`` is a monotonic clock in seconds."""

    def close(self) -> None:  # noqa: B027 (nothing to release by default)
        """Release what the watcher holds; safe to call more than once."""


class PollingWatcher(ChangeWatcher):
    """No way to know: the screen may always have changed."""

    def changed(self, now: float) -> bool:
        return True


class XDamageWatcher(ChangeWatcher):
    """The X server's DAMAGE reports for the root window of ``display``."""

    def __init__(self, display: str | None = None) -> None:
        from Xlib import display as xdisplay  # type: ignore[import-untyped]
        from Xlib.ext import damage  # type: ignore[import-untyped]

        self._damage_module: Any = damage
        self._display: Any = xdisplay.Display(display)
        try:
            if not self._display.has_extension(damage.extname):
                raise OSError("the X server has no DAMAGE extension")
            self._display.damage_query_version()
            root = self._display.screen().root
            self._damage = root.damage_create(damage.DamageReportNonEmpty)
            self._display.sync()
        except BaseException:
            self._display.close()
            raise
        self._notify = self._display.extension_event.DamageNotify
        self._last_yes = float("-inf")
        self._closed = False

    def changed(self, now: float) -> bool:
        damaged = False
        while self._display.pending_events():
            event = self._display.next_event()
            damaged = damaged or event.type == self._notify
        if not damaged and now - self._last_yes < FULL_CHECK_INTERVAL:
            return False
        self._last_yes = now
        # Empty the damage first: what is drawn from here on raises a new event.
        self._display.damage_subtract(self._damage)
        self._display.flush()
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._display.damage_destroy(self._damage)
        self._display.close()


def open_watcher(display: str | None = None) -> ChangeWatcher:
    """The best watcher for this machine's screen (``display``: an X11 display
    name; default ``$DISPLAY``)."""
    try:
        return XDamageWatcher(display)
    except Exception:  # no python-xlib, no X server, no DAMAGE: poll
        return PollingWatcher()
