"""A minimal VNC (RFB 3.8) viewer that times every update, for ``benchmarks.vnc_compare``.

    python -m benchmarks.rfb_client --port 5900 --encoding tight [--jpeg-quality 6]

Connects to a VNC server on 127.0.0.1 with no password, asks for 32-bit BGRX
pixels (the layout screenrelay's canvas uses), offers one encoding plus
CopyRect, and keeps exactly one incremental FramebufferUpdateRequest
outstanding: the next is sent as soon as an update has been decoded (as noVNC
and TigerVNC do without the continuous-updates extension).

Decoded encodings: Raw, CopyRect, Zlib, ZRLE and Tight (fill, JPEG via
Pillow, basic with the copy and palette filters; the gradient filter, which
libvncserver's Tight encoder does not use, is refused). Pixels are decoded
with numpy where the format allows; ZRLE's run-length tiles need a Python
loop per run.

Prints one JSON line per update: bytes on the wire (message header
included), rects, decode milliseconds, and, when the update touched the time
stamp box (``benchmarks.stamp``) and it shows a new time, that time's age.
Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import socket
import struct
import sys
import time
import zlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks import stamp
from benchmarks.scene import STAMP_AT

Picture = npt.NDArray[np.uint8]

#: Encoding numbers (RFC 6143 and the rfbproto registry).
RAW: Final = 0
COPY_RECT: Final = 1
ZLIB: Final = 6
TIGHT: Final = 7
ZRLE: Final = 16
DESKTOP_SIZE: Final = -223
#: Tight JPEG quality level 0..9 is offered as this pseudo-encoding plus the level.
JPEG_QUALITY_0: Final = -32
ENCODINGS: Final = {"raw": RAW, "zlib": ZLIB, "tight": TIGHT, "zrle": ZRLE}
#: 32 bits per pixel, depth 24, little-endian, true colour, 255 per channel,
#: red at bit 16, green at 8, blue at 0: bytes B, G, R, X in memory.
PIXEL_FORMAT: Final = struct.pack("!BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
#: ZRLE tiles are squares of this side.
ZRLE_TILE: Final = 64


class RfbError(RuntimeError):
    """The server said or sent something this client does not handle."""


class Wire:
    """Exact reads from a socket, counting every byte received."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = 0

    def read(self, n: int) -> bytes:
        data = bytearray(n)
        view = memoryview(data)
        got = 0
        while got < n:
            count = self._sock.recv_into(view[got:], n - got)
            if count == 0:
                raise RfbError("the server closed the connection")
            got += count
        self.received += n
        return bytes(data)

    def u8(self) -> int:
        return self.read(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.read(4), "big")

    def compact_length(self) -> int:
        """Tight's 1 to 3 byte length: 7 bits per byte, low bits first."""
        length, shift = 0, 0
        for _ in range(3):
            byte = self.u8()
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return length

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)


