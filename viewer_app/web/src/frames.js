/**
 * The frame payload inside a Frame's ciphertext (protocol/frames.py;
 * docs/protocol.md "Frame payload" and "Status frames"), all big-endian:
 *
 *   version u8 = 1 | flags u8 | seq u64 | capture_ns u64 | width u16 | height u16
 *   n_rects u32 | n_rects x (x u16, y u16, w u16, h u16, encoding u8, length u32)
 *   blob: one zstd frame, content size set, of the rects' data in order
 *
 * A rect's data: RAW_BGRX (0) w*h BGRX pixels; COPY (1) src_x u16, src_y u16,
 * a move: the w x h pixels at (src_x, src_y) of the picture as it stands
 * (earlier rects of the payload applied) are copied to (x, y), as if copied
 * out first when the two overlap (Screen.apply); JPEG (2) one baseline JPEG
 * of exactly w x h pixels (jpeg.js: decodeJpegRects before Screen.apply);
 * PALETTE (3) n-1 u8, n BGRX entries, rows of 1/2/4/8-bit indices
 * (palette.js; drawn by Screen.apply); DELTA_BGRX (4) w*h*4 bytes, each the
 * difference modulo 256 from the same byte of the pixel to its left (a
 * row's first pixel as it is), summed back up by Screen.apply.
 *
 * parsePayload(plaintext, {keyframe}) checks everything a Python viewer checks
 * (protocol/frames.py parse_frame, viewer_app/receiver.py, viewer_app/decoder.py
 * Canvas) before it decompresses, and throws ProtocolError otherwise:
 *  1. at most MAX_FRAME_MESSAGE bytes (MESSAGE_TOO_LARGE), at least the
 *     header; version 1; no flag bit but key frame, paused, hidden;
 *     1 <= width, height <= 8192;
 *  2. the payload's key frame flag equals the sealed header's (`keyframe`);
 *  3. n_rects at most min(MAX_RECTS, cap / 4) and the rect table inside the
 *     payload, cap = 4*width*height + 1 MiB;
 *  4. every rect non-empty, of a known encoding, raw and delta rects exactly w*h*4
 *     bytes, copy rects 4, JPEG rects 1..w*h*4 + JPEG_SLACK, palette rects
 *     1 + 4n + h*ceil(w*b/8) for some n in 1..256 (paletteEntries); inside the
 *     screen; no copy rect in a key frame;
 *     the lengths' running sum within the cap;
 *  5. the blob exactly one zstd frame whose content size is that sum
 *     (zstd_frame.js), so nothing larger than the cap is ever allocated;
 *  6. a status frame (flag paused or hidden, or a key frame with no rects)
 *     stops here: it is not decompressed and `data` is empty;
 *  7. a key frame's rects cover every pixel of the screen;
 *  8. the blob decompresses into exactly the sum of the lengths;
 *  9. every copy rect's source lies inside the screen (its `srcX`, `srcY`);
 * 10. every JPEG rect's header declares one baseline JPEG of the rect's size
 *     (jpeg.js jpegSize; its scan is decoded later, by decodeJpegRects);
 * 11. every palette rect's first byte gives the n its length implies and no
 *     index is n or more (palette.js checkPaletteRect).
 * Whether a delta fits the picture is Screen's business (screen.js).
 */

import { ErrorCode, ProtocolError } from "./errors.js";
import { FLAG_KEYFRAME, MAX_FRAME_MESSAGE } from "./wire.js";
import { checkZstdFrame, decompressExact } from "./zstd_frame.js";
import { checkJpegRect } from "./jpeg.js";
import { checkPaletteRect, paletteEntries } from "./palette.js";

export { Screen } from "./screen.js";

