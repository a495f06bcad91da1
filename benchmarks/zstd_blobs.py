"""The zstd blobs of real frame payloads, for viewer_app/web/bench/zstd_decode.mjs.

    .venv/bin/python -m benchmarks.zstd_blobs DIR

host_app.encoder.TileEncoder (level 1, as the host runs it) encodes a
1920x1080 key frame of ``desktop_picture(seed=11)``, then the delta to
``seed=12``: the two pictures benchmarks.scene's "fullscreen" scene
alternates, so the blobs are those the browser decodes in
benchmarks/browser_decode.py's key frame and full screen rows. Writes
``key.zst`` and ``fullscreen.zst`` (each payload's blob, one zstd frame) and
``sizes.json`` (each blob's content size and compressed bytes).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import zstandard

from benchmarks.scene import FULLSCREEN_SEEDS
from host_app.encoder import TileEncoder
from protocol.frames import parse_frame
from tests.scenes import desktop_picture

WIDTH, HEIGHT = 1920, 1080


def bgrx(seed: int) -> np.ndarray:
    rgb = desktop_picture(WIDTH, HEIGHT, seed)
    out = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    out[:, :, :3] = rgb[:, :, ::-1]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    encoder = TileEncoder(WIDTH, HEIGHT)
    first, second = (bgrx(seed) for seed in FULLSCREEN_SEEDS)
    key = encoder.encode(first, keyframe=True, seq=1, capture_ns=1)
    delta = encoder.encode(second, keyframe=False, seq=2, capture_ns=2)
    assert key is not None and delta is not None
    sizes = {}
    for name, payload in (("key", key), ("fullscreen", delta)):
        blob = bytes(parse_frame(payload)[2])  # checked as a viewer checks it
        content = zstandard.get_frame_parameters(blob).content_size
        (out / f"{name}.zst").write_bytes(blob)
        sizes[name] = {"content": content, "compressed": len(blob)}
    (out / "sizes.json").write_text(json.dumps(sizes, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(sizes))


if __name__ == "__main__":
    main()
