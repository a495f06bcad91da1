"""TileEncoder (host_app/encoder.py) and Canvas (viewer_app/decoder.py) together:
lossless round trips, which tiles are sent, and payloads the canvas refuses."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from host_app.capture import FakeSource
from host_app.encoder import TileEncoder
from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.frames import HEADER, RECT, Encoding, Rect, encode_copy_source, parse_frame
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]
ROOT = Path(__file__).resolve().parent.parent


def noise(width: int, height: int, seed: int = 0) -> Picture:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)


def gradient(width: int, height: int) -> Picture:
    y, x = np.mgrid[0:height, 0:width]
    picture = np.empty((height, width, 4), np.uint8)
    picture[..., 0] = x % 256
    picture[..., 1] = y % 256
    picture[..., 2] = (x + y) % 256
    picture[..., 3] = (x * 7 + y * 3) % 256  # the X byte too
    return picture


def shown(canvas: Canvas) -> Picture:
    """The canvas's picture, which must exist."""
    picture = canvas.picture
    assert picture is not None
    return picture


def rects_of(payload: bytes) -> list[tuple[int, int, int, int]]:
    return [(r.x, r.y, r.w, r.h) for r in parse_frame(payload)[1]]


def keyed(picture: Picture, tile: int = 64) -> tuple[TileEncoder, Canvas]:
    height, width, _ = picture.shape
    encoder = TileEncoder(width, height, tile=tile)
    canvas = Canvas()
    payload = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert payload is not None
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)
    return encoder, canvas


# -- lossless round trips ----------------------------------------------------------

SIZES = [(1920, 1080), (1000, 700), (999, 701), (1, 1), (64, 64), (65, 63), (1, 130), (130, 1)]


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("make", [noise, gradient])
def test_round_trip_is_pixel_exact(width: int, height: int, make: object) -> None:
    picture = make(width, height)  # type: ignore[operator]
    encoder, canvas = keyed(picture)
    rng = np.random.default_rng(1)
    current = picture.copy()
    for seq in range(1, 8):
        x0, x1 = sorted(rng.integers(0, width + 1, 2))
        y0, y1 = sorted(rng.integers(0, height + 1, 2))
        current[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 4), dtype=np.uint8)
        payload = encoder.encode(current, keyframe=False, seq=seq, capture_ns=seq)
        if payload is not None:
            header = canvas.apply(payload)
            assert (header.seq, header.capture_ns, header.keyframe) == (seq, seq, False)
        assert np.array_equal(shown(canvas), current)


@given(
    st.integers(1, 200),
    st.integers(1, 200),
    st.sampled_from([16, 32, 64]),
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.integers(0, 3)), max_size=6),
)
@settings(max_examples=60, deadline=None)
def test_round_trip_of_random_changes(
    width: int, height: int, tile: int, changes: list[tuple[float, float, int]]
) -> None:
    picture = noise(width, height, seed=width * 1000 + height)
    encoder, canvas = keyed(picture, tile)
    for seq, (fx, fy, channel) in enumerate(changes, 1):
        x, y = int(fx * (width - 1)), int(fy * (height - 1))
        picture[y, x, channel] ^= 0x5A
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        canvas.apply(payload)
        assert np.array_equal(shown(canvas), picture)
        # One changed pixel: one rect of it alone, two pixels wide where the
        # change mask holds two pixels a unit (an even width).
        unit = 2 if width % 2 == 0 else 1
        assert rects_of(payload) == [(x // unit * unit, y, unit, 1)]


def test_frames_that_are_views_of_other_memory() -> None:
    big = noise(300, 200)
    encoder = TileEncoder(100, 80)
    canvas = Canvas()
    region = big[10:90, 51:151]  # rows apart, and not 8-byte aligned
    canvas.apply(encoder.encode(region, keyframe=True, seq=0, capture_ns=0) or b"")
    assert np.array_equal(shown(canvas), region)
    big[20:30, 60:70] = 7
    canvas.apply(encoder.encode(region, keyframe=False, seq=1, capture_ns=0) or b"")
    assert np.array_equal(shown(canvas), region)
    # Channels in reverse order in memory: copied to a staging buffer first.
    flipped = noise(100, 80)[:, :, ::-1]
    canvas.apply(encoder.encode(flipped, keyframe=False, seq=2, capture_ns=0) or b"")
    assert np.array_equal(shown(canvas), flipped)


def test_encoder_keeps_its_own_copy_of_the_previous_picture() -> None:
    buffer = noise(128, 128)
    encoder, canvas = keyed(buffer)
    buffer[5, 5] += 1  # the caller reuses its buffer
    payload = encoder.encode(buffer, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [(4, 5, 2, 1)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), buffer)


# -- which tiles are sent ---------------------------------------------------------


def test_no_change_gives_none() -> None:
    picture = gradient(300, 200)
    encoder, _ = keyed(picture)
    assert encoder.encode(picture.copy(), keyframe=False, seq=1, capture_ns=0) is None
    assert encoder.statistics().unchanged == 1
    assert not encoder.changed_tiles(picture).any()


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0, 0, (0, 0, 2, 1)),
        (64, 0, (64, 0, 2, 1)),
        (131, 70, (130, 70, 2, 1)),
        (999, 699, (998, 699, 2, 1)),  # the last pixel of a partial edge tile
        (999, 0, (998, 0, 2, 1)),
        (0, 699, (0, 699, 2, 1)),
    ],
)
def test_one_changed_pixel_sends_only_its_unit(
    x: int, y: int, expected: tuple[int, int, int, int]
) -> None:
    picture = gradient(1000, 700)
    encoder, canvas = keyed(picture)
    picture[y, x, 1] ^= 1
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [expected]
    assert parse_frame(payload)[1][0].length == expected[2] * expected[3] * 4
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)
    stats = encoder.statistics()
    assert (stats.tiles_sent, stats.pixels_sent) == (16 * 11 + 1, 1000 * 700 + 2)


