"""Finding scrolled regions between two pictures, so they can be sent as moves.

``ScrollDetector.detect`` looks for one vertical shift ``dy`` (content moved
up by ``dy`` rows: ``new[y] == old[y + dy]``; negative ``dy``: moved down)
in the band of tile rows that changed, and returns the regions where it
holds as ``Move``s (docs/protocol.md, rect encoding 1: copy).

How, cheaply (a few ms for a full 1080p band):

1. Only full tile columns that changed count, and only when at least
   ``MIN_CHANGED_TILES`` tiles changed (typing never pays for this).
2. Each row of each such column gets a 64-bit hash: the wrapping sum of its
   pixels read as 64-bit words (one numpy reduction over the band).
3. Every changed row whose hash is unique in the column's old band votes for
   ``old_row - new_row``; the most voted shift wins (at least
   ``MIN_VOTES``).
4. For that shift, columns whose hashes match on at least ``MIN_RUN``
   consecutive rows qualify; neighbouring qualifying columns form one move,
   over the longest run of rows where all of them match (a few columns at
   either end may be dropped if that gives a larger move). A move then grows
   left and right pixel by pixel into the columns on either side while every
   pixel there matches (so a window's edges need not lie on tiles), never
   into another move: moves never overlap, so each reads only pixels of the
   previous picture.

A hash can collide, so a move can be wrong. That costs bytes, never
correctness: the encoder applies the moves to its previous picture exactly
as a viewer will and then diffs against the new picture, so every pixel a
move got wrong is sent as a tile. Horizontal moves (a window dragged) are
not detected yet.

Buffers for the hashes are allocated once, in ``__init__``.
"""

from __future__ import annotations

import dataclasses
from typing import Final

import numpy as np
import numpy.typing as npt

Picture = npt.NDArray[np.uint8]

#: Fewer changed tiles than this: no detection (typing, a blinking cursor).
MIN_CHANGED_TILES: Final = 6
#: A shift needs this many unique rows agreeing on it.
MIN_VOTES: Final = 8
#: A move is at least this many rows high (shorter runs are cheap as tiles).
MIN_RUN: Final = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Move:
    """Copy the w x h pixels at (src_x, src_y) to (x, y)."""

    x: int
    y: int
    w: int
    h: int
    src_x: int
    src_y: int


