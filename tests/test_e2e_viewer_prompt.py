"""Issue 4: a participant in the viewer's window answers a request to present there.

The participant runs ``screenrelay join`` with its window (no --commands) on
an Xvfb of its own; the organizer asks it to present. The consent window
is answered from the keyboard with xdotool (XTEST, as a person types), as
tests/test_prompt.py does for the prompt itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_app.prompt import ARM_DELAY
from tests import scenes
from tests.procs import JsonProcess, Processes
from tests.test_e2e_control import consent_window, keys_to, wait_until
from tests.test_e2e_presenting import change
from tests.xvfb import running_xvfb

pytestmark = pytest.mark.e2e

PARTICIPANT_SCREEN = (800, 600)


@pytest.fixture
def participant_display(tmp_path: Path) -> Iterator[str]:
    with running_xvfb(*PARTICIPANT_SCREEN) as name:
        scenes.show(name, scenes.desktop_picture(*PARTICIPANT_SCREEN, seed=41), tmp_path / "p.png")
        yield name


def windowed_participant(
    procs: Processes, participant_display: str, *extra: str
) -> tuple[JsonProcess, JsonProcess, int]:
    host = procs.host("--share", keep_stdin=True)
    started = host.wait_for("session_started")
    participant = procs.join(started["session_id"], *extra, password=started["password"],
                             display=participant_display)  # fmt: skip
    member = int(participant.wait_for("joined")["member_id"])
    participant.wait_for("frame")
    return host, participant, member


def shown_window(display: str) -> str:
    wait_until(lambda: consent_window(display), what="the consent window")
    window = consent_window(display)
    assert window is not None
    return window


def test_the_participant_answers_in_its_window_from_the_keyboard(
    procs: Processes, participant_display: str
) -> None:
    host, participant, member = windowed_participant(procs, participant_display)
    # Enter alone declines: the focus starts on Decline.
    host.write_line(f"present {member}")
    participant.wait_for("present_asked")
    keys_to(participant_display, shown_window(participant_display), "Return")
    assert change(host, "declined")["subject"] == member
    assert participant.wait_for("present_answered")["answer"] == "decline"
    wait_until(lambda: consent_window(participant_display) is None, what="the window to close")
    # Tab to Accept, then Enter (once Accept is armed): it presents.
    host.write_line(f"present {member}")
    participant.wait_for("present_asked")
    window = shown_window(participant_display)
    time.sleep(ARM_DELAY + 0.5)
    keys_to(participant_display, window, "Tab", "Return")
    assert change(host, "accepted")["presenter"] == member
    participant.wait_for("presenting")
    frame = host.wait_for("frame")
    assert (frame["width"], frame["height"]) == PARTICIPANT_SCREEN


def test_an_unanswered_window_expires_to_decline(
    procs: Processes, participant_display: str
) -> None:
    host, participant, member = windowed_participant(
        procs, participant_display, "--consent-timeout", "2"
    )
    host.write_line(f"present {member}")
    participant.wait_for("present_asked")
    shown_window(participant_display)
    assert change(host, "expired", timeout=15)["subject"] == member
    assert participant.wait_for("present_answered")["answer"] == "expired"
    wait_until(lambda: consent_window(participant_display) is None, what="the window to close")
    assert participant.events_named("presenting") == []
