"""The relay's session directory, as pure logic with time as numbers."""

from __future__ import annotations

import os

import pytest

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.pake import JoinerHandshake
from protocol.wire import FLAG_KEYFRAME, SEALED_HEADER, Credential, Tag
from relay.peer import Peer
from relay.sessions import (
    ADMISSION_TIMEOUT,
    AuditRecord,
    Decoy,
    Directory,
    DirectoryConfig,
    JoinState,
)

PAKE = b"\x01" * 33
TAG = b"\x02" * 32


class World:
    def __init__(self, **config: float) -> None:
        self.audit: list[AuditRecord] = []
        ids = iter([123456789, 123456789, 987654321, 555555555])
        self.directory = Directory(
            DirectoryConfig(**config),  # type: ignore[arg-type]
            self.audit.append,
            new_session_id=lambda: next(ids),
        )

    def organizer(self, now: float = 0.0) -> tuple[Peer, int]:
        peer = Peer("10.0.0.1", lambda: None)
        session = self.directory.create_session(peer, "alice", 0, now)
        return peer, session.session_id


def inbox(peer: Peer) -> list[messages.Message]:
    out = []
    while (data := peer.outbox.pop()) is not None:
        out.append(messages.parse(data))
    return out


def admit(world: World, session_id: int, address: str = "10.0.0.2", now: float = 0.0) -> Peer:
    d = world.directory
    joiner = Peer(address, lambda: None)
    joined = d.join(joiner, messages.Join(session_id, Credential.PASSWORD, PAKE), now)
    assert isinstance(joined, tuple)
    session, member = joined
    d.from_organizer(session, messages.PakeReply(member.member_id, PAKE), now)
    d.from_member(session, member, messages.PakeConfirm(7, TAG), now)
    d.from_organizer(session, messages.Admit(member.member_id, TAG, 1, b"w" * 60), now)
    assert member.state is JoinState.ADMITTED
    return joiner


def frame(sender: int, *, key: bool, body: bytes = b"c" * 32) -> bytes:
    return SEALED_HEADER.pack(Tag.FRAME, 1, sender, 0, FLAG_KEYFRAME if key else 0) + body


def test_session_ids_are_nine_digits_and_unique_among_live_sessions() -> None:
    world = World()
    _, first = world.organizer()
    _, second = world.organizer()
    assert first == 123456789 and second == 987654321  # the duplicate draw was skipped
    assert [r.action for r in world.audit] == ["session_started", "session_started"]


def test_admission_passes_each_message_to_the_other_side_in_order() -> None:
    world = World()
    org, session_id = world.organizer()
    d = world.directory
    joiner = Peer("10.0.0.2", lambda: None)
    joined = d.join(joiner, messages.Join(session_id, Credential.LINK, PAKE), 1.0)
    assert isinstance(joined, tuple)
    session, member = joined
    assert inbox(org) == [messages.JoinRequest(2, Credential.LINK, PAKE)]
    d.from_organizer(session, messages.PakeReply(2, b"r" * 33), 1.1)
    assert inbox(joiner) == [messages.PakeReply(2, b"r" * 33)]
    d.from_member(session, member, messages.PakeConfirm(999, TAG), 1.2)
    assert inbox(org) == [messages.PakeConfirm(2, TAG)]  # member id set by the relay
    d.from_organizer(session, messages.Admit(2, TAG, 1, b"w" * 60), 1.3)
    assert inbox(joiner) == [messages.Admit(2, TAG, 1, b"w" * 60)]
    assert inbox(org) == [messages.MemberJoined(2, "10.0.0.2"), messages.KeyframeRequest()]


def test_messages_out_of_order_are_refused_naming_the_state() -> None:
    world = World()
    _, session_id = world.organizer()
    d = world.directory
    joined = d.join(
        Peer("a", lambda: None), messages.Join(session_id, Credential.PASSWORD, PAKE), 0
    )
    assert isinstance(joined, tuple)
    session, member = joined
    with pytest.raises(
        RemoteProtocolError, match=r"Admit is not allowed in state JoinState\.AWAIT_REPLY"
    ):
        d.from_organizer(session, messages.Admit(2, TAG, 1, b"w" * 60), 0)
    with pytest.raises(RemoteProtocolError, match="AWAIT_REPLY") as info:
        d.from_member(session, member, messages.PakeConfirm(2, TAG), 0)
    assert info.value.code is ErrorCode.UNEXPECTED


