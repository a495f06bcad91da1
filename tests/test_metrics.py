"""relay/metrics.py: the exposition text, the token file and the bearer check."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from relay.metrics import OUTBOX_FAMILIES, SESSION_FAMILIES, authorized, ensure_token, render
from relay.outbox import OutboxStatistics
from relay.sessions import SessionStatistics
from tests import prometheus_text
from tests.prometheus_text import ExpositionError, value


def outbox(sent: int, dropped: int = 0, waiting: bool = False) -> OutboxStatistics:
    return OutboxStatistics(
        control_queued=0,
        frames_queued=2,
        frame_bytes_queued=2000,
        frames_dropped=dropped,
        messages_sent=sent,
        bytes_sent=sent * 1000,
        waiting_for_keyframe=waiting,
    )


def session(session_id: int, *members: int) -> SessionStatistics:
    return SessionStatistics(
        session_id=session_id,
        organizer="alice",
        started_at=1_700_000_000.5,
        admitted=len(members),
        pending=0,
        frames_forwarded=7,
        bytes_forwarded=7000,
        frames_refused=1,
        keyframe_requests=3,
        outboxes={1: outbox(4), **{m: outbox(5 + m, dropped=m, waiting=True) for m in members}},
    )


def test_render_parses_strictly_with_every_family_and_series() -> None:
    text = render([session(123_456_789, 2, 3), session(5, 2)], connections=6)
    families = prometheus_text.parse(text)
    assert set(families) == {
        "screenrelay_sessions",
        "screenrelay_connections",
        *SESSION_FAMILIES,
        *OUTBOX_FAMILIES,
    }
    assert value(families, "screenrelay_sessions") == 2
    assert value(families, "screenrelay_connections") == 6
    assert value(families, "screenrelay_session_members", session="123456789") == 2
    assert value(families, "screenrelay_session_members", session="000000005") == 1
    assert (
        value(families, "screenrelay_session_start_time_seconds", session="000000005")
        == 1_700_000_000.5
    )
    assert families["screenrelay_session_frames_forwarded_total"][0] == "counter"
    dropped = "screenrelay_outbox_frames_dropped_total"
    assert value(families, dropped, session="123456789", member="3") == 3
    assert value(families, dropped, session="123456789", member="1") == 0
    waiting = "screenrelay_outbox_waiting_for_keyframe"
    assert value(families, waiting, session="000000005", member="2") == 1
    assert families[waiting][0] == "gauge"


def test_render_never_names_the_organizer() -> None:
    assert "alice" not in render([session(123_456_789, 2)], connections=1)


def test_render_with_no_session_still_declares_every_family() -> None:
    families = prometheus_text.parse(render([], connections=0))
    assert value(families, "screenrelay_sessions") == 0
    assert families["screenrelay_outbox_bytes_sent_total"] == ("counter", {})


@pytest.mark.parametrize(
    "text",
    [
        "x 1\n",  # no HELP/TYPE
        "# HELP x_total a\n# TYPE x_total counter\nx_total 1",  # no final newline
        "# HELP x a\n# TYPE x counter\nx 1\n",  # a counter without _total
        "# HELP x a\n# TYPE x gauge\nx 1\nx 2\n",  # a repeated series
        "# HELP x a\n# TYPE x gauge\nx one\n",  # not a number
        "# HELP x a\n# TYPE x gauge\n# HELP y b\n# TYPE y gauge\nx 1\n",  # out of block
    ],
)
def test_the_strict_reader_refuses_broken_text(text: str) -> None:
    with pytest.raises(ExpositionError):
        prometheus_text.parse(text)


def test_token_is_made_once_with_mode_0600_and_then_reused(tmp_path: Path) -> None:
    path, token = ensure_token(tmp_path)
    assert path == tmp_path / "metrics-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 43  # 32 bytes in URL-safe base64
    assert ensure_token(tmp_path) == (path, token)


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "metrics-token").write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        ensure_token(tmp_path)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("Bearer s3cret2", False),
        ("Bearer ", False),
        ("Basic s3cret", False),
        ("s3cret", False),
        (None, False),
        ("Bearer s\u00e9cret", False),
    ],
)
def test_authorized_needs_the_bearer_token(header: str | None, ok: bool) -> None:
    assert authorized(header, b"s3cret") is ok


def test_no_token_configured_refuses_everyone() -> None:
    assert not authorized("Bearer ", None)
