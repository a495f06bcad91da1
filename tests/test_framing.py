"""Tests of protocol.framing: length-prefixed messages over a byte stream."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.framing import LENGTH_PREFIX, DecoderStatistics, StreamDecoder, frame_message
from protocol.messages import (
    EndSession,
    Frame,
    Hello,
    KeyframeRequest,
    Message,
    PakeReply,
    Welcome,
    encode,
)
from protocol.wire import MAX_CONTROL_MESSAGE, MAX_FRAME_MESSAGE, SEALED_HEADER, Tag

SAMPLES: list[Message] = [
    Hello(1, "host 0.1"),
    Welcome(1, "relay 0.1", {"viewers": 8}),
    EndSession(),
    PakeReply(2, bytes(range(33))),
    Frame(3, 1, 0, 1, bytes(range(64))),
    KeyframeRequest(),
    Frame(3, 1, 1, 0, bytes(5000)),
]


def stream_of(msgs: list[Message]) -> bytes:
    return b"".join(frame_message(encode(msg)) for msg in msgs)


def drain(decoder: StreamDecoder) -> list[Message]:
    out: list[Message] = []
    while (msg := decoder.next_message()) is not None:
        out.append(msg)
    return out


def decode_in_chunks(data: bytes, cuts: list[int]) -> list[Message]:
    """Feed *data* split at *cuts*, taking messages after every chunk."""
    decoder = StreamDecoder()
    out: list[Message] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        decoder.feed(data[start:cut])
        out.extend(drain(decoder))
        start = cut
    decoder.feed_eof()
    assert decoder.statistics() == DecoderStatistics(0, 0, len(out))
    return out


def test_frame_message_prefixes_the_length() -> None:
    data = encode(SAMPLES[0])
    assert frame_message(data) == struct.pack(">I", len(data)) + data
    assert frame_message(memoryview(data)) == frame_message(bytearray(data))


def test_frame_message_refuses_empty_and_oversized_messages() -> None:
    with pytest.raises(LocalProtocolError):
        frame_message(b"")
    with pytest.raises(LocalProtocolError):
        frame_message(memoryview(bytearray(MAX_FRAME_MESSAGE + 1)))


def test_fed_whole() -> None:
    decoder = StreamDecoder()
    decoder.feed(stream_of(SAMPLES))
    assert decoder.statistics().pending_messages == len(SAMPLES)
    assert drain(decoder) == SAMPLES
    decoder.feed_eof()


def test_fed_byte_by_byte() -> None:
    data = stream_of(SAMPLES)
    assert decode_in_chunks(data, list(range(1, len(data)))) == SAMPLES


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(SAMPLES), max_size=10),
    st.lists(st.integers(0, 20_000), max_size=30),
)
def test_fed_in_random_chunks(msgs: list[Message], cuts: list[int]) -> None:
    data = stream_of(msgs)
    assert decode_in_chunks(data, [min(cut, len(data)) for cut in cuts]) == msgs


def test_statistics_track_buffers_and_progress() -> None:
    decoder = StreamDecoder()
    data = stream_of(SAMPLES[:2])
    decoder.feed(data[:-3])
    assert decoder.statistics() == DecoderStatistics(len(data) - 3 - 2 * 4, 1, 0)
    assert decoder.next_message() == SAMPLES[0]
    assert decoder.next_message() is None
    decoder.feed(data[-3:])
    assert decoder.next_message() == SAMPLES[1]
    assert decoder.statistics() == DecoderStatistics(0, 0, 2)


def test_oversized_prefix_errors_before_buffering() -> None:
    prefix = LENGTH_PREFIX.pack(MAX_FRAME_MESSAGE + 1)
    decoder = StreamDecoder()
    decoder.feed(prefix[:3])
    # The fourth byte of the prefix alone is enough to refuse it.
    with pytest.raises(RemoteProtocolError) as info:
        decoder.feed(prefix[3:])
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    assert decoder.statistics().buffered_bytes == 0
    # Even when the body claims to be a Frame.
    decoder = StreamDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        decoder.feed(prefix + bytes([Tag.FRAME]) + bytes(1000))
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    assert decoder.statistics().buffered_bytes == 0
    # The stream is out of step now: everything after is refused the same way.
    with pytest.raises(RemoteProtocolError) as again:
        decoder.feed(b"\x00")
    assert again.value.code is ErrorCode.MESSAGE_TOO_LARGE
    with pytest.raises(RemoteProtocolError):
        decoder.next_message()


def test_largest_prefix_is_accepted_for_a_frame_only() -> None:
    decoder = StreamDecoder()
    decoder.feed(LENGTH_PREFIX.pack(MAX_FRAME_MESSAGE) + bytes([Tag.FRAME]))
    assert decoder.statistics().buffered_bytes == 1

    decoder = StreamDecoder()
    decoder.feed(LENGTH_PREFIX.pack(MAX_CONTROL_MESSAGE + 1))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.feed(bytes([Tag.HELLO]) + bytes(1000))
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    assert decoder.statistics().buffered_bytes == 0


def test_largest_control_prefix_is_buffered() -> None:
    decoder = StreamDecoder()
    decoder.feed(LENGTH_PREFIX.pack(MAX_CONTROL_MESSAGE) + bytes([Tag.HELLO]))
    assert decoder.statistics().buffered_bytes == 1


def test_a_bad_message_does_not_desynchronise_the_stream() -> None:
    good = encode(SAMPLES[0])
    decoder = StreamDecoder()
    decoder.feed(frame_message(good + b"\x00") + frame_message(good))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_message()
    assert info.value.code is ErrorCode.BAD_MESSAGE
    assert decoder.next_message() == SAMPLES[0]
    assert decoder.statistics() == DecoderStatistics(0, 0, 1)


def test_zero_length_message_is_refused_when_taken() -> None:
    decoder = StreamDecoder()
    decoder.feed(LENGTH_PREFIX.pack(0) + frame_message(encode(SAMPLES[2])))
    with pytest.raises(RemoteProtocolError):
        decoder.next_message()
    assert decoder.next_message() == SAMPLES[2]


def test_eof_inside_a_message_is_refused() -> None:
    data = stream_of(SAMPLES[:1])
    for cut in (1, 4, len(data) - 1):
        decoder = StreamDecoder()
        decoder.feed(data[:cut])
        with pytest.raises(RemoteProtocolError):
            decoder.feed_eof()


def test_frame_body_is_passed_through_unchanged() -> None:
    frame = Frame(9, 2, 7, 0, bytes(range(256)) * 4)
    raw = SEALED_HEADER.pack(Tag.FRAME, 9, 2, 7, 0) + frame.ciphertext
    decoder = StreamDecoder()
    decoder.feed(frame_message(raw))
    assert decoder.next_message() == frame


#: Streams of framed garbage (so bodies reach parse) mixed with loose bytes.
garbage_streams = st.lists(
    st.binary(max_size=40).map(lambda body: LENGTH_PREFIX.pack(len(body)) + body)
    | st.binary(max_size=8),
    max_size=12,
).map(b"".join)


@settings(max_examples=300)
@given(st.binary(max_size=300) | garbage_streams, st.lists(st.integers(0, 300), max_size=10))
def test_arbitrary_stream_gives_messages_or_remote_protocol_error(
    data: bytes, cuts: list[int]
) -> None:
    decoder = StreamDecoder()
    start = 0
    try:
        for cut in [*sorted(min(cut, len(data)) for cut in cuts), len(data)]:
            decoder.feed(data[start:cut])
            start = cut
            for _ in range(len(data) + 1):  # bounded: each message takes 4 bytes
                try:
                    if decoder.next_message() is None:
                        break
                except RemoteProtocolError:
                    continue  # that message is consumed; the stream goes on
        decoder.feed_eof()
    except RemoteProtocolError:
        pass
