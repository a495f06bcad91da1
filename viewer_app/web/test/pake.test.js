// SPAKE2, the admission handshake, passwords and links against
// tests/golden/crypto_vectors.json and the failure cases of src/pake.js.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { concat, fromHex, toHex } from "../src/bytes.js";
import { ErrorCode, ProtocolError } from "../src/errors.js";
import { deriveAdmissionKeys } from "../src/keys.js";
import {
  JoinerHandshake,
  OrganizerHandshake,
  SPAKE2_PARAMS,
  Spake2,
  encodeLink,
  normalizePassword,
  parseFragment,
  parseLink,
  passwordToScalar,
  spake2A,
  spake2B,
  spakeIds,
} from "../src/pake.js";

/** crypto_vectors.json, with integers too large for a double read as strings. */
function loadVectors() {
  const url = new URL("../../../tests/golden/crypto_vectors.json", import.meta.url);
  const text = readFileSync(url, "utf8").replace(/("(?:counter|grant)":\s*)(\d{16,})/g, '$1"$2"');
  return JSON.parse(text);
}

const VECTORS = loadVectors();
const SESSION = 123456789;
const Point = ed25519.Point;

/** An rng that hands out the given chunks in order, checking their sizes. */
function scripted(...chunks) {
  return (n) => {
    const chunk = chunks.shift();
    assert.ok(chunk, "the scripted rng ran dry");
    assert.equal(chunk.length, n);
    return chunk;
  };
}

