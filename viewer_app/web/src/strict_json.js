/**
 * Strict JSON for the `json` field kind, as protocol/codec.py's load_json and
 * dump_json treat it.
 *
 * parseJsonObject(text) refuses what Python refuses: any text that is not one
 * JSON value (RFC 8259, no BOM, only space/tab/CR/LF as whitespace), a number
 * that overflows to infinity, a key twice in one object, nesting deeper than
 * MAX_DEPTH, and a top-level value that is not an object. It throws only
 * ProtocolError(BAD_MESSAGE). A "__proto__" key is an ordinary own property.
 *
 * canonicalJson(value) writes Python's canonical form (json.dumps with
 * sort_keys, separators (",", ":"), ensure_ascii): keys sorted by code point,
 * no spaces, every character outside printable ASCII escaped as \uxxxx.
 * Numbers: an integer within Number.MAX_SAFE_INTEGER is written as an int,
 * -0 and any other number as Python's float repr would write it (JS cannot
 * tell 8.0 from 8, so a float with an integral value is written as an int;
 * parsing reads "-0" as 0, as Python reads it as the int 0). It
 * throws TypeError / RangeError for a value JSON cannot hold.
 *
 * Known differences from Python (none affects a policy the relay sends):
 * integers beyond 2^53 lose precision, and integers of 310 to 4300 digits
 * are refused (Python keeps them); Python's depth limit is its recursion
 * limit (about 1000), this one MAX_DEPTH.
 */

import { ProtocolError } from "./errors.js";

/** Deepest nesting of arrays and objects accepted or written. */
export const MAX_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
/** @type {Record<string, string>} */
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** @param {string} problem */
function bad(problem) {
  return new ProtocolError(`invalid JSON: ${problem}`);
}

/** A recursive-descent parser over one string; `pos` is the next character. */
class Parser {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
    this.pos = 0;
  }

  space() {
    const t = this.text;
    let c = t.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = t.charCodeAt(++this.pos);
  }

  /** @param {string} what */
  expect(what) {
    if (this.text[this.pos] !== what) throw bad(`expected '${what}' at ${this.pos}`);
    this.pos++;
  }

  /** @param {number} depth @returns {unknown} */
  value(depth) {
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth + 1);
    if (c === "[") return this.array(depth + 1);
    if (c === '"') return this.string();
    for (const [word, value] of /** @type {const} */ ([["true", true], ["false", false], ["null", null]])) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.number();
  }

  number() {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw bad(`unexpected character at ${this.pos}`);
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) throw bad(`number out of range at ${this.pos}`);
    // Python reads "-0" as the int 0; only a float can be -0.0.
    return value === 0 && !/[.eE]/.test(match[0]) ? 0 : value;
  }

  string() {
    const t = this.text;
    this.pos++; // the opening quote
    let out = "";
    let start = this.pos;
    for (;;) {
      if (this.pos >= t.length) throw bad("unterminated string");
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos++);
        return out;
      }
      if (c < 0x20) throw bad(`control character in string at ${this.pos}`);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      const e = t[this.pos + 1];
      if (e === "u") {
        const hex = t.slice(this.pos + 2, this.pos + 6);
        if (!HEX4.test(hex)) throw bad(`invalid \\u escape at ${this.pos}`);
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        throw bad(`invalid escape at ${this.pos}`);
      }
      start = this.pos;
    }
  }

  /** @param {number} depth */
  array(depth) {
    if (depth > MAX_DEPTH) throw bad(`nested deeper than ${MAX_DEPTH}`);
    this.pos++;
    /** @type {unknown[]} */
    const out = [];
    this.space();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(depth));
      this.space();
      if (this.text[this.pos] === "]") {
        this.pos++;
        return out;
      }
      this.expect(",");
    }
  }

  /** @param {number} depth */
  object(depth) {
    if (depth > MAX_DEPTH) throw bad(`nested deeper than ${MAX_DEPTH}`);
    this.pos++;
    /** @type {Record<string, unknown>} */
    const out = {};
    this.space();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') throw bad(`expected a key at ${this.pos}`);
      const key = this.string();
      if (Object.hasOwn(out, key)) throw bad(`duplicate key ${JSON.stringify(key)}`);
      this.space();
      this.expect(":");
      this.space();
      const value = this.value(depth);
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.space();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      this.expect(",");
    }
  }
}

/**
 * The JSON object in `text`; throws ProtocolError for anything else.
 * @param {string} text
 * @returns {Record<string, unknown>}
 */
export function parseJsonObject(text) {
  const parser = new Parser(text);
  parser.space();
  const value = parser.value(0);
  parser.space();
  if (parser.pos !== text.length) throw bad(`extra data at ${parser.pos}`);
  if (!isPlainObject(value)) {
    throw new ProtocolError(`JSON must be an object, not ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  }
  return value;
}

/**
 * A plain object: what parseJsonObject returns and canonicalJson writes as an object.
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isPlainObject(value) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's ensure_ascii string form. @param {string} s */
function quote(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else out += "\\u" + c.toString(16).padStart(4, "0");
  }
  return out + '"';
}

/** Python's repr of a finite float, from JS's shortest round-trip digits. @param {number} x */
function pythonFloat(x) {
  const [mantissa, exponent] = x.toExponential().split("e");
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  const exp = Number(exponent);
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  return `${sign}${whole}.${digits.slice(exp + 1) || "0"}`;
}

/** Compare by Unicode code point, as Python sorts str. @param {string} a @param {string} b */
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = /** @type {number} */ (x[i].codePointAt(0)) - /** @type {number} */ (y[i].codePointAt(0));
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** @param {unknown} value @param {number} depth @returns {string} */
function write(value, depth) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`${value} is not JSON`);
    if (Object.is(value, -0)) return "-0.0"; // parse gives -0 only for a float
    if (Number.isSafeInteger(value)) return String(value);
    return pythonFloat(value);
  }
  if (depth >= MAX_DEPTH) throw new RangeError(`JSON nested deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) return `[${value.map((v) => write(v, depth + 1)).join(",")}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((k) => `${quote(k)}:${write(value[k], depth + 1)}`).join(",")}}`;
  }
  throw new TypeError(`a ${typeof value} is not JSON`);
}

/**
 * Python's canonical JSON text of a plain object (pure ASCII).
 * @param {Record<string, unknown>} value
 */
export function canonicalJson(value) {
  if (!isPlainObject(value)) throw new TypeError("JSON value must be a plain object");
  return write(value, 0);
}
