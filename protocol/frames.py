"""The frame payload: what a Frame message carries inside its ciphertext.

Layout (docs/protocol.md, "Frame payload"; all integers big-endian)::

    version u8 = 1 | flags u8 | seq u64 | capture_ns u64 | width u16 | height u16
    n_rects u32 | n_rects x (x u16, y u16, w u16, h u16, encoding u8, length u32)
    blob: one zstd frame, content size set, of the rects' data concatenated in order

A rect's data depends on its encoding: ``RAW_BGRX`` is w*h pixels; ``COPY``
is ``src_x u16, src_y u16`` (``COPY_SOURCE``): the w x h pixels at that
position of the picture, as it stands when the rect is applied, are copied to
(x, y); rects are applied in order, and source and destination may overlap
(the result is as if the source were copied out first: memmove semantics).
``JPEG`` is one baseline JPEG file of exactly w x h pixels (``jpeg_size``
reads and checks its header; decoding it is the viewer's business).
``PALETTE`` is ``n-1 u8``, n palette entries of 4 bytes (BGRX, exact), then
the rows of indices, b = 1, 2, 4 or 8 bits each for n <= 2, 4, 16, 256,
packed most significant bits first, each row padded to a whole byte
(protocol/palette.py). ``DELTA_BGRX`` is w*h*4 bytes like ``RAW_BGRX``,
each byte the difference (modulo 256) between the pixel's byte and the same
byte of the pixel to its left, a row's first pixel as it is: smooth
gradients (photos, video, wallpapers) become runs of small numbers, which
zstd compresses far better; a receiver adds them back up along each row.

``encode_frame_header`` writes everything before the blob; ``parse_frame`` takes
a whole payload apart. Any bytes given to ``parse_frame`` either parse or raise
``RemoteProtocolError``; nothing it allocates is larger than its input.

Rules checked by ``parse_frame``:

1. The payload is at most ``MAX_FRAME_MESSAGE`` bytes; version is 1; no flag
   bit other than the key-frame bit is set.
2. ``1 <= width, height <= MAX_SCREEN_SIDE``.
3. The sum of the rects' lengths is at most ``max_rect_data(width, height)``
   (``4*width*height + 1 MiB``); since every rect holds at least one pixel,
   ``n_rects`` is at most a quarter of that, and the rect table must fit in
   the bytes actually received before any of it is read.
4. Every rect has ``w, h > 0``, lies inside the screen, has a known encoding,
   and for ``RAW_BGRX`` and ``DELTA_BGRX`` ``length == w*h*4``, for ``COPY``
   ``length == 4``,
   for ``JPEG`` ``1 <= length <= w*h*4 + JPEG_SLACK``, for ``PALETTE``
   ``length == 1 + 4*n + h*ceil(w*b/8)`` for some n in 1..256
   (``palette_entries``); a key frame holds no ``COPY`` rect (it needs no
   earlier picture).
5. The blob is exactly one zstd frame (its block structure walked, no bytes
   after it) whose declared content size equals the sum of the lengths, so a
   decompressor can be told exactly how much to produce before it starts.

Whether a key frame's rects cover the whole screen is left to the receiver
(``viewer_app.decoder.Canvas``), which owns a reusable coverage mask; so is
the check of a ``COPY`` rect's source (``copy_source``), which lies in the
compressed blob: it must lie inside the screen; of a ``JPEG`` rect's
header (``jpeg_size``): a baseline JPEG of the rect's size; and of a
``PALETTE`` rect's first byte and indices (``protocol.palette.decode_palette``):
n as its length says, no index n or more.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Sequence
from typing import Final

import zstandard

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.palette import palette_entries
from protocol.wire import FLAG_KEYFRAME, MAX_FRAME_MESSAGE

#: Value of the payload's version byte.
FRAME_VERSION: Final = 1

#: Largest width or height of a shared screen (docs/protocol.md); also keeps
#: every coordinate inside a u16.
MAX_SCREEN_SIDE: Final = 8192

#: Slack over one full picture that the rects' data may total: rects may
#: overlap a little, but a payload can never expand into more than about one
#: screenful, whatever its blob claims.
RECT_DATA_SLACK: Final = 1024 * 1024

#: Most rects in one payload. The encoder sends at most one per 64x64 tile
#: (510 for 1080p, 8 192 for an 8K screen); parsing costs ~4 us a rect, so
#: this keeps a hostile payload's parse under a third of a second.
MAX_RECTS: Final = 65_536

#: Flag bits this version knows; any other bit set is refused.
KNOWN_FLAGS: Final = FLAG_KEYFRAME | 0x02 | 0x04

#: Payload flag: the presenter paused; viewers keep the last picture and say so.
FLAG_PAUSED: Final = 0x02
#: Payload flag: the presenter hid the screen; viewers blank it and say so.
FLAG_HIDDEN: Final = 0x04
#: A status frame carries one of these, no rects, and is sealed as a key frame
#: (the relay never drops it and it replaces any picture still queued).
STATUS_FLAGS: Final = FLAG_PAUSED | FLAG_HIDDEN

#: version, flags, seq, capture_ns, width, height, n_rects.
HEADER: Final = struct.Struct(">BBQQHHI")
#: x, y, w, h, encoding, length.
RECT: Final = struct.Struct(">HHHHBI")
#: A ``COPY`` rect's data: src_x, src_y.
COPY_SOURCE: Final = struct.Struct(">HH")
#: What a ``JPEG`` rect may hold beyond its raw size (headers and tables of
#: a tiny picture); an encoder sends a picture that JPEG would enlarge raw.
JPEG_SLACK: Final = 4096

_U16: Final = 0xFFFF
_U32: Final = 0xFFFF_FFFF
_U64: Final = 0xFFFF_FFFF_FFFF_FFFF

#: zstd's frame magic number, as it appears on the wire (little-endian).
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
#: zstd block header: 3 bytes little-endian, bit 0 last block, bits 1-2 type,
#: bits 3-23 size. Block types: raw, RLE, compressed; 3 is reserved.
_ZSTD_BLOCK_HEADER: Final = 3
_ZSTD_BLOCK_RLE: Final = 1
_ZSTD_BLOCK_RESERVED: Final = 3
#: No zstd block, compressed or not, holds more than 128 KiB.
_ZSTD_BLOCK_MAX: Final = 128 * 1024
_ZSTD_CHECKSUM: Final = 4


class Encoding(enum.IntEnum):
    """How one rect's bytes are stored in the blob."""

    #: Uncompressed pixels, 4 bytes each (blue, green, red, X), rows top to
    #: bottom; the blob's zstd frame is the only compression.
    RAW_BGRX = 0
    #: A move: ``COPY_SOURCE`` (src_x u16, src_y u16), 4 bytes; the w x h
    #: pixels at (src_x, src_y) of the picture so far are copied to (x, y).
    COPY = 1
    #: One baseline JPEG (JFIF, 8-bit, greyscale or YCbCr) of exactly w x h
    #: pixels; lossy, sent only where the relay's policy allows it.
    JPEG = 2
    #: Few colours, exactly: ``n-1 u8``, n BGRX entries, then each row's
    #: indices packed at 1, 2, 4 or 8 bits (protocol/palette.py).
    PALETTE = 3
    #: w*h pixels as ``RAW_BGRX``, each byte minus the same byte of the pixel
    #: to its left (modulo 256); the first pixel of each row as it is.
    DELTA_BGRX = 4


