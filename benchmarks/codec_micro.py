"""Micro-benchmark of the host's and viewer's per-frame work at 1920x1080.

    cd /work/main && .venv/bin/python -m benchmarks.codec_micro [--runs N]

Starts a private Xvfb (tests/xvfb.py), shows a synthetic desktop on its root
window with ImageMagick's ``display -window root``, and times, each as median
and 95th percentile over ``--runs`` runs (after a few warm-up runs):

- baseline: ``np.copyto`` of a full frame into a preallocated buffer;
- grab: mss's public ``MSS.grab``, ``MssSource.grab`` zero-copy and copying;
- tile diff: ``TileEncoder.changed_tiles`` (64x64 tiles);
- encode and decode (``Canvas.apply``) of a typing-sized change (one tile),
  a full-screen change (the desktop scrolled), and a key frame;
- grab + encode of an unchanged screen (what an idle host does per tick);
- typing as ``benchmarks.vnc_compare`` shows it: the last character of a
  line of real text (Pillow's font) changes, and the 64x40 time stamp box
  (``benchmarks.stamp``) at ``STAMP_AT`` is redrawn: bytes and encode time
  per update;
- scrolling a long document (real text) in a 1500x920 window at 1080p, 48
  rows (three lines) per frame: bytes per frame, encode and decode time,
  with and without move detection (``TileEncoder(moves=...)``); every
  decoded picture is checked to be the exact one;
- dragging a 480x320 window of real text by (6, 3) pixels a frame over the
  desktop, with and without moves, checked the same way;
- what looking for moves costs where there are none: ``benchmarks.scene``'s
  video area on the desktop, and a full-screen change between two desktops,
  with and without moves;
- the full-screen desktop change of ``benchmarks.scene fullscreen`` (two
  ``tests.scenes.desktop_picture`` pictures, alternating), as
  ``vnc_compare`` shows it: bytes and encode time.

The typing, scroll, full-screen and key frame rows are also measured with
``BEFORE`` (no palette or delta rects, every size at zstd level 1: the
encoder before those and the adaptive level), marked "before", as the
baseline.

Prints a table and writes benchmarks/results/codec_micro.json. The machine
may be shared: the load average before and after is recorded with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mss
import numpy as np
import numpy.typing as npt
import zstandard
from PIL import Image, ImageDraw

from host_app.capture import MssSource
from host_app.encoder import TileEncoder
from tests.scenes import desktop_picture, text_page
from tests.xvfb import running_xvfb
from viewer_app.decoder import Canvas

WIDTH, HEIGHT = 1920, 1080
#: The encoder options of the "before" rows (see the module docstring).
BEFORE: dict[str, Any] = {"palette": False, "delta": False, "small_level": 1}
RESULTS = Path(__file__).resolve().parent / "results" / "codec_micro.json"
WARMUP = 5

Picture = npt.NDArray[np.uint8]


def desktop(seed: int) -> Image.Image:
    """A desktop-like RGB picture: wallpaper gradient, a taskbar, windows with
    title bars, lines of text, a few icons."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, HEIGHT)[:, None]
    x = np.linspace(0, 1, WIDTH)[None, :]
    wallpaper = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    wallpaper[..., 0] = (40 + 30 * y + 10 * x).astype(np.uint8)
    wallpaper[..., 1] = (70 + 40 * y).astype(np.uint8)
    wallpaper[..., 2] = (110 + 60 * x).astype(np.uint8)
    image = Image.fromarray(wallpaper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, HEIGHT - 40, WIDTH, HEIGHT), fill=(32, 32, 36))
    for i in range(12):
        draw.rectangle((8 + 44 * i, HEIGHT - 34, 40 + 44 * i, HEIGHT - 6), fill=(90, 120, 200))
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "screen"]
    for w in range(4):
        left = int(rng.integers(0, WIDTH - 900))
        top = int(rng.integers(0, HEIGHT - 700))
        right, bottom = left + 900, top + 620
        draw.rectangle((left + 6, top + 6, right + 6, bottom + 6), fill=(20, 20, 20))
        draw.rectangle((left, top, right, bottom), fill=(250, 250, 250), outline=(120, 120, 120))
        draw.rectangle((left, top, right, top + 30), fill=(60, 60, 70 + 40 * w))
        draw.text((left + 10, top + 8), f"Document {w + 1} - Editor", fill=(255, 255, 255))
        for line in range(36):
            text = " ".join(rng.choice(words, size=int(rng.integers(4, 14))))
            draw.text((left + 12, top + 40 + 16 * line), text, fill=(20, 20, 20))
    for i in range(8):
        draw.ellipse((30, 30 + 90 * i, 78, 78 + 90 * i), fill=(200, 160, 40))
    return image


