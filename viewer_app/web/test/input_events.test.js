// Input batches (src/input_events.js) against tests/golden/input_batch.bin and
// the plaintexts of tests/golden/crypto_vectors.json, and the validation rules.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { fromHex, toHex } from "../src/bytes.js";
import { ProtocolError } from "../src/errors.js";
import {
  KEY_NAMES,
  MAX_BATCH_SIZE,
  MAX_EVENTS,
  MouseButton,
  encodeBatch,
  keyProblem,
  parseBatch,
} from "../src/input_events.js";

const GOLDEN = new Uint8Array(readFileSync(new URL("../../../tests/golden/input_batch.bin", import.meta.url)));

/** tests/golden/make_input_golden.py's BATCH, as plain objects. */
const BATCH = {
  sentNs: 0x0102030405060708n,
  events: [
    { kind: "move", x: 65535, y: 1 },
    { kind: "button", button: MouseButton.LEFT, pressed: true, x: 10, y: 20 },
    { kind: "button", button: MouseButton.RIGHT, pressed: false, x: 300, y: 400 },
    { kind: "button", button: MouseButton.MIDDLE, pressed: true, x: 0, y: 0 },
    { kind: "scroll", dx: -128, dy: 127, x: 5, y: 6 },
    { kind: "key", pressed: true, key: "shift_l" },
    { kind: "key", pressed: false, key: "a" },
    { kind: "key", pressed: true, key: "é" },
    { kind: "key", pressed: false, key: "\u{1F600}" },
  ],
};

const one = (event) => ({ sentNs: 1n, events: [event] });

test("input_batch.bin: encodes to the golden bytes and parses back", () => {
  assert.equal(toHex(encodeBatch(BATCH)), toHex(GOLDEN));
  assert.deepEqual(parseBatch(GOLDEN), BATCH);
});

test("the plaintexts of the golden Input messages parse and re-encode", () => {
  const vectors = JSON.parse(
    readFileSync(new URL("../../../tests/golden/crypto_vectors.json", import.meta.url), "utf8").replace(
      /("(?:counter|grant)":\s*)(\d{16,})/g,
      '$1"$2"',
    ),
  );
  const [first, second] = vectors.input.messages;
  const a = parseBatch(fromHex(first.plaintext));
  assert.deepEqual(a, { sentNs: 1_700_000_000_123_456_789n, events: [{ kind: "move", x: 640, y: 360 }] });
  const b = parseBatch(fromHex(second.plaintext));
  assert.deepEqual(b.events.slice(2), [
    { kind: "scroll", dx: -1, dy: 3, x: 641, y: 360 },
    { kind: "key", pressed: true, key: "ctrl_l" },
    { kind: "key", pressed: true, key: "é" },
    { kind: "key", pressed: false, key: "é" },
    { kind: "key", pressed: false, key: "ctrl_l" },
  ]);
  for (const m of vectors.input.messages) {
    assert.equal(toHex(encodeBatch(parseBatch(fromHex(m.plaintext)))), m.plaintext);
  }
});

test("KEY_NAMES is the allowlist, and keys are names or one printable NFC character", () => {
  assert.equal(KEY_NAMES.size, 39);
  for (const name of ["f1", "f12", "page_down", "cmd", "space"]) assert.ok(KEY_NAMES.has(name));
  for (const name of ["f13", "print_screen", "alt_gr", "cmd_l", "media_play_pause"]) assert.ok(!KEY_NAMES.has(name));
  for (const ok of ["a", " ", "€", "\u{1F600}", "ß", "caps_lock"]) assert.equal(keyProblem(ok), null, ok);
  for (const bad of ["", "ab", "\n", "\u200b", "\u00a0", "\u2028", "\ue000", "\ud800", "e\u0301", "\u{10FFFF}", "F1", 5]) {
    assert.notEqual(keyProblem(bad), null, JSON.stringify(bad));
  }
});

test("encodeBatch writes another normal form of one character in NFC", () => {
  const bytes = encodeBatch(one({ kind: "key", pressed: true, key: "e\u0301" }));
  assert.deepEqual(parseBatch(bytes).events[0], { kind: "key", pressed: true, key: "é" });
  assert.throws(() => encodeBatch(one({ kind: "key", pressed: true, key: "a\u0301\u0301" })), /one character/);
});

