"""PALETTE rects: protocol/palette.py's rules, the encoder's choice, the canvas's checks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from host_app.encoder import SMALL_DATA, TileEncoder
from protocol.errors import RemoteProtocolError
from protocol.frames import HEADER, RECT, Encoding, Rect, parse_frame
from protocol.palette import (
    MAX_COLOURS,
    decode_palette,
    encode_palette,
    index_bits,
    palette_entries,
    palette_length,
)
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]


def few_colours(w: int, h: int, n: int, seed: int = 0) -> Picture:
    """A w x h BGRX picture of exactly min(n, w*h) distinct pixels, X bytes varied."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (n, 4), dtype=np.uint8)
    while len(np.unique(colours.view(np.uint32))) < n:
        colours = rng.integers(0, 256, (n, 4), dtype=np.uint8)
    choice = rng.integers(0, n, h * w)
    choice[: min(n, h * w)] = np.arange(min(n, h * w))
    rng.shuffle(choice)
    return colours[choice].reshape(h, w, 4)


def as_pixels(picture: Picture) -> npt.NDArray[np.uint32]:
    h, w, _ = picture.shape
    return picture.view(np.uint32).reshape(h, w)


def shown(canvas: Canvas) -> Picture:
    picture = canvas.picture
    assert picture is not None
    return picture


# -- the format ----------------------------------------------------------------------


def test_index_widths() -> None:
    assert [index_bits(n) for n in (1, 2, 3, 4, 5, 16, 17, 256)] == [1, 1, 2, 2, 4, 4, 8, 8]
    # 9 pixels a row: 2 bytes at 1 bit, 3 at 2, 5 at 4, 9 at 8.
    assert [palette_length(9, 2, n) for n in (1, 2, 3, 16, 17)] == [9, 13, 19, 75, 87]


@pytest.mark.parametrize(("w", "h"), [(1, 1), (9, 2), (8, 8), (3, 100), (64, 64), (17, 1)])
def test_the_length_gives_n_and_nothing_else_fits(w: int, h: int) -> None:
    lengths = {palette_length(w, h, n): n for n in range(1, MAX_COLOURS + 1)}
    assert len(lengths) == MAX_COLOURS  # strictly growing with n: one n per length
    for length in range(max(lengths) + 8):
        assert palette_entries(w, h, length) == lengths.get(length)


@given(
    st.integers(1, 40),
    st.integers(1, 12),
    st.integers(1, MAX_COLOURS),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=150, deadline=None)
def test_round_trip_is_exact(w: int, h: int, n: int, seed: int) -> None:
    picture = few_colours(w, h, n, seed)
    distinct = len(np.unique(as_pixels(picture)))
    data = encode_palette(as_pixels(picture))
    assert data is not None
    assert len(data) == palette_length(w, h, distinct) and data[0] == distinct - 1
    assert np.array_equal(decode_palette(np.frombuffer(data, np.uint8), w, h), picture)


def test_rows_are_packed_msb_first_and_padded_with_zeros() -> None:
    # Two colours, 9x1: first pixel colour A, the rest B, so 0 1111 1111 | pad.
    picture = np.zeros((1, 9, 4), np.uint8)
    picture[0, 1:] = (1, 2, 3, 4)
    data = encode_palette(as_pixels(picture))
    assert data == b"\x01" + bytes(4) + bytes((1, 2, 3, 4)) + bytes((0b0111_1111, 0b1000_0000))
    # Three colours at 2 bits, 5x1: indices 0 1 2 0 1 -> 00 01 10 00 | 01 000000.
    picture = np.zeros((1, 5, 4), np.uint8)
    picture[0, [1, 4], 0] = 1
    picture[0, 2, 0] = 2
    data = encode_palette(as_pixels(picture))
    assert data is not None and data[1 + 12 :] == bytes((0b0001_1000, 0b0100_0000))