def show(display: str, image: Image.Image, folder: Path) -> None:
    path = folder / f"desktop-{time.monotonic_ns()}.png"
    image.save(path)
    env = {**os.environ, "DISPLAY": display}
    # ImageMagick 6 exits with status 1 even when it set the root window.
    subprocess.run(["display", "-window", "root", str(path)], env=env, check=False, timeout=60)


def grab_showing(source: MssSource, image: Image.Image) -> Picture:
    """A copy of the screen once it shows ``image``."""
    expected = np.asarray(image)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        picture = source.grab()
        if np.array_equal(picture[:, :, 2::-1], expected):
            return picture.copy()
        time.sleep(0.05)
    raise RuntimeError("the root window did not show the picture")


def measure(fn: Callable[[], object], runs: int) -> dict[str, float]:
    for _ in range(WARMUP):
        fn()
    times = np.empty(runs)
    for i in range(runs):
        started = time.perf_counter_ns()
        fn()
        times[i] = time.perf_counter_ns() - started
    times /= 1e6
    return timing(times)


def timing(times_ms: npt.ArrayLike) -> dict[str, float]:
    """Median, 95th percentile and minimum of some times in milliseconds."""
    values = np.asarray(times_ms, np.float64)
    return {
        "median_ms": float(np.median(values)),
        "p95_ms": float(np.percentile(values, 95)),
        "min_ms": float(values.min()),
    }


def alternate(first: Picture, second: Picture) -> Callable[[], Picture]:
    """Returns ``first``, ``second``, ``first``, ... on each call."""
    state = [False]

    def next_picture() -> Picture:
        state[0] = not state[0]
        return first if state[0] else second

    return next_picture


def run(runs: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, timing: dict[str, float], size: int | None = None, note: str = "") -> None:
        rows.append({"name": name, **timing, "bytes": size, "note": note})

    with running_xvfb(WIDTH, HEIGHT) as display, tempfile.TemporaryDirectory() as tmp:
        first, scrolled = desktop(1), None
        show(display, first, Path(tmp))
        with MssSource(display=display) as source:
            desk = grab_showing(source, first)
            # The same desktop scrolled by 40 rows: every tile changes, the
            # content stays desktop-like.
            scrolled_image = Image.fromarray(np.roll(np.asarray(first), -40, axis=0))
            show(display, scrolled_image, Path(tmp))
            scrolled = grab_showing(source, scrolled_image)
            show(display, first, Path(tmp))
            grab_showing(source, first)

            frame_bytes = desk.nbytes
            target = np.empty_like(desk)
            add("baseline: np.copyto full frame", measure(lambda: np.copyto(target, desk), runs))

            with mss.MSS(display=display) as sct:
                monitor = sct.monitors[1]
                add("grab: mss MSS.grab (public API)", measure(lambda: sct.grab(monitor), runs))
            assert source.zero_copy
            add("grab: MssSource zero-copy", measure(source.grab, runs))
            with MssSource(display=display, zero_copy=False) as copying:
                add("grab: MssSource copying", measure(copying.grab, runs))

            # Typing: one 64x64 tile differs (a "glyph" drawn in it).
            typed = desk.copy()
            typed[520:536, 708:716, :3] = 0
            encoder = TileEncoder(WIDTH, HEIGHT)
            encoder.encode(desk, keyframe=True, seq=0, capture_ns=0)
            add(
                "tile diff (64x64), one tile changed",
                measure(lambda: encoder.changed_tiles(typed), runs),
            )

            pictures = alternate(typed, desk)
            seq = iter(range(1, 1 << 30))
            sizes: list[int] = []

            def encode_delta() -> None:
                payload = encoder.encode(pictures(), keyframe=False, seq=next(seq), capture_ns=0)
                assert payload is not None
                sizes.append(len(payload))

            timing = measure(encode_delta, runs)
            add("encode: typing (1 tile)", timing, int(np.median(sizes)))
            typing_payload = _delta(desk, typed)

            for options, label in ((BEFORE, ", before"), ({}, "")):
                encoder = TileEncoder(WIDTH, HEIGHT, **options)
                encoder.encode(desk, keyframe=True, seq=0, capture_ns=0)
                pictures = alternate(scrolled, desk)
                sizes.clear()
                timing = measure(encode_delta, runs)
                add(
                    f"encode: full-screen change (scroll){label}",
                    timing,
                    int(np.median(sizes)),
                    f"ratio {frame_bytes / np.median(sizes):.0f}x",
                )

                sizes.clear()

                def encode_key(encoder: TileEncoder = encoder) -> None:
                    payload = encoder.encode(desk, keyframe=True, seq=next(seq), capture_ns=0)
                    assert payload is not None
                    sizes.append(len(payload))

                timing = measure(encode_key, runs)
                add(
                    f"encode: key frame{label}",
                    timing,
                    int(np.median(sizes)),
                    f"ratio {frame_bytes / np.median(sizes):.0f}x",
                )
            scroll_payload = _delta(desk, scrolled)
            key_payload = encoder.encode(desk, keyframe=True, seq=0, capture_ns=0)
            assert key_payload is not None

            canvas = Canvas()
            canvas.apply(key_payload)
            add(
                "decode: typing (1 tile)",
                measure(lambda: canvas.apply(typing_payload), runs),
                len(typing_payload),
            )
            add(
                "decode: full-screen change",
                measure(lambda: canvas.apply(scroll_payload), runs),
                len(scroll_payload),
            )
            add(
                "decode: key frame",
                measure(lambda: canvas.apply(key_payload), runs),
                len(key_payload),
            )

            idle = TileEncoder(WIDTH, HEIGHT)
            idle.encode(source.grab(), keyframe=True, seq=0, capture_ns=0)

            def idle_tick() -> None:
                assert idle.encode(source.grab(), keyframe=False, seq=1, capture_ns=0) is None

            add("grab + encode, screen unchanged", measure(idle_tick, runs), note="zero-copy")
    for options, label in ((BEFORE, ", before"), ({}, "")):
        rows.extend(typing_rows(runs, options, label))
        rows.extend(desktop_change_rows(runs, options, label))
    rows.extend(scroll_rows(runs))
    rows.extend(drag_rows(runs))
    rows.extend(no_move_rows(runs))
    return rows


