"""Composing the shared screen from frame payloads.

``Canvas.apply`` takes one decrypted payload (protocol/frames.py), checks it
completely, decompresses its blob with the exact size the rects declare, and
only then copies the rects into the picture: a payload that is refused leaves
the picture as it was.

Rules:

1. A key frame may change the screen size; the picture is reallocated only
   then. Its rects must cover every pixel.
2. A delta frame needs an earlier key frame of the same size.
3. Rects are drawn in order. A ``COPY`` rect (a move) copies pixels of the
   picture as it stands then (earlier rects of the payload included);
   overlapping source and destination behave as if the source were copied
   out first. Every copy's source is checked before anything is drawn.
4. A ``JPEG`` rect's header must say a baseline JPEG of the rect's size
   (``protocol.frames.jpeg_size``); Pillow then decodes it, also before
   anything is drawn, and it is drawn with its X byte at 255.
5. A ``PALETTE`` rect's first byte must give the palette size its length
   implies and no index may reach past the palette
   (``protocol.palette.decode_palette``); checked, and the rect expanded to
   its exact pixels, before anything is drawn.
6. A ``DELTA_BGRX`` rect is summed back up along each row (modulo 256);
   any bytes are valid.
"""

from __future__ import annotations

import dataclasses
import io
import os
import time

import numpy as np
import numpy.typing as npt
import zstandard
from PIL import Image

from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.frames import Encoding, FrameHeader, Rect, copy_source, jpeg_size, parse_frame
from protocol.palette import decode_palette

Picture = npt.NDArray[np.uint8]


@dataclasses.dataclass(frozen=True, slots=True)
class CanvasStatistics:
    """What a ``Canvas`` has applied so far."""

    #: Payloads applied (refused ones are not counted).
    frames: int
    #: Key frames among ``frames``.
    keyframes: int
    #: Payloads refused with ``RemoteProtocolError``.
    refused: int
    #: Rects drawn into the picture (moves included).
    rects: int
    #: Pixels moved by ``COPY`` rects.
    moved_pixels: int
    #: Bytes of the payloads applied.
    bytes_in: int
    #: Duration of the last successful ``apply`` in milliseconds.
    last_apply_ms: float


