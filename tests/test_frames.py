"""Tests of protocol.frames: round trips, golden file, and the promise that any
bytes parse or raise RemoteProtocolError."""

from __future__ import annotations

import contextlib
import importlib.util
import struct
from pathlib import Path
from types import ModuleType

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.frames import (
    HEADER,
    MAX_SCREEN_SIDE,
    RECT,
    Encoding,
    FrameHeader,
    Rect,
    copy_source,
    encode_copy_source,
    encode_frame_header,
    max_rect_data,
    parse_frame,
)
from protocol.wire import MAX_FRAME_MESSAGE

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

#: The golden payload's header and rect table, written from docs/protocol.md
#: by hand (not by the code under test).
GOLDEN_HEAD_HEX = (
    "01"  # version
    "01"  # flags: key frame
    "0102030405060708"  # seq
    "17979cfe362a0001"  # capture_ns = 1_700_000_000_000_000_001
    "0005"
    "0003"  # width, height
    "00000002"  # n_rects
    "0000"
    "0000"
    "0005"
    "0002"
    "00"
    "00000028"  # rect 0: 5x2 at 0,0, raw, 40 bytes
    "0000"
    "0002"
    "0005"
    "0001"
    "00"
    "00000014"  # rect 1: 5x1 at 0,2, raw, 20 bytes
)


def _golden_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_frame_golden", GOLDEN_DIR / "make_frame_golden.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLDEN = _golden_module()
GOLDEN_BYTES = (GOLDEN_DIR / "frame_payload.bin").read_bytes()
MOVE_BYTES = (GOLDEN_DIR / "frame_move_payload.bin").read_bytes()

#: The move payload's header and rect table, from docs/protocol.md by hand.
MOVE_HEAD_HEX = (
    "01"  # version
    "00"  # flags: a delta
    "0102030405060709"  # seq
    "17979cfe362a0002"  # capture_ns
    "0005"
    "0003"  # width, height
    "00000003"  # n_rects
    "0001"
    "0001"
    "0004"
    "0002"
    "01"
    "00000004"  # rect 0: 4x2 at 1,1, copy, 4 bytes
    "0000"
    "0000"
    "0002"
    "0001"
    "01"
    "00000004"  # rect 1: 2x1 at 0,0, copy, 4 bytes
    "0002"
    "0000"
    "0003"
    "0001"
    "00"
    "0000000c"  # rect 2: 3x1 at 2,0, raw, 12 bytes
)
#: The move payload's blob content: the sources (0, 0) and (3, 2), then pixels.
MOVE_DATA_HEX = "0000000000030002" + "a0b0c0d0" * 3


def compress(data: bytes, *, write_checksum: bool = False) -> bytes:
    compressor = zstandard.ZstdCompressor(
        level=1, write_content_size=True, write_checksum=write_checksum
    )
    return compressor.compress(data)


def payload(header: FrameHeader, rects: list[Rect], data: bytes | None = None) -> bytes:
    if data is None:
        data = bytes(sum(r.length for r in rects))
    return encode_frame_header(header, rects) + compress(data)


def raw(x: int, y: int, w: int, h: int) -> Rect:
    return Rect(x, y, w, h, Encoding.RAW_BGRX, w * h * 4)


def head(
    *,
    version: int = 1,
    flags: int = 0,
    seq: int = 0,
    capture_ns: int = 0,
    width: int = 64,
    height: int = 64,
    n_rects: int = 0,
) -> bytes:
    return HEADER.pack(version, flags, seq, capture_ns, width, height, n_rects)


def refused(data: bytes | memoryview) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        parse_frame(data)
    return info.value


# -- golden file -----------------------------------------------------------


def test_golden_file_parses_to_example() -> None:
    header, rects, blob = parse_frame(GOLDEN_BYTES)
    assert header == GOLDEN.HEADER
    assert header.keyframe
    assert rects == list(GOLDEN.RECTS)
    assert zstandard.ZstdDecompressor().decompress(blob) == GOLDEN.PIXELS


