"""Regenerate tests/golden/frame_payload.bin: one frame payload.

Run by hand, from the repository root, only when the frame payload format
changes on purpose (then say so in the commit)::

    PYTHONPATH=. .venv/bin/python tests/golden/make_frame_golden.py

tests/test_frames.py checks the file both ways against ``HEADER``, ``RECTS``
and ``PIXELS``, and its header bytes against a hex string written from
docs/protocol.md by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import zstandard

from protocol.frames import Encoding, FrameHeader, Rect, encode_frame_header

PATH: Final = Path(__file__).resolve().parent / "frame_payload.bin"

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


def payload() -> bytes:
    blob = zstandard.ZstdCompressor(level=1, write_content_size=True).compress(PIXELS)
    return encode_frame_header(HEADER, RECTS) + blob


if __name__ == "__main__":
    PATH.write_bytes(payload())
    print(f"wrote {PATH} ({PATH.stat().st_size} bytes)")
