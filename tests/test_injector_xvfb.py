"""PynputInjector against a real X server: a small Tk window (its own process)
writes down every pointer motion, button and key it receives, and we check it
got what was injected, where the shared area says it should land."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host_app.injector import InjectorError, PynputInjector, open_injector
from host_app.input_gate import InputGate
from protocol.input_events import Button, InputEvent, Key, MouseButton, PointerMove, Scroll
from tests.xvfb import running_xvfb

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")

#: Where the window sits on the screen, and so the shared area: (left, top, width, height).
AREA = (100, 50, 400, 300)
ORIGIN, SIZE = (AREA[0], AREA[1]), (AREA[2], AREA[3])
#: Seconds to wait for the window to report something.
SEE_TIMEOUT = 15.0

#: The recording window: argv = log file, left, top, width, height.
WINDOW = r"""
import json, sys, tkinter as tk

log_file = open(sys.argv[1], "a", buffering=1)
left, top, width, height = map(int, sys.argv[2:6])
root = tk.Tk()
root.title("screenrelay test window")
root.configure(borderwidth=0, highlightthickness=0, background="white")
root.geometry(f"{width}x{height}+{left}+{top}")

def log(**fields):
    log_file.write(json.dumps(fields) + "\n")

root.bind("<Motion>", lambda e: log(kind="motion", x=e.x_root, y=e.y_root))
root.bind("<ButtonPress>", lambda e: log(kind="press", button=e.num, x=e.x_root, y=e.y_root))
root.bind("<ButtonRelease>", lambda e: log(kind="release", button=e.num, x=e.x_root, y=e.y_root))
root.bind("<KeyPress>", lambda e: log(kind="keydown", key=e.keysym))
root.bind("<KeyRelease>", lambda e: log(kind="keyup", key=e.keysym))

def ready(_event):
    root.unbind("<Map>")
    root.focus_force()
    root.update_idletasks()
    log(kind="ready", x=root.winfo_rootx(), y=root.winfo_rooty(),
        width=root.winfo_width(), height=root.winfo_height())

root.bind("<Map>", ready)
root.mainloop()
"""


class Window:
    """The recording window's log, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_for(self, *wanted: dict[str, Any], after: int = 0) -> list[dict[str, Any]]:
        """Wait until every ``wanted`` event (a subset of fields) was logged,
        in this order, after the first ``after`` events; return the log."""
        deadline = time.monotonic() + SEE_TIMEOUT
        while True:
            events = self.events()
            if _in_order(events[after:], wanted):
                return events
            if time.monotonic() > deadline:
                pytest.fail(f"the window did not see {wanted}; it saw {events[after:]}")
            time.sleep(0.02)


def _in_order(events: list[dict[str, Any]], wanted: tuple[dict[str, Any], ...]) -> bool:
    position = 0
    for event in events:
        if position < len(wanted) and wanted[position].items() <= event.items():
            position += 1
    return position == len(wanted)


@pytest.fixture(scope="module")
def screen() -> Iterator[str]:
    with running_xvfb(800, 600) as display:
        yield display


@pytest.fixture
def window(screen: str, tmp_path: Path) -> Iterator[Window]:
    script = tmp_path / "window.py"
    script.write_text(WINDOW)
    log = Window(tmp_path / "window.log")
    process = subprocess.Popen(
        [sys.executable, str(script), str(log.path), *map(str, AREA)],
        env={**os.environ, "DISPLAY": screen},
    )
    try:
        ready = log.wait_for({"kind": "ready"})
        assert ready[0] == {"kind": "ready", "x": 100, "y": 50, "width": 400, "height": 300}
        yield log
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def injector(screen: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PynputInjector]:
    monkeypatch.setenv("DISPLAY", screen)  # pynput checks $DISPLAY when imported
    with PynputInjector(screen) as opened:
        yield opened


def apply(injector: PynputInjector, *events: InputEvent) -> None:
    for event in events:
        injector.apply(event, ORIGIN, SIZE)


