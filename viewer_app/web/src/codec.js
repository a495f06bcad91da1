/**
 * Field readers and writers for the message codec (protocol/codec.py).
 *
 * Field kinds, as in docs/protocol.md: u8 u16 u32 u64 (big-endian; u64 is a
 * BigInt), str (u16 length, UTF-8, at most MAX_TEXT bytes), blob (u16
 * length, at most MAX_BLOB bytes), json (u32 length, UTF-8 JSON object, at
 * most MAX_JSON bytes) and rest (every byte to the end of the message).
 *
 * A Reader trusts nothing: every length is checked against its cap and
 * against the bytes actually left before anything is sliced, and every
 * failure throws ProtocolError(BAD_MESSAGE) naming the field. Text is
 * decoded as Python decodes it: invalid UTF-8 is refused and a BOM is kept.
 * blob() returns a copy; rest() a view into the message (no copy).
 *
 * A Writer is only given values messages.js has checked; a value out of
 * range anyway throws RangeError or TypeError (a bug on this side).
 */

import { ProtocolError } from "./errors.js";
import { canonicalJson, parseJsonObject } from "./strict_json.js";
import { MAX_BLOB, MAX_TEXT } from "./wire.js";

/** Cap on a json field in bytes (60 KiB; protocol/codec.py MAX_JSON). */
export const MAX_JSON = 60 * 1024;

/** The field kinds of the wire format. */
export const Kind = Object.freeze({
  U8: "u8",
  U16: "u16",
  U32: "u32",
  U64: "u64",
  STR: "str",
  BLOB: "blob",
  JSON: "json",
  REST: "rest",
});

/** @typedef {"u8" | "u16" | "u32" | "u64" | "str" | "blob" | "json" | "rest"} FieldKind */

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
/** Matches a lone surrogate: in "u" mode a well-formed pair is one code point, not Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * UTF-8 text of a string, refusing lone surrogates (Python cannot encode them).
 * @param {string} value
 */
export function utf8(value) {
  if (LONE_SURROGATE.test(value)) throw new RangeError("string is not encodable as UTF-8 (lone surrogate)");
  return encoder.encode(value);
}

/** Reads fields in order from one message, checking every length first. */
export class Reader {
  /**
   * @param {Uint8Array} bytes the whole message
   * @param {number} [start] where the first field begins (1: after the tag)
   */
  constructor(bytes, start = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  /** Bytes not yet read. */
  get remaining() {
    return this.bytes.length - this.pos;
  }

  /**
   * The next `n` bytes, as a view; throws unless that many are left.
   * @param {number} n
   * @param {string} name
   */
  take(n, name) {
    if (n > this.remaining) {
      throw new ProtocolError(`${name}: needs ${n} bytes, only ${Math.max(this.remaining, 0)} left`);
    }
    const chunk = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return chunk;
  }

  /** @param {number} n @param {string} name */
  #at(n, name) {
    const at = this.pos;
    this.take(n, name);
    return at;
  }

