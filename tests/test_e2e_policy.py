"""The administrator's policy, end to end: each rule through a real relay and real clients.

The policy is set as an administrator does it, with ``screenrelay admin
policy set`` against the relay's data directory while the relay runs; the
tests wait until the relay reports the new revision (``/healthz``). Where a
client also checks a rule (a second line), the test makes the relay meet the
action anyway (the policy changes after the client was told otherwise), so
each test fails if the relay does not enforce its rule.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import scenes
from tests.conftest import SCREEN
from tests.procs import ORGANIZER_PASSWORD, JsonProcess, Processes, Relay
from tests.test_e2e_control import grant, session_with_controller, wait_until
from tests.test_e2e_participant_control import PARTICIPANT_SCREEN, presenting_participant
from tests.xvfb import running_xvfb
from viewer_app.transport import RelayConnection

pytestmark = pytest.mark.e2e

MEMBER_PASSWORD = "a long member passphrase 42"


@pytest.fixture
def participant_display(tmp_path: Path) -> Iterator[str]:
    """A participant's own screen, for presenting (as in test_e2e_participant_control)."""
    with running_xvfb(*PARTICIPANT_SCREEN) as name:
        picture = scenes.desktop_picture(*PARTICIPANT_SCREEN, seed=43)
        scenes.show(name, picture, tmp_path / "p.png")
        yield name


def add_member(relay: Relay, name: str, email: str | None = None, *groups: str) -> tuple[str, str]:
    args = ["user", "add", name, "--role", "member", "--password-stdin"]
    if email is not None:
        args += ["--email", email]
    for group in groups:
        args += ["--group", group]
    done = relay.admin(*args, stdin_text=MEMBER_PASSWORD + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    return name, MEMBER_PASSWORD


def _audit_details(relay: Relay, action: str) -> list[dict[str, Any]]:
    with sqlite3.connect(relay.data / "relay.sqlite") as db:
        rows = db.execute("SELECT detail FROM audit WHERE action = ? ORDER BY id", (action,))
        return [json.loads(detail) for (detail,) in rows]


def _rules_seen(read: Callable[[], list[str]], rule: str, times: int) -> list[str]:
    """``read()`` once ``rule`` is in it ``times`` times, or after 10 s (the relay
    writes audit rows from a background task, a moment after the event)."""
    deadline = time.monotonic() + 10
    rules = read()
    while rules.count(rule) < times and time.monotonic() < deadline:
        time.sleep(0.2)
        rules = read()
    return rules


def ended_reasons(relay: Relay, rule: str, times: int = 1) -> list[str]:
    """The rules named by ``session_ended`` rows that the policy caused."""

    def read() -> list[str]:
        reasons = [d["reason"] for d in _audit_details(relay, "session_ended")]
        return [r.removeprefix("policy:") for r in reasons if r.startswith("policy:")]

    return _rules_seen(read, rule, times)


def refusals(relay: Relay, rule: str, times: int = 1) -> list[str]:
    """The rules named by the audit trail's ``refused`` rows, in order."""
    return _rules_seen(lambda: [d["rule"] for d in _audit_details(relay, "refused")], rule, times)


def session(
    procs: Processes, display: str, tmp_path: Path, *extra: str
) -> tuple[JsonProcess, dict[str, Any]]:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=41), tmp_path / "s.png")
    host = procs.host("--share", *extra, keep_stdin=True)
    return host, host.wait_for("session_started")


def refused_error(proc: JsonProcess) -> dict[str, Any]:
    error = proc.wait_for("error")
    assert proc.wait_exit() == 3
    return error


# -- the commands -------------------------------------------------------------


