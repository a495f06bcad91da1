// Tests of src/frames.js, src/zstd_frame.js and src/screen.js: the golden
// payload of tests/golden/make_frame_golden.py parses and composes to its
// pixels, and the move payload (copy rects) composes on it as the Python
// viewer composes it; every mutation of either gets a Python viewer's verdict
// (tests/golden/frame_payload.json, frame_move_payload.json, made by
// make_web_expectations.py); every
// cap, zstd bombs refused before decompressing, status frames, and Screen.
// This file runs on the WebAssembly zstd decoder (libzstd, zstd_wasm.js);
// frames_fzstd.test.js runs it again on the fzstd fallback.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { ErrorCode, ProtocolError } from "../src/errors.js";
import {
  FLAG_HIDDEN,
  FLAG_PAUSED,
  HEADER_SIZE,
  MAX_RECTS,
  MAX_SCREEN_SIDE,
  Screen,
  maxRectData,
  parsePayload,
} from "../src/frames.js";
import { decodeJpegRects, jpegSize } from "../src/jpeg.js";
import { MAX_FRAME_MESSAGE } from "../src/wire.js";
import { FZSTD, checkZstdFrame, useZstdDecoder, zstdDecoderName } from "../src/zstd_frame.js";
import { loadWasmZstd } from "../src/zstd_wasm.js";

/** The zstd decoder under test: "wasm" unless frames_fzstd.test.js set it. */
const DECODER = /** @type {any} */ (globalThis).screenrelayTestZstd ?? "wasm";
useZstdDecoder(DECODER === "wasm" ? await loadWasmZstd({ url: null }) : FZSTD);
assert.equal(zstdDecoderName(), DECODER);
/** libzstd refuses what Python's zstandard refuses; fzstd has two gaps (zstd_frame.js). */
const LIBZSTD = DECODER === "wasm";

const GOLDEN = new URL("../../../tests/golden/", import.meta.url);
/** @type {any} */
const EXPECTED = JSON.parse(readFileSync(new URL("frame_payload.json", GOLDEN), "utf8"));
const GOLDEN_BYTES = new Uint8Array(readFileSync(new URL("frame_payload.bin", GOLDEN)));
/** @type {any} */
const MOVE = JSON.parse(readFileSync(new URL("frame_move_payload.json", GOLDEN), "utf8"));
const MOVE_BYTES = new Uint8Array(readFileSync(new URL("frame_move_payload.bin", GOLDEN)));
/** @type {any} */
const JPEG = JSON.parse(readFileSync(new URL("frame_jpeg_payload.json", GOLDEN), "utf8"));
const JPEG_BYTES = new Uint8Array(readFileSync(new URL("frame_jpeg_payload.bin", GOLDEN)));
/** @type {any} */
const PALETTE = JSON.parse(readFileSync(new URL("frame_palette_payload.json", GOLDEN), "utf8"));
const PALETTE_BYTES = new Uint8Array(readFileSync(new URL("frame_palette_payload.bin", GOLDEN)));
/** make_web_expectations.py's stand-in JPEG decoder: every pixel JPEG_STUB (BGRX) as RGBA. */
const stubDecoder = async (/** @type {Uint8Array} */ _bytes, /** @type {number} */ w, /** @type {number} */ h) => {
  const [b, g, r, a] = JPEG.jpegStub;
  const out = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < out.length; i += 4) out.set([r, g, b, a], i);
  return out;
};
const CODES = "0123456789abcdefghijklmnopqrstuvwxyz";
/** zstandard.ZstdCompressor(write_content_size=True).compress(b""), as status_frame() sends it. */
const EMPTY_ZSTD = hex("28b52ffd2000010000");
/** zstandard.ZstdCompressor(write_content_size=True, write_checksum=True).compress(bytes([9]) * 32). */
const CHECKSUMMED_32_NINES = hex("28b52ffd2420450000100909010022c0029931dd9a");

/** @param {string} text */
function hex(text) {
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** @param {Uint8Array | Uint8ClampedArray} bytes */
function toHex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** BGRX (Python's picture) -> RGBA with alpha 255 (the Screen's). @param {Uint8Array} bgrx */
function rgbaOf(bgrx) {
  const out = new Uint8Array(bgrx.length);
  for (let i = 0; i < bgrx.length; i += 4) out.set([bgrx[i + 2], bgrx[i + 1], bgrx[i], 255], i);
  return out;
}

/**
 * @param {() => unknown} fn @param {number} [code] @param {RegExp} [text]
 */
function refuses(fn, code = ErrorCode.BAD_MESSAGE, text) {
  assert.throws(fn, (/** @type {any} */ exc) => {
    assert.ok(exc instanceof ProtocolError, `not a ProtocolError: ${exc}`);
    assert.equal(exc.code, code, exc.message);
    if (text) assert.match(exc.message, text);
    return true;
  });
}

/**
 * A zstd frame of raw blocks (at most 128 KiB each), content size set.
 * @param {Uint8Array} data
 * @param {{declared?: number, checksum?: boolean, blockSize?: number}} [options]
 */
function rawZstd(data, { declared = data.length, checksum = false, blockSize = 128 * 1024 } = {}) {
  const parts = [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0 | (checksum ? 4 : 0)]), le32(declared)];
  let at = 0;
  do {
    const size = Math.min(blockSize, data.length - at);
    const last = at + size >= data.length ? 1 : 0;
    const word = last | (size << 3);
    parts.push(new Uint8Array([word & 0xff, (word >> 8) & 0xff, word >> 16]), data.subarray(at, at + size));
    at += size;
  } while (at < data.length);
  if (checksum) parts.push(new Uint8Array(4)); // wrong: only fzstd accepts it (documented)
  return concat(parts);
}

