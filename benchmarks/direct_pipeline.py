"""The host-to-viewer pipeline without the relay, for ``benchmarks.e2e_latency``.

    python -m benchmarks.direct_pipeline viewer --session N < key_hex
    python -m benchmarks.direct_pipeline host --session N --url ws://127.0.0.1:PORT < key_hex

The product's own classes do the work: ``open_source``, ``open_watcher``
(whose damage goes to the encoder as a hint) and ``TileEncoder`` on a
``WorkerThread`` and ``SenderCipher`` on the host side (ticking at
``--fps``), ``messages.parse``, ``ReceiverCipher`` with an ``EpochRing``
and ``Canvas`` on a worker thread on the viewer side (like
``RelayConnection.recv`` and ``Viewer._on_frame``). The two processes share
one random epoch key (epoch 0, read from stdin as hex) and talk over one
loopback WebSocket: the viewer is a ``websockets`` server, the host connects
to it; compression is off on both sides.

Both print ``--json``-style events, with the product's fields and names
("frame_sent", "frame") plus wall-clock stamps (``time.time_ns``) of each
stage, so the benchmark can say where the time goes:

    host:   capture_ns -> grabbed_ns -> encoded_ns   (worker thread)
            -> resumed_ns -> sealed_ns -> sent_ns      (event loop)
    viewer: received_ns -> parsed_ns                   (event loop)
            -> thread_ns -> opened_ns -> decoded_ns    (worker thread)

The host stops on SIGTERM or SIGINT; the viewer too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, Final

import anyio.to_thread
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from host_app.capture import ScreenSource, open_source
from host_app.damage import ChangeWatcher, clip, open_watcher
from host_app.encoder import TileEncoder
from host_app.worker import WorkerThread
from protocol import messages
from protocol.errors import RemoteProtocolError
from protocol.frames import FrameHeader
from protocol.keys import EpochRing
from protocol.sframe import ReceiverCipher, SenderCipher
from protocol.wire import FLAG_KEYFRAME, MAX_FRAME_MESSAGE, ORGANIZER_MEMBER, Tag
from viewer_app.decoder import Canvas

#: The epoch the fixed key belongs to.
EPOCH: Final = 0
#: Largest WebSocket message accepted, as the product's client sets it.
MAX_MESSAGE: Final = MAX_FRAME_MESSAGE + 1024
#: Messages the viewer's connection buffers, as the product's client sets it.
MAX_QUEUE: Final = 4


def emit(event: str, **fields: Any) -> None:
    """One JSON event line on stdout, flushed (like ``EventSink``)."""
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


# -- host ---------------------------------------------------------------------


class DirectHost:
    """Captures, encodes, seals and sends like ``Host._share_loop``, with no relay."""

    def __init__(
        self,
        ws: ClientConnection,
        worker: WorkerThread,
        source: ScreenSource,
        cipher: SenderCipher,
        watcher: ChangeWatcher,
    ) -> None:
        self._ws = ws
        self._worker = worker
        self._source = source
        self._watcher = watcher
        self._area = (*source.origin, *source.size)
        width, height = source.size
        self._encoder = TileEncoder(width, height)
        self._cipher = cipher

    async def share(self, fps: float, stop: asyncio.Event) -> None:
        interval = 1.0 / fps
        seq = 0
        while not stop.is_set():
            started = time.monotonic()
            if await self._send_one(seq, keyframe=seq == 0):
                seq += 1
            await asyncio.sleep(max(0.0, started + interval - time.monotonic()))

    async def _send_one(self, seq: int, *, keyframe: bool) -> bool:
        stamps: dict[str, int] = {}

        def capture() -> bytes | None:
            # Like ScreenSharer: ask the watcher, hand its damage to the encoder.
            if not self._watcher.changed(time.monotonic()) and not keyframe:
                return None
            damage = None if keyframe else clip(self._watcher.damage, self._area)
            stamps["capture_ns"] = capture_ns = time.time_ns()
            picture = self._source.grab()
            stamps["grabbed_ns"] = time.time_ns()
            payload = self._encoder.encode(
                picture, keyframe=keyframe, seq=seq, capture_ns=capture_ns, damage=damage
            )
            stamps["encoded_ns"] = time.time_ns()
            return payload

        payload = await self._worker.run(capture)
        if payload is None:
            return False
        stamps["resumed_ns"] = time.time_ns()
        data = self._cipher.seal(Tag.FRAME, FLAG_KEYFRAME if keyframe else 0, payload)
        stamps["sealed_ns"] = time.time_ns()
        await self._ws.send(data)
        stamps["sent_ns"] = time.time_ns()
        emit("frame_sent", seq=seq, keyframe=keyframe, bytes=len(data), **stamps)
        return True


async def run_host(url: str, session_id: int, key: bytes, fps: float) -> None:
    stop = stop_event_on_signals()
    worker = WorkerThread("capture")
    try:
        source = await worker.run(open_source)
        watcher = await worker.run(open_watcher)
        try:
            cipher = SenderCipher(session_id, EPOCH, key, ORGANIZER_MEMBER)
            async with connect(
                url, compression=None, max_size=MAX_MESSAGE, max_queue=MAX_QUEUE
            ) as ws:
                width, height = source.size
                emit("sharing", width=width, height=height)
                await DirectHost(ws, worker, source, cipher, watcher).share(fps, stop)
        finally:
            await worker.run(watcher.close)
            await worker.run(source.close)
    finally:
        worker.close()


# -- viewer -------------------------------------------------------------------


class DirectViewer:
    """Opens and composes frames like ``Viewer._on_frame``, with no relay."""

    def __init__(self, session_id: int, key: bytes) -> None:
        ring = EpochRing()
        ring.install(EPOCH, key)
        self._cipher = ReceiverCipher(session_id, ring)
        self.canvas = Canvas()

    async def handle(self, ws: ServerConnection) -> None:
        async for data in ws:
            received_ns = time.time_ns()
            if isinstance(data, str):
                raise RemoteProtocolError("text messages are not part of this protocol")
            message = messages.parse(data)
            if isinstance(message, messages.Frame):
                await self._on_frame(data, received_ns, time.time_ns())

    async def _on_frame(self, data: bytes, received_ns: int, parsed_ns: int) -> None:
        stamps: dict[str, int] = {"received_ns": received_ns, "parsed_ns": parsed_ns}

        def decode() -> FrameHeader:
            stamps["thread_ns"] = time.time_ns()
            _sealed, plaintext = self._cipher.open(data)
            stamps["opened_ns"] = time.time_ns()
            header = self.canvas.apply(plaintext)
            stamps["decoded_ns"] = time.time_ns()
            return header

        header = await anyio.to_thread.run_sync(decode)
        rects = self.canvas.last_rects
        emit(
            "frame",
            seq=header.seq,
            keyframe=header.keyframe,
            bytes=len(data),
            width=header.width,
            height=header.height,
            rects=len(rects),
            pixels=sum(r.w * r.h for r in rects),
            latency_ms=round((stamps["decoded_ns"] - header.capture_ns) / 1e6, 3),
            capture_ns=header.capture_ns,
            **stamps,
        )


async def run_viewer(session_id: int, key: bytes) -> None:
    stop = stop_event_on_signals()
    viewer = DirectViewer(session_id, key)
    async with serve(
        viewer.handle,
        "127.0.0.1",
        0,
        compression=None,
        max_size=MAX_MESSAGE,
        max_queue=MAX_QUEUE,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        emit("listening", port=port)
        await stop.wait()


# -- command line -------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="screenrelay's pipeline without the relay")
    sub = parser.add_subparsers(dest="role", required=True)
    host = sub.add_parser("host", help="capture and send to a direct viewer")
    host.add_argument("--url", required=True, help="the viewer's ws://127.0.0.1:PORT")
    host.add_argument("--fps", type=float, default=30.0, help="most pictures per second")
    viewer = sub.add_parser("viewer", help="listen on loopback and decode what arrives")
    for role in (host, viewer):
        role.add_argument("--session", type=int, required=True, help="9-digit session id")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    key = bytes.fromhex(sys.stdin.readline().strip())
    if args.role == "host":
        asyncio.run(run_host(args.url, args.session, key, args.fps))
    else:
        asyncio.run(run_viewer(args.session, key))


if __name__ == "__main__":
    main()
