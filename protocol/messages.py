"""The messages of docs/protocol.md, and the one `encode`/`parse` pair for them.

Every message is a frozen, slotted dataclass validated on construction: an
out-of-range value built by our own code raises `LocalProtocolError` at once,
so a message that exists can always be encoded. `parse` turns any bytes into
one message or raises `RemoteProtocolError`, never anything else:

1. the size cap, before anything else (Frame: ``MAX_FRAME_MESSAGE``, every
   other tag: ``MAX_CONTROL_MESSAGE``) -> ``ErrorCode.MESSAGE_TOO_LARGE``;
2. the tag byte (unknown -> ``ErrorCode.BAD_MESSAGE``);
3. each field in order, every length checked before it is sliced
   (`protocol.codec.Reader`), then no trailing bytes;
4. the message's own validation; its `LocalProtocolError` is translated into
   a `RemoteProtocolError` here, in one place, since the bytes were the peer's.

Two types are sealed (protocol.sframe): Frame and Input. Both are the 16-byte
``SEALED_HEADER`` then the ciphertext. Frames are the hot path. The relay
routes a sealed message with `parse_sealed_header`, which reads only the
header, and forwards the original bytes; `parse` copies the ciphertext once;
`encode` of a sealed message is byte for byte ``SEALED_HEADER.pack(...) +
ciphertext``, as protocol.sframe builds it.

The messages about roles (remote control, presenting) are defined in
protocol.role_messages and the field checks in protocol.fields; both are
re-exported here, so every message is ``protocol.messages.<Name>``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, TypeAlias

from protocol.codec import Kind, Reader, Writer, byte_view, dump_json
from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.fields import (
    MEMBER_ID_MAX as MEMBER_ID_MAX,
)
from protocol.fields import (
    MEMBER_ID_MIN as MEMBER_ID_MIN,
)
from protocol.fields import (
    MIN_CIPHERTEXT as MIN_CIPHERTEXT,
)
from protocol.fields import (
    U8_MAX,
    U16_MAX,
    U32_MAX,
    U64_MAX,
    check_blob,
    check_bytes,
    check_enum,
    check_int,
    check_member,
    check_session,
    check_text,
    fail,
)
from protocol.role_messages import ENDING_REASONS as ENDING_REASONS
from protocol.role_messages import GRANT_MAX as GRANT_MAX
from protocol.role_messages import MAX_INPUT_CIPHERTEXT as MAX_INPUT_CIPHERTEXT
from protocol.role_messages import ControlRelease as ControlRelease
from protocol.role_messages import ControlRequest as ControlRequest
from protocol.role_messages import ControlState as ControlState
from protocol.role_messages import Input as Input
from protocol.role_messages import PresentAnswer as PresentAnswer
from protocol.role_messages import PresenterChanged as PresenterChanged
from protocol.role_messages import PresentRequest as PresentRequest
from protocol.role_messages import SetPresenter as SetPresenter
from protocol.wire import (
    FLAG_KEYFRAME,
    MAX_CONTROL_MESSAGE,
    MAX_FRAME_MESSAGE,
    SEALED_HEADER,
    SESSION_ID_MAX,
    SESSION_ID_MIN,
    Credential,
    Tag,
)

#: What is left of MAX_FRAME_MESSAGE after the sealed header.
MAX_CIPHERTEXT: Final = MAX_FRAME_MESSAGE - SEALED_HEADER.size


class RejectReason(enum.IntEnum):
    """Why the organizer's client refused a joiner (`Reject.reason`)."""

    #: The joiner's key confirmation tag was wrong.
    CONFIRM_FAILED = 0
    #: The organizer's client locked the session after too many failures.
    LOCKED = 1


# -- the messages, in the order of docs/protocol.md ---------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """Client → relay, first: the protocol revision and client version."""

    proto: int
    client_version: str

    def __post_init__(self) -> None:
        check_int(self, "proto", 0, U16_MAX)
        check_text(self, "client_version")


