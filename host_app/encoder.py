"""Tile diff and lossless encoding of captured pictures into frame payloads.

``TileEncoder.encode`` compares a picture with the previous one in square
tiles (64x64 pixels by default; the last column and row of tiles may be
narrower) and sends exact rectangles, not whole tiles:

1. Each changed tile shrinks to the bounding box of its changed pixels, read
   off the change mask the diff has already made (two pixels wide when the
   screen's width is even, the mask's unit): the columns from the tile's
   OR-reduced mask words, the rows from one small reduction per changed tile.
2. Boxes of neighbouring tiles merge, first along a tile row, then down the
   tile rows (where they meet at the tile boundary), when their union adds at most
   ``MERGE_SLACK`` pixels, or an eighth of their area, that did not change
   (each rect costs a table entry and a copy on both sides; sending a few
   unchanged pixels costs less). A changed area spanning many tiles thus
   becomes one rect, a typed glyph one rect of about its size.

The changed pixels, in rect order, go into one zstd frame
(protocol/frames.py). A key frame sends every tile, as full-width bands.
With ``palette`` on (the default), a rect of at most 256 distinct pixels is
sent as a ``PALETTE`` rect (protocol/palette.py: its colours once, then 1, 2,
4 or 8 bits a pixel) when that is smaller than raw BGRX (any but the tiniest
rect) and, beyond 16 colours, the rect has ``PIXELS_PER_COLOUR`` pixels a
colour; a big rect is sampled first, so one with many colours costs a small
sort. Text and UI compress to about half as many bytes so. With ``delta``
on (the default), a rect of more colours (photo, video, gradient) is sent
as ``DELTA_BGRX``: each byte minus the one of the pixel to its left, which
zstd compresses about 3x better there (and worse on text: those stay raw).
The zstd level depends on how much there is to compress: below
``SMALL_DATA`` bytes (typing, a menu, a few lines of a scroll) it is
``small_level``, which there costs well under a millisecond; above, ``level``
(fast: a full screen at a high level would take tens of milliseconds).

With ``lossy`` on (only where the relay's policy allows it: host_app/lossy.py),
each changed tile is classified first: a 16x16 subsample of it (every
``SAMPLE_STEP``-th pixel both ways) with at least ``PHOTO_COLOURS`` distinct
colours is photo-like, else text or UI. Boxes merge only within one class,
and a photo-like rect of at least ``JPEG_MIN_PIXELS`` is sent as one JPEG
(Pillow, ``jpeg_quality``, 4:2:0) instead of raw pixels. Text and UI tiles
(few colours: anti-aliased text on a flat background has a few dozen) stay
lossless. The encoder remembers the exact pixels, not the JPEG's, so an
unchanged photo area is not sent again, and it remembers which tiles a
viewer holds only approximately (a JPEG went there, or a move copied such
pixels there). Once such a tile has not changed for ``REFRESH_AFTER``
seconds, ``refresh`` sends it again, exactly (a paused video, a photo left
on screen end up pixel-exact; one that keeps changing stays JPEG).

With ``moves`` on (the default), a delta where many tiles changed is first
searched for scrolled and dragged regions (host_app/moves.py). Those go first in the
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
import io
import time
from collections.abc import Sequence
from typing import Final, cast

import numpy as np
import numpy.typing as npt
import zstandard
from PIL import Image

from host_app.moves import Move, MoveDetector, apply_moves
from protocol.errors import LocalProtocolError
from protocol.frames import (
    COPY_SOURCE,
    MAX_SCREEN_SIDE,
    Encoding,
    FrameHeader,
    Rect,
    encode_frame_header,
)
from protocol.palette import encode_palette
from protocol.wire import FLAG_KEYFRAME

#: Tiles are squares whose side is a multiple of this, so that a tile row of
#: the change mask is a whole number of 64-bit words (see ``TileEncoder``).
TILE_MULTIPLE: Final = 16
#: Largest tile side accepted; bigger tiles send mostly unchanged pixels.
MAX_TILE: Final = 1024
#: Unchanged pixels a merge of two boxes may add whatever their size: about
#: what one more rect costs (13 bytes of rect table, a copy on each side).
MERGE_SLACK: Final = 32
#: ... or at most this fraction (1/n) of the two boxes' area.
MERGE_FRACTION: Final = 8
#: Lossy only: a tile is sampled every this many pixels both ways ...
SAMPLE_STEP: Final = 4
#: ... and is photo-like with at least this many distinct colours among the
#: (tile / SAMPLE_STEP)**2 samples (256 for 64x64 tiles).
PHOTO_COLOURS: Final = 96
#: Lossy only: smaller photo-like rects stay raw (a JPEG's headers and
#: tables alone are about 600 bytes).
JPEG_MIN_PIXELS: Final = 32 * 32
#: Default JPEG quality (Pillow's scale, 1-95).
JPEG_QUALITY: Final = 80
#: Lossy only: seconds a tile sent as JPEG must stay unchanged before
#: ``refresh`` sends it again exactly.
REFRESH_AFTER: Final = 1.0
#: A rect of more than 16 colours (8-bit indices) is sent as a palette only
#: with at least this many pixels per colour: below, its palette (4 bytes a
#: colour, which compress poorly) costs more than zstd saves on the indices
#: (measured on scrolled text: about even at 20-30 pixels a colour).
PIXELS_PER_COLOUR: Final = 32
#: Rect data of fewer bytes than this is compressed at ``small_level``.
SMALL_DATA: Final = 64 * 1024
#: Default zstd level for small data (see the module docstring).
SMALL_LEVEL: Final = 9

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
    #: Changed tiles found (key frames: every tile).
    tiles_sent: int
    #: Pixels sent in raw and JPEG rects (the rects' area).
    pixels_sent: int
    #: JPEG rects sent (lossy only).
    jpeg_rects: int
    #: Pixels sent as JPEG.
    jpeg_pixels: int
    #: Moves (copy rects) sent.
    moves: int
    #: Pixels covered by those moves.
    moved_pixels: int
    #: Bytes of all payloads produced.
    bytes_out: int
    #: Duration of the last ``encode`` call in milliseconds.
    last_encode_ms: float
    #: Lossy only: payloads ``refresh`` made, and the pixels they sent exactly.
    refreshes: int = 0
    refreshed_pixels: int = 0


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
        self,
        width: int,
        height: int,
        tile: int = 64,
        level: int = 1,
        *,
        moves: bool = True,
        lossy: bool = False,
        jpeg_quality: int = JPEG_QUALITY,
        palette: bool = True,
        delta: bool = True,
        small_level: int = SMALL_LEVEL,
    ) -> None:
        if not (1 <= width <= MAX_SCREEN_SIDE and 1 <= height <= MAX_SCREEN_SIDE):
            raise ValueError(f"screen size {width}x{height} outside 1..{MAX_SCREEN_SIDE}")
        if tile % TILE_MULTIPLE or not TILE_MULTIPLE <= tile <= MAX_TILE:
            raise ValueError(f"tile must be a multiple of {TILE_MULTIPLE} up to {MAX_TILE}")
        self.width = width
        self.height = height
        self.tile = tile
        self.level = level
        #: Photo-like rects may be sent as JPEG (see the module docstring).
        self.lossy = lossy
        self.jpeg_quality = jpeg_quality
        #: Rects of few colours may be sent as ``PALETTE`` rects.
        self.palette = palette
        #: Rects of too many colours for a palette are sent as ``DELTA_BGRX``
        #: (with ``palette`` off, every rect of pixels is).
        self.delta = delta
        self.small_level = small_level
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
        self._small_compressor = zstandard.ZstdCompressor(
            level=small_level, write_content_size=True
        )
        self._scrolls = MoveDetector(width, height, tile) if moves else None
        # Lossy only: the subsample of the picture, padded to whole tiles.
        samples = tile // SAMPLE_STEP
        self._samples = np.zeros(
            (self._rows * samples, self._cols * samples) if lossy else (0, 0), np.uint32
        )
        # Lossy only: tiles the viewer holds approximately, and when each
        # tile last changed (time.monotonic()).
        self._blurred = np.zeros((self._rows, self._cols), np.bool_)
        self._changed_at = np.zeros((self._rows, self._cols), np.float64)
        self._refreshes = 0
        self._refreshed_pixels = 0

        self._frames = 0
        self._unchanged = 0
        self._keyframes = 0
        self._tiles_sent = 0
        self._pixels_sent = 0
        self._jpeg_rects = 0
        self._jpeg_pixels = 0
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
            pixels_sent=self._pixels_sent,
            jpeg_rects=self._jpeg_rects,
            jpeg_pixels=self._jpeg_pixels,
            moves=self._moves,
            moved_pixels=self._moved_pixels,
            bytes_out=self._bytes_out,
            last_encode_ms=self._last_encode_ms,
            refreshes=self._refreshes,
            refreshed_pixels=self._refreshed_pixels,
        )

    def changed_tiles(self, frame: Picture) -> npt.NDArray[np.bool_]:
        """Which tiles of ``frame`` differ from the last encoded picture.

        Returns a (tile rows, tile columns) bool array; changes no state.
        Raises ``LocalProtocolError`` before the first key frame.
        """
        if not self._have_previous:
            raise LocalProtocolError("nothing to compare with before the first key frame")
        return self._diff(self._as_units(self._accept(frame)))

    def encode(
        self,
        frame: Picture,
        *,
        keyframe: bool,
        seq: int,
        capture_ns: int,
        damage: Sequence[tuple[int, int, int, int]] | None = None,
    ) -> bytes | None:
        """The payload updating a viewer from the last picture to ``frame``.

        Returns None if nothing changed and ``keyframe`` is False. The first
        call must be a key frame (``LocalProtocolError`` otherwise).
        ``damage``, a hint: (x, y, w, h) rects outside which ``frame`` is
        known not to differ from the last picture; only the tiles they touch
        are diffed (None: every tile; ignored for key frames). A change
        outside them is not sent until a later call's hint or full diff
        covers it.
        """
        started = time.perf_counter_ns()
        frame = self._accept(frame)
        moves: list[Move] = []
        if keyframe:
            boxes = self._key_boxes(frame)
            tiles = self._rows * self._cols
        else:
            if not self._have_previous:
                raise LocalProtocolError("the first frame must be a key frame")
            units = self._as_units(frame)
            changed = self._diff(units, None if damage is None else self._tile_spans(damage))
            if self._scrolls is not None:
                moves = self._scrolls.detect(self._previous, frame, changed)
            if moves:
                # The previous picture moves on now, as the viewer's will;
                # should anything below fail, the next frame must be a key frame.
                self._have_previous = False
                apply_moves(self._previous, moves)
                changed = self._rediff(units, moves, changed)
            boxes, tiles = self._boxes(frame, changed)
            if not boxes and not moves:
                self._unchanged += 1
                self._last_encode_ms = (time.perf_counter_ns() - started) / 1e6
                return None

        header = FrameHeader(FLAG_KEYFRAME if keyframe else 0, seq, capture_ns, *self._size)
        jpegs: dict[int, bytes] = {}
        rects: list[Rect] = []
        for x, y, w, h, photo in boxes:
            if photo and w * h >= JPEG_MIN_PIXELS:
                data = encode_jpeg(frame[y : y + h, x : x + w], self.jpeg_quality)
                if len(data) < w * h * 4:
                    jpegs[len(rects)] = data
                    rects.append(Rect(x, y, w, h, Encoding.JPEG, len(data)))
                    continue
            rects.append(Rect(x, y, w, h, Encoding.RAW_BGRX, w * h * 4))
        copies = [Rect(m.x, m.y, m.w, m.h, Encoding.COPY, COPY_SOURCE.size) for m in moves]
        rects, payload = self._payload(frame, header, copies, rects, moves, jpegs)
        # Only now, with the payload made, does the previous picture move on.
        if rects:
            self._remember(frame, rects)
        if self.lossy:
            self._track_blur(keyframe, moves, [rects[i] for i in jpegs], boxes)

        self._have_previous = True
        self._frames += 1
        self._keyframes += keyframe
        self._tiles_sent += tiles
        self._pixels_sent += sum(r.w * r.h for r in rects)
        self._jpeg_rects += len(jpegs)
        self._jpeg_pixels += sum(rects[i].w * rects[i].h for i in jpegs)
        self._moves += len(moves)
        self._moved_pixels += sum(m.w * m.h for m in moves)
        self._bytes_out += len(payload)
        self._last_encode_ms = (time.perf_counter_ns() - started) / 1e6
        return payload

    def refresh_due_in(self, now: float) -> float | None:
        """Seconds until ``refresh`` has something to send (0: now), or None
        while the viewer holds every tile exactly."""
        if not self._blurred.any():
            return None
        oldest = float(self._changed_at[self._blurred].min())
        return max(0.0, oldest + REFRESH_AFTER - now)

    def refresh(self, *, seq: int, capture_ns: int, now: float) -> bytes | None:
        """A payload sending again, exactly, the tiles sent as JPEG that have
        not changed for ``REFRESH_AFTER`` seconds, or None if there are none.
        Made from the encoder's own exact copy of the picture: no grab needed."""
        due = self._blurred & (self._changed_at <= now - REFRESH_AFTER)
        if not self._have_previous or not due.any():
            return None
        started = time.perf_counter_ns()
        rects = [Rect(x, y, w, h, Encoding.RAW_BGRX, w * h * 4) for x, y, w, h in self._runs(due)]
        header = FrameHeader(0, seq, capture_ns, *self._size)
        rects, payload = self._payload(self._previous, header, [], rects, [], {})
        self._blurred[due] = False
        self._refreshes += 1
        self._refreshed_pixels += sum(r.w * r.h for r in rects)
        self._frames += 1
        self._bytes_out += len(payload)
        self._last_encode_ms = (time.perf_counter_ns() - started) / 1e6
        return payload

    def _runs(self, tiles: npt.NDArray[np.bool_]) -> list[tuple[int, int, int, int]]:
        """(x, y, w, h) of each run of set tiles along a tile row."""
        boxes = []
        for row, col0, col1 in _runs_of(tiles):
            x, y = col0 * self.tile, row * self.tile
            boxes.append(
                (x, y, min(col1 * self.tile, self.width) - x, min(y + self.tile, self.height) - y)
            )
        return boxes

    def _track_blur(
        self, keyframe: bool, moves: list[Move], jpegs: list[Rect], boxes: list[Box]
    ) -> None:
        """After a payload: which tiles the viewer now holds approximately,
        and which changed (lossy only)."""
        now = time.monotonic()
        if keyframe:
            self._blurred[:] = False
        touched = np.zeros_like(self._blurred)
        for m in moves:
            # Pixels copied from an approximate tile are approximate.
            if self._tiles_of(m.src_x, m.src_y, m.w, m.h, self._blurred).any():
                self._tiles_of(m.x, m.y, m.w, m.h, self._blurred)[:] = True
            self._tiles_of(m.x, m.y, m.w, m.h, touched)[:] = True
        for r in jpegs:
            self._tiles_of(r.x, r.y, r.w, r.h, self._blurred)[:] = True
        for x, y, w, h, _photo in boxes:
            self._tiles_of(x, y, w, h, touched)[:] = True
        self._changed_at[touched] = now

    def _tiles_of(
        self, x: int, y: int, w: int, h: int, grid: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """The view of ``grid`` (one entry per tile) over the tiles a rect touches."""
        t = self.tile
        return grid[y // t : -(-(y + h) // t), x // t : -(-(x + w) // t)]

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

    def _diff(
        self, units: npt.NDArray[np.unsignedinteger], spans: list[TileSpan] | None = None
    ) -> npt.NDArray[np.bool_]:
        """Changed tiles: all of them compared, or only those in ``spans``
        (the mask and tile words elsewhere keep stale values, and those tiles
        are reported unchanged; ``_boxes`` reads changed tiles only)."""
        per_tile = self._tile_words.reshape(self._rows, self._cols, self._words_per_tile)
        if spans is None:
            np.not_equal(units, self._previous_units, out=self._mask_used)
            np.bitwise_or.reduce(self._mask_words, axis=1, out=self._tile_words)
            return cast("npt.NDArray[np.bool_]", per_tile.any(axis=2))
        changed = np.zeros((self._rows, self._cols), np.bool_)
        per_unit = self.tile * 4 // self._unit.itemsize
        for r0, r1, c0, c1 in spans:
            rows = slice(r0 * self.tile, r1 * self.tile)
            columns = slice(c0 * per_unit, c1 * per_unit)
            np.not_equal(
                units[rows, columns],
                self._previous_units[rows, columns],
                out=self._mask_used[rows, columns],
            )
            words = slice(c0 * self._words_per_tile, c1 * self._words_per_tile)
            np.bitwise_or.reduce(
                self._mask_words[r0:r1, :, words], axis=1, out=self._tile_words[r0:r1, words]
            )
            changed[r0:r1, c0:c1] = per_tile[r0:r1, c0:c1].any(axis=2)
        return changed

    def _tile_spans(self, damage: Sequence[tuple[int, int, int, int]]) -> list[TileSpan]:
        """The tiles ``damage`` rects touch, as (row, row end, column, column
        end) spans: per tile row its first to last touched column, runs of
        rows with one span joined."""
        first = np.full(self._rows, self._cols, np.intp)
        last = np.zeros(self._rows, np.intp)
        for x, y, w, h in damage:
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + w, self.width), min(y + h, self.height)
            if x0 >= x1 or y0 >= y1:
                continue
            r0, r1 = y0 // self.tile, -(-y1 // self.tile)
            np.minimum(first[r0:r1], x0 // self.tile, out=first[r0:r1])
            np.maximum(last[r0:r1], -(-x1 // self.tile), out=last[r0:r1])
        spans: list[TileSpan] = []
        for row, (c0, c1) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
            if c0 >= c1:
                continue
            if spans and spans[-1][1] == row and spans[-1][2:] == (c0, c1):
                spans[-1] = (spans[-1][0], row + 1, c0, c1)
            else:
                spans.append((row, row + 1, c0, c1))
        return spans

    def _rediff(
        self,
        units: npt.NDArray[np.unsignedinteger],
        moves: list[Move],
        changed: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """``changed`` (the last diff's tiles) updated after ``moves`` changed
        the previous picture: only the tile rows their destinations touch can
        differ from the last diff, and those are diffed again, whole. Other
        rows keep ``changed``: after a diff limited by a damage hint, their
        tile words are stale and must not be read."""
        tile = self.tile
        rows = sorted((m.y // tile, -(-(m.y + m.h) // tile)) for m in moves)
        spans: list[TileSpan] = []
        for first, end in rows:
            if spans and first <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end), 0, self._cols)
            else:
                spans.append((first, end, 0, self._cols))
        again = self._diff(units, spans)
        result = changed.copy()
        for first, end, _c0, _c1 in spans:
            result[first:end] = again[first:end]
        return result

    def _key_boxes(self, frame: Picture) -> list[Box]:
        """A key frame's rects: full-width bands, one per tile row; with lossy
        on and photo-like tiles on screen, every tile's box merged by class."""
        if self.lossy:
            tile_rows, tile_cols = np.indices((self._rows, self._cols)).reshape(2, -1)
            photo = self._photo_tiles(frame, tile_rows, tile_cols)
            if photo.any():
                left = tile_cols * self.tile
                top = tile_rows * self.tile
                return _merge(
                    tile_rows.tolist(),
                    tile_cols.tolist(),
                    left.tolist(),
                    top.tolist(),
                    np.minimum(left + self.tile, self.width).tolist(),
                    np.minimum(top + self.tile, self.height).tolist(),
                    photo.tolist(),
                )
        bands = []
        for row in range(self._rows):
            y = row * self.tile
            bands.append((0, y, self.width, min(y + self.tile, self.height) - y, False))
        return bands

    def _photo_tiles(
        self, frame: Picture, tile_rows: npt.NDArray[np.intp], tile_cols: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.bool_]:
        """Which of these tiles look like a photo: many distinct colours in a
        subsample (the X byte ignored)."""
        pixels = frame.reshape(self.height, self.width * 4).view(np.uint32)
        sub = pixels[::SAMPLE_STEP, ::SAMPLE_STEP]
        samples = self._samples
        np.bitwise_and(sub, 0x00FF_FFFF, out=samples[: sub.shape[0], : sub.shape[1]])
        side = self.tile // SAMPLE_STEP
        grid = samples.reshape(self._rows, side, self._cols, side)
        chosen = np.sort(grid[tile_rows, :, tile_cols].reshape(tile_rows.size, side * side))
        distinct = 1 + np.count_nonzero(chosen[:, 1:] != chosen[:, :-1], axis=1)
        return np.asarray(distinct >= PHOTO_COLOURS, np.bool_)

    def _boxes(self, frame: Picture, changed: npt.NDArray[np.bool_]) -> tuple[list[Box], int]:
        """The rects to send for the tiles ``changed`` marks (after ``_diff``),
        as (x, y, w, h, photo-like), and how many tiles changed."""
        tile_rows, tile_cols = np.nonzero(changed)
        count = int(tile_rows.size)
        if count == 0:
            return [], 0
        tile = self.tile
        units = tile * 4 // self._unit.itemsize
        pixels_per_unit = self._unit.itemsize // 4
        # Which unit columns of each changed tile changed: the diff's
        # OR-reduced words, read as the mask's bytes.
        columns = self._tile_words.view(np.uint8).reshape(self._rows, self._cols, units)
        columns = columns[tile_rows, tile_cols]
        # Which rows: one reduction over the changed tiles' mask words only.
        words = self._mask_words.reshape(self._rows, tile, self._cols, self._words_per_tile)
        rows = np.asarray(words[tile_rows, :, tile_cols].any(axis=2), np.bool_)
        left = tile_cols * tile + columns.argmax(axis=1) * pixels_per_unit
        right = tile_cols * tile + (units - columns[:, ::-1].argmax(axis=1)) * pixels_per_unit
        top = tile_rows * tile + rows.argmax(axis=1)
        bottom = tile_rows * tile + tile - rows[:, ::-1].argmax(axis=1)
        np.minimum(right, self.width, out=right)
        np.minimum(bottom, self.height, out=bottom)
        photo = (
            self._photo_tiles(frame, tile_rows, tile_cols).tolist()
            if self.lossy
            else [False] * count
        )
        return _merge(
            tile_rows.tolist(),
            tile_cols.tolist(),
            left.tolist(),
            top.tolist(),
            right.tolist(),
            bottom.tolist(),
            photo,
        ), count

    def _payload(
        self,
        frame: Picture,
        header: FrameHeader,
        copies: list[Rect],
        rects: list[Rect],
        moves: list[Move],
        jpegs: dict[int, bytes],
    ) -> tuple[list[Rect], bytes]:
        """The rects sent and the payload: header, rect table, blob.

        Each raw rect is sent as ``_pixel_rects`` chooses. When the raw data
        is under ``SMALL_DATA`` bytes and some rects became palette rects of
        more than 16 colours, the payload is also made with those rects raw
        and the smaller of the two is sent: rects indexed by different
        8-bit palettes no longer share byte patterns (one anti-aliased glyph
        in two rects), which can cost zstd more than the indexing saves
        (scrolled text), and small data compresses in a fraction of a
        millisecond. Smaller palettes pack 2 to 8 pixels a byte and win.
        """
        small = sum(r.length for r in rects) < SMALL_DATA
        indexed, plain, palettes = self._pixel_rects(frame, rects, weigh=not small)
        payload = self._assemble(frame, header, copies, indexed, moves, jpegs | palettes)
        if not small or all(data[0] < 16 for data in palettes.values()):
            return indexed, payload
        other = self._assemble(frame, header, copies, plain, moves, jpegs)
        return (indexed, payload) if len(payload) <= len(other) else (plain, other)

    def _pixel_rects(
        self, frame: Picture, rects: list[Rect], *, weigh: bool
    ) -> tuple[list[Rect], list[Rect], dict[int, bytes]]:
        """How each raw rect is sent, in order:

        1. with ``palette`` on, as a ``PALETTE`` rect if it has few colours
           (more than 16 only with at least ``PIXELS_PER_COLOUR`` pixels a
           colour) and that is smaller than raw;
        2. with ``delta`` on, as ``DELTA_BGRX`` if it has too many colours
           for a palette: photos, video, gradients, whose differences
           compress about 3x better than their pixels (on text and UI they
           compress worse, so those stay raw);
        3. else raw.

        With ``weigh``, a rect of more than 16 colours is indexed only if
        that compresses smaller at ``level``, each compressed alone: its
        palette (up to 1 KiB that compresses poorly) can outweigh what zstd
        saves on 8-bit indices over raw pixels (a flat taskbar band: 2 425
        bytes indexed, 1 517 raw). 1, 2 and 4-bit indices always win.

        Returns the rects, the same with each palette rect raw, and the
        palette rects' data by index.
        """
        chosen: list[Rect] = []
        plain: list[Rect] = []
        palettes: dict[int, bytes] = {}
        for r in rects:
            data = None
            if r.encoding == Encoding.RAW_BGRX and self.palette:
                area = frame[r.y : r.y + r.h, r.x : r.x + r.w]
                data = encode_palette(area.view(np.uint32).reshape(r.h, r.w))
                if data is None and self.delta:
                    r = _as_delta(r)
                elif data is not None and data[0] >= max(16, r.w * r.h // PIXELS_PER_COLOUR):
                    data = None
                elif data is not None and weigh and data[0] >= 16:
                    alone = self._compressor.compress(np.ascontiguousarray(area).data)
                    if len(alone) <= len(self._compressor.compress(data)):
                        data = None
            elif self.delta:
                r = _as_delta(r)
            if data is not None and len(data) < r.length:
                palettes[len(chosen)] = data
                chosen.append(Rect(r.x, r.y, r.w, r.h, Encoding.PALETTE, len(data)))
            else:
                chosen.append(r)
            plain.append(r)
        return chosen, plain, palettes

    def _assemble(
        self,
        frame: Picture,
        header: FrameHeader,
        copies: list[Rect],
        rects: list[Rect],
        moves: list[Move],
        encoded: dict[int, bytes],
    ) -> bytes:
        """Header, rect table and blob: the data packed (``_pack``) and
        compressed at ``small_level`` below ``SMALL_DATA`` bytes, else at
        ``level``."""
        head = encode_frame_header(header, copies + rects)
        data = self._pack(frame, rects, moves, encoded)
        small = data.nbytes < SMALL_DATA
        return head + (self._small_compressor if small else self._compressor).compress(data)

    def _pack(
        self, frame: Picture, rects: list[Rect], moves: list[Move], encoded: dict[int, bytes]
    ) -> memoryview:
        """The moves' sources, then the rects' data (raw pixels, their
        differences along the row for ``DELTA_BGRX``, or the JPEG or palette
        data ``encoded[index]``), in rect order: the bytes to compress."""
        raw = all(r.encoding == Encoding.RAW_BGRX for r in rects)
        if raw and not moves and frame.flags.c_contiguous and self._whole_rows(rects):
            # Full-width tile rows one after another (every key frame, any
            # change that touches every tile of its rows) are already in
            # rect order in the picture's own memory: no gathering.
            top, bottom = rects[0].y, rects[-1].y + rects[-1].h
            return frame[top:bottom].reshape(-1).data
        offset = 0
        for m in moves:
            COPY_SOURCE.pack_into(self._gather.data, offset, m.src_x, m.src_y)
            offset += COPY_SOURCE.size
        for i, r in enumerate(rects):
            if i in encoded:
                self._gather[offset : offset + r.length] = np.frombuffer(encoded[i], np.uint8)
            else:
                destination = self._gather[offset : offset + r.length].reshape(r.h, r.w, 4)
                _pixel_data(frame[r.y : r.y + r.h, r.x : r.x + r.w], r.encoding, destination)
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


#: x, y, w, h of a rect of changed pixels, and whether it is photo-like.
Box = tuple[int, int, int, int, bool]
#: Tile rows [r0, r1) by tile columns [c0, c1), as (r0, r1, c0, c1).
TileSpan = tuple[int, int, int, int]


def _pixel_data(pixels: Picture, encoding: Encoding, out: Picture) -> None:
    """Write the (h, w, 4) ``pixels`` into ``out`` as ``RAW_BGRX`` or
    ``DELTA_BGRX`` (each byte minus the byte of the pixel to its left)."""
    if encoding == Encoding.DELTA_BGRX:
        np.subtract(pixels[:, 1:], pixels[:, :-1], out=out[:, 1:])
        np.copyto(out[:, 0], pixels[:, 0])
    else:
        np.copyto(out, pixels)


def _as_delta(rect: Rect) -> Rect:
    """A raw rect as ``DELTA_BGRX``; any other as it is."""
    if rect.encoding != Encoding.RAW_BGRX:
        return rect
    return Rect(rect.x, rect.y, rect.w, rect.h, Encoding.DELTA_BGRX, rect.length)


def _runs_of(tiles: npt.NDArray[np.bool_]) -> list[tuple[int, int, int]]:
    """(row, first column, column end) of each run of True along each row."""
    runs: list[tuple[int, int, int]] = []
    for row in np.flatnonzero(tiles.any(axis=1)).tolist():
        line = np.concatenate(([False], tiles[row], [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(line))
        runs.extend((row, int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True))
    return runs


def encode_jpeg(pixels: Picture, quality: int = JPEG_QUALITY) -> bytes:
    """(h, w, 4) BGRX pixels as one baseline JPEG, 4:2:0 (the X byte dropped)."""
    rgb = np.ascontiguousarray(pixels[..., 2::-1])
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, "JPEG", quality=quality, subsampling=2)
    return out.getvalue()


def _merge(
    tile_rows: list[int],
    tile_cols: list[int],
    left: list[int],
    top: list[int],
    right: list[int],
    bottom: list[int],
    photo: list[bool],
) -> list[Box]:
    """Merge the changed tiles' boxes (edges as pixel coordinates, tiles in
    row-major order) into rects: along each tile row, then down the rows;
    two boxes of one class (``photo``) merge when their union adds few
    unchanged pixels (``_worth``)."""
    # Along the tile rows: [left, top, right, bottom, photo] boxes, one list per row.
    rows: list[list[list[int]]] = []
    last_row, last_col = -1, -2
    for i, (row, col) in enumerate(zip(tile_rows, tile_cols, strict=True)):
        box = [left[i], top[i], right[i], bottom[i], int(photo[i])]
        if row != last_row:
            rows.append([box])
        elif col == last_col + 1 and _worth(rows[-1][-1], box):
            _absorb(rows[-1][-1], box)
        else:
            rows[-1].append(box)
        last_row, last_col = row, col
    # Down the tile rows: a box whose top meets the bottom of a box of the
    # row above (both reach their tile boundary) may join it, if it lies
    # within that box's columns and no other box of its row does: merged
    # rects never overlap, so the rects' data never exceeds the screen's.
    done: list[list[int]] = []
    above: list[list[int]] = []
    for row_boxes in rows:
        below: list[list[int]] = []
        for box in row_boxes:
            target = next(
                (
                    upper
                    for upper in above
                    if upper[3] == box[1]
                    and upper[0] <= box[0]
                    and box[2] <= upper[2]
                    and not any(
                        other is not box and other[0] < upper[2] and upper[0] < other[2]
                        for other in row_boxes
                    )
                    and _worth(upper, box)
                ),
                None,
            )
            if target is None:
                done.append(box)
                below.append(box)
            else:
                _absorb(target, box)
                if not any(target is b for b in below):
                    below.append(target)
        above = below
    return [(b[0], b[1], b[2] - b[0], b[3] - b[1], bool(b[4])) for b in done]


def _worth(a: list[int], b: list[int]) -> bool:
    """Whether one rect covering boxes ``a`` and ``b`` (of one class) is
    cheaper than two."""
    if a[4] != b[4]:
        return False
    union = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    inside = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    added = union - inside
    return added <= MERGE_SLACK or added * MERGE_FRACTION <= inside


def _absorb(a: list[int], b: list[int]) -> None:
    """Grow ``a`` to cover ``b``."""
    a[0], a[1] = min(a[0], b[0]), min(a[1], b[1])
    a[2], a[3] = max(a[2], b[2]), max(a[3], b[3])
