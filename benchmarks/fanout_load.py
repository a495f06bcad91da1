"""The load generator of ``benchmarks.relay_fanout``: one presenter, many viewers.

    python -m benchmarks.fanout_load presenter --relay URL --user NAME [--baseline] < password
    python -m benchmarks.fanout_load viewers --relay URL --session ID --count N [--baseline] < pw

Both speak the real protocol through the product's own client connection
(``viewer_app.transport.RelayConnection``: websockets, compression off, a
4-message receive queue). Against the real relay the presenter signs in,
creates a session and runs admission with the product's ``Organizer``
(SPAKE2, key confirmation, a wrapped epoch key); each viewer joins with
``JoinerHandshake`` and is admitted. Against the plain baseline relay
(``benchmarks.fanout_servers baseline``, ``--baseline``) the presenter sends
CreateSession and each viewer a Join with no handshake behind it: the
baseline only fans frames out.

The presenter seals 100 KB frames with the session's real ``SenderCipher``
(deltas; a key frame first and whenever the relay asks for one) and stamps
each just before ``send``. Viewers read only the 16-byte header (as the
product's client does before decrypting) and stamp each arrival. Nothing is
decrypted: the relay's cost is what is measured, and latency comes from
joining the presenter's stamps with the viewers' by frame counter (one
clock: every process runs on the same machine).

Both print JSON event lines on stdout and take JSON commands on stdin, one per
line:

    presenter: {"cmd": "run", "fps": 30, "seconds": 6, "size": 100000, "out": PATH}
               -> {"event": "ran", "frames": N}; PATH.npz holds counter, send_ns, keyframe
    viewers:   {"cmd": "dump", "out": PATH}
               -> {"event": "dumped", ...}; PATH.npz holds viewer, counter, recv_ns
    both:      {"cmd": "quit"}

``fps`` 0 sends as fast as the connection takes frames.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from host_app.organizer import Organizer
from protocol import messages
from protocol.pake import JoinerHandshake, normalize_password
from protocol.sframe import SenderCipher
from protocol.wire import FLAG_KEYFRAME, ORGANIZER_MEMBER, Credential, Tag
from viewer_app.transport import ClientError, RelayConnection

#: Viewers of one process that connect and run admission at the same time.
JOIN_CONCURRENCY: Final = 10


def emit(event: str, **fields: Any) -> None:
    """One JSON event line on stdout, flushed."""
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def command_queue(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[dict[str, Any]]:
    """Commands read from stdin on a thread; end of input counts as quit."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(queue.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(queue.put_nowait, {"cmd": "quit"})

    threading.Thread(target=read, daemon=True).start()
    return queue


# -- presenter ------------------------------------------------------------------


class Presenter:
    """The organizer's connection: admission, and frames on command."""

    def __init__(self, conn: RelayConnection, organizer: Organizer | None) -> None:
        self._conn = conn
        #: None against the baseline (no admission there).
        self._organizer = organizer
        self._keyframe_wanted = True
        self._baseline_cipher: SenderCipher | None = None
        self.keyframe_requests = 0

    async def serve_relay(self) -> None:
        """Answer what the relay sends until the connection ends."""
        while True:
            message, _ = await self._conn.recv()
            if isinstance(message, messages.KeyframeRequest):
                self._keyframe_wanted = True
                self.keyframe_requests += 1
                continue
            organizer = self._organizer
            if organizer is None:
                continue
            now = time.time()
            if isinstance(message, messages.JoinRequest):
                await self._conn.send(organizer.on_join_request(message, now))
            elif isinstance(message, messages.PakeConfirm):
                await self._conn.send(organizer.on_confirm(message))
            elif isinstance(message, messages.MemberLeft):
                for update in organizer.on_member_left(message.member_id, now):
                    await self._conn.send(update)

    async def run(self, fps: float, seconds: float, size: int, out: Path) -> int:
        """Send ``size``-byte sealed frames for ``seconds``; stamps go to ``out``."""
        cipher = self._cipher()
        plaintext = os.urandom(size - 32)  # 16-byte header + 16-byte GCM tag
        counters: list[int] = []
        stamps: list[int] = []
        keys: list[bool] = []
        interval = 1.0 / fps if fps > 0 else 0.0
        started = time.monotonic()
        deadline = started + seconds
        next_at = started
        while (now := time.monotonic()) < deadline:
            if interval:
                if now < next_at:
                    await asyncio.sleep(next_at - now)
                next_at += interval
            keyframe, self._keyframe_wanted = self._keyframe_wanted, False
            counter = cipher.counter
            data = cipher.seal(Tag.FRAME, FLAG_KEYFRAME if keyframe else 0, plaintext)
            counters.append(counter)
            keys.append(keyframe)
            stamps.append(time.time_ns())
            await self._conn.send_bytes(data)
            if not interval:
                await asyncio.sleep(0)  # let the receiver see key frame requests
        np.savez(
            out,
            counter=np.asarray(counters, dtype=np.int64),
            send_ns=np.asarray(stamps, dtype=np.int64),
            keyframe=np.asarray(keys, dtype=np.bool_),
        )
        return len(counters)

    def _cipher(self) -> SenderCipher:
        """The session's cipher; counters never repeat across runs (receipts join on them)."""
        if self._organizer is not None:
            return self._organizer.cipher
        if self._baseline_cipher is None:
            self._baseline_cipher = SenderCipher(100_000_000, 1, os.urandom(32), ORGANIZER_MEMBER)
        return self._baseline_cipher