def typing_pictures() -> tuple[Picture, Picture]:
    """Two pictures of the desktop a keystroke apart: the line of text ends in
    another character and the time stamp box shows another time."""
    from benchmarks import stamp
    from benchmarks.scene import STAMP_AT, TYPING_AT, TYPING_TEXT

    pictures = []
    for n, letter in enumerate("rn"):
        image = desktop(1)
        draw = ImageDraw.Draw(image)
        left, top = TYPING_AT
        draw.rectangle((left, top, left + 320, top + 18), fill=(236, 239, 244))
        draw.text((left + 2, top + 3), TYPING_TEXT + letter, fill=(30, 30, 30))
        picture = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
        picture[..., :3] = np.asarray(image)[..., ::-1]
        box = stamp.draw(stamp.units_of(1_790_000_000_000_000_000 + n * 123_456_789))
        x, y = STAMP_AT
        picture[y : y + stamp.STAMP_H, x : x + stamp.STAMP_W, :3] = box[..., None]
        pictures.append(picture)
    return pictures[0], pictures[1]


def typing_rows(runs: int, options: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """Encode (and decode, checked) a keystroke plus a stamp box, alternating."""
    first, second = typing_pictures()
    return alternating_rows(
        f"encode: typing (glyph + stamp box){label}", first, second, runs, options
    )


def desktop_change_rows(runs: int, options: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """Encode (and decode, checked) the fullscreen scene's two desktops, alternating."""
    from benchmarks.scene import FULLSCREEN_SEEDS

    first, second = (_bgrx(desktop_picture(WIDTH, HEIGHT, seed)) for seed in FULLSCREEN_SEEDS)
    return alternating_rows(
        f"encode: desktop change (fullscreen scene){label}",
        first,
        second,
        max(runs // 4, 20),
        options,
    )


def _bgrx(rgb: Picture) -> Picture:
    picture = np.zeros((*rgb.shape[:2], 4), np.uint8)
    picture[..., :3] = rgb[..., ::-1]
    return picture


def alternating_rows(
    name: str, first: Picture, second: Picture, runs: int, options: dict[str, Any]
) -> list[dict[str, Any]]:
    """Encode ``second``, ``first``, ... after a key frame of ``first``; the
    first two payloads decoded and checked."""
    encoder = TileEncoder(WIDTH, HEIGHT, **options)
    canvas = Canvas()
    key = encoder.encode(first, keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    canvas.apply(key)
    pictures = alternate(second, first)
    seq = iter(range(1, 1 << 30))
    sizes: list[int] = []
    rects: list[int] = []
    payloads: list[bytes] = []

    def encode_delta() -> None:
        payload = encoder.encode(pictures(), keyframe=False, seq=next(seq), capture_ns=0)
        assert payload is not None
        sizes.append(len(payload))
        payloads.append(payload)

    timing = measure(encode_delta, runs)
    for payload, want in zip(payloads[:2], (second, first), strict=True):
        canvas.apply(payload)
        assert canvas.picture is not None and np.array_equal(canvas.picture, want)
        rects.append(len(canvas.last_rects))
    pixels = sum(r.w * r.h for r in canvas.last_rects)
    return [
        {
            "name": name,
            **timing,
            "bytes": int(np.median(sizes)),
            "note": f"{rects[-1]} rects, {pixels} px",
        }
    ]


#: The scrolled document window: left, top, width, height; rows per frame.
SCROLL_BOX = (200, 80, 1500, 920)
SCROLL_STEP = 48


def scroll_rows(runs: int) -> list[dict[str, Any]]:
    """Encode and decode ``runs`` frames of a document scrolling by
    ``SCROLL_STEP`` rows, with and without moves."""
    left, top, width, height = SCROLL_BOX
    page = text_page(width, height + SCROLL_STEP * (runs + WARMUP + 1), seed=7)
    page_bgrx = np.zeros((*page.shape[:2], 4), np.uint8)
    page_bgrx[..., :3] = page[..., ::-1]
    desk = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    desk[..., :3] = np.asarray(desktop(2))[..., ::-1]
    picture = desk.copy()
    rows: list[dict[str, Any]] = []
    for moves, options in ((True, BEFORE), (True, {}), (False, {})):
        encoder = TileEncoder(WIDTH, HEIGHT, moves=moves, **options)
        canvas = Canvas()
        picture[top : top + height, left : left + width] = page_bgrx[:height]
        key = encoder.encode(picture, keyframe=True, seq=0, capture_ns=0)
        assert key is not None
        canvas.apply(key)
        encode_ms, decode_ms, sizes = [], [], []
        for n in range(1, runs + WARMUP + 1):
            offset = n * SCROLL_STEP
            picture[top : top + height, left : left + width] = page_bgrx[offset : offset + height]
            started = time.perf_counter_ns()
            payload = encoder.encode(picture, keyframe=False, seq=n, capture_ns=0)
            encoded = time.perf_counter_ns()
            assert payload is not None
            canvas.apply(payload)
            decoded = time.perf_counter_ns()
            assert canvas.picture is not None and np.array_equal(canvas.picture, picture)
            if n > WARMUP:
                encode_ms.append((encoded - started) / 1e6)
                decode_ms.append((decoded - encoded) / 1e6)
                sizes.append(len(payload))
        label = ("with moves" if moves else "no moves") + (", before" if options else "")
        stats = encoder.statistics()
        moved = stats.moved_pixels // (runs + WARMUP)
        note = f"{np.mean(sizes) / 1000:.1f} KB mean; moved {moved:,} px/frame"
        for name, times in (("encode", encode_ms), ("decode", decode_ms)):
            rows.append(
                {
                    "name": f"{name}: scroll 48 rows, {label}",
                    **timing(times),
                    "bytes": int(np.median(sizes)),
                    "note": note if name == "encode" else "",
                }
            )
    return rows


#: The dragged window: size, first (left, top), pixels per frame (x, y).
DRAG_SIZE = (480, 320)
DRAG_FROM = (300, 200)
DRAG_STEP = (6, 3)
#: Steps before the window turns back (it stays on the 1920x1080 screen).
DRAG_STEPS = 100


def drag_frames(count: int) -> list[Picture]:
    """A window of real text with a title bar moved by ``DRAG_STEP`` per frame
    over the desktop."""
    width, height = DRAG_SIZE
    window = np.zeros((height, width, 4), np.uint8)
    window[..., :3] = text_page(width, height, seed=11)[..., ::-1]
    window[:28, :, :3] = (164, 101, 52)  # a title bar
    window[:, :2, :3] = window[:, -2:, :3] = 80  # borders
    desk = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    desk[..., :3] = np.asarray(desktop(2))[..., ::-1]
    frames = []
    for n in range(count):
        # Back and forth over DRAG_STEPS steps, so any number of frames fits.
        k = n % (2 * DRAG_STEPS)
        k = k if k <= DRAG_STEPS else 2 * DRAG_STEPS - k
        left, top = DRAG_FROM[0] + k * DRAG_STEP[0], DRAG_FROM[1] + k * DRAG_STEP[1]
        picture = desk.copy()
        picture[top : top + height, left : left + width] = window
        frames.append(picture)
    return frames


def video_frames_on_desktop(count: int) -> list[Picture]:
    """``benchmarks.scene``'s video area (moving gradients, a block of noise)
    on the desktop: many tiles change, nothing moves."""
    from benchmarks.scene import VIDEO_BOX, video_frames

    left, top, width, height = VIDEO_BOX
    desk = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    desk[..., :3] = np.asarray(desktop(2))[..., ::-1]
    frames = []
    for rgb in video_frames(width, height, min(count, 60)):
        picture = desk.copy()
        picture[top : top + height, left : left + width, :3] = rgb[..., ::-1]
        frames.append(picture)
    return [frames[n % len(frames)] for n in range(count)]


def fullscreen_frames(count: int) -> list[Picture]:
    """Two different desktops, alternating: every tile changes, nothing moves."""
    pair = []
    for seed in (1, 3):
        picture = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
        picture[..., :3] = np.asarray(desktop(seed))[..., ::-1]
        pair.append(picture)
    return [pair[n % 2] for n in range(count)]


def sequence_rows(name: str, frames: list[Picture], runs: int) -> list[dict[str, Any]]:
    """Encode ``frames`` (the first as the key frame) with and without moves,
    each decoded and checked to be exact; encode ms and bytes per frame."""
    rows: list[dict[str, Any]] = []
    for moves in (True, False):
        encoder = TileEncoder(WIDTH, HEIGHT, moves=moves)
        canvas = Canvas()
        key = encoder.encode(frames[0], keyframe=True, seq=0, capture_ns=0)
        assert key is not None
        canvas.apply(key)
        encode_ms, sizes = [], []
        for n, picture in enumerate(frames[1:], 1):
            started = time.perf_counter_ns()
            payload = encoder.encode(picture, keyframe=False, seq=n, capture_ns=0)
            encoded = time.perf_counter_ns()
            assert payload is not None
            canvas.apply(payload)
            assert canvas.picture is not None and np.array_equal(canvas.picture, picture)
            if n > WARMUP:
                encode_ms.append((encoded - started) / 1e6)
                sizes.append(len(payload))
        stats = encoder.statistics()
        rows.append(
            {
                "name": f"encode: {name}, {'with moves' if moves else 'no moves'}",
                **timing(encode_ms),
                "bytes": int(np.median(sizes)),
                "note": f"{np.mean(sizes) / 1000:.1f} KB mean; {stats.moves} moves",
            }
        )
    return rows


def drag_rows(runs: int) -> list[dict[str, Any]]:
    """A 480x320 window of text dragged by (6, 3) pixels a frame."""
    return sequence_rows("drag 480x320 by (6,3)", drag_frames(runs + WARMUP + 1), runs)


def no_move_rows(runs: int) -> list[dict[str, Any]]:
    """What looking for moves costs where there are none."""
    count = runs + WARMUP + 1
    return [
        *sequence_rows("video 640x360", video_frames_on_desktop(count), runs),
        *sequence_rows("fullscreen change", fullscreen_frames(count), runs),
    ]


def _delta(before: Picture, after: Picture) -> bytes:
    encoder = TileEncoder(WIDTH, HEIGHT)
    encoder.encode(before, keyframe=True, seq=0, capture_ns=0)
    payload = encoder.encode(after, keyframe=False, seq=1, capture_ns=0)
    assert payload is not None
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per row (>= 50)")
    args = parser.parse_args()
    if args.runs < 50:
        parser.error("--runs must be at least 50")
    load_before = os.getloadavg()
    rows = run(args.runs)
    load_after = os.getloadavg()

    print(f"{WIDTH}x{HEIGHT}, {args.runs} runs each; load average {load_before[0]:.2f}")
    print(f"{'measurement':40} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}  note")
    for row in rows:
        size = "" if row["bytes"] is None else f"{row['bytes']:,}"
        timing = f"{row['median_ms']:10.3f} {row['p95_ms']:8.3f}"
        print(f"{row['name']:40} {timing} {size:>9}  {row['note']}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "screen": [WIDTH, HEIGHT],
                "runs": args.runs,
                "warmup": WARMUP,
                "rows": rows,
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                    "zstandard": zstandard.__version__,
                    "zstd": ".".join(map(str, zstandard.ZSTD_VERSION)),
                    "mss": mss.__version__,
                    "load_average_before": load_before,
                    "load_average_after": load_after,
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
