"""The benchmark's time stamp pattern (benchmarks/stamp.py): pure logic."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmarks import stamp


def as_bgrx(pattern: np.ndarray) -> np.ndarray:
    box = np.empty((*pattern.shape, 4), np.uint8)
    box[:, :, :3] = pattern[:, :, None]
    box[:, :, 3] = 0
    return box


@given(st.integers(0, stamp.MODULUS - 1))
def test_round_trip(value: int) -> None:
    pattern = stamp.draw(value)
    assert pattern.shape == (stamp.STAMP_H, stamp.STAMP_W)
    assert set(np.unique(pattern)) <= {0, 255}
    assert stamp.read(pattern) == value
    assert stamp.read(as_bgrx(pattern)) == value


@pytest.mark.parametrize("quality", [10, 30, 75])
def test_survives_jpeg(quality: int) -> None:
    # Inside a bigger picture, on the 8-pixel grid, as a lossy codec would see it.
    value = 0xA5C3_7E
    picture = np.full((80, 96, 3), 128, np.uint8)
    picture[16:56, 16:80] = stamp.draw(value)[:, :, None]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    assert stamp.read(decoded[16:56, 16:80]) == value


def test_survives_mild_noise() -> None:
    rng = np.random.default_rng(1)
    pattern = stamp.draw(123_456).astype(np.int16)
    noisy = np.clip(pattern + rng.integers(-40, 41, pattern.shape), 0, 255).astype(np.uint8)
    assert stamp.read(noisy) == 123_456


def test_torn_picture_is_refused() -> None:
    # The top half of one stamp over the bottom half of the next: never a wrong time.
    old, new = stamp.draw(0x00_FFFF), stamp.draw(0x01_0000)
    torn = np.vstack([new[:16], old[16:]])  # reads as 0x0100FF with 0x00FFFF's check
    assert stamp.read(torn) is None


def test_grey_block_is_refused() -> None:
    pattern = stamp.draw(42)
    pattern[0:8, 0:8] = 128
    assert stamp.read(pattern) is None


def test_blank_box_is_refused() -> None:
    assert stamp.read(np.full((stamp.STAMP_H, stamp.STAMP_W), 255, np.uint8)) is None


def test_wrong_shape_and_value() -> None:
    with pytest.raises(ValueError, match="stamp box"):
        stamp.read(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        stamp.draw(stamp.MODULUS)


def test_latency_across_the_wrap() -> None:
    unit = stamp.UNIT_NS
    drawn_ns = (stamp.MODULUS - 3) * unit  # just before the value wraps to 0
    value = stamp.units_of(drawn_ns)
    now_ns = drawn_ns + 7 * unit + 12_345  # after the wrap
    assert stamp.units_of(now_ns) < value
    expected = (now_ns - drawn_ns - unit // 2) / 1e6
    assert stamp.latency_ms(now_ns, value) == pytest.approx(expected)


def test_latency_of_a_fresh_stamp_is_small() -> None:
    now_ns = 1_790_000_000_123_456_789
    assert abs(stamp.latency_ms(now_ns, stamp.units_of(now_ns))) <= stamp.UNIT_NS / 1e6
