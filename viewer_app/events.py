"""What a client tells its user: one JSON object per line, or a sentence.

With ``--json`` every event is a JSON object on its own line of stdout, so
scripts, tests and benchmarks read the same program people use. Without it,
events that have a sentence print it; the rest stay quiet.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any


class EventSink:
    """Where a client's events go."""

    def __init__(self, *, json_mode: bool, out: IO[str] | None = None) -> None:
        self.json_mode = json_mode
        self._out = out if out is not None else sys.stdout

    def emit(self, event: str, human: str | None = None, **fields: Any) -> None:
        """Report ``event`` with ``fields`` (JSON) or ``human`` (text)."""
        if self.json_mode:
            self._out.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
        elif human is not None:
            self._out.write(human + "\n")
        else:
            return
        self._out.flush()
