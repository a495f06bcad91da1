/**
 * PALETTE rects (encoding 3; protocol/palette.py, docs/protocol.md
 * "Palette rects"): few colours, exactly.
 *
 *   n-1 u8 | n x (blue, green, red, X) | h rows of w indices, b bits each
 *
 * b is 1, 2, 4 or 8 for n <= 2, 4, 16, 256; each row is packed most
 * significant bits first and padded to a whole byte, so the data is exactly
 * 1 + 4n + h*ceil(w*b/8) bytes. As protocol/palette.py, a viewer refuses
 * (ProtocolError):
 *  1. a length that is no such size for any n in 1..256 (paletteEntries,
 *     checked by frames.js before decompressing);
 *  2. a first byte that disagrees with the length's n;
 *  3. an index n or more (padding bits are not indices and are ignored);
 * 2 and 3 lie in the compressed blob: checkPaletteRect, once it is
 * decompressed and before anything is drawn. drawPaletteRect then draws the
 * rect into the RGBA picture (alpha 255, like every rect).
 */

import { ProtocolError } from "./errors.js";

/** The rect encoding (frames.js Encoding.PALETTE; frames.js imports this module). */
export const PALETTE = 3;

/** [bits per index, smallest n, largest n] of each index width. */
const WIDTHS = [
  [1, 1, 2],
  [2, 3, 4],
  [4, 5, 16],
  [8, 17, 256],
];

/** Bits per index of a palette of `n` (1..256) entries. @param {number} n */
export function indexBits(n) {
  return n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
}

/**
 * The n for which a w x h PALETTE rect's data is `length` bytes, or 0 if
 * none (the length grows strictly with n, so at most one n fits).
 * @param {number} w @param {number} h @param {number} length
 */
export function paletteEntries(w, h, length) {
  for (const [bits, low, high] of WIDTHS) {
    const rest = length - 1 - h * Math.ceil((w * bits) / 8);
    if (rest % 4 === 0 && rest / 4 >= low && rest / 4 <= high) return rest / 4;
  }
  return 0;
}

/** For 1-, 2- and 4-bit indices: the largest index each byte value packs. */
const MAX_INDEX = Object.fromEntries(
  [1, 2, 4].map((bits) => {
    const table = new Uint8Array(256);
    const mask = (1 << bits) - 1;
    for (let v = 0; v < 256; v++) {
      for (let shift = 8 - bits; shift >= 0; shift -= bits) table[v] = Math.max(table[v], (v >> shift) & mask);
    }
    return [bits, table];
  }),
);

/**
 * Refuse a PALETTE rect whose first byte or an index breaks the rules above.
 * @param {Uint8Array} bytes exactly the rect's data
 * @param {{w: number, h: number}} r
 */
export function checkPaletteRect(bytes, r) {
  const n = paletteEntries(r.w, r.h, bytes.length);
  if (n === 0 || bytes[0] + 1 !== n) {
    throw new ProtocolError(`palette rect ${r.w}x${r.h} of ${bytes.length} bytes says ${bytes[0] + 1} colours`);
  }
  const bits = indexBits(n);
  if (n === 1 << bits) return; // every index is in the palette
  const rowBytes = Math.ceil((r.w * bits) / 8);
  const start = 1 + 4 * n;
  let most = 0;
  if (bits === 8) {
    for (let i = start; i < bytes.length; i++) if (bytes[i] > most) most = bytes[i];
  } else {
    const table = MAX_INDEX[bits];
    // The last byte of a row: its padding bits (the low ones) masked off.
    const used = r.w * bits - (rowBytes - 1) * 8;
    const lastMask = (0xff << (8 - used)) & 0xff;
    for (let row = 0, at = start; row < r.h; row++, at += rowBytes) {
      const last = at + rowBytes - 1;
      for (let i = at; i < last; i++) if (table[bytes[i]] > most) most = table[bytes[i]];
      if (table[bytes[last] & lastMask] > most) most = table[bytes[last] & lastMask];
    }
  }
  if (most >= n) throw new ProtocolError(`palette rect ${r.w}x${r.h} has an index beyond its ${n} colours`);
}

/**
 * Draw a checked PALETTE rect into the RGBA picture.
 * @param {Uint8Array} data the decompressed blob
 * @param {{x: number, y: number, w: number, h: number, offset: number, length: number}} r
 * @param {Uint8ClampedArray} rgba the picture @param {number} stride its width
 */
export function drawPaletteRect(data, r, rgba, stride) {
  const n = data[r.offset] + 1;
  const bits = indexBits(n);
  // The palette as RGBA words in this machine's byte order, like `dst`.
  const colours = new Uint8Array(4 * n);
  for (let i = 0, at = r.offset + 1; i < n; i++, at += 4) {
    colours[4 * i] = data[at + 2];
    colours[4 * i + 1] = data[at + 1];
    colours[4 * i + 2] = data[at];
    colours[4 * i + 3] = 255;
  }
  const words = new Uint32Array(colours.buffer);
  const dst = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >>> 2);
  const rowBytes = Math.ceil((r.w * bits) / 8);
  const mask = (1 << bits) - 1;
  let at = r.offset + 1 + 4 * n;
  for (let row = 0; row < r.h; row++, at += rowBytes) {
    const d = (r.y + row) * stride + r.x;
    if (bits === 8) {
      for (let i = 0; i < r.w; i++) dst[d + i] = words[data[at + i]];
      continue;
    }
    for (let i = 0, bit = 0; i < r.w; i++, bit += bits) {
      const byte = data[at + (bit >>> 3)];
      dst[d + i] = words[(byte >>> (8 - bits - (bit & 7))) & mask];
    }
  }
}