  /** @param {string} name */
  u8(name) {
    return this.view.getUint8(this.#at(1, name));
  }

  /** @param {string} name */
  u16(name) {
    return this.view.getUint16(this.#at(2, name));
  }

  /** @param {string} name */
  u32(name) {
    return this.view.getUint32(this.#at(4, name));
  }

  /** @param {string} name @returns {bigint} */
  u64(name) {
    return this.view.getBigUint64(this.#at(8, name));
  }

  /** @param {string} name */
  str(name) {
    const n = this.u16(name);
    if (n > MAX_TEXT) throw new ProtocolError(`${name}: ${n} bytes of text; the cap is ${MAX_TEXT}`);
    const raw = this.take(n, name);
    try {
      return decoder.decode(raw);
    } catch {
      throw new ProtocolError(`${name}: invalid UTF-8`);
    }
  }

  /** @param {string} name */
  blob(name) {
    const n = this.u16(name);
    if (n > MAX_BLOB) throw new ProtocolError(`${name}: ${n} bytes; the cap is ${MAX_BLOB}`);
    return this.take(n, name).slice();
  }

  /** @param {string} name */
  json(name) {
    const n = this.u32(name);
    if (n > MAX_JSON) throw new ProtocolError(`${name}: ${n} bytes of JSON; the cap is ${MAX_JSON}`);
    const raw = this.take(n, name);
    let text;
    try {
      text = decoder.decode(raw);
    } catch {
      throw new ProtocolError(`${name}: invalid JSON: invalid UTF-8`);
    }
    try {
      return parseJsonObject(text);
    } catch (exc) {
      if (exc instanceof ProtocolError) throw new ProtocolError(`${name}: ${exc.message}`);
      throw exc;
    }
  }

  /** Every remaining byte, as a view (no copy). @param {string} name */
  rest(name) {
    return this.take(this.remaining, name);
  }

  /**
   * Read one field of the given kind.
   * @param {FieldKind} kind
   * @param {string} name
   * @returns {number | bigint | string | Uint8Array | Record<string, unknown>}
   */
  read(kind, name) {
    switch (kind) {
      case "u8":
        return this.u8(name);
      case "u16":
        return this.u16(name);
      case "u32":
        return this.u32(name);
      case "u64":
        return this.u64(name);
      case "str":
        return this.str(name);
      case "blob":
        return this.blob(name);
      case "json":
        return this.json(name);
      case "rest":
        return this.rest(name);
      default:
        throw new TypeError(`unknown field kind ${kind}`);
    }
  }

  /** Refuse trailing bytes after the last field. @param {string} [what] */
  end(what = "message") {
    if (this.remaining) throw new ProtocolError(`${what}: ${this.remaining} trailing bytes after the last field`);
  }
}

/** @param {unknown} value @param {number} max */
function checkedInt(value, max) {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new TypeError(`${String(value)} is not an integer`);
  if (value < 0 || value > max) throw new RangeError(`${value} does not fit in 0..${max}`);
  return value;
}

/** Builds one message: a tag byte, then fields appended in order. */
export class Writer {
  /** @param {number} tag */
  constructor(tag) {
    this.buf = new Uint8Array(64);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
    this.u8(tag);
  }

  /** Room for `n` more bytes; returns where they go. @param {number} n */
  #grow(n) {
    const at = this.len;
    if (at + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buf.length, at + n));
      bigger.set(this.buf.subarray(0, at));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.len = at + n;
    return at;
  }

  /** @param {number} value */
  u8(value) {
    const checked = checkedInt(value, 0xff);
    const at = this.#grow(1); // may replace this.view
    this.view.setUint8(at, checked);
  }

  /** @param {number} value */
  u16(value) {
    const checked = checkedInt(value, 0xffff);
    const at = this.#grow(2); // may replace this.view
    this.view.setUint16(at, checked);
  }

  /** @param {number} value */
  u32(value) {
    const checked = checkedInt(value, 0xffffffff);
    const at = this.#grow(4); // may replace this.view
    this.view.setUint32(at, checked);
  }

  /** @param {bigint} value */
  u64(value) {
    if (typeof value !== "bigint") throw new TypeError(`${String(value)} is not a BigInt`);
    if (value < 0n || value > 0xffffffffffffffffn) throw new RangeError(`${value} does not fit in 8 bytes`);
    const at = this.#grow(8); // may replace this.view
    this.view.setBigUint64(at, value);
  }

  /** @param {Uint8Array} raw */
  #bytes(raw) {
    const at = this.#grow(raw.length); // may replace this.buf
    this.buf.set(raw, at);
  }

  /** @param {string} value */
  str(value) {
    const raw = utf8(value);
    if (raw.length > MAX_TEXT) throw new RangeError(`${raw.length} bytes of text; the cap is ${MAX_TEXT}`);
    this.u16(raw.length);
    this.#bytes(raw);
  }

  /** @param {Uint8Array} value */
  blob(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError("a blob must be a Uint8Array");
    if (value.length > MAX_BLOB) throw new RangeError(`${value.length}-byte blob; the cap is ${MAX_BLOB}`);
    this.u16(value.length);
    this.#bytes(value);
  }

  /** @param {Record<string, unknown>} value */
  json(value) {
    const raw = encoder.encode(canonicalJson(value));
    if (raw.length > MAX_JSON) throw new RangeError(`JSON is ${raw.length} bytes; the cap is ${MAX_JSON}`);
    this.u32(raw.length);
    this.#bytes(raw);
  }

  /** @param {Uint8Array} value */
  rest(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError("rest must be a Uint8Array");
    this.#bytes(value);
  }

  /**
   * Append one field of the given kind.
   * @param {FieldKind} kind
   * @param {any} value
   */
  write(kind, value) {
    switch (kind) {
      case "u8":
        return this.u8(value);
      case "u16":
        return this.u16(value);
      case "u32":
        return this.u32(value);
      case "u64":
        return this.u64(value);
      case "str":
        return this.str(value);
      case "blob":
        return this.blob(value);
      case "json":
        return this.json(value);
      case "rest":
        return this.rest(value);
      default:
        throw new TypeError(`unknown field kind ${kind}`);
    }
  }

  /** The message's bytes (a copy of exactly its length). */
  finish() {
    return this.buf.slice(0, this.len);
  }
}