def test_a_change_in_the_x_byte_alone_is_sent() -> None:
    picture = noise(200, 100)
    encoder, canvas = keyed(picture)
    picture[50, 150, 3] ^= 0xFF
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [(150, 50, 2, 1)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)


def test_a_glyph_is_sent_as_one_rect_of_its_size() -> None:
    picture = gradient(1000, 700)
    encoder, canvas = keyed(picture)
    # A 7x11 glyph astride four tiles (the corner at 64, 64), and a stamp box.
    picture[58:69, 60:67, :3] = 0
    picture[16:56, 936:1000, :3] = 255
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [(60, 58, 8, 11), (936, 16, 64, 40)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)
    assert encoder.statistics().tiles_sent == 11 * 16 + 4 + 2


def test_boxes_merge_only_where_that_adds_few_unchanged_pixels() -> None:
    picture = gradient(640, 320)
    encoder, canvas = keyed(picture)
    for tx in (3, 4, 5, 7, 9):  # tile row 2: changed pixels far apart
        picture[2 * 64 + 1, tx * 64 + 2, 0] ^= 1
    picture[128:192, 10:20, 0] ^= 1  # a tall box in tile (2, 0) ...
    picture[192:200, 10:20, 0] ^= 1  # ... continued below: one rect
    picture[128:192, 60:70, 1] ^= 1  # two boxes side by side across a tile edge
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [
        (10, 128, 60, 72),
        (194, 129, 2, 1),
        (258, 129, 2, 1),
        (322, 129, 2, 1),
        (450, 129, 2, 1),
        (578, 129, 2, 1),
    ]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)


def test_a_large_change_is_one_rect() -> None:
    picture = gradient(1000, 700)
    encoder, canvas = keyed(picture)
    picture[100:600, 30:900] ^= 0x11
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert rects_of(payload) == [(30, 100, 870, 500)]
    canvas.apply(payload)
    assert np.array_equal(shown(canvas), picture)


def test_changed_tiles_map() -> None:
    picture = gradient(1000, 700)
    encoder, _ = keyed(picture)
    picture[699, 999, 0] ^= 1
    picture[0, 65, 0] ^= 1
    changed = encoder.changed_tiles(picture)
    assert changed.shape == (11, 16)
    assert sorted(zip(*np.nonzero(changed), strict=True)) == [(0, 1), (10, 15)]