@dataclass(frozen=True, slots=True)
class Welcome:
    """Relay → client: the relay's revision, version and policy (a JSON object).

    The policy is stored as a canonical deep copy, so mutating the dict given
    to the constructor does not change the message.
    """

    proto: int
    relay_version: str
    policy: dict[str, Any]

    def __post_init__(self) -> None:
        check_int(self, "proto", 0, U16_MAX)
        check_text(self, "relay_version")
        try:
            raw = dump_json(self.policy)
        except LocalProtocolError as exc:
            fail(self, "policy", str(exc))
        object.__setattr__(self, "policy", json.loads(raw))


@dataclass(frozen=True, slots=True)
class Error:
    """Either way: the reason the sender is about to close the connection."""

    code: ErrorCode
    text: str

    def __post_init__(self) -> None:
        check_enum(self, "code", ErrorCode)
        check_text(self, "text")


@dataclass(frozen=True, slots=True)
class SignIn:
    """Organizer → relay: account credentials. The password is not in repr."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        check_text(self, "user")
        check_text(self, "password")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Relay → organizer: sign-in succeeded, with the account's role."""

    user: str
    role: str

    def __post_init__(self) -> None:
        check_text(self, "user")
        check_text(self, "role")


@dataclass(frozen=True, slots=True)
class CreateSession:
    """Organizer → relay: open a session; ``requested_id`` 0 asks for a random ID."""

    requested_id: int

    def __post_init__(self) -> None:
        check_int(self, "requested_id", 0, SESSION_ID_MAX)
        if 0 < self.requested_id < SESSION_ID_MIN:
            fail(self, "requested_id", f"must be 0 or at least {SESSION_ID_MIN}")


@dataclass(frozen=True, slots=True)
class SessionCreated:
    """Relay → organizer: the session's ID and the organizer's member id."""

    session_id: int
    member_id: int

    def __post_init__(self) -> None:
        check_session(self)
        check_member(self)


@dataclass(frozen=True, slots=True)
class EndSession:
    """Organizer → relay: end the session for everyone."""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Relay → every member: the session is over, and why."""

    code: ErrorCode
    text: str

    def __post_init__(self) -> None:
        check_enum(self, "code", ErrorCode)
        check_text(self, "text")


@dataclass(frozen=True, slots=True)
class Join:
    """Joiner → relay: ask to join a session, with the first PAKE message."""

    session_id: int
    credential: Credential
    pake: bytes

    def __post_init__(self) -> None:
        check_session(self)
        check_enum(self, "credential", Credential)
        check_blob(self, "pake")


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """Relay → organizer: a Join, with the member id the relay assigned."""

    member_id: int
    credential: Credential
    pake: bytes

    def __post_init__(self) -> None:
        check_member(self)
        check_enum(self, "credential", Credential)
        check_blob(self, "pake")


@dataclass(frozen=True, slots=True)
class PakeReply:
    """Organizer → relay → joiner: the organizer's PAKE message."""

    member_id: int
    pake: bytes

    def __post_init__(self) -> None:
        check_member(self)
        check_blob(self, "pake")


@dataclass(frozen=True, slots=True)
class PakeConfirm:
    """Joiner → relay → organizer: the joiner's key confirmation tag."""

    member_id: int
    tag: bytes

    def __post_init__(self) -> None:
        check_member(self)
        check_blob(self, "tag")


@dataclass(frozen=True, slots=True)
class Admit:
    """Organizer → relay → joiner: confirmation tag and the wrapped epoch key."""

    member_id: int
    tag: bytes
    epoch: int
    wrapped: bytes

    def __post_init__(self) -> None:
        check_member(self)
        check_blob(self, "tag")
        check_int(self, "epoch", 0, U32_MAX)
        check_blob(self, "wrapped")


@dataclass(frozen=True, slots=True)
class Reject:
    """Organizer → relay: refuse a joiner (the relay tells it ADMISSION_FAILED)."""

    member_id: int
    reason: RejectReason

    def __post_init__(self) -> None:
        check_member(self)
        check_enum(self, "reason", RejectReason)


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """Organizer → relay → member: a new epoch key, wrapped for that member."""

    member_id: int
    epoch: int
    wrapped: bytes

    def __post_init__(self) -> None:
        check_member(self)
        check_int(self, "epoch", 0, U32_MAX)
        check_blob(self, "wrapped")


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """Relay → organizer: a member was admitted, from this network address."""

    member_id: int
    address: str

    def __post_init__(self) -> None:
        check_member(self)
        check_text(self, "address")


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """Relay → organizer: a member disconnected or was removed."""

    member_id: int

    def __post_init__(self) -> None:
        check_member(self)


