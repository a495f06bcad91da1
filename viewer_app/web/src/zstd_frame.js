/**
 * Checks a frame payload's blob as one zstd frame before anything is
 * decompressed (protocol/frames.py _check_zstd_frame, plus what
 * zstandard.get_frame_parameters refuses), and decompresses it into a buffer
 * of exactly the declared size.
 *
 * checkZstdFrame(blob, contentSize) refuses, with ProtocolError(BAD_MESSAGE):
 * a blob not starting with the zstd magic, a bad frame header (reserved bit
 * set, window over 2 GiB, cut short), a content size that is not set or not
 * `contentSize`, a dictionary id, a reserved block type or a block over
 * 128 KiB, a cut in any block, and any byte after the frame (its checksum
 * included). The block headers are walked, so this costs nothing per byte.
 * Because fzstd does not report how much it produced, the walk also refuses
 * blocks that cannot regenerate exactly `contentSize` bytes: raw and RLE
 * blocks whose sizes alone exceed it, or too few blocks to reach it.
 *
 * decompressExact(blob, contentSize) runs the page's zstd decoder, which
 * allocates exactly the declared content size (checked equal to
 * `contentSize`, so memory is bounded by the cap the caller checked), turns
 * any of its errors into ProtocolError, and refuses any output whose length
 * is not `contentSize`. The decoder is fzstd (pure JavaScript) until
 * useZstdDecoder installs a faster one: zstd_wasm.js's libzstd in
 * WebAssembly, when the browser allows it. Both are held to the same checks
 * and errors. libzstd refuses what Python's zstandard refuses; fzstd has two
 * known gaps, both harmless since the payload is authenticated by AES-GCM and
 * its sender could as well send any pixels: it does not notice every corrupt
 * compressed block that libzstd refuses (the picture is then wrong, never
 * larger), and it does not verify the optional content checksum.
 */

import { decompress } from "fzstd";

import { ProtocolError } from "./errors.js";

/**
 * A zstd decoder: `decompress(blob, contentSize)` decodes one frame that
 * checkZstdFrame accepted for `contentSize` bytes, and throws on any error.
 * @typedef {{name: string, decompress: (blob: Uint8Array, contentSize: number) => Uint8Array}} ZstdDecoder
 */

/**
 * fzstd, pure JavaScript: always available, the fallback. No output buffer is
 * given: fzstd allocates exactly the declared content size (checked equal to
 * contentSize) and decodes into it. (Given one, fzstd 0.1.1 compares it with
 * `== 1`, stringifying the whole array.)
 * @type {ZstdDecoder}
 */
export const FZSTD = Object.freeze({ name: "fzstd", decompress: (/** @type {Uint8Array} */ blob) => decompress(blob) });

/** The decoder decompressExact runs. */
let decoder = FZSTD;

/** Make `next` the decoder of every later decompressExact. @param {ZstdDecoder} next */
export function useZstdDecoder(next) {
  decoder = next;
}

/** The name of the decoder in use ("fzstd" or "wasm"). */
export function zstdDecoderName() {
  return decoder.name;
}

const MAGIC = 0xfd2fb528; // 28 b5 2f fd, little-endian
/** No zstd block, compressed or not, holds more than 128 KiB. */
const BLOCK_MAX = 128 * 1024;
const BLOCK_RAW = 0;
const BLOCK_RLE = 1;
const BLOCK_RESERVED = 3;
const CHECKSUM_SIZE = 4;
/** zstd's ZSTD_WINDOWLOG_MAX on 64-bit machines. */
const WINDOW_LOG_MAX = 31;

/** @param {string} problem */
function bad(problem) {
  return new ProtocolError(`frame blob ${problem}`);
}

/** Little-endian unsigned integer of `n` (at most 4) bytes. @param {Uint8Array} b @param {number} at @param {number} n */
function le(b, at, n) {
  let value = 0;
  for (let i = n - 1; i >= 0; i--) value = value * 256 + b[at + i];
  return value;
}

