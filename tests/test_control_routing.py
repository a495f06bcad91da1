"""The relay's second line for remote control, as pure logic."""

from __future__ import annotations

import pytest

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.wire import SEALED_HEADER, ControlReason, PresentAnswerKind, Tag
from relay.control_routing import INPUT_BURST
from relay.peer import Peer
from relay.sessions import AuditRecord, Directory, DirectoryConfig, LiveSession, Member
from tests.test_sessions import admit, inbox

GRANTED = ControlReason.GRANTED


def world(*, remote_control: bool = True) -> tuple[Directory, list[AuditRecord], Peer, LiveSession]:
    audit: list[AuditRecord] = []
    directory = Directory(DirectoryConfig(remote_control=remote_control), audit.append)
    organizer = Peer("10.0.0.1", lambda: None)
    session = directory.create_session(organizer, "alice", 0, 0.0)
    return directory, audit, organizer, session


class _World:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory


def member(directory: Directory, session: LiveSession, address: str) -> tuple[Peer, Member]:
    peer = admit(_World(directory), session.session_id, address)  # type: ignore[arg-type]
    found = next(m for m in session.members.values() if m.peer is peer)
    return peer, found


def sealed_input(sender: int, grant: int) -> bytes:
    return SEALED_HEADER.pack(Tag.INPUT, grant, sender, 0, 0) + b"x" * 32


def test_a_request_goes_to_the_presenter_and_is_audited() -> None:
    directory, audit, organizer, session = world()
    _viewer, m = member(directory, session, "a")
    inbox(organizer)
    directory.from_member(session, m, messages.ControlRequest(m.member_id), 1.0)
    assert inbox(organizer) == [messages.ControlRequest(m.member_id)]
    assert audit[-1].action == "consent_asked" and audit[-1].detail["member"] == m.member_id


def test_where_policy_forbids_control_the_relay_refuses_itself() -> None:
    directory, audit, organizer, session = world(remote_control=False)
    viewer, m = member(directory, session, "a")
    inbox(organizer), inbox(viewer)
    directory.from_member(session, m, messages.ControlRequest(m.member_id), 1.0)
    assert inbox(organizer) == []
    [state] = inbox(viewer)
    assert state == messages.ControlState(0, 0, m.member_id, ControlReason.POLICY)
    assert audit[-1].action == "refused"
    assert audit[-1].detail["rule"] == "features.remote_control"
    # Nor may the presenter grant it: the relay ends the grant at once and
    # tells everyone, the presenter too (its client closes its gate).
    directory.from_organizer(
        session, messages.ControlState(m.member_id, 1, m.member_id, GRANTED), 1
    )
    ended = messages.ControlState(0, 1, m.member_id, ControlReason.POLICY)
    assert inbox(organizer) == [ended] and inbox(viewer) == [ended]
    assert session.control.controller == 0


def test_only_an_admitted_member_can_hold_control() -> None:
    directory, _audit, _organizer, session = world()
    with pytest.raises(RemoteProtocolError) as info:
        directory.from_organizer(session, messages.ControlState(9, 1, 9, GRANTED), 1.0)
    assert info.value.code is ErrorCode.NOT_ALLOWED


def test_control_changes_reach_every_member_and_the_audit_trail() -> None:
    directory, audit, _organizer, session = world()
    one, m1 = member(directory, session, "a")
    two, _m2 = member(directory, session, "b")
    inbox(one), inbox(two)
    state = messages.ControlState(m1.member_id, 1, m1.member_id, GRANTED)
    directory.from_organizer(session, state, 1.0)
    assert inbox(one) == [state] and inbox(two) == [state]
    revoked = messages.ControlState(0, 0, m1.member_id, ControlReason.REVOKED_HOTKEY)
    directory.from_organizer(session, revoked, 2.0)
    assert [a.action for a in audit[-3:]] == ["consent_given", "control_granted", "control_revoked"]
    assert audit[-3].detail == {"member": m1.member_id, "grant": 1, "what": "remote control"}
    assert audit[-1].detail["how"] == "hotkey"


def test_input_goes_to_the_presenter_only_from_the_controller_under_the_grant() -> None:
    directory, _audit, organizer, session = world()
    _one, m1 = member(directory, session, "a")
    _two, m2 = member(directory, session, "b")
    directory.from_organizer(
        session, messages.ControlState(m1.member_id, 3, m1.member_id, GRANTED), 1
    )
    inbox(organizer)

    def send(m: Member, sender: int, grant: int) -> None:
        data = sealed_input(sender, grant)
        directory.forward_input(
            session, m, messages.parse_sealed_header(data, Tag.INPUT), data, 1.0
        )

    send(m1, m1.member_id, 3)
    assert len(inbox(organizer)) == 1
    send(m2, m2.member_id, 3)  # not the controller
    send(m2, m1.member_id, 3)  # posing as the controller
    send(m1, m1.member_id, 2)  # an old grant
    assert inbox(organizer) == []
    assert session.control.stats.inputs_dropped == 3


def test_a_flood_of_input_is_capped() -> None:
    directory, _audit, organizer, session = world()
    _one, m1 = member(directory, session, "a")
    directory.from_organizer(
        session, messages.ControlState(m1.member_id, 1, m1.member_id, GRANTED), 1
    )
    inbox(organizer)
    data = sealed_input(m1.member_id, 1)
    header = messages.parse_sealed_header(data, Tag.INPUT)
    for _ in range(INPUT_BURST + 50):
        directory.forward_input(session, m1, header, data, 5.0)
    assert len(inbox(organizer)) == INPUT_BURST
    assert organizer.close_request is None  # the presenter's connection survives


