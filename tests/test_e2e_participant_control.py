"""Issue 4: the organizer controls a presenting participant, with its consent.

Real relay, host and participants. The organizer's host shares the session
display; the participant runs on a second Xvfb, where a window
(tests/input_target.py) records the input that lands. The organizer types
``control``, ``input {...}`` and ``release`` on its terminal; the participant
answers with scripted commands.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import scenes
from tests.conftest import SCREEN
from tests.procs import JsonProcess, Processes
from tests.test_e2e_control import Target, wait_until
from tests.xvfb import running_xvfb

pytestmark = pytest.mark.e2e

PARTICIPANT_SCREEN = (800, 600)


@pytest.fixture
def participant_display(tmp_path: Path) -> Iterator[str]:
    with running_xvfb(*PARTICIPANT_SCREEN) as name:
        scenes.show(name, scenes.desktop_picture(*PARTICIPANT_SCREEN, seed=31), tmp_path / "p.png")
        yield name


@pytest.fixture
def participant_target(participant_display: str, tmp_path: Path) -> Iterator[Target]:
    window = Target(participant_display, tmp_path / "participant-target.jsonl")
    try:
        yield window
    finally:
        window.stop()


def presenting_participant(
    procs: Processes, display: str, tmp_path: Path, participant_display: str
) -> tuple[JsonProcess, JsonProcess, int, dict[str, str]]:
    """A session in which the participant accepted to present; the host sees its screen."""
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=32), tmp_path / "host.png")
    host = procs.host("--share", "--consent-timeout", "3", keep_stdin=True)
    started = host.wait_for("session_started")
    participant = procs.join(started["session_id"], "--no-window", "--commands",
                             password=started["password"], keep_stdin=True,
                             display=participant_display)  # fmt: skip
    member = int(participant.wait_for("joined")["member_id"])
    participant.wait_for("frame")
    host.write_line(f"present {member}")
    participant.wait_for("present_asked")
    participant.write_line('{"cmd": "accept_present"}')
    participant.wait_for("presenting")
    frame = host.wait_for("frame")
    assert (frame["width"], frame["height"]) == PARTICIPANT_SCREEN
    return host, participant, member, started


def grant_organizer(host: JsonProcess, participant: JsonProcess) -> int:
    host.write_line("control")
    asked = participant.wait_for("consent_asked")
    assert asked["member_id"] == 1 and asked["what"] == "control"
    participant.write_line('{"cmd": "accept_control"}')
    state = host.wait_for("control")
    assert state["mine"] is True and state["reason"] == "granted"
    return int(state["grant"])


def test_the_organizer_controls_a_presenting_participant_until_ctrl_f12(
    procs: Processes, display: str, tmp_path: Path, participant_display: str,
    participant_target: Target,
) -> None:  # fmt: skip
    host, participant, _member, _started = presenting_participant(
        procs, display, tmp_path, participant_display
    )
    # Without a grant, nothing is sent and nothing lands.
    host.write_line('input {"cmd": "click", "x": 300, "y": 250}')
    assert host.wait_for("command_error")["message"] == "not in control"
    grant_organizer(host, participant)
    host.write_line('input {"cmd": "click", "x": 300, "y": 250}')
    host.write_line('input {"cmd": "type", "text": "hi"}')
    host.write_line('input {"cmd": "key", "key": "enter"}')
    wait_until(lambda: len(participant_target.records("key")) >= 3, what="keys landing")
    assert [r["keysym"] for r in participant_target.records("key")] == ["h", "i", "Return"]
    clicks = participant_target.records("button")
    assert [(c["button"], c["x"], c["y"]) for c in clicks] == [(1, 300, 250)]
    assert participant.events_named("input")[-1]["injected"] > 0
    # Ctrl+F12 on the participant's own display ends control at once.
    for i in range(40):  # 2 s of pointer moves, 20 a second
        host.write_line("input " + json.dumps({"cmd": "move", "x": 150 + i * 10, "y": 200}))
        time.sleep(0.05)
        if i == 20:
            wait_until(lambda: participant_target.records("motion"), what="moves landing")
            subprocess.run(["xdotool", "key", "ctrl+F12"], env={"DISPLAY": participant_display},
                           check=True)  # fmt: skip
    revoked = participant.wait_for("control_revoked")
    assert revoked["how"] == "hotkey" and revoked["member_id"] == 1
    closed_at = revoked["gate_closed_ns"] / 1e9
    ended = host.wait_for("control")
    assert ended["reason"] == "revoked_hotkey" and ended["mine"] is False
    time.sleep(1.0)
    landed = participant_target.records("motion")
    assert landed and max(r["t"] for r in landed) <= closed_at + 0.05
    host.write_line('input {"cmd": "click", "x": 300, "y": 250}')
    assert host.wait_for("command_error")["message"] == "not in control"
    time.sleep(0.5)
    assert len(participant_target.records("button")) == 1
    # Nothing of the organizer's input ever landed on the organizer's own screen.
    assert host.events_named("input") == []


def test_a_declined_request_grants_nothing_and_other_participants_are_refused(
    procs: Processes, display: str, tmp_path: Path, participant_display: str,
    participant_target: Target,
) -> None:  # fmt: skip
    host, participant, _member, started = presenting_participant(
        procs, display, tmp_path, participant_display
    )
    host.write_line("control")
    participant.wait_for("consent_asked")
    participant.write_line('{"cmd": "decline_control"}')
    state = host.wait_for("control")
    assert state["reason"] == "declined" and state["mine"] is False
    host.write_line('input {"cmd": "click", "x": 300, "y": 250}')
    assert host.wait_for("command_error")["message"] == "not in control"
    # Another participant shares no key with the presenting one: the relay refuses.
    other = procs.join(started["session_id"], "--no-window", "--commands",
                       password=started["password"], keep_stdin=True)  # fmt: skip
    other.wait_for("joined")
    other.write_line('{"cmd": "request_control"}')
    refused = other.wait_for("control")
    assert refused["reason"] == "refused" and refused["mine"] is False
    time.sleep(0.5)
    assert len(participant.events_named("consent_asked")) == 1
    assert participant_target.records("button") == []
