// The key schedule of src/keys.js against tests/golden/crypto_vectors.json:
// HKDF, admission keys and tags (all WebCrypto, so async), wrapped epoch
// keys, the epoch ring.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { fromHex, toHex } from "../src/bytes.js";
import { DecryptError, ReplayError } from "../src/errors.js";
import {
  EpochRing,
  WRAPPED_KEY_SIZE,
  confirmTag,
  deriveAdmissionKeys,
  hkdf,
  tagMatches,
  unwrapEpochKey,
  wrapEpochKey,
} from "../src/keys.js";

/** crypto_vectors.json, with integers too large for a double read as strings. */
function loadVectors() {
  const url = new URL("../../../tests/golden/crypto_vectors.json", import.meta.url);
  const text = readFileSync(url, "utf8").replace(/("(?:counter|grant)":\s*)(\d{16,})/g, '$1"$2"');
  return JSON.parse(text);
}

const VECTORS = loadVectors();

/** An rng that hands out the given chunks in order, checking their sizes. */
function scripted(...chunks) {
  return (n) => {
    const chunk = chunks.shift();
    assert.ok(chunk, "the scripted rng ran dry");
    assert.equal(chunk.length, n);
    return chunk;
  };
}

test("golden HKDF-SHA256 without salt", async () => {
  assert.equal(VECTORS.hkdf.length, 4);
  for (const c of VECTORS.hkdf) {
    assert.equal(toHex(await hkdf(fromHex(c.key), fromHex(c.info), c.length)), c.okm);
  }
  assert.equal((await hkdf(new Uint8Array(32), new Uint8Array(0))).length, 32);
  await assert.rejects(hkdf(new Uint8Array(32), new Uint8Array(0), 0), RangeError);
  await assert.rejects(hkdf(new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1), RangeError);
});

test("WebCrypto HKDF and HMAC agree with @noble/hashes", async () => {
  for (const [keySize, infoSize, length] of [[32, 0, 1], [32, 40, 12], [16, 7, 100], [64, 1, 8160]]) {
    const key = crypto.getRandomValues(new Uint8Array(keySize));
    const info = crypto.getRandomValues(new Uint8Array(infoSize));
    assert.deepEqual(await hkdf(key, info, length), nobleHkdf(sha256, key, undefined, info, length));
  }
  const confirm = crypto.getRandomValues(new Uint8Array(32));
  for (const role of ["joiner", "organizer"]) {
    assert.deepEqual(await confirmTag(confirm, role), hmac(sha256, confirm, new TextEncoder().encode(role)));
  }
});

test("golden admission keys and confirmation tags from a fixed K", async () => {
  const c = VECTORS.admission;
  const { confirm, pairwise } = await deriveAdmissionKeys(fromHex(c.K), c.session_id, c.member_id);
  assert.equal(toHex(confirm), c.confirm_key);
  assert.equal(toHex(pairwise), c.pairwise_key);
  assert.equal(toHex(await confirmTag(confirm, "joiner")), c.joiner_tag);
  assert.equal(toHex(await confirmTag(confirm, "organizer")), c.organizer_tag);
  assert.equal(await tagMatches(confirm, "organizer", fromHex(c.organizer_tag)), true);
  assert.equal(await tagMatches(confirm, "organizer", fromHex(c.joiner_tag)), false);
  assert.equal(await tagMatches(confirm, "joiner", fromHex(c.joiner_tag).subarray(1)), false);
  assert.equal(await tagMatches(confirm, "joiner", undefined), false);
  await assert.rejects(confirmTag(confirm, "relay"), TypeError);
  await assert.rejects(confirmTag(confirm, "toString"), TypeError);
  await assert.rejects(confirmTag(new Uint8Array(31), "joiner"), TypeError);
});

test("admission keys refuse bad arguments", async () => {
  const k = new Uint8Array(32);
  await assert.rejects(deriveAdmissionKeys(new Uint8Array(31), 123456789, 2), TypeError);
  await assert.rejects(deriveAdmissionKeys(k, 99999999, 2), RangeError);
  await assert.rejects(deriveAdmissionKeys(k, 123456789, 1), RangeError);
  await assert.rejects(deriveAdmissionKeys(k, 123456789, 65536), RangeError);
  await assert.rejects(deriveAdmissionKeys(k, 123456789, 2.5), TypeError);
});

