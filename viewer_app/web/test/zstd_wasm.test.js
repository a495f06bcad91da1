// Tests of src/zstd_wasm.js (choosing the WebAssembly zstd decoder, or
// keeping fzstd) and of decompressExact's checks on whatever decoder runs.
// frames.test.js and frames_fzstd.test.js run the payload tests on each.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ErrorCode, ProtocolError } from "../src/errors.js";
import { FZSTD, decompressExact, useZstdDecoder, zstdDecoderName } from "../src/zstd_frame.js";
import { chooseZstd, loadWasmZstd } from "../src/zstd_wasm.js";

/** zstandard (content size and checksum set) of 32 bytes of 9. */
const NINES = Uint8Array.from(Buffer.from("28b52ffd2420450000100909010022c0029931dd9a", "hex"));

/** @param {() => unknown} fn @param {RegExp} text */
function refuses(fn, text) {
  assert.throws(fn, (/** @type {any} */ exc) => exc instanceof ProtocolError && exc.code === ErrorCode.BAD_MESSAGE && text.test(exc.message));
}

/** Run `fn` with globalThis.WebAssembly replaced by `stand_in` (undefined: none). @param {unknown} standIn @param {() => Promise<void>} fn */
async function withWebAssembly(standIn, fn) {
  const real = globalThis.WebAssembly;
  Object.defineProperty(globalThis, "WebAssembly", { value: standIn, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    Object.defineProperty(globalThis, "WebAssembly", { value: real, configurable: true, writable: true });
  }
}

// These two run first: the library, once loaded, stays loaded.
test("no WebAssembly: fzstd is kept, and says why", async () => {
  await withWebAssembly(undefined, async () => {
    assert.deepEqual(await chooseZstd({ url: null }), { name: "fzstd", problem: "this browser has no WebAssembly" });
  });
  assert.equal(zstdDecoderName(), "fzstd");
  assert.deepEqual(decompressExact(NINES, 32), new Uint8Array(32).fill(9));
});

test("WebAssembly that may not be compiled (a CSP without 'wasm-unsafe-eval'): fzstd is kept", async () => {
  const forbidden = {
    Module: class {
      constructor() {
        throw new EvalError("Refused to compile or instantiate WebAssembly module");
      }
    },
  };
  await withWebAssembly(forbidden, async () => {
    const choice = await chooseZstd({ url: null });
    assert.equal(choice.name, "fzstd");
    assert.match(String(choice.problem), /Refused to compile/);
  });
  assert.equal(zstdDecoderName(), "fzstd");
});

test("a loader that fails or hangs: fzstd is kept, within the time limit", async () => {
  useZstdDecoder(FZSTD);
  assert.deepEqual(await chooseZstd({ load: async () => { throw new Error("404"); } }), { name: "fzstd", problem: "404" });
  const started = performance.now();
  const hung = await chooseZstd({ load: () => new Promise(() => {}), timeoutMs: 50 });
  assert.deepEqual(hung, { name: "fzstd", problem: "not ready within 50 ms" });
  assert.ok(performance.now() - started < 1000);
  assert.equal(zstdDecoderName(), "fzstd");
});

test("the WebAssembly decoder loads, passes its self-test and becomes the decoder", async () => {
  assert.deepEqual(await chooseZstd({ url: null }), { name: "wasm", problem: null });
  assert.equal(zstdDecoderName(), "wasm");
  assert.equal(await loadWasmZstd({ url: null }), await loadWasmZstd({ url: null })); // one instance
  assert.deepEqual(decompressExact(NINES, 32), new Uint8Array(32).fill(9));
  // libzstd verifies the checksum fzstd ignores.
  const wrong = NINES.slice();
  wrong[wrong.length - 1] ^= 1;
  refuses(() => decompressExact(wrong, 32), /frame blob does not decompress$/);
  useZstdDecoder(FZSTD);
  assert.deepEqual(decompressExact(wrong, 32), new Uint8Array(32).fill(9));
});

test("any decoder is held to the declared size, its errors are ProtocolErrors", () => {
  try {
    useZstdDecoder({ name: "short", decompress: () => new Uint8Array(31) });
    refuses(() => decompressExact(NINES, 32), /does not decompress to its declared size/);
    useZstdDecoder({ name: "long", decompress: () => new Uint8Array(33) });
    refuses(() => decompressExact(NINES, 32), /does not decompress to its declared size/);
    useZstdDecoder({ name: "broken", decompress: () => { throw new RangeError("out of memory"); } });
    refuses(() => decompressExact(NINES, 32), /does not decompress$/);
  } finally {
    useZstdDecoder(FZSTD);
  }
});
