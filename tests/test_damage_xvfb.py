"""host_app/damage.py on a real Xvfb: drawing raises a report, quiet does not."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from host_app.damage import (
    FULL_CHECK_INTERVAL,
    PollingWatcher,
    XDamageWatcher,
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
