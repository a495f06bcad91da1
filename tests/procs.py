"""Real screenrelay processes for end-to-end tests: relay, host, viewer.

Each runs the installed ``screenrelay`` command exactly as a user would; the
tests read the ``--json`` event lines it prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

SCREENRELAY = [sys.executable, "-m", "relay"]
ORGANIZER = "alice"
ORGANIZER_PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class JsonProcess:
    """A client process whose stdout is JSON lines, read on a thread."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        stdin_text: str = "",
        log: Path,
        keep_stdin: bool = False,
    ) -> None:
        self.args = args
        self.log = log
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            [*SCREENRELAY, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(stdin_text.encode())
        self.proc.stdin.flush()
        if not keep_stdin:
            self.proc.stdin.close()
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for line in stream:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    event = {"event": "non_json", "line": line.decode(errors="replace")}
                self.events.append(event)
                self._queue.put(event)
        self._queue.put(None)

    def wait_for(self, name: str, timeout: float = 20.0) -> dict[str, Any]:
        """The next event called ``name``; fail on timeout or exit."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {name!r} event within {timeout}s; saw {self.events[-5:]}"
                    f"\nstderr: {self.stderr()[-2000:]}"
                )
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                raise AssertionError(
                    f"process exited ({self.proc.wait()}) before {name!r}; "
                    f"saw {self.events[-5:]}\nstderr: {self.stderr()[-2000:]}"
                )
            if event.get("event") == name:
                return event

    def drain(self) -> list[dict[str, Any]]:
        """Events received so far and not yet consumed by wait_for."""
        out: list[dict[str, Any]] = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return out
            if event is not None:
                out.append(event)

    def write_line(self, line: str) -> None:
        """Send one line to the process's stdin (started with keep_stdin)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def events_named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == name]

    def stderr(self) -> str:
        self._stderr.flush()
        return self.log.read_text(errors="replace")

    def wait_exit(self, timeout: float = 20.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._thread.join(timeout=5)
        return code

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._stderr.close()


class Relay:
    """A relay process on loopback with its own data directory."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
        command: list[str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.tls = tls
        #: More arguments for ``screenrelay relay``.
        self.args = args
        #: How to start the relay (a modified relay in some tests).
        self.command = command or SCREENRELAY
        self.data = workdir / "relay-data"
        self.tmp = workdir / "relay-tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = workdir / f"relay-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TMPDIR"] = str(self.tmp)
        return env

    def admin(self, *args: str, stdin_text: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SCREENRELAY, "admin", "--data", str(self.data), *args],
            input=stdin_text,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
            check=False,
        )

    def set_policy(self, document: dict[str, Any], timeout: float = 15.0) -> int:
        """``screenrelay admin policy set -``; a running relay has it in force
        when this returns. The new revision."""
        done = self.admin("policy", "set", "-", stdin_text=json.dumps(document))
        assert done.returncode == 0, done.stdout + done.stderr
        revision = int(done.stdout.split("revision ")[1].split()[0])
        if self.proc is not None and self.proc.poll() is None:
            deadline = time.monotonic() + timeout
            while self.health()["policy_revision"] != revision:
                assert time.monotonic() < deadline, f"policy revision {revision} not in force"
                time.sleep(0.05)
        return revision

    def add_organizer(self, name: str = ORGANIZER, password: str = ORGANIZER_PASSWORD) -> None:
        done = self.admin(
            "user",
            "add",
            name,
            "--role",
            "organizer",
            "--password-stdin",
            stdin_text=password + "\n",
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                *self.command,
                "relay",
                "--data",
                str(self.data),
                "--listen",
                f"127.0.0.1:{self.port}",
                *self._tls_args(),
                *self.args,
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=self.env(),
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"relay exited: {self.log.read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(
                    f"{self.url}/healthz", timeout=1, context=self._context()
                ) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"relay did not come up: {self.log.read_text()}")

    def _tls_args(self) -> list[str]:
        if self.tls is None:
            return []
        return ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]

    def _context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else None

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(
            f"{self.url}/healthz", timeout=5, context=self._context()
        ) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Processes:
    """Starts hosts and viewers against one relay, and stops them all."""

    def __init__(self, relay: Relay, display: str, workdir: Path) -> None:
        self.relay = relay
        self.display = display
        self.workdir = workdir
        self._all: list[JsonProcess] = []
        self._count = 0

    def env(self, display: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = display or self.display
        return env

    def _log(self, kind: str) -> Path:
        self._count += 1
        return self.workdir / f"{kind}-{self._count}.log"

    def host(
        self,
        *extra: str,
        relay_url: str | None = None,
        keep_stdin: bool = False,
        user: str = ORGANIZER,
        more_stdin: str = "",
    ) -> JsonProcess:
        """``screenrelay host --json``; with ``keep_stdin``, answers go to its stdin.

        ``more_stdin``: lines after the account password (a chosen session password).
        """
        args = ["host", "--relay", relay_url or self.relay.url, "--user", user,
                "--password-stdin", "--json", *extra]  # fmt: skip
        stdin_text = ORGANIZER_PASSWORD + "\n" + more_stdin
        proc = JsonProcess(args, env=self.env(), stdin_text=stdin_text,
                           log=self._log("host"), keep_stdin=keep_stdin)  # fmt: skip
        self._all.append(proc)
        return proc

    def join(
        self,
        target: str,
        *extra: str,
        password: str | None = None,
        relay_url: str | None = None,
        keep_stdin: bool = False,
        display: str | None = None,
        account: tuple[str, str] | None = None,
    ) -> JsonProcess:
        """``screenrelay join --json``; with ``keep_stdin``, commands go to its stdin.

        ``display``: the participant's own X display (default: the test's).
        ``account``: sign in as (name, password) first (``--user``).
        """
        args = ["join", target, "--json", *extra]
        stdin_text = ""
        if account is not None:
            args += ["--user", account[0], "--password-stdin"]
            stdin_text += account[1] + "\n"
        if password is not None:
            args += ["--relay", relay_url or self.relay.url]
            if account is None:
                args.append("--password-stdin")
        stdin_text += password + "\n" if password is not None else ""
        proc = JsonProcess(args, env=self.env(display), stdin_text=stdin_text,
                           log=self._log("viewer"), keep_stdin=keep_stdin)  # fmt: skip
        self._all.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self._all:
            proc.stop()


@contextlib.contextmanager
def running_relay(workdir: Path, command: list[str] | None = None) -> Iterator[Relay]:
    relay = Relay(workdir, command=command)
    relay.add_organizer()
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()
