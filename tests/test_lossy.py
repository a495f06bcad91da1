"""Lossy (JPEG) rects: the host's decision from the Welcome policy
(host_app/lossy.py), the encoder's per-tile classification (text never goes
JPEG), and the Python viewer's checks of JPEG rects (viewer_app/decoder.py)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import zstandard
from PIL import Image, ImageDraw, ImageFont

from host_app.encoder import REFRESH_AFTER, TileEncoder, encode_jpeg
from host_app.lossy import decide_lossy
from protocol.errors import RemoteProtocolError
from protocol.frames import HEADER, RECT, Encoding, Rect, parse_frame
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# -- the decision -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "policy", "lossy", "says"),
    [
        (False, {}, False, None),
        (False, {"lossy": True}, False, None),
        (True, {"lossy": True}, True, "Lossy encoding on"),
        (True, {}, False, "policy forbids lossy"),  # a relay that does not know the key
        (True, {"lossy": False}, False, "policy forbids lossy"),
        (True, {"lossy": "true"}, False, "policy forbids lossy"),
        (True, {"lossy": 1}, False, "policy forbids lossy"),
    ],
)
def test_lossy_only_when_asked_and_the_welcome_allows_it(
    asked: bool, policy: dict[str, object], lossy: bool, says: str | None
) -> None:
    decision = decide_lossy(asked, policy)
    assert decision.lossy is lossy
    if says is None:
        assert decision.message is None
    else:
        assert decision.message is not None and says in decision.message


# -- pictures -----------------------------------------------------------------------


def text_picture(width: int, height: int, seed: int = 0) -> Picture:
    """Anti-aliased text in several colours on a light background, BGRX."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), (246, 246, 242))
    draw = ImageDraw.Draw(image)
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont = (
        ImageFont.truetype(str(FONT), 13) if FONT.exists() else ImageFont.load_default()
    )
    words = ["def", "encode", "(frame)", "return", "payload", "#", "lossless", "text", "=", "42"]
    colours = [(30, 30, 30), (0, 90, 160), (160, 40, 40), (20, 120, 60), (120, 60, 150)]
    for y in range(4, height - 14, 17):
        x = 6
        while x < width - 60:
            word = str(rng.choice(words))
            draw.text((x, y), word, fill=colours[int(rng.integers(len(colours)))], font=font)
            x += 9 * len(word) + 8
    return bgrx(np.asarray(image))