class Canvas:
    """The picture a viewer shows, BGRA, built from key frames and deltas."""

    def __init__(self) -> None:
        self._picture: Picture | None = None
        self._coverage: npt.NDArray[np.bool_] | None = None
        self._decompressor = zstandard.ZstdDecompressor()
        self._frames = 0
        self._keyframes = 0
        self._refused = 0
        self._rects = 0
        self._moved_pixels = 0
        #: The rects the last applied payload drew.
        self.last_rects: tuple[Rect, ...] = ()
        self._bytes_in = 0
        self._last_apply_ms = 0.0

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the picture, or None before the first key frame."""
        if self._picture is None:
            return None
        height, width, _ = self._picture.shape
        return width, height

    @property
    def picture(self) -> Picture | None:
        """A read-only view of the picture, (height, width, 4) BGRA; it changes
        with every ``apply``. None before the first key frame."""
        if self._picture is None:
            return None
        view = self._picture.view()
        view.flags.writeable = False
        return view

    def statistics(self) -> CanvasStatistics:
        return CanvasStatistics(
            frames=self._frames,
            keyframes=self._keyframes,
            refused=self._refused,
            rects=self._rects,
            moved_pixels=self._moved_pixels,
            bytes_in=self._bytes_in,
            last_apply_ms=self._last_apply_ms,
        )

    def apply(self, payload: bytes | bytearray | memoryview) -> FrameHeader:
        """Parse, check and draw one frame payload; return its header.

        Raises ``RemoteProtocolError`` (and leaves the picture unchanged) for
        a bad payload, a delta before any key frame, or a delta whose screen
        size differs from the picture's.
        """
        started = time.perf_counter_ns()
        try:
            header, rects, blob = parse_frame(payload)
            size = (header.width, header.height)
            current = self.size
            if header.keyframe:
                self._check_coverage(header, rects)
            elif current is None:
                raise RemoteProtocolError("delta frame before any key frame", ErrorCode.UNEXPECTED)
            elif size != current:
                raise RemoteProtocolError(
                    f"delta frame for a {size[0]}x{size[1]} screen, "
                    f"picture is {current[0]}x{current[1]}"
                )
            data = self._decompress(blob, sum(r.length for r in rects))
            sources = self._copy_sources(header, rects, data)
            jpegs = _decode_jpegs(rects, data)
            palettes = _decode_palettes(rects, data)
        except RemoteProtocolError:
            self._refused += 1
            raise

        if self._picture is None or size != current:
            self._picture = np.zeros((header.height, header.width, 4), np.uint8)
        picture = self._picture
        offset = 0
        for r in rects:
            destination = picture[r.y : r.y + r.h, r.x : r.x + r.w]
            if r.encoding == Encoding.COPY:
                src_x, src_y = sources[offset]
                # numpy copies through a temporary when the two views overlap.
                np.copyto(destination, picture[src_y : src_y + r.h, src_x : src_x + r.w])
                self._moved_pixels += r.w * r.h
            elif r.encoding == Encoding.JPEG:
                destination[...] = jpegs[offset]
            elif r.encoding == Encoding.PALETTE:
                destination[...] = palettes[offset]
            elif r.encoding == Encoding.DELTA_BGRX:
                undelta(data[offset : offset + r.length].reshape(r.h, r.w, 4), destination)
            else:
                destination[...] = data[offset : offset + r.length].reshape(r.h, r.w, 4)
            offset += r.length

        self._frames += 1
        self._keyframes += header.keyframe
        self._rects += len(rects)
        self.last_rects = tuple(rects)
        self._bytes_in += memoryview(payload).nbytes
        self._last_apply_ms = (time.perf_counter_ns() - started) / 1e6
        return header

    def to_rgb_image(self) -> Image.Image:
        """The picture as a new RGB Pillow image (the X byte dropped)."""
        if self._picture is None:
            raise LookupError("no picture before the first key frame")
        rgb = np.ascontiguousarray(self._picture[:, :, 2::-1])
        return Image.fromarray(rgb)

    def save_png(self, path: str | os.PathLike[str]) -> None:
        """Write the picture to ``path`` as an RGB PNG."""
        self.to_rgb_image().save(path, format="PNG")

    def _check_coverage(self, header: FrameHeader, rects: list[Rect]) -> None:
        """Refuse a key frame whose rects leave a pixel uncovered."""
        shape = (header.height, header.width)
        if sum(r.w * r.h for r in rects) < header.width * header.height:
            raise RemoteProtocolError("key frame does not cover the whole screen")
        if self._coverage is None or self._coverage.shape != shape:
            self._coverage = np.zeros(shape, np.bool_)
        coverage = self._coverage
        coverage.fill(False)
        for r in rects:
            coverage[r.y : r.y + r.h, r.x : r.x + r.w] = True
        if not coverage.all():
            raise RemoteProtocolError("key frame does not cover the whole screen")

    @staticmethod
    def _copy_sources(
        header: FrameHeader, rects: list[Rect], data: Picture
    ) -> dict[int, tuple[int, int]]:
        """The source of every ``COPY`` rect, by its data offset, all checked."""
        sources: dict[int, tuple[int, int]] = {}
        offset = 0
        for r in rects:
            if r.encoding == Encoding.COPY:
                sources[offset] = copy_source(data.data, offset, r, header.width, header.height)
            offset += r.length
        return sources

    def _decompress(self, blob: memoryview, total: int) -> Picture:
        """Decompress exactly ``total`` bytes (parse_frame has checked that the
        zstd frame declares that size and ``total`` is within the cap)."""
        try:
            data = self._decompressor.decompress(
                blob, max_output_size=max(total, 1), allow_extra_data=False
            )
        except zstandard.ZstdError:
            raise RemoteProtocolError("frame blob does not decompress") from None
        if len(data) != total:
            raise RemoteProtocolError(f"frame blob holds {len(data)} bytes, the rects {total}")
        return np.frombuffer(data, np.uint8)


def _decode_jpegs(rects: list[Rect], data: Picture) -> dict[int, Picture]:
    """Every ``JPEG`` rect decoded to BGRX (X = 255), by its data offset."""
    pictures: dict[int, Picture] = {}
    offset = 0
    for r in rects:
        if r.encoding == Encoding.JPEG:
            jpeg_size(data.data, offset, r)
            pictures[offset] = decode_jpeg(data[offset : offset + r.length].tobytes(), r.w, r.h)
        offset += r.length
    return pictures


def _decode_palettes(rects: list[Rect], data: Picture) -> dict[int, Picture]:
    """Every ``PALETTE`` rect's exact pixels, by its data offset, all checked."""
    pictures: dict[int, Picture] = {}
    offset = 0
    for r in rects:
        if r.encoding == Encoding.PALETTE:
            pictures[offset] = decode_palette(data[offset : offset + r.length], r.w, r.h)
        offset += r.length
    return pictures


def undelta(deltas: Picture, destination: Picture) -> None:
    """Write into ``destination`` the (h, w, 4) pixels whose ``DELTA_BGRX``
    bytes are ``deltas``: each byte the running sum (modulo 256) of its row.

    Accumulating along the first axis of the transposed views adds one
    column of pixels at a time, all rows at once (four times faster than
    along the row itself, whose inner loop would be four bytes long).
    """
    np.add.accumulate(
        deltas.transpose(1, 0, 2), axis=0, dtype=np.uint8, out=destination.transpose(1, 0, 2)
    )


def decode_jpeg(data: bytes, width: int, height: int) -> Picture:
    """One JPEG of ``width`` x ``height`` as a (height, width, 4) BGRX array
    (X = 255); ``RemoteProtocolError`` if Pillow cannot decode all of it."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            if image.size != (width, height) or image.mode not in ("L", "RGB"):
                raise RemoteProtocolError(f"JPEG rect is {image.mode} {image.size}")
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise RemoteProtocolError("JPEG rect does not decode") from None
    out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = rgb[..., ::-1]
    out[..., 3] = 255
    return out
