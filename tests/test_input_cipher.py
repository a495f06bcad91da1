"""protocol.sframe's Input sealing: InputSealer, InputOpener and input_keys."""

from __future__ import annotations

import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import messages
from protocol.errors import (
    DecryptError,
    ErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
    ReplayError,
)
from protocol.input_events import InputBatch, Key, PointerMove, encode_batch, parse_batch
from protocol.keys import EpochRing
from protocol.sframe import (
    HEADER_SIZE,
    MAX_COUNTER,
    MIN_SEALED_SIZE,
    InputOpener,
    InputSealer,
    ReceiverCipher,
    SealedHeader,
    SenderCipher,
    derive_sender_keys,
    input_keys,
)
from protocol.wire import MAX_CONTROL_MESSAGE, SEALED_HEADER, Tag
from tests.mutants import mutants

SESSION = 123456789
CONTROLLER = 3


def key(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


PAIRWISE = key("pairwise of member 3")
BATCH = encode_batch(InputBatch(1_700_000_000_000_000_000, (PointerMove(10, 20), Key(True, "a"))))


def sealer(pairwise: bytes = PAIRWISE, sender_id: int = CONTROLLER) -> InputSealer:
    return InputSealer(SESSION, pairwise, sender_id)


def opener(
    pairwise: bytes = PAIRWISE, sender_id: int = CONTROLLER, session_id: int = SESSION
) -> InputOpener:
    return InputOpener(session_id, pairwise, sender_id)


def test_round_trip() -> None:
    tx, rx = sealer(), opener()
    message = tx.seal(1, BATCH)
    assert len(message) == HEADER_SIZE + len(BATCH) + 16
    assert SEALED_HEADER.unpack_from(message) == (Tag.INPUT, 1, CONTROLLER, 0, 0)
    header, plaintext = rx.open(message)
    assert header == SealedHeader(Tag.INPUT, 1, CONTROLLER, 0, 0)
    assert plaintext == BATCH
    assert parse_batch(plaintext).events[1] == Key(True, "a")


def test_what_the_sealer_builds_parses_as_an_input() -> None:
    message = bytes(sealer().seal(7, BATCH))
    assert messages.parse_sealed_header(message, Tag.INPUT) == (7, CONTROLLER, 0, 0)
    parsed = messages.parse(message)
    assert isinstance(parsed, messages.Input)
    assert (parsed.grant, parsed.sender, parsed.counter, parsed.flags) == (7, CONTROLLER, 0, 0)
    assert messages.encode(parsed) == message


def test_counters_count_up_per_grant_and_restart_at_zero() -> None:
    tx, rx = sealer(), opener()
    for grant in (1, 2, 5):
        for expected in range(3):
            header, _ = rx.open(tx.seal(grant, BATCH))
            assert (header.epoch, header.counter) == (grant, expected)
            assert (tx.grant, tx.counter) == (grant, expected + 1)


def test_a_new_grant_never_reuses_a_nonce() -> None:
    """Counter 0 of grant 2 must not repeat the keystream of counter 0 of grant 1."""
    tx = sealer()
    zeros = bytes(64)
    first = tx.seal(1, zeros)
    second = tx.seal(2, zeros)
    assert first[HEADER_SIZE : HEADER_SIZE + 64] != second[HEADER_SIZE : HEADER_SIZE + 64]
    # Written out: the grant fills the nonce's first four bytes.
    input_key, salt = input_keys(PAIRWISE, CONTROLLER)
    nonce = bytes(a ^ b for a, b in zip(salt, struct.pack(">IQ", 2, 0), strict=True))
    aad = b"screenrelay/1" + struct.pack(">I", SESSION) + bytes(second[:HEADER_SIZE])
    assert AESGCM(input_key).decrypt(nonce, bytes(second[HEADER_SIZE:]), aad) == zeros


def test_input_keys() -> None:
    input_key, salt = input_keys(PAIRWISE, CONTROLLER)
    assert (len(input_key), len(salt)) == (32, 12)
    assert input_keys(PAIRWISE, CONTROLLER + 1) != (input_key, salt)
    assert input_keys(key("another pairwise"), CONTROLLER) != (input_key, salt)
    # Not the frame keys of an epoch key that happens to equal the pairwise key.
    assert derive_sender_keys(PAIRWISE, CONTROLLER) != (input_key, salt)
    for bad in (0, 2**16):
        with pytest.raises(LocalProtocolError):
            input_keys(PAIRWISE, bad)
    with pytest.raises(LocalProtocolError):
        input_keys(bytes(16), CONTROLLER)


def test_tampering_with_any_byte_fails() -> None:
    message = sealer().seal(4, BATCH)
    for i in range(len(message)):
        for bit in (0x01, 0x80):
            tampered = bytearray(message)
            tampered[i] ^= bit
            with pytest.raises(RemoteProtocolError):
                opener().open(tampered)
    assert opener().open(message)[1] == BATCH


def test_truncated_or_extended_messages_fail() -> None:
    message = bytes(sealer().seal(1, BATCH))
    rx = opener()
    for size in range(len(message)):
        with pytest.raises(RemoteProtocolError):
            rx.open(message[:size])
    with pytest.raises(DecryptError):
        rx.open(message + b"\x00")
    assert rx.open(message)[1] == BATCH


def test_replay_is_refused() -> None:
    tx, rx = sealer(), opener()
    first, second = tx.seal(1, b"a"), tx.seal(1, b"b")
    rx.open(first)
    with pytest.raises(ReplayError):
        rx.open(first)
    rx.open(second)
    for old in (first, second):
        with pytest.raises(ReplayError):
            rx.open(old)


def test_counters_may_skip_but_not_go_back() -> None:
    tx, rx = sealer(), opener()
    sealed = [tx.seal(1, b"%d" % i) for i in range(4)]
    rx.open(sealed[1])
    with pytest.raises(ReplayError):
        rx.open(sealed[0])
    rx.open(sealed[3])
    with pytest.raises(ReplayError):
        rx.open(sealed[2])


def test_grant_going_backwards_is_refused() -> None:
    tx, rx = sealer(), opener()
    late = tx.seal(1, b"sent under grant 1")
    rx.open(tx.seal(2, b"grant 2"))
    with pytest.raises(ReplayError, match="grant 1"):
        rx.open(late)
    # A new grant's counter 0 is fine after a high counter in the old grant.
    tx._counter = 1000
    rx.open(tx.seal(2, b"counter 1000"))
    assert rx.open(tx.seal(3, b"grant 3"))[0].counter == 0


def test_sealer_refuses_an_older_grant() -> None:
    tx = sealer()
    tx.seal(5, b"")
    with pytest.raises(LocalProtocolError, match="older"):
        tx.seal(4, b"")
    assert (tx.grant, tx.counter) == (5, 1)


def test_wrong_sender_fails() -> None:
    message = sealer(sender_id=4).seal(1, BATCH)
    with pytest.raises(DecryptError, match="sender 4"):
        opener().open(message)
    # Rewriting the sender field to the expected one does not authenticate.
    forged = bytearray(message)
    struct.pack_into(">H", forged, 5, CONTROLLER)
    with pytest.raises(DecryptError, match="authenticate"):
        opener().open(forged)


def test_relay_forged_input_without_the_pairwise_key_fails() -> None:
    """The relay knows the session, the header and the epoch key of frames,
    but not the pairwise key: nothing it can build opens."""
    epoch_key = key("epoch key the relay never has, but suppose it did")
    rx = opener()
    candidates: list[bytes | bytearray] = [
        # Sealed with a guessed key.
        sealer(pairwise=key("guess")).seal(1, BATCH),
        # Sealed with the frame keys of the epoch, relabelled as Input.
        SenderCipher(SESSION, 1, epoch_key, CONTROLLER).seal(Tag.INPUT, 0, BATCH),
        # A header with random bytes after it.
        SEALED_HEADER.pack(Tag.INPUT, 1, CONTROLLER, 0, 0) + key("noise") + bytes(16),
        # A genuine message of another session, replayed here.
        InputSealer(SESSION + 1, PAIRWISE, CONTROLLER).seal(1, BATCH),
    ]
    for forged in candidates:
        with pytest.raises(DecryptError):
            rx.open(forged)
    # None of them advanced the opener: the genuine counter 0 still opens.
    assert rx.open(sealer().seal(1, BATCH))[1] == BATCH


def test_forgeries_do_not_advance_the_state() -> None:
    tx, rx = sealer(), opener()
    forged = SEALED_HEADER.pack(Tag.INPUT, 2**32 - 1, CONTROLLER, 2**63, 0) + bytes(32)
    with pytest.raises(DecryptError):
        rx.open(forged)
    assert rx.open(tx.seal(1, b"genuine"))[1] == b"genuine"
    with pytest.raises(DecryptError):
        rx.open(forged)
    assert rx.open(tx.seal(1, b"next"))[1] == b"next"


def test_frame_receivers_cannot_open_input() -> None:
    """An Input never opens under any epoch key: other members cannot read it."""
    ring = EpochRing()
    ring.install(1, PAIRWISE)  # even an epoch key equal to the pairwise key
    with pytest.raises(DecryptError):
        ReceiverCipher(SESSION, ring).open(sealer().seal(1, BATCH))


@pytest.mark.parametrize(
    ("tag", "grant", "flags", "match"),
    [
        (Tag.FRAME, 1, 0, "expected a sealed INPUT"),
        (Tag.ERROR, 1, 0, "expected a sealed INPUT"),
        (Tag.INPUT, 0, 0, "grant"),
        (Tag.INPUT, 1, 1, "flags"),
    ],
)
def test_malformed_headers_are_refused_before_decrypting(
    tag: Tag, grant: int, flags: int, match: str
) -> None:
    message = SEALED_HEADER.pack(tag, grant, CONTROLLER, 0, flags) + bytes(16)
    with pytest.raises(RemoteProtocolError, match=match) as info:
        opener().open(message)
    assert type(info.value) is RemoteProtocolError


def test_input_cap_is_the_control_cap() -> None:
    tx = sealer()
    largest = tx.seal(1, bytes(MAX_CONTROL_MESSAGE - MIN_SEALED_SIZE))
    assert len(largest) == MAX_CONTROL_MESSAGE
    assert opener().open(largest)[0].counter == 0
    with pytest.raises(LocalProtocolError, match="over its cap"):
        tx.seal(1, bytes(MAX_CONTROL_MESSAGE - MIN_SEALED_SIZE + 1))
    assert tx.counter == 1
    oversized = SEALED_HEADER.pack(Tag.INPUT, 1, CONTROLLER, 5, 0) + bytes(MAX_CONTROL_MESSAGE)
    with pytest.raises(RemoteProtocolError) as info:
        opener().open(oversized)
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE


def test_counter_never_wraps() -> None:
    tx, rx = sealer(), opener()
    tx.seal(1, b"")
    tx._counter = MAX_COUNTER
    assert rx.open(tx.seal(1, b"last"))[0].counter == MAX_COUNTER
    with pytest.raises(LocalProtocolError, match="exhausted"):
        tx.seal(1, b"one too many")
    assert rx.open(tx.seal(2, b"a new grant"))[0].counter == 0


@pytest.mark.parametrize("grant", [0, -1, 2**32, True])
def test_seal_refuses_bad_grants(grant: int) -> None:
    tx = sealer()
    with pytest.raises(LocalProtocolError):
        tx.seal(grant, b"")
    assert (tx.grant, tx.counter) == (0, 0)


@pytest.mark.parametrize("cls", [InputSealer, InputOpener])
@pytest.mark.parametrize(
    ("session_id", "pairwise", "sender_id"),
    [(1, PAIRWISE, 3), (SESSION, bytes(31), 3), (SESSION, PAIRWISE, 0), (SESSION, PAIRWISE, 2**16)],
)
def test_constructors_refuse_bad_arguments(
    cls: type[InputSealer | InputOpener], session_id: int, pairwise: bytes, sender_id: int
) -> None:
    with pytest.raises(LocalProtocolError):
        cls(session_id, pairwise, sender_id)


def test_the_organizer_may_be_a_controller() -> None:
    """Member 1 controls a participant's screen under that participant's pairwise key."""
    tx, rx = sealer(sender_id=1), opener(sender_id=1)
    assert rx.open(tx.seal(1, BATCH))[0].sender == 1


_GENUINE = bytes(sealer().seal(3, BATCH))


@st.composite
def input_like(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, plausible headers, and mutated genuine messages."""
    kind = draw(st.sampled_from(["any", "header", "mutant"]))
    if kind == "any":
        return draw(st.binary(max_size=120))
    if kind == "header":
        header = SEALED_HEADER.pack(
            draw(st.sampled_from([Tag.INPUT, Tag.INPUT, Tag.FRAME, 0xEE])),
            draw(st.sampled_from([0, 1, 3, 4, 2**32 - 1])),
            draw(st.sampled_from([0, CONTROLLER, CONTROLLER + 1])),
            draw(st.integers(0, 2**64 - 1)),
            draw(st.sampled_from([0, 0, 1, 0xFF])),
        )
        return header + draw(st.binary(max_size=60))
    return draw(mutants(_GENUINE))


@settings(max_examples=500, deadline=None)
@given(st.lists(input_like(), min_size=1, max_size=5))
def test_open_gives_a_message_or_remote_protocol_error(sealed: list[bytes]) -> None:
    rx = opener()
    for message in sealed:
        try:
            header, plaintext = rx.open(message)
        except RemoteProtocolError:
            continue
        assert message == _GENUINE
        assert header == SealedHeader(Tag.INPUT, 3, CONTROLLER, 0, 0)
        assert plaintext == BATCH