def test_too_many_colours_give_none() -> None:
    assert encode_palette(as_pixels(few_colours(30, 30, 257))) is None
    assert encode_palette(as_pixels(few_colours(30, 30, 40)), max_colours=39) is None
    assert encode_palette(as_pixels(few_colours(30, 30, 39)), max_colours=39) is not None
    # A big rect of many colours is given up on its sample.
    noise = np.random.default_rng(3).integers(0, 256, (128, 128, 4), dtype=np.uint8)
    assert encode_palette(as_pixels(noise)) is None


def test_a_big_rect_of_few_colours_is_indexed_unless_its_sample_has_many() -> None:
    # Text-like: a few colours cover most pixels, 196 more (anti-aliasing) a
    # few pixels each; the sample sees few of those.
    picture = few_colours(300, 100, 4, seed=4)
    rare = few_colours(196, 1, 196, seed=5)[0]
    rare[:, 3] = 0xEE  # not among the first four colours (their X bytes differ)
    picture[7, 3:199] = rare
    assert len(np.unique(as_pixels(picture))) == 200
    data = encode_palette(as_pixels(picture))
    assert data is not None and data[0] == 199
    assert np.array_equal(decode_palette(np.frombuffer(data, np.uint8), 300, 100), picture)
    # The same 200 colours spread evenly: the sample has more than half of
    # MAX_COLOURS, and the rect is given up (the cost of not sorting it all).
    spread = few_colours(300, 100, 200, seed=4)
    assert encode_palette(as_pixels(spread)) is None
    assert encode_palette(as_pixels(spread[:40, :100])) is not None  # 4000 pixels: not sampled


def _decode(data: bytes, w: int, h: int) -> Picture:
    return decode_palette(np.frombuffer(data, np.uint8), w, h)


def test_decode_refuses_a_first_byte_that_disagrees_with_the_length() -> None:
    data = bytearray(encode_palette(as_pixels(few_colours(5, 3, 3))) or b"")
    data[0] = 3  # says 4 colours: same index width, but 4 more palette bytes
    with pytest.raises(RemoteProtocolError, match="says 4 colours"):
        _decode(bytes(data), 5, 3)