/** @param {number} n */
function le32(n) {
  return new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]);
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A payload: header, rect table, then `blob` (default: raw zstd of `data`,
 * default data: each rect's pixels filled with a pattern).
 * @param {{flags?: number, width: number, height: number, rects: Array<{x: number, y: number, w: number, h: number, encoding?: number, length?: number}>,
 *          data?: Uint8Array, blob?: Uint8Array, version?: number, nRects?: number}} p
 */
function payload({ flags = 1, width, height, rects, data, blob, version = 1, nRects = rects.length }) {
  const head = new Uint8Array(HEADER_SIZE + rects.length * 13);
  const view = new DataView(head.buffer);
  view.setUint8(0, version);
  view.setUint8(1, flags);
  view.setBigUint64(2, 42n);
  view.setBigUint64(10, 1_700_000_000_000_000_000n);
  view.setUint16(18, width);
  view.setUint16(20, height);
  view.setUint32(22, nRects);
  let total = 0;
  rects.forEach((r, i) => {
    const at = HEADER_SIZE + 13 * i;
    const length = r.length ?? r.w * r.h * 4;
    view.setUint16(at, r.x);
    view.setUint16(at + 2, r.y);
    view.setUint16(at + 4, r.w);
    view.setUint16(at + 6, r.h);
    view.setUint8(at + 8, r.encoding ?? 0);
    view.setUint32(at + 9, length);
    total += length;
  });
  if (blob === undefined) {
    if (data === undefined) {
      data = new Uint8Array(total);
      for (let i = 0; i < total; i++) data[i] = (i * 7 + 3) & 0xff;
    }
    blob = rawZstd(data);
  }
  return concat([head, blob]);
}

/** The Screen after the golden key frame (or the key frame `start`). */
function goldenScreen(start = GOLDEN_BYTES) {
  const screen = new Screen();
  screen.apply(parsePayload(start, { keyframe: true }));
  return screen;
}

describe("the golden payload", () => {
  test("parses to make_frame_golden.py's header, rects and pixels", () => {
    assert.equal(toHex(GOLDEN_BYTES), EXPECTED.hex, "frame_payload.json is stale: run make_web_expectations.py");
    const p = parsePayload(GOLDEN_BYTES, { keyframe: true });
    const h = EXPECTED.header;
    assert.deepEqual(
      { flags: p.flags, seq: p.seq, captureNs: p.captureNs, width: p.width, height: p.height },
      { flags: h.flags, seq: BigInt(h.seq), captureNs: BigInt(h.captureNs), width: h.width, height: h.height },
    );
    assert.deepEqual(p.rects, EXPECTED.rects);
    assert.equal(toHex(p.data), EXPECTED.pixels);
    assert.deepEqual([p.keyframe, p.paused, p.hidden, p.isStatus], [true, false, false, false]);
  });

  test("composes to the expected RGBA picture", () => {
    const screen = new Screen();
    const result = screen.apply(parsePayload(GOLDEN_BYTES, { keyframe: true }));
    assert.deepEqual(result, { resized: true, dirty: [{ x: 0, y: 0, w: 5, h: 3 }] });
    assert.equal([screen.width, screen.height, screen.rgba.length].join(), "5,3,60");
    assert.ok(screen.rgba instanceof Uint8ClampedArray);
    // make_frame_golden.py: rows 0-1 BGRX 10 20 30 00, row 2 bytes (7*i + 3) % 256.
    const want = [];
    for (let i = 0; i < 10; i++) want.push(0x30, 0x20, 0x10, 255);
    for (let i = 0; i < 20; i += 4) {
      const b = (k) => (7 * (i + k) + 3) % 256;
      want.push(b(2), b(1), b(0), 255);
    }
    assert.deepEqual([...screen.rgba], want);
    assert.deepEqual([...screen.rgba], [...rgbaOf(hex(EXPECTED.picture))]);
  });

  test("the sealed header's key frame flag must match the payload's", () => {
    refuses(() => parsePayload(GOLDEN_BYTES, { keyframe: false }), ErrorCode.BAD_MESSAGE, /key frame flags of header and payload disagree/);
    const delta = GOLDEN_BYTES.slice();
    delta[1] = 0;
    refuses(() => parsePayload(delta, { keyframe: true }), ErrorCode.BAD_MESSAGE, /disagree/);
    assert.throws(() => parsePayload(GOLDEN_BYTES, /** @type {any} */ ({})), TypeError);
  });
});

/** @type {Record<string, (d: Uint8Array) => Uint8Array[]>} */
const MUTATIONS = {
  truncated: (d) => Array.from({ length: d.length }, (_, n) => d.slice(0, n)),
  extended: (d) => [concat([d, new Uint8Array(1)])],
  set00: (d) => edits(d, () => 0x00),
  setff: (d) => edits(d, () => 0xff),
  xor01: (d) => edits(d, (b) => b ^ 0x01),
  xor80: (d) => edits(d, (b) => b ^ 0x80),
};

/** @param {Uint8Array} d @param {(b: number) => number} edit */
function edits(d, edit) {
  return Array.from(d, (b, i) => {
    const m = d.slice();
    m[i] = edit(b);
    return m;
  });
}

/**
 * Where a golden blob's one zstd block holds its content, if compressed.
 * @param {Uint8Array} bytes @param {any} expected
 */
function compressedBlockContent(bytes, expected) {
  const blob = HEADER_SIZE + 13 * expected.rects.length;
  const descriptor = bytes[blob + 4];
  assert.ok(descriptor === 0x20 || descriptor === 0x60, "single segment, 1- or 2-byte content size");
  const block = blob + (descriptor === 0x20 ? 6 : 7);
  const word = bytes[block] | (bytes[block + 1] << 8) | (bytes[block + 2] << 16);
  if (((word >> 1) & 3) !== 2) return { start: 0, end: 0 }; // a raw block: no gap possible
  return { start: block + 3, end: block + 3 + (word >>> 3) };
}

// The palette payload's mutations are judged on a viewer already showing its
// picture (make_web_expectations.py palette_frame_verdict).
for (const [label, bytes, expected, start] of /** @type {Array<[string, Uint8Array, any, Uint8Array]>} */ ([
  ["golden", GOLDEN_BYTES, EXPECTED, GOLDEN_BYTES],
  ["move", MOVE_BYTES, MOVE, GOLDEN_BYTES],
  ["JPEG", JPEG_BYTES, JPEG, GOLDEN_BYTES],
  ["palette", PALETTE_BYTES, PALETTE, PALETTE_BYTES],
])) {
  test(`every mutation of the ${label} payload gets a Python viewer's verdict`, async () => {
    const content = compressedBlockContent(bytes, expected);
    const golden = toHex(goldenScreen(start).rgba);
    /** @type {string[]} */
    const gaps = [];
    for (const [name, make] of Object.entries(MUTATIONS)) {
      const want = expected.mutations[name];
      for (const [index, data] of make(bytes).entries()) {
        const screen = goldenScreen(start);
        const keyframe = data.length > 1 ? Boolean(data[1] & 1) : true;
        let got;
        try {
          const p = parsePayload(data, { keyframe });
          if (p.isStatus) got = "s";
          else {
            await decodeJpegRects(p, stubDecoder);
            screen.apply(p);
            got = "accepted";
          }
        } catch (exc) {
          if (!(exc instanceof ProtocolError)) throw new Error(`${name}:${index}: ${exc}`);
          got = CODES[exc.code];
        }
        const python = want[index];
        const where = `${name}:${index}`;
        if (python === "." || python === "~") {
          assert.equal(got, "accepted", where);
          const picture = python === "." ? golden : toHex(rgbaOf(hex(expected.changed[where])));
          assert.equal(toHex(screen.rgba), picture, where);
        } else if (!LIBZSTD && got === "accepted" && python === "1" && name !== "truncated" && index >= content.start && index < content.end) {
          // The known gap: fzstd does not notice every corrupt compressed block
          // that libzstd refuses (see zstd_frame.js); the picture is just wrong.
          gaps.push(where);
        } else {
          assert.equal(got, python, where);
        }
      }
    }
    assert.ok(gaps.length <= 16, `${gaps.length} gaps: ${gaps}`); // none with libzstd
  });
}

describe("the palette payload (palette rects of 1, 2, 4 and 8 bits, a raw and a delta rect)", () => {
  test("parses to make_frame_golden.py's rects and composes to the Python viewer's picture", () => {
    assert.equal(toHex(PALETTE_BYTES), PALETTE.hex, "frame_palette_payload.json is stale: run make_web_expectations.py");
    const p = parsePayload(PALETTE_BYTES, { keyframe: true });
    assert.deepEqual(p.rects, PALETTE.rects);
    assert.deepEqual(p.rects.map((r) => r.encoding), [3, 3, 3, 3, 3, 0, 4]);
    assert.equal(toHex(p.data), PALETTE.pixels);
    const screen = goldenScreen();
    assert.deepEqual(screen.apply(p), { resized: true, dirty: [{ x: 0, y: 0, w: 12, h: 5 }] });
    assert.equal(toHex(screen.rgba), toHex(rgbaOf(hex(PALETTE.picture))));
  });

  test("a first byte that disagrees with the length, or an index past the palette, is refused", () => {
    const p = parsePayload(PALETTE_BYTES, { keyframe: true });
    /** @param {number} at @param {number} value */
    const withByte = (at, value) => {
      const data = p.data.slice();
      data[at] = value;
      return payload({ width: 12, height: 5, rects: p.rects, data });
    };
    const [one, two, three, sixteen, seventeen] = p.rects;
    // n = 1: any set bit among the 12 indices is index 1; padding bits are not indices.
    refuses(() => parsePayload(withByte(one.offset + 5, 0x80), { keyframe: true }), ErrorCode.BAD_MESSAGE, /index beyond its 1 colours/);
    refuses(() => parsePayload(withByte(one.offset + 6, 0x80), { keyframe: true }), ErrorCode.BAD_MESSAGE, /index beyond/);
    refuses(() => parsePayload(withByte(one.offset + 6, 0x10), { keyframe: true }), ErrorCode.BAD_MESSAGE, /index beyond/);
    parsePayload(withByte(one.offset + 6, 0x0f), { keyframe: true });
    // n = 3 at 2 bits: index 3 is refused, in the first or the last pixel of a row.
    refuses(() => parsePayload(withByte(three.offset + 13, 0xc0), { keyframe: true }), ErrorCode.BAD_MESSAGE, /beyond its 3 colours/);
    refuses(() => parsePayload(withByte(three.offset + 14, 0x30), { keyframe: true }), ErrorCode.BAD_MESSAGE, /beyond its 3 colours/);
    refuses(() => parsePayload(withByte(three.offset + 15, 0xc0), { keyframe: true }), ErrorCode.BAD_MESSAGE, /beyond its 3 colours/);
    parsePayload(withByte(three.offset + 15, 0x3f), { keyframe: true }); // padding
    // n = 16 at 4 bits: every index is valid.
    parsePayload(withByte(sixteen.offset + 65, 0xff), { keyframe: true });
    // n = 17 at 8 bits: 17 is refused, 16 is not.
    refuses(() => parsePayload(withByte(seventeen.offset + 69, 17), { keyframe: true }), ErrorCode.BAD_MESSAGE, /beyond its 17 colours/);
    parsePayload(withByte(seventeen.offset + 69, 16), { keyframe: true });
    // The first byte must say the n the length implies.
    refuses(() => parsePayload(withByte(two.offset, 0), { keyframe: true }), ErrorCode.BAD_MESSAGE, /palette rect 3x2 of 11 bytes says 1 colours/);
  });
});

describe("the JPEG payload (a JPEG rect, a copy reading it, a raw rect)", () => {
  test("parses to make_frame_golden.py's rects, the JPEG's size checked", () => {
    assert.equal(toHex(JPEG_BYTES), JPEG.hex, "frame_jpeg_payload.json is stale: run make_web_expectations.py");
    const p = parsePayload(JPEG_BYTES, { keyframe: false });
    assert.deepEqual(p.rects, JPEG.rects);
    assert.equal(toHex(p.data), JPEG.pixels);
    assert.deepEqual(jpegSize(p.data.subarray(0, p.rects[0].length)), { width: 4, height: 3 });
  });

  test("composes, JPEG decoded first, as the Python viewer does with Pillow's pixels", async () => {
    const screen = goldenScreen();
    const p = parsePayload(JPEG_BYTES, { keyframe: false });
    assert.throws(() => goldenScreen().apply(p), /before decodeJpegRects/);
    const calls = [];
    await decodeJpegRects(p, async (bytes, w, h) => {
      calls.push([bytes.length, w, h]);
      return hex(JPEG.jpegRgba);
    });
    assert.deepEqual(calls, [[JPEG.rects[0].length, 4, 3]]);
    screen.apply(p);
    assert.equal(toHex(screen.rgba), toHex(rgbaOf(hex(JPEG.picture))));
  });

  test("a JPEG that does not decode, or decodes to another size, is refused", async () => {
    for (const decode of [async () => { throw new Error("corrupt"); }, async () => new Uint8ClampedArray(4)]) {
      const p = parsePayload(JPEG_BYTES, { keyframe: false });
      await assert.rejects(decodeJpegRects(p, decode), (/** @type {any} */ exc) => exc instanceof ProtocolError && /JPEG rect/.test(exc.message));
    }
  });

  test("jpegSize refuses what is not one baseline JPEG", () => {
    const p = parsePayload(JPEG_BYTES, { keyframe: false });
    const jpeg = p.data.slice(0, p.rects[0].length);
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
    const progressive = jpeg.slice();
    progressive[sof + 1] = 0xc2;
    refuses(() => jpegSize(progressive), ErrorCode.BAD_MESSAGE, /not one baseline JPEG/);
    refuses(() => jpegSize(new Uint8Array([0x89, 0x50, 0x4e, 0x47])), ErrorCode.BAD_MESSAGE, /does not start with a JPEG header/);
    refuses(() => jpegSize(jpeg.subarray(0, sof + 4)), ErrorCode.BAD_MESSAGE, /bad segment length/);
    const twelveBit = jpeg.slice();
    twelveBit[sof + 4] = 12;
    refuses(() => jpegSize(twelveBit), ErrorCode.BAD_MESSAGE, /8-bit/);
  });
});

describe("the move payload (copy rects)", () => {
  test("parses to make_frame_golden.py's rects with their sources", () => {
    assert.equal(toHex(MOVE_BYTES), MOVE.hex, "frame_move_payload.json is stale: run make_web_expectations.py");
    const p = parsePayload(MOVE_BYTES, { keyframe: false });
    assert.deepEqual(p.rects, MOVE.rects);
    assert.equal(toHex(p.data), MOVE.pixels);
    assert.deepEqual([p.keyframe, p.isStatus, p.seq], [false, false, BigInt(MOVE.header.seq)]);
  });

  test("composes on the golden picture as the Python viewer does, in order, overlaps memmoved", () => {
    const screen = goldenScreen();
    const result = screen.apply(parsePayload(MOVE_BYTES, { keyframe: false }));
    assert.deepEqual(result.dirty, MOVE.rects.map((/** @type {any} */ { x, y, w, h }) => ({ x, y, w, h })));
    assert.equal(toHex(screen.rgba), toHex(rgbaOf(hex(MOVE.picture))));
  });

  test("copies up, down, left and right of themselves", () => {
    // A 6x6 picture of distinct pixels; each move checked against a naive copy.
    for (const [dx, dy] of [[0, 1], [0, -1], [1, 0], [-1, 0], [2, 2], [-2, -1]]) {
      const screen = new Screen();
      const key = payload({ width: 6, height: 6, rects: [{ x: 0, y: 0, w: 6, h: 6 }] });
      screen.apply(parsePayload(key, { keyframe: true }));
      const before = Uint32Array.from(new Uint32Array(screen.rgba.buffer));
      const [x, y, w, h] = [Math.max(0, dx), Math.max(0, dy), 6 - Math.abs(dx), 6 - Math.abs(dy)];
      const [srcX, srcY] = [x - dx, y - dy];
      const move = payload({
        width: 6, height: 6, flags: 0, rects: [{ x, y, w, h, encoding: 1, length: 4 }],
        data: new Uint8Array([srcX >> 8, srcX & 255, srcY >> 8, srcY & 255]),
      });
      screen.apply(parsePayload(move, { keyframe: false }));
      const after = new Uint32Array(screen.rgba.buffer);
      for (let row = 0; row < 6; row++) {
        for (let col = 0; col < 6; col++) {
          const inside = col >= x && col < x + w && row >= y && row < y + h;
          const want = inside ? before[(row - dy) * 6 + col - dx] : before[row * 6 + col];
          assert.equal(after[row * 6 + col], want, `${dx},${dy} at ${col},${row}`);
        }
      }
    }
  });

  test("a copy source outside the screen, or a copy in a key frame, is refused", () => {
    const rects = [{ x: 0, y: 0, w: 4, h: 2, encoding: 1, length: 4 }];
    for (const [srcX, srcY] of [[2, 0], [0, 3], [65535, 0]]) {
      const data = new Uint8Array([srcX >> 8, srcX & 255, srcY >> 8, srcY & 255]);
      refuses(() => parsePayload(payload({ width: 5, height: 3, flags: 0, rects, data }), { keyframe: false }), ErrorCode.BAD_MESSAGE, /copy source 4x2\+\d+\+\d+ outside the 5x3 screen/);
    }
    const ok = parsePayload(payload({ width: 5, height: 3, flags: 0, rects, data: new Uint8Array([0, 1, 0, 1]) }), { keyframe: false });
    assert.deepEqual([ok.rects[0].srcX, ok.rects[0].srcY], [1, 1]);
    const inKey = [{ x: 0, y: 0, w: 5, h: 3 }, { x: 0, y: 0, w: 1, h: 1, encoding: 1, length: 4 }];
    refuses(() => parsePayload(payload({ width: 5, height: 3, rects: inKey }), { keyframe: true }), ErrorCode.BAD_MESSAGE, /a key frame holds no copy rect/);
  });
});

describe("caps, checked before anything is decompressed", () => {
  const one = { width: 4, height: 2, rects: [{ x: 0, y: 0, w: 4, h: 2 }] };

  test("size, header, version, flags, screen size", () => {
    const huge = new Uint8Array(MAX_FRAME_MESSAGE + 1);
    refuses(() => parsePayload(huge, { keyframe: false }), ErrorCode.MESSAGE_TOO_LARGE, /frame payload too large/);
    refuses(() => parsePayload(new Uint8Array(HEADER_SIZE - 1), { keyframe: false }), ErrorCode.BAD_MESSAGE, /shorter than its header/);
    refuses(() => parsePayload(payload({ ...one, version: 2 }), { keyframe: true }), ErrorCode.BAD_MESSAGE, /unknown frame payload version 2/);
    for (const flags of [0x08, 0x10, 0x80, 0x09]) {
      refuses(() => parsePayload(payload({ ...one, flags }), { keyframe: Boolean(flags & 1) }), ErrorCode.BAD_MESSAGE, /unknown frame flags/);
    }
    for (const [width, height] of [[0, 1], [1, 0], [MAX_SCREEN_SIDE + 1, 1], [1, MAX_SCREEN_SIDE + 1]]) {
      refuses(() => parsePayload(payload({ width, height, rects: [] }), { keyframe: true }), ErrorCode.BAD_MESSAGE, /screen size .* outside 1\.\.8192/);
    }
    const side = parsePayload(payload({ width: MAX_SCREEN_SIDE, height: 1, rects: [{ x: 0, y: 0, w: MAX_SCREEN_SIDE, h: 1 }] }), { keyframe: true });
    assert.equal(side.data.length, MAX_SCREEN_SIDE * 4);
  });

  test("rect count and rect table", () => {
    refuses(() => parsePayload(payload({ ...one, nRects: MAX_RECTS + 1 }), { keyframe: true }), ErrorCode.BAD_MESSAGE, /65537 rects cannot fit/);
    refuses(() => parsePayload(payload({ ...one, nRects: 2, blob: new Uint8Array(12) }), { keyframe: true }), ErrorCode.BAD_MESSAGE, /shorter than its rect table/);
  });

  test("every rect: not empty, known encoding, raw length, inside the screen", () => {
    /** @type {Array<[any, RegExp]>} */
    const cases = [
      [{ x: 0, y: 0, w: 0, h: 2 }, /rect size 0x2 is empty/],
      [{ x: 0, y: 0, w: 4, h: 0 }, /rect size 4x0 is empty/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 5 }, /unknown rect encoding 5/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 4, length: 31 }, /raw rect 4x2 must hold 32 bytes, not 31/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 3 }, /palette rect 4x2 cannot hold 32 bytes/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 3, length: 8 }, /palette rect 4x2 cannot hold 8 bytes/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 3, length: 0 }, /palette rect 4x2 cannot hold 0 bytes/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 3, length: 4 * 256 + 9 + 1 }, /palette rect 4x2 cannot hold 1034 bytes/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 2, length: 0 }, /JPEG rect 4x2 may hold 1\.\.4128 bytes, not 0/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 2, length: 4129 }, /JPEG rect 4x2 may hold 1\.\.4128 bytes, not 4129/],
      [{ x: 0, y: 0, w: 4, h: 2, encoding: 1 }, /copy rect must hold 4 bytes, not 32/],
      [{ x: 1, y: 0, w: 4, h: 2, encoding: 1, length: 4 }, /rect 4x2\+1\+0 outside the 4x2 screen/],
      [{ x: 0, y: 0, w: 4, h: 2, length: 31 }, /raw rect 4x2 must hold 32 bytes, not 31/],
      [{ x: 1, y: 0, w: 4, h: 2 }, /rect 4x2\+1\+0 outside the 4x2 screen/],
      [{ x: 0, y: 1, w: 4, h: 2 }, /outside the 4x2 screen/],
      [{ x: 65535, y: 0, w: 65535, h: 2, length: 4 * 65535 * 2 }, /outside the 4x2 screen/],
    ];
    for (const [rect, text] of cases) {
      refuses(() => parsePayload(payload({ width: 4, height: 2, flags: 0, rects: [rect], data: new Uint8Array(0) }), { keyframe: false }), ErrorCode.BAD_MESSAGE, text);
    }
  });

  test("the rects' lengths are capped at 4*w*h + 1 MiB", () => {
    assert.equal(maxRectData(1024, 1024), 5 * 1024 * 1024);
    const full = { x: 0, y: 0, w: 1024, h: 1024 };
    const bytes = payload({ width: 1024, height: 1024, flags: 0, rects: [full, full], blob: new Uint8Array(0) });
    refuses(() => parsePayload(bytes, { keyframe: false }), ErrorCode.BAD_MESSAGE, /rects hold more bytes than the screen allows/);
  });

  test("a key frame must cover the whole screen", () => {
    const hole = { width: 4, height: 2, rects: [{ x: 0, y: 0, w: 4, h: 1 }, { x: 0, y: 1, w: 3, h: 1 }] };
    refuses(() => parsePayload(payload(hole), { keyframe: true }), ErrorCode.BAD_MESSAGE, /key frame does not cover the whole screen/);
    // Enough area, but overlapping: a pixel still uncovered.
    const overlap = { width: 4, height: 2, rects: [{ x: 0, y: 0, w: 4, h: 1 }, { x: 0, y: 0, w: 3, h: 2 }] };
    refuses(() => parsePayload(payload(overlap), { keyframe: true }), ErrorCode.BAD_MESSAGE, /does not cover/);
    const tiles = { width: 4, height: 2, rects: [{ x: 0, y: 0, w: 2, h: 2 }, { x: 2, y: 0, w: 2, h: 2 }, { x: 1, y: 0, w: 2, h: 1 }] };
    assert.equal(parsePayload(payload(tiles), { keyframe: true }).rects.length, 3);
    // A delta may cover any part.
    assert.equal(parsePayload(payload({ ...hole, flags: 0 }), { keyframe: false }).rects.length, 2);
  });
});

