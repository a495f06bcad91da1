"""Moves: scroll and drag detection (host_app/moves.py) and the encoder
sending copy rects that a Canvas turns back into the exact picture."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import zstandard

from host_app import moves as moves_module
from host_app.encoder import TileEncoder
from host_app.moves import Move, MoveDetector, apply_moves
from protocol.frames import Encoding, copy_source, parse_frame
from tests.scenes import desktop_picture, text_page
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
        # The move is the whole window less the rows that scrolled in (and
        # less its blank margins, which do not change).
        assert copies[0].x >= 100 and copies[0].x + copies[0].w <= 700
        assert copies[0].w >= 560 and 400 - abs(step) - 8 <= copies[0].h <= 400 - abs(step)
        # (less blank rows at its top, which do not change)
        assert 0 <= copies[0].y - (70 if step > 0 else 70 - step) <= 8
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
    detector = MoveDetector(640, 480, 64)
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
    assert 0.9 * 2 * 640 * 470 <= stats.moved_pixels <= 2 * 640 * 470
    assert len(deltas) == 2


# -- 2-D moves, edges, misses ------------------------------------------------------


def bgrx(rgb: npt.NDArray[np.uint8]) -> Picture:
    """An RGB picture as the BGRX a capture gives (X byte 0)."""
    out = np.zeros((*rgb.shape[:2], 4), np.uint8)
    out[..., :3] = rgb[..., ::-1]
    return out


def window(width: int, height: int, seed: int) -> Picture:
    """A window: a title bar over lines of real text."""
    content = bgrx(text_page(width, height, seed))
    content[:24, :, :3] = (164, 101, 52)
    content[:, :2, :3] = 90  # a border
    return content


def place(desk: Picture, content: Picture, x: int, y: int) -> Picture:
    """``desk`` with ``content`` at (x, y), clipped to the screen."""
    out = desk.copy()
    h, w = content.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(out.shape[1], x + w), min(out.shape[0], y + h)
    out[y0:y1, x0:x1] = content[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


#: A copy rect as (x, y, w, h, src_x, src_y).
CopyRect = tuple[int, int, int, int, int, int]


def encode_all(pictures: list[Picture]) -> tuple[TileEncoder, list[list[CopyRect]]]:
    """Encode ``pictures`` (the first as a key frame), checking that a Canvas
    rebuilds each exactly; the copy rects of each delta as (x, y, w, h, src_x, src_y)."""
    height, width = pictures[0].shape[:2]
    encoder = TileEncoder(width, height)
    canvas = Canvas()
    key = encoder.encode(pictures[0], keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    canvas.apply(key)
    copies = []
    for seq, picture in enumerate(pictures[1:], 1):
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        canvas.apply(payload)
        assert canvas.picture is not None
        assert np.array_equal(canvas.picture, picture), f"picture {seq}"
        _, rects, blob = parse_frame(payload)
        data = zstandard.ZstdDecompressor().decompress(blob)
        found: list[CopyRect] = []
        offset = 0  # the encoder sends its moves first
        for r in rects:
            if r.encoding == Encoding.COPY:
                src_x, src_y = copy_source(data, offset, r, width, height)
                found.append((r.x, r.y, r.w, r.h, src_x, src_y))
            offset += r.length
        copies.append(found)
    return encoder, copies


def test_a_scrolled_document_whose_rows_all_repeat_is_a_move() -> None:
    # The cause of few moves on the real scroll scene: in a 64-pixel column
    # of this document no row is unique (blank rows, rows of flat strokes),
    # so voting with unique row hashes found nothing.
    page = bgrx(desktop_picture(600, 2400, seed=21)[220:])
    desk = bgrx(desktop_picture(1024, 600, seed=1))
    pictures = [place(desk, page[20 * n : 20 * n + 400], 200, 100) for n in range(4)]
    encoder, copies = encode_all(pictures)
    for found in copies:
        assert len(found) == 1
        x, y, w, h, src_x, src_y = found[0]
        assert (src_x - x, src_y - y) == (0, 20)
        # All rows but the 20 scrolled in; the page's blank right part does
        # not change, so it need not move.
        assert (y, h) == (100, 380) and w >= 340
    assert encoder.statistics().moves == 3
    # Left to send after the key frame: the 20 new rows, about.
    assert encoder.statistics().pixels_sent - 1024 * 600 <= 3 * 2 * 20 * 600


@pytest.mark.parametrize(
    "step", [(16, 0), (-24, 0), (0, 12), (16, 10), (-30, -20), (3, 1), (150, -90)]
)
def test_a_dragged_window_is_one_move_and_the_uncovered_desktop(step: tuple[int, int]) -> None:
    dx, dy = step
    desk = bgrx(desktop_picture(1024, 600, seed=1))
    content = window(300, 200, seed=5)
    pictures = [place(desk, content, 400 + n * dx, 200 + n * dy) for n in range(3)]
    encoder, copies = encode_all(pictures)
    for n, found in enumerate(copies, 1):
        assert len(found) == 1, found
        x, y, w, h, src_x, src_y = found[0]
        assert (src_x - x, src_y - y) == (-dx, -dy)
        # Nearly all of the window's new place (it may reach out over
        # desktop that matches too: every pixel of a move is checked).
        left, top = 400 + n * dx, 200 + n * dy
        inside_w = min(x + w, left + 300) - max(x, left)
        inside_h = min(y + h, top + 200) - max(y, top)
        assert inside_w * inside_h >= 0.9 * 300 * 200
    # What is left to send is about the uncovered desktop, not the window.
    uncovered = 300 * 200 - (300 - abs(dx)) * (200 - abs(dy))
    sent = encoder.statistics().pixels_sent - 1024 * 600  # after the key frame
    assert sent <= 2 * (2 * uncovered + 64 * 64 * 4)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ((20, 30), (0, 0)),  # into the top left corner
        ((1024 - 310, 600 - 212), (1024 - 300, 600 - 200)),  # into the bottom right one
        ((1024 - 200, 100), (1024 - 150, 110)),  # half off the screen, moving off it
        ((-100, 300), (-60, 290)),  # coming in from the left
    ],
)
def test_moves_at_the_screen_edges(start: tuple[int, int], end: tuple[int, int]) -> None:
    desk = bgrx(desktop_picture(1024, 600, seed=1))
    content = window(300, 200, seed=6)
    _, copies = encode_all([place(desk, content, *start), place(desk, content, *end)])
    assert len(copies[0]) == 1
    x, y, w, h, src_x, src_y = copies[0][0]
    assert (x - src_x, y - src_y) == (end[0] - start[0], end[1] - start[1])
    for left, top, right, bottom in ((x, y, x + w, y + h), (src_x, src_y, src_x + w, src_y + h)):
        assert left >= 0 and top >= 0 and right <= 1024 and bottom <= 600
    assert w * h >= 0.6 * 300 * 200 * (min(1024, end[0] + 300) - max(0, end[0])) / 300


def test_random_changes_give_no_moves() -> None:
    rng = np.random.default_rng(4)
    desk = bgrx(desktop_picture(1024, 600, seed=1))
    noisy = []
    for _ in range(4):  # a video-like area of fresh noise each time
        picture = desk.copy()
        picture[100:460, 200:840, :3] = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
        noisy.append(picture)
    other = bgrx(desktop_picture(1024, 600, seed=2))  # a whole new screen
    encoder, copies = encode_all([desk, *noisy, other, desk])
    assert copies == [[]] * 6
    assert encoder.statistics().moves == 0


def test_a_miss_backs_off_and_a_hit_resets_it() -> None:
    desk = bgrx(desktop_picture(1024, 600, seed=1))
    content = window(300, 200, seed=5)
    rng = np.random.default_rng(8)
    noise = desk.copy()
    noise[64:320, 64:448] = rng.integers(0, 256, (256, 384, 4), dtype=np.uint8)
    detector = MoveDetector(1024, 600, 64)
    changed = np.ones((10, 16), np.bool_)
    before, after = place(desk, content, 400, 200), place(desk, content, 420, 210)
    assert detector.detect(desk, noise, changed) == []  # a miss: skip 1
    assert detector.detect(before, after, changed) == []  # skipped
    assert detector.detect(before, after, changed) != []  # found: reset
    assert detector.detect(desk, noise, changed) == []  # a miss: skip 1 again
    assert detector.detect(desk, noise, changed) == []  # skipped
    assert detector.detect(desk, noise, changed) == []  # a miss: skip 2
    assert detector.detect(before, after, changed) == []
    assert detector.detect(before, after, changed) == []
    assert detector.detect(before, after, changed) != []
    assert moves_module.MAX_SKIP >= 2


def test_two_windows_moved_apart_are_two_moves() -> None:
    desk = bgrx(desktop_picture(1280, 720, seed=1))
    a, b = window(300, 200, seed=5), window(260, 180, seed=7)
    first = place(place(desk, a, 100, 100), b, 700, 400)
    second = place(place(desk, a, 120, 100), b, 700, 380)
    _, copies = encode_all([first, second])
    offsets = sorted((src_x - x, src_y - y) for x, y, _w, _h, src_x, src_y in copies[0])
    assert offsets == [(-20, 0), (0, 20)]


def test_a_drag_under_a_damage_hint_sends_what_a_full_diff_sends() -> None:
    # A change far from the drag is diffed first (its tile words say
    # "changed"); the drag that follows comes with a damage hint that does not
    # cover it. The moves' second diff must not read those stale words.
    desk = bgrx(desktop_picture(960, 540, seed=5))
    content = window(320, 200, seed=6)
    before = place(desk, content, 400, 200)
    typed = before.copy()
    typed[20:30, 20:28] ^= 0x5A
    dragged = place(desk, content, 440, 230)
    dragged[20:30, 20:28] = typed[20:30, 20:28]
    hint = [(400, 200, 360, 230)]  # the window's old and new places
    payloads = []
    for damage in (hint, None):
        encoder = TileEncoder(960, 540)
        canvas = Canvas()
        for seq, (picture, area) in enumerate(
            [(before, None), (typed, [(16, 16, 16, 16)]), (dragged, damage)]
        ):
            payload = encoder.encode(picture, keyframe=seq == 0, seq=seq, capture_ns=0, damage=area)
            assert payload is not None
            canvas.apply(payload)
            assert canvas.picture is not None and np.array_equal(canvas.picture, picture)
        assert payload is not None
        payloads.append(payload)
    hinted, full = (parse_frame(p)[1] for p in payloads)
    assert any(r.encoding == Encoding.COPY for r in hinted)
    assert hinted == full


def brute_largest(mask: npt.NDArray[np.bool_], row: int, col: int) -> int:
    """The area of the largest all-True rectangle of ``mask`` containing
    (``row``, ``col``), by trying every rectangle."""
    best = 0
    height, width = mask.shape
    for top in range(row + 1):
        for bottom in range(row + 1, height + 1):
            for left in range(col + 1):
                for right in range(col + 1, width + 1):
                    if mask[top:bottom, left:right].all():
                        best = max(best, (bottom - top) * (right - left))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_largest_rectangle_is_exact(seed: int) -> None:
    # Random blobs of matches around a seed row: the rectangle found is all
    # True, contains the seed's middle column and is as large as any such.
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(3, 9)), int(rng.integers(6, 12))
    mask = rng.random((height, width)) < rng.uniform(0.6, 0.95)
    row, c0 = int(rng.integers(0, height)), int(rng.integers(0, width - 2))
    c1 = c0 + int(rng.integers(1, min(4, width - c0) + 1))
    mask[row, c0:c1] = True
    box = moves_module._largest_rect(mask, row, c0, c1)
    assert box is not None
    left, top, right, bottom = box
    middle = (c0 + c1) // 2
    assert left <= middle < right and top <= row < bottom
    assert mask[top:bottom, left:right].all()
    assert (right - left) * (bottom - top) == brute_largest(mask, row, middle)


def test_no_rectangle_when_the_seed_does_not_match() -> None:
    mask = np.ones((4, 8), np.bool_)
    mask[2, 5] = False
    assert moves_module._largest_rect(mask, 2, 3, 7) is None
    assert moves_module._largest_rect(mask, 2, 4, 9) is None
