/**
 * The picture a viewer shows, composed from checked frame payloads
 * (frames.js parsePayload), as viewer_app/decoder.py Canvas composes it.
 *
 * Rules (ProtocolError, picture left unchanged):
 *  1. a key frame may change the screen size; the picture is reallocated
 *     only then (and for the first key frame);
 *  2. a delta frame needs an earlier key frame (UNEXPECTED: ask for one)
 *     of the same size (BAD_MESSAGE).
 * A status frame changes nothing here (apply returns no dirty rect): what
 * paused and hidden mean for the page is the session's business.
 *
 * Rects are drawn in order. A JPEG rect draws its RGBA from
 * `payload.images`, which jpeg.js decodeJpegRects must have filled first; a
 * palette rect (checked by parsePayload) is expanded by palette.js; a delta
 * rect's bytes are summed up along each row (modulo 256) as they are drawn. A copy rect (a move) copies pixels of the
 * picture as it stands (earlier rects included) with copyWithin, rows in the
 * order that never reads a row already overwritten: memmove semantics, as
 * viewer_app/decoder.py.
 *
 * Pixels arrive as BGRX and are stored as RGBA with alpha 255, ready for
 * ImageData. The hot path swizzles one 32-bit word per pixel through
 * Uint32Array views of both buffers, row by row (a full-width rect in one
 * run); a byte loop covers big-endian machines and unaligned data (a raw
 * rect after a JPEG rect whose length is not a multiple of 4).
 */

import { ErrorCode, ProtocolError } from "./errors.js";
import { PALETTE, drawPaletteRect } from "./palette.js";

/** True where a Uint32Array reads bytes [b0, b1, b2, b3] as b3<<24 | ... | b0. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * @typedef {import("./frames.js").Payload} Payload
 * @typedef {{x: number, y: number, w: number, h: number}} Area
 */

export class Screen {
  constructor() {
    /** Picture width in pixels; 0 before the first key frame. */
    this.width = 0;
    /** Picture height in pixels; 0 before the first key frame. */
    this.height = 0;
    /** The picture, RGBA, width*height*4 bytes, alpha 255. */
    this.rgba = new Uint8ClampedArray(0);
    /** Whether a key frame has been applied. */
    this.hasPicture = false;
  }

  /**
   * Draw one payload from parsePayload; returns whether the picture was
   * (re)allocated and which areas changed (a key frame: the whole screen).
   * @param {Payload} payload
   * @returns {{resized: boolean, dirty: Area[]}}
   */
  apply(payload) {
    if (payload.isStatus) return { resized: false, dirty: [] };
    const { width, height, rects, data } = payload;
    let resized = false;
    if (payload.keyframe) {
      if (!this.hasPicture || width !== this.width || height !== this.height) {
        this.rgba = new Uint8ClampedArray(width * height * 4);
        this.width = width;
        this.height = height;
        this.hasPicture = true;
        resized = true;
      }
    } else if (!this.hasPicture) {
      throw new ProtocolError("delta frame before any key frame", ErrorCode.UNEXPECTED);
    } else if (width !== this.width || height !== this.height) {
      throw new ProtocolError(
        `delta frame for a ${width}x${height} screen, picture is ${this.width}x${this.height}`,
      );
    }
    const words = LITTLE_ENDIAN && data.byteOffset % 4 === 0;
    const src = words ? new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2) : null;
    const dst = words ? new Uint32Array(this.rgba.buffer) : null;
    for (const r of rects) {
      if (r.encoding === COPY) copyRect(this.rgba, width, r);
      else if (r.encoding === JPEG) drawRgba(payload.images, this.rgba, width, r);
      else if (r.encoding === PALETTE) drawPaletteRect(data, r, this.rgba, width);
      else if (r.encoding === DELTA) {
        if (src && dst && r.offset % 4 === 0) composeDeltaWords(src, r.offset >>> 2, dst, width, r.x, r.y, r.w, r.h);
        else composeDeltas(data, r.offset, this.rgba, width, r.x, r.y, r.w, r.h);
      }
      // A JPEG's length may leave the raw rects after it off the word grid.
      else if (src && dst && r.offset % 4 === 0) composeWords(src, r.offset >>> 2, dst, width, r.x, r.y, r.w, r.h);
      else composeBytes(data, r.offset, this.rgba, width, r.x, r.y, r.w, r.h);
    }
    const dirty = payload.keyframe
      ? [{ x: 0, y: 0, w: width, h: height }]
      : rects.map(({ x, y, w, h }) => ({ x, y, w, h }));
    return { resized, dirty };
  }
}

/** Encodings of a copy, a JPEG and a delta rect (frames.js Encoding; frames.js imports this module). */
const COPY = 1;
const JPEG = 2;
const DELTA = 4;

/**
 * Draw a JPEG rect's decoded RGBA (jpeg.js decodeJpegRects) into the picture.
 * @param {Map<number, Uint8ClampedArray | Uint8Array>} images
 * @param {Uint8ClampedArray} rgba @param {number} stride picture width
 * @param {import("./frames.js").Rect} r
 */
