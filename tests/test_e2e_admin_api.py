"""``screenrelay admin session list/end`` against a real relay process, with real
``screenrelay host``/``join`` processes, over HTTP and HTTPS (relay/admin_api.py,
relay/admin_session_cli.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from relay.tls import fingerprint
from tests.certs import self_signed
from tests.procs import ORGANIZER, Processes, Relay
from tests.test_e2e_admin_console import audit_rows
from tests.test_e2e_control import wait_until

pytestmark = pytest.mark.e2e


def sessions(relay: Relay, *extra: str) -> list[dict[str, Any]]:
    done = relay.admin("session", "list", "--relay", relay.url, "--json", *extra)
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)["sessions"]
    return listed


def test_list_shows_a_live_session_and_end_ends_it_for_everyone(procs: Processes) -> None:
    relay = procs.relay
    token = relay.data / "admin-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert sessions(relay) == []
    host = procs.host(keep_stdin=True)
    started = host.wait_for("session_started")
    sid = int(started["session_id"])
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("joined")
    (live,) = sessions(relay)
    assert (live["session_id"], live["organizer"]) == (sid, ORGANIZER)
    assert [(m["member_id"], m["role"], m["address"]) for m in live["members"]] == [
        (1, "organizer, presenter", "127.0.0.1"),
        (2, "participant", "127.0.0.1"),
    ]
    assert set(live) == {"session_id", "organizer", "started_at", "members"}  # metadata only
    table = relay.admin("session", "list", "--relay", relay.url)
    assert table.returncode == 0
    assert f"{sid:09d}\torganizer {ORGANIZER}\t" in table.stdout
    assert "  member 2\tparticipant\t" in table.stdout
    spaced = f"{sid:09d}"
    ended = relay.admin("session", "end", f"{spaced[:3]} {spaced[3:6]} {spaced[6:]}",
                        "--relay", relay.url)  # fmt: skip
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout == f"Ended session {sid:09d}; everyone was told.\n"
    reason = "An administrator of this relay ended the session."
    assert host.wait_for("session_ended")["reason"] == reason
    assert viewer.wait_for("session_ended")["reason"] == reason
    assert sessions(relay) == []
    again = relay.admin("session", "end", str(sid), "--relay", relay.url)
    assert again.returncode == 1 and "no live session with that ID" in again.stderr
    assert relay.admin("session", "end", "12345", "--relay", relay.url).returncode == 2
    wait_until(lambda: any(r["action"] == "session_ended" for r in audit_rows(relay)),
               what="session_ended row")  # fmt: skip
    rows = audit_rows(relay)
    by_admin = [r for r in rows if r["action"] == "session_ended_by_admin"]
    assert [(r["actor"], r["session_id"], r["detail"]["via"]) for r in by_admin] == [
        ("cli", sid, "admin_api")
    ]
    ended_row = next(r for r in rows if r["action"] == "session_ended")
    assert ended_row["detail"]["reason"] == "ended by an administrator"


def test_the_api_answers_403_without_the_right_bearer_token(
    procs: Processes, tmp_path: Path
) -> None:
    relay = procs.relay
    host = procs.host(keep_stdin=True)
    sid = host.wait_for("session_started")["session_id"]
    token = (relay.data / "admin-token").read_text().strip()
    listing, end = f"{relay.url}/admin/api/sessions", f"{relay.url}/admin/api/sessions/{sid}/end"
    for headers in (
        {},
        {"authorization": "Bearer " + "A" * len(token)},
        {"authorization": f"Basic {token}"},
        {"authorization": "Bearer"},
        {"cookie": f"screenrelay_admin={token}"},  # never a cookie
    ):
        assert httpx.get(listing, headers=headers).status_code == 403, headers
        assert httpx.post(end, headers=headers).status_code == 403, headers
    metrics_token = (relay.data / "metrics-token").read_text().strip()
    assert httpx.post(end, headers={"authorization": f"Bearer {metrics_token}"}).status_code == 403
    good = httpx.get(listing, headers={"authorization": f"Bearer {token}"})
    assert good.status_code == 200 and good.json()["sessions"][0]["session_id"] == int(sid)
    # The command line with another data directory's token, or with none.
    other = tmp_path / "other"
    other.mkdir()
    (other / "admin-token").write_text("not-the-token\n")
    wrong = Relay(tmp_path / "w", port=relay.port)
    wrong.data = other
    refused = wrong.admin("session", "end", sid, "--relay", relay.url)
    assert refused.returncode == 1 and "refused the admin token" in refused.stderr
    missing = Relay(tmp_path / "m", port=relay.port)
    absent = missing.admin("session", "list", "--relay", relay.url)
    assert absent.returncode == 1 and "cannot read the admin token" in absent.stderr
    assert relay.health()["sessions"] == 1  # nothing ended
    assert host.events_named("session_ended") == []
    assert not [r for r in audit_rows(relay) if r["action"] == "session_ended_by_admin"]


def test_session_commands_over_https_check_the_relays_certificate(
    display: str, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    relay = Relay(tmp_path, tls=(cert, key))
    relay.add_organizer()
    relay.start()
    procs = Processes(relay, display, tmp_path)
    try:
        host = procs.host("--cafile", str(cert), keep_stdin=True)
        sid = int(host.wait_for("session_started")["session_id"])
        assert [s["session_id"] for s in sessions(relay, "--cafile", str(cert))] == [sid]
        pin = fingerprint(x509.load_pem_x509_certificate(cert.read_bytes()))
        assert [s["session_id"] for s in sessions(relay, "--tls-fingerprint", pin)] == [sid]
        wrong_pin = ":".join(["00"] * 32)
        pinned = relay.admin("session", "end", str(sid), "--relay", relay.url,
                             "--tls-fingerprint", wrong_pin)  # fmt: skip
        assert pinned.returncode == 1 and "this may not be your relay" in pinned.stderr
        untrusted = relay.admin("session", "end", str(sid), "--relay", relay.url)
        assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
        assert relay.health()["sessions"] == 1
        ended = relay.admin("session", "end", str(sid), "--relay", relay.url,
                            "--tls-fingerprint", pin)  # fmt: skip
        assert ended.returncode == 0, ended.stderr
        assert host.wait_for("session_ended")["reason"].startswith("An administrator")
    finally:
        procs.stop_all()
        relay.stop()