@pytest.mark.parametrize(("width", "height"), [(1000, 700), (1, 1), (64, 128)])
def test_key_frame_covers_everything(width: int, height: int) -> None:
    picture = noise(width, height)
    encoder, _ = keyed(picture)
    payload = encoder.encode(picture, keyframe=True, seq=1, capture_ns=0)
    assert payload is not None
    header, rects, _ = parse_frame(payload)
    assert header.keyframe
    rows = -(-height // 64)
    assert [(r.x, r.y, r.w) for r in rects] == [(0, 64 * i, width) for i in range(rows)]
    assert sum(r.h for r in rects) == height
    fresh = Canvas()
    fresh.apply(payload)
    assert np.array_equal(shown(fresh), picture)


def test_first_frame_must_be_a_key_frame() -> None:
    encoder = TileEncoder(10, 10)
    with pytest.raises(LocalProtocolError):
        encoder.encode(noise(10, 10), keyframe=False, seq=0, capture_ns=0)
    with pytest.raises(LocalProtocolError):
        encoder.changed_tiles(noise(10, 10))


def test_encoder_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="screen size"):
        TileEncoder(0, 10)
    with pytest.raises(ValueError, match="screen size"):
        TileEncoder(10, 8193)
    with pytest.raises(ValueError, match="tile"):
        TileEncoder(10, 10, tile=24)
    encoder = TileEncoder(10, 10)
    with pytest.raises(ValueError, match="picture"):
        encoder.encode(noise(11, 10), keyframe=True, seq=0, capture_ns=0)
    with pytest.raises(ValueError, match="picture"):
        encoder.encode(noise(10, 10).astype(np.uint16), keyframe=True, seq=0, capture_ns=0)


def test_encoder_statistics() -> None:
    picture = noise(200, 100)
    encoder, _ = keyed(picture)
    picture[0, 0, 0] ^= 1
    second = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert encoder.encode(picture, keyframe=False, seq=2, capture_ns=0) is None
    stats = encoder.statistics()
    assert (stats.frames, stats.keyframes, stats.unchanged) == (2, 1, 1)
    assert stats.tiles_sent == 4 * 2 + 1
    assert stats.pixels_sent == 200 * 100 + 2
    assert second is not None and stats.bytes_out > len(second)
    assert stats.last_encode_ms >= 0


# -- the canvas refuses --------------------------------------------------------------


def key_payload(width: int = 100, height: int = 70, seed: int = 0) -> bytes:
    payload = TileEncoder(width, height).encode(
        noise(width, height, seed), keyframe=True, seq=0, capture_ns=0
    )
    assert payload is not None
    return payload


def delta_payload(width: int = 100, height: int = 70) -> bytes:
    encoder = TileEncoder(width, height)
    picture = noise(width, height)
    encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    picture[0, 0, 0] ^= 1
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    return payload


def handmade(
    width: int, height: int, rects: list[Rect], blob: bytes, *, keyframe: bool = True
) -> bytes:
    head = HEADER.pack(1, int(keyframe), 0, 0, width, height, len(rects))
    table = b"".join(RECT.pack(r.x, r.y, r.w, r.h, r.encoding, r.length) for r in rects)
    return head + table + blob


def test_delta_before_any_key_frame_is_refused() -> None:
    canvas = Canvas()
    with pytest.raises(RemoteProtocolError) as info:
        canvas.apply(delta_payload())
    assert info.value.code == ErrorCode.UNEXPECTED
    assert canvas.picture is None
    assert canvas.statistics().refused == 1


def test_delta_of_another_size_is_refused() -> None:
    canvas = Canvas()
    canvas.apply(key_payload(100, 70))
    before = canvas.picture.copy()  # type: ignore[union-attr]
    with pytest.raises(RemoteProtocolError, match="screen"):
        canvas.apply(delta_payload(100, 71))
    assert np.array_equal(shown(canvas), before)


def test_key_frame_of_a_new_size_reallocates() -> None:
    canvas = Canvas()
    canvas.apply(key_payload(100, 70))
    assert canvas.size == (100, 70)
    canvas.apply(key_payload(30, 20, seed=3))
    assert canvas.size == (30, 20)
    assert np.array_equal(shown(canvas), noise(30, 20, 3))


def test_key_frame_must_cover_the_screen() -> None:
    data = bytes(range(16))
    blob = zstandard.ZstdCompressor(write_content_size=True).compress(data)
    half = zstandard.ZstdCompressor(write_content_size=True).compress(data[:8])
    row0 = Rect(0, 0, 2, 1, Encoding.RAW_BGRX, 8)
    row1 = Rect(0, 1, 2, 1, Encoding.RAW_BGRX, 8)
    canvas = Canvas()
    # Two rects of 2x1 on a 2x2 screen: as many pixels as the screen, but
    # the same row twice, so row 1 is uncovered.
    with pytest.raises(RemoteProtocolError, match="cover"):
        canvas.apply(handmade(2, 2, [row0, row0], blob))
    # Fewer pixels than the screen.
    with pytest.raises(RemoteProtocolError, match="cover"):
        canvas.apply(handmade(2, 2, [row0], half))
    assert canvas.picture is None
    # The two rows: fine.
    canvas.apply(handmade(2, 2, [row0, row1], blob))
    assert canvas.picture is not None
    assert canvas.picture.tobytes() == data