/**
 * Refuse a blob that is not exactly one zstd frame of `contentSize` bytes.
 * @param {Uint8Array} blob
 * @param {number} contentSize
 * @returns {{windowSize: number, compressedBlocks: number}}
 */
export function checkZstdFrame(blob, contentSize) {
  if (blob.length < 4 || le(blob, 0, 4) !== MAGIC) throw bad("is not a zstd frame");
  if (blob.length < 5) throw bad("has a bad zstd frame header");
  const descriptor = blob[4];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const hasChecksum = (descriptor >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][descriptor & 3];
  const fcsSize = [singleSegment, 2, 4, 8][fcsFlag];
  if (descriptor & 0x08) throw bad("has a bad zstd frame header");
  let offset = 5;
  let windowSize = Infinity;
  if (!singleSegment) {
    if (blob.length < 6) throw bad("has a bad zstd frame header");
    const exponent = blob[5] >> 3;
    if (10 + exponent > WINDOW_LOG_MAX) throw bad("has a bad zstd frame header");
    const base = 2 ** (10 + exponent);
    windowSize = base + (base / 8) * (blob[5] & 7);
    offset = 6;
  }
  if (blob.length < offset + dictIdSize + fcsSize) throw bad("has a bad zstd frame header");
  const dictId = le(blob, offset, dictIdSize);
  offset += dictIdSize;
  /** @type {number | null} declared content size; null when not set */
  let declared = null;
  if (fcsSize === 8) {
    // Anything at or over 2^32 is far beyond every cap: keep it unequal.
    declared = le(blob, offset + 4, 4) ? Infinity : le(blob, offset, 4);
  } else if (fcsSize > 0) {
    declared = le(blob, offset, fcsSize) + (fcsSize === 2 ? 256 : 0);
  }
  offset += fcsSize;
  if (singleSegment) windowSize = /** @type {number} */ (declared);
  if (declared !== contentSize) {
    throw bad(`declares ${declared === null ? "no content size" : `${declared} bytes`}, the rects ${contentSize}`);
  }
  if (dictId !== 0) throw bad("needs a zstd dictionary");

  const blockMax = Math.min(BLOCK_MAX, windowSize);
  let least = 0; // bytes the blocks regenerate at least (raw and RLE exactly)
  let most = 0; // and at most (a compressed block: up to blockMax)
  let compressedBlocks = 0;
  let last = false;
  while (!last) {
    if (offset + 3 > blob.length) throw bad("truncated");
    const word = le(blob, offset, 3);
    offset += 3;
    last = (word & 1) === 1;
    const type = (word >> 1) & 3;
    const size = word >>> 3;
    if (type === BLOCK_RESERVED || size > BLOCK_MAX) throw bad("has a bad zstd block");
    if (type === BLOCK_RAW || type === BLOCK_RLE) {
      least += size;
      most += size;
    } else {
      most += blockMax;
      compressedBlocks++;
    }
    offset += type === BLOCK_RLE ? 1 : size;
  }
  if (hasChecksum) offset += CHECKSUM_SIZE;
  if (offset !== blob.length) throw bad("truncated or followed by extra bytes");
  if (least > contentSize || most < contentSize) throw bad(`blocks cannot hold ${contentSize} bytes`);
  return { windowSize, compressedBlocks };
}

/**
 * Decompress a blob checkZstdFrame has accepted into exactly `contentSize` bytes.
 * @param {Uint8Array} blob
 * @param {number} contentSize
 * @returns {Uint8Array}
 */
export function decompressExact(blob, contentSize) {
  if (contentSize === 0) {
    // fzstd would size its buffer from the window descriptor: call no decoder.
    if (checkZstdFrame(blob, 0).compressedBlocks) throw bad("does not decompress to its declared size");
    return new Uint8Array(0);
  }
  let out;
  try {
    out = decoder.decompress(blob, contentSize);
  } catch {
    throw bad("does not decompress");
  }
  if (out.length !== contentSize) throw bad("does not decompress to its declared size");
  return out;
}
