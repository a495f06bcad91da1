"""Sealed messages: AES-256-GCM with per-sender keys, SFrame style (RFC 9605).

A sealed message is ``header || ciphertext`` where the 16-byte header is
``wire.SEALED_HEADER`` (tag, epoch, sender, counter, flags) and the ciphertext
ends with the 16-byte GCM tag (docs/protocol.md, "Sealed messages"):

    key, salt = HKDF(epoch key, "screenrelay/1 sframe key"  || sender u16), 32 bytes
                HKDF(epoch key, "screenrelay/1 sframe salt" || sender u16), 12 bytes
    nonce     = salt XOR (0x00000000 || counter u64)
    aad       = "screenrelay/1" || session u32 || header

Rules:
  1. No two senders share a key: the sender id is in the HKDF label.
  2. A sender never repeats a nonce: its counter starts at 0 in each epoch,
     only goes up, and sealing stops before it would wrap. Exactly one
     SenderCipher may exist per (epoch key, sender).
  3. A receiver accepts a counter only above the last one it accepted from
     that sender in that epoch, and records it only after the message
     authenticated, so forged messages cannot block genuine ones.
  4. Any bytes given to ``ReceiverCipher.open`` yield a header and plaintext
     or raise RemoteProtocolError (DecryptError, ReplayError among them).

Large frames are the hot path: ``seal`` encrypts straight into the buffer it
returns and ``open`` decrypts from a view of the message, so each makes one
copy of the payload, the one AES-GCM writes.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol.errors import (
    DecryptError,
    ErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
    ReplayError,
)
from protocol.keys import (
    GCM_TAG_SIZE,
    KEY_SIZE,
    NONCE_SIZE,
    U16_MAX,
    U32_MAX,
    EpochRing,
    check_key,
    check_range,
    check_session_id,
    hkdf,
)
from protocol.wire import (
    DOMAIN,
    MAX_CONTROL_MESSAGE,
    MAX_FRAME_MESSAGE,
    ORGANIZER_MEMBER,
    SEALED_HEADER,
    Tag,
)

#: Size of the sealed header, the first bytes of every sealed message.
HEADER_SIZE: Final = SEALED_HEADER.size

#: The smallest sealed message: a header and an empty plaintext's GCM tag.
MIN_SEALED_SIZE: Final = HEADER_SIZE + GCM_TAG_SIZE

#: The last counter a sender may use; sealing past it would wrap the 64-bit
#: counter and repeat a nonce, so the sender must rekey first.
MAX_COUNTER: Final = 2**64 - 2

_KEY_INFO: Final = DOMAIN + b" sframe key"
_SALT_INFO: Final = DOMAIN + b" sframe salt"
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


def derive_sender_keys(epoch_key: bytes, sender: int) -> tuple[bytes, bytes]:
    """Return ``(key, salt)`` of ``sender`` in the epoch of ``epoch_key``."""
    check_key("epoch key", epoch_key)
    check_range("sender", sender, 0, U16_MAX)
    label = _U16.pack(sender)
    return hkdf(epoch_key, _KEY_INFO + label, KEY_SIZE), hkdf(
        epoch_key, _SALT_INFO + label, NONCE_SIZE
    )


def _cap(tag: int) -> int:
    """Frames may be large; every other message is a control message."""
    return MAX_FRAME_MESSAGE if tag == Tag.FRAME else MAX_CONTROL_MESSAGE


def _aad_prefix(session_id: int) -> bytes:
    return DOMAIN + _U32.pack(session_id)


@dataclasses.dataclass(frozen=True, slots=True)
class SealedHeader:
    """The authenticated header of a sealed message that opened."""

    #: Message type (Frame for screen pictures).
    tag: Tag
    #: Epoch whose key sealed the message.
    epoch: int
    #: Member id of the sender.
    sender: int
    #: The sender's message counter in this epoch.
    counter: int
    #: Flags byte; bit 0 (``wire.FLAG_KEYFRAME``) marks a key frame.
    flags: int


class SenderCipher:
    """Seals one sender's messages in the current epoch."""

    __slots__ = ("_aad_prefix", "_aead", "_counter", "_epoch", "_salt", "_sender")

    def __init__(self, session_id: int, epoch: int, epoch_key: bytes, sender_id: int) -> None:
        check_session_id(session_id)
        check_range("sender_id", sender_id, ORGANIZER_MEMBER, U16_MAX)
        self._aad_prefix = _aad_prefix(session_id)
        self._sender = sender_id
        self._epoch = -1
        self._install(epoch, epoch_key)

    def _install(self, epoch: int, epoch_key: bytes) -> None:
        check_range("epoch", epoch, 0, U32_MAX)
        key, salt = derive_sender_keys(epoch_key, self._sender)
        self._epoch = epoch
        self._aead = AESGCM(key)
        self._salt = int.from_bytes(salt, "big")
        self._counter = 0

    @property
    def epoch(self) -> int:
        """The epoch messages are sealed in."""
        return self._epoch

    @property
    def counter(self) -> int:
        """The counter the next sealed message will carry."""
        return self._counter

    def rekey(self, epoch: int, epoch_key: bytes) -> None:
        """Seal from now on in the newer ``epoch``; the counter restarts at 0."""
        if epoch <= self._epoch:
            raise LocalProtocolError(
                f"rekey to epoch {epoch} would not move past epoch {self._epoch}"
            )
        self._install(epoch, epoch_key)

    def seal(self, tag: Tag, flags: int, plaintext: bytes | memoryview) -> bytearray:
        """Return the complete wire message ``header || ciphertext``.

        A bytearray, not bytes: AES-GCM writes straight into it, which saves
        copying a frame of several megabytes once more. Send it as is.
        """
        check_range("flags", flags, 0, 0xFF)
        try:
            tag = Tag(tag)
        except ValueError:
            raise LocalProtocolError(f"{tag!r} is not a message tag") from None
        size = MIN_SEALED_SIZE + memoryview(plaintext).nbytes
        if size > _cap(tag):
            raise LocalProtocolError(f"a sealed {tag.name} of {size} bytes is over its cap")
        counter = self._counter
        if counter > MAX_COUNTER:
            raise LocalProtocolError("the message counter is exhausted; rekey first")
        header = SEALED_HEADER.pack(tag, self._epoch, self._sender, counter, flags)
        nonce = (self._salt ^ counter).to_bytes(NONCE_SIZE, "big")
        message = bytearray(size)
        message[:HEADER_SIZE] = header
        self._aead.encrypt_into(
            nonce, plaintext, self._aad_prefix + header, memoryview(message)[HEADER_SIZE:]
        )
        self._counter = counter + 1
        return message


