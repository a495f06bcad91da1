/**
 * The plaintext of an Input message: a batch of pointer and keyboard events
 * (protocol/input_events.py; docs/protocol.md "Remote control").
 *
 * A batch is sent_ns u64, count u16 (1..MAX_EVENTS), then count events, each
 * a kind u8 and its fields:
 *
 *   1 move    x u16, y u16                         {kind: "move", x, y}
 *   2 button  button u8, pressed u8, x u16, y u16  {kind: "button", button, pressed, x, y}
 *   3 scroll  dx i8, dy i8, x u16, y u16           {kind: "scroll", dx, dy, x, y}
 *   4 key     pressed u8, key (u8 length, 1..32 bytes of UTF-8)   {kind: "key", pressed, key}
 *
 * Rules (as Python's, so the presenter never refuses what this encodes):
 *   1. encodeBatch validates everything first and throws TypeError/RangeError
 *      for our own mistakes: integers in range, `pressed` a boolean, button
 *      1 (left), 2 (middle) or 3 (right), 1..256 events, sentNs a u64.
 *   2. A key is a name of KEY_NAMES, or exactly one printable character
 *      (Python's str.isprintable) in NFC; another normal form of one
 *      character ("e\u0301") is encoded in NFC.
 *   3. parseBatch turns any bytes into a batch or throws ProtocolError, and
 *      accepts only canonical encodings: what parses re-encodes to the same
 *      bytes.
 *
 * Unicode caveat: "printable" follows this JavaScript engine's Unicode
 * version, which may be newer than the presenter's Python; a character
 * assigned only in the newer version is refused there.
 */

import { ProtocolError } from "./errors.js";

/** Events in one batch at most. */
export const MAX_EVENTS = 256;
/** Bytes of UTF-8 in a key field at most. */
export const MAX_KEY_BYTES = 32;
/** The largest encoded batch: MAX_EVENTS key events with the longest key. */
export const MAX_BATCH_SIZE = 10 + MAX_EVENTS * (1 + 2 + MAX_KEY_BYTES);

/** The kind byte of each event. */
export const EventKind = Object.freeze({ move: 1, button: 2, scroll: 3, key: 4 });
/** The button byte of a button event. */
export const MouseButton = Object.freeze({ LEFT: 1, MIDDLE: 2, RIGHT: 3 });

/**
 * Key names a controller may press: a copy of KEY_NAMES in
 * protocol/input_events.py (pynput.keyboard.Key member names);
 * tests/test_web_crypto_cross.py keeps the two equal.
 * @type {ReadonlySet<string>}
 */
export const KEY_NAMES = Object.freeze(
  new Set([
    "alt",
    "alt_l",
    "alt_r",
    "backspace",
    "caps_lock",
    "cmd",
    "ctrl",
    "ctrl_l",
    "ctrl_r",
    "delete",
    "down",
    "end",
    "enter",
    "esc",
    ...Array.from({ length: 12 }, (_, i) => `f${i + 1}`),
    "home",
    "insert",
    "left",
    "menu",
    "page_down",
    "page_up",
    "right",
    "shift",
    "shift_l",
    "shift_r",
    "space",
    "tab",
    "up",
  ]),
);

/**
 * @typedef {{kind: "move", x: number, y: number}} MoveEvent
 * @typedef {{kind: "button", button: number, pressed: boolean, x: number, y: number}} ButtonEvent
 * @typedef {{kind: "scroll", dx: number, dy: number, x: number, y: number}} ScrollEvent
 * @typedef {{kind: "key", pressed: boolean, key: string}} KeyEvent
 * @typedef {MoveEvent | ButtonEvent | ScrollEvent | KeyEvent} InputEvent
 * @typedef {{sentNs: bigint, events: InputEvent[]}} InputBatch
 */