@dataclass(frozen=True, slots=True)
class Frame:
    """Presenter → relay → viewers: one sealed (AES-GCM) picture update.

    The wire form is ``SEALED_HEADER`` (tag, epoch, sender, counter, flags)
    followed by the ciphertext, which includes the 16-byte GCM tag.
    """

    epoch: int
    sender: int
    counter: int
    flags: int
    ciphertext: bytes

    def __post_init__(self) -> None:
        check_int(self, "epoch", 0, U32_MAX)
        check_member(self, "sender")
        check_int(self, "counter", 0, U64_MAX)
        check_int(self, "flags", 0, U8_MAX)
        check_bytes(self, "ciphertext", MIN_CIPHERTEXT, MAX_CIPHERTEXT)

    def __repr__(self) -> str:
        return (
            f"Frame(epoch={self.epoch}, sender={self.sender}, counter={self.counter}, "
            f"flags={self.flags:#04x}, ciphertext=<{len(self.ciphertext)} bytes>)"
        )

    @property
    def keyframe(self) -> bool:
        """Whether this frame is a key frame (a full picture)."""
        return bool(self.flags & FLAG_KEYFRAME)

    @property
    def header(self) -> bytes:
        """The 16-byte sealed header: the AEAD's associated data after the prefix."""
        return SEALED_HEADER.pack(Tag.FRAME, self.epoch, self.sender, self.counter, self.flags)


@dataclass(frozen=True, slots=True)
class KeyframeRequest:
    """Relay → presenter: a viewer needs a key frame (it joined or fell behind)."""


#: Any message of the protocol.
Message: TypeAlias = (
    Hello
    | Welcome
    | Error
    | SignIn
    | SignedIn
    | CreateSession
    | SessionCreated
    | EndSession
    | SessionEnded
    | Join
    | JoinRequest
    | PakeReply
    | PakeConfirm
    | Admit
    | Reject
    | KeyUpdate
    | MemberJoined
    | MemberLeft
    | Frame
    | KeyframeRequest
    | ControlRequest
    | ControlState
    | Input
    | ControlRelease
    | PresentRequest
    | PresentAnswer
    | PresenterChanged
    | SetPresenter
)

#: The sealed message types: the 16-byte header, then ciphertext to the end.
SealedMessage: TypeAlias = Frame | Input

_Layout: TypeAlias = tuple[tuple[str, Kind], ...]