describe("the zstd blob", () => {
  const one = { width: 4, height: 2, rects: [{ x: 0, y: 0, w: 4, h: 2 }] };
  const data = new Uint8Array(32).fill(9);
  const parse = (/** @type {Uint8Array} */ blob) => parsePayload(payload({ ...one, blob }), { keyframe: true });

  test("raw blocks, RLE blocks, a checksum, several blocks", () => {
    assert.deepEqual(parse(rawZstd(data)).data, data);
    assert.deepEqual(parse(rawZstd(data, { blockSize: 5 })).data, data);
    // A checksum: verified by libzstd, as by Python; ignored by fzstd.
    assert.deepEqual(parse(CHECKSUMMED_32_NINES).data, data);
    const wrong = CHECKSUMMED_32_NINES.slice();
    wrong[wrong.length - 1] ^= 1;
    if (LIBZSTD) refuses(() => parse(wrong), ErrorCode.BAD_MESSAGE, /does not decompress/);
    else assert.deepEqual(parse(wrong).data, data);
    if (LIBZSTD) refuses(() => parse(rawZstd(data, { checksum: true })), ErrorCode.BAD_MESSAGE, /does not decompress/);
    else assert.deepEqual(parse(rawZstd(data, { checksum: true })).data, data);
    // One RLE block: header 1 | (1 << 1) | (32 << 3), then the byte.
    const word = 1 | (1 << 1) | (32 << 3);
    const rle = concat([hex("28b52ffda0"), le32(32), new Uint8Array([word & 0xff, word >> 8, 0, 9])]);
    assert.deepEqual(parse(rle).data, data);
  });

  test("not a zstd frame, or a bad header", () => {
    refuses(() => parse(new Uint8Array(0)), ErrorCode.BAD_MESSAGE, /frame blob is not a zstd frame/);
    refuses(() => parse(hex("28b52ffc")), ErrorCode.BAD_MESSAGE, /not a zstd frame/);
    refuses(() => parse(hex("502a4d18" + "00000000")), ErrorCode.BAD_MESSAGE, /not a zstd frame/); // skippable
    refuses(() => parse(hex("28b52ffd")), ErrorCode.BAD_MESSAGE, /bad zstd frame header/);
    refuses(() => parse(hex("28b52ffda8")), ErrorCode.BAD_MESSAGE, /bad zstd frame header/); // reserved bit
    refuses(() => parse(hex("28b52ffda0200000")), ErrorCode.BAD_MESSAGE, /bad zstd frame header/); // cut
    refuses(() => parse(hex("28b52ffd80") /* window descriptor missing */), ErrorCode.BAD_MESSAGE, /bad zstd frame header/);
    refuses(() => parse(concat([hex("28b52ffd80b0"), le32(32)])), ErrorCode.BAD_MESSAGE, /bad zstd frame header/); // window 2^32
  });

  test("the content size must be set and equal the rects' sum", () => {
    const unset = concat([hex("28b52ffd0058"), hex("010100"), data]);
    refuses(() => parse(unset), ErrorCode.BAD_MESSAGE, /frame blob declares no content size, the rects 32/);
    refuses(() => parse(rawZstd(data.subarray(1))), ErrorCode.BAD_MESSAGE, /declares 31 bytes, the rects 32/);
    const eight = concat([hex("28b52ffde0"), le32(32), le32(1), hex("010100")]);
    refuses(() => parse(eight), ErrorCode.BAD_MESSAGE, /declares Infinity bytes/);
    const dict = concat([hex("28b52ffda1"), new Uint8Array([7]), le32(32), hex("010100")]);
    refuses(() => parse(dict), ErrorCode.BAD_MESSAGE, /needs a zstd dictionary/);
  });

  test("blocks: reserved type, over 128 KiB, cut, extra bytes, impossible sizes", () => {
    const head = concat([hex("28b52ffda0"), le32(32)]);
    const block = (/** @type {number} */ word) => new Uint8Array([word & 0xff, (word >> 8) & 0xff, word >> 16]);
    refuses(() => parse(concat([head, block(1 | (3 << 1) | (32 << 3)), data])), ErrorCode.BAD_MESSAGE, /bad zstd block/);
    refuses(() => parse(concat([head, block(1 | ((128 * 1024 + 1) << 3))])), ErrorCode.BAD_MESSAGE, /bad zstd block/);
    refuses(() => parse(rawZstd(data).subarray(0, -1)), ErrorCode.BAD_MESSAGE, /truncated/);
    refuses(() => parse(concat([head, block(0 | (32 << 3)), data])), ErrorCode.BAD_MESSAGE, /truncated/); // no last block
    refuses(() => parse(concat([rawZstd(data), new Uint8Array(1)])), ErrorCode.BAD_MESSAGE, /followed by extra bytes/);
    refuses(() => parse(concat([rawZstd(data), rawZstd(data)])), ErrorCode.BAD_MESSAGE, /extra bytes/);
    // Raw blocks holding more, or compressed blocks too few to hold 32 bytes.
    refuses(() => parse(concat([head, block(0 | (16 << 3)), data.subarray(16), block(1 | (17 << 3)), data.subarray(15)])), ErrorCode.BAD_MESSAGE, /blocks cannot hold 32 bytes/);
    refuses(() => parse(concat([head, block(1 | (16 << 3)), data.subarray(16)])), ErrorCode.BAD_MESSAGE, /blocks cannot hold/);
  });

  test("garbage in a compressed block is a ProtocolError", () => {
    const head = concat([hex("28b52ffda0"), le32(32)]);
    for (const body of ["00", "ff", "ffffffff", "0000000000", "3f0102030405", "c0102030001122"]) {
      const content = hex(body);
      const word = 1 | (2 << 1) | (content.length << 3);
      const blob = concat([head, new Uint8Array([word & 0xff, (word >> 8) & 0xff, word >> 16]), content]);
      try {
        parse(blob);
      } catch (exc) {
        assert.ok(exc instanceof ProtocolError, `${body}: ${exc}`);
      }
    }
  });

  test("bombs are refused from the header alone", () => {
    // A 1 GiB declaration, and 8192 RLE blocks of 128 KiB each behind it.
    const word = 0 | (1 << 1) | ((128 * 1024) << 3);
    const blocks = new Uint8Array(4 * 8192);
    for (let i = 0; i < blocks.length; i += 4) blocks.set([word & 0xff, (word >> 8) & 0xff, word >> 16, 0x41], i);
    blocks[blocks.length - 4] |= 1;
    const bomb = concat([hex("28b52ffda0"), le32(2 ** 30), blocks]);
    const started = performance.now();
    refuses(() => parse(bomb), ErrorCode.BAD_MESSAGE, /declares 1073741824 bytes, the rects 32/);
    // Declared honestly small, but the blocks would expand far beyond it.
    const lying = concat([hex("28b52ffda0"), le32(32), blocks]);
    refuses(() => parse(lying), ErrorCode.BAD_MESSAGE, /blocks cannot hold 32 bytes/);
    // Rects at the cap: a blob declaring one byte more is refused unread.
    const big = { width: 1024, height: 1024, flags: 0, rects: [{ x: 0, y: 0, w: 1024, h: 1024 }] };
    const over = payload({ ...big, blob: concat([hex("28b52ffda0"), le32(4 * 1024 * 1024 + 1), blocks]) });
    refuses(() => parsePayload(over, { keyframe: false }), ErrorCode.BAD_MESSAGE, /declares 4194305 bytes/);
    assert.ok(performance.now() - started < 200);
  });

  test("an empty delta: no decompressor, and no compressed block allowed", () => {
    const empty = { width: 4, height: 2, flags: 0, rects: [] };
    assert.equal(parsePayload(payload({ ...empty, blob: EMPTY_ZSTD }), { keyframe: false }).data.length, 0);
    // A compressed block behind a 0-byte declaration and a 2 GiB window.
    const blob = concat([hex("28b52ffdc0a8"), le32(0), le32(0), hex("0d0000"), hex("00")]);
    refuses(() => parsePayload(payload({ ...empty, blob }), { keyframe: false }), ErrorCode.BAD_MESSAGE, /does not decompress to its declared size/);
  });

  test("checkZstdFrame alone", () => {
    assert.deepEqual(checkZstdFrame(EMPTY_ZSTD, 0), { windowSize: 0, compressedBlocks: 0 });
    refuses(() => checkZstdFrame(EMPTY_ZSTD, 1), ErrorCode.BAD_MESSAGE, /declares 0 bytes, the rects 1/);
  });
});

