"""Accounts end to end: ``screenrelay admin`` changes an account while a real
relay runs, and ``screenrelay host`` signs in (or not) as a user would."""

from __future__ import annotations

import csv
import io
import itertools
import time
from typing import Any

import pytest

from relay.accounts import MAX_FAILURES
from tests.procs import ORGANIZER, ORGANIZER_PASSWORD, JsonProcess, Processes, Relay

pytestmark = pytest.mark.e2e

_count = itertools.count()

WRONG = "Wrong user name or password."


def sign_in(procs: Processes, user: str, password: str) -> dict[str, Any]:
    """Run ``screenrelay host`` (not sharing) until it opens a session or
    fails; its session_started or error event."""
    host = JsonProcess(
        ["host", "--relay", procs.relay.url, "--user", user, "--password-stdin", "--json"],
        env=procs.env(),
        stdin_text=password + "\n",
        log=procs.workdir / f"host-sign-in-{next(_count)}.log",
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for event in host.events:
                if event.get("event") in ("session_started", "error"):
                    return event
            if host.proc.poll() is not None and not host._thread.is_alive():
                raise AssertionError(f"host exited with {host.events}: {host.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"no outcome: {host.events}: {host.stderr()}")
    finally:
        host.stop()


def audit(relay: Relay, *args: str) -> list[dict[str, str]]:
    done = relay.admin("audit", "export", "--format", "csv", *args)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_disabled_account_cannot_host_and_enabled_again_can(procs: Processes) -> None:
    relay = procs.relay
    assert sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["event"] == "session_started"
    assert relay.admin("user", "disable", ORGANIZER).returncode == 0
    refused = sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)
    # Exactly what a wrong password gets: nothing tells that the account exists.
    wrong = sign_in(procs, ORGANIZER, "not the password 1")
    assert (refused["event"], refused["code"], refused["message"]) == (
        "error",
        "sign_in_failed",
        WRONG,
    )
    assert (wrong["code"], wrong["message"]) == (refused["code"], refused["message"])
    assert relay.admin("user", "enable", ORGANIZER).returncode == 0
    assert sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["event"] == "session_started"
    # Session rows come from the relay's writer thread, maybe after the
    # next admin command's row: leave them out of the order.
    actions = [
        (r["actor"], r["action"]) for r in audit(relay) if not r["action"].startswith("session_")
    ]
    assert actions == [
        ("cli", "account_added"),
        ("alice", "signed_in"),
        ("cli", "account_disabled"),
        ("alice", "sign_in_failed"),
        ("alice", "sign_in_failed"),
        ("cli", "account_enabled"),
        ("alice", "signed_in"),
    ]


def test_reset_password_takes_effect_at_once(procs: Processes) -> None:
    relay = procs.relay
    done = relay.admin("user", "reset-password", ORGANIZER)
    assert done.returncode == 0, done.stderr
    new = done.stdout.rsplit(" ", 1)[1].strip()
    assert sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["code"] == "sign_in_failed"
    assert sign_in(procs, ORGANIZER, new)["event"] == "session_started"


def test_failed_sign_ins_are_throttled_per_account_and_address(procs: Processes) -> None:
    relay = procs.relay
    for n in range(MAX_FAILURES):
        assert sign_in(procs, ORGANIZER, f"wrong password {n}")["code"] == "sign_in_failed"
    # The right password is not even tried now.
    throttled = sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)
    assert throttled["code"] == "rate_limited"
    assert throttled["message"].startswith("Too many failed sign-ins; try again in ")
    # The address is throttled too: another account from it is refused.
    add = relay.admin("user", "add", "bob", "--role", "organizer", "--password-stdin",
                      stdin_text="plum orchard 42\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert sign_in(procs, "bob", "plum orchard 42")["code"] == "rate_limited"
    refused = audit(relay, "--action", "sign_in_refused")
    assert [(r["actor"], r["address"]) for r in refused] == [
        ("alice", "127.0.0.1"),
        ("bob", "127.0.0.1"),
    ]
    assert all('"reason":"throttled"' in r["detail"] for r in refused)
    assert len(audit(relay, "--action", "sign_in_failed")) == MAX_FAILURES


def test_disabling_an_organizer_ends_its_running_session_for_everyone(
    procs: Processes,
) -> None:
    relay = procs.relay
    host = procs.host(keep_stdin=True)
    started = host.wait_for("session_started")
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("joined")
    assert relay.admin("user", "disable", ORGANIZER).returncode == 0
    reason = (
        "An administrator of this relay disabled the organizer's account, so the session ended."
    )
    assert host.wait_for("session_ended")["reason"] == reason
    assert viewer.wait_for("session_ended")["reason"] == reason
    deadline = time.monotonic() + 15
    while not any(r["action"] == "session_ended" for r in audit(relay)):
        assert time.monotonic() < deadline, "no session_ended row"
        time.sleep(0.1)
    (ended,) = [r for r in audit(relay) if r["action"] == "session_ended"]
    assert (ended["actor"], ended["session_id"]) == (ORGANIZER, str(int(started["session_id"])))
    assert "organizer account disabled" in ended["detail"]
