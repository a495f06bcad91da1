// Sealed frames and Input (src/sframe.js) against tests/golden/crypto_vectors.json,
// and the receiver's rules: replay, unknown epoch, tampering, size checks.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { concat, fromHex, toHex } from "../src/bytes.js";
import { DecryptError, ErrorCode, ProtocolError, ReplayError } from "../src/errors.js";
import { EpochRing } from "../src/keys.js";
import {
  InputSealer,
  MAX_COUNTER,
  MIN_SEALED_SIZE,
  ReceiverCipher,
  SenderCipher,
  deriveSenderKeys,
  inputKeys,
  readSealedHeader,
} from "../src/sframe.js";
import { FLAG_KEYFRAME, MAX_CONTROL_MESSAGE, MAX_FRAME_MESSAGE, Tag } from "../src/wire.js";

/** crypto_vectors.json, with integers too large for a double read as strings. */
function loadVectors() {
  const url = new URL("../../../tests/golden/crypto_vectors.json", import.meta.url);
  const text = readFileSync(url, "utf8").replace(/("(?:counter|grant)":\s*)(\d{16,})/g, '$1"$2"');
  return JSON.parse(text);
}

const VECTORS = loadVectors();
const FRAMES = VECTORS.sframe;
const INPUT = VECTORS.input;
const SESSION = FRAMES.session_id;

function receiverFor(epoch = FRAMES.epoch, key = fromHex(FRAMES.epoch_key)) {
  const ring = new EpochRing();
  ring.install(epoch, key);
  return { ring, receiver: new ReceiverCipher(SESSION, ring) };
}

const isA = (cls) => (err) => {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  return true;
};

test("golden sender keys and input keys", async () => {
  const { key, salt } = await deriveSenderKeys(fromHex(FRAMES.epoch_key), FRAMES.sender);
  assert.equal(toHex(key), FRAMES.sender_key);
  assert.equal(toHex(salt), FRAMES.sender_salt);
  const input = await inputKeys(fromHex(INPUT.pairwise_key), INPUT.sender);
  assert.equal(toHex(input.key), INPUT.input_key);
  assert.equal(toHex(input.salt), INPUT.input_salt);
  assert.equal(INPUT.pairwise_key, VECTORS.spake2[0].pairwise_key);
  await assert.rejects(inputKeys(fromHex(INPUT.pairwise_key), 0), RangeError);
  await assert.rejects(inputKeys(new Uint8Array(16), 2), TypeError);
  await assert.rejects(deriveSenderKeys(fromHex(FRAMES.epoch_key), 65536), RangeError);
  await assert.rejects(deriveSenderKeys(new Uint8Array(31), 1), TypeError);
});

test("golden sealed frames: SenderCipher seals them, ReceiverCipher opens them", async () => {
  const sender = new SenderCipher(SESSION, FRAMES.epoch, fromHex(FRAMES.epoch_key), FRAMES.sender);
  const { receiver } = receiverFor();
  for (const frame of FRAMES.frames) {
    const counter = BigInt(frame.counter);
    if (counter === sender.counter) {
      const sealed = await sender.seal(FRAMES.tag, frame.flags, fromHex(frame.plaintext));
      assert.equal(toHex(sealed), frame.message);
    }
    const { header, plaintext } = await receiver.open(fromHex(frame.message));
    assert.equal(toHex(plaintext), frame.plaintext);
    assert.deepEqual(header, {
      tag: FRAMES.tag,
      epoch: FRAMES.epoch,
      sender: FRAMES.sender,
      counter,
      flags: frame.flags,
    });
  }
  assert.equal(sender.counter, 3n);
  assert.ok(FRAMES.frames.some((f) => BigInt(f.counter) === MAX_COUNTER));
  await assert.rejects(receiver.open(fromHex(FRAMES.frames[0].message)), isA(ReplayError));
  await assert.rejects(receiver.open(fromHex(FRAMES.frames.at(-1).message)), isA(ReplayError));
});

