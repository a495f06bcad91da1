"""A wall-clock time drawn into pixels, and read back from a decoded picture.

    pattern = draw(units_of(time.time_ns()))   # (STAMP_H, STAMP_W) uint8, 0 or 255
    value = read(box)                           # box: the pixels where it was drawn
    ms = latency_ms(time.time_ns(), value)      # now - when it was drawn

The box is ``COLS`` x ``ROWS`` square blocks of ``BLOCK`` pixels, each black
(bit 1) or white (bit 0), most significant bit first, row by row: ``VALUE_BITS``
of the time in ``UNIT_NS`` units (modulo 2**VALUE_BITS, so it wraps every
~28 minutes; ``latency_ms`` undoes the wrap against the reader's clock), then
``CHECK_BITS`` of a CRC of those bits. Blocks are 8 pixels and the box sits on
an 8-pixel grid, so a JPEG-like codec codes each block in its own DCT block.

Reading looks only at the middle of each block and refuses (returns None)
when a block is neither clearly dark nor clearly light or when the check
bits disagree: a picture caught halfway through a redraw, or a codec that
smeared the box, gives no time rather than a wrong one.
"""

from __future__ import annotations

import zlib
from typing import Final

import numpy as np
import numpy.typing as npt

#: Side of one block in pixels.
BLOCK: Final = 8
COLS: Final = 8
ROWS: Final = 5
STAMP_W: Final = COLS * BLOCK
STAMP_H: Final = ROWS * BLOCK
#: The time's resolution: 0.1 ms.
UNIT_NS: Final = 100_000
VALUE_BITS: Final = 24
CHECK_BITS: Final = COLS * ROWS - VALUE_BITS
MODULUS: Final = 1 << VALUE_BITS
#: A block's middle must be darker than DARK (bit 1) or lighter than LIGHT (bit 0).
DARK: Final = 80
LIGHT: Final = 176
#: Pixels trimmed from each side of a block before averaging it.
MARGIN: Final = 2


def units_of(time_ns: int) -> int:
    """``time_ns`` (``time.time_ns()``) as a stamp value."""
    return (time_ns // UNIT_NS) % MODULUS


def _check(value: int) -> int:
    return zlib.crc32(value.to_bytes(3, "big")) & ((1 << CHECK_BITS) - 1)


def _bits(value: int) -> npt.NDArray[np.bool_]:
    word = (value << CHECK_BITS) | _check(value)
    total = VALUE_BITS + CHECK_BITS
    return np.array([(word >> (total - 1 - i)) & 1 for i in range(total)], np.bool_)


def draw(value: int) -> npt.NDArray[np.uint8]:
    """The pattern of ``value`` (0 <= value < MODULUS): 0 (black) or 255 per pixel."""
    if not 0 <= value < MODULUS:
        raise ValueError(f"stamp value {value} outside 0..{MODULUS - 1}")
    grid = np.where(_bits(value).reshape(ROWS, COLS), 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(grid, BLOCK, axis=0), BLOCK, axis=1)


def read(box: npt.NDArray[np.uint8]) -> int | None:
    """The value drawn in ``box``, or None if it cannot be read with confidence.

    ``box`` is (STAMP_H, STAMP_W) grey, or (STAMP_H, STAMP_W, channels) in any
    channel order (RGB, BGRX...): colour channels are averaged, a fourth one
    (padding) is ignored.
    """
    if box.shape[:2] != (STAMP_H, STAMP_W):
        raise ValueError(f"stamp box is {box.shape[:2]}, expected {(STAMP_H, STAMP_W)}")
    grey = box if box.ndim == 2 else box[:, :, :3].mean(axis=2)
    blocks = np.asarray(grey, np.float32).reshape(ROWS, BLOCK, COLS, BLOCK)
    middles = blocks[:, MARGIN : BLOCK - MARGIN, :, MARGIN : BLOCK - MARGIN].mean(axis=(1, 3))
    if np.any((middles >= DARK) & (middles <= LIGHT)):
        return None
    word = 0
    for bit in (middles < DARK).ravel():
        word = (word << 1) | int(bit)
    value, check = word >> CHECK_BITS, word & ((1 << CHECK_BITS) - 1)
    return value if _check(value) == check else None


def latency_ms(now_ns: int, value: int) -> float:
    """Milliseconds from the stamp ``value`` being drawn to ``now_ns``.

    The drawn time is taken as the middle of its unit (half a unit of rounding
    either way); values up to MODULUS / 2 units old are undone from the wrap.
    """
    now = now_ns // UNIT_NS
    age = (now - value) % MODULUS
    if age >= MODULUS // 2:  # drawn "after" now: clocks of one machine, so rounding only
        age -= MODULUS
    drawn_ns = (now - age) * UNIT_NS + UNIT_NS // 2
    return (now_ns - drawn_ns) / 1e6
