"""CPU an idle host costs while a viewer watches.

    .venv/bin/python -m benchmarks.idle_cpu [--seconds 10] [--fps 30]

Starts a private Xvfb at 1920x1080 showing a still desktop, a real relay, a
host sharing the screen and a viewer with no window, waits for the first
picture and for the join to settle, then measures the host's CPU time
(utime + stime from /proc) over ``--seconds`` of a screen where nothing
changes, and the same for the viewer and the relay. Then it changes one spot
of the screen once a second for another ``--seconds`` (a clock ticking) and
measures again. Prints the figures and writes benchmarks/results/idle_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.codec_micro import HEIGHT, WIDTH, desktop, show
from benchmarks.eventproc import cpu_seconds
from tests.procs import Processes, running_relay
from tests.xvfb import running_xvfb

RESULTS = Path(__file__).resolve().parent / "results" / "idle_cpu.json"
SETTLE = 2.0


def measure(pids: dict[str, int], seconds: float, during: Any = None) -> dict[str, float]:
    """Each process's CPU use over ``seconds``, as a percentage of one CPU."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if during is not None:
            during()
        time.sleep(min(1.0, max(0.0, started + seconds - time.monotonic())))
    elapsed = time.monotonic() - started
    return {
        name: round(100 * (cpu_seconds(pid) - before[name]) / elapsed, 2)
        for name, pid in pids.items()
    }


def run(seconds: float, fps: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_xvfb(WIDTH, HEIGHT) as display,
        running_relay(Path(tmp)) as relay,
    ):
        folder = Path(tmp)
        picture = desktop(1)
        show(display, picture, folder)
        procs = Processes(relay, display, folder)
        try:
            host = procs.host("--share", "--fps", str(fps))
            started = host.wait_for("session_started")
            viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
            viewer.wait_for("frame")
            time.sleep(SETTLE)
            assert relay.proc is not None
            pids = {"host": host.proc.pid, "viewer": viewer.proc.pid, "relay": relay.proc.pid}
            host.drain()
            idle = measure(pids, seconds)
            idle_frames = sum(1 for e in host.drain() if e["event"] == "frame_sent")

            ticks = [0]

            def tick() -> None:
                ticks[0] += 1
                changed = picture.copy()
                changed.paste((ticks[0] * 40 % 256, 30, 90), (1800, 1050, 1900, 1070))
                show(display, changed, folder)

            ticking = measure(pids, seconds, tick)
            ticking_frames = sum(1 for e in host.drain() if e["event"] == "frame_sent")
        finally:
            procs.stop_all()
    return {
        "idle_cpu_percent": idle,
        "idle_frames_sent": idle_frames,
        "ticking_cpu_percent": ticking,
        "ticking_frames_sent": ticking_frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    load = os.getloadavg()
    result = run(args.seconds, args.fps)
    result.update(seconds=args.seconds, fps=args.fps, load_average_before=load)
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