@pytest.mark.parametrize("length", [0, 10, 25, 26, 39, 40, 60])
def test_truncated_payload_is_refused_and_changes_nothing(length: int) -> None:
    canvas = Canvas()
    canvas.apply(key_payload())
    before = canvas.picture.copy()  # type: ignore[union-attr]
    payload = key_payload(seed=9)
    for cut in {length, len(payload) - 1 - length}:
        with pytest.raises(RemoteProtocolError):
            canvas.apply(payload[:cut])
    assert np.array_equal(shown(canvas), before)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_corrupted_payload_applies_or_is_refused(data: st.DataObject) -> None:
    payload = bytearray(data.draw(st.sampled_from([GOOD_KEY, GOOD_DELTA])))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] ^= data.draw(st.integers(1, 255))
    canvas = Canvas()
    canvas.apply(GOOD_KEY)
    try:
        canvas.apply(bytes(payload))
    except RemoteProtocolError:
        assert canvas.statistics().refused == 1


GOOD_KEY = key_payload()
GOOD_DELTA = delta_payload()


# -- zstd bombs ------------------------------------------------------------------


def one_pixel(blob: bytes) -> bytes:
    return handmade(1, 1, [Rect(0, 0, 1, 1, Encoding.RAW_BGRX, 4)], blob)


def test_bomb_with_honest_large_content_size_is_refused_before_decompressing() -> None:
    # 64 MiB of zeros compress to a few KiB; the rect holds 4 bytes.
    bomb = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(64 << 20))
    assert len(bomb) < 64 << 10
    with pytest.raises(RemoteProtocolError, match="declares"):
        Canvas().apply(one_pixel(bomb))


def test_bomb_without_content_size_is_refused() -> None:
    bomb = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(1 << 20))
    with pytest.raises(RemoteProtocolError, match="declares"):
        Canvas().apply(one_pixel(bomb))


def _with_content_size(frame: bytes, size: int) -> bytes:
    """``frame`` with its content-size field (4 or 8 bytes) replaced."""
    descriptor = frame[4]
    assert descriptor & 3 == 0  # no dictionary id
    width = {2: 4, 3: 8}[descriptor >> 6]
    start = 5 if descriptor & 0x20 else 6  # window descriptor unless single segment
    return frame[:start] + size.to_bytes(width, "little") + frame[start + width :]


def test_bomb_with_a_lying_small_content_size_is_refused() -> None:
    honest = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(1 << 20))
    lying = _with_content_size(honest, 4)
    assert zstandard.get_frame_parameters(lying).content_size == 4
    parse_frame(one_pixel(lying))  # the header and the block walk look fine
    canvas = Canvas()
    with pytest.raises(RemoteProtocolError, match="decompress"):
        canvas.apply(one_pixel(lying))
    assert canvas.picture is None


def test_lying_large_content_size_is_refused() -> None:
    honest = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(1 << 17))
    lying = _with_content_size(honest, (1 << 17) + 4)
    rects = [
        Rect(0, 0, 4096, 8, Encoding.RAW_BGRX, 1 << 17),
        Rect(0, 8, 1, 1, Encoding.RAW_BGRX, 4),
    ]
    payload = handmade(4096, 9, rects, lying, keyframe=False)
    parse_frame(payload)
    canvas = Canvas()
    canvas.apply(
        TileEncoder(4096, 9).encode(
            np.zeros((9, 4096, 4), np.uint8), keyframe=True, seq=0, capture_ns=0
        )
        or b""
    )
    with pytest.raises(RemoteProtocolError, match="decompress"):
        canvas.apply(payload)


# -- pictures out ------------------------------------------------------------------


def test_to_rgb_image_and_png(tmp_path: Path) -> None:
    picture = gradient(70, 50)
    _, canvas = keyed(picture)
    image = canvas.to_rgb_image()
    assert (image.mode, image.size) == ("RGB", (70, 50))
    expected = picture[:, :, 2::-1]
    assert np.array_equal(np.asarray(image), expected)
    canvas.save_png(tmp_path / "shot.png")
    with Image.open(tmp_path / "shot.png") as saved:
        assert saved.format == "PNG"
        assert np.array_equal(np.asarray(saved.convert("RGB")), expected)


def test_empty_canvas() -> None:
    canvas = Canvas()
    assert canvas.size is None and canvas.picture is None
    with pytest.raises(LookupError):
        canvas.to_rgb_image()