test("golden sealed Input: InputSealer seals them byte for byte", async () => {
  const sealer = new InputSealer(INPUT.session_id, fromHex(INPUT.pairwise_key), INPUT.sender);
  let checked = 0;
  for (const m of INPUT.messages) {
    const grant = Number(m.grant);
    const counter = BigInt(m.counter);
    const next = grant === sealer.grant ? sealer.counter : 0n;
    if (counter === next && grant >= sealer.grant) {
      const sealed = await sealer.seal(grant, fromHex(m.plaintext));
      assert.equal(toHex(sealed), m.message);
      checked++;
    }
    const header = readSealedHeader(fromHex(m.message));
    assert.deepEqual(header, { tag: Tag.INPUT, epoch: grant, sender: INPUT.sender, counter, flags: 0 });
  }
  assert.equal(checked, 3);
  assert.equal(sealer.grant, 2);
  assert.equal(sealer.counter, 1n);
});

test("InputSealer: counters restart per grant; no going back to a lower grant", async () => {
  const sealer = new InputSealer(SESSION, fromHex(INPUT.pairwise_key), INPUT.sender);
  const body = fromHex(INPUT.messages[0].plaintext);
  const a = readSealedHeader(await sealer.seal(4, body));
  const b = readSealedHeader(await sealer.seal(4, body));
  const c = readSealedHeader(await sealer.seal(9, body));
  assert.deepEqual([a.epoch, a.counter, b.epoch, b.counter, c.epoch, c.counter], [4, 0n, 4, 1n, 9, 0n]);
  await assert.rejects(sealer.seal(4, body), /older than grant 9/);
  await assert.rejects(sealer.seal(0, body), RangeError);
  await assert.rejects(sealer.seal(2 ** 32, body), RangeError);
  await assert.rejects(sealer.seal(9, new Uint8Array(MAX_CONTROL_MESSAGE)), /over its cap/);
  // Concurrent seals get distinct counters.
  const many = await Promise.all([1, 2, 3, 4].map(() => sealer.seal(9, body)));
  assert.deepEqual(many.map((m) => readSealedHeader(m).counter), [1n, 2n, 3n, 4n]);
  assert.equal(sealer.grant, 9);
  assert.equal(sealer.counter, 5n);
});

