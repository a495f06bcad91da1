"""A private Xvfb server for tests that need a real X11 screen.

    with running_xvfb(1280, 800) as display:     # ":140", ":141", ...
        subprocess.run([...], env={**os.environ, "DISPLAY": display})

The server runs with MIT-SHM (as real desktops have it), listens on no TCP
port, does not reset when its last client leaves, and is stopped (terminate,
then kill) when the block ends. Nothing in ``os.environ`` is changed: pass
``display`` on.

A free display number is searched from ``FIRST_DISPLAY`` upward, skipping any
with a lock file or socket; if another process takes the number first, Xvfb
fails to start and the next number is tried. Readiness is Xvfb's own signal:
with ``-displayfd`` it writes the display number to a pipe once it accepts
connections.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

#: Display numbers below this are left to people's own X servers.
FIRST_DISPLAY: Final = 140
#: How many numbers to try before giving up.
DISPLAY_ATTEMPTS: Final = 60
#: Seconds to wait for one Xvfb to accept connections.
START_TIMEOUT: Final = 15.0
#: Seconds to wait for Xvfb to exit after SIGTERM before SIGKILL.
STOP_TIMEOUT: Final = 5.0


class XvfbError(RuntimeError):
    """Xvfb is missing or did not start."""


def _display_taken(number: int) -> bool:
    return Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(xvfb: str, number: int, width: int, height: int) -> subprocess.Popen[bytes] | None:
    """Start Xvfb on ``:number``; None if it exits (number taken) before it is ready."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            [
                xvfb,
                f":{number}",
                "-screen",
                "0",
                f"{width}x{height}x24",
                "+extension",
                "MIT-SHM",
                "-nolisten",
                "tcp",
                # Keep the screen (root background included) when the last
                # client disconnects; a reset would also refuse connections
                # for a moment.
                "-noreset",
                "-displayfd",
                str(write_end),
            ],
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(write_end)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        answer = b""
        while not answer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                _stop(process)
                raise XvfbError(f"Xvfb :{number} did not start in {START_TIMEOUT} s")
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 64)
            if not chunk:  # Xvfb exited without announcing itself.
                _stop(process)
                return None
            answer += chunk
    except BaseException:
        _stop(process)
        raise
    finally:
        os.close(read_end)
    if answer.strip() != str(number).encode():
        _stop(process)
        raise XvfbError(f"Xvfb announced display {answer!r}, expected {number}")
    return process


@contextlib.contextmanager
def running_xvfb(width: int, height: int) -> Iterator[str]:
    """Run an Xvfb screen of ``width`` x ``height`` at depth 24; yield its DISPLAY."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise XvfbError("Xvfb is not installed")
    for number in range(FIRST_DISPLAY, FIRST_DISPLAY + DISPLAY_ATTEMPTS):
        if _display_taken(number):
            continue
        process = _start(xvfb, number, width, height)
        if process is None:
            continue
        try:
            yield f":{number}"
        finally:
            _stop(process)
        return
    raise XvfbError(f"no free X display from :{FIRST_DISPLAY} to :{number}")