class _SenderState:
    """What a receiver keeps per (epoch, sender) that sent authentic messages."""

    __slots__ = ("aead", "last", "salt")

    def __init__(self, aead: AESGCM, salt: int) -> None:
        self.aead = aead
        self.salt = salt
        #: Highest counter accepted so far; -1 before the first message.
        self.last = -1


class ReceiverCipher:
    """Opens sealed messages with the epoch keys of an EpochRing.

    State exists only for senders whose messages authenticated, and only for
    epochs the ring still holds (at most two), so forged messages cost a key
    derivation each and no memory.
    """

    __slots__ = ("_aad_prefix", "_ring", "_senders")

    def __init__(self, session_id: int, ring: EpochRing) -> None:
        check_session_id(session_id)
        self._aad_prefix = _aad_prefix(session_id)
        self._ring = ring
        self._senders: dict[int, dict[int, _SenderState]] = {}

    def open(self, message: bytes | bytearray | memoryview) -> tuple[SealedHeader, bytes]:
        """Authenticate and decrypt one sealed message.

        Raises RemoteProtocolError if the message is malformed or over its
        cap, DecryptError if its epoch is unknown or it does not authenticate,
        ReplayError if its counter is not above the last accepted one.
        """
        view = memoryview(message).cast("B")
        size = view.nbytes
        if size < MIN_SEALED_SIZE:
            raise RemoteProtocolError(f"a sealed message is at least {MIN_SEALED_SIZE} bytes")
        raw_tag, epoch, sender, counter, flags = SEALED_HEADER.unpack_from(view)
        try:
            tag = Tag(raw_tag)
        except ValueError:
            raise RemoteProtocolError(f"unknown message tag 0x{raw_tag:02x}") from None
        if size > _cap(tag):
            raise RemoteProtocolError(
                f"a sealed {tag.name} of {size} bytes is over its cap",
                ErrorCode.MESSAGE_TOO_LARGE,
            )
        epoch_key = self._ring.key_for(epoch)
        if epoch_key is None:
            raise DecryptError(f"unknown epoch {epoch}")
        senders = self._senders.get(epoch)
        state = None if senders is None else senders.get(sender)
        if state is None:
            key, salt = derive_sender_keys(epoch_key, sender)
            state = _SenderState(AESGCM(key), int.from_bytes(salt, "big"))
        elif counter <= state.last:
            raise ReplayError(
                f"counter {counter} of sender {sender} is not above {state.last} in epoch {epoch}"
            )
        nonce = (state.salt ^ counter).to_bytes(NONCE_SIZE, "big")
        aad = self._aad_prefix + view[:HEADER_SIZE].tobytes()
        try:
            plaintext = state.aead.decrypt(nonce, view[HEADER_SIZE:], aad)
        except InvalidTag:
            raise DecryptError("the sealed message did not authenticate") from None
        state.last = counter
        if senders is None:
            senders = self._remember_epoch(epoch)
        senders.setdefault(sender, state)
        return SealedHeader(tag, epoch, sender, counter, flags), plaintext

    def _remember_epoch(self, epoch: int) -> dict[int, _SenderState]:
        """Start the state of ``epoch`` and forget epochs the ring dropped."""
        for old in [e for e in self._senders if self._ring.key_for(e) is None]:
            del self._senders[old]
        senders: dict[int, _SenderState] = {}
        self._senders[epoch] = senders
        return senders
