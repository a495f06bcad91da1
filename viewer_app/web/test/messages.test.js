// Tests of src/messages.js (with src/codec.js and src/strict_json.js): the
// golden files of tests/golden/messages/ parse to the values
// tests/golden/make_golden.py used and re-encode to the same bytes; every
// mutation of them gets Python's verdict (tests/golden/messages.json, made by
// make_web_expectations.py); every failure class; and the promise that any
// bytes give a message or a ProtocolError, never another exception.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { Kind, MAX_JSON, Reader, Writer } from "../src/codec.js";
import { ErrorCode, ProtocolError } from "../src/errors.js";
import {
  MAX_INPUT_CIPHERTEXT,
  MESSAGE_TYPES,
  RejectReason,
  encode,
  parse,
  peekType,
} from "../src/messages.js";
import { MAX_DEPTH, canonicalJson } from "../src/strict_json.js";
import { MAX_CONTROL_MESSAGE, MAX_FRAME_MESSAGE, Tag } from "../src/wire.js";

const GOLDEN = new URL("../../../tests/golden/", import.meta.url);
const EXPECTATIONS = JSON.parse(readFileSync(new URL("messages.json", GOLDEN), "utf8"));
/** @type {Record<string, any>} golden file stem -> type, tag, fields, hex, mutation verdicts */
const EXPECTED = EXPECTATIONS.messages;
/** @type {Array<[string, string, string | null]>} JSON text, verdict, canonical form */
const JSON_CASES = EXPECTATIONS.json_cases;
const CODES = "0123456789abcdefghijklmnopqrstuvwxyz";

/** @param {string} stem */
function golden(stem) {
  return new Uint8Array(readFileSync(new URL(`messages/${stem}.bin`, GOLDEN)));
}

