"""TileEncoder.encode with a damage hint: only the tiles the hint touches are
diffed; a change elsewhere waits for a hint or a full diff that covers it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from host_app.encoder import TileEncoder
from protocol.frames import parse_frame
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]


def noise(width: int, height: int, seed: int = 0) -> Picture:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)


def keyed(picture: Picture) -> tuple[TileEncoder, Canvas]:
    height, width, _ = picture.shape
    encoder = TileEncoder(width, height, moves=False)
    canvas = Canvas()
    payload = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert payload is not None
    canvas.apply(payload)
    return encoder, canvas


def rects_of(payload: bytes) -> list[tuple[int, int, int, int]]:
    return [(r.x, r.y, r.w, r.h) for r in parse_frame(payload)[1]]


def shown(canvas: Canvas) -> Picture:
    picture = canvas.picture
    assert picture is not None
    return picture


@pytest.mark.parametrize(("width", "height"), [(640, 360), (333, 201)])
def test_a_change_inside_the_hint_is_sent_exactly(width: int, height: int) -> None:
    picture = noise(width, height)
    encoder, canvas = keyed(picture)
    current = picture.copy()
    current[100:110, 130:138] ^= 0xFF
    payload = encoder.encode(
        current, keyframe=False, seq=1, capture_ns=0, damage=[(128, 96, 16, 16)]
    )
    assert payload is not None
    assert rects_of(payload) == [(130, 100, 8, 10)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), current)


def test_a_change_outside_the_hint_waits_for_a_full_diff() -> None:
    picture = noise(640, 360)
    encoder, canvas = keyed(picture)
    current = picture.copy()
    current[10:20, 10:20] ^= 0xFF  # tile (0, 0): in the hint
    current[300:305, 500:520] ^= 0xFF  # tile (4, 7): not in the hint
    payload = encoder.encode(current, keyframe=False, seq=1, capture_ns=0, damage=[(0, 0, 30, 30)])
    assert payload is not None
    assert rects_of(payload) == [(10, 10, 10, 10)]
    canvas.apply(payload)
    assert not np.array_equal(shown(canvas), current)
    # The same picture, a hint elsewhere again: still nothing new to send.
    assert (
        encoder.encode(current, keyframe=False, seq=2, capture_ns=0, damage=[(0, 0, 1, 1)]) is None
    )
    # An empty hint: nothing is diffed at all.
    assert encoder.encode(current, keyframe=False, seq=2, capture_ns=0, damage=[]) is None
    # The full diff (no hint) finds it, exactly.
    payload = encoder.encode(current, keyframe=False, seq=2, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [(500, 300, 20, 5)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), current)


def test_a_late_hint_covering_the_change_sends_it() -> None:
    """The damage of drawing reported one grab late (damage.py rule 3)."""
    picture = noise(640, 360)
    encoder, canvas = keyed(picture)
    current = picture.copy()
    current[200:230, 300:310] ^= 0x0F
    assert (
        encoder.encode(current, keyframe=False, seq=1, capture_ns=0, damage=[(0, 0, 8, 8)]) is None
    )
    payload = encoder.encode(
        current, keyframe=False, seq=1, capture_ns=0, damage=[(0, 0, 8, 8), (305, 210, 1, 1)]
    )
    assert payload is not None
    assert rects_of(payload) == [(300, 200, 10, 30)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), current)


def test_many_scattered_hints_match_a_full_diff() -> None:
    """Hints in many tiles and rows, overlapping, partly off screen: the same
    payload as without a hint when every change is inside them."""
    rng = np.random.default_rng(3)
    picture = noise(999, 601, seed=1)
    hinted, canvas = keyed(picture)
    full, _ = keyed(picture)
    current = picture.copy()
    for seq in range(1, 6):
        boxes = []
        for _ in range(12):
            x, y = int(rng.integers(-20, 999)), int(rng.integers(-20, 601))
            w, h = int(rng.integers(1, 90)), int(rng.integers(1, 90))
            boxes.append((x, y, w, h))
            x0, y0 = max(x, 0), max(y, 0)
            current[y0 : max(y + h, 0), x0 : max(x + w, 0)] = rng.integers(
                0, 256, 4, dtype=np.uint8
            )
        with_hint = hinted.encode(current, keyframe=False, seq=seq, capture_ns=0, damage=boxes)
        without = full.encode(current, keyframe=False, seq=seq, capture_ns=0)
        assert with_hint == without
        assert with_hint is not None
        canvas.apply(with_hint)
        assert np.array_equal(shown(canvas), current)


def test_a_key_frame_ignores_the_hint() -> None:
    picture = noise(320, 200)
    encoder, _ = keyed(picture)
    changed = noise(320, 200, seed=9)
    payload = encoder.encode(changed, keyframe=True, seq=1, capture_ns=0, damage=[])
    assert payload is not None
    canvas = Canvas()
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), changed)
