"""Regenerate tests/golden/frame_payload.bin, frame_move_payload.bin, frame_jpeg_payload.bin
and frame_palette_payload.bin.

``frame_payload.bin`` is a key frame; ``frame_move_payload.bin`` a delta
applied on top of it, with two moves (copy rects, one overlapping itself,
one reading what the first wrote) and a raw rect; ``frame_jpeg_payload.bin``
another delta on the key frame: a JPEG rect (Pillow's encoder, so its bytes
are whatever the Pillow of the day wrote: tests read them from the file),
then a copy rect reading what the JPEG drew, then a raw rect;
``frame_palette_payload.bin`` a key frame of another size (12x5) made of
palette rects of every index width (1, 2, 4, 8 bits; odd widths; n = 1; an
X byte that is neither 0 nor 255), then one raw and one delta rect, off the
4-byte grid. Its blob is one raw zstd block (written here, not by
zstandard), so that every mutation of its bytes reaches the rects' data
(palette size, colours, indices) rather than a compressed block.

Run by hand, from the repository root, only when the frame payload format
changes on purpose (then say so in the commit)::

    PYTHONPATH=. .venv/bin/python tests/golden/make_frame_golden.py

tests/test_frames.py checks the files both ways against ``HEADER``, ``RECTS``
and ``PIXELS`` (``MOVE_*``), and their header bytes against hex strings
written from docs/protocol.md by hand.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

import zstandard
from PIL import Image

from protocol.frames import Encoding, FrameHeader, Rect, encode_copy_source, encode_frame_header

PATH: Final = Path(__file__).resolve().parent / "frame_payload.bin"
MOVE_PATH: Final = PATH.with_name("frame_move_payload.bin")
JPEG_PATH: Final = PATH.with_name("frame_jpeg_payload.bin")
PALETTE_PATH: Final = PATH.with_name("frame_palette_payload.bin")

#: A key frame of a 5x3 screen, sent as two rects: rows 0-1, then row 2.
HEADER: Final = FrameHeader(
    flags=1, seq=0x0102030405060708, capture_ns=1_700_000_000_000_000_001, width=5, height=3
)
RECTS: Final = (
    Rect(0, 0, 5, 2, Encoding.RAW_BGRX, 40),
    Rect(0, 2, 5, 1, Encoding.RAW_BGRX, 20),
)
#: The rects' pixels in order, BGRX: rows 0-1 one colour (so zstd has
#: something to compress), row 2 varied, X bytes not all 0 or 255.
PIXELS: Final = bytes([0x10, 0x20, 0x30, 0x00] * 10) + bytes((7 * i + 3) % 256 for i in range(20))


#: A delta on the key frame's picture: move the 4x2 block at (0, 0) one
#: pixel right and down (source and destination overlap), then copy 2x1 of
#: the result at (3, 2) to (0, 0), then draw 3x1 raw pixels at (2, 0).
MOVE_HEADER: Final = FrameHeader(
    flags=0, seq=0x0102030405060709, capture_ns=1_700_000_000_000_000_002, width=5, height=3
)
MOVE_RECTS: Final = (
    Rect(1, 1, 4, 2, Encoding.COPY, 4),
    Rect(0, 0, 2, 1, Encoding.COPY, 4),
    Rect(2, 0, 3, 1, Encoding.RAW_BGRX, 12),
)
#: The sources of the two moves, then the raw rect's pixels.
MOVE_DATA: Final = (
    encode_copy_source(0, 0) + encode_copy_source(3, 2) + bytes([0xA0, 0xB0, 0xC0, 0xD0] * 3)
)


#: A delta on the key frame's picture: a 4x3 JPEG at (0, 0), then copy 1x2
#: of the result at (0, 0) to (4, 1), then 1x1 raw at (4, 0).
JPEG_HEADER: Final = FrameHeader(
    flags=0, seq=0x010203040506070A, capture_ns=1_700_000_000_000_000_003, width=5, height=3
)
#: The JPEG's picture, RGB: a red-to-blue ramp over a green one.
JPEG_RGB: Final = bytes(
    v for y in range(3) for x in range(4) for v in (60 * x + 10, 80 * y + 20, 200 - 50 * x)
)


def jpeg_bytes() -> bytes:
    """A baseline JPEG of ``JPEG_RGB`` (4x3), quality 80, 4:2:0."""
    out = io.BytesIO()
    Image.frombytes("RGB", (4, 3), JPEG_RGB).save(out, "JPEG", quality=80, subsampling=2)
    return out.getvalue()


def jpeg_rects(jpeg: bytes) -> tuple[Rect, ...]:
    return (
        Rect(0, 0, 4, 3, Encoding.JPEG, len(jpeg)),
        Rect(4, 1, 1, 2, Encoding.COPY, 4),
        Rect(4, 0, 1, 1, Encoding.RAW_BGRX, 4),
    )


def jpeg_data(jpeg: bytes) -> bytes:
    """The JPEG, the copy's source, the raw pixel: the blob's content."""
    return jpeg + encode_copy_source(0, 0) + bytes([0x0A, 0x0B, 0x0C, 0x0D])


#: A key frame of a 12x5 screen: palette rects of 1, 2, 4 and 8 bits an
#: index, a raw rect and a delta rect.
PALETTE_HEADER: Final = FrameHeader(
    flags=1, seq=0x010203040506070B, capture_ns=1_700_000_000_000_000_004, width=12, height=5
)


def _colours(n: int, seed: int) -> list[bytes]:
    return [
        bytes(((seed + 37 * i) % 256, (seed * 3 + 11 * i) % 256, 90 + i, 0x7F)) for i in range(n)
    ]


def _packed(rows: list[list[int]], bits: int) -> bytes:
    """Each row's indices, most significant bits first, padded to a byte."""
    out = bytearray()
    for row in rows:
        value, used = 0, 0
        for index in row:
            value, used = (value << bits) | index, used + bits
        pad = -used % 8
        out += (value << pad).to_bytes((used + pad) // 8, "big")
    return bytes(out)


def _palette_rect(w: int, h: int, n: int, bits: int, seed: int) -> bytes:
    rows = [[(seed + 3 * x + 5 * y) % n for x in range(w)] for y in range(h)]
    return bytes((n - 1,)) + b"".join(_colours(n, seed)) + _packed(rows, bits)


#: (rect, data): n = 1 (12x1, 1 bit); n = 2 (3x2, odd); n = 3 (9x2, 2 bits,
#: index 3 unused); n = 16 (5x2, 4 bits, every index valid); n = 17 (3x2,
#: 8 bits); a raw 1x2 rect, its data at an offset not a multiple of 4; a
#: delta 3x2 rect whose sums wrap around 256.
PALETTE_PARTS: Final = (
    (Rect(0, 0, 12, 1, Encoding.PALETTE, 7), _palette_rect(12, 1, 1, 1, 1)),
    (Rect(0, 1, 3, 2, Encoding.PALETTE, 11), _palette_rect(3, 2, 2, 1, 2)),
    (Rect(3, 1, 9, 2, Encoding.PALETTE, 19), _palette_rect(9, 2, 3, 2, 3)),
    (Rect(0, 3, 5, 2, Encoding.PALETTE, 71), _palette_rect(5, 2, 16, 4, 4)),
    (Rect(5, 3, 3, 2, Encoding.PALETTE, 75), _palette_rect(3, 2, 17, 8, 5)),
    (
        Rect(8, 3, 1, 2, Encoding.RAW_BGRX, 8),
        bytes([0x01, 0x02, 0x03, 0x04, 0xF1, 0xF2, 0xF3, 0xF4]),
    ),
    (
        Rect(9, 3, 3, 2, Encoding.DELTA_BGRX, 24),
        bytes((97 * i + 200) % 256 for i in range(24)),
    ),
)
PALETTE_RECTS: Final = tuple(rect for rect, _ in PALETTE_PARTS)
PALETTE_DATA: Final = b"".join(data for _, data in PALETTE_PARTS)


def raw_zstd(data: bytes) -> bytes:
    """One zstd frame (RFC 8878) of ``data`` (under 256 bytes) as a single raw
    block: magic, descriptor 0x20 (single segment, 1-byte content size),
    the size, a last raw block's header, the bytes."""
    assert len(data) < 256
    block = (len(data) << 3 | 1).to_bytes(3, "little")
    return b"\x28\xb5\x2f\xfd\x20" + bytes((len(data),)) + block + data


def palette_payload() -> bytes:
    return encode_frame_header(PALETTE_HEADER, PALETTE_RECTS) + raw_zstd(PALETTE_DATA)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(data)


def payload() -> bytes:
    return encode_frame_header(HEADER, RECTS) + _zstd(PIXELS)


def move_payload() -> bytes:
    return encode_frame_header(MOVE_HEADER, MOVE_RECTS) + _zstd(MOVE_DATA)


def jpeg_payload(jpeg: bytes) -> bytes:
    return encode_frame_header(JPEG_HEADER, jpeg_rects(jpeg)) + _zstd(jpeg_data(jpeg))


def jpeg_in_file() -> bytes:
    """The JPEG as frame_jpeg_payload.bin holds it."""
    blob = JPEG_PATH.read_bytes()[26 + 3 * 13 :]
    content = zstandard.ZstdDecompressor().decompress(blob)
    return content[: len(content) - 8]


if __name__ == "__main__":
    PATH.write_bytes(payload())
    MOVE_PATH.write_bytes(move_payload())
    JPEG_PATH.write_bytes(jpeg_payload(jpeg_bytes()))
    PALETTE_PATH.write_bytes(palette_payload())
    for path in (PATH, MOVE_PATH, JPEG_PATH, PALETTE_PATH):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