def test_unknown_id_and_rejected_password_close_alike_after_the_floor() -> None:
    world = World(failure_floor=1.5)
    _, session_id = world.organizer()
    d = world.directory
    stranger = Peer("10.0.0.3", lambda: None)
    joiner = JoinerHandshake(111111111, b"any password", os.urandom)
    decoy = d.join(stranger, messages.Join(111111111, Credential.PASSWORD, joiner.start()), 10.0)
    assert isinstance(decoy, Decoy)
    # Led on like a real joiner: a genuine-looking PakeReply, then the failure.
    [reply] = inbox(stranger)
    assert isinstance(reply, messages.PakeReply)
    tag = joiner.finish(reply.member_id, reply.pake)
    assert stranger.close_request is None
    d.from_decoy(stranger, decoy, messages.PakeConfirm(reply.member_id, tag), 10.2)
    guesser = Peer("10.0.0.4", lambda: None)
    joined = d.join(guesser, messages.Join(session_id, Credential.PASSWORD, PAKE), 10.0)
    assert isinstance(joined, tuple)
    session, member = joined
    d.from_organizer(session, messages.PakeReply(member.member_id, PAKE), 10.1)
    d.from_member(session, member, messages.PakeConfirm(7, TAG), 10.2)
    d.from_organizer(
        session, messages.Reject(member.member_id, messages.RejectReason.CONFIRM_FAILED), 10.3
    )
    assert stranger.close_request == guesser.close_request
    assert stranger.close_request is not None
    assert stranger.close_request.code is ErrorCode.ADMISSION_FAILED
    assert stranger.close_request.not_before == 11.5
    assert member.member_id not in session.members


def test_joins_are_rate_limited_per_address_and_per_session() -> None:
    world = World(joins_per_address_burst=2, joins_per_session_burst=3)
    _, session_id = world.organizer()
    d = world.directory

    def attempt(address: str) -> Peer:
        peer = Peer(address, lambda: None)
        d.join(peer, messages.Join(session_id, Credential.PASSWORD, PAKE), 0.0)
        return peer

    assert attempt("a").close_request is None
    assert attempt("a").close_request is None
    limited = attempt("a").close_request
    assert limited is not None and limited.code is ErrorCode.RATE_LIMITED
    assert attempt("b").close_request is None  # third join at this session
    limited = attempt("c").close_request
    assert limited is not None and limited.code is ErrorCode.RATE_LIMITED


def test_frames_fan_out_as_one_object_to_admitted_members_only() -> None:
    world = World()
    org, session_id = world.organizer()
    session = world.directory.sessions[session_id]
    one, two = admit(world, session_id, "a"), admit(world, session_id, "b")
    pending = Peer("c", lambda: None)
    world.directory.join(pending, messages.Join(session_id, Credential.PASSWORD, PAKE), 0)
    inbox(one), inbox(two), inbox(pending), inbox(org)
    data = frame(1, key=True)
    world.directory.forward_frame(session, 1, messages.parse_sealed_header(data), data, 0)
    got_one, got_two = one.outbox.pop(), two.outbox.pop()
    assert got_one is data and got_two is data
    assert pending.outbox.pop() is None


def test_only_the_presenters_own_frames_are_forwarded() -> None:
    world = World()
    _, session_id = world.organizer()
    session = world.directory.sessions[session_id]
    forged = frame(5, key=True)
    with pytest.raises(RemoteProtocolError) as info:
        world.directory.forward_frame(session, 1, messages.parse_sealed_header(forged), forged, 0)
    assert info.value.code is ErrorCode.NOT_ALLOWED
    from_member = frame(2, key=True)  # a member who does not present: dropped quietly
    world.directory.forward_frame(
        session, 2, messages.parse_sealed_header(from_member), from_member, 0
    )
    assert session.frames_refused == 1


def test_a_lagging_viewer_triggers_one_keyframe_request_per_interval() -> None:
    world = World()
    org, session_id = world.organizer()
    session = world.directory.sessions[session_id]
    admit(world, session_id)
    inbox(org)
    key = frame(1, key=True)
    world.directory.forward_frame(session, 1, messages.parse_sealed_header(key), key, 1.0)
    delta = frame(1, key=False)
    for i in range(20):  # the viewer reads nothing
        world.directory.forward_frame(
            session, 1, messages.parse_sealed_header(delta), delta, 1.0 + i * 0.001
        )
    assert inbox(org) == [messages.KeyframeRequest()]


