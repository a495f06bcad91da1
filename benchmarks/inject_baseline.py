"""Pointer moves injected with pynput's mouse Controller, timed: a baseline.

    DISPLAY=:140 python -m benchmarks.inject_baseline --count 300 --rate 30 --x 150 --y 300

Run by ``benchmarks.control_latency`` on the host's display. It sets
``mouse.Controller().position`` exactly as the host's injector does for a
pointer move (pynput: one XTEST fake motion, then an XSync round trip), at
``--rate`` moves a second to distinct positions inside a rectangle that
starts at (x, y), and prints JSON lines: {"event": "ready"} once pynput is
loaded and one warm-up move is done, then {"event": "done", "moves": [[x,
y, start_ns, end_ns], ...]} (wall-clock ``time.time_ns()`` right before and
right after each call). It then waits for its stdin to close, so its CPU
time can be read before it exits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

#: Pixels between consecutive positions, and positions per row.
STEP_X = 2
ROW = 200
ROW_STEP = 3


def position(i: int, x: int, y: int) -> tuple[int, int]:
    """The i-th distinct position of a run that starts at (x, y)."""
    return x + STEP_X * (i % ROW), y + ROW_STEP * (i // ROW)


def emit(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="moves per second")
    parser.add_argument("--x", type=int, default=150, help="left of the positions")
    parser.add_argument("--y", type=int, default=300, help="top of the positions")
    parser.add_argument("--warmup-x", type=int, default=40, help="where the warm-up move goes")
    parser.add_argument("--warmup-y", type=int, default=40)
    args = parser.parse_args(argv)

    from pynput import mouse  # needs $DISPLAY: imported here, not at module level

    controller = mouse.Controller()
    controller.position = (args.warmup_x, args.warmup_y)
    emit("ready")
    moves: list[tuple[int, int, int, int]] = []
    period_ns = int(1e9 / args.rate)
    next_ns = time.monotonic_ns() + period_ns
    for i in range(args.count):
        pause = (next_ns - time.monotonic_ns()) / 1e9
        if pause > 0:
            time.sleep(pause)
        next_ns += period_ns
        x, y = position(i, args.x, args.y)
        start = time.time_ns()
        controller.position = (x, y)
        end = time.time_ns()
        moves.append((x, y, start, end))
    emit("done", moves=moves)
    sys.stdin.read()  # until the caller closes it


if __name__ == "__main__":
    main()