def test_example_encodes_to_golden_file() -> None:
    encoded = encode_frame_header(GOLDEN.HEADER, GOLDEN.RECTS)
    assert encoded.hex() == GOLDEN_HEAD_HEX
    assert GOLDEN_BYTES.startswith(encoded)
    # The blob is zstd's business: compare what it holds, not its bytes,
    # so a zstd release that compresses differently does not break this.
    blob = GOLDEN_BYTES[len(encoded) :]
    assert zstandard.ZstdDecompressor().decompress(blob) == GOLDEN.PIXELS
    assert parse_frame(GOLDEN.payload())[:2] == parse_frame(GOLDEN_BYTES)[:2]


def test_move_golden_file_both_ways() -> None:
    header, rects, blob = parse_frame(MOVE_BYTES)
    assert header == GOLDEN.MOVE_HEADER and not header.keyframe
    assert rects == list(GOLDEN.MOVE_RECTS)
    assert zstandard.ZstdDecompressor().decompress(blob).hex() == MOVE_DATA_HEX
    encoded = encode_frame_header(GOLDEN.MOVE_HEADER, GOLDEN.MOVE_RECTS)
    assert encoded.hex() == MOVE_HEAD_HEX
    assert MOVE_BYTES.startswith(encoded)
    assert GOLDEN.MOVE_DATA.hex() == MOVE_DATA_HEX


@pytest.mark.parametrize("length", range(len(MOVE_BYTES)))
def test_every_truncation_of_the_move_golden_file_is_refused(length: int) -> None:
    refused(MOVE_BYTES[:length])


@pytest.mark.parametrize("length", range(len(GOLDEN_BYTES)))
def test_every_truncation_of_the_golden_file_is_refused(length: int) -> None:
    refused(GOLDEN_BYTES[:length])


