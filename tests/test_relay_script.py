"""The README's first command, ``scripts/relay.sh``, run as a user runs it.

It sets up (already done on a test machine: the second run only checks),
creates a first organizer and admin, prints each password once and the
commands to host and join, and runs the relay. The hints must name the
address the relay was told to listen on, and the printed password must sign
in; a second start finds the accounts and prints no password.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.procs import JsonProcess, free_port

REPO = Path(__file__).resolve().parent.parent
#: The last hint line before the relay starts.
LAST_HINT = "audit verify"


class Script:
    """``scripts/relay.sh`` running in its own process group."""

    def __init__(self, data: Path, *args: str) -> None:
        env = dict(os.environ, SCREENRELAY_DATA=str(data))
        self.proc = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "relay.sh"), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for line in stream:
                self._lines.put(line.decode(errors="replace"))
        self._lines.put(None)

    def hints(self, timeout: float = 180.0) -> str:
        """Everything printed up to and including the last hint line."""
        deadline = time.monotonic() + timeout
        text = ""
        while LAST_HINT not in text:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"relay.sh printed no hints in {timeout}s:\n{text}") from None
            if line is None:
                raise AssertionError(f"relay.sh ended before its hints:\n{text}")
            text += line
        return text

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def scripts() -> Iterator[list[Script]]:
    started: list[Script] = []
    yield started
    for script in started:
        script.stop()


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                assert json.load(response)["ok"] is True
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_relay_script_names_its_address_and_its_first_password_signs_in(
    scripts: list[Script], tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    first = Script(data, "--listen", f"127.0.0.1:{port}")
    scripts.append(first)
    text = first.hints()

    found = re.search(r"First organizer account: (\S+)\s+password: (\S+)", text)
    assert found, text
    name, password = found.groups()
    assert re.search(r"First admin account: \S+\s+password: \S+", text), text
    assert f"host --relay {url} --user organizer --share" in text
    assert f"--relay {url}\n" in text
    assert f"{url}/admin" in text
    assert not re.search(r":8080\b", text), "a hint names the default port, not the one given"

    wait_healthy(url)
    host = JsonProcess(
        ["host", "--relay", url, "--user", name, "--password-stdin", "--json"],
        env=dict(os.environ),
        stdin_text=password + "\n",
        log=tmp_path / "host.log",
    )
    try:
        started = host.wait_for("session_started", timeout=30)
        assert re.fullmatch(r"\d{9}", str(started["session_id"]).replace(" ", "")), started
    finally:
        host.stop()
    first.stop()

    # A second start keeps the accounts and prints no password.
    again = Script(data, "--listen", f"127.0.0.1:{port}")
    scripts.append(again)
    text = again.hints()
    assert "password:" not in text, text
    wait_healthy(url)


def test_relay_script_with_a_self_signed_certificate_hints_https_and_the_ca(
    scripts: list[Script], tmp_path: Path
) -> None:
    port = free_port()
    data = tmp_path / "data"
    script = Script(data, "--listen", f"127.0.0.1:{port}", "--tls-self-signed")
    scripts.append(script)
    text = script.hints()
    assert f"--relay https://127.0.0.1:{port} --cafile {data}/tls/ca.pem" in text
    assert f"https://127.0.0.1:{port}/admin" in text
