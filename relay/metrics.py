"""``GET /metrics``: live sessions and their queues in Prometheus text format.

Rules:
  1. Metadata only: counts, bytes, queue depths. Never content, passwords,
     keys, user names or participants' addresses; a series is labelled with
     the session's ID and a member id (1 is the organizer), nothing else.
  2. Admin only. Until the admin console signs people in, a scraper shows a
     bearer token: the relay keeps it in ``DATA/metrics-token`` (made on first
     start: 32 random bytes, URL-safe base64, mode 0600) and compares it in
     constant time. No token or a wrong one gets 403 and a short sentence.
  3. The format is the Prometheus text exposition format 0.0.4: each family
     has one HELP and one TYPE line before its samples; counters end in
     ``_total``.

``render`` is pure: it takes snapshots (``SessionStatistics``) and returns
text; the route in relay/app.py takes the snapshots and checks the token.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from relay.outbox import OutboxStatistics
from relay.sessions import SessionStatistics

#: The token's file in the data directory.
TOKEN_FILE: Final = "metrics-token"  # noqa: S105 (a file name, not a secret)
#: Random bytes in a new token (before base64).
TOKEN_BYTES: Final = 32
#: What a scraper is told it receives.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

#: name -> (type, help) of the relay-wide families.
RELAY_FAMILIES: Final = {
    "screenrelay_sessions": ("gauge", "Live sessions."),
    "screenrelay_connections": ("gauge", "Open WebSocket connections."),
}
#: name -> (type, help, field of SessionStatistics) of the per-session families.
SESSION_FAMILIES: Final = {
    "screenrelay_session_members": (
        "gauge",
        "Admitted participants (the organizer not counted).",
        "admitted",
    ),
    "screenrelay_session_pending_joins": ("gauge", "Joiners still in admission.", "pending"),
    "screenrelay_session_start_time_seconds": (
        "gauge",
        "When the session started (Unix time).",
        "started_at",
    ),
    "screenrelay_session_frames_forwarded_total": (
        "counter",
        "Frames from the presenter fanned out to the session's viewers.",
        "frames_forwarded",
    ),
    "screenrelay_session_frame_bytes_forwarded_total": (
        "counter",
        "Bytes of the frames fanned out (counted once, not per viewer).",
        "bytes_forwarded",
    ),
    "screenrelay_session_frames_refused_total": (
        "counter",
        "Frames from a member who did not present (not forwarded).",
        "frames_refused",
    ),
    "screenrelay_session_keyframe_requests_total": (
        "counter",
        "Key frames the relay asked the presenter for (joins, slow viewers).",
        "keyframe_requests",
    ),
}
#: name -> (type, help, field of OutboxStatistics) of the per-member families.
OUTBOX_FAMILIES: Final = {
    "screenrelay_outbox_control_queued": (
        "gauge",
        "Control messages waiting in the member's outbox.",
        "control_queued",
    ),
    "screenrelay_outbox_frames_queued": (
        "gauge",
        "Frames waiting in the member's outbox.",
        "frames_queued",
    ),
    "screenrelay_outbox_frame_bytes_queued": (
        "gauge",
        "Bytes of frames waiting in the member's outbox.",
        "frame_bytes_queued",
    ),
    "screenrelay_outbox_waiting_for_keyframe": (
        "gauge",
        "1 while the member's outbox refuses deltas until the next key frame.",
        "waiting_for_keyframe",
    ),
    "screenrelay_outbox_frames_dropped_total": (
        "counter",
        "Frames dropped for the member (newest picture wins).",
        "frames_dropped",
    ),
    "screenrelay_outbox_messages_sent_total": (
        "counter",
        "Messages handed to the member's connection.",
        "messages_sent",
    ),
    "screenrelay_outbox_bytes_sent_total": (
        "counter",
        "Bytes handed to the member's connection.",
        "bytes_sent",
    ),
}


def _number(value: float | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def render(sessions: Iterable[SessionStatistics], connections: int) -> str:
    """The exposition text of these session snapshots (rule 3)."""
    snapshots = sorted(sessions, key=lambda s: s.session_id)
    lines: list[str] = []

    def family(name: str, kind: str, text: str) -> None:
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")

    relay_values = {"screenrelay_sessions": len(snapshots), "screenrelay_connections": connections}
    for name, (kind, text) in RELAY_FAMILIES.items():
        family(name, kind, text)
        lines.append(f"{name} {relay_values[name]}")
    for name, (kind, text, field) in SESSION_FAMILIES.items():
        family(name, kind, text)
        for s in snapshots:
            value: float = getattr(s, field)
            lines.append(f'{name}{{session="{s.session_id:09d}"}} {_number(value)}')
    for name, (kind, text, field) in OUTBOX_FAMILIES.items():
        family(name, kind, text)
        for s in snapshots:
            for member, outbox in sorted(s.outboxes.items()):
                stat: OutboxStatistics = outbox
                lines.append(
                    f'{name}{{session="{s.session_id:09d}",member="{member}"}} '
                    f"{_number(getattr(stat, field))}"
                )
    return "\n".join(lines) + "\n"


# -- the token ----------------------------------------------------------------


def ensure_token(data_dir: Path, name: str = TOKEN_FILE) -> tuple[Path, bytes]:
    """The scrapers' token from ``data_dir``, made (mode 0600) if missing (rule 2).

    ``name``: another token's file (the admin API's is relay/admin_api.py ``TOKEN_FILE``).
    """
    path = data_dir / name
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(token + "\n")
    stored = path.read_text(encoding="ascii").strip()
    if not stored:
        raise ValueError(f"{path} is empty; delete it to have a new token made")
    return path, stored.encode("ascii")


def authorized(header: str | None, token: bytes | None) -> bool:
    """Whether an Authorization header carries ``token`` (constant-time compare)."""
    if token is None or header is None:
        return False
    scheme, _, offered = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered.strip().encode("utf-8", "replace"), token)