#: The table of docs/protocol.md: each type's tag and its fields in wire
#: order. The sealed types' rows (Frame, Input) document their layout;
#: `encode` and `parse` take a fast path through SEALED_HEADER for them (the
#: tests check both agree).
LAYOUTS: Final[dict[type[Message], tuple[Tag, _Layout]]] = {
    Hello: (Tag.HELLO, (("proto", Kind.U16), ("client_version", Kind.STR))),
    Welcome: (
        Tag.WELCOME,
        (("proto", Kind.U16), ("relay_version", Kind.STR), ("policy", Kind.JSON)),
    ),
    Error: (Tag.ERROR, (("code", Kind.U16), ("text", Kind.STR))),
    SignIn: (Tag.SIGN_IN, (("user", Kind.STR), ("password", Kind.STR))),
    SignedIn: (Tag.SIGNED_IN, (("user", Kind.STR), ("role", Kind.STR))),
    CreateSession: (Tag.CREATE_SESSION, (("requested_id", Kind.U32),)),
    SessionCreated: (Tag.SESSION_CREATED, (("session_id", Kind.U32), ("member_id", Kind.U16))),
    EndSession: (Tag.END_SESSION, ()),
    SessionEnded: (Tag.SESSION_ENDED, (("code", Kind.U16), ("text", Kind.STR))),
    Join: (
        Tag.JOIN,
        (("session_id", Kind.U32), ("credential", Kind.U8), ("pake", Kind.BLOB)),
    ),
    JoinRequest: (
        Tag.JOIN_REQUEST,
        (("member_id", Kind.U16), ("credential", Kind.U8), ("pake", Kind.BLOB)),
    ),
    PakeReply: (Tag.PAKE_REPLY, (("member_id", Kind.U16), ("pake", Kind.BLOB))),
    PakeConfirm: (Tag.PAKE_CONFIRM, (("member_id", Kind.U16), ("tag", Kind.BLOB))),
    Admit: (
        Tag.ADMIT,
        (
            ("member_id", Kind.U16),
            ("tag", Kind.BLOB),
            ("epoch", Kind.U32),
            ("wrapped", Kind.BLOB),
        ),
    ),
    Reject: (Tag.REJECT, (("member_id", Kind.U16), ("reason", Kind.U8))),
    KeyUpdate: (
        Tag.KEY_UPDATE,
        (("member_id", Kind.U16), ("epoch", Kind.U32), ("wrapped", Kind.BLOB)),
    ),
    MemberJoined: (Tag.MEMBER_JOINED, (("member_id", Kind.U16), ("address", Kind.STR))),
    MemberLeft: (Tag.MEMBER_LEFT, (("member_id", Kind.U16),)),
    Frame: (
        Tag.FRAME,
        (
            ("epoch", Kind.U32),
            ("sender", Kind.U16),
            ("counter", Kind.U64),
            ("flags", Kind.U8),
            ("ciphertext", Kind.REST),
        ),
    ),
    KeyframeRequest: (Tag.KEYFRAME_REQUEST, ()),
    ControlRequest: (Tag.CONTROL_REQUEST, (("member_id", Kind.U16),)),
    ControlState: (
        Tag.CONTROL_STATE,
        (
            ("controller", Kind.U16),
            ("grant", Kind.U32),
            ("subject", Kind.U16),
            ("reason", Kind.U8),
        ),
    ),
    Input: (
        Tag.INPUT,
        (
            ("grant", Kind.U32),
            ("sender", Kind.U16),
            ("counter", Kind.U64),
            ("flags", Kind.U8),
            ("ciphertext", Kind.REST),
        ),
    ),
    ControlRelease: (Tag.CONTROL_RELEASE, ()),
    PresentRequest: (Tag.PRESENT_REQUEST, (("member_id", Kind.U16),)),
    PresentAnswer: (Tag.PRESENT_ANSWER, (("answer", Kind.U8),)),
    PresenterChanged: (
        Tag.PRESENTER_CHANGED,
        (("presenter", Kind.U16), ("subject", Kind.U16), ("reason", Kind.U8)),
    ),
    SetPresenter: (Tag.SET_PRESENTER, (("presenter", Kind.U16),)),
}

_BY_TAG: Final = {tag: (cls, layout) for cls, (tag, layout) in LAYOUTS.items()}


class SealedHeader(NamedTuple):
    """The fields of a sealed message's 16-byte header, as `parse_sealed_header` reads them.

    For an Input, ``epoch`` holds the grant number (also readable as `grant`).
    """

    epoch: int
    sender: int
    counter: int
    flags: int

    @property
    def keyframe(self) -> bool:
        """Whether the frame is a key frame (a full picture)."""
        return bool(self.flags & FLAG_KEYFRAME)

    @property
    def grant(self) -> int:
        """An Input's grant number: the same field as ``epoch``."""
        return self.epoch


#: The sealed tags and the type each one parses to.
_SEALED: Final[dict[Tag, type[SealedMessage]]] = {Tag.FRAME: Frame, Tag.INPUT: Input}


# -- encode and parse ----------------------------------------------------------


def encode(msg: Message) -> bytes:
    """The wire bytes of *msg*: its tag byte, then its fields in order."""
    if isinstance(msg, Frame | Input):
        return msg.header + msg.ciphertext
    try:
        tag, layout = LAYOUTS[type(msg)]
    except KeyError:
        raise LocalProtocolError(f"not a message: {type(msg).__name__}") from None
    writer = Writer(tag)
    for name, kind in layout:
        writer.write(kind, getattr(msg, name))
    return writer.getvalue()


