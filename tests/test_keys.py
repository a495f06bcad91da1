"""protocol.keys: HKDF, admission keys, epoch key wrapping, the epoch ring."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from protocol.errors import DecryptError, LocalProtocolError, ReplayError
from protocol.keys import (
    WRAPPED_KEY_SIZE,
    EpochRing,
    Rng,
    derive_admission_keys,
    hkdf,
    new_epoch_key,
    unwrap_epoch_key,
    wrap_epoch_key,
)

SESSION = 123456789
MEMBER = 2
EPOCH = 5


def det_rng(seed: str) -> Rng:
    """Reproducible bytes: SHA-256 of the seed and a call counter."""
    calls = itertools.count()

    def rng(size: int) -> bytes:
        call = next(calls)
        out = b"".join(
            hashlib.sha256(f"{seed}/{call}/{block}".encode()).digest()
            for block in range(size // 32 + 1)
        )
        return out[:size]

    return rng


PAIRWISE = det_rng("pairwise")(32)
EPOCH_KEY = det_rng("epoch")(32)


def test_hkdf_matches_rfc5869_case_3() -> None:
    # RFC 5869 A.3: SHA-256, zero-length salt (the same as no salt), no info.
    okm = hkdf(b"\x0b" * 22, b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_hkdf_labels_separate_outputs() -> None:
    key = bytes(32)
    assert hkdf(key, b"a") != hkdf(key, b"b")
    assert len(hkdf(key, b"a", 12)) == 12


def test_admission_keys_are_bound_to_session_and_member() -> None:
    k = det_rng("k")(32)
    confirm, pairwise = derive_admission_keys(k, SESSION, MEMBER)
    assert len(confirm) == len(pairwise) == 32
    assert confirm != pairwise
    assert derive_admission_keys(k, SESSION, MEMBER + 1) != (confirm, pairwise)
    assert derive_admission_keys(k, SESSION + 1, MEMBER) != (confirm, pairwise)
    assert derive_admission_keys(k, SESSION, MEMBER) == (confirm, pairwise)


@pytest.mark.parametrize(
    ("k", "session_id", "member_id"),
    [
        (bytes(31), SESSION, MEMBER),
        (bytes(32), 99_999_999, MEMBER),
        (bytes(32), 1_000_000_000, MEMBER),
        (bytes(32), SESSION, 1),
        (bytes(32), SESSION, 0x10000),
    ],
)
def test_admission_keys_refuse_bad_arguments(k: bytes, session_id: int, member_id: int) -> None:
    with pytest.raises(LocalProtocolError):
        derive_admission_keys(k, session_id, member_id)


def test_new_epoch_key_uses_the_rng() -> None:
    assert new_epoch_key(det_rng("x")) == new_epoch_key(det_rng("x"))
    assert new_epoch_key(det_rng("x")) != new_epoch_key(det_rng("y"))
    assert len(new_epoch_key(det_rng("x"))) == 32


def test_a_short_rng_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        new_epoch_key(lambda n: bytes(n - 1))


def test_wrap_round_trip() -> None:
    wrapped = wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, EPOCH_KEY, det_rng("nonce"))
    assert len(wrapped) == WRAPPED_KEY_SIZE == 60
    assert wrapped[:12] == det_rng("nonce")(12)
    assert unwrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, wrapped) == EPOCH_KEY


def test_wrap_nonces_differ() -> None:
    rng = det_rng("nonce")
    first = wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, EPOCH_KEY, rng)
    second = wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, EPOCH_KEY, rng)
    assert first[:12] != second[:12]
    assert first[12:] != second[12:]


@pytest.mark.parametrize(
    ("pairwise", "session_id", "member_id", "epoch"),
    [
        (det_rng("other")(32), SESSION, MEMBER, EPOCH),
        (PAIRWISE, SESSION + 1, MEMBER, EPOCH),
        (PAIRWISE, SESSION, MEMBER + 1, EPOCH),
        (PAIRWISE, SESSION, MEMBER, EPOCH + 1),
    ],
    ids=["pairwise", "session", "member", "epoch"],
)
def test_unwrap_with_other_context_fails(
    pairwise: bytes, session_id: int, member_id: int, epoch: int
) -> None:
    wrapped = wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, EPOCH_KEY, det_rng("n"))
    with pytest.raises(DecryptError):
        unwrap_epoch_key(pairwise, session_id, member_id, epoch, wrapped)


def test_unwrap_detects_every_flipped_byte() -> None:
    wrapped = wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, EPOCH_KEY, det_rng("n"))
    for i in range(len(wrapped)):
        tampered = bytearray(wrapped)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptError):
            unwrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, bytes(tampered))


@pytest.mark.parametrize("size", [0, 12, 59, 61, 4096])
def test_unwrap_wrong_size_fails(size: int) -> None:
    with pytest.raises(DecryptError):
        unwrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, bytes(size))


def test_wrap_refuses_bad_keys() -> None:
    with pytest.raises(LocalProtocolError):
        wrap_epoch_key(bytes(16), SESSION, MEMBER, EPOCH, EPOCH_KEY, det_rng("n"))
    with pytest.raises(LocalProtocolError):
        wrap_epoch_key(PAIRWISE, SESSION, MEMBER, EPOCH, bytes(31), det_rng("n"))
    with pytest.raises(LocalProtocolError):
        wrap_epoch_key(PAIRWISE, SESSION, MEMBER, 2**32, EPOCH_KEY, det_rng("n"))


def test_ring_starts_empty() -> None:
    ring = EpochRing()
    assert ring.current is None
    assert ring.key_for(0) is None


def test_ring_keeps_current_and_previous_only() -> None:
    ring = EpochRing()
    keys = [det_rng(f"e{i}")(32) for i in range(3)]
    ring.install(1, keys[0])
    assert ring.current == 1
    assert ring.key_for(1) == keys[0]
    ring.install(2, keys[1])
    assert ring.current == 2
    assert ring.key_for(1) == keys[0]
    assert ring.key_for(2) == keys[1]
    ring.install(10, keys[2])
    assert ring.current == 10
    assert ring.key_for(1) is None
    assert ring.key_for(2) == keys[1]
    assert ring.key_for(10) == keys[2]


@pytest.mark.parametrize("epoch", [0, 4, 5])
def test_ring_refuses_epochs_not_newer(epoch: int) -> None:
    ring = EpochRing()
    ring.install(5, EPOCH_KEY)
    with pytest.raises(ReplayError):
        ring.install(epoch, det_rng("new")(32))
    assert ring.current == 5
    assert ring.key_for(5) == EPOCH_KEY


def test_ring_accepts_epoch_zero_first() -> None:
    ring = EpochRing()
    ring.install(0, EPOCH_KEY)
    assert ring.current == 0


def test_ring_refuses_bad_arguments() -> None:
    ring = EpochRing()
    with pytest.raises(LocalProtocolError):
        ring.install(1, bytes(16))
    with pytest.raises(LocalProtocolError):
        ring.install(-1, EPOCH_KEY)
    with pytest.raises(LocalProtocolError):
        ring.install(2**32, EPOCH_KEY)
    assert ring.current is None