def max_rect_data(width: int, height: int) -> int:
    """Cap on the sum of the rects' lengths for a screen of this size."""
    return 4 * width * height + RECT_DATA_SLACK


@dataclasses.dataclass(frozen=True, slots=True)
class FrameHeader:
    """The fixed fields of a frame payload."""

    #: Flag bits; bit 0 (``FLAG_KEYFRAME``) marks a key frame.
    flags: int
    #: This presenter's frame sequence number.
    seq: int
    #: Wall clock in nanoseconds when the picture was grabbed.
    capture_ns: int
    #: Screen width in pixels, 1..MAX_SCREEN_SIDE.
    width: int
    #: Screen height in pixels, 1..MAX_SCREEN_SIDE.
    height: int

    def __post_init__(self) -> None:
        problem = _header_problem(self.flags, self.seq, self.capture_ns, self.width, self.height)
        if problem is not None:
            raise LocalProtocolError(problem)

    @property
    def keyframe(self) -> bool:
        """True if this frame covers the whole screen and needs no earlier one."""
        return bool(self.flags & FLAG_KEYFRAME)


@dataclasses.dataclass(frozen=True, slots=True)
class Rect:
    """One rectangle of pixels and where its bytes are in the blob."""

    x: int
    y: int
    #: Width in pixels, at least 1.
    w: int
    #: Height in pixels, at least 1.
    h: int
    encoding: Encoding
    #: Number of bytes of this rect in the decompressed blob.
    length: int

    def __post_init__(self) -> None:
        problem = _rect_problem(self.x, self.y, self.w, self.h, self.encoding, self.length)
        if problem is not None:
            raise LocalProtocolError(problem)