def photo(width: int, height: int, seed: int = 0) -> Picture:
    """Something like a photo: smooth colour fields plus grain, BGRX."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), np.float64)
    rgb[..., 0] = 128 + 90 * np.sin(x / 37 + seed)
    rgb[..., 1] = 128 + 90 * np.cos(y / 23)
    rgb[..., 2] = 128 + 60 * np.sin((x + y) / 51)
    rgb += rng.normal(0, 6, rgb.shape)
    return bgrx(np.clip(rgb, 0, 255).astype(np.uint8))


def bgrx(rgb: Picture) -> Picture:
    out = np.zeros((*rgb.shape[:2], 4), np.uint8)
    out[..., :3] = rgb[..., ::-1]
    return out


def psnr(a: Picture, b: Picture) -> float:
    error = np.mean((a[..., :3].astype(np.float64) - b[..., :3]) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255**2 / error))


def shown(canvas: Canvas) -> Picture:
    assert canvas.picture is not None
    return canvas.picture


# -- the encoder ----------------------------------------------------------------------

#: Where the photo sits on the 640x448 test screen: on whole tiles.
PHOTO = (128, 64, 320, 256)  # x, y, w, h


def screen(seed: int) -> Picture:
    picture = text_picture(640, 448)
    x, y, w, h = PHOTO
    picture[y : y + h, x : x + w] = photo(w, h, seed)
    return picture


def test_photo_tiles_go_jpeg_and_text_tiles_stay_exact() -> None:
    encoder = TileEncoder(640, 448, lossy=True)
    lossless = TileEncoder(640, 448)
    canvas = Canvas()
    first = screen(1)
    key = encoder.encode(first, keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    exact_key = lossless.encode(first, keyframe=True, seq=0, capture_ns=0)
    assert exact_key is not None and len(key) < len(exact_key) / 2
    canvas.apply(key)
    for seq in (1, 2, 3):
        # The photo changes, and one word of text beside it.
        picture = screen(seq + 1)
        picture[400:420, 500:560] = text_picture(60, 20, seed=seq)
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        _, rects, _ = parse_frame(payload)
        jpegs = [r for r in rects if r.encoding == Encoding.JPEG]
        assert [(r.x, r.y, r.w, r.h) for r in jpegs] == [PHOTO]
        canvas.apply(payload)
        got = shown(canvas)
        x, y, w, h = PHOTO
        outside = np.ones((448, 640), np.bool_)
        outside[y : y + h, x : x + w] = False
        np.testing.assert_array_equal(got[outside], picture[outside])  # text: exact
        assert psnr(got[y : y + h, x : x + w], picture[y : y + h, x : x + w]) > 30
    stats = encoder.statistics()
    assert stats.jpeg_rects >= 4 and stats.jpeg_pixels >= 4 * 320 * 256


def test_text_never_goes_jpeg_even_with_lossy_on() -> None:
    encoder = TileEncoder(1024, 640, lossy=True)
    canvas = Canvas()
    pages = [text_picture(1024, 640, seed) for seed in range(4)]
    canvas.apply(encoder.encode(pages[0], keyframe=True, seq=0, capture_ns=0) or b"")
    for seq, page in enumerate(pages[1:], 1):
        payload = encoder.encode(page, keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        assert all(r.encoding != Encoding.JPEG for r in parse_frame(payload)[1])
        canvas.apply(payload)
        np.testing.assert_array_equal(shown(canvas), page)
    assert encoder.statistics().jpeg_rects == 0


def test_lossy_off_sends_photos_exact() -> None:
    encoder = TileEncoder(640, 448)
    canvas = Canvas()
    canvas.apply(encoder.encode(screen(1), keyframe=True, seq=0, capture_ns=0) or b"")
    payload = encoder.encode(screen(2), keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    lossless = {Encoding.RAW_BGRX, Encoding.DELTA_BGRX, Encoding.PALETTE}
    assert {r.encoding for r in parse_frame(payload)[1]} <= lossless
    canvas.apply(payload)
    np.testing.assert_array_equal(shown(canvas), screen(2))


def test_a_small_photo_change_stays_raw() -> None:
    encoder = TileEncoder(640, 448, lossy=True)
    picture = screen(1)
    encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    picture[100:120, 200:220] = photo(20, 20, seed=9)
    payload = encoder.encode(picture, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert [r.encoding for r in parse_frame(payload)[1]] == [Encoding.DELTA_BGRX]


# -- the viewer ------------------------------------------------------------------------


def jpeg_payload(data: bytes, rect: Rect, width: int = 64, height: int = 64) -> bytes:
    head = HEADER.pack(1, 0, 1, 0, width, height, 1)
    table = RECT.pack(rect.x, rect.y, rect.w, rect.h, rect.encoding, rect.length)
    return head + table + zstandard.ZstdCompressor(write_content_size=True).compress(data)


def keyed_canvas() -> Canvas:
    canvas = Canvas()
    canvas.apply(
        TileEncoder(64, 64).encode(photo(64, 64), keyframe=True, seq=0, capture_ns=0) or b""
    )
    return canvas


def test_a_jpeg_rect_is_drawn_with_x_255() -> None:
    canvas = keyed_canvas()
    pixels = photo(40, 24, seed=5)
    data = encode_jpeg(pixels)
    canvas.apply(jpeg_payload(data, Rect(8, 16, 40, 24, Encoding.JPEG, len(data))))
    got = shown(canvas)[16:40, 8:48]
    assert psnr(got, pixels) > 30
    assert (got[..., 3] == 255).all()


def _progressive(pixels: Picture) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[..., 2::-1])).save(out, "JPEG", progressive=True)
    return out.getvalue()


def _cut_scan(jpeg: bytes) -> bytes:
    """``jpeg`` cut 20 bytes into its scan: the header is whole, the picture not."""
    return jpeg[: jpeg.index(b"\xff\xda") + 20]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: encode_jpeg(photo(40, 25)), "holds a JPEG of 40x25"),  # the wrong size
        (lambda: _progressive(photo(40, 24)), "not one baseline JPEG"),
        (lambda: b"\x89PNG\r\n\x1a\n" + bytes(40), "does not start with a JPEG header"),
        (lambda: _cut_scan(encode_jpeg(photo(40, 24))), "does not decode"),
        (lambda: encode_jpeg(photo(40, 24))[:30], "JPEG rect"),  # truncated header
    ],
)
def test_a_bad_jpeg_rect_is_refused_and_changes_nothing(make: object, words: str) -> None:
    canvas = keyed_canvas()
    before = shown(canvas).copy()
    data = make()  # type: ignore[operator]
    with pytest.raises(RemoteProtocolError, match=words):
        canvas.apply(jpeg_payload(data, Rect(8, 16, 40, 24, Encoding.JPEG, len(data))))
    np.testing.assert_array_equal(shown(canvas), before)
    assert canvas.statistics().refused == 1


def test_a_lossy_key_frame_tiles_the_screen_exactly_once() -> None:
    # A photo area off the tile grid: photo-like and text runs of different
    # widths from one tile row to the next must not merge into overlaps.
    picture = text_picture(1000, 700)
    picture[90:470, 150:830] = photo(680, 380, seed=3)
    encoder = TileEncoder(1000, 700, lossy=True)
    payload = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
    assert payload is not None
    _, rects, _ = parse_frame(payload)
    assert sum(r.w * r.h for r in rects) == 1000 * 700
    assert any(r.encoding == Encoding.JPEG for r in rects)
    canvas = Canvas()
    canvas.apply(payload)  # the canvas checks coverage
    text_only = np.ones((700, 1000), np.bool_)
    text_only[64:512, 128:832] = False  # the photo's tiles
    np.testing.assert_array_equal(shown(canvas)[text_only], picture[text_only])


# -- the lossless refresh ---------------------------------------------------------------


def later(seconds: float = REFRESH_AFTER + 0.01) -> float:
    return time.monotonic() + seconds


def test_a_photo_left_on_screen_is_refreshed_exactly_once() -> None:
    encoder = TileEncoder(640, 448, lossy=True)
    canvas = Canvas()
    canvas.apply(encoder.encode(screen(1), keyframe=True, seq=0, capture_ns=0) or b"")
    assert not np.array_equal(shown(canvas), screen(1))  # the key frame's photo is JPEG
    payload = encoder.encode(screen(2), keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    canvas.apply(payload)
    assert encoder.refresh(seq=2, capture_ns=0, now=time.monotonic()) is None  # too soon
    due_in = encoder.refresh_due_in(time.monotonic())
    assert due_in is not None and 0 < due_in <= REFRESH_AFTER
    refresh = encoder.refresh(seq=2, capture_ns=0, now=later())
    assert refresh is not None
    header, rects, _ = parse_frame(refresh)
    assert header.flags == 0 and all(r.encoding != Encoding.JPEG for r in rects)
    # Only the photo's tiles, not the text around them.
    x, y, w, h = PHOTO
    assert all(x <= r.x and r.x + r.w <= x + w and y <= r.y and r.y + r.h <= y + h for r in rects)
    assert sum(r.w * r.h for r in rects) == w * h
    canvas.apply(refresh)
    np.testing.assert_array_equal(shown(canvas), screen(2))
    assert encoder.refresh(seq=3, capture_ns=0, now=later(10)) is None
    assert encoder.refresh_due_in(time.monotonic()) is None
    stats = encoder.statistics()
    assert (stats.refreshes, stats.refreshed_pixels) == (1, w * h)


def test_a_photo_that_keeps_changing_is_not_refreshed_until_it_stops() -> None:
    encoder = TileEncoder(640, 448, lossy=True)
    canvas = Canvas()
    canvas.apply(encoder.encode(screen(1), keyframe=True, seq=0, capture_ns=0) or b"")
    seq = 1
    for seed in range(2, 6):
        payload = encoder.encode(screen(seed), keyframe=False, seq=seq, capture_ns=0)
        assert payload is not None
        canvas.apply(payload)
        seq += 1
        # Half the quiet time since the last change: nothing yet.
        assert encoder.refresh(seq=seq, capture_ns=0, now=later(REFRESH_AFTER / 2)) is None
    refresh = encoder.refresh(seq=seq, capture_ns=0, now=later())
    assert refresh is not None
    canvas.apply(refresh)
    np.testing.assert_array_equal(shown(canvas), screen(5))


def test_a_lossless_encoder_never_refreshes() -> None:
    encoder = TileEncoder(640, 448)
    encoder.encode(screen(1), keyframe=True, seq=0, capture_ns=0)
    assert encoder.refresh_due_in(time.monotonic()) is None
    assert encoder.refresh(seq=1, capture_ns=0, now=later(60)) is None


def test_pixels_moved_out_of_a_jpeg_area_are_refreshed_where_they_land() -> None:
    # A window holding a photo is dragged: the copy carries the viewer's
    # approximate pixels to the new place, so those tiles need a refresh too.
    desk = text_picture(960, 640)
    window = photo(320, 256, seed=3)

    def at(x: int, y: int) -> Picture:
        picture = desk.copy()
        picture[y : y + 256, x : x + 320] = window
        return picture

    encoder = TileEncoder(960, 640, lossy=True)
    canvas = Canvas()
    canvas.apply(encoder.encode(at(64, 64), keyframe=True, seq=0, capture_ns=0) or b"")
    payload = encoder.encode(at(64 + 256, 64 + 192), keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    assert any(r.encoding == Encoding.COPY for r in parse_frame(payload)[1])
    canvas.apply(payload)
    assert not np.array_equal(shown(canvas), at(320, 256))
    refresh = encoder.refresh(seq=2, capture_ns=0, now=later())
    assert refresh is not None
    canvas.apply(refresh)
    np.testing.assert_array_equal(shown(canvas), at(320, 256))