/** @param {string} hex */
function hex(hex) {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** @param {Uint8Array} bytes */
function toHex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The message object an entry of messages.json describes. @param {any} entry */
function expectedMessage(entry) {
  /** @type {Record<string, unknown>} */
  const msg = { type: entry.type };
  for (const { name, kind, value } of entry.fields) {
    if (kind === "u64") msg[name] = BigInt(value);
    else if (kind === "blob" || kind === "rest") msg[name] = hex(value);
    else msg[name] = value;
  }
  return msg;
}

/**
 * Assert that `fn` throws a ProtocolError with `code` whose text matches `text`.
 * @param {() => unknown} fn @param {number} code @param {RegExp} [text]
 */
function refuses(fn, code = ErrorCode.BAD_MESSAGE, text) {
  assert.throws(fn, (/** @type {any} */ exc) => {
    assert.ok(exc instanceof ProtocolError, `not a ProtocolError: ${exc}`);
    assert.equal(exc.code, code, exc.message);
    if (text) assert.match(exc.message, text);
    return true;
  });
}

/** @param {number} tag @param {(w: Writer) => void} fill */
function build(tag, fill) {
  const w = new Writer(tag);
  fill(w);
  return w.finish();
}

/** A Welcome whose policy field holds exactly `raw`. @param {Uint8Array} raw @param {number} [declared] */
function welcome(raw, declared = raw.length) {
  return build(Tag.WELCOME, (w) => {
    w.u16(1);
    w.str("r");
    w.u32(declared);
    w.rest(raw);
  });
}

/** @param {string} s */
function utf8(s) {
  return new TextEncoder().encode(s);
}

/** UTF-8 that keeps lone surrogates (Python's "surrogatepass"). @param {string} s */
function wtf8(s) {
  const out = [];
  for (const ch of s) {
    const c = /** @type {number} */ (ch.codePointAt(0));
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** JS's verdict in the notation of messages.json. @param {Uint8Array} data */
function verdict(data) {
  let msg;
  try {
    msg = parse(data);
  } catch (exc) {
    if (!(exc instanceof ProtocolError)) throw exc;
    return { char: CODES[exc.code], change: null };
  }
  const again = encode(msg);
  return toHex(again) === toHex(data) ? { char: ".", change: null } : { char: "~", change: toHex(again) };
}

/** The mutations of make_web_expectations.py, by name. @type {Record<string, (d: Uint8Array) => Uint8Array[]>} */
export const MUTATIONS = {
  truncated: (d) => Array.from({ length: d.length }, (_, n) => d.slice(0, n)),
  extended: (d) => {
    const e = new Uint8Array(d.length + 1);
    e.set(d);
    return [e];
  },
  set00: (d) => edits(d, () => 0x00),
  setff: (d) => edits(d, () => 0xff),
  xor01: (d) => edits(d, (b) => b ^ 0x01),
  xor80: (d) => edits(d, (b) => b ^ 0x80),
};

/** @param {Uint8Array} d @param {(b: number) => number} edit */
function edits(d, edit) {
  return Array.from(d, (b, i) => {
    const m = d.slice();
    m[i] = edit(b);
    return m;
  });
}

describe("the table", () => {
  test("has one row per golden example, with Python's tag, type, field names and kinds", () => {
    assert.equal(MESSAGE_TYPES.length, 28);
    assert.deepEqual(
      new Set(MESSAGE_TYPES.map((t) => t.type)),
      new Set(Object.values(EXPECTED).map((e) => e.type)),
    );
    for (const entry of Object.values(EXPECTED)) {
      const row = MESSAGE_TYPES.find((t) => t.type === entry.type);
      assert.ok(row, entry.type);
      assert.equal(row.tag, entry.tag, entry.type);
      assert.deepEqual(
        row.fields.map((f) => [f.name, f.kind]),
        entry.fields.map((/** @type {any} */ f) => [f.name, f.kind]),
        entry.type,
      );
    }
  });

  test("tags are those of wire.js, each once", () => {
    assert.deepEqual(MESSAGE_TYPES.map((t) => t.tag).sort(), Object.values(Tag).sort());
  });
});

describe("golden files", () => {
  for (const [stem, entry] of Object.entries(EXPECTED)) {
    test(`${stem}.bin parses to make_golden.py's ${entry.type} and encodes back`, () => {
      const bytes = golden(stem);
      assert.equal(toHex(bytes), entry.hex, "messages.json is stale: run make_web_expectations.py");
      const msg = parse(bytes);
      const want = expectedMessage(entry);
      if (msg.type === "Frame" || msg.type === "Input") {
        const { header, raw, ...fields } = msg;
        assert.deepEqual(header, bytes.subarray(0, 16));
        assert.equal(raw, bytes);
        assert.deepEqual({ ...fields, ciphertext: fields.ciphertext.slice() }, want);
      } else {
        assert.deepEqual(msg, want);
      }
      assert.deepEqual(encode(want), bytes);
      assert.deepEqual(encode(msg), bytes);
    });
  }

  test("a sealed message's header, ciphertext and raw are views, not copies", () => {
    for (const stem of ["frame", "input"]) {
      const bytes = golden(stem);
      const msg = parse(bytes);
      for (const part of [msg.header, msg.ciphertext, msg.raw]) assert.equal(part.buffer, bytes.buffer);
      assert.equal(msg.ciphertext.byteOffset, bytes.byteOffset + 16);
      assert.equal(msg.ciphertext.length, bytes.length - 16);
    }
  });

  test("parse takes an ArrayBuffer too", () => {
    const bytes = golden("hello");
    assert.deepEqual(parse(bytes.slice().buffer), parse(bytes));
  });
});

describe("every mutation of every golden file gets Python's verdict", () => {
  for (const [stem, entry] of Object.entries(EXPECTED)) {
    test(stem, () => {
      const bytes = golden(stem);
      for (const [name, make] of Object.entries(MUTATIONS)) {
        const cases = make(bytes);
        const chars = [];
        for (const [index, data] of cases.entries()) {
          const { char, change } = verdict(data);
          chars.push(char);
          if (char === "~") assert.equal(change, entry.changed[`${name}:${index}`], `${name}:${index}`);
        }
        assert.equal(chars.join(""), entry.mutations[name], name);
      }
    });
  }
});

describe("failure classes", () => {
  test("the size cap comes first: MESSAGE_TOO_LARGE", () => {
    const control = new Uint8Array(MAX_CONTROL_MESSAGE + 1);
    control[0] = Tag.HELLO;
    refuses(() => parse(control), ErrorCode.MESSAGE_TOO_LARGE, /65537-byte message; the cap is 65536/);
    control[0] = 0xee; // unknown tag: still the control cap first
    refuses(() => parse(control), ErrorCode.MESSAGE_TOO_LARGE);
    control[0] = Tag.INPUT; // an Input is a control message
    refuses(() => parse(control), ErrorCode.MESSAGE_TOO_LARGE);
    const input = control.subarray(0, MAX_CONTROL_MESSAGE);
    input.set([0, 0, 0, 1, 0, 2], 1); // grant 1, sender 2
    assert.equal(parse(input).ciphertext.length, MAX_INPUT_CIPHERTEXT);
    const frame = new Uint8Array(MAX_FRAME_MESSAGE + 1);
    frame.set([Tag.FRAME, 0, 0, 0, 0, 0, 1]);
    refuses(() => parse(frame), ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(parse(frame.subarray(0, MAX_FRAME_MESSAGE)).ciphertext.length, MAX_FRAME_MESSAGE - 16);
    assert.equal(peekType(frame.subarray(0, 1)).type, "Frame");
  });

  test("empty and unknown", () => {
    refuses(() => parse(new Uint8Array(0)), ErrorCode.BAD_MESSAGE, /empty message/);
    for (const tag of [0x00, 0x04, 0x16, 0x29, 0x32, 0x44, 0x54, 0xff]) {
      refuses(() => parse(new Uint8Array([tag])), ErrorCode.BAD_MESSAGE, /unknown message tag/);
    }
  });

  test("short fields and trailing bytes name the message and field", () => {
    refuses(() => parse(new Uint8Array([Tag.HELLO, 0])), ErrorCode.BAD_MESSAGE, /^Hello\.proto: needs 2 bytes, only 1 left$/);
    refuses(() => parse(new Uint8Array([Tag.HELLO, 0, 1, 0, 5, 0x61])), ErrorCode.BAD_MESSAGE, /^Hello\.clientVersion: needs 5/);
    const hello = golden("hello");
    const longer = new Uint8Array(hello.length + 2);
    longer.set(hello);
    refuses(() => parse(longer), ErrorCode.BAD_MESSAGE, /^Hello: 2 trailing bytes/);
    refuses(() => parse(new Uint8Array([Tag.END_SESSION, 0])), ErrorCode.BAD_MESSAGE, /EndSession: 1 trailing/);
    refuses(() => parse(golden("frame").subarray(0, 31)), ErrorCode.BAD_MESSAGE, /^Frame: 31 bytes; at least 32/);
  });

  test("out-of-range values", () => {
    /** @type {Array<[Uint8Array, RegExp]>} */
    const cases = [
      [build(Tag.SESSION_CREATED, (w) => (w.u32(99_999_999), w.u16(1))), /SessionCreated\.sessionId must be in/],
      [build(Tag.SESSION_CREATED, (w) => (w.u32(1_000_000_000), w.u16(1))), /SessionCreated\.sessionId/],
      [build(Tag.SESSION_CREATED, (w) => (w.u32(482_913_557), w.u16(0))), /SessionCreated\.memberId must be in 1\.\.65535, not 0/],
      [build(Tag.CREATE_SESSION, (w) => w.u32(5)), /CreateSession\.requestedId must be 0 or at least 100000000/],
      [build(Tag.ERROR, (w) => (w.u16(99), w.str(""))), /Error\.code is not a ErrorCode: 99/],
      [build(Tag.SESSION_ENDED, (w) => (w.u16(0), w.str(""))), /SessionEnded\.code/],
      [build(Tag.JOIN, (w) => (w.u32(482_913_557), w.u8(2), w.blob(new Uint8Array(1)))), /Join\.credential/],
      [build(Tag.REJECT, (w) => (w.u16(2), w.u8(2))), /Reject\.reason is not a RejectReason/],
      [build(Tag.PRESENT_ANSWER, (w) => w.u8(4)), /PresentAnswer\.answer/],
      [build(Tag.PRESENTER_CHANGED, (w) => (w.u16(0), w.u16(2), w.u8(8))), /PresenterChanged\.reason/],
      [build(Tag.PRESENTER_CHANGED, (w) => (w.u16(0), w.u16(0), w.u8(0))), /PresenterChanged\.subject/],
      [build(Tag.SET_PRESENTER, (w) => w.u16(2)), /SetPresenter\.presenter must be in 0\.\.1/],
      [build(Tag.CONTROL_STATE, (w) => (w.u16(3), w.u32(0), w.u16(3), w.u8(7))), /ControlState\.grant must be at least 1 while member 3 controls/],
      [build(Tag.CONTROL_STATE, (w) => (w.u16(2), w.u32(1), w.u16(3), w.u8(0))), /ControlState\.controller must be the subject 3 when GRANTED/],
      [build(Tag.CONTROL_STATE, (w) => (w.u16(3), w.u32(1), w.u16(3), w.u8(5))), /ControlState\.controller must be 0 \(nobody\) when RELEASED/],
      [build(Tag.CONTROL_STATE, (w) => (w.u16(0), w.u32(0), w.u16(3), w.u8(9))), /ControlState\.reason/],
      [build(Tag.INPUT, (w) => (w.u32(0), w.u16(3), w.u64(0n), w.u8(0), w.rest(new Uint8Array(16)))), /Input\.grant must be in 1\.\./],
      [build(Tag.INPUT, (w) => (w.u32(1), w.u16(3), w.u64(0n), w.u8(1), w.rest(new Uint8Array(16)))), /Input\.flags must be in 0\.\.0/],
      [build(Tag.FRAME, (w) => (w.u32(1), w.u16(0), w.u64(0n), w.u8(1), w.rest(new Uint8Array(16)))), /Frame\.sender must be in 1\.\./],
    ];
    for (const [bytes, text] of cases) refuses(() => parse(bytes), ErrorCode.BAD_MESSAGE, text);
    // The rules' edges that are allowed.
    const refused = build(Tag.CONTROL_STATE, (w) => (w.u16(4), w.u32(2), w.u16(3), w.u8(7)));
    assert.deepEqual(parse(refused), { type: "ControlState", controller: 4, grant: 2, subject: 3, reason: 7 });
    assert.equal(parse(build(Tag.CREATE_SESSION, (w) => w.u32(0))).requestedId, 0);
    assert.equal(parse(build(Tag.SET_PRESENTER, (w) => w.u16(1))).presenter, 1);
    assert.equal(RejectReason.LOCKED, 1);
  });

  test("str: UTF-8 refused when invalid, a BOM kept, the cap checked before slicing", () => {
    for (const raw of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const bytes = new Uint8Array([Tag.HELLO, 0, 1, 0, raw.length, ...raw]);
      refuses(() => parse(bytes), ErrorCode.BAD_MESSAGE, /^Hello\.clientVersion: invalid UTF-8$/);
    }
    const bom = build(Tag.HELLO, (w) => (w.u16(1), w.rest(new Uint8Array([0, 4, 0xef, 0xbb, 0xbf, 0x78]))));
    assert.equal(parse(bom).clientVersion, "\ufeffx");
    assert.deepEqual(encode(parse(bom)), bom);
    refuses(() => parse(new Uint8Array([Tag.HELLO, 0, 1, 0x04, 0x01])), ErrorCode.BAD_MESSAGE, /1025 bytes of text; the cap is 1024/);
    const most = "é".repeat(512);
    assert.equal(parse(encode({ type: "Hello", proto: 1, clientVersion: most })).clientVersion, most);
  });

  test("blob: the cap", () => {
    const at = (/** @type {number} */ n) => {
      const bytes = new Uint8Array(1 + 2 + 2 + n);
      bytes.set([Tag.PAKE_REPLY, 0, 2, n >> 8, n & 0xff]);
      return bytes;
    };
    assert.equal(parse(at(4096)).pake.length, 4096);
    refuses(() => parse(at(4097)), ErrorCode.BAD_MESSAGE, /^PakeReply\.pake: 4097 bytes; the cap is 4096$/);
  });

  test("json: the 60 KiB cap, on the wire and once canonical", () => {
    const filler = (/** @type {number} */ n) => `{"a":"${"x".repeat(n - 8)}"}`;
    assert.equal(parse(welcome(utf8(filler(MAX_JSON)))).policy.a.length, MAX_JSON - 8);
    refuses(() => parse(welcome(utf8(filler(MAX_JSON + 1)))), ErrorCode.BAD_MESSAGE, /^Welcome\.policy: 61441 bytes of JSON; the cap is 61440$/);
    refuses(() => parse(welcome(new Uint8Array(0), 0xffffffff)), ErrorCode.BAD_MESSAGE, /the cap is 61440/);
    // "é" is 2 bytes on the wire, 6 once escaped: Python refuses the canonical overflow.
    const wide = utf8(`{"a":"${"é".repeat(15000)}"}`);
    assert.ok(wide.length <= MAX_JSON);
    refuses(() => parse(welcome(wide)), ErrorCode.BAD_MESSAGE, /^Welcome\.policy is 90008 bytes of JSON/);
  });

  test("json: only one JSON object, as Python's load_json takes it", () => {
    const bad = [
      "[1]",
      '"x"',
      "1",
      "null",
      "",
      " ",
      '{"a":}',
      '{"a":1,}',
      '{"a":1}x',
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":-Infinity}',
      '{"a":1e400}',
      '{"a":1,"a":2}',
      '{"a":{"b":1,"b":1}}',
      '{"\\u0061":1,"a":2}',
      "\ufeff{}",
      '{"a":"\t"}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":01}',
      '{"a":.5}',
      '{"a":1.}',
      '{"a":+1}',
      "{'a':1}",
      '{"a":tru}',
      '{"a" 1}',
      "{\u00a0}",
      `${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}`,
      `${'{"a":'.repeat(MAX_DEPTH + 1)}1${"}".repeat(MAX_DEPTH + 1)}`,
    ];
    for (const text of bad) refuses(() => parse(welcome(utf8(text))), ErrorCode.BAD_MESSAGE, /^Welcome\.policy: /);
    refuses(() => parse(welcome(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))), ErrorCode.BAD_MESSAGE, /invalid UTF-8/);
    const good = [
      ' \t\r\n{ "a" : [ 1 , -2.5e-3 , true , false , null , { } , [ ] ] } \n',
      '{"\\ud800":"\\udc00\\ud83d\\ude00","\\/":"\\"\\\\\\b\\f\\n\\r\\t"}',
      `${'{"a":'.repeat(MAX_DEPTH)}1${"}".repeat(MAX_DEPTH)}`,
      '{"a":1e-400,"b":-0,"c":12345678901234567890}',
    ];
    for (const text of good) assert.deepEqual(parse(welcome(utf8(text))).policy, JSON.parse(text.replace("-0,", "0,")));
  });

  test("json: __proto__ is an ordinary key", () => {
    const policy = parse(welcome(utf8('{"__proto__":{"x":1}}'))).policy;
    assert.equal(Object.getPrototypeOf(policy), Object.prototype);
    assert.deepEqual(Object.keys(policy), ["__proto__"]);
    assert.equal(/** @type {any} */ ({}).x, undefined);
    assert.deepEqual(encode(parse(welcome(utf8('{"__proto__":{"x":1}}')))).subarray(-21), utf8('{"__proto__":{"x":1}}'));
  });

  test("json: encoded as Python's dump_json writes it", () => {
    const policy = { b: 1, a: [1.5, "é\u007f\n\u0001/", 1e-7, 1e16, 2 ** 53 + 2, 0.0001, 123.25, true, null, -0, 0], "\u{1f600}": 0, "\uffff": 0 };
    // Python: json.dumps(policy, sort_keys=True, separators=(",", ":"), allow_nan=False)
    assert.equal(
      canonicalJson(policy),
      '{"a":[1.5,"\\u00e9\\u007f\\n\\u0001/",1e-07,1e+16,9007199254740994.0,0.0001,123.25,true,null,-0.0,0],"b":1,"\\uffff":0,"\\ud83d\\ude00":0}',
    );
    const text = '{ "z":1, "a": "caf\u00e9" }';
    const again = encode(parse(welcome(utf8(text))));
    assert.deepEqual(again, welcome(utf8('{"a":"caf\\u00e9","z":1}')));
  });
});

test("random JSON policies get Python's verdict and canonical form", () => {
  assert.ok(JSON_CASES.length > 1000);
  for (const [text, want, canonical] of JSON_CASES) {
    let got;
    try {
      const policy = parse(welcome(wtf8(text))).policy;
      got = ".";
      if (canonical !== null) assert.equal(canonicalJson(policy), canonical, text);
    } catch (exc) {
      if (!(exc instanceof ProtocolError)) throw exc;
      got = CODES[exc.code];
    }
    assert.equal(got, want, JSON.stringify(text));
  }
});

describe("encode checks what parse checks", () => {
  test("out-of-range and wrongly typed values throw RangeError", () => {
    /** @type {any[]} */
    const bad = [
      { type: "Hello", proto: 65536, clientVersion: "" },
      { type: "Hello", proto: 1.5, clientVersion: "" },
      { type: "Hello", proto: "1", clientVersion: "" },
      { type: "Hello", proto: 1, clientVersion: "x".repeat(1025) },
      { type: "Hello", proto: 1, clientVersion: "\ud800" },
      { type: "Hello", proto: 1 },
      { type: "Welcome", proto: 1, relayVersion: "", policy: [] },
      { type: "Welcome", proto: 1, relayVersion: "", policy: { a: NaN } },
      { type: "Welcome", proto: 1, relayVersion: "", policy: { a: 1n } },
      { type: "Welcome", proto: 1, relayVersion: "", policy: { a: new Date(0) } },
      { type: "Welcome", proto: 1, relayVersion: "", policy: { a: "x".repeat(MAX_JSON) } },
      { type: "Join", sessionId: 482_913_557, credential: 0, pake: [1, 2] },
      { type: "Join", sessionId: 482_913_557, credential: 0, pake: new Uint8Array(4097) },
      { type: "Frame", epoch: 1, sender: 1, counter: 1, flags: 0, ciphertext: new Uint8Array(16) },
      { type: "Frame", epoch: 1, sender: 1, counter: 2n ** 64n, flags: 0, ciphertext: new Uint8Array(16) },
      { type: "Frame", epoch: 1, sender: 1, counter: 0n, flags: 0, ciphertext: new Uint8Array(15) },
      { type: "Input", grant: 1, sender: 1, counter: 0n, flags: 0, ciphertext: new Uint8Array(MAX_INPUT_CIPHERTEXT + 1) },
      { type: "ControlState", controller: 3, grant: 1, subject: 3, reason: 1 },
    ];
    for (const msg of bad) assert.throws(() => encode(msg), RangeError, JSON.stringify(msg, (_k, v) => (typeof v === "bigint" ? `${v}` : v)));
  });

  test("a message that is not one throws TypeError", () => {
    assert.throws(() => encode(/** @type {any} */ ({ type: "Nope" })), TypeError);
    assert.throws(() => encode(/** @type {any} */ (null)), TypeError);
  });

  test("a sealed message encodes its header from the fields, not from header/raw", () => {
    const msg = parse(golden("frame"));
    const again = encode({ ...msg, counter: 5n, header: new Uint8Array(16), raw: new Uint8Array(0) });
    assert.deepEqual(parse(again).counter, 5n);
    assert.deepEqual(again.subarray(16), msg.ciphertext);
  });
});

describe("codec", () => {
  test("Reader reads every kind and refuses short fields", () => {
    const bytes = build(0x99, (w) => {
      w.u8(0xfe);
      w.u16(0xfedc);
      w.u32(0xfedcba98);
      w.u64(0xfedcba9876543210n);
      w.str("é");
      w.blob(new Uint8Array([1, 2]));
      w.json({ k: [1] });
      w.rest(new Uint8Array([7, 8]));
    });
    const r = new Reader(bytes, 1);
    assert.equal(r.read(Kind.U8, "a"), 0xfe);
    assert.equal(r.read(Kind.U16, "b"), 0xfedc);
    assert.equal(r.read(Kind.U32, "c"), 0xfedcba98);
    assert.equal(r.read(Kind.U64, "d"), 0xfedcba9876543210n);
    assert.equal(r.read(Kind.STR, "e"), "é");
    assert.deepEqual(r.read(Kind.BLOB, "f"), new Uint8Array([1, 2]));
    assert.deepEqual(r.read(Kind.JSON, "g"), { k: [1] });
    const rest = /** @type {Uint8Array} */ (r.read(Kind.REST, "h"));
    assert.deepEqual(rest, new Uint8Array([7, 8]));
    assert.equal(rest.buffer, bytes.buffer);
    r.end();
    refuses(() => r.u8("x"), ErrorCode.BAD_MESSAGE, /^x: needs 1 bytes, only 0 left$/);
    refuses(() => new Reader(new Uint8Array(7)).u64("x"), ErrorCode.BAD_MESSAGE, /^x: needs 8 bytes, only 7 left$/);
  });

  test("Reader works on a view with an offset", () => {
    const backing = new Uint8Array([9, 9, 9, 0x12, 0x34, 9]);
    assert.equal(new Reader(backing.subarray(3, 5)).u16("x"), 0x1234);
  });

  test("Writer grows and refuses out-of-range values", () => {
    const w = new Writer(1);
    for (let i = 0; i < 1000; i++) w.u32(i);
    assert.equal(w.finish().length, 4001);
    assert.throws(() => w.u8(256), RangeError);
    assert.throws(() => w.u16(-1), RangeError);
    assert.throws(() => w.u32(2 ** 32), RangeError);
    assert.throws(() => w.u64(-1n), RangeError);
    assert.throws(() => w.u64(/** @type {any} */ (1)), TypeError);
    assert.throws(() => w.str("x".repeat(1025)), RangeError);
    assert.throws(() => w.blob(new Uint8Array(4097)), RangeError);
  });
});

/** A small deterministic PRNG (mulberry32). @param {number} seed */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parse `data`; a message must re-encode and re-parse to itself. @param {Uint8Array} data */
function promise(data) {
  let msg;
  try {
    msg = parse(data);
  } catch (exc) {
    if (exc instanceof ProtocolError) return false;
    throw new Error(`${exc} for ${toHex(data)}`);
  }
  const again = encode(msg);
  if (msg.type === "Welcome") assert.deepEqual(parse(again), msg);
  else assert.deepEqual(again, data);
  return true;
}

describe("any bytes: a message or a ProtocolError (fuzz)", () => {
  const tags = [...Object.values(Tag), 0x00, 0x05, 0x7f, 0xff];

  test("random bytes after every tag", () => {
    const random = prng(1);
    let parsed = 0;
    for (let i = 0; i < 20_000; i++) {
      const data = new Uint8Array(Math.floor(random() * (i % 10 === 0 ? 300 : 40)));
      for (let j = 0; j < data.length; j++) data[j] = random() * 256;
      if (data.length) data[0] = tags[Math.floor(random() * tags.length)];
      if (promise(data)) parsed++;
    }
    assert.ok(parsed > 100, `only ${parsed} parsed`);
  });

  test("several random byte changes and cuts of every golden file", () => {
    const random = prng(2);
    for (const stem of Object.keys(EXPECTED)) {
      const bytes = golden(stem);
      for (let i = 0; i < 3000; i++) {
        const data = bytes.slice(0, random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length);
        const changes = 1 + Math.floor(random() * 4);
        for (let j = 0; j < changes && data.length; j++) data[Math.floor(random() * data.length)] = random() * 256;
        promise(data);
      }
    }
  });

  test("random JSON-ish policies", () => {
    const random = prng(3);
    const alphabet = '{}[]:,"\\ u0123456789abcdefnrtl.-+eE\t\n\u00e9\ud83d';
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const n = Math.floor(random() * 30);
      for (let j = 0; j < n; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      promise(welcome(utf8(random() < 0.5 ? `{"k":${text}}` : text)));
    }
  });
});