function drawRgba(images, rgba, stride, r) {
  const pixels = images.get(r.offset);
  if (!pixels) throw new Error("a JPEG rect drawn before decodeJpegRects");
  const bytes = r.w * 4;
  for (let row = 0; row < r.h; row++) {
    const from = row * bytes;
    rgba.set(pixels.subarray(from, from + bytes), ((r.y + row) * stride + r.x) * 4);
  }
}

/**
 * Move a rect of the picture: rows top down when the source is below the
 * destination or level with it (copyWithin is a memmove), else bottom up.
 * @param {Uint8ClampedArray} rgba @param {number} stride picture width
 * @param {import("./frames.js").Rect} r
 */
function copyRect(rgba, stride, r) {
  const srcX = /** @type {number} */ (r.srcX);
  const srcY = /** @type {number} */ (r.srcY);
  const bytes = r.w * 4;
  const down = r.y > srcY;
  for (let i = 0; i < r.h; i++) {
    const row = down ? r.h - 1 - i : i;
    const from = ((srcY + row) * stride + srcX) * 4;
    rgba.copyWithin(((r.y + row) * stride + r.x) * 4, from, from + bytes);
  }
}

/**
 * Copy a BGRX rect into the RGBA picture, one 32-bit word per pixel
 * (little-endian: BGRX reads as X<<24|R<<16|G<<8|B, RGBA as A<<24|B<<16|G<<8|R).
 * @param {Uint32Array} src @param {number} s first source word
 * @param {Uint32Array} dst @param {number} stride picture width
 * @param {number} x @param {number} y @param {number} w @param {number} h
 */
function composeWords(src, s, dst, stride, x, y, w, h) {
  const runs = w === stride ? 1 : h; // a full-width rect is one run
  const run = w === stride ? w * h : w;
  let d = y * stride + x;
  for (let row = 0; row < runs; row++, d += stride) {
    for (let i = 0; i < run; i++) {
      const v = src[s + i];
      dst[d + i] = 0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff);
    }
    s += run;
  }
}

/**
 * The same, a byte at a time (big-endian machines, unaligned data).
 * @param {Uint8Array} src @param {number} s first source byte
 * @param {Uint8ClampedArray} dst @param {number} stride picture width
 * @param {number} x @param {number} y @param {number} w @param {number} h
 */
function composeBytes(src, s, dst, stride, x, y, w, h) {
  for (let row = 0; row < h; row++) {
    let d = ((y + row) * stride + x) * 4;
    for (let i = 0; i < w; i++, s += 4, d += 4) {
      dst[d] = src[s + 2];
      dst[d + 1] = src[s + 1];
      dst[d + 2] = src[s];
      dst[d + 3] = 255;
    }
  }
}

/**
 * Draw a DELTA_BGRX rect: each byte is its difference from the same byte of
 * the pixel to its left, so each channel's running sum along the row
 * (modulo 256) is the pixel; the X byte is not needed (alpha 255).
 * @param {Uint8Array} src @param {number} s first source byte
 * @param {Uint8ClampedArray} dst @param {number} stride picture width
 * @param {number} x @param {number} y @param {number} w @param {number} h
 */
function composeDeltas(src, s, dst, stride, x, y, w, h) {
  for (let row = 0; row < h; row++) {
    let d = ((y + row) * stride + x) * 4;
    let blue = 0;
    let green = 0;
    let red = 0;
    for (let i = 0; i < w; i++, s += 4, d += 4) {
      blue = (blue + src[s]) & 0xff;
      green = (green + src[s + 1]) & 0xff;
      red = (red + src[s + 2]) & 0xff;
      dst[d] = red;
      dst[d + 1] = green;
      dst[d + 2] = blue;
      dst[d + 3] = 255;
    }
  }
}

/**
 * The same a 32-bit word per pixel: the running sum of BGRX words byte by
 * byte without carries between bytes (the low 7 bits of each byte added,
 * the top bits by xor), then swizzled to RGBA as composeWords does.
 * @param {Uint32Array} src @param {number} s first source word
 * @param {Uint32Array} dst @param {number} stride picture width
 * @param {number} x @param {number} y @param {number} w @param {number} h
 */
function composeDeltaWords(src, s, dst, stride, x, y, w, h) {
  for (let row = 0, d = y * stride + x; row < h; row++, d += stride, s += w) {
    let sum = 0;
    for (let i = 0; i < w; i++) {
      const v = src[s + i];
      sum = (((sum & 0x7f7f7f7f) + (v & 0x7f7f7f7f)) ^ ((sum ^ v) & 0x80808080)) >>> 0;
      dst[d + i] = 0xff000000 | ((sum & 0xff) << 16) | (sum & 0xff00) | ((sum >>> 16) & 0xff);
    }
  }
}