def test_admin_policy_show_set_reset_validates_and_audits(relay: Relay, tmp_path: Path) -> None:
    shown = relay.admin("policy", "show")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["features"]["remote_control"] is True
    bad = relay.admin("policy", "set", "-", stdin_text='{"sessions": {"max_participants": -2}}')
    assert bad.returncode == 2
    assert "policy field sessions.max_participants: must be between 0 and" in bad.stderr
    assert "nothing was changed" in bad.stderr
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        '{"features": {"remote_control": false}, "audit": {"retention_days": 30}}'
    )
    done = relay.admin("policy", "set", str(policy_file))
    assert done.returncode == 0, done.stderr
    wait_until(lambda: relay.health()["policy_revision"] == 1, what="policy in force")
    shown = json.loads(relay.admin("policy", "show").stdout)
    assert shown["features"]["remote_control"] is False and shown["audit"]["retention_days"] == 30
    assert relay.admin("policy", "reset").returncode == 0
    assert json.loads(relay.admin("policy", "show").stdout)["features"]["remote_control"] is True
    with sqlite3.connect(relay.data / "relay.sqlite") as db:
        rows = [json.loads(d) for (d,) in db.execute(
            "SELECT detail FROM audit WHERE action = 'policy_changed' ORDER BY id")]  # fmt: skip
        stored = db.execute("SELECT revision, changed_by FROM policy ORDER BY revision").fetchall()
    assert [(r["revision"], r["changed"]) for r in rows] == [
        (1, "features.remote_control,audit.retention_days"),
        (2, "features.remote_control,audit.retention_days"),
    ]
    assert [r for r, _by in stored] == [1, 2] and all(by.startswith("cli") for _r, by in stored)


# -- features -----------------------------------------------------------------


def welcome_policy(relay: Relay) -> dict[str, Any]:
    """The policy a client is told in Welcome, through the project's own connection."""

    async def greet() -> dict[str, Any]:
        conn = await RelayConnection.open(relay.url)
        try:
            return conn.policy
        finally:
            await conn.close()

    return asyncio.run(greet())


def test_welcome_says_whether_lossy_tiles_are_allowed(relay: Relay) -> None:
    policy = welcome_policy(relay)
    assert policy["lossy"] is False and policy["revision"] == 0  # lossless by default
    relay.set_policy({"features": {"lossy": True}})
    policy = welcome_policy(relay)
    assert policy["lossy"] is True and policy["revision"] == 1
    assert relay.admin("policy", "reset").returncode == 0
    wait_until(lambda: welcome_policy(relay)["lossy"] is False, what="lossless again")


def test_remote_control_banned_ends_control_in_force_and_refuses_requests(
    procs: Processes, relay: Relay
) -> None:
    host, viewer = session_with_controller(procs)
    grant(host, viewer)
    relay.set_policy({"features": {"remote_control": False}})
    # The relay ended the grant at once and told everyone why; the host's
    # gate closed on it.
    ended = viewer.wait_for("control")
    assert ended["reason"] == "policy" and ended["mine"] is False and ended["controller"] == 0
    assert host.wait_for("control_ended")["reason"] == "policy"
    viewer.write_line('{"cmd": "click", "x": 300, "y": 250}')
    assert viewer.wait_for("command_error")["message"] == "not in control"
    # A viewer who joins now is told in Welcome, and refuses locally (the
    # second line): nothing reaches the presenter.
    started = host.events_named("session_started")[0]
    late = procs.join(started["session_id"], "--no-window", "--commands",
                      password=started["password"], keep_stdin=True)  # fmt: skip
    late.wait_for("frame")
    late.write_line('{"cmd": "request_control"}')
    assert "disabled by this relay's policy" in late.wait_for("command_error")["message"]
    time.sleep(0.5)
    assert host.events_named("consent_asked")[1:] == []
    assert "features.remote_control" in refusals(relay, "features.remote_control")


def test_a_request_made_under_an_old_welcome_is_refused_by_the_relay(
    procs: Processes, relay: Relay
) -> None:
    host, viewer = session_with_controller(procs)
    relay.set_policy({"features": {"remote_control": False}})
    viewer.write_line('{"cmd": "request_control"}')  # Welcome said allowed
    state = viewer.wait_for("control")
    assert state["reason"] == "policy" and state["mine"] is False
    time.sleep(0.5)
    assert host.events_named("consent_asked") == []  # never reached the presenter
    viewer.write_line('{"cmd": "request_control"}')  # now it knows
    assert "disabled by this relay's policy" in viewer.wait_for("command_error")["message"]


