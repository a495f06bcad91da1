"""Record a real scene on Xvfb, then replay the pictures through the encoder.

    .venv/bin/python -m benchmarks.scene_replay scroll [--seconds 6] [--fps 30]
    .venv/bin/python -m benchmarks.scene_replay drag --save /tmp/drag.rec
    .venv/bin/python -m benchmarks.scene_replay --load /tmp/drag.rec
    .venv/bin/python -m benchmarks.scene_replay          # scroll and drag, as in the suite

On a private 1920x1080 Xvfb whose root shows ``vnc_compare``'s desktop, plays
``benchmarks.scene`` (with ``--stamp``, at ``vnc_compare``'s rate for the
scene) and grabs the screen with ``MssSource`` every 1/fps seconds, as the
host does. Grabs equal to the one before are dropped (the host sends
nothing for them); the rest are kept zstd-compressed in memory (or in the
file of ``--save``).

Then every recorded picture is encoded, after one key frame, by a
``TileEncoder`` with moves and by one without, each decoded by a ``Canvas``
and checked to equal the picture exactly. Prints bytes per update (mean,
the figure ``vnc_compare`` reports as bytes per picture), encode ms (median
and p95, both encoders timed in the same run), and, with ``--verbose``, per
update: changed tiles, the moves found and the pixels still sent raw.
With no scene named, records and replays ``DEFAULT_SCENES`` one after the
other and writes everything to benchmarks/results/scene_replay.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import zstandard

from benchmarks.e2e_latency import Launcher
from benchmarks.vnc_compare import BACKGROUND_SEED, SCENE_RATES, SCREEN
from host_app.capture import MssSource
from host_app.encoder import TileEncoder
from protocol.frames import Encoding, parse_frame
from tests import scenes
from tests.xvfb import running_xvfb
from viewer_app.decoder import Canvas

Picture = npt.NDArray[np.uint8]

#: What ``python -m benchmarks.scene_replay`` (and the suite) replays.
DEFAULT_SCENES: Final = ("scroll", "drag")
RESULTS: Final = Path(__file__).resolve().parent / "results" / "scene_replay.json"

#: Seconds the scene runs before recording starts.
SETTLE: Final = 1.0


def record(scene: str, seconds: float, fps: float) -> list[bytes]:
    """The distinct pictures grabbed while ``scene`` plays, zstd-compressed."""
    compressor = zstandard.ZstdCompressor(level=1)
    kept: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp, running_xvfb(*SCREEN) as display:
        work = Path(tmp)
        scenes.show(display, scenes.desktop_picture(*SCREEN, BACKGROUND_SEED), work / "bg.png")
        launcher = Launcher(display, work)
        proc = launcher.start(
            f"scene-{scene}",
            ["-m", "benchmarks.scene", scene, "--rate", str(SCENE_RATES[scene]), "--stamp"],
        )
        try:
            proc.wait_for("ready")
            time.sleep(SETTLE)
            with MssSource(display=display) as source:
                last: Picture | None = None
                period = 1 / fps
                due = time.monotonic()
                end = due + seconds
                while due < end:
                    picture = source.grab()
                    if last is None or not np.array_equal(picture, last):
                        last = picture.copy()
                        kept.append(compressor.compress(last.tobytes()))
                    due += period
                    time.sleep(max(0.0, due - time.monotonic()))
        finally:
            proc.stop()
    return kept


def save(path: Path, scene: str, recorded: Sequence[bytes]) -> None:
    """One JSON line (the scene, each picture's length), then the pictures."""
    head = json.dumps({"scene": scene, "lengths": [len(b) for b in recorded]})
    path.write_bytes(head.encode() + b"\n" + b"".join(recorded))


def load(path: Path) -> tuple[str, list[bytes]]:
    head, _, body = path.read_bytes().partition(b"\n")
    meta = json.loads(head)
    recorded, offset = [], 0
    for length in meta["lengths"]:
        recorded.append(body[offset : offset + length])
        offset += length
    return str(meta["scene"]), recorded


def pictures(recorded: Sequence[bytes]) -> list[Picture]:
    width, height = SCREEN
    out = zstandard.ZstdDecompressor()
    return [
        np.frombuffer(out.decompress(blob), np.uint8).reshape(height, width, 4).copy()
        for blob in recorded
    ]


def replay(frames: Sequence[Picture], *, moves: bool, verbose: bool) -> dict[str, Any]:
    """Encode (checked by decoding) every picture after the first (the key frame)."""
    width, height = SCREEN
    encoder = TileEncoder(width, height, moves=moves)
    canvas = Canvas()
    key = encoder.encode(frames[0], keyframe=True, seq=0, capture_ns=0)
    assert key is not None
    canvas.apply(key)
    sizes, times = [], []
    with_moves = 0
    for seq, picture in enumerate(frames[1:], 1):
        tiles = int(encoder.changed_tiles(picture).sum())
        started = time.perf_counter_ns()
        payload = encoder.encode(picture, keyframe=False, seq=seq, capture_ns=0)
        times.append((time.perf_counter_ns() - started) / 1e6)
        assert payload is not None
        canvas.apply(payload)
        assert canvas.picture is not None and np.array_equal(canvas.picture, picture), seq
        sizes.append(len(payload))
        _, rects, _ = parse_frame(payload)
        with_moves += any(r.encoding == Encoding.COPY for r in rects)
        if verbose:
            copies = [(r.x, r.y, r.w, r.h) for r in rects if r.encoding == Encoding.COPY]
            raw = [(r.x, r.y, r.w, r.h) for r in rects if r.encoding != Encoding.COPY]
            print(
                f"  {seq:3d} tiles={tiles:4d} bytes={len(payload):7d} ms={times[-1]:6.2f} "
                f"copies={copies} raw_px={sum(w * h for *_, w, h in raw)} raw={raw[:6]}"
            )
    stats = encoder.statistics()
    return {
        "moves": moves,
        "updates": len(sizes),
        "bytes_per_update": round(float(np.mean(sizes))),
        "encode_ms_median": round(float(np.median(times)), 3),
        "encode_ms_p95": round(float(np.percentile(times, 95)), 3),
        "moves_sent": stats.moves,
        "updates_with_moves": with_moves,
        "moved_px_per_update": stats.moved_pixels // max(1, len(sizes)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", nargs="?", choices=sorted(SCENE_RATES))
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--save", type=Path, help="keep the recording in this file")
    parser.add_argument("--load", type=Path, help="replay this recording instead")
    parser.add_argument("--repeat", type=int, default=3, help="replays per encoder (timing)")
    parser.add_argument("--verbose", action="store_true", help="print every update")
    args = parser.parse_args(argv)
    if args.load is None and args.scene is None:
        report = [measure_scene(scene, record(scene, args.seconds, args.fps), args)
                  for scene in DEFAULT_SCENES]  # fmt: skip
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=1) + "\n")
        print(f"JSON: {RESULTS}")
        return
    if args.load is not None:
        scene, recorded = load(args.load)
    else:
        scene, recorded = args.scene, record(args.scene, args.seconds, args.fps)
        if args.save is not None:
            save(args.save, scene, recorded)
    print(json.dumps(measure_scene(scene, recorded, args), indent=1))


def measure_scene(
    scene: str, recorded: Sequence[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    """Replay one recording with and without moves; prints a line per encoder."""
    frames = pictures(recorded)
    print(f"{scene}: {len(frames)} distinct pictures recorded", file=sys.stderr)
    results = []
    for moves in (True, False):
        runs = [
            replay(frames, moves=moves, verbose=args.verbose and i == 0 and moves)
            for i in range(args.repeat)
        ]
        # Bytes are the same every run; times: the run with the median median.
        runs.sort(key=lambda r: r["encode_ms_median"])
        best = runs[len(runs) // 2]
        results.append(best)
        print(
            f"{scene:>8} moves {'on ' if moves else 'off'}: {best['bytes_per_update']:>7} B/update,"
            f" encode {best['encode_ms_median']:.2f} ms median ({best['encode_ms_p95']:.2f} p95),"
            f" {best['updates_with_moves']}/{best['updates']} updates moved",
            file=sys.stderr,
        )
    return {"scene": scene, "results": results}


if __name__ == "__main__":
    main()
