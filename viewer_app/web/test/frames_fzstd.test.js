// frames.test.js again, on the fzstd fallback (pure JavaScript), which the
// page uses where WebAssembly is unavailable or fails to load.

/** @type {any} */ (globalThis).screenrelayTestZstd = "fzstd";
await import("./frames.test.js");