const U64_MAX = 2n ** 64n - 1n;
/** Not printable for Python: Cc, Cf, Cs, Co, Cn, Zl, Zp, and Zs other than " ". */
const NOT_PRINTABLE = /^(?! )[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Why `key` is not a valid key, or null if it is one (Python's key_problem).
 * @param {unknown} key
 * @returns {string | null}
 */
export function keyProblem(key) {
  if (typeof key !== "string") return `must be a string, not ${typeof key}`;
  if (KEY_NAMES.has(key)) return null;
  const chars = Array.from(key);
  if (chars.length !== 1) {
    return `must be one character or a name in KEY_NAMES, not ${JSON.stringify(key)}`;
  }
  const hex = (key.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  if (NOT_PRINTABLE.test(key)) return `must be a printable character, not U+${hex}`;
  if (key.normalize("NFC") !== key) return `must be in NFC, not U+${hex}`;
  return null;
}

// --- encode ---------------------------------------------------------------------

/**
 * @param {string} where
 * @param {unknown} value
 * @param {number} low
 * @param {number} high
 */
function int(where, value, low, high) {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${where} must be an integer, not ${typeof value}`);
  }
  if (value < low || value > high) throw new RangeError(`${where} must be in ${low}..${high}, not ${value}`);
  return value;
}

/** @param {string} where @param {unknown} value */
function bool(where, value) {
  if (typeof value !== "boolean") throw new TypeError(`${where} must be a boolean, not ${typeof value}`);
  return value ? 1 : 0;
}

/**
 * The bytes of one event (validated).
 * @param {InputEvent} event
 * @param {string} where
 * @returns {Uint8Array}
 */
function encodeEvent(event, where) {
  if (event === null || typeof event !== "object") throw new TypeError(`${where} is not an event`);
  const out = new DataView(new ArrayBuffer(3 + MAX_KEY_BYTES));
  let size;
  switch (event.kind) {
    case "move":
      out.setUint8(0, EventKind.move);
      out.setUint16(1, int(`${where}.x`, event.x, 0, 0xffff));
      out.setUint16(3, int(`${where}.y`, event.y, 0, 0xffff));
      size = 5;
      break;
    case "button":
      out.setUint8(0, EventKind.button);
      out.setUint8(1, int(`${where}.button`, event.button, 1, 3));
      out.setUint8(2, bool(`${where}.pressed`, event.pressed));
      out.setUint16(3, int(`${where}.x`, event.x, 0, 0xffff));
      out.setUint16(5, int(`${where}.y`, event.y, 0, 0xffff));
      size = 7;
      break;
    case "scroll":
      out.setUint8(0, EventKind.scroll);
      out.setInt8(1, int(`${where}.dx`, event.dx, -128, 127));
      out.setInt8(2, int(`${where}.dy`, event.dy, -128, 127));
      out.setUint16(3, int(`${where}.x`, event.x, 0, 0xffff));
      out.setUint16(5, int(`${where}.y`, event.y, 0, 0xffff));
      size = 7;
      break;
    case "key": {
      out.setUint8(0, EventKind.key);
      out.setUint8(1, bool(`${where}.pressed`, event.pressed));
      let key = event.key;
      if (typeof key === "string" && !KEY_NAMES.has(key)) key = key.normalize("NFC");
      const problem = keyProblem(key);
      if (problem !== null) throw new RangeError(`${where}.key ${problem}`);
      const raw = encoder.encode(key);
      out.setUint8(2, raw.length); // at most 4 (one character) or 9 (a name)
      new Uint8Array(out.buffer).set(raw, 3);
      size = 3 + raw.length;
      break;
    }
    default:
      throw new TypeError(`${where}.kind must be "move", "button", "scroll" or "key"`);
  }
  return new Uint8Array(out.buffer, 0, size);
}

/**
 * The plaintext bytes of a batch, as Python's encode_batch.
 * @param {{sentNs: bigint | number, events: InputEvent[]}} batch - sentNs a
 *   BigInt (or a safe non-negative integer number), the controller's wall clock in ns
 * @returns {Uint8Array}
 */
export function encodeBatch(batch) {
  const { sentNs, events } = batch;
  let ns;
  if (typeof sentNs === "bigint") ns = sentNs;
  else if (typeof sentNs === "number" && Number.isSafeInteger(sentNs)) ns = BigInt(sentNs);
  else throw new TypeError("sentNs must be a BigInt");
  if (ns < 0n || ns > U64_MAX) throw new RangeError(`sentNs must be in 0..${U64_MAX}, not ${ns}`);
  if (!Array.isArray(events)) throw new TypeError("events must be an array");
  if (events.length < 1 || events.length > MAX_EVENTS) {
    throw new RangeError(`events must hold 1..${MAX_EVENTS} events, not ${events.length}`);
  }
  const parts = events.map((event, index) => encodeEvent(event, `events[${index}]`));
  const out = new Uint8Array(10 + parts.reduce((sum, part) => sum + part.length, 0));
  const head = new DataView(out.buffer);
  head.setBigUint64(0, ns);
  head.setUint16(8, events.length);
  let at = 10;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// --- parse ----------------------------------------------------------------------------

/**
 * The batch in `data` (an opened Input's plaintext), or ProtocolError.
 * @param {Uint8Array} data
 * @returns {InputBatch}
 */
export function parseBatch(data) {
  if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  if (data.length > MAX_BATCH_SIZE) {
    throw new ProtocolError(`${data.length}-byte input batch; the cap is ${MAX_BATCH_SIZE}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  let pos = 0;
  /** @param {number} n @param {string} name */
  const need = (n, name) => {
    const left = data.length - pos;
    if (n > left) throw new ProtocolError(`${name}: needs ${n} bytes, only ${left} left`);
    const at = pos;
    pos += n;
    return at;
  };
  /** @param {number} value @param {string} name */
  const flag = (value, name) => {
    if (value > 1) throw new ProtocolError(`${name} must be 0 or 1, not ${value}`);
    return value === 1;
  };
  let at = need(10, "sent_ns and count");
  const sentNs = view.getBigUint64(at);
  const count = view.getUint16(at + 8);
  if (count < 1 || count > MAX_EVENTS) {
    throw new ProtocolError(`count must be 1..${MAX_EVENTS}, not ${count}`);
  }
  /** @type {InputEvent[]} */
  const events = [];
  for (let index = 0; index < count; index++) {
    const name = `events[${index}]`;
    const kind = view.getUint8(need(1, `${name}.kind`));
    if (kind === EventKind.move) {
      at = need(4, name);
      events.push({ kind: "move", x: view.getUint16(at), y: view.getUint16(at + 2) });
    } else if (kind === EventKind.button) {
      at = need(6, name);
      const button = view.getUint8(at);
      if (button < 1 || button > 3) throw new ProtocolError(`${name}.button: unknown button ${button}`);
      const pressed = flag(view.getUint8(at + 1), `${name}.pressed`);
      events.push({ kind: "button", button, pressed, x: view.getUint16(at + 2), y: view.getUint16(at + 4) });
    } else if (kind === EventKind.scroll) {
      at = need(6, name);
      events.push({
        kind: "scroll",
        dx: view.getInt8(at),
        dy: view.getInt8(at + 1),
        x: view.getUint16(at + 2),
        y: view.getUint16(at + 4),
      });
    } else if (kind === EventKind.key) {
      const pressed = flag(view.getUint8(need(1, `${name}.pressed`)), `${name}.pressed`);
      const size = view.getUint8(need(1, `${name}.key length`));
      if (size < 1 || size > MAX_KEY_BYTES) {
        throw new ProtocolError(`${name}.key: ${size} bytes; a key is 1..${MAX_KEY_BYTES}`);
      }
      at = need(size, `${name}.key`);
      let key;
      try {
        key = decoder.decode(data.subarray(at, at + size));
      } catch {
        throw new ProtocolError(`${name}.key: invalid UTF-8`);
      }
      const problem = keyProblem(key);
      if (problem !== null) throw new ProtocolError(`${name}.key ${problem}`);
      events.push({ kind: "key", pressed, key });
    } else {
      throw new ProtocolError(`${name}.kind: unknown event kind ${kind}`);
    }
  }
  if (pos !== data.length) {
    throw new ProtocolError(`${data.length - pos} trailing bytes after the last event`);
  }
  return { sentNs, events };
}
