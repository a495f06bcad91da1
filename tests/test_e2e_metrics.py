"""Issue 7: GET /metrics on a real relay process, with frames flowing through it."""

from __future__ import annotations

import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import prometheus_text, scenes
from tests.conftest import SCREEN
from tests.procs import Processes, Relay
from tests.prometheus_text import Families, value

pytestmark = pytest.mark.e2e


def get(relay: Relay, authorization: str | None) -> tuple[int, str, str]:
    """(status, content type, body) of GET /metrics."""
    request = urllib.request.Request(f"{relay.url}/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read().decode()


def scrape(relay: Relay, token: str) -> tuple[str, Families]:
    status, content_type, body = get(relay, f"Bearer {token}")
    assert status == 200, body
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    return body, prometheus_text.parse(body)


def test_metrics_need_the_token_and_move_when_frames_flow(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    token_file = relay.data / "metrics-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    log = relay.log.read_text()
    assert str(token_file.absolute()) in log
    assert token not in log

    for authorization in (None, "Bearer wrong-token", f"Basic {token}", "Bearer "):
        status, _, body = get(relay, authorization)
        assert status == 403, authorization
        assert len(body) < 100 and token not in body

    _, families = scrape(relay, token)
    assert value(families, "screenrelay_sessions") == 0

    picture = scenes.desktop_picture(*SCREEN, seed=7)
    scenes.show(display, picture, tmp_path / "a.png")
    host = procs.host("--share")
    started = host.wait_for("session_started")
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    joined = viewer.wait_for("joined")
    viewer.wait_for("frame")
    time.sleep(1.0)  # the join's second key frame, if any, lands
    session, member = started["session_id"], str(joined["member_id"])

    body, before = scrape(relay, token)
    assert value(before, "screenrelay_sessions") == 1
    assert value(before, "screenrelay_connections") == 2
    assert value(before, "screenrelay_session_members", session=session) == 1
    frames_before = value(before, "screenrelay_session_frames_forwarded_total", session=session)
    sent_before = value(before, "screenrelay_outbox_messages_sent_total", session=session,
                        member=member)  # fmt: skip
    bytes_before = value(before, "screenrelay_outbox_bytes_sent_total", session=session,
                         member=member)  # fmt: skip
    assert frames_before >= 1 and sent_before >= 1 and bytes_before > 0
    # The organizer's own outbox is there too (member 1).
    assert value(before, "screenrelay_outbox_messages_sent_total", session=session, member="1") > 0
    # Metadata only: no password, no address.
    assert started["password"] not in body
    assert "127.0.0.1" not in body

    viewer.drain()
    for seed in (8, 9):
        scenes.show(display, scenes.desktop_picture(*SCREEN, seed=seed), tmp_path / f"{seed}.png")
        viewer.wait_for("frame")
    _, after = scrape(relay, token)
    frames_after = value(after, "screenrelay_session_frames_forwarded_total", session=session)
    assert frames_after >= frames_before + 2
    bytes_forwarded = "screenrelay_session_frame_bytes_forwarded_total"
    assert value(after, bytes_forwarded, session=session) > value(
        before, bytes_forwarded, session=session
    )
    assert value(after, "screenrelay_outbox_messages_sent_total", session=session,
                 member=member) >= sent_before + 2  # fmt: skip
    assert value(after, "screenrelay_outbox_bytes_sent_total", session=session,
                 member=member) > bytes_before  # fmt: skip

    host.signal(2)  # Ctrl+C ends the session for everyone
    viewer.wait_exit()
    deadline = time.monotonic() + 10
    while value(scrape(relay, token)[1], "screenrelay_sessions") != 0:
        assert time.monotonic() < deadline, "the session outlived its organizer"
        time.sleep(0.1)
