"""Issue 4, presenting: a participant shows its screen only with its own yes.

The organizer's host shares the session display; the participant runs on a
second Xvfb with a different picture. The participant reaches the relay
through a tap, so the bytes it sends can be counted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import scenes
from tests.conftest import SCREEN
from tests.procs import JsonProcess, Processes, Relay, running_relay
from tests.tcp_tap import TcpTap
from tests.xvfb import running_xvfb

pytestmark = pytest.mark.e2e

PARTICIPANT_SCREEN = (800, 600)


@pytest.fixture
def participant_display(tmp_path: Path) -> Iterator[tuple[str, np.ndarray]]:
    with running_xvfb(*PARTICIPANT_SCREEN) as name:
        picture = scenes.desktop_picture(*PARTICIPANT_SCREEN, seed=21)
        scenes.show(name, picture, tmp_path / "participant.png")
        yield name, picture


def uplink_growth(tap: TcpTap, seconds: float) -> int:
    before = len(tap.recorded())
    time.sleep(seconds)
    return len(tap.recorded()) - before


def ask(host: JsonProcess, participant: JsonProcess, member: int, answer: str | None) -> None:
    """The organizer asks ``member`` to present; it answers ``answer`` (or not at all)."""
    host.write_line(f"present {member}")
    participant.wait_for("present_asked")
    if answer is not None:
        participant.write_line(f'{{"cmd": "{answer}_present"}}')


def change(proc: JsonProcess, reason: str, timeout: float = 20.0) -> dict[str, object]:
    """The next presenter_changed event with ``reason`` (earlier ones skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        event = proc.wait_for("presenter_changed", timeout=max(0.1, deadline - time.monotonic()))
        if event["reason"] == reason:
            return event


def latest(directory: Path) -> np.ndarray:
    newest = sorted(directory.glob("frame-*.png"))[-1]
    return np.asarray(Image.open(newest).convert("RGB"))


def start(
    procs: Processes, display: str, tmp_path: Path, tap: TcpTap, participant_display: str
) -> tuple[JsonProcess, JsonProcess, JsonProcess, int]:
    host_picture = scenes.desktop_picture(*SCREEN, seed=22)
    scenes.show(display, host_picture, tmp_path / "host.png")
    host = procs.host("--share", "--save", str(tmp_path / "host-sees"), keep_stdin=True)
    started = host.wait_for("session_started")
    participant = procs.join(started["session_id"], "--no-window", "--commands",
                             password=started["password"], keep_stdin=True,
                             relay_url=f"http://127.0.0.1:{tap.port}",
                             display=participant_display)  # fmt: skip
    member = participant.wait_for("joined")["member_id"]
    observer = procs.join(started["session_id"], "--save", str(tmp_path / "observer"),
                          password=started["password"])  # fmt: skip
    observer.wait_for("frame")
    participant.wait_for("frame")
    return host, participant, observer, member


def test_a_participant_presents_only_after_it_accepts_and_the_organizer_takes_it_back(
    procs: Processes,
    relay: Relay,
    display: str,
    tmp_path: Path,
    participant_display: tuple[str, np.ndarray],
) -> None:
    p_display, p_picture = participant_display
    with TcpTap("127.0.0.1", relay.port) as tap:
        host, participant, observer, member = start(procs, display, tmp_path, tap, p_display)
        # Asked, it declines: nothing of its screen leaves its machine.
        ask(host, participant, member, "decline")
        assert host.wait_for("presenter_changed")["reason"] == "declined"
        assert uplink_growth(tap, 2.0) < 2_000
        assert participant.events_named("presenting") == []
        # Asked again, it accepts: viewers (and the organizer) see its screen.
        ask(host, participant, member, "accept")
        assert change(observer, "accepted")["presenter"] == member
        participant.wait_for("presenting")
        frame = observer.wait_for("frame")
        assert (frame["width"], frame["height"]) == PARTICIPANT_SCREEN
        np.testing.assert_array_equal(latest(tmp_path / "observer"), p_picture)
        assert host.wait_for("frame")["width"] == PARTICIPANT_SCREEN[0]
        np.testing.assert_array_equal(latest(tmp_path / "host-sees"), p_picture)
        # The organizer takes the role back, without asking: capture stops.
        host.write_line("take")
        change(participant, "taken_back")
        participant.wait_for("presenting_stopped")
        time.sleep(0.5)
        assert uplink_growth(tap, 2.0) < 2_000
        # Back to the organizer's screen: its own machine confirms first.
        observer.drain()
        host.write_line("share")
        asked = host.wait_for("consent_asked")
        assert asked["id"] == "share"
        host.write_line("accept share")
        assert change(observer, "organizer")["presenter"] == 1
        assert observer.wait_for("frame")["width"] == SCREEN[0]


def test_a_participant_who_presents_can_stop(
    procs: Processes,
    relay: Relay,
    display: str,
    tmp_path: Path,
    participant_display: tuple[str, np.ndarray],
) -> None:
    p_display, _picture = participant_display
    with TcpTap("127.0.0.1", relay.port) as tap:
        host, participant, observer, member = start(procs, display, tmp_path, tap, p_display)
        ask(host, participant, member, "accept")
        participant.wait_for("presenting")
        change(observer, "accepted")
        participant.write_line('{"cmd": "stop_presenting"}')
        assert change(observer, "stopped") == {
            "event": "presenter_changed",
            "presenter": 0,
            "subject": member,
            "reason": "stopped",
            "mine": False,
        }
        time.sleep(0.5)
        assert uplink_growth(tap, 2.0) < 2_000


def test_an_ask_nobody_answers_expires_to_decline(
    procs: Processes,
    relay: Relay,
    display: str,
    tmp_path: Path,
    participant_display: tuple[str, np.ndarray],
) -> None:
    p_display, _picture = participant_display
    with TcpTap("127.0.0.1", relay.port) as tap:
        host, participant, _observer, member = start(procs, display, tmp_path, tap, p_display)
        ask(host, participant, member, None)
        change(host, "expired", timeout=45)
        assert participant.events_named("presenting") == []


def test_a_modified_relay_cannot_make_a_participant_present(
    display: str, tmp_path: Path, participant_display: tuple[str, np.ndarray]
) -> None:
    p_display, _picture = participant_display
    evil = [sys.executable, str(Path(__file__).with_name("evil_relay.py"))]
    with running_relay(tmp_path / "evil", command=evil) as relay:
        procs = Processes(relay, display, tmp_path)
        try:
            with TcpTap("127.0.0.1", relay.port) as tap:
                host, participant, _observer, member = start(
                    procs, display, tmp_path, tap, p_display
                )
                host.write_line(f"present {member}")
                told = participant.wait_for("presenter_changed")
                assert told["mine"] is True  # the lie reached the participant
                assert uplink_growth(tap, 2.5) < 2_000
                assert participant.events_named("presenting") == []
                assert participant.events_named("present_asked") == []
        finally:
            procs.stop_all()


def test_the_organizer_sees_a_presenting_participant_in_a_window(
    procs: Processes,
    relay: Relay,
    display: str,
    tmp_path: Path,
    participant_display: tuple[str, np.ndarray],
) -> None:
    p_display, p_picture = participant_display
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=23), tmp_path / "host.png")
    host = procs.host("--share", "--prompt", "window", keep_stdin=True)
    started = host.wait_for("session_started")
    participant = procs.join(started["session_id"], "--no-window", "--commands",
                             password=started["password"], keep_stdin=True,
                             display=p_display)  # fmt: skip
    member = participant.wait_for("joined")["member_id"]
    participant.wait_for("frame")
    ask(host, participant, member, "accept")
    participant.wait_for("presenting")
    host.wait_for("frame")
    title = "screenrelay: presenting"
    shown = scenes.wait_for_window(display, title, PARTICIPANT_SCREEN, p_picture)
    np.testing.assert_array_equal(shown, p_picture)
    host.write_line("take")
    participant.wait_for("presenting_stopped")
    deadline = time.monotonic() + 10
    while scenes.window_box(display, title) is not None:
        assert time.monotonic() < deadline, "the presenting window stayed open"
        time.sleep(0.1)


