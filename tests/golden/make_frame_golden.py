"""Regenerate tests/golden/frame_payload.bin and frame_move_payload.bin.

``frame_payload.bin`` is a key frame; ``frame_move_payload.bin`` a delta
applied on top of it, with two moves (copy rects, one overlapping itself,
one reading what the first wrote) and a raw rect.

Run by hand, from the repository root, only when the frame payload format
changes on purpose (then say so in the commit)::

    PYTHONPATH=. .venv/bin/python tests/golden/make_frame_golden.py

tests/test_frames.py checks the files both ways against ``HEADER``, ``RECTS``
and ``PIXELS`` (``MOVE_*``), and their header bytes against hex strings
written from docs/protocol.md by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import zstandard

from protocol.frames import Encoding, FrameHeader, Rect, encode_copy_source, encode_frame_header

PATH: Final = Path(__file__).resolve().parent / "frame_payload.bin"
MOVE_PATH: Final = PATH.with_name("frame_move_payload.bin")

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


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(data)


def payload() -> bytes:
    return encode_frame_header(HEADER, RECTS) + _zstd(PIXELS)


def move_payload() -> bytes:
    return encode_frame_header(MOVE_HEADER, MOVE_RECTS) + _zstd(MOVE_DATA)


if __name__ == "__main__":
    PATH.write_bytes(payload())
    MOVE_PATH.write_bytes(move_payload())
    for path in (PATH, MOVE_PATH):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