def _header_problem(flags: int, seq: int, capture_ns: int, width: int, height: int) -> str | None:
    if not 0 <= flags <= 0xFF or flags & ~KNOWN_FLAGS:
        return f"unknown frame flags {flags:#x}"
    if not 0 <= seq <= _U64:
        return "frame seq out of range"
    if not 0 <= capture_ns <= _U64:
        return "frame capture_ns out of range"
    if not (1 <= width <= MAX_SCREEN_SIDE and 1 <= height <= MAX_SCREEN_SIDE):
        return f"screen size {width}x{height} outside 1..{MAX_SCREEN_SIDE}"
    return None


def _rect_problem(x: int, y: int, w: int, h: int, encoding: int, length: int) -> str | None:
    if not (0 <= x <= _U16 and 0 <= y <= _U16):
        return "rect position out of range"
    if not (1 <= w <= _U16 and 1 <= h <= _U16):
        return f"rect size {w}x{h} is empty or out of range"
    if encoding not in _ENCODINGS:
        return f"unknown rect encoding {encoding}"
    if not 0 <= length <= _U32:
        return "rect length out of range"
    if encoding in _PIXEL_ENCODINGS and length != w * h * 4:
        return f"raw rect {w}x{h} must hold {w * h * 4} bytes, not {length}"
    if encoding == Encoding.COPY and length != COPY_SOURCE.size:
        return f"copy rect must hold {COPY_SOURCE.size} bytes, not {length}"
    if encoding == Encoding.JPEG and not 1 <= length <= w * h * 4 + JPEG_SLACK:
        return f"JPEG rect {w}x{h} may hold 1..{w * h * 4 + JPEG_SLACK} bytes, not {length}"
    if encoding == Encoding.PALETTE and palette_entries(w, h, length) is None:
        return f"palette rect {w}x{h} cannot hold {length} bytes"
    return None


_ENCODINGS: Final = frozenset(int(e) for e in Encoding)
_ENCODING_OF: Final = {int(e): e for e in Encoding}
_PIXEL_ENCODINGS: Final = frozenset({Encoding.RAW_BGRX, Encoding.DELTA_BGRX})


def _placement_problem(header: FrameHeader, rect: Rect) -> str | None:
    if rect.x + rect.w > header.width or rect.y + rect.h > header.height:
        return (
            f"rect {rect.w}x{rect.h}+{rect.x}+{rect.y} outside the "
            f"{header.width}x{header.height} screen"
        )
    if rect.encoding == Encoding.COPY and header.keyframe:
        return "a key frame holds no copy rect"
    return None


def encode_copy_source(src_x: int, src_y: int) -> bytes:
    """A ``COPY`` rect's 4 bytes of data."""
    return COPY_SOURCE.pack(src_x, src_y)


def copy_source(
    data: bytes | bytearray | memoryview, offset: int, rect: Rect, width: int, height: int
) -> tuple[int, int]:
    """(src_x, src_y) of the ``COPY`` rect whose data starts at ``offset`` of
    the decompressed blob; ``RemoteProtocolError`` if the source rectangle
    does not lie inside the ``width`` x ``height`` screen."""
    src_x, src_y = COPY_SOURCE.unpack_from(data, offset)
    if src_x + rect.w > width or src_y + rect.h > height:
        raise RemoteProtocolError(
            f"copy source {rect.w}x{rect.h}+{src_x}+{src_y} outside the {width}x{height} screen"
        )
    return src_x, src_y


#: JPEG markers (ITU T.81 B.1.1.3): start of image, baseline start of frame,
#: start of scan; markers with no length field; the other start-of-frame
#: markers (progressive, lossless, arithmetic...), which are refused.
_JPEG_SOI: Final = 0xD8
_JPEG_SOF0: Final = 0xC0
_JPEG_SOS: Final = 0xDA
_JPEG_BARE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_OTHER_SOF: Final = frozenset({*range(0xC1, 0xD0)} - {0xC4, 0xC8, 0xCC})