def test_participants_presenting_banned_takes_the_role_back_and_refuses_asks(
    procs: Processes, relay: Relay, display: str, tmp_path: Path, participant_display: str
) -> None:
    host, participant, member, _started = presenting_participant(
        procs, display, tmp_path, participant_display
    )
    host.drain()
    relay.set_policy({"features": {"participants_present": False}})
    changed = participant.wait_for("presenter_changed")
    assert changed["reason"] == "policy" and changed["presenter"] == 0
    assert host.wait_for("presenter_changed")["reason"] == "policy"
    # Asked again (the host's Welcome said allowed; now it knows): refused
    # here first, and the relay refuses whatever reaches it.
    host.write_line(f"present {member}")
    assert "disabled by this relay's policy" in host.wait_for("command_error")["message"]
    time.sleep(0.5)
    assert participant.events_named("present_asked")[1:] == []
    assert "features.participants_present" in refusals(relay, "features.participants_present")


def test_a_present_request_under_an_old_welcome_is_refused_by_the_relay(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    host, started = session(procs, display, tmp_path)
    viewer = procs.join(started["session_id"], "--no-window", "--commands",
                        password=started["password"], keep_stdin=True)  # fmt: skip
    member = viewer.wait_for("joined")["member_id"]
    relay.set_policy({"features": {"participants_present": False}})
    host.write_line(f"present {member}")
    refused = host.wait_for("presenter_changed")
    assert refused["reason"] == "policy" and refused["subject"] == member
    assert refused["presenter"] == 1  # the organizer still presents
    time.sleep(0.5)
    assert viewer.events_named("present_asked") == []
    viewer.wait_for("frame")  # the session goes on


def test_choosing_the_session_id_where_policy_allows_and_not_where_it_does_not(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    _host, started = session(procs, display, tmp_path, "--session-id", "314 159 265")
    assert started["session_id"] == "314159265"
    relay.set_policy({"features": {"custom_session_id": False}})
    refused = procs.host("--session-id", "271828182")
    error = refused_error(refused)
    assert error["message"] == "Choosing the session ID is disabled by this relay's policy."
    assert error["code"] == "not_allowed"
    assert refused.events_named("session_started") == []
    assert "features.custom_session_id" in refusals(relay, "features.custom_session_id")


def test_a_chosen_session_password_is_refused_when_forbidden_or_weak(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    strong = "plum-velvet-orbit-canyon-7"
    relay.set_policy({"sessions": {"min_password_bits": 100}})
    weak = procs.host("--session-password-stdin", more_stdin="tiny-pw\n")
    message = refused_error(weak)["message"]
    assert "too weak" in message and "at least 100" in message
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=42), tmp_path / "s.png")
    chosen = procs.host("--share", "--session-password-stdin", more_stdin=strong + "\n")
    started = chosen.wait_for("session_started")
    assert started["password"] == strong
    viewer = procs.join(started["session_id"], "--no-window", "--frames", "1", password=strong)
    viewer.wait_for("frame")
    relay.set_policy({"features": {"custom_password": False}})
    forbidden = procs.host("--session-password-stdin", more_stdin=strong + "\n")
    assert "Choosing the session password is disabled" in refused_error(forbidden)["message"]


# -- limits -------------------------------------------------------------------


def test_max_participants_refuses_new_joins_and_lowering_it_keeps_those_in(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    relay.set_policy({"sessions": {"max_participants": 2}})
    _host, started = session(procs, display, tmp_path)
    first, second = (
        procs.join(started["session_id"], "--no-window", password=started["password"])
        for _ in range(2)
    )
    first.wait_for("frame")
    second.wait_for("frame")
    third = procs.join(started["session_id"], "--no-window", password=started["password"])
    error = refused_error(third)
    assert error["code"] == "not_allowed"
    assert "The session is full: this relay's policy allows at most 2" in error["message"]
    relay.set_policy({"sessions": {"max_participants": 1}})
    fourth = procs.join(started["session_id"], "--no-window", password=started["password"])
    assert "at most 1 participants" in refused_error(fourth)["message"]
    time.sleep(1.0)  # those admitted stay in
    for viewer in (first, second):
        assert viewer.proc.poll() is None
        assert viewer.events_named("error") == viewer.events_named("session_ended") == []
    assert refusals(relay, "sessions.max_participants", 2).count("sessions.max_participants") == 2


def test_the_relay_ends_a_session_at_its_longest_time(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    relay.set_policy({"sessions": {"max_duration_seconds": 4}})
    host, started = session(procs, display, tmp_path)
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("frame")
    text = "The session reached the longest time this relay's policy allows (4 seconds)."
    assert viewer.wait_for("session_ended")["reason"] == text
    assert host.wait_for("session_ended")["reason"] == text
    assert host.wait_exit() == 0 and viewer.wait_exit() == 0
    assert "sessions.max_duration_seconds" in ended_reasons(relay, "sessions.max_duration_seconds")


def test_the_relay_ends_an_idle_session(procs: Processes, relay: Relay) -> None:
    relay.set_policy({"sessions": {"idle_timeout_seconds": 2}})
    host = procs.host()  # shares nothing, nobody joins: idle
    host.wait_for("session_started")
    started_at = time.monotonic()
    ended = host.wait_for("session_ended", timeout=10)
    assert ended["reason"] == (
        "The session was idle longer than this relay's policy allows (2 seconds)."
    )
    assert time.monotonic() - started_at >= 1.0
    assert relay.health()["sessions"] == 0
    assert "sessions.idle_timeout_seconds" in ended_reasons(relay, "sessions.idle_timeout_seconds")


def test_a_busy_session_is_not_idle(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    relay.set_policy({"sessions": {"idle_timeout_seconds": 2}})
    animator = scenes.start_animator(display, (400, 200, 320, 240), fps=10)
    try:
        host, started = session(procs, display, tmp_path)
        viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
        viewer.wait_for("frame")
        time.sleep(4)
        assert relay.health()["sessions"] == 1
        assert host.events_named("session_ended") == []
    finally:
        animator.terminate()
        animator.wait()


# -- client versions ----------------------------------------------------------


@pytest.fixture
def open_relay(tmp_path: Path) -> Iterator[Relay]:
    """A relay that itself allows any client version, so the policy decides."""
    relay = Relay(tmp_path / "open", args=("--min-client-version", "0.0.1"))
    relay.add_organizer()
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def test_clients_outside_the_allowed_versions_are_refused_at_hello(
    open_relay: Relay, display: str, tmp_path: Path
) -> None:
    procs = Processes(open_relay, display, tmp_path)
    try:
        open_relay.set_policy({"client_versions": {"min": "0.2.0"}})
        old = procs.host()
        error = refused_error(old)
        assert error["code"] == "version_refused"
        assert error["message"].startswith("This relay requires screenrelay 0.2.0 or newer")
        assert "this client is 0.1.0" in error["message"]
        assert old.events_named("session_started") == []
        open_relay.set_policy({"client_versions": {"min": "0.0.5", "max": "0.0.9"}})
        new = procs.join("123456789", "--no-window", password="whatever-it-is")
        error = refused_error(new)
        assert error["code"] == "version_refused"
        assert error["message"].startswith("This relay requires screenrelay 0.0.5 to 0.0.9")
        open_relay.set_policy({"client_versions": {"min": "0.1.0", "max": "0.1.0"}})
        fine = procs.host()
        fine.wait_for("session_started")
        assert refusals(open_relay, "client_versions", 2).count("client_versions") == 2
    finally:
        procs.stop_all()


# -- who organizes, who joins -------------------------------------------------


def test_only_allowlisted_accounts_organize(procs: Processes, relay: Relay) -> None:
    relay.set_policy({"organize": {"who": "allowlist", "accounts": ["somebody-else"]}})
    refused = procs.host()
    error = refused_error(refused)
    assert error["message"] == "This relay's policy lets only the accounts it names start sessions."
    relay.set_policy({"organize": {"who": "allowlist", "accounts": ["ALICE"]}})
    procs.host().wait_for("session_started")
    assert "organize.accounts" in refusals(relay, "organize.accounts")


def test_member_accounts_never_organize(procs: Processes, relay: Relay) -> None:
    name, _password = add_member(relay, "mallory")
    # procs.host signs in with ORGANIZER_PASSWORD: give the member that one.
    done = relay.admin("user", "reset-password", name, "--password-stdin",
                       stdin_text=ORGANIZER_PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = procs.host(user=name)
    assert refused_error(refused)["message"] == "Only organizer accounts may start sessions."


def test_signed_in_accounts_only(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    relay.set_policy({"join": {"who": "signed_in"}})
    _host, started = session(procs, display, tmp_path)
    anonymous = procs.join(started["session_id"], "--no-window", password=started["password"])
    error = refused_error(anonymous)
    assert error["code"] == "not_allowed"
    assert "admits only signed-in accounts" in error["message"]
    bob = add_member(relay, "bob")
    member = procs.join(started["session_id"], "--no-window", "--frames", "1",
                        password=started["password"], account=bob)  # fmt: skip
    member.wait_for("frame")
    assert member.wait_exit() == 0
    by_link = procs.join(started["link"], "--no-window", "--frames", "1", account=bob)
    by_link.wait_for("frame")
    # The session password stays what it was: an account alone gets nobody in.
    wrong = procs.join(started["session_id"], "--no-window", password="not-it", account=bob)
    assert refused_error(wrong)["code"] == "admission_failed"
    assert "join.signed_in" in refusals(relay, "join.signed_in")


def test_allowlist_of_accounts_and_email_domains(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    carol = add_member(relay, "carol")
    dave = add_member(relay, "dave", "dave@example.com")
    erin = add_member(relay, "erin", "erin@example.org")
    relay.set_policy(
        {"join": {"who": "allowlist", "accounts": ["carol"], "email_domains": ["example.com"]}},
    )
    _host, started = session(procs, display, tmp_path)
    for allowed in (carol, dave):
        viewer = procs.join(started["link"], "--no-window", "--frames", "1", account=allowed)
        viewer.wait_for("frame")
        assert viewer.wait_exit() == 0
    outsider = procs.join(started["link"], "--no-window", account=erin)
    assert "admits only the accounts and e-mail domains" in refused_error(outsider)["message"]
    anonymous = procs.join(started["link"], "--no-window")
    assert "join with --user NAME" in refused_error(anonymous)["message"]
    assert refusals(relay, "join.allowlist", 2).count("join.allowlist") == 2


def test_organizer_allowlist_admits_members_of_named_groups(procs: Processes, relay: Relay) -> None:
    done = relay.admin("user", "add", "oscar", "--role", "organizer", "--group", "Hosts",
                       "--password-stdin", stdin_text=ORGANIZER_PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    relay.set_policy(
        {"organize": {"who": "allowlist", "accounts": ["somebody"], "groups": ["hosts"]}}
    )
    procs.host(user="oscar").wait_for("session_started")  # in the group
    refused = procs.host()  # alice: neither named nor in the group
    assert refused_error(refused)["message"] == (
        "This relay's policy lets only the accounts and groups it names start sessions."
    )
    assert relay.admin("user", "groups", "alice", "staff,hosts").returncode == 0
    procs.host().wait_for("session_started")  # groups are read at sign-in
    rule = "organize.accounts,organize.groups"
    assert rule in refusals(relay, rule)
    changed = _audit_details(relay, "account_groups_changed")
    assert [(d["account"], d["groups"]) for d in changed] == [("alice", "staff,hosts")]


def test_join_allowlist_admits_members_of_named_groups(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    frank = add_member(relay, "frank", None, "sales")
    gina = add_member(relay, "gina", "gina@example.com", "support")
    relay.set_policy({"join": {"who": "allowlist", "groups": ["Sales"]}})
    _host, started = session(procs, display, tmp_path)
    viewer = procs.join(started["link"], "--no-window", "--frames", "1", account=frank)
    viewer.wait_for("frame")
    assert viewer.wait_exit() == 0
    outsider = procs.join(started["link"], "--no-window", account=gina)
    error = refused_error(outsider)
    assert error["code"] == "not_allowed"
    assert error["message"] == "This relay's policy admits only the groups it names to sessions."
    assert relay.admin("user", "groups", "gina", "support,sales").returncode == 0
    again = procs.join(started["link"], "--no-window", "--frames", "1", account=gina)
    again.wait_for("frame")
    assert again.wait_exit() == 0
    assert "join.allowlist" in refusals(relay, "join.allowlist")
