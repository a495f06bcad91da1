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

Input messages (docs/protocol.md, "Remote control") are sealed the same way,
with the same header (Tag.INPUT, the grant number in the epoch field, flags
0), but under keys only the controller and the presenter hold, derived from
the controller's pairwise key, so neither the relay nor other members can
forge or read input:

    key, salt = HKDF(pairwise, "screenrelay/1 input key"  || sender u16), 32 bytes
                HKDF(pairwise, "screenrelay/1 input salt" || sender u16), 12 bytes
    nonce     = salt XOR (grant u32 || counter u64)
    aad       = "screenrelay/1" || session u32 || header

  5. The input key lives as long as the pairwise key, across grants, and
     counters restart at 0 for each grant; so the grant is in the nonce
     (where a frame's nonce has four zero bytes), or counter 0 of grant 2
     would reuse the nonce of counter 0 of grant 1 under the same key. A
     sealer therefore never goes back to an earlier grant. (docs/protocol.md
     still says "nonce ... as for frames" here and must follow.)
  6. An opener takes only its one sender's Input, only grants at or above
     the highest it accepted, and in that grant only counters above the last
     it accepted; it records them only after the message authenticated.

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
_INPUT_KEY_INFO: Final = DOMAIN + b" input key"
_INPUT_SALT_INFO: Final = DOMAIN + b" input salt"
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


def _derive(secret: bytes, key_info: bytes, salt_info: bytes, sender: int) -> tuple[bytes, bytes]:
    """``(key, salt)`` of ``sender``: HKDF of ``secret`` under the two labels."""
    label = _U16.pack(sender)
    return hkdf(secret, key_info + label, KEY_SIZE), hkdf(secret, salt_info + label, NONCE_SIZE)


def derive_sender_keys(epoch_key: bytes, sender: int) -> tuple[bytes, bytes]:
    """Return ``(key, salt)`` of ``sender`` in the epoch of ``epoch_key``."""
    check_key("epoch key", epoch_key)
    check_range("sender", sender, 0, U16_MAX)
    return _derive(epoch_key, _KEY_INFO, _SALT_INFO, sender)


def input_keys(pairwise: bytes, sender: int) -> tuple[bytes, bytes]:
    """Return ``(key, salt)`` that seal the Input of controller ``sender``.

    ``pairwise`` is the pairwise key the controller and the presenter share
    (docs/protocol.md, "Input keys").
    """
    check_key("pairwise key", pairwise)
    check_range("sender", sender, ORGANIZER_MEMBER, U16_MAX)
    return _derive(pairwise, _INPUT_KEY_INFO, _INPUT_SALT_INFO, sender)


def _cap(tag: int) -> int:
    """Frames may be large; every other message is a control message."""
    return MAX_FRAME_MESSAGE if tag == Tag.FRAME else MAX_CONTROL_MESSAGE


def _aad_prefix(session_id: int) -> bytes:
    return DOMAIN + _U32.pack(session_id)


def _nonce(salt: int, high: int, counter: int) -> bytes:
    """``salt XOR (high u32 || counter u64)``: ``high`` is 0 for frames, the grant for input."""
    return (salt ^ (high << 64) ^ counter).to_bytes(NONCE_SIZE, "big")


def _seal(
    aead: AESGCM,
    nonce: bytes,
    aad_prefix: bytes,
    header: tuple[Tag, int, int, int, int],
    plaintext: bytes | memoryview,
) -> bytearray:
    """``header || AES-GCM(plaintext)``, encrypted straight into the buffer returned.

    Checks the size cap of the header's tag; the caller checked the rest.
    """
    tag = header[0]
    size = MIN_SEALED_SIZE + memoryview(plaintext).nbytes
    if size > _cap(tag):
        raise LocalProtocolError(f"a sealed {tag.name} of {size} bytes is over its cap")
    packed = SEALED_HEADER.pack(*header)
    message = bytearray(size)
    message[:HEADER_SIZE] = packed
    aead.encrypt_into(nonce, plaintext, aad_prefix + packed, memoryview(message)[HEADER_SIZE:])
    return message


def _unseal_header(message: bytes | bytearray | memoryview) -> tuple[memoryview, SealedHeader]:
    """A view of ``message`` and its header, after the size, tag and cap checks."""
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
    return view, SealedHeader(tag, epoch, sender, counter, flags)


def _decrypt(aead: AESGCM, nonce: bytes, aad_prefix: bytes, view: memoryview) -> bytes:
    """The plaintext of the sealed message in ``view``, or DecryptError."""
    aad = aad_prefix + view[:HEADER_SIZE].tobytes()
    try:
        return aead.decrypt(nonce, view[HEADER_SIZE:], aad)
    except InvalidTag:
        raise DecryptError("the sealed message did not authenticate") from None


@dataclasses.dataclass(frozen=True, slots=True)
class SealedHeader:
    """The authenticated header of a sealed message that opened."""

    #: Message type (Frame for screen pictures, Input for remote control).
    tag: Tag
    #: Epoch whose key sealed the message; an Input's grant number.
    epoch: int
    #: Member id of the sender.
    sender: int
    #: The sender's message counter in this epoch (an Input's: in this grant).
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
        counter = self._counter
        if counter > MAX_COUNTER:
            raise LocalProtocolError("the message counter is exhausted; rekey first")
        message = _seal(
            self._aead,
            _nonce(self._salt, 0, counter),
            self._aad_prefix,
            (tag, self._epoch, self._sender, counter, flags),
            plaintext,
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
        view, header = _unseal_header(message)
        epoch, sender, counter = header.epoch, header.sender, header.counter
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
        plaintext = _decrypt(state.aead, _nonce(state.salt, 0, counter), self._aad_prefix, view)
        state.last = counter
        if senders is None:
            senders = self._remember_epoch(epoch)
        senders.setdefault(sender, state)
        return header, plaintext

    def _remember_epoch(self, epoch: int) -> dict[int, _SenderState]:
        """Start the state of ``epoch`` and forget epochs the ring dropped."""
        for old in [e for e in self._senders if self._ring.key_for(e) is None]:
            del self._senders[old]
        senders: dict[int, _SenderState] = {}
        self._senders[epoch] = senders
        return senders


class InputSealer:
    """Seals one controller's Input messages for the presenter (rule 5).

    Make one per pairwise key and keep it for as long as that key lives: it
    is what guarantees that no (grant, counter) pair is sealed twice.
    """

    __slots__ = ("_aad_prefix", "_aead", "_counter", "_grant", "_salt", "_sender")

    def __init__(self, session_id: int, pairwise: bytes, sender_id: int) -> None:
        check_session_id(session_id)
        key, salt = input_keys(pairwise, sender_id)
        self._aad_prefix = _aad_prefix(session_id)
        self._sender = sender_id
        self._aead = AESGCM(key)
        self._salt = int.from_bytes(salt, "big")
        #: The grant last sealed under (0: none yet) and its next counter.
        self._grant = 0
        self._counter = 0

    @property
    def grant(self) -> int:
        """The grant the last message was sealed under; 0 before the first."""
        return self._grant

    @property
    def counter(self) -> int:
        """The counter the next message under `grant` will carry."""
        return self._counter

    def seal(self, grant: int, plaintext: bytes | memoryview) -> bytearray:
        """Return the complete Input wire message under ``grant``.

        The counter starts at 0 for each new grant. Raises LocalProtocolError
        for a grant below the current one (sealing under it again could
        repeat a nonce), a plaintext over the control cap, or an exhausted
        counter.
        """
        check_range("grant", grant, 1, U32_MAX)
        if grant < self._grant:
            raise LocalProtocolError(f"grant {grant} is older than grant {self._grant}")
        counter = self._counter if grant == self._grant else 0
        if counter > MAX_COUNTER:
            raise LocalProtocolError(f"the counter of grant {grant} is exhausted")
        message = _seal(
            self._aead,
            _nonce(self._salt, grant, counter),
            self._aad_prefix,
            (Tag.INPUT, grant, self._sender, counter, 0),
            plaintext,
        )
        self._grant = grant
        self._counter = counter + 1
        return message


class InputOpener:
    """Opens the Input of one controller on the presenter's machine (rule 6).

    Authenticity is all this checks; whether the grant is still open, and so
    whether the events may be injected, is the control gate's decision.
    """

    __slots__ = ("_aad_prefix", "_aead", "_grant", "_last", "_salt", "_sender")

    def __init__(self, session_id: int, pairwise: bytes, sender_id: int) -> None:
        check_session_id(session_id)
        key, salt = input_keys(pairwise, sender_id)
        self._aad_prefix = _aad_prefix(session_id)
        self._sender = sender_id
        self._aead = AESGCM(key)
        self._salt = int.from_bytes(salt, "big")
        #: Highest grant accepted (0: none yet), and the last counter in it.
        self._grant = 0
        self._last = -1

    def open(self, message: bytes | bytearray | memoryview) -> tuple[SealedHeader, bytes]:
        """Authenticate and decrypt one Input message; its header's epoch is the grant.

        Raises RemoteProtocolError if the message is malformed, over its cap,
        not an Input, or has a grant of 0 or flags set; DecryptError if it
        names another sender or does not authenticate; ReplayError if its
        grant is below the highest accepted, or its counter is not above the
        last accepted in that grant.
        """
        view, header = _unseal_header(message)
        grant, sender, counter = header.epoch, header.sender, header.counter
        if header.tag is not Tag.INPUT:
            raise RemoteProtocolError(f"expected a sealed INPUT, got {header.tag.name}")
        if grant < 1 or header.flags:
            raise RemoteProtocolError("an Input has a grant of at least 1 and flags 0")
        if sender != self._sender:
            raise DecryptError(f"Input from sender {sender}; this opener takes {self._sender}")
        if grant < self._grant:
            raise ReplayError(f"grant {grant} is older than grant {self._grant}")
        if grant == self._grant and counter <= self._last:
            raise ReplayError(f"counter {counter} is not above {self._last} in grant {grant}")
        plaintext = _decrypt(self._aead, _nonce(self._salt, grant, counter), self._aad_prefix, view)
        self._grant = grant
        self._last = counter
        return header, plaintext