def test_picture_is_read_only() -> None:
    _, canvas = keyed(noise(8, 8))
    assert canvas.picture is not None
    with pytest.raises(ValueError, match="read-only"):
        canvas.picture[0, 0, 0] = 1


def test_canvas_statistics() -> None:
    canvas = Canvas()
    canvas.apply(GOOD_KEY)
    with pytest.raises(RemoteProtocolError):
        canvas.apply(GOOD_KEY[:-1])
    stats = canvas.statistics()
    assert (stats.frames, stats.keyframes, stats.refused) == (1, 1, 1)
    assert stats.rects == 2 and stats.bytes_in == len(GOOD_KEY)


def test_golden_payload_applies() -> None:
    path = ROOT / "tests" / "golden" / "make_frame_golden.py"
    spec = importlib.util.spec_from_file_location("make_frame_golden", path)
    assert spec is not None and spec.loader is not None
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    canvas = Canvas()
    header = canvas.apply((ROOT / "tests" / "golden" / "frame_payload.bin").read_bytes())
    assert header == golden.HEADER
    assert canvas.picture is not None
    assert canvas.picture.tobytes() == golden.PIXELS

    # The move payload, on top: copies read the picture as it stands, in
    # order, as if each source were copied out first.
    want = np.frombuffer(golden.PIXELS, np.uint8).reshape(3, 5, 4).copy()
    want[1:3, 1:5] = want[0:2, 0:4].copy()
    want[0:1, 0:2] = want[2:3, 3:5].copy()
    want[0, 2:5] = (0xA0, 0xB0, 0xC0, 0xD0)
    header = canvas.apply((ROOT / "tests" / "golden" / "frame_move_payload.bin").read_bytes())
    assert header == golden.MOVE_HEADER
    assert np.array_equal(shown(canvas), want)
    assert canvas.statistics().moved_pixels == 10


def test_a_copy_from_outside_the_screen_is_refused_and_changes_nothing() -> None:
    canvas = Canvas()
    canvas.apply(GOOD_KEY)
    before = shown(canvas).copy()
    copy = Rect(0, 0, 10, 10, Encoding.COPY, 4)
    compressor = zstandard.ZstdCompressor(write_content_size=True)
    raw_rect = Rect(0, 0, 1, 1, Encoding.RAW_BGRX, 4)
    for src_x, src_y in ((91, 0), (0, 61), (65535, 65535)):
        data = compressor.compress(b"\xff" * 4 + encode_copy_source(src_x, src_y))
        with pytest.raises(RemoteProtocolError, match="copy source"):
            canvas.apply(handmade(100, 70, [raw_rect, copy], data, keyframe=False))
        assert np.array_equal(shown(canvas), before)


# -- with a fake source ---------------------------------------------------------------


def test_fake_source_through_encoder_and_canvas() -> None:
    frames = [noise(130, 70, seed) for seed in range(3)]
    frames.append(frames[-1].copy())
    with FakeSource(frames) as source:
        width, height = source.size
        encoder = TileEncoder(width, height)
        canvas = Canvas()
        sent = []
        for seq in range(6):
            payload = encoder.encode(source.grab(), keyframe=seq == 0, seq=seq, capture_ns=seq)
            sent.append(payload is not None)
            if payload is not None:
                canvas.apply(payload)
            assert np.array_equal(shown(canvas), frames[min(seq, 3)])
    assert sent == [True, True, True, False, False, False]
    assert source.calls == ["size"] + ["grab"] * 6 + ["close"]
    assert source.closed


def test_fake_source_reuses_one_read_only_buffer() -> None:
    first, second = noise(4, 4, 1), noise(4, 4, 2)
    source = FakeSource([first, second])
    a = source.grab()
    assert not a.flags.writeable
    assert np.array_equal(a, first)
    b = source.grab()
    assert np.shares_memory(a, b)
    assert np.array_equal(a, second)  # the old picture changed under its holder
    with pytest.raises(ValueError, match="one size"):
        FakeSource([first, noise(5, 4)])
    with pytest.raises(ValueError, match="picture"):
        FakeSource([np.zeros((4, 4, 3), np.uint8)])


def test_modules_import_without_io_libraries() -> None:
    code = (
        "import sys, protocol.frames, host_app.capture, host_app.encoder, viewer_app.decoder\n"
        "bad = {'mss', 'asyncio', 'anyio', 'socket', 'sqlite3', 'pynput'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
