"""A TCP forwarder on loopback that records every byte in both directions."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from types import TracebackType


class TcpTap:
    """Listen on a free port; forward each connection to (host, port); record bytes.

    ``delay``: seconds by which bytes from the target to the client are held
    back (the other direction is not delayed), to play a slow or stalling relay.
    """

    def __init__(self, host: str, port: int, *, delay: float = 0.0) -> None:
        self._target = (host, port)
        self._delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._threads: list[threading.Thread] = []
        self._closing = False

    def __enter__(self) -> TcpTap:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self._listener.close()

    @staticmethod
    def _release(held: queue.Queue[tuple[float, bytes]], dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                due, data = held.get()
                time.sleep(max(0.0, due - time.monotonic()))
                dst.sendall(data)

    def recorded(self) -> bytes:
        with self._lock:
            return b"".join(self._chunks)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            for src, dst, delay in ((client, upstream, 0.0), (upstream, client, self._delay)):
                thread = threading.Thread(target=self._pipe, args=(src, dst, delay), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pipe(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        held: queue.Queue[tuple[float, bytes]] = queue.Queue()
        if delay:
            threading.Thread(target=self._release, args=(held, dst), daemon=True).start()
        try:
            while data := src.recv(65536):
                with self._lock:
                    self._chunks.append(data)
                if delay:
                    held.put((time.monotonic() + delay, data))
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
