"""Tests of protocol.messages: round trips, golden files, and the promise.

The promise (docs/protocol.md, house style §4): any bytes given to `parse`
yield one message or raise `RemoteProtocolError`, never another exception.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import struct
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol.codec import MAX_ENCODED_SIZE, MAX_JSON, Kind, Writer, load_json
from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.messages import (
    ENDING_REASONS,
    LAYOUTS,
    MAX_CIPHERTEXT,
    MAX_INPUT_CIPHERTEXT,
    Admit,
    ControlRelease,
    ControlRequest,
    ControlState,
    CreateSession,
    EndSession,
    Error,
    Frame,
    Hello,
    Input,
    Join,
    JoinRequest,
    KeyframeRequest,
    KeyUpdate,
    MemberJoined,
    MemberLeft,
    Message,
    PakeConfirm,
    PakeReply,
    PresentAnswer,
    PresenterChanged,
    PresentRequest,
    Reject,
    RejectReason,
    SealedHeader,
    SessionCreated,
    SessionEnded,
    SetPresenter,
    SignedIn,
    SignIn,
    Welcome,
    encode,
    parse,
    parse_sealed_header,
    peek_tag,
)
from protocol.wire import (
    FLAG_KEYFRAME,
    MAX_BLOB,
    MAX_CONTROL_MESSAGE,
    MAX_FRAME_MESSAGE,
    MAX_TEXT,
    SEALED_HEADER,
    SESSION_ID_MAX,
    SESSION_ID_MIN,
    ControlReason,
    Credential,
    PresentAnswerKind,
    PresenterReason,
    Tag,
)

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def _load_examples() -> dict[str, Message]:
    """EXAMPLES from tests/golden/make_golden.py, the one source of truth."""
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_DIR / "make_golden.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    examples: dict[str, Message] = module.EXAMPLES
    return examples


EXAMPLES = _load_examples()
GOLDEN = {name: (GOLDEN_DIR / "messages" / f"{name}.bin").read_bytes() for name in EXAMPLES}
MESSAGE_TYPES: tuple[type[Message], ...] = typing.get_args(Message)
SEALED_TYPES: dict[type[Message], Tag] = {Frame: Tag.FRAME, Input: Tag.INPUT}


def parse_or_refuse(data: bytes | bytearray | memoryview) -> Message | None:
    """Parse *data*, mapping the one allowed failure to None."""
    try:
        return parse(data)
    except RemoteProtocolError as exc:
        error = exc
    assert isinstance(error.code, ErrorCode)
    assert error.text
    return None


def refused(data: bytes | bytearray | memoryview) -> RemoteProtocolError:
    """The RemoteProtocolError parse raises for *data* (it must raise)."""
    with pytest.raises(RemoteProtocolError) as info:
        parse(data)
    return info.value


# -- strategies: every message type with valid field values -------------------

u8s = st.integers(0, 0xFF)
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFF_FFFF)
u64s = st.integers(0, 2**64 - 1)
members = st.integers(1, 0xFFFF)
session_ids = st.integers(SESSION_ID_MIN, SESSION_ID_MAX)
blobs = st.binary(max_size=MAX_BLOB)
texts = st.text(max_size=MAX_TEXT).map(
    # Cut to the cap in bytes of UTF-8, never inside a character.
    lambda s: s.encode("utf-8")[:MAX_TEXT].decode("utf-8", "ignore")
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
policies = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
grants = st.integers(1, 0xFFFF_FFFF)


@st.composite
def control_states(draw: st.DrawFn) -> ControlState:
    """Consistent ControlStates: who holds control agrees with the reason."""
    reason = draw(st.sampled_from(ControlReason))
    subject = draw(members)
    if reason is ControlReason.GRANTED:
        return ControlState(subject, draw(grants), subject, reason)
    if reason in ENDING_REASONS:
        return ControlState(0, draw(u32s), subject, reason)
    controller = draw(st.just(0) | members)  # REFUSED leaves control as it was
    grant = draw(grants) if controller else draw(u32s)
    return ControlState(controller, grant, subject, reason)


STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    Hello: st.builds(Hello, u16s, texts),
    Welcome: st.builds(Welcome, u16s, texts, policies),
    Error: st.builds(Error, st.sampled_from(ErrorCode), texts),
    SignIn: st.builds(SignIn, texts, texts),
    SignedIn: st.builds(SignedIn, texts, texts),
    CreateSession: st.builds(CreateSession, st.just(0) | session_ids),
    SessionCreated: st.builds(SessionCreated, session_ids, members),
    EndSession: st.builds(EndSession),
    SessionEnded: st.builds(SessionEnded, st.sampled_from(ErrorCode), texts),
    Join: st.builds(Join, session_ids, st.sampled_from(Credential), blobs),
    JoinRequest: st.builds(JoinRequest, members, st.sampled_from(Credential), blobs),
    PakeReply: st.builds(PakeReply, members, blobs),
    PakeConfirm: st.builds(PakeConfirm, members, blobs),
    Admit: st.builds(Admit, members, blobs, u32s, blobs),
    Reject: st.builds(Reject, members, st.sampled_from(RejectReason)),
    KeyUpdate: st.builds(KeyUpdate, members, u32s, blobs),
    MemberJoined: st.builds(MemberJoined, members, texts),
    MemberLeft: st.builds(MemberLeft, members),
    Frame: st.builds(Frame, u32s, members, u64s, u8s, st.binary(min_size=16, max_size=300)),
    KeyframeRequest: st.builds(KeyframeRequest),
    ControlRequest: st.builds(ControlRequest, members),
    ControlState: control_states(),
    Input: st.builds(
        Input, grants, members, u64s, st.just(0), st.binary(min_size=16, max_size=300)
    ),
    ControlRelease: st.builds(ControlRelease),
    PresentRequest: st.builds(PresentRequest, members),
    PresentAnswer: st.builds(PresentAnswer, st.sampled_from(PresentAnswerKind)),
    PresenterChanged: st.builds(
        PresenterChanged,
        st.integers(0, 0xFFFF),
        members,
        st.sampled_from(PresenterReason),
    ),
    SetPresenter: st.builds(SetPresenter, st.integers(0, 1)),
}
messages = st.one_of(*STRATEGIES.values())


# -- the tables agree with each other and with the spec -----------------------


def test_every_type_has_layout_strategy_and_golden_file() -> None:
    assert set(MESSAGE_TYPES) == set(LAYOUTS) == set(STRATEGIES)
    assert {type(msg) for msg in EXAMPLES.values()} == set(MESSAGE_TYPES)
    assert sorted(tag for tag, _ in LAYOUTS.values()) == sorted(Tag)
    # Nothing in the golden directory without an example.
    on_disk = {path.stem for path in (GOLDEN_DIR / "messages").glob("*.bin")}
    assert on_disk == set(EXAMPLES)


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda cls: cls.__name__)
def test_layout_names_the_dataclass_fields_in_order(cls: type[Message]) -> None:
    _, layout = LAYOUTS[cls]
    assert [name for name, _ in layout] == [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda cls: cls.__name__)
def test_no_control_message_can_exceed_its_cap(cls: type[Message]) -> None:
    _, layout = LAYOUTS[cls]
    if cls in SEALED_TYPES:
        # Header, then ciphertext to the end: capped by the message size cap
        # before parsing and by the constructor's ciphertext bound.
        assert [kind for _, kind in layout] == [Kind.U32, Kind.U16, Kind.U64, Kind.U8, Kind.REST]
        return
    largest = 1 + sum(MAX_ENCODED_SIZE[kind] for _, kind in layout)
    assert largest <= MAX_CONTROL_MESSAGE


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda cls: cls.__name__)
def test_messages_are_frozen_and_slotted(cls: type[Message]) -> None:
    msg = next(m for m in EXAMPLES.values() if type(m) is cls)
    assert not hasattr(msg, "__dict__")
    for f in dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(msg, f.name, getattr(msg, f.name))


# -- round trips --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_golden_file_parses_to_example(name: str) -> None:
    assert parse(GOLDEN[name]) == EXAMPLES[name]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_encodes_to_golden_file(name: str) -> None:
    assert encode(EXAMPLES[name]) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip_from_any_buffer_type(name: str) -> None:
    data = GOLDEN[name]
    for buffer in (data, bytearray(data), memoryview(data), memoryview(b"xx" + data)[2:]):
        assert parse(buffer) == EXAMPLES[name]
    assert peek_tag(data) == data[0]


@given(messages)
@example(Hello(0xFFFF, "é" * (MAX_TEXT // 2)))
@example(Admit(0xFFFF, b"\xff" * MAX_BLOB, 0xFFFF_FFFF, b"\x00" * MAX_BLOB))
@example(CreateSession(SESSION_ID_MIN))
@example(CreateSession(SESSION_ID_MAX))
def test_hypothesis_round_trip(msg: Message) -> None:
    data = encode(msg)
    assert peek_tag(data) is LAYOUTS[type(msg)][0]
    parsed = parse(data)
    assert parsed == msg
    assert type(parsed) is type(msg)
    assert encode(parsed) == data


# -- the promise: bytes give a message or RemoteProtocolError ---------------


@settings(max_examples=500)
@given(
    st.binary(max_size=200)
    | st.tuples(st.sampled_from(Tag), st.binary()).map(lambda t: bytes([t[0]]) + t[1])
)
def test_arbitrary_bytes_parse_or_refuse(data: bytes) -> None:
    msg = parse_or_refuse(data)
    if msg is not None and not isinstance(msg, Welcome):
        # Every encoding but JSON's is canonical: what parses re-encodes the same.
        assert encode(msg) == data


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_truncated_golden_files_are_refused(name: str) -> None:
    data = GOLDEN[name]
    for length in range(len(data)):
        msg = parse_or_refuse(data[:length])
        if msg is not None:
            # Only a sealed message can be cut and stay whole: its ciphertext is "rest".
            assert isinstance(msg, Frame | Input)
            assert length >= SEALED_HEADER.size + 16


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_golden_files_with_a_flipped_byte_parse_or_refuse(name: str) -> None:
    data = GOLDEN[name]
    for pos in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            mutated = bytearray(data)
            mutated[pos] ^= mask
            parse_or_refuse(bytes(mutated))


# A sealed message's ciphertext runs to the end: it has no trailing bytes.
@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {"frame", "input"}))
def test_trailing_bytes_are_refused(name: str) -> None:
    assert refused(GOLDEN[name] + b"\x00").code is ErrorCode.BAD_MESSAGE


# -- sizes and tags -------------------------------------------------------------


def test_empty_message_is_refused() -> None:
    assert refused(b"").code is ErrorCode.BAD_MESSAGE
    with pytest.raises(RemoteProtocolError):
        peek_tag(b"")


@pytest.mark.parametrize("value", sorted(set(range(256)) - set(Tag)))
def test_unknown_tag_is_refused(value: int) -> None:
    data = bytes([value]) + GOLDEN["hello"][1:]
    assert refused(data).code is ErrorCode.BAD_MESSAGE
    with pytest.raises(RemoteProtocolError):
        peek_tag(data)


@pytest.mark.parametrize("tag", [t for t in Tag if t is not Tag.FRAME])
def test_oversized_control_message_is_refused_before_parsing(tag: Tag) -> None:
    data = bytes([tag]) + bytes(MAX_CONTROL_MESSAGE)
    assert refused(data).code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(RemoteProtocolError) as info:
        peek_tag(data)
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    # One byte less is within the cap: refused for its content instead.
    assert refused(data[:-1]).code is ErrorCode.BAD_MESSAGE


def test_oversized_unknown_tag_is_too_large() -> None:
    data = b"\xee" + bytes(MAX_CONTROL_MESSAGE)
    assert refused(data).code is ErrorCode.MESSAGE_TOO_LARGE


def test_frame_cap() -> None:
    header = SEALED_HEADER.pack(Tag.FRAME, 1, 2, 3, 0)
    largest = bytearray(header) + bytes(MAX_CIPHERTEXT)
    assert len(largest) == MAX_FRAME_MESSAGE
    msg = parse(largest)
    assert isinstance(msg, Frame)
    assert len(msg.ciphertext) == MAX_CIPHERTEXT
    largest.append(0)
    assert refused(largest).code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(RemoteProtocolError) as info:
        parse_sealed_header(largest)
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(LocalProtocolError):
        Frame(1, 2, 3, 0, bytes(MAX_CIPHERTEXT + 1))


# -- field checks on the wire -------------------------------------------------


def hello_with_text(raw: bytes) -> bytes:
    return bytes([Tag.HELLO]) + struct.pack(">HH", 1, len(raw)) + raw


@pytest.mark.parametrize(
    "raw",
    [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\x80"],
    ids=["ff", "cut", "bad-continuation", "surrogate", "above-max", "stray"],
)
def test_invalid_utf8_is_refused(raw: bytes) -> None:
    assert refused(hello_with_text(raw)).code is ErrorCode.BAD_MESSAGE


def test_text_cap_is_checked_on_the_length_prefix() -> None:
    assert parse(hello_with_text(b"a" * MAX_TEXT)) == Hello(1, "a" * MAX_TEXT)
    error = refused(hello_with_text(b"a" * (MAX_TEXT + 1)))
    assert error.code is ErrorCode.BAD_MESSAGE
    # Refused by the reader on the prefix, not later by the constructor.
    assert error.__cause__ is None
    assert f"{MAX_TEXT + 1} bytes" in error.text


def test_length_prefix_longer_than_the_message_is_refused() -> None:
    data = bytes([Tag.HELLO]) + struct.pack(">HH", 1, 10) + b"abc"
    assert refused(data).code is ErrorCode.BAD_MESSAGE


def test_blob_cap_is_checked_on_the_length_prefix() -> None:
    def pake_reply(n: int) -> bytes:
        return bytes([Tag.PAKE_REPLY]) + struct.pack(">HH", 2, n) + bytes(n)

    assert parse(pake_reply(MAX_BLOB)) == PakeReply(2, bytes(MAX_BLOB))
    error = refused(pake_reply(MAX_BLOB + 1))
    assert error.__cause__ is None
    assert f"{MAX_BLOB + 1} bytes" in error.text


@pytest.mark.parametrize("session_id", [0, 1, SESSION_ID_MIN - 1, SESSION_ID_MAX + 1, 2**32 - 1])
def test_out_of_range_session_id_is_refused(session_id: int) -> None:
    join = bytes([Tag.JOIN]) + struct.pack(">IBH", session_id, 0, 0)
    assert refused(join).code is ErrorCode.BAD_MESSAGE
    created = bytes([Tag.SESSION_CREATED]) + struct.pack(">IH", session_id, 1)
    refused(created)
    with pytest.raises(LocalProtocolError):
        Join(session_id, Credential.PASSWORD, b"")


@pytest.mark.parametrize("requested", [1, SESSION_ID_MIN - 1, SESSION_ID_MAX + 1])
def test_create_session_takes_zero_or_a_session_id(requested: int) -> None:
    refused(bytes([Tag.CREATE_SESSION]) + struct.pack(">I", requested))
    with pytest.raises(LocalProtocolError):
        CreateSession(requested)
    assert parse(bytes([Tag.CREATE_SESSION, 0, 0, 0, 0])) == CreateSession(0)


def test_member_id_zero_is_refused() -> None:
    refused(bytes([Tag.MEMBER_LEFT, 0, 0]))
    frame = SEALED_HEADER.pack(Tag.FRAME, 1, 0, 0, 0) + bytes(16)
    refused(frame)
    with pytest.raises(RemoteProtocolError):
        parse_sealed_header(frame)
    with pytest.raises(LocalProtocolError):
        MemberLeft(0)


def test_unknown_enum_values_are_refused() -> None:
    assert refused(bytes([Tag.ERROR]) + struct.pack(">HH", 999, 0)).code is ErrorCode.BAD_MESSAGE
    refused(bytes([Tag.SESSION_ENDED]) + struct.pack(">HH", 0, 0))
    refused(bytes([Tag.JOIN]) + struct.pack(">IBH", SESSION_ID_MIN, 2, 0))
    refused(bytes([Tag.JOIN_REQUEST]) + struct.pack(">HBH", 2, 2, 0))
    refused(bytes([Tag.REJECT]) + struct.pack(">HB", 2, 2))


def test_enum_fields_are_stored_as_enum_members() -> None:
    assert Join(SESSION_ID_MIN, 1, b"").credential is Credential.LINK  # type: ignore[arg-type]
    assert Error(6, "").code is ErrorCode.ADMISSION_FAILED  # type: ignore[arg-type]
    assert Reject(2, 0).reason is RejectReason.CONFIRM_FAILED  # type: ignore[arg-type]
    msg = parse(GOLDEN["join_request"])
    assert isinstance(msg, JoinRequest)
    assert type(msg.credential) is Credential


# -- Frame and its header ------------------------------------------------------


def test_frame_encoding_is_header_then_ciphertext() -> None:
    frame = EXAMPLES["frame"]
    assert isinstance(frame, Frame)
    header = SEALED_HEADER.pack(Tag.FRAME, frame.epoch, frame.sender, frame.counter, frame.flags)
    assert frame.header == header
    assert encode(frame) == header + frame.ciphertext
    # The generic layout, written field by field, gives the same bytes.
    writer = Writer(Tag.FRAME)
    for name, kind in LAYOUTS[Frame][1]:
        writer.write(kind, getattr(frame, name))
    assert writer.getvalue() == encode(frame)


def test_sealed_header_reads_only_the_header() -> None:
    frame = EXAMPLES["frame"]
    assert isinstance(frame, Frame)
    header = parse_sealed_header(GOLDEN["frame"])
    assert header == SealedHeader(frame.epoch, frame.sender, frame.counter, frame.flags)
    assert header == (frame.epoch, frame.sender, frame.counter, frame.flags)
    assert header.keyframe is frame.keyframe is True


def test_sealed_header_refuses_what_parse_refuses() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_sealed_header(GOLDEN["hello"])
    short = GOLDEN["frame"][: SEALED_HEADER.size + 15]
    refused(short)
    with pytest.raises(RemoteProtocolError):
        parse_sealed_header(short)


@given(
    st.binary(max_size=64)
    | st.tuples(st.sampled_from([Tag.FRAME, Tag.INPUT]), st.binary(max_size=40)).map(
        lambda t: bytes([t[0]]) + t[1]
    )
)
def test_sealed_header_agrees_with_parse(data: bytes) -> None:
    msg = parse_or_refuse(data)
    for cls, tag in SEALED_TYPES.items():
        try:
            header = parse_sealed_header(data, tag)
        except RemoteProtocolError:
            assert not isinstance(msg, cls)
        else:
            assert isinstance(msg, Frame | Input)
            assert type(msg) is cls
            assert header == SEALED_HEADER.unpack(msg.header)[1:]


def test_sealed_header_of_an_input() -> None:
    msg = EXAMPLES["input"]
    assert isinstance(msg, Input)
    header = parse_sealed_header(GOLDEN["input"], Tag.INPUT)
    assert header == SealedHeader(msg.grant, msg.sender, msg.counter, msg.flags)
    assert header.grant == header.epoch == msg.grant
    # Each tag must be asked for by name: a Frame is not an Input, nor back.
    with pytest.raises(RemoteProtocolError, match="expected Frame, got INPUT"):
        parse_sealed_header(GOLDEN["input"])
    with pytest.raises(RemoteProtocolError, match="expected Input, got FRAME"):
        parse_sealed_header(GOLDEN["frame"], Tag.INPUT)


@pytest.mark.parametrize("tag", [t for t in Tag if t not in (Tag.FRAME, Tag.INPUT)])
def test_sealed_header_takes_only_sealed_tags(tag: Tag) -> None:
    with pytest.raises(LocalProtocolError):
        parse_sealed_header(GOLDEN["frame"], tag)


def test_input_cap_is_the_control_cap() -> None:
    header = SEALED_HEADER.pack(Tag.INPUT, 1, 2, 3, 0)
    largest = bytearray(header) + bytes(MAX_INPUT_CIPHERTEXT)
    assert len(largest) == MAX_CONTROL_MESSAGE
    msg = parse(largest)
    assert isinstance(msg, Input)
    assert parse_sealed_header(largest, Tag.INPUT) == (1, 2, 3, 0)
    largest.append(0)
    assert refused(largest).code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(RemoteProtocolError) as info:
        parse_sealed_header(largest, Tag.INPUT)
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(LocalProtocolError):
        Input(1, 2, 3, 0, bytes(MAX_INPUT_CIPHERTEXT + 1))


@pytest.mark.parametrize(
    ("grant", "sender", "flags", "size"),
    [(0, 2, 0, 16), (1, 0, 0, 16), (1, 2, 1, 16), (1, 2, FLAG_KEYFRAME | 0x80, 16), (1, 2, 0, 15)],
    ids=["grant-0", "sender-0", "flag", "flags", "short"],
)
def test_bad_input_header_is_refused_by_both_parsers(
    grant: int, sender: int, flags: int, size: int
) -> None:
    data = SEALED_HEADER.pack(Tag.INPUT, grant, sender, 0, flags) + bytes(size)
    refused(data)
    with pytest.raises(RemoteProtocolError):
        parse_sealed_header(data, Tag.INPUT)
    with pytest.raises(LocalProtocolError):
        Input(grant, sender, 0, flags, bytes(size))


def test_input_encoding_is_header_then_ciphertext() -> None:
    msg = EXAMPLES["input"]
    assert isinstance(msg, Input)
    header = SEALED_HEADER.pack(Tag.INPUT, msg.grant, msg.sender, msg.counter, msg.flags)
    assert msg.header == header
    assert encode(msg) == header + msg.ciphertext
    writer = Writer(Tag.INPUT)
    for name, kind in LAYOUTS[Input][1]:
        writer.write(kind, getattr(msg, name))
    assert writer.getvalue() == encode(msg)
    assert "40 bytes" in repr(msg)


# -- ControlState consistency ------------------------------------------------


@pytest.mark.parametrize(
    ("controller", "grant", "subject", "reason"),
    [
        (3, 1, 3, ControlReason.GRANTED),
        (0, 0, 3, ControlReason.DECLINED),
        (0, 0, 3, ControlReason.EXPIRED),
        (0, 4, 3, ControlReason.REVOKED_HOTKEY),
        (0, 4, 3, ControlReason.REVOKED_WINDOW),
        (0, 4, 3, ControlReason.RELEASED),
        (0, 4, 3, ControlReason.CONTROLLER_LEFT),
        (0, 0, 3, ControlReason.REFUSED),
        (2, 4, 3, ControlReason.REFUSED),
        (3, 4, 3, ControlReason.REFUSED),
    ],
)
def test_consistent_control_states(
    controller: int, grant: int, subject: int, reason: ControlReason
) -> None:
    msg = ControlState(controller, grant, subject, reason)
    assert parse(encode(msg)) == msg


@pytest.mark.parametrize(
    ("controller", "grant", "subject", "reason"),
    [
        (3, 0, 3, ControlReason.GRANTED),  # a controller without a grant
        (2, 1, 3, ControlReason.GRANTED),  # granted to someone other than the subject
        (0, 1, 3, ControlReason.GRANTED),  # granted to nobody
        (3, 1, 3, ControlReason.REVOKED_HOTKEY),  # still in control after a revoke
        (3, 1, 3, ControlReason.RELEASED),
        (2, 0, 3, ControlReason.REFUSED),
        (0, 1, 0, ControlReason.DECLINED),  # subject 0
        (0, 2**32, 3, ControlReason.DECLINED),
        (0x10000, 1, 3, ControlReason.REFUSED),
        (0, 0, 3, 9),  # no such reason
    ],
)
def test_inconsistent_control_states_are_refused(
    controller: int, grant: int, subject: int, reason: int
) -> None:
    with pytest.raises(LocalProtocolError):
        ControlState(controller, grant, subject, reason)  # type: ignore[arg-type]
    if max(controller, subject) <= 0xFFFF and grant <= 0xFFFF_FFFF:
        data = bytes([Tag.CONTROL_STATE]) + struct.pack(">HIHB", controller, grant, subject, reason)
        assert refused(data).code is ErrorCode.BAD_MESSAGE


def test_control_state_reason_is_an_enum_member() -> None:
    msg = parse(GOLDEN["control_state"])
    assert isinstance(msg, ControlState)
    assert type(msg.reason) is ControlReason
    assert msg.reason is ControlReason.GRANTED


def test_keyframe_flag() -> None:
    assert Frame(0, 1, 0, FLAG_KEYFRAME | 0x80, bytes(16)).keyframe
    assert not Frame(0, 1, 0, 0x80, bytes(16)).keyframe


def test_frame_ciphertext_must_hold_the_gcm_tag() -> None:
    with pytest.raises(LocalProtocolError):
        Frame(0, 1, 0, 0, bytes(15))
    refused(SEALED_HEADER.pack(Tag.FRAME, 0, 1, 0, 0) + bytes(15))


def test_reprs_hide_secrets_and_bulk() -> None:
    assert "horse" not in repr(EXAMPLES["sign_in"])
    frame_repr = repr(Frame(0, 1, 0, 0, b"\xab" * 1000))
    assert "1000 bytes" in frame_repr
    assert len(frame_repr) < 200


# -- JSON (Welcome.policy) ------------------------------------------------------


def welcome_with_json(raw: bytes) -> bytes:
    return bytes([Tag.WELCOME]) + struct.pack(">HH", 1, 0) + struct.pack(">I", len(raw)) + raw


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"1",
        b'"text"',
        b"null",
        b"",
        b"{",
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":1,"a":2}',
        b'{"a":"\xff"}',
        b'{"a":' + b"9" * 5000 + b"}",
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    ],
    ids=[
        "list",
        "number",
        "string",
        "null",
        "empty",
        "cut",
        "nan",
        "infinity",
        "duplicate-key",
        "bad-utf8",
        "huge-int",
        "deep-list",
        "deep-object",
    ],
)
def test_bad_json_is_refused(raw: bytes) -> None:
    assert refused(welcome_with_json(raw)).code is ErrorCode.BAD_MESSAGE


def test_json_cap() -> None:
    def policy_of_size(size: int) -> dict[str, Any]:
        return {"p": "x" * (size - len('{"p":""}'))}

    largest = Welcome(1, "", policy_of_size(MAX_JSON))
    assert len(encode(largest)) < MAX_CONTROL_MESSAGE
    assert parse(encode(largest)) == largest
    with pytest.raises(LocalProtocolError):
        Welcome(1, "", policy_of_size(MAX_JSON + 1))
    raw = json.dumps(policy_of_size(MAX_JSON + 1), separators=(",", ":")).encode()
    assert len(raw) == MAX_JSON + 1
    error = refused(welcome_with_json(raw))
    assert error.__cause__ is None  # refused on the prefix, before json.loads
    assert f"{MAX_JSON + 1} bytes" in error.text


@pytest.mark.parametrize("raw", [b"[]", b"1", b"null", b'"{}"'])
def test_load_json_refuses_non_objects(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="must be an object"):
        load_json(raw)


def test_non_canonical_json_is_accepted() -> None:
    msg = parse(welcome_with_json(b' { "b" : 1 , "a" : [ true ] } '))
    assert msg == Welcome(1, "", {"a": [True], "b": 1})


def test_welcome_keeps_its_own_copy_of_the_policy() -> None:
    policy: dict[str, Any] = {"limits": {"viewers": 8}}
    msg = Welcome(1, "v", policy)
    policy["limits"]["viewers"] = 9
    assert msg.policy == {"limits": {"viewers": 8}}


# -- construction by our own code -------------------------------------------


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (Hello, (-1, "")),
        (Hello, (0x10000, "")),
        (Hello, (True, "")),
        (Hello, (1.0, "")),
        (Hello, (1, b"bytes")),
        (Hello, (1, "a" * (MAX_TEXT + 1))),
        (Hello, (1, "é" * (MAX_TEXT // 2 + 1))),
        (Hello, (1, "\ud800")),
        (Welcome, (1, "", [])),
        (Welcome, (1, "", {"a": float("nan")})),
        (Welcome, (1, "", {"a": (1, 2)})),
        (Welcome, (1, "", {1: 2})),
        (Welcome, (1, "", {"a": object()})),
        (Error, (999, "")),
        (Error, (ErrorCode.INTERNAL, None)),
        (CreateSession, (False,)),
        (CreateSession, (0.0,)),
        (SessionCreated, (SESSION_ID_MIN, 0)),
        (Join, (SESSION_ID_MIN, 2, b"")),
        (Join, (SESSION_ID_MIN, Credential.LINK, bytearray(b"x"))),
        (Join, (SESSION_ID_MIN, Credential.LINK, bytes(MAX_BLOB + 1))),
        (PakeReply, (0x10000, b"")),
        (Admit, (2, b"", 2**32, b"")),
        (Reject, (2, 7)),
        (KeyUpdate, (2, -1, b"")),
        (Frame, (0, 1, 2**64, 0, bytes(16))),
        (Frame, (0, 1, 0, 0x100, bytes(16))),
        (Frame, (0, 1, 0, 0, "x" * 16)),
        (ControlRequest, (0,)),
        (ControlRequest, (0x10000,)),
        (Input, (0, 1, 0, 0, bytes(16))),
        (Input, (1, 1, 0, 1, bytes(16))),
        (Input, (1, 1, 0, 0, bytes(15))),
        (Input, (1, 1, 2**64, 0, bytes(16))),
    ],
)
def test_invalid_construction_raises_local_protocol_error(
    cls: type[Message], args: tuple[Any, ...]
) -> None:
    with pytest.raises(LocalProtocolError):
        cls(*args)


def test_encode_refuses_non_messages() -> None:
    with pytest.raises(LocalProtocolError):
        encode("hello")  # type: ignore[arg-type]


def test_remote_error_from_validation_keeps_the_cause() -> None:
    error = refused(bytes([Tag.MEMBER_LEFT, 0, 0]))
    assert isinstance(error.__cause__, LocalProtocolError)
    assert "MemberLeft.member_id" in error.text