def _checked_tag(view: memoryview) -> Tag:
    """Check the size cap of the message in *view*, then its tag byte."""
    if not view:
        raise RemoteProtocolError("empty message")
    first = view[0]
    limit = MAX_FRAME_MESSAGE if first == Tag.FRAME else MAX_CONTROL_MESSAGE
    if len(view) > limit:
        raise RemoteProtocolError(
            f"{len(view)}-byte message; the cap is {limit}", ErrorCode.MESSAGE_TOO_LARGE
        )
    try:
        return Tag(first)
    except ValueError:
        raise RemoteProtocolError(f"unknown message tag {first:#04x}") from None


def peek_tag(data: bytes | bytearray | memoryview) -> Tag:
    """The tag of the message in *data*, after checking its size cap.

    Reads one byte; raises `RemoteProtocolError` (``MESSAGE_TOO_LARGE`` or
    ``BAD_MESSAGE``) for an oversized, empty or unknown message.
    """
    return _checked_tag(byte_view(data))


def _sealed_header(view: memoryview, tag: Tag) -> SealedHeader:
    """The header of the sealed message in *view*, whose size cap and *tag* are checked.

    Applies every check the type's constructor applies to the header fields,
    so that a header this accepts, `parse` accepts too.
    """
    name = _SEALED[tag].__name__
    if len(view) < SEALED_HEADER.size + MIN_CIPHERTEXT:
        raise RemoteProtocolError(
            f"{name}: {len(view)} bytes; at least {SEALED_HEADER.size + MIN_CIPHERTEXT} needed"
        )
    _, epoch, sender, counter, flags = SEALED_HEADER.unpack_from(view)
    if sender < MEMBER_ID_MIN:
        raise RemoteProtocolError(f"{name}.sender must be at least {MEMBER_ID_MIN}, not {sender}")
    if tag is Tag.INPUT:
        if epoch < 1:
            raise RemoteProtocolError(f"{name}.grant must be at least 1, not {epoch}")
        if flags:
            raise RemoteProtocolError(f"{name}.flags must be 0, not {flags}")
    return SealedHeader(epoch, sender, counter, flags)


def parse_sealed_header(data: bytes | bytearray | memoryview, tag: Tag = Tag.FRAME) -> SealedHeader:
    """Read only the header of a sealed message of type *tag*, for routing it.

    *tag* is the sealed type the caller expects: ``Tag.FRAME`` (the default)
    or ``Tag.INPUT`` (then ``epoch`` is the grant); any other raises
    `LocalProtocolError`. Checks the size cap, that the message has that
    tag, the minimum length (header plus GCM tag) and the header's fields,
    exactly as `parse` would, and copies nothing: a message this accepts,
    `parse` accepts too.
    """
    if tag not in _SEALED:
        raise LocalProtocolError(f"{tag!r} is not a sealed message type")
    expected = Tag(tag)
    view = byte_view(data)
    actual = _checked_tag(view)
    if actual is not expected:
        raise RemoteProtocolError(f"expected {_SEALED[expected].__name__}, got {actual.name}")
    return _sealed_header(view, expected)


def parse(data: bytes | bytearray | memoryview) -> Message:
    """The message in *data*, or `RemoteProtocolError`; nothing else is raised."""
    view = byte_view(data)
    tag = _checked_tag(view)
    try:
        sealed = _SEALED.get(tag)
        if sealed is not None:  # the hot path: the body is copied once
            return sealed(*_sealed_header(view, tag), bytes(view[SEALED_HEADER.size :]))
        cls, layout = _BY_TAG[tag]
        reader = Reader(view, start=1)
        values = [reader.read(kind, name) for name, kind in layout]
        reader.end()
        return cls(*values)
    except LocalProtocolError as exc:
        # The constructor refused a value the peer sent: translate, once.
        raise RemoteProtocolError(str(exc)) from exc