/** Value of the payload's version byte. */
export const FRAME_VERSION = 1;
/** Largest width or height of a shared screen. */
export const MAX_SCREEN_SIDE = 8192;
/** Slack over one full picture that the rects' data may total. */
export const RECT_DATA_SLACK = 1024 * 1024;
/** Most rects in one payload. */
export const MAX_RECTS = 65_536;
/** Payload flag: the presenter paused; viewers keep the last picture. */
export const FLAG_PAUSED = 0x02;
/** Payload flag: the presenter hid the screen; viewers show nothing. */
export const FLAG_HIDDEN = 0x04;
/** The flags of a status frame. */
export const STATUS_FLAGS = FLAG_PAUSED | FLAG_HIDDEN;
/** Flag bits this version knows; any other bit set is refused. */
export const KNOWN_FLAGS = FLAG_KEYFRAME | STATUS_FLAGS;
/** How one rect's bytes are stored in the blob. */
export const Encoding = Object.freeze({ RAW_BGRX: 0, COPY: 1, JPEG: 2, PALETTE: 3, DELTA_BGRX: 4 });
/** What a JPEG rect may hold beyond its raw size (headers, tables). */
export const JPEG_SLACK = 4096;
/** Size of a copy rect's data: src_x u16, src_y u16. */
export const COPY_SOURCE_SIZE = 4;
/** Size of the fixed header and of one rect table entry. */
export const HEADER_SIZE = 26;
export const RECT_SIZE = 13;

/**
 * @typedef {{x: number, y: number, w: number, h: number, encoding: number,
 *            offset: number, length: number, srcX?: number, srcY?: number}} Rect
 *   `offset` is where the rect's bytes start in `data`; a copy rect has its
 *   source in `srcX`, `srcY` once the blob is decompressed.
 * @typedef {{flags: number, seq: bigint, captureNs: bigint, width: number, height: number,
 *            rects: Rect[], data: Uint8Array, keyframe: boolean, paused: boolean,
 *            hidden: boolean, isStatus: boolean, images: Map<number, Uint8ClampedArray | Uint8Array>}} Payload
 *   `images`: each JPEG rect's RGBA by its offset, filled by jpeg.js decodeJpegRects.
 */

/** Cap on the sum of the rects' lengths for a screen of this size. @param {number} width @param {number} height */
export function maxRectData(width, height) {
  return 4 * width * height + RECT_DATA_SLACK;
}

/** @param {string} text */
function bad(text) {
  return new ProtocolError(text);
}

/**
 * Refuse a key frame whose rects leave a pixel uncovered.
 * @param {number} width @param {number} height @param {Rect[]} rects
 */
function checkCoverage(width, height, rects) {
  const pixels = width * height;
  let area = 0;
  for (const r of rects) area += r.w * r.h;
  if (area < pixels) throw bad("key frame does not cover the whole screen");
  if (rects.some((r) => r.w === width && r.h === height)) return; // one rect is the screen
  const mask = new Uint8Array(pixels);
  for (const r of rects) {
    let at = r.y * width + r.x;
    for (let row = 0; row < r.h; row++, at += width) mask.fill(1, at, at + r.w);
  }
  if (mask.indexOf(0) !== -1) throw bad("key frame does not cover the whole screen");
}

/**
 * Check, and decompress unless it is a status frame, one decrypted payload.
 * @param {Uint8Array} plaintext
 * @param {{keyframe: boolean}} sealed the sealed header's key frame flag
 * @returns {Payload}
 */
