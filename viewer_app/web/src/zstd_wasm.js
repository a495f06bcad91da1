/**
 * The fast zstd decoder: libzstd compiled to WebAssembly (@bokuweb/zstd-wasm,
 * pinned), 4-6x faster than fzstd under node and about 3x in chromium on
 * full-screen updates (docs/performance.md). The relay serves its module as
 * /static/zstd.wasm (relay/web.py), so it comes from the page's own origin
 * like the script; the relay's CSP allows compiling WebAssembly
 * ('wasm-unsafe-eval') and nothing else of the kind (no JavaScript eval).
 *
 * chooseZstd() tries to load it and, if that works, makes it the decoder of
 * zstd_frame.js's decompressExact; otherwise fzstd stays. It never throws
 * and never waits more than `timeoutMs`: the page works either way, only
 * slower on fzstd. It is refused, and fzstd kept, when:
 *  - the browser has no WebAssembly, or may not compile it (a CSP without
 *    'wasm-unsafe-eval': probed with the smallest module first, so the
 *    library, which waits forever when its module fails, is never started);
 *  - the module does not load or instantiate within `timeoutMs`;
 *  - it does not decode SELF_TEST to its known bytes.
 *
 * The library's `decompress(blob)` reads the frame's content size (which
 * checkZstdFrame has checked equal to the caller's `contentSize`), allocates
 * that in WebAssembly memory, runs ZSTD_decompress and throws on any zstd
 * error; libzstd refuses a frame whose blocks regenerate another size, and
 * verifies the content checksum. decompressExact still checks the length it
 * returns and turns every error into ProtocolError, as for fzstd.
 *
 * The page fetches the module itself and hands the library its bytes, so a
 * module that is not served is a plain error here (the library's own fetch
 * would end in an unhandled rejection). The library is imported dynamically:
 * the bundle evaluates it only here, so a browser without WebAssembly (where
 * the library throws as it loads) still runs the page.
 */

import { FZSTD, useZstdDecoder } from "./zstd_frame.js";

/** Where the relay serves the decoder's WebAssembly module. */
export const WASM_URL = "/static/zstd.wasm";
/** How long the page waits for the module before it keeps fzstd. */
export const LOAD_TIMEOUT_MS = 5000;

/** The smallest WebAssembly module: magic and version. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
/** zstandard (content size and checksum set) of "screenrelay zstd self-test " x 4. */
const SELF_TEST = "28b52ffd246c150100d873637265656e72656c6179207a7374642073656c662d74657374200100bba3730c5378daed";
const SELF_TEST_TEXT = "screenrelay zstd self-test ".repeat(4);

/** The checked decoder, once loaded: the library holds one instance per page. */
/** @type {import("./zstd_frame.js").ZstdDecoder | null} */
let loaded = null;

/** @param {string} hex */
function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

/**
 * `promise`, or a rejection after `ms`.
 * @template T @param {Promise<T>} promise @param {number} ms @returns {Promise<T>}
 */
function within(promise, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready within ${ms} ms`)), ms);
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, late])).finally(() => clearTimeout(timer));
}

/**
 * Load libzstd in WebAssembly and check it; throws if anything fails. (If
 * its module does not compile, the library's promise never settles:
 * chooseZstd bounds the wait.) `url` null: the library loads the module
 * file beside it (Node.js, for tests).
 * @param {{url?: string | null}} [options]
 * @returns {Promise<import("./zstd_frame.js").ZstdDecoder>}
 */
export async function loadWasmZstd({ url = WASM_URL } = {}) {
  if (loaded) return loaded;
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
  // Throws (CompileError or EvalError) where the CSP forbids compiling.
  new WebAssembly.Module(EMPTY_MODULE);
  let module;
  if (url !== null) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    module = new Uint8Array(await response.arrayBuffer());
  }
  const zstd = await import("@bokuweb/zstd-wasm");
  await zstd.init(module);
  /** @type {import("./zstd_frame.js").ZstdDecoder} */
  const decoder = Object.freeze({ name: "wasm", decompress: (/** @type {Uint8Array} */ blob) => zstd.decompress(blob) });
  const text = new TextDecoder().decode(decoder.decompress(fromHex(SELF_TEST), SELF_TEST_TEXT.length));
  if (text !== SELF_TEST_TEXT) throw new Error("the WebAssembly decoder failed its self-test");
  loaded = decoder;
  return decoder;
}

/**
 * Use the WebAssembly decoder if it loads, else keep fzstd; never throws.
 * @param {{url?: string | null, timeoutMs?: number, load?: typeof loadWasmZstd}} [options]
 * @returns {Promise<{name: string, problem: string | null}>} the decoder in use, and why not WebAssembly
 */
export async function chooseZstd({ load = loadWasmZstd, url = WASM_URL, timeoutMs = LOAD_TIMEOUT_MS } = {}) {
  try {
    const decoder = await within(load({ url }), timeoutMs);
    useZstdDecoder(decoder);
    return { name: decoder.name, problem: null };
  } catch (error) {
    useZstdDecoder(FZSTD);
    return { name: FZSTD.name, problem: String(/** @type {Error} */ (error)?.message ?? error) };
  }
}
