"""The benchmark VNC client's ZRLE tile decoding (benchmarks/rfb_client.py): pure logic."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.rfb_client import RfbError, zrle_tile

BLACK, WHITE, RED = b"\x00\x00\x00", b"\xff\xff\xff", b"\x00\x00\xff"  # CPIXELs: B, G, R


def decode(data: bytes, w: int, h: int) -> tuple[np.ndarray, int]:
    tile = np.zeros((h, w, 4), np.uint8)
    end = zrle_tile(tile, data, 0)
    return tile[:, :, :3], end


def test_solid_and_raw() -> None:
    tile, end = decode(b"\x01" + RED, 3, 2)
    assert end == 4 and (tile == np.frombuffer(RED, np.uint8)).all()
    raw = bytes(range(18))
    tile, end = decode(b"\x00" + raw, 3, 2)
    assert end == 19 and tile.tobytes() == raw


def test_packed_palette_two_colours() -> None:
    # 10 pixels wide: each row is 2 bytes, 1 bit per pixel, padded.
    rows = b"\xaa\x80" + b"\x55\x40"
    tile, end = decode(b"\x02" + BLACK + WHITE + rows, 10, 2)
    assert end == 1 + 6 + 4
    expected = [[1, 0, 1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]]
    assert (tile[:, :, 0] == np.array(expected) * 255).all()


def test_packed_palette_four_colours() -> None:
    palette = BLACK + WHITE + RED + b"\x10\x20\x30"
    tile, _ = decode(b"\x04" + palette + bytes([0b00011011]), 4, 1)
    assert tile[0].tobytes() == palette


def test_palette_rle_and_plain_rle() -> None:
    # Palette RLE: white x 300 (255 + 44 + 1), then one black.
    data = b"\x82" + BLACK + WHITE + b"\x81\xff\x2c" + b"\x00"
    tile, end = decode(data, 301, 1)
    assert end == len(data)
    assert (tile[0, :300] == 255).all() and (tile[0, 300] == 0).all()
    data = b"\x80" + RED + b"\x02" + BLACK + b"\x00"
    tile, end = decode(data, 4, 1)
    assert end == len(data) and tile[0].tobytes() == RED * 3 + BLACK


def test_unknown_subencoding() -> None:
    with pytest.raises(RfbError, match="subencoding 129"):
        decode(b"\x81", 2, 2)