test("golden wrapped epoch key, both ways", async () => {
  const c = VECTORS.wrap;
  const pairwise = fromHex(c.pairwise_key);
  const wrapped = await wrapEpochKey(
    pairwise,
    fromHex(c.epoch_key),
    c.session_id,
    c.member_id,
    c.epoch,
    scripted(fromHex(c.nonce)),
  );
  assert.equal(toHex(wrapped), c.wrapped);
  const key = await unwrapEpochKey(pairwise, fromHex(c.wrapped), c.session_id, c.member_id, c.epoch);
  assert.equal(toHex(key), c.epoch_key);
  // The vector's pairwise key is the one the SPAKE2 transcript ends with.
  assert.equal(c.pairwise_key, VECTORS.spake2[0].pairwise_key);
});

test("unwrapEpochKey: DecryptError for anything not authentic for this context", async () => {
  const c = VECTORS.wrap;
  const pairwise = fromHex(c.pairwise_key);
  const wrapped = fromHex(c.wrapped);
  const fails = (p, w, s, m, e) =>
    assert.rejects(unwrapEpochKey(p, w, s, m, e), (err) => err instanceof DecryptError);
  for (let i = 0; i < WRAPPED_KEY_SIZE; i += 7) {
    const tampered = wrapped.slice();
    tampered[i] ^= 0x01;
    await fails(pairwise, tampered, c.session_id, c.member_id, c.epoch);
  }
  await fails(pairwise, wrapped, c.session_id + 1, c.member_id, c.epoch);
  await fails(pairwise, wrapped, c.session_id, c.member_id + 1, c.epoch);
  await fails(pairwise, wrapped, c.session_id, c.member_id, c.epoch + 1);
  await fails(new Uint8Array(32), wrapped, c.session_id, c.member_id, c.epoch);
  await fails(pairwise, wrapped.subarray(0, 59), c.session_id, c.member_id, c.epoch);
  await fails(pairwise, new Uint8Array(61), c.session_id, c.member_id, c.epoch);
  await fails(pairwise, new Uint8Array(0), c.session_id, c.member_id, c.epoch);
  // A view into a larger buffer works (the codec hands out subarrays).
  const padded = new Uint8Array(70);
  padded.set(wrapped, 5);
  const key = await unwrapEpochKey(pairwise, padded.subarray(5, 65), c.session_id, c.member_id, c.epoch);
  assert.equal(toHex(key), c.epoch_key);
});

test("wrap and unwrap round trip with fresh randomness", async () => {
  const pairwise = crypto.getRandomValues(new Uint8Array(32));
  const epochKey = crypto.getRandomValues(new Uint8Array(32));
  const a = await wrapEpochKey(pairwise, epochKey, 555555555, 9, 0);
  const b = await wrapEpochKey(pairwise, epochKey, 555555555, 9, 0);
  assert.equal(a.length, WRAPPED_KEY_SIZE);
  assert.notDeepEqual(a, b); // random nonces
  assert.deepEqual(await unwrapEpochKey(pairwise, a, 555555555, 9, 0), epochKey);
  assert.deepEqual(await unwrapEpochKey(pairwise, b, 555555555, 9, 0), epochKey);
});

test("EpochRing: epochs only go up; current and previous stay readable", () => {
  const ring = new EpochRing();
  const key = (n) => new Uint8Array(32).fill(n);
  assert.equal(ring.current, null);
  assert.equal(ring.keyFor(0), null);
  ring.install(3, key(3));
  assert.equal(ring.current, 3);
  assert.deepEqual(ring.keyFor(3), key(3));
  assert.throws(() => ring.install(3, key(9)), ReplayError);
  assert.throws(() => ring.install(2, key(2)), ReplayError);
  ring.install(5, key(5));
  assert.deepEqual(ring.keyFor(3), key(3));
  assert.deepEqual(ring.keyFor(5), key(5));
  ring.install(6, key(6));
  assert.equal(ring.keyFor(3), null); // forgotten at once
  assert.deepEqual(ring.keyFor(5), key(5));
  assert.equal(ring.current, 6);
  assert.throws(() => ring.install(7, new Uint8Array(16)), TypeError);
  assert.throws(() => ring.install(2 ** 32, key(1)), RangeError);
  assert.throws(() => ring.install(-1, key(1)), RangeError);
  // The ring keeps its own copy of the key.
  const k = key(8);
  ring.install(8, k);
  k.fill(0);
  assert.deepEqual(ring.keyFor(8), key(8));
});
