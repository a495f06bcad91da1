"""host_app/sharer.py on a real Xvfb: pacing that follows the drawing.

With DAMAGE, the sharer waits for drawing instead of ticking: one frame per
drawing by another X client, no grab for drawing outside the shared area,
none while nothing is drawn but the periodic full check, and key frame
requests, pause and resume still work. Without DAMAGE it ticks as before.
No test here measures time: counts and pictures only (the timeouts only
end a test that would otherwise hang).
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Awaitable, Callable

import anyio
import numpy as np
import pytest

from host_app.damage import FULL_CHECK_INTERVAL
from host_app.sharer import ScreenSharer
from protocol.frames import FLAG_PAUSED, frame_is_keyframe, frame_status, parse_frame
from tests import scenes
from tests.test_damage_xvfb import fill
from viewer_app.decoder import Canvas
from viewer_app.events import EventSink

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")

#: The shared area: (left, top, width, height) on the test screen.
REGION = (64, 32, 320, 200)
#: A generous end for a test that would otherwise hang; never a pass/fail limit.
PATIENCE = 20.0


class Collected:
    """The payloads a sharer sent, in order."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self._sent = anyio.Event()

    async def send(self, payload: bytes, keyframe: bool) -> int:
        assert keyframe == frame_is_keyframe(payload)
        self.payloads.append(payload)
        self._sent.set()
        self._sent = anyio.Event()
        return len(payload)

    async def until(self, count: int) -> None:
        with anyio.fail_after(PATIENCE):
            while len(self.payloads) < count:
                await self._sent.wait()

    def kinds(self) -> list[str]:
        """Each payload's kind: key, delta, paused or status (no picture)."""
        return [
            ("paused" if frame_status(p) & FLAG_PAUSED else "status")
            if not parse_frame(p)[1]
            else "key"
            if frame_is_keyframe(p)
            else "delta"
            for p in self.payloads
        ]

    def canvas(self) -> Canvas:
        """The picture a viewer builds from every payload (status frames aside)."""
        canvas = Canvas()
        for payload, kind in zip(self.payloads, self.kinds(), strict=True):
            if kind in ("key", "delta"):
                canvas.apply(payload)
        return canvas


def sharing(
    display: str, monkeypatch: pytest.MonkeyPatch, *, fps: float, watch_damage: bool = True
) -> tuple[ScreenSharer, Collected]:
    monkeypatch.setenv("DISPLAY", display)
    collected = Collected()
    sharer = ScreenSharer(
        send_frame=collected.send,
        events=EventSink(json_mode=True, out=io.StringIO()),
        audience=lambda: True,
        region=REGION,
        fps=fps,
        watch_damage=watch_damage,
    )
    return sharer, collected


def run_with(sharer: ScreenSharer, body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sharer.run)
            await body()
            tasks.cancel_scope.cancel()

    anyio.run(main)


def on_screen(display: str) -> np.ndarray:
    return scenes.grab_rgb(display, REGION)


def shown(canvas: Canvas) -> np.ndarray:
    picture = canvas.picture
    assert picture is not None
    return np.ascontiguousarray(picture[:, :, 2::-1])


def inside(i: int) -> tuple[int, int, int, int]:
    """The i-th drawing: a small box inside REGION, each in another place."""
    return REGION[0] + 10 + 70 * (i % 4), REGION[1] + 20 + 60 * (i // 4), 13, 9


def test_one_frame_per_drawing_and_no_ticks_while_idle(
    display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sharer, collected = sharing(display, monkeypatch, fps=50)
    drawings = 5
    counts: dict[str, float] = {}

    async def body() -> None:
        await collected.until(1)  # the key frame
        grabs, started = sharer.grabs, time.monotonic()
        for i in range(drawings):
            fill(display, inside(i), 0x102030 * (i + 1))
            await collected.until(2 + i)
        # Drawn outside the shared area: no grab, no frame.
        fill(display, (REGION[0] + REGION[2] + 50, 400, 20, 20), 0xFF0000)
        await anyio.sleep(1.5 * FULL_CHECK_INTERVAL)
        counts["grabs"] = sharer.grabs - grabs
        counts["elapsed"] = time.monotonic() - started

    run_with(sharer, body)
    assert len(collected.payloads) == 1 + drawings
    assert collected.kinds() == ["key"] + ["delta"] * drawings
    # Event-driven: no tick found the screen idle (the one skip is the
    # drawing outside the area); the only other grabs are full checks.
    assert sharer.skipped_grabs == 1
    full_checks = counts["elapsed"] / FULL_CHECK_INTERVAL + 1
    assert drawings <= counts["grabs"] <= drawings + full_checks
    assert np.array_equal(shown(collected.canvas()), on_screen(display))


def test_keyframe_request_pause_and_resume_while_waiting_for_drawing(
    display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sharer, collected = sharing(display, monkeypatch, fps=50)

    async def body() -> None:
        await collected.until(1)
        sharer.request_keyframe()
        await collected.until(2)
        sharer.set_status(paused=True)
        await collected.until(3)
        fill(display, inside(1), 0x0000FF)  # drawn while paused: not sent
        await anyio.sleep(0.5)
        assert len(collected.payloads) == 3
        sharer.set_status(paused=False)
        await collected.until(5)
        fill(display, inside(2), 0x00FF00)
        await collected.until(6)

    run_with(sharer, body)
    assert collected.kinds() == ["key", "key", "paused", "status", "key", "delta"]
    assert np.array_equal(shown(collected.canvas()), on_screen(display))


def test_without_damage_every_tick_grabs(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sharer, collected = sharing(display, monkeypatch, fps=50, watch_damage=False)

    async def body() -> None:
        await collected.until(1)
        with anyio.fail_after(PATIENCE):
            # Ticks grab an idle screen (grabs counts on the worker thread).
            while sharer.grabs < 5:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        fill(display, inside(3), 0xABCDEF)
        await collected.until(2)

    run_with(sharer, body)
    assert sharer.skipped_grabs == 0
    assert sharer.grabs > len(collected.payloads)
    assert np.array_equal(shown(collected.canvas()), on_screen(display))
