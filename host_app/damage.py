"""Whether the screen may have changed, and where: so an idle screen is not
grabbed and a small change is not diffed over the whole screen.

``ChangeWatcher`` is the small interface the sharer asks before each grab;
``open_watcher`` is the one place that chooses an implementation:

- ``XDamageWatcher``: the X server's DAMAGE extension (through python-xlib,
  on its own X connection) on the root window, report level
  DeltaRectangles: one ``DamageNotify`` per rectangle the damaged region
  grows by. ``changed`` reads the events already received, without waiting;
  before saying yes it empties the damage, makes a round trip (so the
  server has emptied it before the grab that follows, and every report of
  drawing before that is in), and keeps the reported rectangles in
  ``damage``. Drawing during the grab that follows raises a new event.
  ``wait`` blocks on the X connection until a report arrives (event-driven
  pacing), a full check is due, ``wake`` is called or a timeout passes.
- ``PollingWatcher``: always yes (no X11, no DAMAGE, or python-xlib missing):
  every tick grabs and diffs, as before; ``wait`` is never needed.

Rules:
  1. ``changed`` never blocks (beyond one round trip to the X server).
  2. Even with DAMAGE, every ``FULL_CHECK_INTERVAL`` seconds ``changed``
     says yes with ``damage`` None (diff the whole picture): a change the
     server did not report (a driver that draws behind its back) shows up
     within that time, at the cost of one grab and full diff a second.
  3. ``damage`` after a yes lists, in root-window coordinates, every
     rectangle drawn since the previous yes and before this one's grab; a
     report that arrives late (drawn just before the previous yes) is in
     the next yes's ``damage``, so no drawing is ever left out of a diff.
     More than ``MAX_DAMAGE_RECTS`` rectangles collapse to their bounding
     box (bounded memory whatever the server sends).
  4. Call ``changed``, ``wait`` and ``close`` on one thread (the capture
     worker's); ``wake`` from any thread.
"""

from __future__ import annotations

import abc
import contextlib
import os
import select
import time
from typing import Any, Final

#: Longest time without a full grab and diff (rule 2).
FULL_CHECK_INTERVAL: Final = 1.0
#: Most rectangles ``damage`` lists before collapsing to their bounding box.
MAX_DAMAGE_RECTS: Final = 64

#: (x, y, width, height) of a damaged rectangle.
DamageRect = tuple[int, int, int, int]


class ChangeWatcher(abc.ABC):
    """Says whether the screen may have changed since it last said so."""

    #: True if ``wait`` returns when something is drawn (so the sharer may
    #: wait for drawing instead of ticking).
    event_driven: bool = False
    #: After ``changed`` said yes: the rectangles drawn (root-window
    #: coordinates), or None if unknown (diff everything).
    damage: list[DamageRect] | None = None

    @abc.abstractmethod
    def changed(self, now: float) -> bool:
        """True if the screen may have changed since the last True;
        ``now`` is a monotonic clock in seconds."""

    def wait(self, timeout: float, now: float) -> bool:
        """Block until ``changed`` would say yes, ``wake`` is called, or
        ``timeout`` seconds pass; True if a yes is due. ``now`` is the
        monotonic clock (``time.monotonic``). Event-driven watchers only:
        this one returns True at once."""
        return True

    def wake(self) -> None:  # noqa: B027 (nothing waits by default)
        """Make a ``wait`` under way (or the next one) return now; any thread."""

    def close(self) -> None:  # noqa: B027 (nothing to release by default)
        """Release what the watcher holds; safe to call more than once."""


class PollingWatcher(ChangeWatcher):
    """No way to know: the screen may always have changed."""

    def changed(self, now: float) -> bool:
        return True


class XDamageWatcher(ChangeWatcher):
    """The X server's DAMAGE reports for the root window of ``display``."""

    event_driven = True

    def __init__(self, display: str | None = None) -> None:
        from Xlib import display as xdisplay  # type: ignore[import-untyped]
        from Xlib.ext import damage  # type: ignore[import-untyped]

        self._display: Any = xdisplay.Display(display)
        try:
            if not self._display.has_extension(damage.extname):
                raise OSError("the X server has no DAMAGE extension")
            self._display.damage_query_version()
            root = self._display.screen().root
            self._damage = root.damage_create(damage.DamageReportDeltaRectangles)
            self._display.sync()
        except BaseException:
            self._display.close()
            raise
        self._notify = self._display.extension_event.DamageNotify
        self._rects: list[DamageRect] = []
        self._last_full = float("-inf")
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._closed = False
        self.damage = None

    def changed(self, now: float) -> bool:
        self._receive()
        full = now - self._last_full >= FULL_CHECK_INTERVAL
        if not self._rects and not full:
            return False
        # Empty the damage, then a round trip: the server has emptied it
        # before the grab that follows, and every report sent before (of
        # drawing the grab will show) has arrived (rule 3).
        self._display.damage_subtract(self._damage)
        self._display.sync()
        self._receive()
        if full:
            self._last_full = now
            self.damage = None
        else:
            self.damage = self._rects
        self._rects = []
        return True

    def wait(self, timeout: float, now: float) -> bool:
        due = self._last_full + FULL_CHECK_INTERVAL - now
        if self._receive() or due <= 0:
            return True
        started = time.monotonic()
        ready, _, _ = select.select(
            [self._display.fileno(), self._wake_read], [], [], min(timeout, due)
        )
        if self._wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 512)
        return self._receive() or time.monotonic() - started >= due

    def wake(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):  # full pipe: a wake is already due
            os.write(self._wake_write, b"w")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._display.damage_destroy(self._damage)
        self._display.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _receive(self) -> bool:
        """Read the events received so far into ``_rects``; True if any damage."""
        while self._display.pending_events():
            event = self._display.next_event()
            if event.type == self._notify:
                area = event.area
                self._rects.append((area.x, area.y, area.width, area.height))
                if len(self._rects) > MAX_DAMAGE_RECTS:
                    self._rects = [bounding_box(self._rects)]
        return bool(self._rects)


def bounding_box(rects: list[DamageRect]) -> DamageRect:
    """The smallest rectangle covering all of ``rects`` (not empty)."""
    left = min(r[0] for r in rects)
    top = min(r[1] for r in rects)
    right = max(r[0] + r[2] for r in rects)
    bottom = max(r[1] + r[3] for r in rects)
    return left, top, right - left, bottom - top


def clip(damage: list[DamageRect] | None, area: DamageRect) -> list[DamageRect] | None:
    """``damage`` (screen coordinates) clipped to ``area`` (left, top, width,
    height) and moved to its coordinates; None (unknown) stays None."""
    if damage is None:
        return None
    left, top, width, height = area
    inside = []
    for x, y, w, h in damage:
        x0, y0 = max(x - left, 0), max(y - top, 0)
        x1, y1 = min(x + w - left, width), min(y + h - top, height)
        if x0 < x1 and y0 < y1:
            inside.append((x0, y0, x1 - x0, y1 - y0))
    return inside


def open_watcher(display: str | None = None) -> ChangeWatcher:
    """The best watcher for this machine's screen (``display``: an X11 display
    name; default ``$DISPLAY``)."""
    try:
        return XDamageWatcher(display)
    except Exception:  # no python-xlib, no X server, no DAMAGE: poll
        return PollingWatcher()