test("encodeBatch refuses what Python's constructors refuse", () => {
  const bad = [
    { kind: "move", x: -1, y: 0 },
    { kind: "move", x: 65536, y: 0 },
    { kind: "move", x: 1.5, y: 0 },
    { kind: "move", x: "1", y: 0 },
    { kind: "button", button: 0, pressed: true, x: 0, y: 0 },
    { kind: "button", button: 4, pressed: true, x: 0, y: 0 },
    { kind: "button", button: 1, pressed: 1, x: 0, y: 0 },
    { kind: "scroll", dx: -129, dy: 0, x: 0, y: 0 },
    { kind: "scroll", dx: 0, dy: 128, x: 0, y: 0 },
    { kind: "key", pressed: true, key: "f13" },
    { kind: "key", pressed: true, key: "\t" },
    { kind: "key", pressed: "yes", key: "a" },
    { kind: "wheel", x: 0, y: 0 },
    null,
  ];
  for (const event of bad) assert.throws(() => encodeBatch(one(event)), /./, JSON.stringify(event));
  assert.throws(() => encodeBatch({ sentNs: 1n, events: [] }), RangeError);
  const move = { kind: "move", x: 0, y: 0 };
  assert.throws(() => encodeBatch({ sentNs: 1n, events: Array(MAX_EVENTS + 1).fill(move) }), RangeError);
  assert.throws(() => encodeBatch({ sentNs: -1n, events: [move] }), RangeError);
  assert.throws(() => encodeBatch({ sentNs: 2n ** 64n, events: [move] }), RangeError);
  assert.throws(() => encodeBatch({ sentNs: 1.5, events: [move] }), TypeError);
  assert.equal(parseBatch(encodeBatch({ sentNs: 12345, events: [move] })).sentNs, 12345n);
  const full = encodeBatch({ sentNs: 2n ** 64n - 1n, events: Array(MAX_EVENTS).fill(move) });
  assert.equal(parseBatch(full).events.length, MAX_EVENTS);
});

test("parseBatch refuses anything that is not a canonical batch", () => {
  const valid = encodeBatch(one({ kind: "key", pressed: true, key: "a" })); // ... 04 01 01 61
  const head = (count) => {
    const b = new Uint8Array(10);
    new DataView(b.buffer).setUint16(8, count);
    return b;
  };
  const withEvent = (...bytes) => Uint8Array.from([...head(1), ...bytes]);
  const cases = [
    [new Uint8Array(0), /needs 10 bytes/],
    [head(0), /count must be 1..256, not 0/],
    [head(257), /count must be 1..256, not 257/],
    [head(1), /events\[0\].kind: needs 1 bytes/],
    [withEvent(5, 0, 0, 0, 0), /unknown event kind 5/],
    [withEvent(1, 0, 0, 0), /needs 4 bytes, only 3 left/],
    [withEvent(2, 0, 1, 0, 0, 0, 0), /unknown button 0/],
    [withEvent(2, 4, 1, 0, 0, 0, 0), /unknown button 4/],
    [withEvent(2, 1, 2, 0, 0, 0, 0), /pressed must be 0 or 1, not 2/],
    [withEvent(4, 2, 1, 0x61), /pressed must be 0 or 1/],
    [withEvent(4, 1, 0), /key: 0 bytes/],
    [withEvent(4, 1, 33, ...new Uint8Array(33).fill(0x61)), /key: 33 bytes/],
    [withEvent(4, 1, 2, 0x61), /needs 2 bytes, only 1 left/],
    [withEvent(4, 1, 2, 0xc3, 0x28), /invalid UTF-8/],
    [withEvent(4, 1, 3, 0xed, 0xa0, 0x80), /invalid UTF-8/], // an encoded surrogate
    [withEvent(4, 1, 2, 0x61, 0x62), /one character/],
    [withEvent(4, 1, 3, 0x65, 0xcc, 0x81), /one character/], // e + combining acute
    [withEvent(4, 1, 3, 0xef, 0xbb, 0xbf), /printable/], // U+FEFF
    [withEvent(4, 1, 1, 0x0a), /printable/],
    [withEvent(4, 1, 2, 0x46, 0x31), /one character/], // "F1": names are lower-case
    [Uint8Array.from([...valid, 0]), /1 trailing bytes/],
    [new Uint8Array(MAX_BATCH_SIZE + 1), /cap is 8970/],
  ];
  for (const [data, why] of cases) {
    assert.throws(() => parseBatch(data), (err) => {
      assert.ok(err instanceof ProtocolError, `${err}`);
      assert.match(err.message, why, toHex(data.subarray(0, 20)));
      return true;
    });
  }
  // U+212B ANGSTROM SIGN is one printable character but not NFC: refused.
  assert.throws(() => parseBatch(withEvent(4, 1, 3, 0xe2, 0x84, 0xab)), /NFC/);
  assert.throws(() => parseBatch("text"), TypeError);
});

test("parseBatch reads from a view into a larger buffer", () => {
  const padded = new Uint8Array(GOLDEN.length + 8);
  padded.set(GOLDEN, 5);
  assert.deepEqual(parseBatch(padded.subarray(5, 5 + GOLDEN.length)), BATCH);
});