def test_every_truncation_of_a_large_payload_is_refused() -> None:
    # Several zstd blocks (the blob walk must notice a cut in any of them).
    rects = [raw(0, 0, 640, 480)]
    data = bytes(range(256)) * (640 * 480 * 4 // 256)
    full = payload(FrameHeader(1, 0, 0, 640, 480), rects, data)
    parse_frame(full)
    cuts = set(range(0, len(full), max(1, len(full) // 500))) | {len(full) - 1}
    for length in sorted(cuts):
        refused(full[:length])


@given(st.integers(0, len(GOLDEN_BYTES) - 1), st.integers(1, 255))
def test_golden_file_with_a_changed_byte_parses_or_refuses(index: int, xor: int) -> None:
    data = bytearray(GOLDEN_BYTES)
    data[index] ^= xor
    with contextlib.suppress(RemoteProtocolError):
        parse_frame(bytes(data))


def test_trailing_bytes_are_refused() -> None:
    refused(GOLDEN_BYTES + b"\x00")
    blob = compress(GOLDEN.PIXELS)
    refused(encode_frame_header(GOLDEN.HEADER, GOLDEN.RECTS) + blob + blob)


def test_parse_accepts_a_memoryview_and_returns_a_view_of_it() -> None:
    data = bytearray(GOLDEN_BYTES)
    header, _, blob = parse_frame(memoryview(data))
    assert header == GOLDEN.HEADER
    assert blob.obj is data


# -- round trips -------------------------------------------------------------


@st.composite
def frames(draw: st.DrawFn) -> tuple[FrameHeader, list[Rect]]:
    width = draw(st.integers(1, MAX_SCREEN_SIDE))
    height = draw(st.integers(1, MAX_SCREEN_SIDE))
    header = FrameHeader(
        flags=draw(st.sampled_from([0, 1])),
        seq=draw(st.integers(0, 2**64 - 1)),
        capture_ns=draw(st.integers(0, 2**64 - 1)),
        width=width,
        height=height,
    )
    rects = []
    for _ in range(draw(st.integers(0, 6))):
        w = draw(st.integers(1, min(width, 40)))
        h = draw(st.integers(1, min(height, 40)))
        x = draw(st.integers(0, width - w))
        y = draw(st.integers(0, height - h))
        copy = not header.keyframe and draw(st.booleans())
        rects.append(Rect(x, y, w, h, Encoding.COPY, 4) if copy else raw(x, y, w, h))
    return header, rects


@given(frames())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(frame: tuple[FrameHeader, list[Rect]]) -> None:
    header, rects = frame
    total = sum(r.length for r in rects)
    data = bytes(i % 251 for i in range(total))
    parsed_header, parsed_rects, blob = parse_frame(payload(header, rects, data))
    assert parsed_header == header
    assert parsed_rects == rects
    assert zstandard.ZstdDecompressor().decompress(blob) == data


@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_refuse(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_frame(data)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_a_valid_header_parse_or_refuse(tail: bytes) -> None:
    for prefix in (head(), head(n_rects=1), head(flags=1, n_rects=2)):
        with contextlib.suppress(RemoteProtocolError):
            parse_frame(prefix + tail)


@given(st.binary(max_size=200))
def test_arbitrary_blob_parses_or_refuses(blob: bytes) -> None:
    for prefix in (encode_frame_header(GOLDEN.HEADER, GOLDEN.RECTS), head()):
        for data in (prefix + blob, prefix + b"\x28\xb5\x2f\xfd" + blob):
            with contextlib.suppress(RemoteProtocolError):
                parse_frame(data)


# -- each rule -------------------------------------------------------------


def test_too_short_for_the_header() -> None:
    refused(b"")
    refused(head()[:-1])


def test_larger_than_a_frame_message() -> None:
    error = refused(bytes(MAX_FRAME_MESSAGE + 1))
    assert error.code == ErrorCode.MESSAGE_TOO_LARGE


def test_unknown_version() -> None:
    good = payload(FrameHeader(0, 0, 0, 4, 4), [])
    parse_frame(good)
    for version in (0, 2, 255):
        assert "version" in refused(bytes([version]) + good[1:]).text


@pytest.mark.parametrize("flags", [8, 0x80, 0xFF])
def test_unknown_flags(flags: int) -> None:
    good = payload(FrameHeader(0, 0, 0, 4, 4), [])
    assert "flags" in refused(good[:1] + bytes([flags]) + good[2:]).text


@pytest.mark.parametrize(
    ("width", "height"), [(0, 1), (1, 0), (8193, 1), (1, 8193), (65535, 65535)]
)
def test_screen_size_out_of_range(width: int, height: int) -> None:
    refused(head(width=width, height=height) + compress(b""))


def test_largest_screen_is_accepted() -> None:
    header, _, _ = parse_frame(head(width=8192, height=8192) + compress(b""))
    assert (header.width, header.height) == (8192, 8192)


def test_huge_rect_count_is_refused_before_reading_the_table() -> None:
    # 2**32 - 1 rects: refused by the cap, without reading (or allocating) anything.
    assert "rects" in refused(head(n_rects=0xFFFF_FFFF)).text
    # Under the cap, but the table is not there.
    assert "rect table" in refused(head(n_rects=1000) + bytes(100)).text


def test_rect_count_cap_follows_the_screen_size() -> None:
    cap = max_rect_data(1, 1) // 4
    refused(head(width=1, height=1, n_rects=cap + 1) + bytes(RECT.size))


def test_total_length_over_the_cap_is_refused() -> None:
    # Three overlapping full-screen rects of 512x512: 3 MiB > 4*512*512 + 1 MiB.
    rect = RECT.pack(0, 0, 512, 512, 0, 512 * 512 * 4)
    data = head(width=512, height=512, n_rects=3) + rect * 3 + compress(b"")
    assert "more bytes" in refused(data).text
    # Two are within the cap (overlapping rects are allowed).
    header = FrameHeader(0, 0, 0, 512, 512)
    parse_frame(payload(header, [raw(0, 0, 512, 512)] * 2))


@pytest.mark.parametrize(
    ("x", "y", "w", "h", "encoding", "length", "words"),
    [
        (0, 0, 0, 1, 0, 0, "empty"),
        (0, 0, 1, 0, 0, 0, "empty"),
        (0, 0, 1, 1, 5, 4, "encoding"),
        (0, 0, 1, 1, 4, 3, "raw rect 1x1 must hold 4 bytes, not 3"),
        (0, 0, 1, 1, 3, 4, "palette rect 1x1 cannot hold 4 bytes"),
        (0, 0, 1, 1, 3, 5, "palette rect 1x1 cannot hold 5 bytes"),
        (0, 0, 1, 1, 3, 1 + 4 * 256 + 2, "palette rect 1x1 cannot hold"),
        (0, 0, 9, 2, 3, 1 + 4 * 3 + 2 * 3 + 1, "palette rect 9x2 cannot hold"),
        (0, 0, 1, 1, 255, 4, "encoding"),
        (0, 0, 1, 1, 2, 0, "JPEG rect 1x1 may hold 1..4100 bytes, not 0"),
        (0, 0, 1, 1, 2, 4101, "JPEG rect 1x1 may hold"),
        (0, 0, 1, 1, 1, 5, "copy rect must hold 4"),
        (0, 0, 2, 2, 1, 16, "copy rect must hold 4"),
        (60, 0, 8, 1, 1, 4, "outside"),
        (0, 0, 1, 1, 0, 3, "must hold"),
        (0, 0, 1, 1, 0, 5, "must hold"),
        (0, 0, 65, 1, 0, 260, "outside"),
        (0, 0, 1, 65, 0, 260, "outside"),
        (64, 0, 1, 1, 0, 4, "outside"),
        (0, 64, 1, 1, 0, 4, "outside"),
        (63, 63, 2, 1, 0, 8, "outside"),
        (65535, 65535, 65535, 65535, 0, 0xFFFF_FFFF, "must hold"),
    ],
)
def test_bad_rect_is_refused(
    x: int, y: int, w: int, h: int, encoding: int, length: int, words: str
) -> None:
    data = head(n_rects=1) + RECT.pack(x, y, w, h, encoding, length) + compress(b"")
    assert words in refused(data).text


def test_a_key_frame_holds_no_copy_rect() -> None:
    copy = RECT.pack(0, 0, 1, 1, Encoding.COPY, 4)
    data = head(flags=1, n_rects=1) + copy + compress(encode_copy_source(0, 0))
    assert "no copy rect" in refused(data).text
    with pytest.raises(LocalProtocolError, match="no copy rect"):
        encode_frame_header(FrameHeader(1, 0, 0, 4, 4), [Rect(0, 0, 1, 1, Encoding.COPY, 4)])
    # In a delta it parses; its source is in the blob, checked by copy_source.
    _, rects, _ = parse_frame(data[:1] + b"\x00" + data[2:])
    assert rects == [Rect(0, 0, 1, 1, Encoding.COPY, 4)]


@pytest.mark.parametrize(
    ("src", "ok"),
    [((0, 0), True), ((60, 62), True), ((61, 62), False), ((60, 63), False), ((65535, 0), False)],
)
def test_copy_source_must_lie_inside_the_screen(src: tuple[int, int], ok: bool) -> None:
    rect = Rect(10, 10, 4, 2, Encoding.COPY, 4)
    data = b"xx" + encode_copy_source(*src)
    if ok:
        assert copy_source(data, 2, rect, 64, 64) == src
    else:
        with pytest.raises(RemoteProtocolError, match="copy source 4x2"):
            copy_source(data, 2, rect, 64, 64)


def test_rect_touching_the_screen_edges_is_accepted() -> None:
    header = FrameHeader(0, 0, 0, 64, 48)
    rects = [raw(63, 47, 1, 1), raw(0, 0, 64, 48)]
    assert parse_frame(payload(header, rects))[1] == rects


def test_zero_rects_are_accepted() -> None:
    header = FrameHeader(0, 5, 6, 10, 10)
    assert parse_frame(payload(header, [])) == (header, [], memoryview(compress(b"")))


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"", "not a zstd frame"),
        (b"\x00" * 20, "not a zstd frame"),
        (b"\x28\xb5\x2f\xfd", "header"),
        # A skippable frame is not the frame we want.
        (b"\x50\x2a\x4d\x18" + struct.pack("<I", 4) + b"abcd", "not a zstd frame"),
    ],
)
def test_blob_that_is_not_a_zstd_frame(blob: bytes, words: str) -> None:
    assert words in refused(head(n_rects=1) + RECT.pack(0, 0, 1, 1, 0, 4) + blob).text


def test_blob_content_size_must_equal_the_rects() -> None:
    prefix = head(n_rects=1) + RECT.pack(0, 0, 1, 1, 0, 4)
    parse_frame(prefix + compress(b"abcd"))
    assert "declares" in refused(prefix + compress(b"abc")).text
    assert "declares" in refused(prefix + compress(b"abcde")).text
    unknown = zstandard.ZstdCompressor(write_content_size=False).compress(b"abcd")
    assert "declares" in refused(prefix + unknown).text


def test_blob_with_a_checksum_is_walked_to_its_end() -> None:
    prefix = head(n_rects=1) + RECT.pack(0, 0, 1, 1, 0, 4)
    blob = compress(b"abcd", write_checksum=True)
    parse_frame(prefix + blob)
    refused(prefix + blob[:-1])
    refused(prefix + blob + b"\x00")


def test_hand_made_zstd_frames() -> None:
    # magic, descriptor (single segment; 0x21 adds a 1-byte dictionary id),
    # [dictionary id], content size 4, one last raw block of 4 bytes.
    prefix = head(n_rects=1) + RECT.pack(0, 0, 1, 1, 0, 4)
    magic, block = b"\x28\xb5\x2f\xfd", b"\x21\x00\x00abcd"
    _, _, blob = parse_frame(prefix + magic + b"\x20\x04" + block)
    assert zstandard.ZstdDecompressor().decompress(blob) == b"abcd"
    assert "dictionary" in refused(prefix + magic + b"\x21\x07\x04" + block).text
    # Block type 3 is reserved.
    refused(prefix + magic + b"\x20\x04" + b"\x27\x00\x00abcd")
    # A block larger than zstd allows (128 KiB + 1).
    size = (128 * 1024 + 1) << 3 | 1
    refused(prefix + magic + b"\x20\x04" + size.to_bytes(3, "little") + b"abcd")
    # No last block.
    refused(prefix + magic + b"\x20\x04" + b"\x20\x00\x00abcd")
    # An RLE block is one byte long whatever its size says.
    rle = prefix + magic + b"\x20\x04" + b"\x23\x00\x00a"
    assert zstandard.ZstdDecompressor().decompress(parse_frame(rle)[2]) == b"aaaa"


# -- construction and encoding (our own mistakes) ---------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        (8, 0, 0, 1, 1),
        (256, 0, 0, 1, 1),
        (-1, 0, 0, 1, 1),
        (0, -1, 0, 1, 1),
        (0, 2**64, 0, 1, 1),
        (0, 0, 2**64, 1, 1),
        (0, 0, 0, 0, 1),
        (0, 0, 0, 1, 8193),
    ],
)
def test_bad_header_fields_are_local_errors(fields: tuple[int, int, int, int, int]) -> None:
    with pytest.raises(LocalProtocolError):
        FrameHeader(*fields)