def test_each_admission_asks_for_a_key_frame_even_within_the_interval() -> None:
    world = World()
    org, session_id = world.organizer()
    admit(world, session_id, "10.0.0.2", now=1.0)
    admit(world, session_id, "10.0.0.3", now=1.0)  # a still screen sends nothing else
    requests = [m for m in inbox(org) if isinstance(m, messages.KeyframeRequest)]
    assert len(requests) == 2


def test_a_member_leaving_is_told_to_the_organizer_and_forgotten() -> None:
    world = World()
    org, session_id = world.organizer()
    session = world.directory.sessions[session_id]
    joiner = admit(world, session_id)
    inbox(org)
    member = session.members[2]
    world.directory.leave(session, member, 5.0)
    assert inbox(org) == [messages.MemberLeft(2)]
    assert session.members == {}
    assert joiner.close_request is None
    assert world.audit[-1].action == "left"


def test_the_organizer_leaving_ends_the_session_for_everyone() -> None:
    world = World()
    _org, session_id = world.organizer()
    session = world.directory.sessions[session_id]
    joiner = admit(world, session_id)
    inbox(joiner)
    world.directory.leave(session, None, 9.0)
    assert session_id not in world.directory.sessions
    ended = inbox(joiner)
    assert isinstance(ended[0], messages.SessionEnded)
    assert joiner.close_request is not None and joiner.close_request.code is None
    assert world.audit[-1].action == "session_ended"
    assert world.audit[-1].detail["reason"] == "organizer disconnected"


def test_admissions_that_take_too_long_fail() -> None:
    world = World()
    org, session_id = world.organizer()
    joiner = Peer("a", lambda: None)
    world.directory.join(joiner, messages.Join(session_id, Credential.PASSWORD, PAKE), 0.0)
    inbox(org)
    world.directory.tick(ADMISSION_TIMEOUT - 1)
    assert joiner.close_request is None
    world.directory.tick(ADMISSION_TIMEOUT + 1)
    assert joiner.close_request is not None
    assert joiner.close_request.code is ErrorCode.ADMISSION_FAILED
    assert inbox(org) == [messages.MemberLeft(2)]


def test_a_full_session_refuses_the_next_admission_clearly() -> None:
    world = World(max_participants=1)
    _org, session_id = world.organizer()
    admit(world, session_id, "a")
    d = world.directory
    late = Peer("b", lambda: None)
    joined = d.join(late, messages.Join(session_id, Credential.PASSWORD, PAKE), 0)
    assert isinstance(joined, tuple)
    session, member = joined
    d.from_organizer(session, messages.PakeReply(member.member_id, PAKE), 0)
    d.from_member(session, member, messages.PakeConfirm(7, TAG), 0)
    d.from_organizer(session, messages.Admit(member.member_id, TAG, 1, b"w" * 60), 0)
    assert late.close_request is not None
    assert late.close_request.code is ErrorCode.NOT_ALLOWED
    assert late.close_request.text == (
        "The session is full: this relay's policy allows at most 1 participants."
    )


def test_a_decoy_that_never_confirms_times_out() -> None:
    world = World()
    stranger = Peer("10.0.0.3", lambda: None)
    joiner = JoinerHandshake(111111111, b"pw", os.urandom)
    world.directory.join(stranger, messages.Join(111111111, Credential.PASSWORD, joiner.start()), 0)
    world.directory.tick(ADMISSION_TIMEOUT + 1)
    assert stranger.close_request is not None
    assert stranger.close_request.code is ErrorCode.ADMISSION_FAILED


def test_a_malformed_pake_to_an_unknown_session_fails_at_the_floor() -> None:
    world = World(failure_floor=2.0)
    stranger = Peer("10.0.0.3", lambda: None)
    assert (
        world.directory.join(stranger, messages.Join(111111111, Credential.PASSWORD, PAKE), 5.0)
        is None
    )
    assert stranger.close_request is not None
    assert stranger.close_request.not_before == 7.0