def jpeg_size(data: bytes | bytearray | memoryview, offset: int, rect: Rect) -> tuple[int, int]:
    """(width, height) of the ``JPEG`` rect whose data starts at ``offset`` of
    the decompressed blob, read from its header without decoding it.

    ``RemoteProtocolError`` unless it starts with SOI and, before its first
    scan, has exactly one start-of-frame, baseline (SOF0), 8-bit, with 1 or
    3 components, of the rect's size. The scan data is not looked at.
    """
    view = memoryview(data).cast("B")[offset : offset + rect.length]
    end = len(view)
    if end < 4 or view[0] != 0xFF or view[1] != _JPEG_SOI:
        raise RemoteProtocolError("JPEG rect does not start with a JPEG header")
    at = 2
    size: tuple[int, int] | None = None
    while True:
        if at + 2 > end or view[at] != 0xFF:
            raise RemoteProtocolError("JPEG rect has a bad marker before its scan")
        marker = view[at + 1]
        at += 2
        if marker == 0xFF:  # fill byte
            at -= 1
            continue
        if marker in _JPEG_BARE:
            continue
        if at + 2 > end:
            raise RemoteProtocolError("JPEG rect truncated in its header")
        length = (view[at] << 8) | view[at + 1]
        if length < 2 or at + length > end:
            raise RemoteProtocolError("JPEG rect has a bad segment length")
        if marker == _JPEG_SOI or marker in _JPEG_OTHER_SOF:
            raise RemoteProtocolError("JPEG rect is not one baseline JPEG")
        if marker == _JPEG_SOF0:
            if size is not None or length < 8:
                raise RemoteProtocolError("JPEG rect has a bad frame header")
            precision = view[at + 2]
            height = (view[at + 3] << 8) | view[at + 4]
            width = (view[at + 5] << 8) | view[at + 6]
            components = view[at + 7]
            if precision != 8 or components not in (1, 3) or length != 8 + 3 * components:
                raise RemoteProtocolError("JPEG rect is not an 8-bit grey or colour JPEG")
            size = (width, height)
        if marker == _JPEG_SOS:
            break
        at += length
    if size != (rect.w, rect.h):
        found = "no size" if size is None else f"{size[0]}x{size[1]}"
        raise RemoteProtocolError(f"JPEG rect {rect.w}x{rect.h} holds a JPEG of {found}")
    return size


def encode_frame_header(header: FrameHeader, rects: Sequence[Rect]) -> bytes:
    """Everything of a payload before the blob: header and rect table.

    Raises ``LocalProtocolError`` if a rect lies outside the screen or the
    rects' lengths total more than ``max_rect_data``.
    """
    parts = [
        HEADER.pack(
            FRAME_VERSION,
            header.flags,
            header.seq,
            header.capture_ns,
            header.width,
            header.height,
            len(rects),
        )
    ]
    total = 0
    for rect in rects:
        problem = _placement_problem(header, rect)
        if problem is not None:
            raise LocalProtocolError(problem)
        total += rect.length
        parts.append(RECT.pack(rect.x, rect.y, rect.w, rect.h, rect.encoding, rect.length))
    if total > max_rect_data(header.width, header.height):
        raise LocalProtocolError(f"rects hold {total} bytes, more than the screen allows")
    return b"".join(parts)


def status_frame(
    seq: int, capture_ns: int, width: int, height: int, *, paused: bool, hidden: bool
) -> bytes:
    """The payload telling viewers the presenter paused or hid (or neither)."""
    flags = FLAG_KEYFRAME | (FLAG_PAUSED if paused else 0) | (FLAG_HIDDEN if hidden else 0)
    return encode_frame_header(FrameHeader(flags, seq, capture_ns, width, height), []) + (
        zstandard.ZstdCompressor(write_content_size=True).compress(b"")
    )


def frame_status(data: bytes | bytearray | memoryview) -> int:
    """The STATUS_FLAGS of a payload (0 for a picture), read without parsing the rest."""
    view = memoryview(data).cast("B")
    if len(view) < HEADER.size:
        raise RemoteProtocolError("frame payload shorter than its header")
    return view[1] & STATUS_FLAGS