def rgb_to_bgr(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return rgb[..., ::-1]


class Decoder:
    """The framebuffer and the zlib streams an RFB connection keeps."""

    def __init__(self, wire: Wire, width: int, height: int) -> None:
        self.wire = wire
        self.picture: Picture = np.zeros((height, width, 4), np.uint8)
        self._zlib = zlib.decompressobj()
        self._zrle = zlib.decompressobj()
        self._tight = [zlib.decompressobj() for _ in range(4)]

    def rect(self, x: int, y: int, w: int, h: int, encoding: int) -> None:
        target = self.picture[y : y + h, x : x + w]
        if encoding == RAW:
            target[:] = np.frombuffer(self.wire.read(w * h * 4), np.uint8).reshape(h, w, 4)
        elif encoding == COPY_RECT:
            sx, sy = struct.unpack("!HH", self.wire.read(4))
            target[:] = self.picture[sy : sy + h, sx : sx + w].copy()
        elif encoding == ZLIB:
            data = self._zlib.decompress(self.wire.read(self.wire.u32()))
            target[:] = np.frombuffer(data, np.uint8).reshape(h, w, 4)
        elif encoding == ZRLE:
            self._zrle_rect(target, self._zrle.decompress(self.wire.read(self.wire.u32())))
        elif encoding == TIGHT:
            self._tight_rect(target)
        else:
            raise RfbError(f"encoding {encoding} was not asked for")

    # -- Tight -----------------------------------------------------------------

    def _tight_rect(self, target: Picture) -> None:
        h, w = target.shape[:2]
        control = self.wire.u8()
        for stream in range(4):
            if control & (1 << stream):
                self._tight[stream] = zlib.decompressobj()
        kind = control >> 4
        if kind == 8:  # fill
            target[:, :, :3] = rgb_to_bgr(np.frombuffer(self.wire.read(3), np.uint8))
            return
        if kind == 9:  # JPEG
            data = self.wire.read(self.wire.compact_length())
            rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            target[:, :, :3] = rgb_to_bgr(rgb)
            return
        if kind & 8:
            raise RfbError(f"Tight compression type {kind} not handled")
        filter_id = self.wire.u8() if kind & 4 else 0
        palette: npt.NDArray[np.uint8] | None = None
        if filter_id == 0:
            size = w * h * 3
        elif filter_id == 1:
            colours = self.wire.u8() + 1
            palette = np.frombuffer(self.wire.read(3 * colours), np.uint8).reshape(colours, 3)
            size = h * ((w + 7) // 8) if colours == 2 else w * h
        else:
            raise RfbError(f"Tight filter {filter_id} not handled")
        if size < 12:
            data = self.wire.read(size)
        else:
            data = self._tight[kind & 3].decompress(self.wire.read(self.wire.compact_length()))
        raw = np.frombuffer(data, np.uint8)
        if palette is None:
            target[:, :, :3] = rgb_to_bgr(raw.reshape(h, w, 3))
        elif len(palette) == 2:
            bits = np.unpackbits(raw.reshape(h, (w + 7) // 8), axis=1)[:, :w]
            target[:, :, :3] = rgb_to_bgr(palette[bits])
        else:
            target[:, :, :3] = rgb_to_bgr(palette[raw.reshape(h, w)])

    # -- ZRLE ------------------------------------------------------------------

    def _zrle_rect(self, target: Picture, data: bytes) -> None:
        h, w = target.shape[:2]
        pos = 0
        for ty in range(0, h, ZRLE_TILE):
            for tx in range(0, w, ZRLE_TILE):
                tile = target[ty : ty + ZRLE_TILE, tx : tx + ZRLE_TILE]
                pos = zrle_tile(tile, data, pos)


def cpixels(data: bytes, pos: int, count: int) -> npt.NDArray[np.uint8]:
    """``count`` ZRLE CPIXELs (3 bytes: B, G, R for this pixel format) at ``pos``."""
    return np.frombuffer(data, np.uint8, 3 * count, pos).reshape(count, 3)


def zrle_tile(tile: Picture, data: bytes, pos: int) -> int:
    """Decode one ZRLE tile at ``data[pos:]`` into ``tile``; the position after it."""
    th, tw = int(tile.shape[0]), int(tile.shape[1])
    sub = data[pos]
    pos += 1
    out = tile[:, :, :3]
    if sub == 0:  # raw
        out[:] = cpixels(data, pos, tw * th).reshape(th, tw, 3)
        return pos + 3 * tw * th
    if sub == 1:  # solid
        out[:] = cpixels(data, pos, 1)[0]
        return pos + 3
    if 2 <= sub <= 16:  # packed palette
        palette = cpixels(data, pos, sub)
        pos += 3 * sub
        bits = 1 if sub == 2 else 2 if sub <= 4 else 4
        row_bytes = (tw * bits + 7) // 8
        packed = np.frombuffer(data, np.uint8, row_bytes * th, pos).reshape(th, row_bytes)
        unpacked = np.unpackbits(packed, axis=1).reshape(th, -1, bits)
        weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
        indices = (unpacked * weights).sum(axis=2)[:, :tw]
        out[:] = palette[indices]
        return pos + row_bytes * th
    if sub == 128 or sub >= 130:  # plain RLE, palette RLE
        colours = cpixels(data, pos, sub - 128) if sub >= 130 else None
        if colours is not None:
            pos += 3 * len(colours)
        flat = np.empty((tw * th, 3), np.uint8)
        filled = 0
        while filled < tw * th:
            if colours is None:
                colour = cpixels(data, pos, 1)[0]
                pos += 3
                run = True
            else:
                index = data[pos]
                pos += 1
                colour, run = colours[index & 0x7F], bool(index & 0x80)
            length = 1
            if run:
                while data[pos] == 255:
                    length += 255
                    pos += 1
                length += data[pos]
                pos += 1
            flat[filled : filled + length] = colour
            filled += length
        out[:] = flat.reshape(th, tw, 3)
        return pos
    raise RfbError(f"ZRLE subencoding {sub} not handled")


# -- the connection ----------------------------------------------------------------


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def handshake(wire: Wire) -> tuple[int, int]:
    """RFB 3.8 with security type None, shared; the framebuffer's (width, height)."""
    if not wire.read(12).startswith(b"RFB 003."):
        raise RfbError("not an RFB server")
    wire.send(b"RFB 003.008\n")
    types = wire.read(wire.u8())
    if 1 not in types:
        raise RfbError(f"security types {list(types)} do not include None")
    wire.send(b"\x01")
    if wire.u32() != 0:
        raise RfbError("the server refused the connection")
    wire.send(b"\x01")  # shared
    width, height = struct.unpack("!HH", wire.read(4))
    wire.read(16)  # the server's pixel format: replaced below
    wire.read(wire.u32())  # desktop name
    return width, height


def request(wire: Wire, width: int, height: int, *, incremental: bool) -> None:
    wire.send(struct.pack("!BBHHHH", 3, int(incremental), 0, 0, width, height))


def stamp_box(picture: Picture) -> Picture:
    left, top = STAMP_AT
    return picture[top : top + stamp.STAMP_H, left : left + stamp.STAMP_W]


def touches_stamp(rects: list[tuple[int, int, int, int]]) -> bool:
    left, top = STAMP_AT
    return any(
        x < left + stamp.STAMP_W and left < x + w and y < top + stamp.STAMP_H and top < y + h
        for x, y, w, h in rects
    )


def run(port: int, encoding: str, jpeg_quality: int | None) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wire = Wire(sock)
        width, height = handshake(wire)
        wire.send(b"\x00\x00\x00\x00" + PIXEL_FORMAT)
        offered = [ENCODINGS[encoding], COPY_RECT, DESKTOP_SIZE]
        if jpeg_quality is not None:
            offered.append(JPEG_QUALITY_0 + jpeg_quality)
        wire.send(struct.pack(f"!BxH{len(offered)}i", 2, len(offered), *offered))
        decoder = Decoder(wire, width, height)
        emit("connected", width=width, height=height, encodings=offered)
        request(wire, width, height, incremental=False)
        last_stamp: int | None = None
        updates = 0
        while True:
            kind = wire.u8()
            received_ns = time.time_ns()
            start = wire.received - 1
            if kind == 2:  # bell
                continue
            if kind == 3:  # cut text
                wire.read(3)
                wire.read(wire.u32())
                continue
            if kind != 0:
                raise RfbError(f"server message {kind} not handled")
            wire.read(1)
            count = int.from_bytes(wire.read(2), "big")
            started = time.perf_counter_ns()
            rects: list[tuple[int, int, int, int]] = []
            kinds: dict[int, int] = {}
            for _ in range(count):
                x, y, w, h, enc = struct.unpack("!HHHHi", wire.read(12))
                if enc == DESKTOP_SIZE:
                    width, height = w, h
                    decoder.picture = np.zeros((h, w, 4), np.uint8)
                    continue
                decoder.rect(x, y, w, h, enc)
                rects.append((x, y, w, h))
                kinds[enc] = kinds.get(enc, 0) + 1
            request(wire, width, height, incremental=True)
            decoded_ns = time.time_ns()
            fields: dict[str, Any] = {}
            if touches_stamp(rects):
                value = stamp.read(stamp_box(decoder.picture))
                fields["stamp_ok"] = value is not None
                if value is not None and value != last_stamp:
                    last_stamp = value
                    fields["stamp_ms"] = round(stamp.latency_ms(decoded_ns, value), 3)
            emit(
                "update",
                n=updates,
                bytes=wire.received - start,
                rects=len(rects),
                pixels=sum(w * h for _x, _y, w, h in rects),
                encodings={str(k): v for k, v in kinds.items()},
                read_decode_ms=round((time.perf_counter_ns() - started) / 1e6, 3),
                received_ns=received_ns,
                **fields,
            )
            updates += 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the VNC server's TCP port")
    parser.add_argument("--encoding", choices=sorted(ENCODINGS), default="tight")
    parser.add_argument(
        "--jpeg-quality", type=int, choices=range(10), help="offer Tight JPEG at this level"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    run(args.port, args.encoding, args.jpeg_quality)


if __name__ == "__main__":
    main()