def test_moves_clicks_scrolls_and_types_where_the_area_says(
    window: Window, injector: PynputInjector
) -> None:
    start = len(window.events())
    apply(injector, PointerMove(10, 20))
    # Tk merges motions still queued, so this one is waited for on its own.
    window.wait_for({"kind": "motion", "x": 110, "y": 70}, after=start)
    apply(
        injector,
        Button(MouseButton.LEFT, True, 200, 100),
        Button(MouseButton.LEFT, False, 201, 101),
        Button(MouseButton.RIGHT, True, 0, 0),
        Button(MouseButton.RIGHT, False, 0, 0),
        Scroll(0, -1, 50, 60),
        Key(True, "h"),
        Key(False, "h"),
        Key(True, "i"),
        Key(False, "i"),
        Key(True, "enter"),
        Key(False, "enter"),
    )
    window.wait_for(
        {"kind": "press", "button": 1, "x": 300, "y": 150},
        {"kind": "release", "button": 1, "x": 301, "y": 151},
        {"kind": "press", "button": 3, "x": 100, "y": 50},
        {"kind": "release", "button": 3, "x": 100, "y": 50},
        {"kind": "press", "button": 5, "x": 150, "y": 110},  # X11: wheel down is button 5
        {"kind": "keydown", "key": "h"},
        {"kind": "keyup", "key": "h"},
        {"kind": "keydown", "key": "i"},
        {"kind": "keyup", "key": "i"},
        {"kind": "keydown", "key": "Return"},
        {"kind": "keyup", "key": "Return"},
        after=start,
    )


def test_coordinates_are_clamped_to_the_shared_area(
    window: Window, injector: PynputInjector
) -> None:
    start = len(window.events())
    apply(injector, PointerMove(65535, 65535))
    window.wait_for({"kind": "motion", "x": 499, "y": 349}, after=start)
    apply(injector, Button(MouseButton.LEFT, True, 4000, 0), Button(MouseButton.LEFT, False, 0, 0))
    events = window.wait_for(
        {"kind": "press", "button": 1, "x": 499, "y": 50},
        {"kind": "release", "button": 1, "x": 100, "y": 50},
        after=start,
    )
    for event in events[start:]:
        assert 100 <= event["x"] <= 499 and 50 <= event["y"] <= 349, event


def test_release_all_lets_go_of_keys_and_buttons(window: Window, injector: PynputInjector) -> None:
    start = len(window.events())
    apply(injector, Key(True, "ctrl"), Button(MouseButton.LEFT, True, 5, 5))
    window.wait_for({"kind": "keydown", "key": "Control_L"}, {"kind": "press"}, after=start)
    injector.release_all()
    window.wait_for(
        {"kind": "release", "button": 1}, {"kind": "keyup", "key": "Control_L"}, after=start
    )
    injector.release_all()  # nothing held any more: nothing happens


def test_a_release_for_something_not_held_is_dropped(
    window: Window, injector: PynputInjector
) -> None:
    start = len(window.events())
    apply(
        injector,
        Key(False, "a"),
        Button(MouseButton.MIDDLE, False, 5, 5),
        Key(True, "b"),
        Key(False, "b"),
    )
    events = window.wait_for({"kind": "keyup", "key": "b"}, after=start)
    assert {"kind": "keyup", "key": "a"} not in events[start:]
    assert not any(e["kind"] == "release" and e["button"] == 2 for e in events[start:])


def test_the_display_argument_wins_over_display_env(
    window: Window, screen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_xvfb(320, 240) as other:
        monkeypatch.setenv("DISPLAY", other)
        with PynputInjector(screen) as injector:
            start = len(window.events())
            apply(injector, PointerMove(33, 44), Key(True, "z"), Key(False, "z"))
            window.wait_for(
                {"kind": "motion", "x": 133, "y": 94},
                {"kind": "keydown", "key": "z"},
                after=start,
            )


# python-xlib leaves its first socket unclosed when a connection fails.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_open_injector_and_a_display_that_does_not_answer(
    screen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", screen)
    with open_injector() as injector:
        assert isinstance(injector, PynputInjector)
    with pytest.raises(InjectorError, match="display"):
        PynputInjector(":999")


def test_closing_the_gate_lets_go_of_a_held_ctrl(window: Window, injector: PynputInjector) -> None:
    gate = InputGate()
    gate.open(3, 1)
    start = len(window.events())
    events: list[InputEvent] = [Key(True, "ctrl"), Button(MouseButton.LEFT, True, 9, 9)]
    assert gate.inject(3, 1, events, injector, origin=ORIGIN, size=SIZE) == 2
    window.wait_for({"kind": "keydown", "key": "Control_L"}, {"kind": "press"}, after=start)
    assert gate.close()
    window.wait_for(
        {"kind": "release", "button": 1, "x": 109, "y": 59},
        {"kind": "keyup", "key": "Control_L"},
        after=start,
    )