async def presenter_main(args: argparse.Namespace) -> None:
    password = sys.stdin.readline().rstrip("\n")  # unused against the baseline
    conn = await RelayConnection.open(args.relay)
    organizer: Organizer | None = None
    if args.baseline:
        await conn.send(messages.CreateSession(0))
        created, _ = await conn.recv()
        assert isinstance(created, messages.SessionCreated), created
        session_id, secret = created.session_id, ""
    else:
        await conn.send(messages.SignIn(args.user, password))
        signed, _ = await conn.recv()
        assert isinstance(signed, messages.SignedIn), signed
        await conn.send(messages.CreateSession(0))
        created, _ = await conn.recv()
        assert isinstance(created, messages.SessionCreated), created
        session_id = created.session_id
        secret = os.urandom(12).hex()
        organizer = Organizer(
            session_id, {Credential.PASSWORD: normalize_password(secret)}, os.urandom, time.time()
        )
    presenter = Presenter(conn, organizer)
    commands = command_queue(asyncio.get_running_loop())
    serving = asyncio.create_task(presenter.serve_relay())
    emit("session", session_id=session_id, password=secret)
    try:
        while (command := await commands.get())["cmd"] != "quit":
            frames = await presenter.run(
                float(command["fps"]),
                float(command["seconds"]),
                int(command["size"]),
                Path(command["out"]),
            )
            emit("ran", frames=frames, keyframe_requests=presenter.keyframe_requests)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError, ClientError):
            await serving
        await conn.close()


# -- viewers ----------------------------------------------------------------------


class Receipts:
    """Arrivals of frames at this process's viewers, until the next dump."""

    def __init__(self) -> None:
        self.viewer: list[int] = []
        self.counter: list[int] = []
        self.recv_ns: list[int] = []
        self.lost = 0

    def dump(self, out: Path) -> int:
        count = len(self.counter)
        np.savez(
            out,
            viewer=np.asarray(self.viewer, dtype=np.int32),
            counter=np.asarray(self.counter, dtype=np.int64),
            recv_ns=np.asarray(self.recv_ns, dtype=np.int64),
        )
        self.viewer.clear()
        self.counter.clear()
        self.recv_ns.clear()
        return count


async def join(args: argparse.Namespace, secret: bytes) -> RelayConnection:
    """One viewer's connection, admitted (or registered with the baseline)."""
    conn = await RelayConnection.open(args.relay)
    if args.baseline:
        await conn.send(messages.Join(args.session, Credential.PASSWORD, b"baseline"))
        ack, _ = await conn.recv()
        assert isinstance(ack, messages.MemberJoined), ack
        return conn
    handshake = JoinerHandshake(args.session, secret, os.urandom)
    await conn.send(messages.Join(args.session, Credential.PASSWORD, handshake.start()))
    reply, _ = await conn.recv()
    assert isinstance(reply, messages.PakeReply), reply
    tag = handshake.finish(reply.member_id, reply.pake)
    await conn.send(messages.PakeConfirm(reply.member_id, tag))
    admit, _ = await conn.recv()
    assert isinstance(admit, messages.Admit), admit
    handshake.verify_admit(admit.tag)
    return conn


async def receive(index: int, conn: RelayConnection, receipts: Receipts) -> None:
    """Stamp every frame's arrival; other messages (key updates) are ignored."""
    viewer, counter, recv_ns = receipts.viewer, receipts.counter, receipts.recv_ns
    try:
        while True:
            message, _ = await conn.recv()
            now = time.time_ns()
            if isinstance(message, messages.SealedHeader):
                viewer.append(index)
                counter.append(message.counter)
                recv_ns.append(now)
    except ClientError:
        receipts.lost += 1


async def viewers_main(args: argparse.Namespace) -> None:
    line = sys.stdin.readline().rstrip("\n")
    secret = b"" if args.baseline else normalize_password(line)
    limit = asyncio.Semaphore(JOIN_CONCURRENCY)

    async def admitted() -> RelayConnection:
        async with limit:
            return await join(args, secret)

    conns = await asyncio.gather(*(admitted() for _ in range(args.count)))
    receipts = Receipts()
    tasks = [
        asyncio.create_task(receive(args.first + i, conn, receipts)) for i, conn in enumerate(conns)
    ]
    commands = command_queue(asyncio.get_running_loop())
    emit("ready", viewers=len(conns))
    try:
        while (command := await commands.get())["cmd"] != "quit":
            count = receipts.dump(Path(command["out"]))
            emit("dumped", receipts=count, lost=receipts.lost)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role", required=True)
    presenter = sub.add_parser("presenter")
    presenter.add_argument("--relay", required=True)
    presenter.add_argument("--user", default="")
    presenter.add_argument("--baseline", action="store_true")
    viewers = sub.add_parser("viewers")
    viewers.add_argument("--relay", required=True)
    viewers.add_argument("--session", type=int, required=True)
    viewers.add_argument("--count", type=int, required=True)
    viewers.add_argument("--first", type=int, default=0, help="index of this process's first")
    viewers.add_argument("--baseline", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run = presenter_main if args.role == "presenter" else viewers_main
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
