"""protocol.sframe: sealing and opening messages under per-sender keys."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import (
    DecryptError,
    ErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
    ReplayError,
)
from protocol.keys import EpochRing
from protocol.sframe import (
    HEADER_SIZE,
    MAX_COUNTER,
    MIN_SEALED_SIZE,
    ReceiverCipher,
    SealedHeader,
    SenderCipher,
    derive_sender_keys,
)
from protocol.wire import FLAG_KEYFRAME, MAX_CONTROL_MESSAGE, SEALED_HEADER, Tag
from tests.mutants import mutants

SESSION = 123456789
EPOCH = 7
PRESENTER = 1


def key(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


EPOCH_KEY = key("epoch 7")


def receiver(*epochs: tuple[int, bytes], session_id: int = SESSION) -> ReceiverCipher:
    ring = EpochRing()
    for epoch, epoch_key in epochs or ((EPOCH, EPOCH_KEY),):
        ring.install(epoch, epoch_key)
    return ReceiverCipher(session_id, ring)


def sender(sender_id: int = PRESENTER) -> SenderCipher:
    return SenderCipher(SESSION, EPOCH, EPOCH_KEY, sender_id)


def test_round_trip() -> None:
    tx, rx = sender(), receiver()
    message = tx.seal(Tag.FRAME, FLAG_KEYFRAME, b"picture")
    assert len(message) == HEADER_SIZE + len(b"picture") + 16
    assert SEALED_HEADER.unpack_from(message) == (Tag.FRAME, EPOCH, PRESENTER, 0, FLAG_KEYFRAME)
    header, plaintext = rx.open(message)
    assert header == SealedHeader(Tag.FRAME, EPOCH, PRESENTER, 0, FLAG_KEYFRAME)
    assert plaintext == b"picture"


def test_counters_count_up_from_zero() -> None:
    tx, rx = sender(), receiver()
    for expected in range(5):
        assert tx.counter == expected
        header, plaintext = rx.open(tx.seal(Tag.FRAME, 0, b"%d" % expected))
        assert header.counter == expected
        assert plaintext == b"%d" % expected


def test_empty_and_buffer_plaintexts() -> None:
    tx, rx = sender(), receiver()
    message = tx.seal(Tag.FRAME, 0, b"")
    assert len(message) == MIN_SEALED_SIZE
    assert rx.open(bytes(message))[1] == b""
    big = bytes(range(256)) * 1000
    message = tx.seal(Tag.FRAME, 0, memoryview(big))
    assert rx.open(memoryview(bytes(message)))[1] == big
    message = tx.seal(Tag.FRAME, 0, memoryview(big)[10:20])
    assert rx.open(message)[1] == big[10:20]


def test_ciphertext_hides_plaintext() -> None:
    message = sender().seal(Tag.FRAME, 0, bytes(64))
    assert bytes(64) not in bytes(message)


def test_tampering_with_any_byte_fails() -> None:
    message = sender().seal(Tag.FRAME, FLAG_KEYFRAME, b"some screen content")
    for i in range(len(message)):
        for bit in (0x01, 0x80):
            tampered = bytearray(message)
            tampered[i] ^= bit
            # A fresh receiver each time, so no replay state can interfere.
            rx = receiver()
            if i == 0 and bit == 0x80:
                # 0xb0 is no message type: refused before any key is touched.
                with pytest.raises(RemoteProtocolError):
                    rx.open(tampered)
            else:
                with pytest.raises(DecryptError):
                    rx.open(tampered)


def test_truncated_or_extended_messages_fail() -> None:
    message = bytes(sender().seal(Tag.FRAME, 0, b"0123456789"))
    rx = receiver()
    for size in range(len(message)):
        with pytest.raises(RemoteProtocolError):
            rx.open(message[:size])
    with pytest.raises(DecryptError):
        rx.open(message + b"\x00")


def test_replay_is_refused() -> None:
    tx, rx = sender(), receiver()
    first = tx.seal(Tag.FRAME, 0, b"a")
    second = tx.seal(Tag.FRAME, 0, b"b")
    rx.open(first)
    with pytest.raises(ReplayError):
        rx.open(first)
    rx.open(second)
    with pytest.raises(ReplayError):
        rx.open(second)
    with pytest.raises(ReplayError):
        rx.open(first)


def test_counters_must_go_up_but_may_skip() -> None:
    tx, rx = sender(), receiver()
    messages = [tx.seal(Tag.FRAME, 0, b"%d" % i) for i in range(4)]
    rx.open(messages[1])
    with pytest.raises(ReplayError):
        rx.open(messages[0])
    rx.open(messages[3])
    with pytest.raises(ReplayError):
        rx.open(messages[2])


def test_forgeries_do_not_advance_the_counter() -> None:
    tx, rx = sender(), receiver()
    forged = SEALED_HEADER.pack(Tag.FRAME, EPOCH, PRESENTER, 2**63, 0) + bytes(32)
    with pytest.raises(DecryptError):
        rx.open(forged)
    message = tx.seal(Tag.FRAME, 0, b"genuine")
    assert rx.open(message)[1] == b"genuine"
    # A forgery for an already-known sender does not either.
    with pytest.raises(DecryptError):
        rx.open(forged)
    assert rx.open(tx.seal(Tag.FRAME, 0, b"next"))[1] == b"next"


def test_senders_have_their_own_keys_salts_and_counters() -> None:
    key1, salt1 = derive_sender_keys(EPOCH_KEY, 1)
    key2, salt2 = derive_sender_keys(EPOCH_KEY, 2)
    assert key1 != key2
    assert salt1 != salt2
    assert len(key1) == 32
    assert len(salt1) == 12
    one, two, rx = sender(1), sender(2), receiver()
    from_one = one.seal(Tag.FRAME, 0, b"same plaintext")
    from_two = two.seal(Tag.FRAME, 0, b"same plaintext")
    assert from_one[HEADER_SIZE:] != from_two[HEADER_SIZE:]
    assert rx.open(from_one)[0].sender == 1
    assert rx.open(from_two)[0].sender == 2  # counter 0 again: separate replay state


def test_claiming_another_sender_fails() -> None:
    message = bytearray(sender(2).seal(Tag.FRAME, 0, b"x"))
    struct.pack_into(">H", message, 5, 3)
    with pytest.raises(DecryptError):
        receiver().open(message)


def test_wrong_session_fails() -> None:
    message = sender().seal(Tag.FRAME, 0, b"x")
    with pytest.raises(DecryptError):
        receiver(session_id=SESSION + 1).open(message)


def test_wrong_epoch_key_fails() -> None:
    message = sender().seal(Tag.FRAME, 0, b"x")
    with pytest.raises(DecryptError):
        receiver((EPOCH, key("another key"))).open(message)


def test_unknown_epoch_fails() -> None:
    message = sender().seal(Tag.FRAME, 0, b"x")
    with pytest.raises(DecryptError, match="unknown epoch"):
        receiver((EPOCH + 1, EPOCH_KEY)).open(message)


def test_previous_epoch_opens_after_one_rekey_but_not_two() -> None:
    ring = EpochRing()
    rx = ReceiverCipher(SESSION, ring)
    tx = SenderCipher(SESSION, 1, key("e1"), PRESENTER)
    ring.install(1, key("e1"))
    rx.open(tx.seal(Tag.FRAME, 0, b"epoch 1"))
    late_1 = tx.seal(Tag.FRAME, 0, b"epoch 1, late")

    tx.rekey(2, key("e2"))
    ring.install(2, key("e2"))
    assert tx.counter == 0
    assert rx.open(tx.seal(Tag.FRAME, 0, b"epoch 2"))[0].epoch == 2
    late_2 = tx.seal(Tag.FRAME, 0, b"epoch 2, late")
    assert rx.open(late_1) == (SealedHeader(Tag.FRAME, 1, PRESENTER, 1, 0), b"epoch 1, late")

    tx.rekey(3, key("e3"))
    ring.install(3, key("e3"))
    assert rx.open(tx.seal(Tag.FRAME, 0, b"epoch 3"))[0].epoch == 3
    assert rx.open(late_2)[1] == b"epoch 2, late"
    with pytest.raises(DecryptError, match="unknown epoch"):
        rx.open(SenderCipher(SESSION, 1, key("e1"), 2).seal(Tag.FRAME, 0, b"too old"))


def test_receiver_forgets_dropped_epochs() -> None:
    ring = EpochRing()
    rx = ReceiverCipher(SESSION, ring)
    for epoch in range(1, 10):
        ring.install(epoch, key(f"e{epoch}"))
        for sender_id in (1, 2, 3):
            rx.open(
                SenderCipher(SESSION, epoch, key(f"e{epoch}"), sender_id).seal(Tag.FRAME, 0, b"")
            )
        assert len(rx._senders) <= 2
        assert all(ring.key_for(cached) is not None for cached in rx._senders)


def test_rekey_must_move_forward() -> None:
    tx = sender()
    with pytest.raises(LocalProtocolError):
        tx.rekey(EPOCH, key("other"))
    with pytest.raises(LocalProtocolError):
        tx.rekey(EPOCH - 1, key("other"))
    tx.rekey(EPOCH + 1, key("other"))
    assert tx.epoch == EPOCH + 1


def test_counter_never_wraps() -> None:
    tx, rx = sender(), receiver()
    tx._counter = MAX_COUNTER
    header, _ = rx.open(tx.seal(Tag.FRAME, 0, b"last"))
    assert header.counter == 2**64 - 2
    with pytest.raises(LocalProtocolError):
        tx.seal(Tag.FRAME, 0, b"one too many")
    tx.rekey(EPOCH + 1, key("fresh"))
    assert tx.seal(Tag.FRAME, 0, b"fine")[7:15] == bytes(8)


def test_seal_refuses_bad_arguments() -> None:
    tx = sender()
    with pytest.raises(LocalProtocolError):
        tx.seal(Tag.FRAME, 256, b"")
    with pytest.raises(LocalProtocolError):
        tx.seal(Tag.FRAME, -1, b"")
    with pytest.raises(LocalProtocolError):
        tx.seal(0x99, 0, b"")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        tx.seal(Tag.ERROR, 0, bytes(MAX_CONTROL_MESSAGE))
    assert tx.counter == 0


@pytest.mark.parametrize(
    ("session_id", "epoch", "epoch_key", "sender_id"),
    [
        (1, EPOCH, EPOCH_KEY, 1),
        (SESSION, -1, EPOCH_KEY, 1),
        (SESSION, 2**32, EPOCH_KEY, 1),
        (SESSION, EPOCH, bytes(16), 1),
        (SESSION, EPOCH, EPOCH_KEY, 0),
        (SESSION, EPOCH, EPOCH_KEY, 2**16),
    ],
)
def test_sender_refuses_bad_arguments(
    session_id: int, epoch: int, epoch_key: bytes, sender_id: int
) -> None:
    with pytest.raises(LocalProtocolError):
        SenderCipher(session_id, epoch, epoch_key, sender_id)


def test_control_sized_cap_for_other_tags() -> None:
    rx = receiver()
    message = SEALED_HEADER.pack(Tag.ERROR, EPOCH, PRESENTER, 0, 0) + bytes(MAX_CONTROL_MESSAGE)
    with pytest.raises(RemoteProtocolError) as info:
        rx.open(message)
    assert info.value.code == ErrorCode.MESSAGE_TOO_LARGE


def test_unknown_tag_is_refused() -> None:
    message = SEALED_HEADER.pack(0xEE, EPOCH, PRESENTER, 0, 0) + bytes(16)
    with pytest.raises(RemoteProtocolError, match="unknown message tag"):
        receiver().open(message)


_GENUINE = bytes(sender().seal(Tag.FRAME, 0, b"genuine frame"))


@st.composite
def sealed_like(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, headers that name a known epoch, and mutated genuine messages."""
    kind = draw(st.sampled_from(["any", "header", "mutant"]))
    if kind == "any":
        return draw(st.binary(max_size=200))
    if kind == "header":
        header = SEALED_HEADER.pack(
            draw(st.sampled_from(list(Tag))),
            draw(st.sampled_from([EPOCH, EPOCH - 1, EPOCH + 1])),
            draw(st.integers(0, 2**16 - 1)),
            draw(st.integers(0, 2**64 - 1)),
            draw(st.integers(0, 255)),
        )
        return header + draw(st.binary(max_size=100))
    return draw(mutants(_GENUINE))


@settings(max_examples=500, deadline=None)
@given(st.lists(sealed_like(), min_size=1, max_size=5))
def test_open_gives_a_message_or_remote_protocol_error(messages: list[bytes]) -> None:
    rx = receiver()
    for message in messages:
        try:
            header, plaintext = rx.open(message)
        except RemoteProtocolError:
            continue
        assert isinstance(header, SealedHeader)
        assert isinstance(plaintext, bytes)