def test_the_organizer_asks_from_its_window_and_the_participant_answers(
    procs: Processes,
    relay: Relay,
    display: str,
    tmp_path: Path,
    participant_display: tuple[str, np.ndarray],
) -> None:
    from tests.test_e2e_control import find_window, keys_to, wait_until

    p_display, p_picture = participant_display
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=24), tmp_path / "host.png")
    host = procs.host("--share", "--prompt", "window", "--save", str(tmp_path / "host-sees"),
                      keep_stdin=True)  # fmt: skip
    started = host.wait_for("session_started")
    participant = procs.join(started["session_id"], "--no-window", "--commands",
                             password=started["password"], keep_stdin=True,
                             display=p_display)  # fmt: skip
    member = participant.wait_for("joined")["member_id"]
    participant.wait_for("frame")
    wait_until(lambda: find_window(display, "screenrelay: host"), what="the host window")
    window = find_window(display, "screenrelay: host")
    assert window is not None
    keys_to(display, window, "alt+a")  # the field is empty: the first participant
    participant.wait_for("present_asked")
    participant.write_line('{"cmd": "accept_present"}')
    assert change(host, "accepted")["presenter"] == member
    participant.wait_for("presenting")
    assert host.wait_for("frame")["width"] == PARTICIPANT_SCREEN[0]
    np.testing.assert_array_equal(latest(tmp_path / "host-sees"), p_picture)
