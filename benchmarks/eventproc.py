"""Child processes that print one JSON event per line, and their CPU time.

    proc = EventProcess([sys.executable, "-m", "relay", "host", ...], env=env, log=path)
    started = proc.wait_for("session_started")
    events = proc.drain()                 # everything received since
    seconds = cpu_seconds(proc.pid)       # utime + stime so far

Each event is the parsed JSON object; ``EventProcess`` never changes it.
With ``keep_stdin=True`` the child's stdin stays open for ``write_line``;
with ``stamp=True`` ``arrivals`` also keeps every event with the wall-clock
time its line was read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

Event = dict[str, Any]

#: Clock ticks per second of /proc/<pid>/stat's utime and stime.
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
#: Seconds to wait for a child to exit after SIGTERM before SIGKILL.
STOP_TIMEOUT: Final = 10.0


class ProcessFailed(RuntimeError):
    """A child exited, or did not say what was expected in time."""


class EventProcess:
    """A child whose stdout is JSON lines, read on a thread."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        log: Path,
        stdin_text: str = "",
        keep_stdin: bool = False,
        stamp: bool = False,
    ) -> None:
        self.args = args
        self.log = log
        self._stamp = stamp
        #: With ``stamp``: (time.time_ns() when its line was read, event), in order.
        self.arrivals: list[tuple[int, Event]] = []
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(stdin_text.encode())
        if keep_stdin:
            self.proc.stdin.flush()
        else:
            self.proc.stdin.close()
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, name: str, timeout: float = 30.0) -> Event:
        """The next event called ``name``; earlier events are discarded."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if event is None:
                raise ProcessFailed(f"{self._name()} exited before {name!r}: {self.stderr_tail()}")
            if event.get("event") == name:
                return event
        raise ProcessFailed(f"no {name!r} from {self._name()} in {timeout} s: {self.stderr_tail()}")

    def drain(self) -> list[Event]:
        """Events received and not yet consumed."""
        events: list[Event] = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return events
            if event is not None:
                events.append(event)

    def write_line(self, line: str) -> int:
        """Send one line to the child's stdin (``keep_stdin``); the
        ``time.time_ns()`` taken just before it was written."""
        assert self.proc.stdin is not None
        data = line.encode() + b"\n"
        sent_ns = time.time_ns()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return sent_ns

    def stderr_tail(self, chars: int = 2000) -> str:
        self._stderr.flush()
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the child, wait for it (kill it if it lingers)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._stderr.close()

    def _name(self) -> str:
        return " ".join(self.args[1:4])

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for line in stream:
                read_ns = time.time_ns() if self._stamp else 0
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    event = {"event": "non_json", "line": line.decode(errors="replace")}
                if self._stamp:
                    self.arrivals.append((read_ns, event))
                self._queue.put(event)
        self._queue.put(None)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def machine_seconds() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of all this machine's CPUs since boot (/proc/stat).

    Busy is time not idle and not stolen; stolen is time a virtual machine's
    CPUs were ready to run but the hypervisor ran something else.
    """
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    # cpu user nice system idle iowait irq softirq steal guest guest_nice;
    # guest time is already counted in user and nice.
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def x_server_pid(display: str) -> int | None:
    """The process id of the Xvfb serving ``display`` (":140"), found in /proc."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args[0].endswith(b"Xvfb") and display.encode() in args[1:2]:
            return int(proc.name)
    return None


def add_run_arguments(parser: argparse.ArgumentParser, *, budget: float, results: Path) -> None:
    """The options every end-to-end benchmark shares: noise, retries, output, logs."""
    parser.add_argument(
        "--quiet-noise",
        type=float,
        default=0.5,
        metavar="CPUS",
        help="most CPUs other processes and steal may take in a quiet measurement",
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="times a noisy measurement may be taken again"
    )
    parser.add_argument(
        "--budget", type=float, default=budget, help="seconds the run should fit in (for retries)"
    )
    parser.add_argument("--output", type=Path, default=results, help="where to write the JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")


@contextlib.contextmanager
def working_directory(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A temporary directory for logs and data; removed afterwards unless ``keep``."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"logs in {path}", file=sys.stderr, flush=True)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as name:
            yield Path(name)
