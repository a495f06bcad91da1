/**
 * JPEG rects (rect encoding 2, docs/protocol.md): one baseline JPEG of
 * exactly w x h pixels, as protocol/frames.py jpeg_size and
 * viewer_app/decoder.py check and decode them.
 *
 * jpegSize(bytes) walks the markers up to the first scan, without decoding:
 * SOI first; exactly one start-of-frame before the scan, baseline (SOF0),
 * 8-bit, 1 or 3 components; any other start-of-frame (progressive, lossless,
 * arithmetic) is refused. parsePayload (frames.js) calls it for every JPEG
 * rect, so a rect whose JPEG is of another size, or no JPEG at all, is
 * refused before anything is decoded or drawn.
 *
 * decodeJpegRects(payload, decode) then decodes every JPEG rect of a checked
 * payload into RGBA (alpha 255), strictly in order, before Screen.apply draws
 * the payload: the caller awaits it, and frames are handled one at a time
 * (client.js), so a JPEG never lands on a later picture. The browser's
 * decoder (browserJpegDecoder): createImageBitmap of a Blob, drawn into an
 * OffscreenCanvas (or a canvas element) and read back with getImageData.
 */

import { ProtocolError } from "./errors.js";

const SOI = 0xd8;
const SOF0 = 0xc0;
const SOS = 0xda;
/** Markers with no length field: TEM and RST0-7. */
const BARE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]);
/** Start-of-frame markers other than baseline (C4 DHT, C8 JPG, CC DAC are not). */
const OTHER_SOF = new Set([0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** @param {string} text */
function bad(text) {
  return new ProtocolError(text);
}

/**
 * The width and height a JPEG's header declares; ProtocolError unless it is
 * one baseline 8-bit grey or colour JPEG (checked up to its first scan).
 * @param {Uint8Array} view the rect's bytes
 * @returns {{width: number, height: number}}
 */
export function jpegSize(view) {
  const end = view.length;
  if (end < 4 || view[0] !== 0xff || view[1] !== SOI) throw bad("JPEG rect does not start with a JPEG header");
  let at = 2;
  /** @type {{width: number, height: number} | null} */
  let size = null;
  for (;;) {
    if (at + 2 > end || view[at] !== 0xff) throw bad("JPEG rect has a bad marker before its scan");
    const marker = view[at + 1];
    at += 2;
    if (marker === 0xff) {
      at -= 1; // a fill byte
      continue;
    }
    if (BARE.has(marker)) continue;
    if (at + 2 > end) throw bad("JPEG rect truncated in its header");
    const length = (view[at] << 8) | view[at + 1];
    if (length < 2 || at + length > end) throw bad("JPEG rect has a bad segment length");
    if (marker === SOI || OTHER_SOF.has(marker)) throw bad("JPEG rect is not one baseline JPEG");
    if (marker === SOF0) {
      if (size !== null || length < 8) throw bad("JPEG rect has a bad frame header");
      const precision = view[at + 2];
      const height = (view[at + 3] << 8) | view[at + 4];
      const width = (view[at + 5] << 8) | view[at + 6];
      const components = view[at + 7];
      if (precision !== 8 || (components !== 1 && components !== 3) || length !== 8 + 3 * components) {
        throw bad("JPEG rect is not an 8-bit grey or colour JPEG");
      }
      size = { width, height };
    }
    if (marker === SOS) break;
    at += length;
  }
  return size ?? { width: -1, height: -1 };
}

/**
 * Check a JPEG rect's header against the rect (frames.js, after decompressing).
 * @param {Uint8Array} bytes @param {{w: number, h: number}} r
 */
export function checkJpegRect(bytes, r) {
  const { width, height } = jpegSize(bytes);
  if (width !== r.w || height !== r.h) {
    const found = width < 0 ? "no size" : `${width}x${height}`;
    throw bad(`JPEG rect ${r.w}x${r.h} holds a JPEG of ${found}`);
  }
}

/**
 * @typedef {(bytes: Uint8Array, width: number, height: number) => Promise<Uint8ClampedArray | Uint8Array>} JpegDecoder
 *   RGBA, width*height*4 bytes, or a rejection (any error: the JPEG does not decode).
 */

/**
 * Decode every JPEG rect of a checked payload, in order, into `payload.images`
 * (RGBA by the rect's data offset); ProtocolError if one does not decode to
 * exactly its rect's size. A payload without JPEG rects costs nothing.
 * @param {import("./frames.js").Payload} payload
 * @param {JpegDecoder} [decode]
 */
export async function decodeJpegRects(payload, decode = browserJpegDecoder) {
  for (const r of payload.rects) {
    if (r.encoding !== JPEG) continue;
    const bytes = payload.data.subarray(r.offset, r.offset + r.length);
    let rgba;
    try {
      rgba = await decode(bytes, r.w, r.h);
    } catch {
      throw bad("JPEG rect does not decode");
    }
    if (rgba.length !== r.w * r.h * 4) throw bad(`JPEG rect ${r.w}x${r.h} decoded to ${rgba.length} bytes`);
    payload.images.set(r.offset, rgba);
  }
}

/** Encoding of a JPEG rect (frames.js Encoding.JPEG; frames.js imports this module). */
const JPEG = 2;

/** @type {JpegDecoder} */
export async function browserJpegDecoder(bytes, width, height) {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
  try {
    if (bitmap.width !== width || bitmap.height !== height) throw new Error("size");
    /** @type {any} */
    let canvas;
    if (typeof OffscreenCanvas === "function") canvas = new OffscreenCanvas(width, height);
    else {
      canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    return context.getImageData(0, 0, width, height).data;
  } finally {
    bitmap.close();
  }
}
