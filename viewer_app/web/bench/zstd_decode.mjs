// Times decompressExact (zstd_frame.js) on real frame blobs with each zstd
// decoder: fzstd (pure JavaScript, the fallback) and libzstd in WebAssembly
// (zstd_wasm.js), alternating run by run so both see the same machine load.
// Not a test. Run:
//   .venv/bin/python -m benchmarks.zstd_blobs /tmp/zblobs
//   node bench/zstd_decode.mjs /tmp/zblobs [RUNS]
// Prints median and p95 ms per blob and decoder, and fzstd's median over
// WebAssembly's; each output is checked equal to fzstd's first.

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { FZSTD, checkZstdFrame, decompressExact, useZstdDecoder } from "../src/zstd_frame.js";
import { loadWasmZstd } from "../src/zstd_wasm.js";

const dir = process.argv[2];
const runs = Number(process.argv[3] ?? 40);
if (!dir) throw new Error("usage: node bench/zstd_decode.mjs DIR [RUNS]");
const sizes = JSON.parse(readFileSync(join(dir, "sizes.json"), "utf8"));
const decoders = { fzstd: FZSTD, wasm: await loadWasmZstd({ url: null }) };

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const rows = [];
for (const [name, { content, compressed }] of Object.entries(sizes)) {
  const blob = new Uint8Array(readFileSync(join(dir, `${name}.zst`)));
  checkZstdFrame(blob, content);
  useZstdDecoder(FZSTD);
  const want = decompressExact(blob, content);
  /** @type {Record<string, number[]>} */
  const times = { fzstd: [], wasm: [] };
  for (let i = 0; i < runs + 3; i++) {
    for (const [label, decoder] of Object.entries(decoders)) {
      useZstdDecoder(decoder);
      const started = performance.now();
      const out = decompressExact(blob, content);
      const ms = performance.now() - started;
      if (i === 0 && Buffer.compare(out, want) !== 0) throw new Error(`${label} decodes ${name} differently`);
      if (i >= 3) times[label].push(ms); // 3 warm-up runs
    }
  }
  const f = { median: quantile(times.fzstd, 0.5), p95: quantile(times.fzstd, 0.95) };
  const w = { median: quantile(times.wasm, 0.5), p95: quantile(times.wasm, 0.95) };
  rows.push(`| ${name} | ${content} | ${compressed} | ${f.median.toFixed(2)} (${f.p95.toFixed(2)}) | ${w.median.toFixed(2)} (${w.p95.toFixed(2)}) | ${(f.median / w.median).toFixed(2)} |`);
}
console.log(`node ${process.version}, ${runs} runs each, median (p95) ms`);
console.log("| blob | content bytes | compressed bytes | fzstd | wasm | fzstd / wasm |");
console.log("|---|---|---|---|---|---|");
console.log(rows.join("\n"));
