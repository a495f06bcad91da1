"""Tile diff and lossless encoding of captured pictures into frame payloads.

``TileEncoder.encode`` compares a picture with the previous one in square
tiles (64x64 pixels by default; the last column and row of tiles may be
narrower), merges horizontally adjacent changed tiles of one tile row into
one rect, and packs the changed pixels, raw BGRX in rect order, into one
zstd frame (protocol/frames.py). A key frame sends every tile.

With ``moves`` on (the default), a delta where many tiles changed is first
searched for scrolled regions (host_app/moves.py). Those go first in the
payload as copy rects; the encoder applies them to its previous picture
exactly as a viewer will, diffs again, and sends only the tiles that still
differ.

Every buffer the size of a picture is allocated once, in ``__init__``: the
copy of the previous picture, the per-pixel change mask and the gather
buffer for the changed tiles. Per frame, only small arrays (one entry per
tile), the rect list and zstd's output are allocated.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Final, cast

import numpy as np
import numpy.typing as npt
import zstandard

from host_app.moves import Move, ScrollDetector, apply_moves
from protocol.errors import LocalProtocolError
from protocol.frames import (
    COPY_SOURCE,
    MAX_SCREEN_SIDE,
    Encoding,
    FrameHeader,
    Rect,
    encode_frame_header,
)
from protocol.wire import FLAG_KEYFRAME

#: Tiles are squares whose side is a multiple of this, so that a tile row of
#: the change mask is a whole number of 64-bit words (see ``TileEncoder``).
TILE_MULTIPLE: Final = 16
#: Largest tile side accepted; bigger tiles send mostly unchanged pixels.
MAX_TILE: Final = 1024

Picture = npt.NDArray[np.uint8]


@dataclasses.dataclass(frozen=True, slots=True)
class EncoderStatistics:
    """What a ``TileEncoder`` has done so far."""

    #: Payloads produced (key frames and deltas).
    frames: int
    #: Calls to ``encode`` that found nothing changed and returned None.
    unchanged: int
    #: Key frames among ``frames``.
    keyframes: int
    #: Tiles sent, counting each tile of a merged rect.
    tiles_sent: int
    #: Moves (copy rects) sent.
    moves: int
    #: Pixels covered by those moves.
    moved_pixels: int
    #: Bytes of all payloads produced.
    bytes_out: int
    #: Duration of the last ``encode`` call in milliseconds.
    last_encode_ms: float


class TileEncoder:
    """Turns successive pictures of one screen into frame payloads.

    Pictures are numpy arrays of shape (height, width, 4), dtype uint8, BGRA
    (the fourth byte is sent as it is, whatever it holds). The encoder keeps
    its own copy of the last picture, so the caller may reuse its buffer.

    The diff compares two pixels at a time as one 64-bit word when the width
    is even (one 32-bit pixel otherwise) into a bool mask padded to whole
    tiles; a tile row of the mask, read as 64-bit words, is OR-reduced over
    the tile's rows, so finding the changed tiles is one pass of ``!=`` and
    one small reduction.
    """

    def __init__(
        self, width: int, height: int, tile: int = 64, level: int = 1, *, moves: bool = True
    ) -> None:
        if not (1 <= width <= MAX_SCREEN_SIDE and 1 <= height <= MAX_SCREEN_SIDE):
            raise ValueError(f"screen size {width}x{height} outside 1..{MAX_SCREEN_SIDE}")
        if tile % TILE_MULTIPLE or not TILE_MULTIPLE <= tile <= MAX_TILE:
            raise ValueError(f"tile must be a multiple of {TILE_MULTIPLE} up to {MAX_TILE}")
        self.width = width
        self.height = height
        self.tile = tile
        self.level = level
        self._cols = -(-width // tile)
        self._rows = -(-height // tile)

        # Change mask, in "units" of one u64 (two pixels) or one u32 (one pixel).
        self._unit = np.dtype(np.uint64) if width % 2 == 0 else np.dtype(np.uint32)
        pixels_per_unit = self._unit.itemsize // 4
        units_per_tile = tile // pixels_per_unit
        self._words_per_tile = units_per_tile // 8
        self._mask = np.zeros((self._rows * tile, self._cols * units_per_tile), np.bool_)
        self._mask_used = self._mask[:height, : width // pixels_per_unit]
        self._mask_words = self._mask.view(np.uint64).reshape(
            self._rows, tile, self._cols * self._words_per_tile
        )
        self._tile_words = np.empty((self._rows, self._cols * self._words_per_tile), np.uint64)

        self._previous: Picture = np.zeros((height, width, 4), np.uint8)
        self._previous_units = self._as_units(self._previous)
        self._have_previous = False
        # Room for every pixel and the sources of the most moves there can be
        # (one per tile column).
        moves_room = COPY_SOURCE.size * (self._cols + 1)
        self._gather: Picture = np.empty(4 * width * height + moves_room, np.uint8)
        self._staging: Picture | None = None
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True)
        self._scrolls = ScrollDetector(width, height, tile) if moves else None

        self._frames = 0
        self._unchanged = 0
        self._keyframes = 0
        self._tiles_sent = 0
        self._moves = 0
        self._moved_pixels = 0
        self._bytes_out = 0
        self._last_encode_ms = 0.0

    def statistics(self) -> EncoderStatistics:
        return EncoderStatistics(
            frames=self._frames,
            unchanged=self._unchanged,
            keyframes=self._keyframes,
            tiles_sent=self._tiles_sent,
            moves=self._moves,
            moved_pixels=self._moved_pixels,
            bytes_out=self._bytes_out,
            last_encode_ms=self._last_encode_ms,
        )

    def changed_tiles(self, frame: Picture) -> npt.NDArray[np.bool_]:
        """Which tiles of ``frame`` differ from the last encoded picture.

        Returns a (tile rows, tile columns) bool array; changes no state.
        Raises ``LocalProtocolError`` before the first key frame.
        """
        if not self._have_previous:
            raise LocalProtocolError("nothing to compare with before the first key frame")
        return self._diff(self._as_units(self._accept(frame)))

    def encode(self, frame: Picture, *, keyframe: bool, seq: int, capture_ns: int) -> bytes | None:
        """The payload updating a viewer from the last picture to ``frame``.

        Returns None if nothing changed and ``keyframe`` is False. The first
        call must be a key frame (``LocalProtocolError`` otherwise).
        """
        started = time.perf_counter_ns()
        frame = self._accept(frame)
        moves: list[Move] = []
        if keyframe:
            runs = [(row, 0, self._cols) for row in range(self._rows)]
        else:
            if not self._have_previous:
                raise LocalProtocolError("the first frame must be a key frame")
            units = self._as_units(frame)
            changed = self._diff(units)
            if self._scrolls is not None:
                moves = self._scrolls.detect(self._previous, frame, changed)
            if moves:
                # The previous picture moves on now, as the viewer's will;
                # should anything below fail, the next frame must be a key frame.
                self._have_previous = False
                apply_moves(self._previous, moves)
                changed = self._diff(units)
            runs = _runs(changed)
            if not runs and not moves:
                self._unchanged += 1
                self._last_encode_ms = (time.perf_counter_ns() - started) / 1e6
                return None

        header = FrameHeader(FLAG_KEYFRAME if keyframe else 0, seq, capture_ns, *self._size)
        rects = [self._rect(row, first, end) for row, first, end in runs]
        copies = [Rect(m.x, m.y, m.w, m.h, Encoding.COPY, COPY_SOURCE.size) for m in moves]
        head = encode_frame_header(header, copies + rects)
        blob = self._compressor.compress(self._pack(frame, rects, moves))
        payload = head + blob
        # Only now, with the payload made, does the previous picture move on.
        if rects:
            self._remember(frame, rects)

        self._have_previous = True
        self._frames += 1
        self._keyframes += keyframe
        self._tiles_sent += sum(end - first for _, first, end in runs)
        self._moves += len(moves)
        self._moved_pixels += sum(m.w * m.h for m in moves)
        self._bytes_out += len(payload)
        self._last_encode_ms = (time.perf_counter_ns() - started) / 1e6
        return payload

    @property
    def _size(self) -> tuple[int, int]:
        return self.width, self.height

    def _accept(self, frame: Picture) -> Picture:
        """Check ``frame``; return it, or a copy in the staging buffer if its
        memory layout cannot be viewed as rows of units."""
        if frame.shape != (self.height, self.width, 4) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, 4) uint8 picture, "
                f"got {frame.shape} {frame.dtype}"
            )
        if frame.strides[1:] == (4, 1):
            return frame
        if self._staging is None:
            self._staging = np.empty((self.height, self.width, 4), np.uint8)
        np.copyto(self._staging, frame)
        return self._staging

    def _as_units(self, frame: Picture) -> npt.NDArray[np.unsignedinteger]:
        # Rows are contiguous (checked by _accept), so this is a view, no copy.
        return frame.reshape(self.height, self.width * 4).view(self._unit)

    def _diff(self, units: npt.NDArray[np.unsignedinteger]) -> npt.NDArray[np.bool_]:
        np.not_equal(units, self._previous_units, out=self._mask_used)
        np.bitwise_or.reduce(self._mask_words, axis=1, out=self._tile_words)
        per_tile = self._tile_words.reshape(self._rows, self._cols, self._words_per_tile)
        return cast("npt.NDArray[np.bool_]", per_tile.any(axis=2))

    def _rect(self, row: int, first: int, end: int) -> Rect:
        x = first * self.tile
        y = row * self.tile
        w = min(end * self.tile, self.width) - x
        h = min(y + self.tile, self.height) - y
        return Rect(x, y, w, h, Encoding.RAW_BGRX, w * h * 4)

    def _pack(self, frame: Picture, rects: list[Rect], moves: list[Move]) -> memoryview:
        """The moves' sources, then the rects' pixels, raw, in rect order:
        the bytes to compress."""
        if not moves and frame.flags.c_contiguous and self._whole_rows(rects):
            # Full-width tile rows one after another (every key frame, any
            # change that touches every tile of its rows) are already in
            # rect order in the picture's own memory: no gathering.
            top, bottom = rects[0].y, rects[-1].y + rects[-1].h
            return frame[top:bottom].reshape(-1).data
        offset = 0
        for m in moves:
            COPY_SOURCE.pack_into(self._gather.data, offset, m.src_x, m.src_y)
            offset += COPY_SOURCE.size
        for r in rects:
            destination = self._gather[offset : offset + r.length].reshape(r.h, r.w, 4)
            np.copyto(destination, frame[r.y : r.y + r.h, r.x : r.x + r.w])
            offset += r.length
        return self._gather[:offset].data

    def _remember(self, frame: Picture, rects: list[Rect]) -> None:
        """Copy the rects sent into the previous picture."""
        if self._whole_rows(rects):
            top, bottom = rects[0].y, rects[-1].y + rects[-1].h
            np.copyto(self._previous[top:bottom], frame[top:bottom])
            return
        for r in rects:
            area = (slice(r.y, r.y + r.h), slice(r.x, r.x + r.w))
            np.copyto(self._previous[area], frame[area])

    def _whole_rows(self, rects: list[Rect]) -> bool:
        """True if the rects are full-width bands, each right below the last."""
        bottom = rects[0].y
        for r in rects:
            if r.x != 0 or r.w != self.width or r.y != bottom:
                return False
            bottom = r.y + r.h
        return True


def _runs(changed: npt.NDArray[np.bool_]) -> list[tuple[int, int, int]]:
    """(tile row, first column, end column) of each run of changed tiles,
    in row-major order."""
    rows, cols = changed.shape
    padded = np.zeros((rows, cols + 2), np.int8)
    padded[:, 1:-1] = changed
    edges = np.diff(padded, axis=1)
    start_rows, start_cols = np.nonzero(edges == 1)
    _, end_cols = np.nonzero(edges == -1)
    return list(
        zip(start_rows.tolist(), start_cols.tolist(), end_cols.tolist(), strict=True),
    )
