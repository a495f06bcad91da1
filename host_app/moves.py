"""Finding moved regions between two pictures, so they can be sent as moves.

``MoveDetector.detect(old, new, changed)`` returns ``Move``s: rectangles of
``new`` that are exact copies of ``old`` shifted by one offset ``(sx, sy)``,
``new[y, x] == old[y + sy, x + sx]`` for every pixel of the rect (the copy
rects of docs/protocol.md, rect encoding 1). A scroll has ``sx == 0``; a
dragged window may have both non-zero.

Rules:

1. Detection runs only when at least ``MIN_CHANGED_TILES`` tiles changed
   (typing never pays for it), and not while backing off (rule 6).
2. Anchors: rows are sampled from the changed tile rows (busiest first, at
   ``ROW_PARTS`` of each tile); in each, the run of ``NEEDLE`` pixels of
   ``new`` with the most colour edges next to changed pixels, and not a
   short repeating pattern (``MAX_PERIOD``), is an anchor: distinctive
   content that may have moved. Runs with fewer than ``MIN_EDGES`` such
   edges are no anchors; ``MAX_ANCHORS`` at most.
3. Each anchor is looked up exactly in ``old``, within ``NEAR_SHIFT`` pixels
   each way first and, if that gives no move, within ``MAX_SHIFT``,
   always inside the changed tiles' bounding box: two ``==`` over that area
   on pairs of pixels read as 64-bit words, then the rest of the run checked
   at the hits only. Every place the whole run equals gives an offset; an
   anchor found in n places gives each offset one vote and a weight of 1/n,
   and one found in more than ``MAX_HITS`` places none. Looking stops once
   an offset has ``ENOUGH_WEIGHT`` or ``ENOUGH_VOTES``, or when the first
   ``GIVE_UP_NEAR`` (``GIVE_UP_FAR``) anchors found nothing at all (video, a
   new picture: the miss costs little).
4. Offsets with at least ``MIN_VOTES`` votes (the ``MAX_SCORED`` heaviest)
   are ranked by how many pixels match under them in ``PATCH`` rows around
   every anchor, and the best ``MAX_OFFSETS`` tried. Why not unique rows
   (the vertical-only detector this replaced): text and UI repeat whole
   rows (blank lines, the rows of a flat stroke), so a column of a scrolled
   document may hold no unique row at all, and offsets a row or two apart
   tie on votes.
5. A move grows from an anchor that voted for its offset, inside the box of
   the changed tiles connected to the anchor's tile: where ``new`` equals
   ``old`` shifted is one mask; each column's run of matches through the
   anchor's row is measured up and down, and the largest rectangle through
   the anchor's middle column under those runs wins (found exactly, see
   ``_largest_rect``), whole (its unchanged pixels cost nothing). It is
   kept if at least ``MIN_MOVE_PIXELS`` of its pixels changed and neither
   its destination nor its source overlaps an earlier move's destination:
   moves are applied in order and each must read pixels of the previous
   picture only. ``MAX_MOVES`` at most.
6. Back-off: a detection that finds nothing skips the next 1, 2, 4 ...
   (at most ``MAX_SKIP``) updates that would have run it; one that finds a
   move resets this. A scroll or drag is thus caught at its first update
   unless a miss (a video playing, say) came right before it.

Every pixel of a move is compared, so moves are exact. The encoder still
applies them to its previous picture exactly as a viewer will and diffs
again, so a move can only ever cost bytes, never a wrong pixel.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

Picture = npt.NDArray[np.uint8]
Pixels = npt.NDArray[np.uint32]

#: Fewer changed tiles than this: no detection (typing, a blinking cursor).
MIN_CHANGED_TILES: Final = 6
#: Pixels in an anchor's run.
NEEDLE: Final = 32
#: An anchor's run has at least this many colour edges (changes between
#: neighbouring pixels).
MIN_EDGES: Final = 2
#: A run that repeats with a period up to this is no anchor ...
MAX_PERIOD: Final = 8
#: ... and this many of a row's best runs are tried before giving up the row.
RUN_CHOICES: Final = 4
#: At most this many anchors per detection ...
MAX_ANCHORS: Final = 12
#: ... from these rows of each tile row (in 64ths of a tile), busiest tile
#: rows first: every 7th row, so all 16 rows of a 16-row text pitch come up
#: (after a small scroll only a line's top and bottom rows change).
ROW_PARTS: Final = tuple((7 * k + 5) % 64 for k in range(16))
#: Anchors are looked up this many pixels away (each axis) first ...
NEAR_SHIFT: Final = 64
#: ... and, if that finds no offset, up to this far: how far a move's
#: source may lie from its destination.
MAX_SHIFT: Final = 320
#: An anchor found in more places than this votes for none.
MAX_HITS: Final = 256
#: An offset is tried with at least this many votes ...
MIN_VOTES: Final = 2
#: ... and looking for more stops once one has this weight (an anchor found
#: in n places gives each of those offsets 1/n), or this many votes.
ENOUGH_WEIGHT: Final = 2.5
ENOUGH_VOTES: Final = 5
#: Give up when the first this many anchors found nothing at all, near
#: and far (a run that straddles a moved window's edge is found nowhere).
GIVE_UP_NEAR: Final = 5
GIVE_UP_FAR: Final = 5
#: At most this many offsets with the most votes are scored by ``PATCH``
#: rows above and below their anchors ...
MAX_SCORED: Final = 8
PATCH: Final = 32
#: At most this many offsets are tried, and at most this many moves sent.
MAX_OFFSETS: Final = 2
MAX_MOVES: Final = 4
#: A move covers at least this many changed pixels (smaller ones are cheap as pixels).
MIN_MOVE_PIXELS: Final = 1024
#: Hits of a look-up checked against the whole run in one gather (more: a
#: column at a time until this few are left).
CHECK_AT_ONCE: Final = 4096
#: Rows compared at a time when counting a move's changed pixels.
BAND: Final = 64
#: Longest back-off, in updates, after misses.
MAX_SKIP: Final = 8

#: Row p - 1: each pixel of a run paired with the one p further on (periods
#: 1 to ``MAX_PERIOD``); pairs past the run's end always agree.
_SHIFTED: Final = np.minimum(np.arange(1, MAX_PERIOD + 1)[:, None] + np.arange(NEEDLE), NEEDLE - 1)
_PAST_END: Final = np.arange(1, MAX_PERIOD + 1)[:, None] + np.arange(NEEDLE) >= NEEDLE


@dataclasses.dataclass(frozen=True, slots=True)
class Move:
    """Copy the w x h pixels at (src_x, src_y) to (x, y)."""

    x: int
    y: int
    w: int
    h: int
    src_x: int
    src_y: int


#: (left, top, right, bottom), right and bottom exclusive.
Box = tuple[int, int, int, int]


@dataclasses.dataclass(frozen=True, slots=True)
class _Anchor:
    x: int
    y: int
    needle: Pixels


class MoveDetector:
    """Finds moved (scrolled, dragged) regions of a ``width`` x ``height``
    screen whose changes are tracked in ``tile`` x ``tile`` tiles."""

    def __init__(self, width: int, height: int, tile: int) -> None:
        self.width = width
        self.height = height
        self.tile = tile
        self._skip = 0
        self._penalty = 0

    def detect(self, old: Picture, new: Picture, changed: npt.NDArray[np.bool_]) -> list[Move]:
        """Moves that turn ``old`` into something closer to ``new``.

        ``changed`` is the encoder's (tile rows, tile columns) change map.
        Both pictures are (height, width, 4) uint8 with contiguous pixels.
        """
        if int(np.count_nonzero(changed)) < MIN_CHANGED_TILES:
            return []
        if self._skip > 0:
            self._skip -= 1
            return []
        moves = self._find(_pixels(old), _pixels(new), changed)
        if moves:
            self._penalty = 0
        else:
            self._penalty = min(MAX_SKIP, max(1, 2 * self._penalty))
            self._skip = self._penalty
        return moves

    def _find(self, old: Pixels, new: Pixels, changed: npt.NDArray[np.bool_]) -> list[Move]:
        tile_rows = np.flatnonzero(changed.any(axis=1))
        tile_cols = np.flatnonzero(changed.any(axis=0))
        bounds = (
            int(tile_cols[0]) * self.tile,
            int(tile_rows[0]) * self.tile,
            min(self.width, (int(tile_cols[-1]) + 1) * self.tile),
            min(self.height, (int(tile_rows[-1]) + 1) * self.tile),
        )
        anchors = self._anchors(old, new, changed)
        seen: list[_Anchor] = []
        regions: dict[tuple[int, int], Box] = {}
        for reach, give_up in ((NEAR_SHIFT, GIVE_UP_NEAR), (MAX_SHIFT, GIVE_UP_FAR)):
            votes, weights, seeds = self._vote(
                old, itertools.chain(seen, anchors), bounds, reach, give_up, seen
            )
            # Rows repeat (a flat stroke, blank lines), so offsets one or two
            # rows apart often tie: the one under which more pixels around
            # the anchors match goes first.
            heaviest = sorted(weights, key=weights.__getitem__, reverse=True)
            tried = [o for o in heaviest if votes[o] >= MIN_VOTES][:MAX_SCORED]
            tried.sort(key=lambda o: _patch_score(old, new, seen, o), reverse=True)
            moves = self._moves(old, new, changed, tried[:MAX_OFFSETS], seeds, regions)
            if moves:
                return moves
            # Near offsets voted for by chance (repeated words) gave nothing:
            # look further.
        return []

    def _moves(
        self,
        old: Pixels,
        new: Pixels,
        changed: npt.NDArray[np.bool_],
        offsets: list[tuple[int, int]],
        seeds: dict[tuple[int, int], list[_Anchor]],
        regions: dict[tuple[int, int], Box],
    ) -> list[Move]:
        """Rule 5: the moves grown from the anchors that voted for ``offsets``."""
        moves: list[Move] = []
        for offset in offsets:
            masks: dict[Box, tuple[Box, npt.NDArray[np.bool_]]] = {}
            for anchor in seeds[offset]:
                if len(moves) == MAX_MOVES:
                    return moves
                seed = (anchor.x, anchor.y, anchor.x + anchor.needle.size, anchor.y + 1)
                if any(_overlap(seed, _destination(m)) for m in moves):
                    continue
                # A move lies inside one region of neighbouring changed tiles.
                tiles = _region(changed, anchor.y // self.tile, anchor.x // self.tile, regions)
                if tiles not in masks:
                    area = (
                        tiles[0] * self.tile,
                        tiles[1] * self.tile,
                        min(self.width, tiles[2] * self.tile),
                        min(self.height, tiles[3] * self.tile),
                    )
                    masks[tiles] = self._matches(old, new, offset, area)
                move = self._grow_move(old, new, seed, offset, masks[tiles])
                if move is not None and not any(
                    _overlap(_destination(move), _destination(m))
                    or _overlap(_source(move), _destination(m))
                    for m in moves
                ):
                    moves.append(move)
        return moves

    def _vote(
        self,
        old: Pixels,
        anchors: Iterable[_Anchor],
        bounds: Box,
        reach: int,
        give_up: int,
        seen: list[_Anchor],
    ) -> tuple[
        Counter[tuple[int, int]], dict[tuple[int, int], float], dict[tuple[int, int], list[_Anchor]]
    ]:
        """Rule 3: the offsets the ``anchors`` vote for, looked up ``reach``
        pixels away at most, and the anchors that voted for each. New anchors
        are added to ``seen``."""
        votes: Counter[tuple[int, int]] = Counter()
        weights: dict[tuple[int, int], float] = {}
        seeds: dict[tuple[int, int], list[_Anchor]] = {}
        for searched, anchor in enumerate(anchors, 1):
            if searched > len(seen):
                seen.append(anchor)
            offsets = self._look_up(old, anchor, bounds, reach)
            for offset in offsets:
                votes[offset] += 1
                weights[offset] = weights.get(offset, 0.0) + 1 / len(offsets)
                seeds.setdefault(offset, []).append(anchor)
            if not votes and searched >= give_up:
                break
            if weights and (
                max(weights.values()) >= ENOUGH_WEIGHT or max(votes.values()) >= ENOUGH_VOTES
            ):
                break
        return votes, weights, seeds

    def _anchors(
        self, old: Pixels, new: Pixels, changed: npt.NDArray[np.bool_]
    ) -> Iterator[_Anchor]:
        """Rule 2: distinctive runs of changed pixels, from the busiest tile rows."""
        per_row = changed.sum(axis=1)
        order = np.argsort(-per_row, kind="stable")
        busy = [int(r) for r in order if per_row[r] > 0]
        # Each tile row's span of changed tiles, in pixels.
        lefts = (np.argmax(changed, axis=1) * self.tile).tolist()
        rights = np.minimum(
            self.width, (changed.shape[1] - np.argmax(changed[:, ::-1], axis=1)) * self.tile
        ).tolist()
        found = 0
        for part in ROW_PARTS:
            for tile_row in busy:
                y = tile_row * self.tile + part * self.tile // 64
                if y >= self.height:
                    continue
                left, right = lefts[tile_row], rights[tile_row]
                x = _best_run(new[y, left:right], old[y, left:right])
                if x is not None:
                    yield _Anchor(left + x, y, new[y, left + x : left + x + NEEDLE])
                    found += 1
                    if found == MAX_ANCHORS:
                        return

    def _look_up(
        self, old: Pixels, anchor: _Anchor, bounds: Box, reach: int
    ) -> list[tuple[int, int]]:
        """The offsets (sx, sy), ``reach`` at most, at which ``anchor`` appears in ``old``."""
        size = anchor.needle.size
        left = max(bounds[0], anchor.x - reach)
        top = max(bounds[1], anchor.y - reach)
        right = min(bounds[2], anchor.x + size + reach)
        bottom = min(bounds[3], anchor.y + 1 + reach)
        if right - left < size:
            return []
        # First two pairs of pixels as 64-bit words: the pair at the run's
        # first edge (an edge is rarer than a colour) and another pair of the
        # same parity, at even and at odd columns.
        needle = anchor.needle
        k = int(np.argmax(needle[1:] != needle[:-1]))
        pairs = np.ascontiguousarray(needle[k : k + 2 * ((size - k) // 2)]).view(np.uint64)
        m = next((i for i in range(1, pairs.size) if pairs[i] != pairs[0]), pairs.size - 1)
        first, last = left + k, right - size + k  # where the first pair may start
        found_y, found_x = [], []
        for start in (first, first + 1):
            count = (last - start) // 2 + 1
            if count <= 0:
                continue
            words = old[top:bottom, start : start + 2 * (count + m)].view(np.uint64)
            hit = words[:, :count] == pairs[0]
            if m:
                hit &= words[:, m : m + count] == pairs[m]
            ys, js = np.divmod(np.flatnonzero(hit), count)
            found_y.append(ys + top)
            found_x.append(start - k + 2 * js)
        ys, xs = np.concatenate(found_y), np.concatenate(found_x)
        # The whole run at every hit, in one gather (a few columns at a time
        # first while the hits are many).
        for j in range(size):
            if ys.size <= CHECK_AT_ONCE:
                break
            keep = old[ys, xs + j] == needle[j]
            ys, xs = ys[keep], xs[keep]
        if ys.size:
            keep = (old[ys[:, None], xs[:, None] + np.arange(size)] == needle).all(axis=1)
            ys, xs = ys[keep], xs[keep]
        if ys.size > MAX_HITS:
            return []
        return [
            (dx, dy)
            for dx, dy in zip((xs - anchor.x).tolist(), (ys - anchor.y).tolist(), strict=True)
            if dx or dy
        ]

    def _matches(
        self, old: Pixels, new: Pixels, offset: tuple[int, int], bounds: Box
    ) -> tuple[Box, npt.NDArray[np.bool_]]:
        """Where, inside ``bounds``, ``new`` equals ``old`` shifted by ``offset``:
        the area compared (destinations whose source is on the screen) and
        the mask."""
        sx, sy = offset
        x0, y0 = max(bounds[0], -sx), max(bounds[1], -sy)
        x1 = max(x0, min(bounds[2], self.width - sx))
        y1 = max(y0, min(bounds[3], self.height - sy))
        mask = new[y0:y1, x0:x1] == old[y0 + sy : y1 + sy, x0 + sx : x1 + sx]
        return (x0, y0, x1, y1), mask

    def _grow_move(
        self,
        old: Pixels,
        new: Pixels,
        seed: Box,
        offset: tuple[int, int],
        matches: tuple[Box, npt.NDArray[np.bool_]],
    ) -> Move | None:
        """Rule 5: the move grown from ``seed``, or None if too small."""
        (left, top, _, _), mask = matches
        if not (left <= seed[0] and top <= seed[1] < top + mask.shape[0]):
            return None
        box = _largest_rect(mask, seed[1] - top, seed[0] - left, seed[2] - left)
        if box is None:
            return None
        x0, y0, x1, y1 = box[0] + left, box[1] + top, box[2] + left, box[3] + top
        # The whole matching rectangle moves (unchanged pixels in it cost
        # nothing), if enough of it changed.
        if not _changes_at_least(new, old, (x0, y0, x1, y1), MIN_MOVE_PIXELS):
            return None
        return Move(x0, y0, x1 - x0, y1 - y0, x0 + offset[0], y0 + offset[1])


def _pixels(picture: Picture) -> Pixels:
    """A (height, width, 4) uint8 picture as (height, width) uint32, no copy."""
    return picture.view(np.uint32)[..., 0]


def _changes_at_least(new: Pixels, old: Pixels, box: Box, count: int) -> bool:
    """Whether at least ``count`` pixels of ``box`` differ between ``new`` and
    ``old``; compared in bands of rows, stopping once enough differ."""
    x0, y0, x1, y1 = box
    found = 0
    for top in range(y0, y1, BAND):
        bottom = min(y1, top + BAND)
        found += int(np.count_nonzero(new[top:bottom, x0:x1] != old[top:bottom, x0:x1]))
        if found >= count:
            return True
    return False


def _patch_score(old: Pixels, new: Pixels, anchors: list[_Anchor], offset: tuple[int, int]) -> int:
    """How many pixels of the ``PATCH`` rows around ``anchors`` match under ``offset``."""
    sx, sy = offset
    height, width = new.shape
    score = 0
    for a in anchors:
        y0 = max(a.y - PATCH, -sy, 0)
        y1 = min(a.y + PATCH + 1, height - sy, height)
        x0, x1 = max(a.x, -sx), min(a.x + a.needle.size, width - sx)
        if y0 < y1 and x0 < x1:
            same = new[y0:y1, x0:x1] == old[y0 + sy : y1 + sy, x0 + sx : x1 + sx]
            score += int(np.count_nonzero(same))
    return score


def _best_run(new_row: Pixels, old_row: Pixels) -> int | None:
    """Where in ``new_row`` the ``NEEDLE`` run with the most edges next to
    changed pixels (pixels that differ from ``old_row``) starts; None if none
    has ``MIN_EDGES``. Edges between unchanged pixels do not count: a run
    reaching out of a moved window into static background is found nowhere."""
    if new_row.size < NEEDLE:
        return None
    changed = new_row != old_row
    if not changed.any():
        return None
    moved = changed[1:] | changed[:-1]
    edges = np.concatenate(([0], np.cumsum((new_row[1:] != new_row[:-1]) & moved)))
    # Edges inside run i: onto pixels i+1 .. i+NEEDLE-1.
    score = edges[NEEDLE - 1 :] - edges[: edges.size - NEEDLE + 1]
    # Best first; among equals, nearest the middle of the changed span, which
    # is inside a moved window rather than on the strip it uncovered.
    middle = np.abs(np.arange(score.size) - (score.size // 2))
    for start in np.lexsort((middle, -score))[:RUN_CHOICES].tolist():
        if score[start] < MIN_EDGES:
            return None
        run = new_row[start : start + NEEDLE]
        # A repeating pattern (a dotted line) is found wherever it repeats:
        # run[p:] == run[:-p] for some period p, all periods in one compare.
        if not ((run[_SHIFTED] == run) | _PAST_END).all(axis=1).any():
            return int(start)
    return None


def _largest_rect(mask: npt.NDArray[np.bool_], row: int, c0: int, c1: int) -> Box | None:
    """The largest all-True rectangle of ``mask`` through ``row`` that
    contains the middle column of ``c0`` to ``c1`` (a seed, all True on
    ``row``), as (left, top, right, bottom).

    Each column's run of True through ``row`` is measured up and down. A
    rectangle spanning columns ``i`` to ``j`` is as tall as the least run up
    plus the least run down in that span; going out from the middle column
    those least runs only shrink, and change at a few steps. The widest
    span for each pair of steps, left and right, is a candidate, and the
    candidates' areas are compared in one numpy outer product: exact, no
    loop over columns. From the seed's middle column alone: the seed may
    reach out of the moved area by a few columns that match only near
    ``row``."""
    width = mask.shape[1]
    if c1 > width or not mask[row, c0:c1].all():
        return None
    up = _run_lengths(mask[row::-1])
    down = _run_lengths(mask[row:])
    i = (c0 + c1) // 2
    # Left: spans of columns i - l .. i; right: columns i + 1 .. i + r.
    ul, dl, lefts = _steps(up[i::-1], down[i::-1])
    ur, dr, rights = _steps(up[i + 1 :], down[i + 1 :])
    huge = mask.shape[0] + 1
    ur = np.concatenate(([huge], ur))
    dr = np.concatenate(([huge], dr))
    rights = np.concatenate(([0], rights + 1))
    heights = np.minimum(ul[:, None], ur[None, :]) + np.minimum(dl[:, None], dr[None, :]) - 1
    areas = (lefts[:, None] + 1 + rights[None, :]) * heights
    a, b = np.unravel_index(int(np.argmax(areas)), areas.shape)
    u = int(min(ul[a], ur[b]))
    d = int(min(dl[a], dr[b]))
    return i - int(lefts[a]), row - u + 1, i + 1 + int(rights[b]), row + d


def _run_lengths(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """How many rows of each column of ``mask`` are True from row 0 on."""
    runs: npt.NDArray[np.int64] = np.where(
        mask.all(axis=0), mask.shape[0], np.argmin(mask, axis=0)
    ).astype(np.int64)
    return runs


def _steps(
    up: npt.NDArray[np.int64], down: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Going along ``up`` and ``down`` (columns outwards from a seed), the
    least run up and down so far at the last column before either changes,
    and that column's index; only columns matching on the seed's row."""
    least_up = np.minimum.accumulate(up)
    least_down = np.minimum.accumulate(down)
    count = int(np.count_nonzero(least_up))  # a column not matching on the row ends it
    least_up, least_down = least_up[:count], least_down[:count]
    last = np.ones(count, np.bool_)
    last[:-1] = (least_up[1:] != least_up[:-1]) | (least_down[1:] != least_down[:-1])
    at = np.flatnonzero(last)
    return least_up[at], least_down[at], at


