"""One dedicated thread for capture and encoding.

X connections and the encoder's reused buffers belong to one thread, so every
call runs on the same one, off the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


class WorkerThread:
    """Runs blocking calls, one at a time, always on the same thread."""

    def __init__(self, name: str) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)

    async def run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.wrap_future(self._executor.submit(fn))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