def test_release_only_from_the_controller_and_leaving_ends_control() -> None:
    directory, _audit, organizer, session = world()
    _one, m1 = member(directory, session, "a")
    _two, m2 = member(directory, session, "b")
    directory.from_organizer(
        session, messages.ControlState(m1.member_id, 1, m1.member_id, GRANTED), 1
    )
    inbox(organizer)
    directory.from_member(session, m2, messages.ControlRelease(), 1.0)
    assert inbox(organizer) == []
    directory.from_member(session, m1, messages.ControlRelease(), 1.0)
    assert inbox(organizer) == [messages.ControlRelease()]
    directory.leave(session, m1, 2.0)
    assert session.control.controller == 0


def test_the_presenter_cannot_ask_itself_and_joiners_cannot_ask() -> None:
    directory, _audit, _organizer, session = world()
    pending = Peer("p", lambda: None)
    joined = directory.join(pending, messages.Join(session.session_id, 0, b"\x01" * 33), 0)  # type: ignore[arg-type]
    assert isinstance(joined, tuple)
    _session, m = joined
    with pytest.raises(RemoteProtocolError):
        directory.from_member(session, m, messages.ControlRequest(m.member_id), 1.0)


# -- the organizer controlling a presenting participant ----------------------------


def participant_presents(
    directory: Directory, session: LiveSession
) -> tuple[Peer, Member, Peer, Member]:
    """Two admitted participants; the first accepted to present."""
    p1, m1 = member(directory, session, "a")
    p2, m2 = member(directory, session, "b")
    directory.from_organizer(session, messages.PresentRequest(m1.member_id), 1.0)
    accept = messages.PresentAnswer(PresentAnswerKind.ACCEPT)
    directory.from_member(session, m1, accept, 1.0)
    assert session.presenter_id == m1.member_id
    for peer in (p1, p2):
        inbox(peer)
    return p1, m1, p2, m2


def test_the_organizer_may_ask_a_presenting_participant_for_control() -> None:
    directory, audit, organizer, session = world()
    p1, m1, p2, _m2 = participant_presents(directory, session)
    inbox(organizer)
    directory.from_organizer(session, messages.ControlRequest(1), 2.0)
    assert inbox(p1) == [messages.ControlRequest(1)]
    assert audit[-1].action == "consent_asked" and audit[-1].detail["member"] == 1
    granted = messages.ControlState(1, 1, 1, GRANTED)
    directory.from_member(session, m1, granted, 2.0)
    assert inbox(organizer) == [granted] and inbox(p2) == [granted] and inbox(p1) == []
    assert (session.control.controller, session.control.grant) == (1, 1)
    data = sealed_input(1, 1)
    directory.forward_input(session, None, messages.parse_sealed_header(data, Tag.INPUT), data, 2)
    assert p1.outbox.pop() == data
    directory.from_organizer(session, messages.ControlRelease(), 2.0)
    assert inbox(p1) == [messages.ControlRelease()]


def test_another_participant_is_refused_while_a_participant_presents() -> None:
    directory, _audit, _organizer, session = world()
    p1, m1, p2, m2 = participant_presents(directory, session)
    directory.from_member(session, m2, messages.ControlRequest(m2.member_id), 2.0)
    assert inbox(p2) == [messages.ControlState(0, 0, m2.member_id, ControlReason.REFUSED)]
    assert inbox(p1) == []
    # The presenter cannot name it as controller either: no key between them.
    with pytest.raises(RemoteProtocolError):
        directory.from_member(
            session, m1, messages.ControlState(m2.member_id, 1, m2.member_id, GRANTED), 2.0
        )


def test_the_organizer_asking_while_it_presents_itself_is_refused() -> None:
    directory, _audit, organizer, session = world()
    inbox(organizer)
    directory.from_organizer(session, messages.ControlRequest(1), 1.0)
    assert inbox(organizer) == [messages.ControlState(0, 0, 1, ControlReason.REFUSED)]


def test_a_new_presenter_ends_control_at_the_relay() -> None:
    directory, _audit, organizer, session = world()
    _p1, m1, _p2, _m2 = participant_presents(directory, session)
    directory.from_member(session, m1, messages.ControlState(1, 1, 1, GRANTED), 2.0)
    directory.from_organizer(session, messages.SetPresenter(0), 3.0)
    assert session.control.controller == 0
    data = sealed_input(1, 1)
    directory.forward_input(session, None, messages.parse_sealed_header(data, Tag.INPUT), data, 3)
    assert session.control.stats.inputs_dropped == 1
    # The former presenter's "control ended" is recorded and passed on; a late
    # grant from it is not in force.
    inbox(organizer)
    ended = messages.ControlState(0, 0, 1, ControlReason.REVOKED_WINDOW)
    directory.from_member(session, m1, ended, 3.0)
    assert inbox(organizer) == [ended]
    directory.from_member(session, m1, messages.ControlState(1, 2, 1, GRANTED), 3.0)
    assert inbox(organizer) == [] and session.control.controller == 0
