// Measures parsePayload (checks + zstd) and Screen.apply (BGRX -> RGBA
// composition) for a 1920x1080 key frame and typical small updates. Not a
// test. Run: node bench/screen_apply.mjs [DIR]
//
// Without DIR the payloads are built here with raw (stored) zstd blocks, so
// the zstd part is a copy. With DIR, it also times key.bin / delta.bin /
// noisy.bin found there (frame payloads made by host_app.encoder.TileEncoder,
// really compressed) and checks the composed pictures against
// key_picture.bin / delta_picture.bin / noisy_picture.bin (BGRX, from
// viewer_app.decoder.Canvas) when present.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { Screen, parsePayload } from "../src/frames.js";

const W = 1920;
const H = 1080;

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

/** A payload whose blob is a zstd frame of stored blocks. */
function rawPayload(/** @type {number} */ flags, /** @type {Array<{x:number,y:number,w:number,h:number}>} */ rects) {
  const head = new Uint8Array(26 + 13 * rects.length);
  const v = new DataView(head.buffer);
  v.setUint8(0, 1);
  v.setUint8(1, flags);
  v.setUint16(18, W);
  v.setUint16(20, H);
  v.setUint32(22, rects.length);
  let total = 0;
  rects.forEach((r, i) => {
    const at = 26 + 13 * i;
    v.setUint16(at, r.x);
    v.setUint16(at + 2, r.y);
    v.setUint16(at + 4, r.w);
    v.setUint16(at + 6, r.h);
    v.setUint32(at + 9, r.w * r.h * 4);
    total += r.w * r.h * 4;
  });
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7) & 0xff;
  const parts = [head, new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0, total & 0xff, (total >> 8) & 0xff, (total >> 16) & 0xff, total >>> 24])];
  let at = 0;
  do {
    const size = Math.min(128 * 1024, total - at);
    const word = (at + size >= total ? 1 : 0) | (size << 3);
    parts.push(new Uint8Array([word & 0xff, (word >> 8) & 0xff, word >> 16]), data.subarray(at, at + size));
    at += size;
  } while (at < total);
  return concat(parts);
}

/** Median milliseconds of `fn` over `runs` runs, after warm-up. @param {() => void} fn */
function median(fn, runs = 30) {
  for (let i = 0; i < 5; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** @param {string} name @param {Uint8Array} bytes @param {Screen} screen */
function report(name, bytes, screen) {
  const keyframe = Boolean(bytes[1] & 1);
  const payload = parsePayload(bytes, { keyframe });
  const parseMs = median(() => parsePayload(bytes, { keyframe }));
  const applyMs = median(() => screen.apply(payload));
  const pixels = payload.rects.reduce((n, r) => n + r.w * r.h, 0);
  console.log(
    `${name.padEnd(34)} ${String(payload.rects.length).padStart(4)} rects ${String(pixels).padStart(8)} px ` +
      `${String(bytes.length).padStart(8)} B   parsePayload ${parseMs.toFixed(2).padStart(6)} ms   apply ${applyMs.toFixed(2).padStart(6)} ms`,
  );
  return payload;
}

const screen = new Screen();
const tiles = [];
for (let y = 0; y < H; y += 64) for (let x = 0; x < W; x += 64) tiles.push({ x, y, w: Math.min(64, W - x), h: Math.min(64, H - y) });

console.log(`node ${process.version}`);
report("raw key frame 1920x1080 (one rect)", rawPayload(1, [{ x: 0, y: 0, w: W, h: H }]), screen);
report("raw key frame 1920x1080 (510 tiles)", rawPayload(1, tiles), screen);
report("raw delta: 4 tiles (typing)", rawPayload(0, [tiles[100], tiles[101], tiles[130], tiles[131]]), screen);
report("raw delta: 1 rect 640x64", rawPayload(0, [{ x: 640, y: 448, w: 640, h: 64 }]), screen);
report("raw delta: 60 tiles (scrolling)", rawPayload(0, tiles.slice(200, 260)), screen);

const dir = process.argv[2];
if (dir) {
  const fresh = new Screen();
  for (const name of ["key", "delta", "noisy"]) {
    const path = join(dir, `${name}.bin`);
    if (!existsSync(path)) continue;
    const target = name === "noisy" ? new Screen() : fresh;
    const bytes = new Uint8Array(readFileSync(path));
    const payload = report(`TileEncoder ${name}`, bytes, target);
    const expected = join(dir, `${name}_picture.bin`);
    if (existsSync(expected)) {
      target.apply(payload);
      const bgrx = readFileSync(expected);
      let same = bgrx.length === target.rgba.length;
      for (let i = 0; same && i < bgrx.length; i += 4) {
        same = target.rgba[i] === bgrx[i + 2] && target.rgba[i + 1] === bgrx[i + 1] && target.rgba[i + 2] === bgrx[i] && target.rgba[i + 3] === 255;
      }
      console.log(`  picture equals Python Canvas: ${same}`);
    }
  }
}
