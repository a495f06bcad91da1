"""Moves: scroll detection (host_app/moves.py) and the encoder sending copy
rects that a Canvas turns back into the exact picture."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from host_app.encoder import TileEncoder
from host_app.moves import Move, ScrollDetector, apply_moves
from protocol.frames import Encoding, parse_frame
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]


def document(width: int, height: int, seed: int = 0) -> Picture:
    """A page of 'text': dark strokes of random length on a light background,
    one line every 16 rows, with a static frame around it."""
    rng = np.random.default_rng(seed)
    picture = np.full((height, width, 4), 240, np.uint8)
    picture[..., 3] = 0
    for row in range(4, height - 12, 16):
        col = 8
        while col < width - 40:
            length = int(rng.integers(4, 36))
            shade = int(rng.integers(0, 80))
            picture[row : row + 9, col : col + length, :3] = shade
            picture[row + 4, col : col + length : 3, :3] = 240
            col += length + int(rng.integers(4, 12))
    return picture


def scrolled(
    page: Picture, picture: Picture, box: tuple[int, int, int, int], offset: int
) -> Picture:
    """``picture`` with ``box`` (x, y, w, h) showing ``page`` from row ``offset``."""
    x, y, w, h = box
    out = picture.copy()
    out[y : y + h, x : x + w] = page[offset : offset + h, :w]
    return out


def run_scroll(
    width: int, height: int, box: tuple[int, int, int, int], steps: list[int]
) -> tuple[TileEncoder, list[bytes]]:
    """Scroll a long page through ``box`` by each of ``steps`` rows; every
    payload must rebuild the picture exactly. Returns the encoder and the deltas."""
    _x, _y, w, h = box
    page = document(w, h + 40 * len(steps) + 400, seed=3)
    desk = np.zeros((height, width, 4), np.uint8)
    # A wallpaper whose rows all differ, so nothing outside the box matches.
    desk[..., 0] = np.arange(width, dtype=np.uint8)[None, :]
    desk[..., 1] = np.random.default_rng(9).integers(0, 256, (height, 1), dtype=np.uint8)
    offset = 200
    picture = scrolled(page, desk, box, offset)
    encoder = TileEncoder(width, height)
    canvas = Canvas()
    key = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    canvas.apply(key)
    deltas = []
    for seq, step in enumerate(steps, 1):
        offset += step
        picture = scrolled(page, desk, box, offset)
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        canvas.apply(payload)
        assert canvas.picture is not None
        assert np.array_equal(canvas.picture, picture), f"step {seq}"
        deltas.append(payload)
    return encoder, deltas


@pytest.mark.parametrize("step", [1, 3, 16, 48, -5, -32])
def test_a_scrolled_window_is_sent_as_a_move_and_the_new_lines(step: int) -> None:
    box = (100, 70, 600, 400)  # edges on no tile
    _encoder, deltas = run_scroll(1024, 600, box, [step] * 3)
    for payload in deltas:
        _, rects, _ = parse_frame(payload)
        copies = [r for r in rects if r.encoding == Encoding.COPY]
        assert len(copies) == 1
        # The move is the whole window less the rows that scrolled in.
        assert (copies[0].x, copies[0].w, copies[0].h) == (100, 600, 400 - abs(step))
        assert copies[0].y == (70 if step > 0 else 70 - step)
        sent = sum(r.w * r.h for r in rects if r.encoding != Encoding.COPY)
        # What remains are the tiles the new lines touch.
        assert sent <= (abs(step) // 64 + 2) * 64 * 1024


def test_moves_make_a_scroll_much_smaller() -> None:
    box = (0, 0, 1280, 720)
    with_moves = run_scroll(1280, 720, box, [24] * 4)[1]
    encoder = TileEncoder(1280, 720, moves=False)
    assert encoder.statistics().moves == 0
    sizes = [len(p) for p in with_moves]
    # Without moves every tile of the page changes; with them, one band.
    page = document(1280, 720 + 600, seed=3)
    encoder.encode(page[200:920].copy(), keyframe=True, seq=0, capture_ns=0)
    plain = encoder.encode(page[224:944].copy(), keyframe=False, seq=1, capture_ns=0)
    assert plain is not None
    assert max(sizes) * 4 < len(plain)


def test_typing_is_never_searched_for_moves() -> None:
    picture = document(640, 480)
    detector = ScrollDetector(640, 480, 64)
    changed = np.zeros((8, 10), np.bool_)
    changed[2, 3:5] = True
    assert detector.detect(picture, picture, changed) == []


def test_a_wrong_guess_costs_bytes_not_pixels() -> None:
    # Rows that repeat (every line the same) make any shift look right.
    line = document(640, 16, seed=1)
    page = np.tile(line, (40, 1, 1))
    encoder = TileEncoder(640, 480)
    canvas = Canvas()
    first = encoder.encode(page[0:480], keyframe=True, seq=0, capture_ns=0)
    assert first is not None
    canvas.apply(first)
    changed = page[5:485].copy()
    changed[100:140, 200:260] = 7
    delta = encoder.encode(changed, keyframe=False, seq=1, capture_ns=0)
    assert delta is not None
    canvas.apply(delta)
    assert canvas.picture is not None and np.array_equal(canvas.picture, changed)


def test_apply_moves_reads_what_earlier_moves_wrote() -> None:
    picture = np.arange(5 * 3 * 4, dtype=np.uint8).reshape(3, 5, 4)
    want = picture.copy()
    want[1:3, 1:5] = want[0:2, 0:4].copy()
    want[0:1, 0:2] = want[2:3, 3:5].copy()
    apply_moves(picture, [Move(1, 1, 4, 2, 0, 0), Move(0, 0, 2, 1, 3, 2)])
    assert np.array_equal(picture, want)


def test_encoder_statistics_count_moves() -> None:
    encoder, deltas = run_scroll(640, 480, (0, 0, 640, 480), [10, 10])
    stats = encoder.statistics()
    assert stats.moves == 2
    assert stats.moved_pixels == 2 * 640 * 470
    assert len(deltas) == 2
