"""The protocol package does no I/O: importing it loads no I/O library.

House style §1. Checked in a fresh interpreter, as httpx's
tests/test_api.py::test_httpcore_lazy_loading does, over every module that
pkgutil finds, so modules added to ``protocol`` later are covered too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Top-level modules ``protocol`` must never import, directly or indirectly.
FORBIDDEN = (
    "asyncio",
    "anyio",
    "starlette",
    "socket",
    "sqlite3",
    "mss",
    "pynput",
    "uvicorn",
    "websockets",
)

ROOT = Path(__file__).resolve().parent.parent

#: Run in the child: import each module of the package in turn and record
#: which forbidden modules first appear with it.
CHILD = """
import importlib, json, pkgutil, sys
forbidden = set(sys.argv[1:])

def loaded():
    return {name.partition(".")[0] for name in sys.modules} & forbidden

report = {"before": sorted(loaded()), "modules": [], "offenders": {}}
import protocol
for info in pkgutil.walk_packages(protocol.__path__, "protocol."):
    seen = loaded()
    importlib.import_module(info.name)
    report["modules"].append(info.name)
    new = loaded() - seen
    if new:
        report["offenders"][info.name] = sorted(new)
report["after"] = sorted(loaded())
print(json.dumps(report))
"""


def test_protocol_imports_no_io_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *FORBIDDEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["before"] == []
    assert {"protocol.codec", "protocol.messages", "protocol.framing"} <= set(report["modules"])
    assert report["offenders"] == {}
    assert report["after"] == []