def _region(
    changed: npt.NDArray[np.bool_], row: int, col: int, known: dict[tuple[int, int], Box]
) -> Box:
    """The bounding box in tiles (left, top, right, bottom) of the changed
    tiles connected to tile (``row``, ``col``), corners included; ``known``
    remembers it for every tile of the region. Grown by whole-map dilations
    (one numpy step per ring), not tile by tile."""
    if (row, col) in known:
        return known[(row, col)]
    rows, cols = changed.shape
    region = np.zeros((rows + 2, cols + 2), np.bool_)
    inside = region[1:-1, 1:-1]
    inside[row, col] = True
    count = 1
    while True:
        grown = region.copy()
        grown[1:, :] |= region[:-1, :]
        grown[:-1, :] |= region[1:, :]
        wide = grown.copy()
        wide[:, 1:] |= grown[:, :-1]
        wide[:, :-1] |= grown[:, 1:]
        region[1:-1, 1:-1] = wide[1:-1, 1:-1] & changed
        region[1:-1, 1:-1][row, col] = True
        now = int(np.count_nonzero(region))
        if now == count:
            break
        count = now
    tile_rows = np.flatnonzero(inside.any(axis=1))
    tile_cols = np.flatnonzero(inside.any(axis=0))
    box = (int(tile_cols[0]), int(tile_rows[0]), int(tile_cols[-1]) + 1, int(tile_rows[-1]) + 1)
    for r, c in zip(*np.nonzero(inside), strict=True):
        known[(int(r), int(c))] = box
    return box


def _destination(m: Move) -> Box:
    return m.x, m.y, m.x + m.w, m.y + m.h


def _source(m: Move) -> Box:
    return m.src_x, m.src_y, m.src_x + m.w, m.src_y + m.h


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def apply_moves(picture: Picture, moves: list[Move]) -> None:
    """Apply ``moves`` to ``picture`` in order, as a viewer does."""
    for m in moves:
        source = picture[m.src_y : m.src_y + m.h, m.src_x : m.src_x + m.w]
        # numpy copies through a temporary when source and destination overlap.
        np.copyto(picture[m.y : m.y + m.h, m.x : m.x + m.w], source)