export function parsePayload(plaintext, { keyframe }) {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError("parsePayload takes a Uint8Array");
  if (typeof keyframe !== "boolean") throw new TypeError("parsePayload needs the sealed header's keyframe flag");
  const size = plaintext.length;
  if (size > MAX_FRAME_MESSAGE) throw new ProtocolError("frame payload too large", ErrorCode.MESSAGE_TOO_LARGE);
  if (size < HEADER_SIZE) throw bad("frame payload shorter than its header");
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, size);
  const version = view.getUint8(0);
  const flags = view.getUint8(1);
  const width = view.getUint16(18);
  const height = view.getUint16(20);
  const nRects = view.getUint32(22);
  if (version !== FRAME_VERSION) throw bad(`unknown frame payload version ${version}`);
  if (flags & ~KNOWN_FLAGS) throw bad(`unknown frame flags 0x${flags.toString(16)}`);
  if (!(width >= 1 && width <= MAX_SCREEN_SIDE && height >= 1 && height <= MAX_SCREEN_SIDE)) {
    throw bad(`screen size ${width}x${height} outside 1..${MAX_SCREEN_SIDE}`);
  }
  if (Boolean(flags & FLAG_KEYFRAME) !== keyframe) throw bad("key frame flags of header and payload disagree");

  const cap = maxRectData(width, height);
  if (nRects > Math.min(Math.floor(cap / 4), MAX_RECTS)) {
    throw bad(`${nRects} rects cannot fit a ${width}x${height} screen`);
  }
  const blobStart = HEADER_SIZE + nRects * RECT_SIZE;
  if (blobStart > size) throw bad("frame payload shorter than its rect table");

  /** @type {Rect[]} */
  const rects = new Array(nRects);
  let total = 0;
  for (let i = 0, at = HEADER_SIZE; i < nRects; i++, at += RECT_SIZE) {
    const x = view.getUint16(at);
    const y = view.getUint16(at + 2);
    const w = view.getUint16(at + 4);
    const h = view.getUint16(at + 6);
    const encoding = view.getUint8(at + 8);
    const length = view.getUint32(at + 9);
    if (w < 1 || h < 1) throw bad(`rect size ${w}x${h} is empty or out of range`);
    if (encoding === Encoding.RAW_BGRX || encoding === Encoding.DELTA_BGRX) {
      if (length !== w * h * 4) throw bad(`raw rect ${w}x${h} must hold ${w * h * 4} bytes, not ${length}`);
    } else if (encoding === Encoding.COPY) {
      if (length !== COPY_SOURCE_SIZE) throw bad(`copy rect must hold ${COPY_SOURCE_SIZE} bytes, not ${length}`);
    } else if (encoding === Encoding.JPEG) {
      const most = w * h * 4 + JPEG_SLACK;
      if (length < 1 || length > most) throw bad(`JPEG rect ${w}x${h} may hold 1..${most} bytes, not ${length}`);
    } else if (encoding === Encoding.PALETTE) {
      if (paletteEntries(w, h, length) === 0) throw bad(`palette rect ${w}x${h} cannot hold ${length} bytes`);
    } else {
      throw bad(`unknown rect encoding ${encoding}`);
    }
    if (x + w > width || y + h > height) {
      throw bad(`rect ${w}x${h}+${x}+${y} outside the ${width}x${height} screen`);
    }
    if (encoding === Encoding.COPY && keyframe) throw bad("a key frame holds no copy rect");
    rects[i] = { x, y, w, h, encoding, offset: total, length };
    total += length;
    if (total > cap) throw bad("rects hold more bytes than the screen allows");
  }

  const blob = plaintext.subarray(blobStart);
  checkZstdFrame(blob, total);

  const paused = Boolean(flags & FLAG_PAUSED);
  const hidden = Boolean(flags & FLAG_HIDDEN);
  const isStatus = paused || hidden || (keyframe && nRects === 0);
  const payload = {
    flags,
    seq: view.getBigUint64(2),
    captureNs: view.getBigUint64(10),
    width,
    height,
    rects,
    data: new Uint8Array(0),
    keyframe,
    paused,
    hidden,
    isStatus,
    images: new Map(),
  };
  if (isStatus) return payload;
  if (keyframe) checkCoverage(width, height, rects);
  const data = decompressExact(blob, total);
  for (const r of rects) {
    if (r.encoding === Encoding.JPEG) checkJpegRect(data.subarray(r.offset, r.offset + r.length), r);
    if (r.encoding === Encoding.PALETTE) checkPaletteRect(data.subarray(r.offset, r.offset + r.length), r);
    if (r.encoding !== Encoding.COPY) continue;
    const srcX = (data[r.offset] << 8) | data[r.offset + 1];
    const srcY = (data[r.offset + 2] << 8) | data[r.offset + 3];
    if (srcX + r.w > width || srcY + r.h > height) {
      throw bad(`copy source ${r.w}x${r.h}+${srcX}+${srcY} outside the ${width}x${height} screen`);
    }
    r.srcX = srcX;
    r.srcY = srcY;
  }
  payload.data = data;
  return payload;
}