describe("status frames", () => {
  /** As protocol/frames.py status_frame() builds them. @param {number} flags */
  const status = (flags) => concat([payload({ width: 5, height: 3, rects: [], flags, blob: new Uint8Array(0) }), EMPTY_ZSTD]);

  test("paused, hidden, both, and resumed (a key frame with no rects)", () => {
    for (const [flags, paused, hidden] of [[1 | FLAG_PAUSED, true, false], [1 | FLAG_HIDDEN, false, true], [7, true, true], [1, false, false]]) {
      const p = parsePayload(status(flags), { keyframe: true });
      assert.deepEqual([p.isStatus, p.paused, p.hidden, p.keyframe, p.data.length, p.rects.length], [true, paused, hidden, true, 0, 0]);
    }
  });

  test("a status flag makes a status frame even with rects, not decompressed", () => {
    const rects = [{ x: 0, y: 0, w: 2, h: 1 }];
    const p = parsePayload(payload({ width: 5, height: 3, rects, flags: FLAG_PAUSED }), { keyframe: false });
    assert.deepEqual([p.isStatus, p.paused, p.data.length, p.rects.length], [true, true, 0, 1]);
    // ... but it is still checked.
    refuses(() => parsePayload(payload({ width: 5, height: 3, rects: [{ x: 4, y: 0, w: 2, h: 1 }], flags: FLAG_PAUSED }), { keyframe: false }), ErrorCode.BAD_MESSAGE, /outside/);
    refuses(() => parsePayload(status(1 | FLAG_HIDDEN).subarray(0, -1), { keyframe: true }), ErrorCode.BAD_MESSAGE, /truncated/);
  });

  test("a delta with no rects is an empty picture update, not a status", () => {
    const p = parsePayload(status(0), { keyframe: false });
    assert.deepEqual([p.isStatus, p.keyframe, p.data.length], [false, false, 0]);
    const screen = goldenScreen();
    const before = toHex(screen.rgba);
    assert.deepEqual(screen.apply(p), { resized: false, dirty: [] });
    assert.equal(toHex(screen.rgba), before);
  });

  test("Screen.apply of a status frame changes nothing", () => {
    const screen = goldenScreen();
    const before = toHex(screen.rgba);
    for (const flags of [3, 5, 1]) {
      assert.deepEqual(screen.apply(parsePayload(status(flags), { keyframe: true })), { resized: false, dirty: [] });
    }
    assert.equal(toHex(screen.rgba), before);
    const fresh = new Screen();
    fresh.apply(parsePayload(status(3), { keyframe: true }));
    assert.equal(fresh.hasPicture, false);
  });
});