def frame_is_keyframe(data: bytes | bytearray | memoryview) -> bool:
    """The key frame flag of a payload, read without parsing the rest."""
    view = memoryview(data).cast("B")
    if len(view) < HEADER.size:
        raise RemoteProtocolError("frame payload shorter than its header")
    return bool(view[1] & FLAG_KEYFRAME)


def parse_frame(
    data: bytes | bytearray | memoryview,
) -> tuple[FrameHeader, list[Rect], memoryview]:
    """Split a payload into header, rects and the blob (still compressed).

    The blob is a view into ``data``. Raises ``RemoteProtocolError`` for any
    payload that breaks a rule in this module's docstring.
    """
    view = memoryview(data).cast("B")
    if len(view) > MAX_FRAME_MESSAGE:
        raise RemoteProtocolError("frame payload too large", ErrorCode.MESSAGE_TOO_LARGE)
    if len(view) < HEADER.size:
        raise RemoteProtocolError("frame payload shorter than its header")
    version, flags, seq, capture_ns, width, height, n_rects = HEADER.unpack_from(view, 0)
    if version != FRAME_VERSION:
        raise RemoteProtocolError(f"unknown frame payload version {version}")
    problem = _header_problem(flags, seq, capture_ns, width, height)
    if problem is not None:
        raise RemoteProtocolError(problem)
    header = FrameHeader(flags, seq, capture_ns, width, height)

    cap = max_rect_data(width, height)
    if n_rects > min(cap // 4, MAX_RECTS):
        raise RemoteProtocolError(f"{n_rects} rects cannot fit a {width}x{height} screen")
    blob_start = HEADER.size + n_rects * RECT.size
    if blob_start > len(view):
        raise RemoteProtocolError("frame payload shorter than its rect table")

    rects: list[Rect] = []
    total = 0
    for x, y, w, h, encoding, length in RECT.iter_unpack(view[HEADER.size : blob_start]):
        # Rect checks itself (``_rect_problem``) as it is made; its problem,
        # asked again only when there is one, is the peer's.
        kind = _ENCODING_OF.get(encoding)
        try:
            if kind is None:
                raise LocalProtocolError("unknown rect encoding")
            rect = Rect(x, y, w, h, kind, length)
        except LocalProtocolError:
            problem = _rect_problem(x, y, w, h, encoding, length)
            raise RemoteProtocolError(problem or "bad rect") from None
        problem = _placement_problem(header, rect)
        if problem is not None:
            raise RemoteProtocolError(problem)
        total += length
        if total > cap:
            raise RemoteProtocolError("rects hold more bytes than the screen allows")
        rects.append(rect)

    blob = view[blob_start:]
    _check_zstd_frame(blob, total)
    return header, rects, blob


def _check_zstd_frame(blob: memoryview, content_size: int) -> None:
    """Refuse a blob that is not exactly one zstd frame of ``content_size`` bytes.

    Walks the block headers (no decompression), so a truncated blob or bytes
    after the frame are caught here, not halfway through decompressing.
    """
    if bytes(blob[:4]) != _ZSTD_MAGIC:
        raise RemoteProtocolError("frame blob is not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(blob)
        offset = zstandard.frame_header_size(blob)
    except zstandard.ZstdError:
        raise RemoteProtocolError("frame blob has a bad zstd frame header") from None
    if params.content_size != content_size:
        raise RemoteProtocolError(
            f"frame blob declares {params.content_size} bytes, the rects {content_size}"
        )
    if params.dict_id != 0:
        raise RemoteProtocolError("frame blob needs a zstd dictionary")
    last = False
    while not last:
        if offset + _ZSTD_BLOCK_HEADER > len(blob):
            raise RemoteProtocolError("frame blob truncated")
        word = int.from_bytes(blob[offset : offset + _ZSTD_BLOCK_HEADER], "little")
        offset += _ZSTD_BLOCK_HEADER
        last = bool(word & 1)
        block_type = (word >> 1) & 3
        size = word >> 3
        if block_type == _ZSTD_BLOCK_RESERVED or size > _ZSTD_BLOCK_MAX:
            raise RemoteProtocolError("frame blob has a bad zstd block")
        offset += 1 if block_type == _ZSTD_BLOCK_RLE else size
    if params.has_checksum:
        offset += _ZSTD_CHECKSUM
    if offset != len(blob):
        raise RemoteProtocolError("frame blob truncated or followed by extra bytes")
