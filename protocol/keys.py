"""The key schedule: HKDF labels, admission keys, epoch keys and their wrapping.

    SPAKE2 key K ──HKDF──> confirm key   (key-confirmation tags, pake.py)
                 └─HKDF──> pairwise key  (wraps epoch keys for one joiner)
    random epoch key ──HKDF──> per-sender key and nonce salt   (sframe.py)

Content keys are random per epoch, never derived from a password: the
organizer's client draws each epoch key and sends it to every admitted member
wrapped under that member's pairwise key (docs/protocol.md, "Admission").

No I/O: randomness comes in as an ``Rng`` (``os.urandom`` in production, a
deterministic function in tests).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from protocol.errors import DecryptError, LocalProtocolError, ReplayError
from protocol.wire import DOMAIN, ORGANIZER_MEMBER, SESSION_ID_MAX, SESSION_ID_MIN

#: A source of random bytes with ``os.urandom``'s signature: ``rng(n)`` returns
#: exactly ``n`` bytes.
Rng: TypeAlias = Callable[[int], bytes]

#: Size of every symmetric key here: AES-256 keys, epoch keys, PAKE keys.
KEY_SIZE: Final = 32

#: AES-GCM nonce size (96 bits, the only size GCM handles without hashing).
NONCE_SIZE: Final = 12

#: AES-GCM authentication tag size.
GCM_TAG_SIZE: Final = 16

#: A wrapped epoch key: nonce, encrypted key, GCM tag.
WRAPPED_KEY_SIZE: Final = NONCE_SIZE + KEY_SIZE + GCM_TAG_SIZE

U16_MAX: Final = 0xFFFF
U32_MAX: Final = 0xFFFF_FFFF

_CONFIRM_INFO: Final = DOMAIN + b" confirm"
_PAIRWISE_INFO: Final = DOMAIN + b" pairwise"
_WRAP_AAD: Final = DOMAIN + b" wrap"
_SESSION_MEMBER: Final = struct.Struct(">IH")
_SESSION_MEMBER_EPOCH: Final = struct.Struct(">IHI")


def check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise LocalProtocolError unless ``low <= value <= high``.

    For values this side chose or already validated; values straight off the
    wire are checked by the parser.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LocalProtocolError(f"{name} must be an integer in [{low}, {high}], not {value!r}")


def check_session_id(session_id: int) -> None:
    """Session IDs are 9-digit numbers (docs/protocol.md)."""
    check_range("session_id", session_id, SESSION_ID_MIN, SESSION_ID_MAX)


def check_joiner_id(member_id: int) -> None:
    """Only joiners (2, 3, ...) have pairwise keys; the organizer is 1."""
    check_range("member_id", member_id, ORGANIZER_MEMBER + 1, U16_MAX)


def check_key(name: str, key: bytes) -> None:
    """Every key here is 32 bytes."""
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise LocalProtocolError(f"{name} must be {KEY_SIZE} bytes")


def random_bytes(rng: Rng, size: int) -> bytes:
    """Draw ``size`` bytes from ``rng``, checking it kept its promise."""
    data = rng(size)
    if not isinstance(data, bytes) or len(data) != size:
        raise LocalProtocolError(f"the RNG returned something other than {size} bytes")
    return data


def hkdf(key: bytes, info: bytes, length: int = KEY_SIZE) -> bytes:
    """HKDF-SHA256 (RFC 5869) of ``key`` with no salt."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def derive_admission_keys(k: bytes, session_id: int, member_id: int) -> tuple[bytes, bytes]:
    """Return ``(confirm_key, pairwise_key)`` from the SPAKE2 key ``k``.

    Both are bound to the session and to the joiner's member id, so a relay
    that lies about either makes key confirmation fail.
    """
    check_key("SPAKE2 key", k)
    check_session_id(session_id)
    check_joiner_id(member_id)
    suffix = _SESSION_MEMBER.pack(session_id, member_id)
    return hkdf(k, _CONFIRM_INFO + suffix), hkdf(k, _PAIRWISE_INFO + suffix)


def new_epoch_key(rng: Rng) -> bytes:
    """A fresh random content key for one epoch."""
    return random_bytes(rng, KEY_SIZE)


def _wrap_aad(session_id: int, member_id: int, epoch: int) -> bytes:
    check_session_id(session_id)
    check_joiner_id(member_id)
    check_range("epoch", epoch, 0, U32_MAX)
    return _WRAP_AAD + _SESSION_MEMBER_EPOCH.pack(session_id, member_id, epoch)


def wrap_epoch_key(
    pairwise: bytes, session_id: int, member_id: int, epoch: int, epoch_key: bytes, rng: Rng
) -> bytes:
    """Encrypt ``epoch_key`` for one member: ``nonce || AES-256-GCM(...)``.

    The associated data binds session, member and epoch, so the relay can
    neither hand one member's key to another nor replay it as another epoch.
    The nonce is random: a pairwise key wraps a few keys an hour at most.
    """
    check_key("pairwise key", pairwise)
    check_key("epoch key", epoch_key)
    aad = _wrap_aad(session_id, member_id, epoch)
    nonce = random_bytes(rng, NONCE_SIZE)
    return nonce + AESGCM(pairwise).encrypt(nonce, epoch_key, aad)


def unwrap_epoch_key(
    pairwise: bytes, session_id: int, member_id: int, epoch: int, wrapped: bytes
) -> bytes:
    """Decrypt a wrapped epoch key; DecryptError unless it is authentic."""
    check_key("pairwise key", pairwise)
    aad = _wrap_aad(session_id, member_id, epoch)
    if len(wrapped) != WRAPPED_KEY_SIZE:
        raise DecryptError(f"a wrapped epoch key is {WRAPPED_KEY_SIZE} bytes, not {len(wrapped)}")
    view = memoryview(wrapped)
    try:
        return AESGCM(pairwise).decrypt(view[:NONCE_SIZE], view[NONCE_SIZE:], aad)
    except InvalidTag:
        raise DecryptError("the wrapped epoch key did not authenticate") from None


class EpochRing:
    """A receiver's epoch keys: the current epoch and the one before it.

    Rules:
      1. Epochs only go up: installing one at or below the current epoch is a
         replay (ReplayError), whatever its key.
      2. The previous epoch stays readable, because frames sealed under it may
         still be in flight when the new key arrives; anything older is
         forgotten at once, so a removed member's old keys stop working.
    """

    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._current: tuple[int, bytes] | None = None
        self._previous: tuple[int, bytes] | None = None

    @property
    def current(self) -> int | None:
        """The newest installed epoch, or None before the first."""
        return None if self._current is None else self._current[0]

    def install(self, epoch: int, key: bytes) -> None:
        """Make ``epoch`` current; the old current epoch becomes the previous."""
        check_range("epoch", epoch, 0, U32_MAX)
        check_key("epoch key", key)
        if self._current is not None and epoch <= self._current[0]:
            raise ReplayError(f"epoch {epoch} is not newer than the current {self._current[0]}")
        self._previous = self._current
        self._current = (epoch, key)

    def key_for(self, epoch: int) -> bytes | None:
        """The key of ``epoch`` if it is the current or previous one."""
        for entry in (self._current, self._previous):
            if entry is not None and entry[0] == epoch:
                return entry[1]
        return None