@pytest.mark.parametrize(
    "fields",
    [
        (0, 0, 0, 1, Encoding.RAW_BGRX, 0),
        (0, 0, 1, 1, Encoding.RAW_BGRX, 5),
        (-1, 0, 1, 1, Encoding.RAW_BGRX, 4),
        (0, 65536, 1, 1, Encoding.RAW_BGRX, 4),
        (0, 0, 65536, 1, Encoding.RAW_BGRX, 65536 * 4),
        (0, 0, 1, 1, 7, 4),
        (0, 0, 1, 1, Encoding.COPY, 0),
    ],
)
def test_bad_rect_fields_are_local_errors(fields: tuple[int, ...]) -> None:
    with pytest.raises(LocalProtocolError):
        Rect(*fields)  # type: ignore[arg-type]


def test_encoding_a_rect_outside_the_screen_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame_header(FrameHeader(0, 0, 0, 10, 10), [raw(5, 5, 6, 1)])


def test_encoding_more_data_than_the_cap_is_a_local_error() -> None:
    header = FrameHeader(0, 0, 0, 512, 512)
    with pytest.raises(LocalProtocolError):
        encode_frame_header(header, [raw(0, 0, 512, 512)] * 3)


def test_keyframe_property() -> None:
    assert FrameHeader(1, 0, 0, 1, 1).keyframe
    assert not FrameHeader(0, 0, 0, 1, 1).keyframe


def test_objects_are_frozen() -> None:
    header = FrameHeader(0, 0, 0, 1, 1)
    with pytest.raises(AttributeError):
        header.seq = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        raw(0, 0, 1, 1).x = 1  # type: ignore[misc]
