"""``screenrelay join --no-window --json`` that also reads the time stamp from each picture.

    python -m benchmarks.stamp_viewer SESSION_ID --relay URL < password

The product's own viewer (``viewer_app.session.join`` and ``Viewer.run``,
the same code as ``screenrelay join --no-window --json``) with one addition:
a ``FrameSink`` that, right after each frame is composed on the decode
thread, reads the time stamp box (``benchmarks.stamp``) from the canvas if
the frame's rects touched it, and prints ``{"event": "stamp", "seq": ...,
"stamp_ms": ...}`` for each time it has not seen before. Every other event
line is the product's. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Final, cast

from benchmarks import stamp
from benchmarks.scene import STAMP_AT
from protocol.frames import FrameHeader
from protocol.pake import normalize_password
from protocol.wire import Credential
from viewer_app.decoder import Canvas
from viewer_app.events import EventSink
from viewer_app.running import run_client
from viewer_app.session import JoinTarget, ViewerOptions, join

LEFT, TOP = STAMP_AT
RIGHT: Final = LEFT + stamp.STAMP_W
BOTTOM: Final = TOP + stamp.STAMP_H


class LockedLines(io.TextIOBase):
    """stdout shared by the event loop's and the decode thread's events: whole lines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return sys.stdout.write(text)

    def flush(self) -> None:
        with self._lock:
            sys.stdout.flush()


class StampReader:
    """A FrameSink reporting the age of each new time stamp it sees."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self._last: int | None = None

    def show(self, canvas: Canvas, header: FrameHeader) -> None:
        now_ns = time.time_ns()
        picture = canvas.picture
        touched = any(
            r.x < RIGHT and r.x + r.w > LEFT and r.y < BOTTOM and r.y + r.h > TOP
            for r in canvas.last_rects
        )
        if picture is None or not touched:
            return
        value = stamp.read(picture[TOP:BOTTOM, LEFT:RIGHT])
        if value is None:
            self._events.emit("stamp", seq=header.seq, stamp_ok=False)
        elif value != self._last:
            self._last = value
            self._events.emit(
                "stamp", seq=header.seq, stamp_ok=True, stamp_ms=stamp.latency_ms(now_ns, value)
            )

    def status(self, *, paused: bool, hidden: bool) -> None:
        """Status changes are in the product's own events."""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session", type=int, help="the 9-digit session ID")
    parser.add_argument("--relay", required=True, help="the relay's URL")
    args = parser.parse_args(argv)
    secret = normalize_password(sys.stdin.readline().strip())
    target = JoinTarget(args.relay, args.session, Credential.PASSWORD, secret)
    # LockedLines has the two methods EventSink uses (write, flush) of IO[str].
    events = EventSink(json_mode=True, out=cast("IO[str]", LockedLines()))
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))

    async def session() -> None:
        viewer = await join(target, events)
        try:
            await viewer.run(StampReader(events), ViewerOptions())
        finally:
            await viewer.close()

    sys.exit(run_client(session, events))


if __name__ == "__main__":
    main()