class ScrollDetector:
    """Finds vertical scrolls of a ``width`` x ``height`` screen in ``tile`` columns."""

    def __init__(self, width: int, height: int, tile: int) -> None:
        self.width = width
        self.height = height
        self.tile = tile
        self._cols = width // tile  # full tile columns only
        # Hashes of two pixels (one u64 word) at a time when the width is even.
        self._unit = np.dtype(np.uint64) if width % 2 == 0 else np.dtype(np.uint32)
        self._units_per_tile = tile * 4 // self._unit.itemsize
        self._old_hash = np.empty((height, max(self._cols, 1)), np.uint64)
        self._new_hash = np.empty((height, max(self._cols, 1)), np.uint64)

    def detect(self, old: Picture, new: Picture, changed: npt.NDArray[np.bool_]) -> list[Move]:
        """Moves that turn ``old`` into something closer to ``new``.

        ``changed`` is the encoder's (tile rows, tile columns) change map.
        Both pictures are (height, width, 4) uint8 with contiguous rows.
        """
        if self._cols == 0 or int(changed.sum()) < MIN_CHANGED_TILES:
            return []
        rows = np.flatnonzero(changed.any(axis=1))
        top = int(rows[0]) * self.tile
        bottom = min((int(rows[-1]) + 1) * self.tile, self.height)
        if bottom - top < MIN_RUN:
            return []
        columns = np.flatnonzero(changed[:, : self._cols].any(axis=0))
        if columns.size == 0:
            return []
        old_hash = self._hashes(old, top, bottom, self._old_hash)
        new_hash = self._hashes(new, top, bottom, self._new_hash)
        dy = self._vote(old_hash, new_hash, columns)
        if dy == 0:
            return []
        runs = self._runs(old_hash, new_hash, columns, dy)
        # Runs are apart by at least one column: widened, they may meet but
        # never overlap, so every move reads pixels no other move wrote.
        moves: list[Move] = []
        for i, run in enumerate(runs):
            floor = moves[-1].x + moves[-1].w if moves else 0
            ceiling = runs[i + 1][0] * self.tile if i + 1 < len(runs) else self.width
            moves.append(self._widen(old, new, top, dy, run, floor, ceiling))
        return moves

    def _hashes(
        self, picture: Picture, top: int, bottom: int, out: npt.NDArray[np.uint64]
    ) -> npt.NDArray[np.uint64]:
        units = picture[top:bottom].reshape(bottom - top, self.width * 4).view(self._unit)
        strips = units[:, : self._cols * self._units_per_tile].reshape(
            bottom - top, self._cols, self._units_per_tile
        )
        band = out[: bottom - top, : self._cols]
        np.add.reduce(strips, axis=2, dtype=np.uint64, out=band)
        return band

    def _vote(
        self,
        old_hash: npt.NDArray[np.uint64],
        new_hash: npt.NDArray[np.uint64],
        columns: npt.NDArray[np.intp],
    ) -> int:
        votes: list[npt.NDArray[np.intp]] = []
        for c in columns.tolist():
            old, new = old_hash[:, c], new_hash[:, c]
            values, first, counts = np.unique(old, return_index=True, return_counts=True)
            moved = np.flatnonzero(new != old)
            if moved.size == 0:
                continue
            at = np.searchsorted(values, new[moved])
            at[at == values.size] = 0
            found = (values[at] == new[moved]) & (counts[at] == 1)
            votes.append(first[at[found]] - moved[found])
        if not votes:
            return 0
        shifts = np.concatenate(votes)
        shifts = shifts[shifts != 0]
        if shifts.size < MIN_VOTES:
            return 0
        candidates, counts = np.unique(shifts, return_counts=True)
        best = int(np.argmax(counts))
        return int(candidates[best]) if counts[best] >= MIN_VOTES else 0

    def _runs(
        self,
        old_hash: npt.NDArray[np.uint64],
        new_hash: npt.NDArray[np.uint64],
        columns: npt.NDArray[np.intp],
        dy: int,
    ) -> list[tuple[int, int, int, int]]:
        """(first column, end column, first row, end row), rows in band rows:
        runs of neighbouring columns, each with the rows where all of them match."""
        band = old_hash.shape[0]
        first, end = max(0, -dy), min(band, band - dy)
        if end - first < MIN_RUN:
            return []
        matches = new_hash[first:end] == old_hash[first + dy : end + dy]
        good = [c for c in columns.tolist() if _long_enough(matches[:, c])]
        found: list[tuple[int, int, int, int]] = []
        group: list[int] = []
        for c in [*good, -2]:
            if group and c == group[-1] + 1:
                group.append(c)
                continue
            if group:
                best = _best_rows(matches, group)
                if best is not None:
                    found.append((best[0], best[1], best[2] + first, best[3] + first))
            group = [c]
        return found

    def _widen(
        self,
        old: Picture,
        new: Picture,
        top: int,
        dy: int,
        run: tuple[int, int, int, int],
        floor: int,
        ceiling: int,
    ) -> Move:
        """The move for a run, grown left (down to ``floor``) and right (up to
        ``ceiling``) over every pixel column that matches on all its rows."""
        c0, c1, r0, r1 = run
        y, h = top + r0, r1 - r0
        left, right = c0 * self.tile, c1 * self.tile
        old_px = old.reshape(self.height, self.width * 4).view(np.uint32)
        new_px = new.reshape(self.height, self.width * 4).view(np.uint32)

        def matching(x0: int, x1: int) -> npt.NDArray[np.bool_]:
            same = new_px[y : y + h, x0:x1] == old_px[y + dy : y + dy + h, x0:x1]
            return np.asarray(same.all(axis=0), np.bool_)

        if left > floor:
            edge = matching(max(floor, left - self.tile), left)
            misses = np.flatnonzero(~edge)
            left -= edge.size if misses.size == 0 else edge.size - 1 - int(misses[-1])
        if right < ceiling:
            edge = matching(right, min(ceiling, right + self.tile))
            misses = np.flatnonzero(~edge)
            right += edge.size if misses.size == 0 else int(misses[0])
        return Move(left, y, right - left, h, left, y + dy)


#: How many columns ``_best_rows`` may drop at either end of a group.
_TRIM: Final = 3


def _best_rows(
    matches: npt.NDArray[np.bool_], group: list[int]
) -> tuple[int, int, int, int] | None:
    """The largest (columns x rows) run of a group of neighbouring columns,
    dropping up to ``_TRIM`` columns at either end (a window's edge columns
    match only in parts)."""
    best: tuple[int, int, int, int] | None = None
    area = 0
    n = len(group)
    for i in range(min(_TRIM, n - 1) + 1):
        for j in range(min(_TRIM, n - 1 - i) + 1):
            c0, c1 = group[i], group[n - 1 - j] + 1
            run = _longest_run(np.asarray(matches[:, c0:c1].all(axis=1), np.bool_))
            if run is None or run[1] - run[0] < MIN_RUN:
                continue
            if (c1 - c0) * (run[1] - run[0]) > area:
                area = (c1 - c0) * (run[1] - run[0])
                best = (c0, c1, run[0], run[1])
    return best


def _long_enough(values: npt.NDArray[np.bool_]) -> bool:
    run = _longest_run(values)
    return run is not None and run[1] - run[0] >= MIN_RUN


def _longest_run(values: npt.NDArray[np.bool_]) -> tuple[int, int] | None:
    """(start, end) of the longest run of True in ``values``, or None."""
    if not values.any():
        return None
    padded = np.concatenate(([False], values, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])


def apply_moves(picture: Picture, moves: list[Move]) -> None:
    """Apply ``moves`` to ``picture`` in order, as a viewer does."""
    for m in moves:
        source = picture[m.src_y : m.src_y + m.h, m.src_x : m.src_x + m.w]
        # numpy copies through a temporary when source and destination overlap.
        np.copyto(picture[m.y : m.y + m.h, m.x : m.x + m.w], source)