@pytest.mark.parametrize(("n", "bits"), [(1, 1), (3, 2), (5, 4), (15, 4), (17, 8), (200, 8)])
def test_decode_refuses_an_index_past_the_palette(n: int, bits: int) -> None:
    w, h = 7, 30
    data = bytearray(encode_palette(as_pixels(few_colours(w, h, n))) or b"")
    assert index_bits(data[0] + 1) == bits
    row = (w * bits + 7) // 8
    last_row = 1 + 4 * n + (h - 1) * row
    # The last pixel of the last row set to n: refused.
    bit = (w - 1) * bits
    data[last_row + bit // 8] &= ~(((1 << bits) - 1) << (8 - bits - bit % 8)) & 0xFF
    data[last_row + bit // 8] |= n << (8 - bits - bit % 8) if bits < 8 else n
    with pytest.raises(RemoteProtocolError, match=f"index beyond its {n} colours"):
        _decode(bytes(data), w, h)


def test_padding_bits_are_ignored() -> None:
    picture = few_colours(7, 2, 1)  # n = 1: 7 bits a row, one bit of padding
    data = bytearray(encode_palette(as_pixels(picture)) or b"")
    data[-1] |= 0x01
    data[-2] |= 0x01
    assert np.array_equal(_decode(bytes(data), 7, 2), picture)
    data[-1] |= 0x02  # the 7th pixel of row 2: index 1 of 1 colour
    with pytest.raises(RemoteProtocolError, match="index beyond"):
        _decode(bytes(data), 7, 2)


def test_two_colour_rects_ignore_padding_and_share_no_pixels_between_decodes() -> None:
    # 11 pixels a row: 5 bits of padding a row, set to ones here.
    picture = few_colours(11, 3, 2, seed=5)
    data = bytearray(encode_palette(as_pixels(picture)) or b"")
    assert data[0] == 1
    for row in range(3):
        data[9 + 2 * row + 1] |= 0b0001_1111
    first = _decode(bytes(data), 11, 3)
    assert np.array_equal(first, picture)
    # A decoded rect is the caller's own: writing to it changes no later decode.
    first[...] = 0
    assert np.array_equal(_decode(bytes(data), 11, 3), picture)


# -- the canvas ----------------------------------------------------------------------


def handmade(width: int, height: int, rects: list[tuple[Rect, bytes]], *, key: bool) -> bytes:
    head = HEADER.pack(1, int(key), 0, 0, width, height, len(rects))
    table = b"".join(RECT.pack(r.x, r.y, r.w, r.h, r.encoding, r.length) for r, _ in rects)
    content = b"".join(data for _, data in rects)
    return head + table + zstandard.ZstdCompressor(write_content_size=True).compress(content)


def test_canvas_draws_palette_rects_exactly_and_refuses_bad_ones_without_drawing() -> None:
    picture = few_colours(10, 4, 6, seed=9)
    data = encode_palette(as_pixels(picture))
    assert data is not None
    canvas = Canvas()
    canvas.apply(
        handmade(10, 4, [(Rect(0, 0, 10, 4, Encoding.PALETTE, len(data)), data)], key=True)
    )
    assert np.array_equal(shown(canvas), picture)

    other = few_colours(3, 2, 2, seed=10)
    small = encode_palette(as_pixels(other))
    assert small is not None
    bad = bytearray(small)
    bad[-1] = 0xFF  # 3 pixels at 1 bit, n = 2: fine; so break the first byte instead
    bad[0] = 2
    good_rect = Rect(1, 1, 3, 2, Encoding.PALETTE, len(small))
    before = shown(canvas).copy()
    with pytest.raises(RemoteProtocolError, match="says 3 colours"):
        canvas.apply(handmade(10, 4, [(good_rect, small), (good_rect, bytes(bad))], key=False))
    assert np.array_equal(shown(canvas), before)
    canvas.apply(handmade(10, 4, [(good_rect, small)], key=False))
    before[1:3, 1:4] = other
    assert np.array_equal(shown(canvas), before)


def test_parse_frame_refuses_a_palette_length_that_fits_no_n() -> None:
    table = RECT.pack(0, 0, 3, 2, Encoding.PALETTE, 12)
    data = HEADER.pack(1, 1, 0, 0, 3, 2, 1) + table
    blob = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(12))
    with pytest.raises(RemoteProtocolError, match="palette rect 3x2 cannot hold 12 bytes"):
        parse_frame(data + blob)


# -- the encoder ---------------------------------------------------------------------


def text_like(width: int, height: int) -> Picture:
    """A flat background with dark strokes: two colours."""
    picture = np.full((height, width, 4), (236, 239, 244, 0), np.uint8)
    for row in range(4, height - 4, 12):
        picture[row : row + 7, 8 : width - 8 : 3] = (30, 30, 30, 0)
    return picture


def encodings(payload: bytes) -> list[Encoding]:
    return [r.encoding for r in parse_frame(payload)[1]]


def test_encoder_sends_few_colours_as_palette_rects_and_palette_off_as_raw() -> None:
    picture = text_like(200, 100)
    sizes = {}
    for palette in (True, False):
        encoder = TileEncoder(200, 100, palette=palette, delta=False, small_level=1)
        canvas = Canvas()
        key = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
        assert key is not None
        canvas.apply(key)
        changed = picture.copy()
        changed[30:50, 40:120] = few_colours(80, 20, 5, seed=1)
        payload = encoder.encode(changed, keyframe=False, seq=1, capture_ns=0)
        assert payload is not None
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), changed)
        want = Encoding.PALETTE if palette else Encoding.RAW_BGRX
        assert set(encodings(key)) == {want} and set(encodings(payload)) == {want}
        sizes[palette] = len(key)
    assert sizes[True] < sizes[False]