test("round trip of a large frame, a rekey and the previous epoch", async () => {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const sender = new SenderCipher(SESSION, 1, k1, 1);
  const { ring, receiver } = receiverFor(1, k1);
  const big = new Uint8Array(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  const m1 = await sender.seal(Tag.FRAME, FLAG_KEYFRAME, big);
  assert.equal(m1.length, big.length + MIN_SEALED_SIZE);
  const opened = await receiver.open(m1);
  assert.deepEqual(opened.plaintext, big);
  assert.equal(opened.header.flags, FLAG_KEYFRAME);

  const late = await sender.seal(Tag.FRAME, 0, new Uint8Array([1])); // epoch 1, counter 1
  assert.throws(() => sender.rekey(1, k2), /would not move past/);
  sender.rekey(2, k2);
  assert.equal(sender.epoch, 2);
  assert.equal(sender.counter, 0n);
  const m2 = await sender.seal(Tag.FRAME, 0, new Uint8Array([2]));
  await assert.rejects(receiver.open(m2), isA(DecryptError)); // epoch 2 not installed yet
  ring.install(2, k2);
  assert.deepEqual((await receiver.open(m2)).plaintext, new Uint8Array([2]));
  assert.deepEqual((await receiver.open(late.buffer)).plaintext, new Uint8Array([1])); // ArrayBuffer too
  ring.install(3, crypto.getRandomValues(new Uint8Array(32)));
  const older = await new SenderCipher(SESSION, 1, k1, 1).seal(Tag.FRAME, 0, new Uint8Array(0));
  await assert.rejects(receiver.open(older), /unknown epoch 1/);
});

test("each sender has its own keys and counters", async () => {
  const key = fromHex(FRAMES.epoch_key);
  const { receiver } = receiverFor();
  const s1 = new SenderCipher(SESSION, FRAMES.epoch, key, 1);
  const s2 = new SenderCipher(SESSION, FRAMES.epoch, key, 2);
  const a = await s1.seal(Tag.FRAME, 0, new Uint8Array([1]));
  const b = await s2.seal(Tag.FRAME, 0, new Uint8Array([1]));
  assert.notDeepEqual(a.subarray(16), b.subarray(16));
  await receiver.open(a);
  await receiver.open(b); // counter 0 again, but another sender
  await assert.rejects(receiver.open(b), isA(ReplayError));
  // Sender 2's header on sender 1's ciphertext does not authenticate.
  const swapped = a.slice();
  swapped[6] = 2;
  swapped[14] = 5;
  await assert.rejects(receiver.open(swapped), isA(DecryptError));
});

test("tampered bytes anywhere are a DecryptError, and forged counters block nothing", async () => {
  const message = fromHex(FRAMES.frames[2].message);
  const { receiver } = receiverFor();
  for (let i = 0; i < message.length; i++) {
    if (i >= 1 && i <= 4) continue; // the epoch: unknown epoch, also a DecryptError (below)
    if (i === 0) continue; // the tag: checked below
    const tampered = message.slice();
    tampered[i] ^= 0x80;
    await assert.rejects(receiver.open(tampered), isA(DecryptError), `byte ${i}`);
  }
  const wrongEpoch = message.slice();
  wrongEpoch[4] ^= 1;
  await assert.rejects(receiver.open(wrongEpoch), isA(DecryptError));
  const asInput = message.slice();
  asInput[0] = Tag.INPUT;
  await assert.rejects(receiver.open(asInput), isA(DecryptError));
  // Another session's AAD does not authenticate.
  const ring = new EpochRing();
  ring.install(FRAMES.epoch, fromHex(FRAMES.epoch_key));
  await assert.rejects(new ReceiverCipher(SESSION + 1, ring).open(message), isA(DecryptError));
  // After all those failures the genuine message still opens.
  assert.equal(toHex((await receiver.open(message)).plaintext), FRAMES.frames[2].plaintext);
});

test("malformed sealed messages: too short, unknown tag, over the cap", async () => {
  const { receiver } = receiverFor();
  const message = fromHex(FRAMES.frames[0].message);
  assert.equal(message.length, MIN_SEALED_SIZE);
  await assert.rejects(receiver.open(message.subarray(0, MIN_SEALED_SIZE - 1)), (err) => {
    assert.ok(err instanceof ProtocolError && !(err instanceof DecryptError));
    assert.match(err.message, /at least 32 bytes/);
    return true;
  });
  await assert.rejects(receiver.open(new Uint8Array(0)), isA(ProtocolError));
  const unknown = message.slice();
  unknown[0] = 0x99;
  await assert.rejects(receiver.open(unknown), /unknown message tag 0x99/);
  const bigInput = new Uint8Array(MAX_CONTROL_MESSAGE + 1);
  bigInput.set(message.subarray(0, 16));
  bigInput[0] = Tag.INPUT;
  await assert.rejects(receiver.open(bigInput), (err) => {
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, ErrorCode.MESSAGE_TOO_LARGE);
    return true;
  });
  const bigFrame = new Uint8Array(MAX_FRAME_MESSAGE + 1);
  bigFrame.set(message.subarray(0, 16));
  await assert.rejects(receiver.open(bigFrame), /over its cap/);
  await assert.rejects(receiver.open("not bytes"), TypeError);
});

test("concurrent first seals share one derivation and never share a counter", async () => {
  const key = fromHex(FRAMES.epoch_key);
  const sender = new SenderCipher(SESSION, FRAMES.epoch, key, FRAMES.sender);
  key.fill(0); // the cipher derives later, from its own copy
  const sealed = await Promise.all(
    FRAMES.frames.slice(0, 3).map((f) => sender.seal(FRAMES.tag, f.flags, fromHex(f.plaintext))),
  );
  assert.deepEqual(sealed.map(toHex), FRAMES.frames.slice(0, 3).map((f) => f.message));

  const sealer = new InputSealer(INPUT.session_id, fromHex(INPUT.pairwise_key), INPUT.sender);
  const body = fromHex(INPUT.messages[0].plaintext);
  const many = await Promise.all([0, 1, 2].map(() => sealer.seal(5, body)));
  assert.deepEqual(many.map((m) => readSealedHeader(m).counter), [0n, 1n, 2n]);
});

