"""The organizer's admission decisions and key schedule, with real SPAKE2."""

from __future__ import annotations

import os

import pytest

from host_app.organizer import MAX_FAILURES, REKEY_INTERVAL, Organizer
from protocol import messages
from protocol.errors import RemoteProtocolError
from protocol.keys import EpochRing, unwrap_epoch_key
from protocol.pake import JoinerHandshake, normalize_password
from protocol.sframe import ReceiverCipher
from protocol.wire import Credential, Tag

SESSION = 246813579
PASSWORD = normalize_password("abcd-efgh-jkmn")
LINK = b"L" * 32


def organizer() -> Organizer:
    return Organizer(
        SESSION, {Credential.PASSWORD: PASSWORD, Credential.LINK: LINK}, os.urandom, 0.0
    )


def attempt(
    org: Organizer,
    member: int,
    secret: bytes,
    credential: Credential = Credential.PASSWORD,
    now: float = 0.0,
) -> tuple[messages.Message, JoinerHandshake]:
    joiner = JoinerHandshake(SESSION, secret, os.urandom)
    reply = org.on_join_request(messages.JoinRequest(member, credential, joiner.start()), now)
    if not isinstance(reply, messages.PakeReply):
        return reply, joiner
    tag = joiner.finish(member, reply.pake)
    return org.on_confirm(messages.PakeConfirm(member, tag)), joiner


def test_the_right_password_is_admitted_with_the_current_epoch_key() -> None:
    org = organizer()
    answer, joiner = attempt(org, 2, PASSWORD)
    assert isinstance(answer, messages.Admit)
    pairwise = joiner.verify_admit(answer.tag)
    ring = EpochRing()
    ring.install(answer.epoch, unwrap_epoch_key(pairwise, SESSION, 2, answer.epoch, answer.wrapped))
    sealed = org.cipher.seal(Tag.FRAME, 0, b"picture")
    assert ReceiverCipher(SESSION, ring).open(sealed)[1] == b"picture"
    assert org.members == [2]


def test_the_link_secret_is_admitted_too() -> None:
    answer, _ = attempt(organizer(), 2, LINK, Credential.LINK)
    assert isinstance(answer, messages.Admit)


def test_a_wrong_password_is_rejected_and_the_joiner_learns_nothing() -> None:
    org = organizer()
    answer, joiner = attempt(org, 2, normalize_password("wrong-password"))
    assert answer == messages.Reject(2, messages.RejectReason.CONFIRM_FAILED)
    assert org.members == []
    with pytest.raises(RemoteProtocolError):
        joiner.verify_admit(b"\x00" * 32)


def test_after_max_failures_even_the_right_password_is_refused() -> None:
    org = organizer()
    for member in range(2, 2 + MAX_FAILURES):
        attempt(org, member, b"guess%d" % member)
    assert org.locked
    answer, _ = attempt(org, 100, PASSWORD)
    assert answer == messages.Reject(100, messages.RejectReason.LOCKED)


def test_abandoned_attempts_count_as_failures() -> None:
    org = organizer()
    for member in range(2, 2 + MAX_FAILURES):
        joiner = JoinerHandshake(SESSION, PASSWORD, os.urandom)
        org.on_join_request(messages.JoinRequest(member, Credential.PASSWORD, joiner.start()), 0.0)
    assert not org.locked
    org.tick(60.0)
    assert org.locked


def test_a_leaving_member_gets_no_key_for_the_next_epoch() -> None:
    org = organizer()
    stay, _ = attempt(org, 2, PASSWORD)
    leave, _ = attempt(org, 3, PASSWORD)
    assert isinstance(stay, messages.Admit) and isinstance(leave, messages.Admit)
    updates = org.on_member_left(3, 10.0)
    assert [(u.member_id, u.epoch) for u in updates if isinstance(u, messages.KeyUpdate)] == [
        (2, 2)
    ]
    assert org.cipher.epoch == 2


def test_epochs_rotate_on_schedule() -> None:
    org = organizer()
    attempt(org, 2, PASSWORD)
    assert org.tick(REKEY_INTERVAL - 1) == []
    assert len(org.tick(REKEY_INTERVAL + 1)) == 1
    assert org.epoch == 2


def test_a_lying_relay_cannot_crash_the_organizer_with_bad_member_ids() -> None:
    org = organizer()
    joiner = JoinerHandshake(SESSION, PASSWORD, os.urandom)
    pake = joiner.start()
    assert isinstance(
        org.on_join_request(messages.JoinRequest(1, Credential.PASSWORD, pake), 0), messages.Reject
    )
    assert isinstance(
        org.on_join_request(messages.JoinRequest(2, Credential.PASSWORD, pake), 0),
        messages.PakeReply,
    )
    assert isinstance(
        org.on_join_request(messages.JoinRequest(2, Credential.PASSWORD, pake), 0), messages.Reject
    )
    assert isinstance(org.on_confirm(messages.PakeConfirm(9, b"\x00" * 32)), messages.Reject)


def test_a_malformed_pake_message_is_a_failed_attempt() -> None:
    org = organizer()
    answer = org.on_join_request(messages.JoinRequest(2, Credential.PASSWORD, b"\x00" * 33), 0)
    assert answer == messages.Reject(2, messages.RejectReason.CONFIRM_FAILED)
