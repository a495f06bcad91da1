// Driver for tests/test_web_crypto_cross.py: runs the browser client's crypto
// modules under Node so the Python tests can play them against protocol/.
//
//   node tools/cross_cli.js serve
//
// reads one JSON request per line on stdin, {"op": ..., ...}, and answers each
// with one JSON line on stdout: {"ok": true, ...} or {"ok": false, "error":
// <class name>, "code": <ErrorCode or null>, "message": ...}. Bytes travel as
// hex, 64-bit counters and sent_ns as decimal strings. Objects with state
// (SPAKE2 sides, handshakes, ciphers) live in a table and are named by the
// integer "h" their constructor op returned. Not a test file: without "serve"
// it exits at once (so `node --test test/` ignores it).

import { createInterface } from "node:readline";

import { fromHex, toHex } from "../src/bytes.js";
import { KEY_NAMES, encodeBatch, keyProblem, parseBatch } from "../src/input_events.js";
import { EpochRing, unwrapEpochKey } from "../src/keys.js";
import {
  JoinerHandshake,
  SPAKE2_PARAMS,
  Spake2,
  normalizePassword,
  parseFragment,
  parseLink,
} from "../src/pake.js";
import { InputSealer, ReceiverCipher, SenderCipher } from "../src/sframe.js";

/** @type {Map<number, any>} */
const objects = new Map();
let nextHandle = 1;

/** @param {any} obj */
function keep(obj) {
  const h = nextHandle++;
  objects.set(h, obj);
  return { h };
}

/** @param {{h: number}} req */
function get(req) {
  const obj = objects.get(req.h);
  if (obj === undefined) throw new Error(`no object ${req.h}`);
  return obj;
}

/** A scripted rng from hex chunks, or undefined for WebCrypto's. @param {string[] | undefined} chunks */
function rngOf(chunks) {
  if (!chunks) return undefined;
  const queue = chunks.map(fromHex);
  return (/** @type {number} */ n) => {
    const chunk = queue.shift();
    if (!chunk || chunk.length !== n) throw new Error(`scripted rng: wanted ${n} bytes`);
    return chunk;
  };
}

/** @param {unknown} fn */
function attempt(fn) {
  try {
    return { ok: true, value: /** @type {() => unknown} */ (fn)() };
  } catch (err) {
    return { ok: false, message: /** @type {Error} */ (err).message };
  }
}

/** @param {any} header */
function headerJson(header) {
  return { ...header, counter: header.counter.toString() };
}

/** @type {Record<string, (req: any) => unknown>} */
const OPS = {
  params: () => ({ ...SPAKE2_PARAMS }),
  key_names: () => ({ names: [...KEY_NAMES].sort() }),

  spake_new: (req) =>
    keep(new Spake2(req.side, fromHex(req.password), fromHex(req.id_a), fromHex(req.id_b), rngOf(req.entropy))),
  spake_start: (req) => ({ msg: toHex(get(req).start()) }),
  spake_finish: (req) => ({ key: toHex(get(req).finish(fromHex(req.msg))) }),

  joiner_new: (req) => keep(new JoinerHandshake(req.session_id, fromHex(req.secret), rngOf(req.entropy))),
  joiner_start: (req) => ({ msg: toHex(get(req).start()) }),
  joiner_finish: async (req) => ({ tag: toHex(await get(req).finish(req.member_id, fromHex(req.msg))) }),
  joiner_verify: async (req) => ({ pairwise: toHex(await get(req).verifyAdmit(fromHex(req.tag))) }),

  unwrap: async (req) => ({
    key: toHex(
      await unwrapEpochKey(fromHex(req.pairwise), fromHex(req.wrapped), req.session_id, req.member_id, req.epoch),
    ),
  }),

  receiver_new: (req) => {
    const ring = new EpochRing();
    return keep({ ring, receiver: new ReceiverCipher(req.session_id, ring) });
  },
  ring_install: (req) => {
    get(req).ring.install(req.epoch, fromHex(req.key));
    return {};
  },
  receiver_open: async (req) => {
    const { header, plaintext } = await get(req).receiver.open(fromHex(req.message));
    return { header: headerJson(header), plaintext: toHex(plaintext) };
  },

  sender_new: (req) => keep(new SenderCipher(req.session_id, req.epoch, fromHex(req.key), req.sender)),
  sender_seal: async (req) => ({
    message: toHex(await get(req).seal(req.tag, req.flags, fromHex(req.plaintext))),
  }),
  sender_rekey: (req) => {
    get(req).rekey(req.epoch, fromHex(req.key));
    return {};
  },

  input_sealer_new: (req) => keep(new InputSealer(req.session_id, fromHex(req.pairwise), req.sender)),
  input_seal: async (req) => ({ message: toHex(await get(req).seal(req.grant, fromHex(req.plaintext))) }),

  encode_batch: (req) => ({ batch: toHex(encodeBatch({ sentNs: BigInt(req.sent_ns), events: req.events })) }),
  parse_batch: (req) => {
    const batch = parseBatch(fromHex(req.batch));
    return { sent_ns: batch.sentNs.toString(), events: batch.events };
  },

  // Batch comparisons: one result per input, errors included.
  normalize: (req) => ({
    results: req.texts.map((/** @type {string} */ text) => {
      const r = attempt(() => toHex(normalizePassword(text)));
      return r.ok ? r.value : null;
    }),
  }),
  key_problems: (req) => ({ valid: req.keys.map((/** @type {string} */ k) => keyProblem(k) === null) }),
  parse_links: (req) => ({
    results: req.links.map((/** @type {string} */ link) => {
      const r = attempt(() => {
        const { relay, sessionId, secret } = parseLink(link);
        return [relay, sessionId, toHex(secret)];
      });
      return r.ok ? r.value : null;
    }),
  }),
  parse_fragment: (req) => ({ secret: toHex(parseFragment(req.fragment)) }),
};

/** @param {string} line */
async function answer(line) {
  let req;
  try {
    req = JSON.parse(line);
    const op = OPS[req.op];
    if (op === undefined) throw new Error(`unknown op ${req.op}`);
    return { ok: true, ...(/** @type {object} */ (await op(req))) };
  } catch (err) {
    const e = /** @type {any} */ (err);
    return { ok: false, error: e?.name ?? "Error", code: e?.code ?? null, message: String(e?.message ?? e) };
  }
}

if (process.argv[2] === "serve") {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    process.stdout.write(`${JSON.stringify(await answer(line))}\n`);
  }
}