test("a rekey while seals are pending does not move them to the new epoch", async () => {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const sender = new SenderCipher(SESSION, 1, k1, 1);
  const first = sender.seal(Tag.FRAME, 0, new Uint8Array([1])); // not awaited yet
  sender.rekey(2, k2);
  const second = sender.seal(Tag.FRAME, 0, new Uint8Array([2]));
  const ring = new EpochRing();
  ring.install(1, k1);
  ring.install(2, k2);
  const receiver = new ReceiverCipher(SESSION, ring);
  const a = await receiver.open(await first);
  const b = await receiver.open(await second);
  assert.deepEqual([a.header.epoch, a.header.counter, a.plaintext], [1, 0n, new Uint8Array([1])]);
  assert.deepEqual([b.header.epoch, b.header.counter, b.plaintext], [2, 0n, new Uint8Array([2])]);
});

test("concurrent first messages of a new sender: no counter accepted twice", async () => {
  const { receiver } = receiverFor();
  const messages = FRAMES.frames.map((f) => fromHex(f.message));
  const results = await Promise.allSettled([...messages, ...messages].map((m) => receiver.open(m)));
  // Which lower counters survive depends on the order decryptions finish in;
  // none is accepted twice, the highest is always accepted, the rest are replays.
  const accepted = results.filter((r) => r.status === "fulfilled").map((r) => r.value.header.counter);
  assert.equal(new Set(accepted).size, accepted.length);
  assert.ok(accepted.includes(MAX_COUNTER));
  for (const r of results.filter((r) => r.status === "rejected")) {
    assert.ok(r.reason instanceof ReplayError, `${r.reason}`);
  }
  await assert.rejects(receiver.open(messages.at(-1)), isA(ReplayError));
});

test("concurrent opens of one message: exactly one is accepted", async () => {
  const { receiver } = receiverFor();
  const message = fromHex(FRAMES.frames[1].message);
  const results = await Promise.allSettled([1, 2, 3].map(() => receiver.open(message)));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of results.filter((r) => r.status === "rejected")) {
    assert.ok(r.reason instanceof ReplayError);
  }
});

test("SenderCipher refuses bad arguments", async () => {
  const key = new Uint8Array(32);
  assert.throws(() => new SenderCipher(SESSION, 0, key, 0), RangeError);
  assert.throws(() => new SenderCipher(SESSION, 0, new Uint8Array(16), 1), TypeError);
  assert.throws(() => new SenderCipher(SESSION, 0, "key", 1), TypeError);
  assert.throws(() => new SenderCipher(SESSION, -1, key, 1), RangeError);
  assert.throws(() => new SenderCipher(1, 0, key, 1), RangeError);
  const s = new SenderCipher(SESSION, 0, key, 1);
  await assert.rejects(s.seal(0x99, 0, new Uint8Array(0)), TypeError);
  await assert.rejects(s.seal(Tag.FRAME, 256, new Uint8Array(0)), RangeError);
  await assert.rejects(s.seal(Tag.FRAME, 0, "text"), TypeError);
  await assert.rejects(s.seal(Tag.CONTROL_STATE, 0, new Uint8Array(MAX_CONTROL_MESSAGE)), /over its cap/);
  assert.equal(s.counter, 0n);
  const ok = await s.seal(Tag.FRAME, 0, concat(new Uint8Array(3)));
  assert.equal(readSealedHeader(ok).counter, 0n);
  assert.throws(() => s.rekey(1, new Uint8Array(31)), TypeError);
  assert.equal(s.epoch, 0);
});

test("InputSealer refuses bad arguments in its constructor", () => {
  const pairwise = new Uint8Array(32);
  assert.throws(() => new InputSealer(SESSION, new Uint8Array(31), 2), TypeError);
  assert.throws(() => new InputSealer(SESSION, "key", 2), TypeError);
  assert.throws(() => new InputSealer(SESSION, pairwise, 0), RangeError);
  assert.throws(() => new InputSealer(SESSION, pairwise, 65536), RangeError);
  assert.throws(() => new InputSealer(99, pairwise, 2), RangeError);
});
