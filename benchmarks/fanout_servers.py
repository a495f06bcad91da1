"""The two relays ``benchmarks.relay_fanout`` compares.

    python -m benchmarks.fanout_servers relay --data DIR --listen HOST:PORT
    python -m benchmarks.fanout_servers baseline --listen HOST:PORT

``relay`` is the product: ``relay.server.run`` (uvicorn, websockets-sansio,
Starlette, the endpoint and the session directory), with one change of
configuration that ``screenrelay relay`` has no option for: the per-session
participant cap and the join rate limits are lifted, since the benchmark
admits up to hundreds of viewers from one address within seconds.

``baseline`` is the plainest relay that does the same forwarding: a
``websockets`` asyncio server (compression off, the same message size cap)
that answers Hello with Welcome, takes CreateSession from the presenter and
Join from viewers (no admission: it sends MemberJoined back at once), checks
each frame's size, header and sender as the relay does, and offers the same
``bytes`` object to each viewer's ``FrameQueue``, whose rules are the
relay's Outbox frame rules (key frame replaces the queue; past 8 frames or
16 MiB everything queued is dropped until the next key frame, which the
presenter is asked for at most every 100 ms). One sender task per viewer
drains its queue; a slow viewer blocks only its own task.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from protocol import messages
from protocol.errors import RemoteProtocolError
from protocol.version import SOFTWARE_VERSION
from protocol.wire import MAX_FRAME_MESSAGE, ORGANIZER_MEMBER, PROTOCOL_VERSION, Tag
from relay.cli import parse_listen
from relay.outbox import MAX_FRAME_BYTES, MAX_FRAMES
from relay.sessions import KEYFRAME_REQUEST_INTERVAL, DirectoryConfig

#: Far above anything the benchmark needs: no cap or join limit applies.
UNLIMITED: Final = 1_000_000
#: The one session id the baseline hands out.
BASELINE_SESSION: Final = 100_000_000


def run_relay(data: Path, host: str, port: int, profile: Path | None = None) -> None:
    from relay.config import RelayConfig
    from relay.server import run

    if profile is not None:
        profiled(profile, lambda: run_relay(data, host, port))
        return
    directory = DirectoryConfig(
        max_participants=UNLIMITED,
        joins_per_address_burst=UNLIMITED,
        joins_per_address_rate=UNLIMITED,
        joins_per_session_burst=UNLIMITED,
        joins_per_session_rate=UNLIMITED,
    )
    run(RelayConfig(data_dir=data, host=host, port=port, directory=directory))


def profiled(out: Path, target: Callable[[], None]) -> None:
    """Run ``target`` under cProfile; write the stats to ``out`` even on SIGTERM.

    uvicorn restores the previous SIGTERM handler after its graceful shutdown
    and raises the signal again; this handler turns that into an exception.
    """

    def stop(_sig: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        target()
    finally:
        profiler.disable()
        profiler.dump_stats(out)


# -- the baseline -----------------------------------------------------------------


class FrameQueue:
    """One viewer's frames: the relay Outbox's frame rules, nothing else."""

    def __init__(self) -> None:
        self.frames: collections.deque[bytes] = collections.deque()
        self.bytes = 0
        self.need_key = True
        self.ready = asyncio.Event()

    def put(self, data: bytes, keyframe: bool) -> bool:
        """Queue ``data``; False when a key frame is needed."""
        if keyframe:
            self.frames.clear()
            self.bytes = 0
            self.need_key = False
        elif self.need_key:
            return False
        elif len(self.frames) >= MAX_FRAMES or self.bytes + len(data) > MAX_FRAME_BYTES:
            self.frames.clear()
            self.bytes = 0
            self.need_key = True
            return False
        self.frames.append(data)
        self.bytes += len(data)
        self.ready.set()
        return True


class Baseline:
    """One session: a presenter and the queues of its viewers."""

    def __init__(self) -> None:
        self.viewers: set[FrameQueue] = set()
        self.next_member = ORGANIZER_MEMBER + 1
        self.last_request = float("-inf")

    async def handle(self, ws: ServerConnection) -> None:
        try:
            hello = messages.parse(await ws.recv(decode=False))
            assert isinstance(hello, messages.Hello)
            await ws.send(messages.encode(messages.Welcome(PROTOCOL_VERSION, SOFTWARE_VERSION, {})))
            first = messages.parse(await ws.recv(decode=False))
            if isinstance(first, messages.CreateSession):
                created = messages.SessionCreated(BASELINE_SESSION, ORGANIZER_MEMBER)
                await ws.send(messages.encode(created))
                await self.present(ws)
            elif isinstance(first, messages.Join):
                await self.view(ws)
        except (ConnectionClosed, RemoteProtocolError):
            pass

    async def present(self, ws: ServerConnection) -> None:
        request = messages.encode(messages.KeyframeRequest())
        while True:
            data = await ws.recv(decode=False)
            assert isinstance(data, bytes)
            if data[:1] != bytes([Tag.FRAME]) or len(data) > MAX_FRAME_MESSAGE:
                raise RemoteProtocolError("only frames")
            header = messages.parse_sealed_header(data)
            if header.sender != ORGANIZER_MEMBER:
                raise RemoteProtocolError("not the presenter")
            need_key = False
            for queue in self.viewers:
                if not queue.put(data, header.keyframe):
                    need_key = True
            now = time.time()
            if need_key and now - self.last_request >= KEYFRAME_REQUEST_INTERVAL:
                self.last_request = now
                await ws.send(request)

    async def view(self, ws: ServerConnection) -> None:
        queue = FrameQueue()
        member = self.next_member
        self.next_member += 1
        self.viewers.add(queue)
        try:
            await ws.send(messages.encode(messages.MemberJoined(member, "baseline")))
            sender = asyncio.create_task(self.drain(ws, queue))
            try:
                async for _ in ws:  # a viewer sends nothing more; this sees it close
                    pass
            finally:
                sender.cancel()
        finally:
            self.viewers.discard(queue)

    @staticmethod
    async def drain(ws: ServerConnection, queue: FrameQueue) -> None:
        with_frames = queue.frames
        while True:
            await queue.ready.wait()
            queue.ready.clear()
            while with_frames:
                data = with_frames.popleft()
                queue.bytes -= len(data)
                await ws.send(data)


async def run_baseline(host: str, port: int) -> None:
    baseline = Baseline()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        baseline.handle,
        host,
        port,
        compression=None,
        max_size=MAX_FRAME_MESSAGE + 1024,
        ping_interval=20.0,
        ping_timeout=20.0,
    ):
        sys.stdout.write(json.dumps({"event": "listening", "port": port}) + "\n")
        sys.stdout.flush()
        await stop.wait()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    relay = sub.add_parser("relay")
    relay.add_argument("--data", type=Path, required=True)
    relay.add_argument("--listen", type=parse_listen, required=True)
    baseline = sub.add_parser("baseline")
    baseline.add_argument("--listen", type=parse_listen, required=True)
    for server in (relay, baseline):
        server.add_argument("--profile", type=Path, help="write cProfile stats here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    host, port = args.listen
    if args.kind == "relay":
        run_relay(args.data, host, port, args.profile)
    elif args.profile is not None:
        profiled(args.profile, lambda: asyncio.run(run_baseline(host, port)))
    else:
        asyncio.run(run_baseline(host, port))


if __name__ == "__main__":
    main()
