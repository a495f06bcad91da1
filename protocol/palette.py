"""The data of a ``PALETTE`` rect (protocol/frames.py): few colours, exactly.

Layout (docs/protocol.md, "Palette rects")::

    n-1 u8 | n x (blue, green, red, X) | h rows of w indices, b bits each

The index width ``b`` follows from the palette's size ``n`` (1..256): 1 bit
for n <= 2, 2 for n <= 4, 4 for n <= 16, else 8. Each row's indices are
packed most significant bits first and the row is padded with zero bits to a
whole byte, so a row takes ``ceil(w*b/8)`` bytes and the rect's data exactly
``palette_length(w, h, n)`` bytes. The four bytes of an entry are a pixel's
four bytes, X included, so a decoded rect equals the encoded pixels exactly.

Rules a receiver checks:

1. The rect's length is ``palette_length(w, h, n)`` for some n in 1..256
   (``palette_entries`` finds it: the length grows strictly with n, so at
   most one n fits). ``parse_frame`` checks this before decompressing.
2. The first byte of the data says that n (it lies in the compressed blob,
   so this and rule 3 are checked once it is decompressed, before anything
   is drawn).
3. No index is n or more. Padding bits are not indices and are ignored.

``encode_palette`` is the host's side: the indexed form of a rect of at
most ``MAX_COLOURS`` colours, or None; ``decode_palette`` the viewer's.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt

from protocol.errors import RemoteProtocolError

#: Most entries of a palette (an index is at most 8 bits).
MAX_COLOURS: Final = 256
#: (bits per index, smallest n, largest n) for each index width.
WIDTHS: Final = ((1, 1, 2), (2, 3, 4), (4, 5, 16), (8, 17, 256))
#: Rects of more pixels than this are first sampled (every ``SAMPLE_STEP``-th
#: pixel both ways): too many colours there and the rect is not indexed.
SAMPLE_ABOVE: Final = 4096
SAMPLE_STEP: Final = 4
#: Two-colour look-up tables (8 KiB each) the decoder keeps, most recent.
TWO_COLOUR_TABLES: Final = 64

Picture = npt.NDArray[np.uint8]
Pixels = npt.NDArray[np.uint32]


def index_bits(n: int) -> int:
    """Bits per index of a palette of ``n`` (1..256) entries."""
    return 1 if n <= 2 else 2 if n <= 4 else 4 if n <= 16 else 8


def palette_length(w: int, h: int, n: int) -> int:
    """Bytes of a w x h ``PALETTE`` rect with ``n`` entries."""
    return 1 + 4 * n + h * ((w * index_bits(n) + 7) // 8)


def palette_entries(w: int, h: int, length: int) -> int | None:
    """The n for which a w x h rect's data is ``length`` bytes, or None."""
    for bits, low, high in WIDTHS:
        rest = length - 1 - h * ((w * bits + 7) // 8)
        if rest % 4 == 0 and low <= rest // 4 <= high:
            return rest // 4
    return None


def _unpack_table(bits: int) -> npt.NDArray[np.uint8]:
    """For each byte value, the 8/bits indices it packs, first index first."""
    per = 8 // bits
    values = np.arange(256, dtype=np.uint8)[:, None]
    shifts = np.arange(8 - bits, -1, -bits, dtype=np.uint8)[None, :]
    return np.asarray((values >> shifts) & ((1 << bits) - 1), np.uint8).reshape(256, per)


_UNPACK: Final = {bits: _unpack_table(bits) for bits in (1, 2, 4)}


def encode_palette(pixels: Pixels, max_colours: int = MAX_COLOURS) -> bytes | None:
    """The ``PALETTE`` data of an (h, w) array of pixels (one uint32 each, the
    four bytes of a BGRX pixel), or None if it has more than ``max_colours``
    (at most ``MAX_COLOURS``) distinct pixels.

    A rect of more than ``SAMPLE_ABOVE`` pixels is sampled first and given
    up if the sample already has more than half ``max_colours`` colours:
    the whole rect then almost always has too many, and sorting all of it
    would be wasted. One or two colours (text on a flat background) are
    then found with a few comparisons; more with a sort.
    """
    h, w = pixels.shape
    if pixels.size > SAMPLE_ABOVE:
        sample = np.sort(pixels[::SAMPLE_STEP, ::SAMPLE_STEP], axis=None)
        if np.count_nonzero(sample[1:] != sample[:-1]) >= max_colours // 2:
            return None
    first: bytes = pixels[0, 0].tobytes()
    other = pixels != pixels[0, 0]
    count = int(np.count_nonzero(other))
    if count == 0:
        return bytes(1) + first + bytes(h * ((w + 7) // 8))
    at = int(other.argmax())
    second = pixels[at // w, at % w]
    if np.count_nonzero(pixels == second) == count:
        indices: bytes = np.packbits(other, axis=1).tobytes()
        colour: bytes = second.tobytes()
        return b"\x01" + first + colour + indices
    flat = np.sort(pixels, axis=None)
    starts = np.empty(flat.size, np.bool_)
    starts[0] = True
    np.not_equal(flat[1:], flat[:-1], out=starts[1:])
    palette = flat[starts]
    n = palette.size
    if n > min(max_colours, MAX_COLOURS):
        return None
    bits = index_bits(n)
    packed = np.searchsorted(palette, pixels).astype(np.uint8)
    if bits < 8:
        per = 8 // bits
        row_bytes = (w * bits + 7) // 8
        padded = np.zeros((h, row_bytes * per), np.uint8)
        padded[:, :w] = packed
        groups = padded.reshape(h, row_bytes, per)
        packed = np.zeros((h, row_bytes), np.uint8)
        for k in range(per):
            packed |= groups[:, :, k] << np.uint8(8 - bits * (k + 1))
    return bytes((n - 1,)) + palette.tobytes() + packed.tobytes()


def decode_palette(data: Picture, w: int, h: int) -> Picture:
    """The (h, w, 4) pixels of one ``PALETTE`` rect's ``data`` (exactly its
    bytes, whose length ``palette_entries`` has accepted); raises
    ``RemoteProtocolError`` if its first byte disagrees with its length or an
    index is out of the palette."""
    n = palette_entries(w, h, data.size)
    if n is None or int(data[0]) + 1 != n:
        raise RemoteProtocolError(
            f"palette rect {w}x{h} of {data.size} bytes says {int(data[0]) + 1} colours"
        )
    bits = index_bits(n)
    packed = data[1 + 4 * n :].reshape(h, -1)
    if n == 2:
        # Text strokes on a flat background, the commonest rect: each byte
        # of indices becomes its 8 pixels in one look-up (no index to check).
        table = _two_colour_table(data[1:9].tobytes())
        pixels = table.take(packed, axis=0).reshape(h, -1)[:, :w]
        return pixels.view(np.uint8).reshape(h, w, 4)
    palette = data[1 : 1 + 4 * n].copy().view(np.uint32)
    if bits == 1:
        indices = np.unpackbits(packed, axis=1, count=w)
    elif bits == 8:
        indices = packed
    else:
        indices = _UNPACK[bits][packed].reshape(h, -1)[:, :w]
    if n < 1 << bits and int(indices.max()) >= n:
        raise RemoteProtocolError(f"palette rect {w}x{h} has an index beyond its {n} colours")
    # take: about a third faster than indexing with the small indices.
    return palette.take(indices).view(np.uint8).reshape(h, w, 4)


@functools.lru_cache(maxsize=TWO_COLOUR_TABLES)
def _two_colour_table(colours: bytes) -> Pixels:
    """For each byte of 1-bit indices, its 8 pixels of the two ``colours``
    (8 bytes: entry 0, entry 1); read-only, cached (a screen of text has
    few colour pairs, and building one costs as much as using it)."""
    table = np.asarray(np.frombuffer(colours, np.uint32).take(_UNPACK[1]), np.uint32)
    table.flags.writeable = False
    return table