/** Assert that `fn` throws (or rejects with) ProtocolError ADMISSION_FAILED. */
async function admissionFails(fn, pattern) {
  await assert.rejects(
    async () => fn(),
    (err) => {
      assert.ok(err instanceof ProtocolError, `${err}`);
      assert.equal(err.code, ErrorCode.ADMISSION_FAILED);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

for (const c of VECTORS.spake2) {
  test(`golden SPAKE2 transcript (${c.credential})`, async () => {
    const secret = fromHex(c.secret);
    if (c.credential === "password") {
      assert.equal(toHex(normalizePassword(new TextDecoder().decode(secret))), c.secret);
    }
    const joiner = new JoinerHandshake(c.session_id, secret, scripted(fromHex(c.entropy_a)));
    const organizer = new OrganizerHandshake(
      c.session_id,
      c.member_id,
      secret,
      scripted(fromHex(c.entropy_b)),
    );
    assert.equal(toHex(joiner.start()), c.msg_a);
    assert.equal(toHex(await organizer.respond(fromHex(c.msg_a))), c.msg_b);
    assert.equal(toHex(await joiner.finish(c.member_id, fromHex(c.msg_b))), c.joiner_tag);
    assert.equal(await organizer.check(fromHex(c.joiner_tag)), true);
    assert.equal(organizer.state, "CONFIRMED");
    assert.equal(toHex(await organizer.organizerTag()), c.organizer_tag);
    assert.equal(toHex(await joiner.verifyAdmit(fromHex(c.organizer_tag))), c.pairwise_key);
    assert.equal(toHex(organizer.pairwiseKey), c.pairwise_key);
    assert.equal(joiner.state, "ADMITTED");

    // The raw SPAKE2 key, with the identities spelled out in the file.
    const ids = spakeIds(c.session_id);
    assert.equal(toHex(ids.idA), c.id_a);
    assert.equal(toHex(ids.idB), c.id_b);
    const a = spake2A(secret, fromHex(c.id_a), fromHex(c.id_b), scripted(fromHex(c.entropy_a)));
    assert.equal(toHex(a.start()), c.msg_a);
    assert.equal(toHex(a.finish(fromHex(c.msg_b))), c.K);
    const b = spake2B(secret, fromHex(c.id_a), fromHex(c.id_b), scripted(fromHex(c.entropy_b)));
    assert.equal(toHex(b.start()), c.msg_b);
    assert.equal(toHex(b.finish(fromHex(c.msg_a))), c.K);
    const { confirm, pairwise } = await deriveAdmissionKeys(fromHex(c.K), c.session_id, c.member_id);
    assert.equal(toHex(confirm), c.confirm_key);
    assert.equal(toHex(pairwise), c.pairwise_key);
  });
}

test("M, N and S are python-spake2's arbitrary elements of b'M', b'N', b'symmetric'", () => {
  // groups.expand_arbitrary_element_seed + ed25519_basic.arbitrary_element,
  // with @noble/curves doing the curve work: y = HKDF(...) mod p, the first
  // y, y+1, ... that decodes (even x: sign bit 0), times the cofactor 8.
  const p = Point.Fp.ORDER;
  const derive = (seed) => {
    const h = hkdf(sha256, new TextEncoder().encode(seed), new Uint8Array(0), new TextEncoder().encode("SPAKE2 arbitrary element"), 48);
    let y = BigInt(`0x${toHex(h)}`) % p;
    for (let plus = 0n; ; plus++) {
      const yPlus = (y + plus) % p;
      const le = fromHex(yPlus.toString(16).padStart(64, "0")).reverse();
      let point;
      try {
        point = Point.fromBytes(le);
      } catch {
        continue;
      }
      const p8 = point.multiplyUnsafe(8n);
      if (p8.is0()) continue;
      assert.ok(p8.isTorsionFree());
      return toHex(p8.toBytes());
    }
  };
  assert.equal(derive("M"), SPAKE2_PARAMS.M);
  assert.equal(derive("N"), SPAKE2_PARAMS.N);
  assert.equal(derive("symmetric"), SPAKE2_PARAMS.S);
});

test("password_to_scalar: HKDF to 48 bytes, big-endian, mod L", () => {
  const pw = new TextEncoder().encode("abcdefghijkl");
  const okm = hkdf(sha256, pw, new Uint8Array(0), new TextEncoder().encode("SPAKE2 pw"), 48);
  assert.equal(passwordToScalar(pw), BigInt(`0x${toHex(okm)}`) % Point.Fn.ORDER);
  assert.ok(passwordToScalar(new Uint8Array(0)) < Point.Fn.ORDER);
});

test("the same secret gives one key; different secrets do not", () => {
  const { idA, idB } = spakeIds(SESSION);
  const pw = normalizePassword("k7wm-3xqa-ep9t");
  const a = spake2A(pw, idA, idB);
  const b = spake2B(pw, idA, idB);
  const msgA = a.start();
  const msgB = b.start();
  assert.equal(msgA[0], 0x41);
  assert.equal(msgB[0], 0x42);
  assert.deepEqual(a.finish(msgB), b.finish(msgA));

  const c = spake2A(pw, idA, idB);
  const d = spake2B(normalizePassword("k7wm-3xqa-ep9x"), idA, idB);
  const msgC = c.start();
  assert.notDeepEqual(c.finish(d.start()), d.finish(msgC));

  const e = spake2A(pw, idA, idB);
  const f = spake2B(pw, spakeIds(SESSION + 1).idA, idB);
  const msgE = e.start();
  assert.notDeepEqual(e.finish(f.start()), f.finish(msgE));
});

test("full admission in JS; a wrong password fails on both sides", async () => {
  const secret = normalizePassword("ABCD-efgh-ijkl");
  const joiner = new JoinerHandshake(SESSION, secret);
  const organizer = new OrganizerHandshake(SESSION, 7, secret);
  const tag = await joiner.finish(7, await organizer.respond(joiner.start()));
  assert.equal(await organizer.check(tag), true);
  assert.deepEqual(await joiner.verifyAdmit(await organizer.organizerTag()), organizer.pairwiseKey);

  const wrong = new JoinerHandshake(SESSION, normalizePassword("abcd-efgh-ijkm"));
  const org2 = new OrganizerHandshake(SESSION, 7, secret);
  const tag2 = await wrong.finish(7, await org2.respond(wrong.start()));
  assert.equal(await org2.check(tag2), false);
  assert.equal(org2.state, "FAILED");
  await assert.rejects(org2.organizerTag(), /cannot organizerTag in state FAILED/);
  await admissionFails(() => wrong.verifyAdmit(new Uint8Array(32)), /did not prove/);
  assert.equal(wrong.state, "FAILED");
});

test("a relay that lies about the member id makes confirmation fail", async () => {
  const secret = normalizePassword("abcd-efgh-ijkl");
  const joiner = new JoinerHandshake(SESSION, secret);
  const organizer = new OrganizerHandshake(SESSION, 3, secret);
  const tag = await joiner.finish(4, await organizer.respond(joiner.start()));
  assert.equal(await organizer.check(tag), false);
});

test("verifyAdmit refuses a wrong, short or missing organizer tag", async () => {
  const c = VECTORS.spake2[0];
  for (const bad of [
    fromHex(c.joiner_tag),
    fromHex(c.organizer_tag).subarray(0, 31),
    concat(fromHex(c.organizer_tag), new Uint8Array(1)),
    new Uint8Array(0),
    undefined,
  ]) {
    const joiner = new JoinerHandshake(c.session_id, fromHex(c.secret), scripted(fromHex(c.entropy_a)));
    joiner.start();
    await joiner.finish(c.member_id, fromHex(c.msg_b));
    await admissionFails(() => joiner.verifyAdmit(bad), /did not prove/);
    await assert.rejects(joiner.verifyAdmit(fromHex(c.organizer_tag)), /cannot verifyAdmit in state FAILED/);
  }
});

test("JoinerHandshake refuses steps out of order", async () => {
  const secret = normalizePassword("abcd");
  const j = new JoinerHandshake(SESSION, secret);
  await assert.rejects(j.finish(2, new Uint8Array(33)), /cannot finish in state NEW/);
  await assert.rejects(j.verifyAdmit(new Uint8Array(32)), /cannot verifyAdmit in state NEW/);
  j.start();
  assert.throws(() => j.start(), /cannot start in state STARTED/);
  const o = new OrganizerHandshake(SESSION, 2, secret);
  const reply = await o.respond(new JoinerHandshake(SESSION, secret).start());
  await j.finish(2, reply);
  await assert.rejects(j.finish(2, reply), /cannot finish in state FINISHED/);
  await assert.rejects(o.respond(reply), /cannot respond in state RESPONDED/);
  await assert.rejects(o.organizerTag(), /cannot organizerTag in state RESPONDED/);
  assert.throws(() => o.pairwiseKey, /cannot pairwiseKey in state RESPONDED/);

  // A failed finish spends the object.
  const k = new JoinerHandshake(SESSION, secret);
  k.start();
  await admissionFails(() => k.finish(2, new Uint8Array(33)));
  assert.equal(k.state, "FAILED");
  await assert.rejects(k.verifyAdmit(new Uint8Array(32)), /cannot verifyAdmit in state FAILED/);
});

test("async steps refuse a second call while the first is still running", async () => {
  const c = VECTORS.spake2[0];
  const secret = fromHex(c.secret);
  const joiner = new JoinerHandshake(c.session_id, secret, scripted(fromHex(c.entropy_a)));
  joiner.start();
  const finishing = joiner.finish(c.member_id, fromHex(c.msg_b));
  assert.equal(joiner.state, "FINISHING");
  await assert.rejects(joiner.finish(c.member_id, fromHex(c.msg_b)), /cannot finish in state FINISHING/);
  await assert.rejects(joiner.verifyAdmit(fromHex(c.organizer_tag)), /cannot verifyAdmit in state FINISHING/);
  assert.equal(toHex(await finishing), c.joiner_tag);
  assert.equal(joiner.state, "FINISHED");
  const verifying = joiner.verifyAdmit(fromHex(c.organizer_tag));
  assert.equal(joiner.state, "VERIFYING"); // not ADMITTED before the tag is checked
  await assert.rejects(joiner.verifyAdmit(fromHex(c.organizer_tag)), /cannot verifyAdmit in state VERIFYING/);
  assert.equal(toHex(await verifying), c.pairwise_key);
  assert.equal(joiner.state, "ADMITTED");

  const organizer = new OrganizerHandshake(c.session_id, c.member_id, secret, scripted(fromHex(c.entropy_b)));
  const responding = organizer.respond(fromHex(c.msg_a));
  assert.equal(organizer.state, "RESPONDING");
  await assert.rejects(organizer.respond(fromHex(c.msg_a)), /cannot respond in state RESPONDING/);
  await assert.rejects(organizer.check(fromHex(c.joiner_tag)), /cannot check in state RESPONDING/);
  assert.equal(toHex(await responding), c.msg_b);
  const checking = organizer.check(fromHex(c.joiner_tag));
  assert.equal(organizer.state, "CHECKING");
  await assert.rejects(organizer.organizerTag(), /cannot organizerTag in state CHECKING/);
  assert.throws(() => organizer.pairwiseKey, /cannot pairwiseKey in state CHECKING/);
  assert.equal(await checking, true);
  assert.equal(toHex(organizer.pairwiseKey), c.pairwise_key);
});

test("a failed organizer respond spends the object", async () => {
  const o = new OrganizerHandshake(SESSION, 2, normalizePassword("abcd"));
  await admissionFails(() => o.respond(new Uint8Array(33)));
  assert.equal(o.state, "FAILED");
  await assert.rejects(o.check(new Uint8Array(32)), /cannot check in state FAILED/);
});

test("JoinerHandshake refuses a member id that is not a joiner's", async () => {
  for (const id of [0, 1, 65536, 2.5]) {
    const j = new JoinerHandshake(SESSION, normalizePassword("abcd"));
    const o = new OrganizerHandshake(SESSION, 2, normalizePassword("abcd"));
    const reply = await o.respond(j.start());
    await admissionFails(() => j.finish(id, reply), /not a joiner's/);
  }
});

test("constructor arguments are checked", () => {
  assert.throws(() => new JoinerHandshake(12345678, normalizePassword("x")), RangeError);
  assert.throws(() => new JoinerHandshake(SESSION, new Uint8Array(0)), TypeError);
  assert.throws(() => new JoinerHandshake(SESSION, "password"), TypeError);
  assert.throws(() => new OrganizerHandshake(SESSION, 1, normalizePassword("x")), RangeError);
  assert.throws(() => new Spake2("C", new Uint8Array(1), new Uint8Array(0), new Uint8Array(0)), TypeError);
  const bad = new JoinerHandshake(SESSION, normalizePassword("x"), () => new Uint8Array(3));
  assert.throws(() => bad.start(), /RNG/);
  assert.equal(bad.state, "FAILED");
});

// --- peer messages SPAKE2 must refuse ------------------------------------------------

/** A started side and a valid message of the other side. */
function pair(side = "A") {
  const { idA, idB } = spakeIds(SESSION);
  const pw = normalizePassword("abcd-efgh-ijkl");
  const me = new Spake2(side, pw, idA, idB);
  const other = new Spake2(side === "A" ? "B" : "A", pw, idA, idB);
  return { me, mine: me.start(), theirs: other.start() };
}

/** @param {Uint8Array} point @param {number} side */
const msg = (point, side = 0x42) => concat(new Uint8Array([side]), point);

test("SPAKE2 refuses a message from its own side, an unknown side, or of the wrong size", async () => {
  for (const side of ["A", "B"]) {
    const { me, theirs } = pair(side);
    const sameSide = msg(theirs.subarray(1), side.charCodeAt(0));
    await admissionFails(() => me.finish(sameSide), /its own side/);
    assert.throws(() => me.finish(theirs), /can only be called once/);
  }
  for (const bad of [msg(pair().theirs.subarray(1), 0x53), msg(pair().theirs.subarray(1), 0)]) {
    await admissionFails(() => pair().me.finish(bad), /unknown side/);
  }
  for (const size of [0, 1, 32, 34]) {
    await admissionFails(() => pair().me.finish(new Uint8Array(size).fill(0x42)), /33 bytes/);
  }
  assert.throws(() => new Spake2("A", new Uint8Array(1), new Uint8Array(0), new Uint8Array(0)).finish(new Uint8Array(33)), /after start/);
});

test("SPAKE2 refuses its own message reflected back with the side byte changed", async () => {
  for (const side of ["A", "B"]) {
    const { me, mine } = pair(side);
    const reflected = msg(mine.subarray(1), side === "A" ? 0x42 : 0x41);
    await admissionFails(() => me.finish(reflected), /reflected/);
  }
});

test("SPAKE2 refuses points off the curve and non-canonical encodings", async () => {
  // y values with no x on the curve.
  let found = 0;
  for (let y = 2; found < 3; y++) {
    const enc = new Uint8Array(32);
    enc[0] = y;
    let onCurve = true;
    try {
      Point.fromBytes(enc);
    } catch {
      onCurve = false;
    }
    if (onCurve) continue;
    found++;
    await admissionFails(() => pair().me.finish(msg(enc)), /not a point on the curve/);
  }
  // y >= p: python-spake2 would reduce it; we refuse the non-canonical bytes.
  const base = Point.BASE.toBytes();
  const yPlusP = BigInt(`0x${toHex(base.slice().reverse())}`) + Point.Fp.ORDER;
  if (yPlusP < 2n ** 255n) {
    const enc = fromHex(yPlusP.toString(16).padStart(64, "0")).reverse();
    await admissionFails(() => pair().me.finish(msg(enc)), /not a point on the curve/);
  }
  await admissionFails(() => pair().me.finish(msg(new Uint8Array(32).fill(0xff))), /not a point/);
});

test("SPAKE2 refuses the identity, small-order points and points outside the subgroup", async () => {
  for (const hex of ED25519_TORSION_SUBGROUP) {
    await admissionFails(() => pair().me.finish(msg(fromHex(hex))), /identity|subgroup|not a point/);
  }
  await admissionFails(() => pair().me.finish(msg(Point.ZERO.toBytes())), /identity/);
  // A valid subgroup point plus a torsion point: on the curve, wrong subgroup.
  const torsion = Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[1]));
  for (const side of ["A", "B"]) {
    const { me, theirs } = pair(side);
    const dirty = Point.fromBytes(theirs.subarray(1)).add(torsion).toBytes();
    await admissionFails(() => me.finish(msg(dirty, theirs[0])), /prime-order subgroup/);
  }
});

// --- passwords and links ------------------------------------------------------------

test("golden password normalization", () => {
  for (const c of VECTORS.password.normalize) {
    assert.equal(toHex(normalizePassword(c.input)), c.secret, JSON.stringify(c.input));
  }
});

test("normalizePassword: Python's strip, NFKC, lower-case, no dashes or spaces", () => {
  const norm = (text) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(normalizePassword(text));
  assert.equal(norm("\u3000ＡＢ－ＣＤ\u3000"), "abcd");
  assert.equal(norm("\x1c ab-cd \x85"), "abcd"); // Python strips \x1c..\x1f and \x85
  assert.equal(norm("\ufeffab"), "\ufeffab"); // ... but not U+FEFF, which trim() would
  assert.equal(norm("a\tb"), "a\tb"); // inner tabs stay
  assert.throws(() => normalizePassword(" - -\t"), /empty/);
  assert.throws(() => normalizePassword(""), /empty/);
  assert.throws(() => normalizePassword("ab\ud800"), /invalid character/);
  assert.throws(() => normalizePassword("\udc00ab"), /invalid character/);
  assert.equal(norm("\ud83d\ude00"), "\u{1F600}");
});

test("golden invitation link", () => {
  const c = VECTORS.link;
  assert.equal(encodeLink(c.relay_url, c.session_id, fromHex(c.secret)), c.link);
  assert.equal(encodeLink(`${c.relay_url}/`, c.session_id, fromHex(c.secret)), c.link);
  const parsed = parseLink(c.link);
  assert.equal(parsed.relay, c.relay_url);
  assert.equal(parsed.sessionId, c.session_id);
  assert.equal(toHex(parsed.secret), c.secret);
  const hash = c.link.slice(c.link.indexOf("#"));
  assert.equal(toHex(parseFragment(hash)), c.secret);
  assert.equal(toHex(parseFragment(hash.slice(1))), c.secret);
  assert.deepEqual(parseLink(`  ${c.link}\n`).secret, parsed.secret);
  assert.equal(parseLink(c.link.replace("https://relay.example.org", "HTTP://h:8443/base")).relay, "HTTP://h:8443/base");
});

test("parseLink and parseFragment refuse damaged links with a sentence", () => {
  const good = VECTORS.link.link;
  const secret = good.slice(good.indexOf("#") + 1);
  const bad = [
    ["https://relay.example.org/j/123456789", /secret after # is missing/],
    ["https://relay.example.org/j/123456789#", /secret after # is damaged/],
    ["https://relay.example.org/x/123456789#" + secret, /no \/j\//],
    ["https://relay.example.org/j/023456789#" + secret, /9 digits/],
    ["https://relay.example.org/j/12345678#" + secret, /9 digits/],
    ["https://relay.example.org/j/1234567890#" + secret, /9 digits/],
    ["ftp://relay.example.org/j/123456789#" + secret, /must start with https/],
    ["relay.example.org/j/123456789#" + secret, /must start with https/],
    ["https:///j/123456789#" + secret, /must start with https/],
    ["https://[::1/j/123456789#" + secret, /must start with https/],
    ["https://[1.2.3.4]/j/123456789#" + secret, /must start with https/],
    ["https://relay.example.org?a=1/j/123456789#" + secret, /query or fragment/],
    ["https://relay.example.org/j/123456789#" + secret.slice(1), /damaged/],
    ["https://relay.example.org/j/123456789#" + secret + "A", /damaged/],
    ["https://relay.example.org/j/123456789#" + secret.slice(0, 42) + "9", /damaged/],
    ["https://relay.example.org/j/123456789#" + secret.slice(0, 42) + "+", /damaged/],
  ];
  for (const [link, why] of bad) {
    assert.throws(() => parseLink(link), (err) => {
      assert.match(err.message, /^not a screenrelay invitation link/);
      assert.match(err.message, why, link);
      return true;
    });
  }
  assert.ok(parseLink("https://[::1]:8443/j/123456789#" + secret));
  assert.throws(() => parseFragment(""), /missing/);
  assert.throws(() => parseFragment("#"), /missing/);
  assert.throws(() => parseFragment("#" + secret.slice(0, 42) + "9"), /damaged/);
  assert.throws(() => parseFragment("#" + secret + "="), /damaged/);
  assert.throws(() => encodeLink("https://relay.example.org", VECTORS.link.session_id, new Uint8Array(31)), TypeError);
});
