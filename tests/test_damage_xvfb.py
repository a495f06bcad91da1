"""host_app/damage.py on a real Xvfb: drawing raises a report with its
rectangles, quiet does not; a wait ends on drawing, on wake, on a full check."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from Xlib import X  # type: ignore[import-untyped]

from host_app.damage import (
    FULL_CHECK_INTERVAL,
    PollingWatcher,
    XDamageWatcher,
    clip,
    open_watcher,
)
from tests import scenes
from tests.conftest import SCREEN

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")


def said_yes_within(watcher: XDamageWatcher, now: float, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if watcher.changed(now):
            return True
        time.sleep(0.02)
    return False


def test_damage_reports_drawing_and_stays_quiet_otherwise(display: str, tmp_path: Path) -> None:
    watcher = open_watcher(display)
    assert isinstance(watcher, XDamageWatcher)
    try:
        now = 1000.0
        assert watcher.changed(now)  # the first call always says yes
        time.sleep(0.2)
        assert not watcher.changed(now + 0.1)  # nothing drawn meanwhile
        scenes.show(display, scenes.desktop_picture(*SCREEN, seed=7), tmp_path / "a.png")
        assert said_yes_within(watcher, now + 0.2)
        time.sleep(0.2)
        assert not watcher.changed(now + 0.3)
        # A window drawing on top of the root reports too.
        animator = scenes.start_animator(display, (100, 100, 200, 120), fps=10)
        try:
            assert said_yes_within(watcher, now + 0.4)
        finally:
            animator.terminate()
            animator.wait()
        # Nothing reported for a whole interval: a yes anyway (rule 2).
        watcher.changed(now + 0.5)
        time.sleep(0.3)
        watcher.changed(now + 0.6)
        assert watcher.changed(now + 0.6 + FULL_CHECK_INTERVAL)
    finally:
        watcher.close()
        watcher.close()


def test_without_an_x_server_it_polls() -> None:
    watcher = open_watcher("not a display name")
    assert isinstance(watcher, PollingWatcher)
    assert watcher.changed(0.0) and watcher.changed(0.0)
    watcher.close()


def fill(display: str, box: tuple[int, int, int, int], pixel: int) -> None:
    """One FillRectangle on the root window, from another X client."""
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display)
    try:
        root = connection.screen().root
        gc = root.create_gc(foreground=pixel, subwindow_mode=X.IncludeInferiors)
        root.fill_rectangle(gc, *box)
        connection.sync()
    finally:
        connection.close()


def test_damage_lists_the_rectangles_drawn(display: str) -> None:
    watcher = open_watcher(display)
    assert isinstance(watcher, XDamageWatcher)
    try:
        now = 2000.0
        assert watcher.changed(now)
        assert watcher.damage is None  # the first yes is a full check
        fill(display, (100, 120, 30, 40), 0x123456)
        fill(display, (600, 500, 8, 9), 0x654321)
        assert said_yes_within(watcher, now + 0.1)
        assert sorted(watcher.damage or []) == [(100, 120, 30, 40), (600, 500, 8, 9)]
        # Nothing drawn since: no; then the full check says yes with no rectangles.
        assert not watcher.changed(now + 0.2)
        assert watcher.changed(now + FULL_CHECK_INTERVAL)
        assert watcher.damage is None
    finally:
        watcher.close()


def test_wait_returns_on_drawing_and_on_wake(display: str) -> None:
    watcher = open_watcher(display)
    assert isinstance(watcher, XDamageWatcher)
    try:
        assert watcher.changed(time.monotonic())
        # Woken with nothing drawn: returns, and says no yes is due.
        watcher.wake()
        assert not watcher.wait(30.0, time.monotonic())
        # Drawing ends a long wait, and the yes that follows lists it.
        fill(display, (10, 20, 4, 4), 0xABCDEF)
        assert watcher.wait(30.0, time.monotonic())
        assert watcher.changed(time.monotonic())
        assert watcher.damage == [(10, 20, 4, 4)]
        # A full check due ends the wait too.
        assert watcher.wait(30.0, time.monotonic() + FULL_CHECK_INTERVAL)
    finally:
        watcher.close()


def test_clip_moves_damage_into_the_shared_area() -> None:
    area = (100, 50, 200, 100)
    assert clip(None, area) is None
    assert clip([(0, 0, 10, 10), (400, 50, 5, 5)], area) == []
    assert clip([(90, 40, 20, 20), (290, 140, 30, 30)], area) == [(0, 0, 10, 10), (190, 90, 10, 10)]
