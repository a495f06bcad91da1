"""Lines of standard input, delivered to the event loop without blocking it.

One daemon thread reads stdin and hands each line to the loop; an anyio
stream carries them. At end of input the stream closes.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import IO, Final

import anyio
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

#: Lines waiting for the loop. A person or a script types far fewer; past it
#: the reader thread waits (back-pressure), nothing is dropped.
MAX_PENDING: Final = 256


class StdinLines:
    """Inside ``async with BlockingPortal() as portal``: ``start(portal)``, then
    ``async for line in self.lines``."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        send, receive = anyio.create_memory_object_stream[str](MAX_PENDING)
        self._send: MemoryObjectSendStream[str] = send
        self.lines: MemoryObjectReceiveStream[str] = receive

    def start(self, portal: BlockingPortal) -> None:
        """Read on a daemon thread; each line goes through ``portal`` to the loop."""

        def read() -> None:
            try:
                for line in self._stream:
                    portal.call(self._send.send, line.rstrip("\r\n"))
            except (RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the loop is gone
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                portal.call(self._send.aclose)

        threading.Thread(target=read, name="stdin-lines", daemon=True).start()