def test_many_colours_and_tiny_rects_stay_raw() -> None:
    rng = np.random.default_rng(5)
    picture = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    encoder = TileEncoder(64, 64, delta=False)
    key = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert key is not None and encodings(key) == [Encoding.RAW_BGRX]
    picture[5, 6] ^= 1  # a 2x1 rect: 10 bytes as a palette, 8 raw
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None and encodings(payload) == [Encoding.RAW_BGRX]


def test_more_than_16_colours_need_enough_pixels_a_colour() -> None:
    # 40 colours in 20x20 = 400 pixels: 10 a colour, fewer than PIXELS_PER_COLOUR.
    base = np.zeros((64, 64, 4), np.uint8)
    encoder = TileEncoder(64, 64, delta=False, small_level=1)
    encoder.encode(base, keyframe=True, seq=0, capture_ns=0)
    changed = base.copy()
    changed[0:20, 0:20] = few_colours(20, 20, 40, seed=2)
    payload = encoder.encode(changed, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None and encodings(payload) == [Encoding.RAW_BGRX]
    changed[0:64, 0:64] = few_colours(64, 64, 40, seed=3)  # 102 a colour
    payload = encoder.encode(changed, keyframe=False, seq=2, capture_ns=0)
    assert payload is not None and encodings(payload) == [Encoding.PALETTE]


def glyphs(count: int) -> Picture:
    """One 40x40 glyph of 30 colours ``count`` times, each with one pixel of
    a colour of its own: raw, the repeats are zstd matches; indexed, each
    rect's palette (in the order of the colours' values) differs, and with
    it the indices of the glyph."""
    rng = np.random.default_rng(6)
    colours = rng.integers(0, 256, (30 + count, 4), dtype=np.uint8)
    glyph = colours[rng.integers(0, 30, (40, 40))]
    picture = np.zeros((200, 400, 4), np.uint8)
    for i in range(count):
        x, y = 100 * (i % 4), 100 * (i // 4)
        picture[y : y + 40, x : x + 40] = glyph
        picture[y, x] = colours[30 + i]
    return picture


def test_small_data_sends_the_smaller_of_palette_and_raw() -> None:
    sizes = {}
    for count in (1, 8):
        picture = glyphs(count)
        payloads = {}
        for palette in (True, False):
            encoder = TileEncoder(400, 200, tile=16, palette=palette, delta=False, small_level=1)
            encoder.encode(np.zeros_like(picture), keyframe=True, seq=0, capture_ns=0)
            payloads[palette] = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
        on, off = payloads[True], payloads[False]
        assert on is not None and off is not None
        assert sum(r.length for r in parse_frame(off)[1]) < SMALL_DATA
        sizes[count] = (len(on), len(off), set(encodings(on)))
    # One glyph: indexed is smaller; eight: the raw payload is sent.
    assert sizes[1][0] < sizes[1][1] and sizes[1][2] == {Encoding.PALETTE}
    assert sizes[8][0] == sizes[8][1] and sizes[8][2] == {Encoding.RAW_BGRX}


def test_small_data_is_compressed_harder() -> None:
    picture = np.concatenate([few_colours(100, 20, 30, seed=8)] * 5)  # 40 000 bytes
    sizes = [
        len(
            TileEncoder(100, 100, palette=False, small_level=level).encode(
                picture, keyframe=True, seq=0, capture_ns=0
            )
            or b""
        )
        for level in (1, 19)
    ]
    assert sizes[1] < sizes[0]
    # Above SMALL_DATA, small_level does not matter.
    big = text_like(300, 60)
    big = np.concatenate([big] * 5)  # 300x300x4 = 360 000 bytes
    same = {
        len(
            TileEncoder(300, 300, palette=False, small_level=level).encode(
                big, keyframe=True, seq=0, capture_ns=0
            )
            or b""
        )
        for level in (1, 19)
    }
    assert len(same) == 1


def test_big_data_weighs_each_8_bit_palette_against_raw() -> None:
    # Above SMALL_DATA, three 512x64 bands of a key frame: a gradient strip
    # over a flat bar (173 colours: its palette costs more than it saves),
    # noise of 40 colours (indexed: a byte a pixel beats four), two colours.
    picture = np.zeros((192, 512, 4), np.uint8)
    y = np.linspace(0, 0.25, 64)[:, None]
    x = np.linspace(0, 1, 512)[None, :]
    picture[0:64, :, 0] = 40 + 30 * y + 10 * x
    picture[0:64, :, 1] = 70 + 40 * y + 0 * x
    picture[0:64, :, 2] = 110 + 60 * x
    picture[8:64] = (32, 32, 36, 0)
    picture[64:128] = few_colours(512, 64, 40, seed=1)
    picture[128:192] = text_like(512, 64)
    assert picture.nbytes > SMALL_DATA
    encoder = TileEncoder(512, 192, delta=False)
    payload = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert payload is not None
    assert encodings(payload) == [Encoding.RAW_BGRX, Encoding.PALETTE, Encoding.PALETTE]
    canvas = Canvas()
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)
    first = encode_palette(as_pixels(picture[0:64]))
    assert first is not None and first[0] + 1 == 173  # a palette rect was possible


# -- delta rects -----------------------------------------------------------------------


def smooth(width: int, height: int) -> Picture:
    """Smooth gradients of many colours, like video or a photo."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    picture = np.zeros((height, width, 4), np.uint8)
    for c in range(3):
        picture[..., c] = 127 + 120 * np.sin(x / (60 + 25 * c) + y / (90 - 20 * c))
    picture[..., 3] = (x * 3).astype(np.uint8)  # the X byte varies too
    return picture


def test_pixels_go_as_delta_rects_smaller_and_exact() -> None:
    picture = smooth(640, 360)
    sizes = {}
    for delta in (True, False):
        encoder = TileEncoder(640, 360, delta=delta)
        canvas = Canvas()
        canvas.apply(
            encoder.encode(np.zeros_like(picture), keyframe=True, seq=0, capture_ns=0) or b""
        )
        payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
        assert payload is not None
        assert set(encodings(payload)) == {Encoding.DELTA_BGRX if delta else Encoding.RAW_BGRX}
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), picture)
        sizes[delta] = len(payload)
    assert sizes[True] * 2 < sizes[False]


def test_delta_rects_inside_the_picture_decode_exactly() -> None:
    rng = np.random.default_rng(11)
    picture = rng.integers(0, 256, (50, 70, 4), dtype=np.uint8)
    encoder = TileEncoder(70, 50, tile=16)
    canvas = Canvas()
    canvas.apply(encoder.encode(picture, keyframe=True, seq=0, capture_ns=0) or b"")
    for seq in range(1, 6):
        # 17x19 = 323 pixels of noise: too many colours for a palette.
        x, y = rng.integers(0, 53), rng.integers(0, 31)
        picture[y : y + 19, x : x + 17] = rng.integers(0, 256, (19, 17, 4), dtype=np.uint8)
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None and Encoding.DELTA_BGRX in encodings(payload)
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), picture)


def test_text_of_many_colours_that_is_not_indexed_stays_raw() -> None:
    # 40 colours in 400 pixels: too few pixels a colour for a palette, few
    # enough colours to be text or UI, whose differences compress worse.
    encoder = TileEncoder(64, 64, small_level=1)
    encoder.encode(np.zeros((64, 64, 4), np.uint8), keyframe=True, seq=0, capture_ns=0)
    changed = np.zeros((64, 64, 4), np.uint8)
    changed[0:20, 0:20] = few_colours(20, 20, 40, seed=2)
    payload = encoder.encode(changed, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None and encodings(payload) == [Encoding.RAW_BGRX]
