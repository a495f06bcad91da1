"""relay/policy.py (parse, validate, defaults) and the directory applying a policy."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.pake import new_password, password_bits
from protocol.wire import ControlReason, Credential, PresentAnswerKind, PresenterReason
from relay.database import open_database
from relay.peer import Peer
from relay.policy import (
    FeaturePolicy,
    JoinPolicy,
    OrganizePolicy,
    Policy,
    PolicyError,
    SessionPolicy,
    changed_keys,
    parse_policy,
)
from relay.sessions import AuditRecord, Directory, DirectoryConfig
from relay.store import SqliteStore
from tests.test_control_routing import member
from tests.test_sessions import PAKE, inbox

# -- the model ----------------------------------------------------------------


def test_the_empty_document_is_the_default_policy() -> None:
    policy = parse_policy("{}")
    assert policy == Policy()
    assert policy.join.who == "password" and policy.organize.who == "organizers"
    assert policy.features == FeaturePolicy(True, True, True, True)
    assert policy.sessions == SessionPolicy(50, 50, None, None)
    assert policy.client_versions.min is None and policy.client_versions.max is None
    assert policy.audit.retention_days is None


def test_a_document_round_trips() -> None:
    policy = parse_policy(
        {
            "organize": {"who": "allowlist", "accounts": ["alice"]},
            "join": {"who": "allowlist", "accounts": ["bob"], "email_domains": ["example.com"]},
            "features": {"remote_control": False},
            "sessions": {"max_participants": 3, "idle_timeout_seconds": 600},
            "client_versions": {"min": "0.1.0", "max": "0.9.0"},
            "audit": {"retention_days": 90},
        }
    )
    document = policy.to_document()
    assert document["format"] == 1
    assert parse_policy(json.dumps(document)) == policy
    assert document["join"]["email_domains"] == ["example.com"]


@pytest.mark.parametrize(
    ("document", "field", "rule"),
    [
        ("[1]", "(document)", "must be a JSON object"),
        ("{", "(document)", "is not JSON"),
        ({"format": 2}, "format", "must be 1"),
        ({"featurs": {}}, "featurs", "is not a policy field"),
        ({"features": {"remote": False}}, "features.remote", "is not a policy field"),
        ({"features": {"remote_control": "no"}}, "features.remote_control", "true or false"),
        ({"features": []}, "features", "must be a JSON object"),
        ({"features": {"lossy": 1}}, "features.lossy", "true or false"),
        ({"join": {"who": "everyone"}}, "join.who", "must be one of"),
        ({"join": {"who": "allowlist"}}, "join.accounts", "must name someone"),
        ({"join": {"accounts": ["bob"]}}, "join.accounts", 'apply only to "allowlist"'),
        (
            {"join": {"who": "allowlist", "email_domains": ["@Example.com"]}},
            "join.email_domains",
            "is not a lower-case domain",
        ),
        ({"join": {"who": "allowlist", "accounts": [""]}}, "join.accounts", "non-empty"),
        ({"organize": {"who": "allowlist"}}, "organize.accounts", "at least one account"),
        ({"organize": {"groups": ["staff"]}}, "organize.accounts", "organize.groups apply only"),
        ({"join": {"groups": ["staff"]}}, "join.accounts", 'apply only to "allowlist"'),
        ({"join": {"who": "allowlist", "groups": "staff"}}, "join.groups", "list of non-empty"),
        (
            {"organize": {"who": "allowlist", "groups": ["a,b"]}},
            "organize.groups",
            "is not a group name",
        ),
        ({"sessions": {"max_participants": -1}}, "sessions.max_participants", "between"),
        ({"sessions": {"max_participants": 1.5}}, "sessions.max_participants", "whole number"),
        ({"sessions": {"max_participants": True}}, "sessions.max_participants", "whole number"),
        ({"sessions": {"min_password_bits": 300}}, "sessions.min_password_bits", "between"),
        ({"sessions": {"idle_timeout_seconds": 0}}, "sessions.idle_timeout_seconds", "between"),
        ({"client_versions": {"min": "1.2"}}, "client_versions.min", "is not a version"),
        ({"client_versions": {"max": 3}}, "client_versions.max", "x.y.z"),
        (
            {"client_versions": {"min": "0.3.0", "max": "0.2.0"}},
            "client_versions",
            "is above max",
        ),
        ({"audit": {"retention_days": 0}}, "audit.retention_days", "between"),
    ],
)
def test_each_broken_rule_is_named(document: Any, field: str, rule: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(document)
    assert info.value.field == field
    assert rule in info.value.rule
    assert str(info.value).startswith(f"policy field {field}: ")


def test_null_means_no_limit_and_whole_floats_are_numbers() -> None:
    policy = parse_policy({"sessions": {"max_duration_seconds": None, "max_participants": 4.0}})
    assert policy.sessions.max_duration_seconds is None
    assert policy.sessions.max_participants == 4


def test_changed_keys_names_the_fields_that_differ() -> None:
    old = Policy()
    new = dataclasses.replace(
        old, features=FeaturePolicy(remote_control=False), join=JoinPolicy("signed_in")
    )
    assert changed_keys(old, new) == ["join.who", "features.remote_control"]
    assert changed_keys(new, new) == []


def test_who_may_organize_and_join() -> None:
    assert OrganizePolicy().allows("anyone")
    listed = OrganizePolicy("allowlist", ("Alice",))
    assert listed.allows("alice") and not listed.allows("bob")
    assert JoinPolicy().allows(None, None)
    assert not JoinPolicy("signed_in").allows(None, None)
    assert JoinPolicy("signed_in").allows("bob", None)
    allow = JoinPolicy("allowlist", ("carol",), ("example.com",))
    assert allow.allows("Carol", None)
    assert allow.allows("dan", "dan@example.com")
    assert not allow.allows("dan", "dan@example.org")
    assert not allow.allows("erin", None)
    assert not allow.allows(None, None)


def test_allowlists_admit_named_accounts_or_members_of_named_groups() -> None:
    organize = parse_policy(
        {"organize": {"who": "allowlist", "accounts": ["alice"], "groups": ["Hosts"]}}
    ).organize
    assert organize.allows("alice") and organize.allows("ALICE", ())
    assert organize.allows("bob", ("staff", "hosts"))  # group names ignore ASCII case
    assert not organize.allows("bob", ("staff",)) and not organize.allows("bob")
    assert organize.rule == "organize.accounts,organize.groups"
    only_groups = OrganizePolicy("allowlist", groups=("hosts",))
    assert only_groups.allows("bob", ("hosts",)) and not only_groups.allows("hosts")
    assert only_groups.rule == "organize.groups"
    assert OrganizePolicy().allows("anyone", ())
    join = JoinPolicy("allowlist", groups=("sales",))
    assert join.allows("erin", None, ("Sales",))
    assert not join.allows("erin", "erin@example.com", ("support",))
    assert not join.allows(None, None, ("sales",))  # groups need a signed-in account
    assert join.named() == "the groups"
    both = JoinPolicy("allowlist", ("carol",), ("example.com",), ("sales",))
    assert both.named() == "the accounts, groups and e-mail domains"
    assert JoinPolicy("signed_in").allows("erin", None, ())
    policy = parse_policy({"join": {"who": "allowlist", "groups": ["sales"]}})
    assert parse_policy(json.dumps(policy.to_document())) == policy
    assert "sales" not in json.dumps(policy.client_document())  # no names to clients


def test_clients_are_told_what_they_may_do_and_no_names() -> None:
    policy = parse_policy(
        {
            "join": {"who": "allowlist", "accounts": ["secret-name"]},
            "features": {"remote_control": False},
        }
    )
    document = policy.client_document()
    assert document["remote_control"] is False and document["participants_present"] is True
    assert document["join"] == "allowlist"
    assert "secret-name" not in json.dumps(document)


def test_lossy_tiles_are_off_unless_the_policy_allows_them() -> None:
    assert Policy().features.lossy is False
    assert Policy().client_document()["lossy"] is False
    policy = parse_policy({"features": {"lossy": True}})
    assert policy.client_document()["lossy"] is True
    assert changed_keys(Policy(), policy) == ["features.lossy"]
    assert parse_policy(json.dumps(policy.to_document())) == policy


def test_password_bits() -> None:
    assert password_bits("") == 0
    assert password_bits("password") < 50
    assert password_bits(new_password(lambda n: bytes(range(n)))) >= 60
    assert password_bits("correct horse battery staple") > 100


# -- the store ----------------------------------------------------------------


def test_the_newest_row_is_in_force() -> None:
    store = SqliteStore(open_database(None))
    assert store.policy_revision() == 0 and store.current_policy() is None
    first = store.store_policy('{"features": {"remote_control": false}}', "cli:ada", 1.0)
    second = store.store_policy("{}", "cli:bob", 2.0)
    assert (first, second) == (1, 2)
    row = store.current_policy()
    assert row is not None and (row.revision, row.document, row.changed_by) == (2, "{}", "cli:bob")
    assert store.policy_revision() == 2


# -- the directory applying it --------------------------------------------------


def directory_with(policy: Policy) -> tuple[Directory, list[AuditRecord]]:
    audit: list[AuditRecord] = []
    return Directory(DirectoryConfig(), audit.append, policy=policy), audit


def test_restricting_control_ends_the_grant_in_force_for_everyone() -> None:
    directory, audit = directory_with(Policy())
    organizer = Peer("10.0.0.1", lambda: None)
    session = directory.create_session(organizer, "alice", 0, 0.0)
    viewer, m = member(directory, session, "a")
    directory.from_organizer(
        session, messages.ControlState(m.member_id, 3, m.member_id, ControlReason.GRANTED), 1
    )
    inbox(organizer), inbox(viewer)
    directory.apply_policy(Policy(features=FeaturePolicy(remote_control=False)), 2.0)
    ended = messages.ControlState(0, 3, m.member_id, ControlReason.POLICY)
    assert inbox(organizer) == [ended] and inbox(viewer) == [ended]
    assert not session.control.may_forward_input(m.member_id, m.member_id, 3, 2.0)
    assert audit[-1].action == "refused" and audit[-1].detail["rule"] == "features.remote_control"


def test_restricting_presenting_takes_the_role_back_and_refuses_a_late_accept() -> None:
    directory, audit = directory_with(Policy())
    organizer = Peer("10.0.0.1", lambda: None)
    session = directory.create_session(organizer, "alice", 0, 0.0)
    one, m1 = member(directory, session, "a")
    two, m2 = member(directory, session, "b")
    directory.from_organizer(session, messages.PresentRequest(m1.member_id), 1)
    accept = messages.PresentAnswer(PresentAnswerKind.ACCEPT)
    directory.from_member(session, m1, accept, 1)
    assert session.presenter_id == m1.member_id
    directory.from_organizer(session, messages.PresentRequest(m2.member_id), 1)
    inbox(organizer), inbox(one), inbox(two)
    directory.apply_policy(Policy(features=FeaturePolicy(participants_present=False)), 2.0)
    taken = messages.PresenterChanged(0, m1.member_id, PresenterReason.POLICY)
    assert inbox(organizer) == inbox(one) == inbox(two) == [taken]
    directory.from_member(session, m2, accept, 3)  # the ask was withdrawn
    assert session.presenter_id == 0
    # A new ask is refused, to the organizer alone, without ending anything.
    directory.from_organizer(session, messages.PresentRequest(m2.member_id), 4)
    assert inbox(organizer) == [messages.PresenterChanged(0, m2.member_id, PresenterReason.POLICY)]
    assert inbox(two) == []
    assert audit[-1].action == "refused"
    assert audit[-1].detail["rule"] == "features.participants_present"


def test_sessions_end_when_too_long_or_idle_naming_the_rule() -> None:
    policy = Policy(sessions=SessionPolicy(max_duration_seconds=120, idle_timeout_seconds=30))
    directory, audit = directory_with(policy)
    long_one = Peer("10.0.0.1", lambda: None)
    idle_one = Peer("10.0.0.2", lambda: None)
    long_session = directory.create_session(long_one, "alice", 0, 0.0)
    directory.create_session(idle_one, "bob", 0, 50.0)
    for now in range(0, 120, 10):
        directory.from_organizer(long_session, messages.SetPresenter(1), float(now))
        directory.tick(float(now) + 5)
    [idle_end] = [m for m in inbox(idle_one) if isinstance(m, messages.SessionEnded)]
    assert idle_end.text == (
        "The session was idle longer than this relay's policy allows (30 seconds)."
    )
    assert long_session.session_id in directory.sessions
    directory.tick(120.0)
    [long_end] = [m for m in inbox(long_one) if isinstance(m, messages.SessionEnded)]
    assert (
        long_end.text
        == "The session reached the longest time this relay's policy allows (2 minutes)."
    )
    assert directory.sessions == {}
    reasons = [r.detail["reason"] for r in audit if r.action == "session_ended"]
    assert reasons == [
        "policy:sessions.idle_timeout_seconds",
        "policy:sessions.max_duration_seconds",
    ]


def test_organizing_and_choosing_an_id_are_refused_by_policy() -> None:
    directory, audit = directory_with(
        Policy(
            organize=OrganizePolicy("allowlist", ("alice",)),
            features=FeaturePolicy(custom_session_id=False),
        )
    )
    with pytest.raises(RemoteProtocolError) as info:
        directory.create_session(Peer("a", lambda: None), "bob", 0, 0.0)
    assert info.value.code is ErrorCode.NOT_ALLOWED
    assert "only the accounts it names" in info.value.text
    with pytest.raises(RemoteProtocolError) as info:
        directory.create_session(Peer("a", lambda: None), "alice", 123456789, 0.0)
    assert info.value.text == "Choosing the session ID is disabled by this relay's policy."
    assert [r.detail["rule"] for r in audit] == ["organize.accounts", "features.custom_session_id"]
    directory.create_session(Peer("a", lambda: None), "ALICE", 0, 0.0)


def test_organizing_and_joining_by_group_at_the_directory() -> None:
    directory, audit = directory_with(
        Policy(
            organize=OrganizePolicy("allowlist", groups=("hosts",)),
            join=JoinPolicy("allowlist", accounts=("carol",), groups=("sales",)),
        )
    )
    with pytest.raises(RemoteProtocolError) as info:
        directory.create_session(Peer("a", lambda: None), "bob", 0, 0.0, ("staff",))
    assert info.value.text == "This relay's policy lets only the groups it names start sessions."
    assert audit[-1].action == "refused" and audit[-1].detail["rule"] == "organize.groups"
    session = directory.create_session(Peer("o", lambda: None), "bob", 0, 0.0, ("Hosts",))
    join = messages.Join(session.session_id, Credential.PASSWORD, PAKE)
    outsider = Peer("x", lambda: None)
    assert directory.join(outsider, join, 1.0, ("erin", None), ("support",)) is None
    assert outsider.close_request is not None
    assert outsider.close_request.text == (
        "This relay's policy admits only the accounts and groups it names to sessions."
    )
    assert audit[-1].detail["rule"] == "join.allowlist"
    member = directory.join(Peer("s", lambda: None), join, 1.0, ("dan", None), ("sales",))
    assert isinstance(member, tuple)


def test_joining_needs_an_account_where_policy_says_so() -> None:
    directory, audit = directory_with(Policy(join=JoinPolicy("signed_in")))
    session = directory.create_session(Peer("o", lambda: None), "alice", 0, 0.0)
    join = messages.Join(session.session_id, Credential.PASSWORD, PAKE)
    anonymous = Peer("a", lambda: None)
    assert directory.join(anonymous, join, 1.0) is None
    assert anonymous.close_request is not None
    assert anonymous.close_request.code is ErrorCode.NOT_ALLOWED
    assert "only signed-in accounts" in (anonymous.close_request.text or "")
    assert audit[-1].action == "refused" and audit[-1].detail["rule"] == "join.signed_in"
    assert isinstance(directory.join(Peer("b", lambda: None), join, 1.0, ("bob", None)), tuple)