describe("Screen", () => {
  /** @param {number} w @param {number} h @param {number} seed */
  const pixels = (w, h, seed) => Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 31 + seed) & 0xff);

  test("a delta before any key frame is UNEXPECTED; of another size, BAD_MESSAGE; both leave the picture", () => {
    const delta = parsePayload(payload({ width: 5, height: 3, flags: 0, rects: [{ x: 1, y: 1, w: 2, h: 1 }] }), { keyframe: false });
    refuses(() => new Screen().apply(delta), ErrorCode.UNEXPECTED, /delta frame before any key frame/);
    const screen = goldenScreen();
    const before = toHex(screen.rgba);
    const other = parsePayload(payload({ width: 6, height: 3, flags: 0, rects: [{ x: 1, y: 1, w: 2, h: 1 }] }), { keyframe: false });
    refuses(() => screen.apply(other), ErrorCode.BAD_MESSAGE, /delta frame for a 6x3 screen, picture is 5x3/);
    assert.equal(toHex(screen.rgba), before);
  });

  test("a delta draws only its rects, swizzled, alpha 255", () => {
    const screen = goldenScreen();
    const before = Uint8Array.from(screen.rgba);
    const data = pixels(2, 2, 5);
    const delta = parsePayload(payload({ width: 5, height: 3, flags: 0, rects: [{ x: 2, y: 1, w: 2, h: 2 }], data }), { keyframe: false });
    assert.deepEqual(screen.apply(delta), { resized: false, dirty: [{ x: 2, y: 1, w: 2, h: 2 }] });
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 5; x++) {
        const at = (y * 5 + x) * 4;
        const got = [...screen.rgba.subarray(at, at + 4)];
        if (x >= 2 && x < 4 && y >= 1) {
          const s = ((y - 1) * 2 + (x - 2)) * 4;
          assert.deepEqual(got, [data[s + 2], data[s + 1], data[s], 255], `${x},${y}`);
        } else {
          assert.deepEqual(got, [...before.subarray(at, at + 4)], `${x},${y}`);
        }
      }
    }
  });

  test("a key frame of another size reallocates; of the same size, does not", () => {
    const screen = goldenScreen();
    const first = screen.rgba;
    const same = parsePayload(payload({ width: 5, height: 3, rects: [{ x: 0, y: 0, w: 5, h: 3 }] }), { keyframe: true });
    assert.equal(screen.apply(same).resized, false);
    assert.equal(screen.rgba, first);
    const bigger = parsePayload(payload({ width: 7, height: 2, rects: [{ x: 0, y: 0, w: 7, h: 2 }], data: pixels(7, 2, 1) }), { keyframe: true });
    assert.deepEqual(screen.apply(bigger), { resized: true, dirty: [{ x: 0, y: 0, w: 7, h: 2 }] });
    assert.deepEqual([screen.width, screen.height, screen.rgba.length], [7, 2, 56]);
    assert.deepEqual([...screen.rgba], [...rgbaOf(pixels(7, 2, 1))]);
  });

  test("overlapping rects: later ones win, as in Python", () => {
    const rects = [{ x: 0, y: 0, w: 2, h: 1 }, { x: 1, y: 0, w: 2, h: 1 }];
    const data = concat([new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)]);
    const p = parsePayload(payload({ width: 3, height: 1, rects, data }), { keyframe: true });
    const screen = new Screen();
    screen.apply(p);
    assert.deepEqual([...screen.rgba], [1, 1, 1, 255, 2, 2, 2, 255, 2, 2, 2, 255]);
  });

  test("the byte path (unaligned data) draws what the word path draws", () => {
    const rects = [{ x: 1, y: 0, w: 3, h: 2 }, { x: 0, y: 0, w: 5, h: 1 }];
    const p = parsePayload(payload({ width: 5, height: 2, rects, flags: 0 }), { keyframe: false });
    const words = new Screen();
    words.apply(parsePayload(payload({ width: 5, height: 2, rects: [{ x: 0, y: 0, w: 5, h: 2 }] }), { keyframe: true }));
    const bytes = new Screen();
    bytes.apply(parsePayload(payload({ width: 5, height: 2, rects: [{ x: 0, y: 0, w: 5, h: 2 }] }), { keyframe: true }));
    words.apply(p);
    const shifted = new Uint8Array(p.data.length + 1);
    shifted.set(p.data, 1);
    bytes.apply({ ...p, data: shifted.subarray(1) });
    assert.deepEqual(bytes.rgba, words.rgba);
  });

  test("a 1920x1080 key frame in raw blocks, then a delta", () => {
    const w = 1920;
    const h = 1080;
    const data = pixels(w, h, 3);
    const key = parsePayload(payload({ width: w, height: h, rects: [{ x: 0, y: 0, w, h }], data }), { keyframe: true });
    const screen = new Screen();
    screen.apply(key);
    for (const i of [0, 1, 12345, w * h - 1]) {
      assert.deepEqual([...screen.rgba.subarray(i * 4, i * 4 + 4)], [data[i * 4 + 2], data[i * 4 + 1], data[i * 4], 255]);
    }
    const tiles = [];
    for (let y = 0; y < h; y += 64) for (let x = 0; x < w; x += 64) tiles.push({ x, y, w: 64, h: Math.min(64, h - y) });
    const delta = parsePayload(payload({ width: w, height: h, flags: 0, rects: tiles.slice(0, 40) }), { keyframe: false });
    assert.equal(screen.apply(delta).dirty.length, 40);
  });
});

/** A small deterministic PRNG (mulberry32). @param {number} seed */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("any payload bytes: a payload or a ProtocolError (fuzz)", () => {
  const random = prng(7);
  const seeds = [GOLDEN_BYTES, payload({ width: 5, height: 3, rects: [{ x: 0, y: 0, w: 5, h: 3 }] }), payload({ width: 5, height: 3, rects: [{ x: 1, y: 1, w: 2, h: 2 }], flags: 0 })];
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const seed = seeds[i % seeds.length];
    const data = seed.slice(0, random() < 0.1 ? Math.floor(random() * seed.length) : seed.length);
    const changes = 1 + Math.floor(random() * 3);
    for (let j = 0; j < changes && data.length; j++) data[Math.floor(random() * data.length)] = random() * 256;
    try {
      const p = parsePayload(data, { keyframe: random() < 0.5 });
      goldenScreen().apply(p);
      accepted++;
    } catch (exc) {
      if (!(exc instanceof ProtocolError)) throw new Error(`${exc} for ${toHex(data)}`);
    }
  }
  assert.ok(accepted > 100, `only ${accepted} accepted`);
});
