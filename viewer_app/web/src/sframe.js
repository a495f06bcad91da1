/**
 * Sealed messages: AES-256-GCM with per-sender keys, SFrame style
 * (protocol/sframe.py; docs/protocol.md "Sealed messages", "Input keys").
 *
 * A sealed message is header(16) || ciphertext, the header being tag u8,
 * epoch u32, sender u16, counter u64, flags u8; the ciphertext ends with the
 * 16-byte GCM tag.
 *
 *   frames: key, salt = HKDF(epoch key, "screenrelay/1 sframe key"/"... salt" || sender u16)
 *           nonce     = salt XOR (0x00000000 || counter u64)
 *   input:  key, salt = HKDF(pairwise,  "screenrelay/1 input key"/"... salt"  || sender u16)
 *           nonce     = salt XOR (grant u32 || counter u64)
 *   aad = "screenrelay/1" || session u32 || header
 *
 * Rules:
 *   1. A sender never repeats a nonce: counters start at 0 per epoch (per grant
 *      for Input), only go up, and sealing stops at 2^64 - 2. An InputSealer
 *      refuses to go back to a lower grant. Counters are reserved before any
 *      await, so concurrent seal() calls never share one.
 *   2. A receiver accepts a counter only above the last one it accepted from
 *      that sender in that epoch, and records it only after the message
 *      authenticated (checked again after the decryption's await, so two
 *      concurrent open() calls cannot both accept one counter).
 *   3. Any bytes given to ReceiverCipher.open yield a header and plaintext or
 *      throw ProtocolError: too short, unknown tag, over its cap
 *      (MESSAGE_TOO_LARGE), DecryptError (unknown epoch, not authentic),
 *      ReplayError.
 *   4. Frames are the hot path: a receiver derives (HKDF) and imports the
 *      AES key once per (epoch, sender) and keeps it once a message of that
 *      sender authenticated (concurrent first messages share one derivation),
 *      and ciphertext goes to WebCrypto as a subarray view, never copied in JS.
 *
 * HKDF and AES-GCM are WebCrypto, so deriving is async: SenderCipher and
 * InputSealer check their arguments synchronously in the constructor (and
 * rekey) but derive their key and salt on the first seal() of an epoch; the
 * epoch, counter and the derivation they seal with are all fixed before the
 * first await.
 *
 * Counters are BigInt; epochs, grants, sender ids and session ids are numbers.
 */

import { concat, u16, u32 } from "./bytes.js";
import { DecryptError, ErrorCode, ProtocolError, ReplayError } from "./errors.js";
import {
  GCM_TAG_SIZE,
  KEY_SIZE,
  NONCE_SIZE,
  U16_MAX,
  U32_MAX,
  checkKey,
  checkRange,
  checkSessionId,
  gcmDecrypt,
  gcmEncrypt,
  hkdfDerive,
  importAesKey,
  importHkdfKey,
} from "./keys.js";
import {
  DOMAIN,
  MAX_CONTROL_MESSAGE,
  MAX_FRAME_MESSAGE,
  ORGANIZER_MEMBER,
  SEALED_HEADER_SIZE,
  Tag,
} from "./wire.js";

/** The smallest sealed message: a header and an empty plaintext's GCM tag. */
export const MIN_SEALED_SIZE = SEALED_HEADER_SIZE + GCM_TAG_SIZE;

/** The last counter a sender may use (sealing past it would wrap the counter). */
export const MAX_COUNTER = 2n ** 64n - 2n;

const encoder = new TextEncoder();
const KEY_INFO = concat(DOMAIN, encoder.encode(" sframe key"));
const SALT_INFO = concat(DOMAIN, encoder.encode(" sframe salt"));
const INPUT_KEY_INFO = concat(DOMAIN, encoder.encode(" input key"));
const INPUT_SALT_INFO = concat(DOMAIN, encoder.encode(" input salt"));

/** @type {Map<number, string>} tag value -> name */
const TAG_NAMES = new Map(Object.entries(Tag).map(([name, value]) => [value, name]));

/**
 * The authenticated header of a sealed message.
 * @typedef {{tag: number, epoch: number, sender: number, counter: bigint, flags: number}} SealedHeader
 */

/**
 * The raw key and salt of `sender`, by HKDF-SHA256 (WebCrypto) from `secret`.
 * @param {Uint8Array} secret
 * @param {Uint8Array} keyInfo
 * @param {Uint8Array} saltInfo
 * @param {number} sender
 * @returns {Promise<{key: Uint8Array, salt: Uint8Array}>}
 */
async function derive(secret, keyInfo, saltInfo, sender) {
  const label = u16(sender);
  const ikm = await importHkdfKey(secret);
  const [key, salt] = await Promise.all([
    hkdfDerive(ikm, concat(keyInfo, label), KEY_SIZE),
    hkdfDerive(ikm, concat(saltInfo, label), NONCE_SIZE),
  ]);
  return { key, salt };
}

/**
 * Like derive, with the key imported for AES-GCM (what the ciphers keep).
 * @param {Uint8Array} secret
 * @param {Uint8Array} keyInfo
 * @param {Uint8Array} saltInfo
 * @param {number} sender
 * @returns {Promise<{key: CryptoKey, salt: Uint8Array}>}
 */
async function deriveCipherKeys(secret, keyInfo, saltInfo, sender) {
  const { key, salt } = await derive(secret, keyInfo, saltInfo, sender);
  return { key: await importAesKey(key), salt };
}

/**
 * `{key, salt}` of `sender` in the epoch of `epochKey`.
 * @param {Uint8Array} epochKey
 * @param {number} sender
 * @returns {Promise<{key: Uint8Array, salt: Uint8Array}>}
 */
export async function deriveSenderKeys(epochKey, sender) {
  checkKey("epoch key", epochKey);
  checkRange("sender", sender, 0, U16_MAX);
  return derive(epochKey, KEY_INFO, SALT_INFO, sender);
}

/**
 * `{key, salt}` that seal the Input of controller `sender`.
 * @param {Uint8Array} pairwise
 * @param {number} sender
 * @returns {Promise<{key: Uint8Array, salt: Uint8Array}>}
 */
export async function inputKeys(pairwise, sender) {
  checkKey("pairwise key", pairwise);
  checkRange("sender", sender, ORGANIZER_MEMBER, U16_MAX);
  return derive(pairwise, INPUT_KEY_INFO, INPUT_SALT_INFO, sender);
}

/**
 * Derive on first use, once: `get()` returns the same promise every time.
 * Holds its own copy of the secret until the derivation starts.
 * @template T
 */
class Lazy {
  /** @type {(() => Promise<T>) | null} */
  #start;
  /** @type {Promise<T> | null} */
  #promise = null;

  /** @param {() => Promise<T>} start */
  constructor(start) {
    this.#start = start;
  }

  /** @returns {Promise<T>} */
  get() {
    if (this.#promise === null) {
      const start = /** @type {() => Promise<T>} */ (this.#start);
      this.#start = null;
      this.#promise = start();
    }
    return this.#promise;
  }
}

/**
 * `salt XOR (high u32 || counter u64)`: high is 0 for frames, the grant for Input.
 * @param {Uint8Array} salt
 * @param {number} high
 * @param {bigint} counter
 */
function makeNonce(salt, high, counter) {
  const nonce = new Uint8Array(NONCE_SIZE);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, high);
  view.setBigUint64(4, counter);
  for (let i = 0; i < NONCE_SIZE; i++) nonce[i] ^= salt[i];
  return nonce;
}

/** @param {number} sessionId */
function aadPrefix(sessionId) {
  return concat(DOMAIN, u32(sessionId));
}

/** Frames may be large; every other message is a control message. @param {number} tag */
function cap(tag) {
  return tag === Tag.FRAME ? MAX_FRAME_MESSAGE : MAX_CONTROL_MESSAGE;
}

/** @param {SealedHeader} h */
function packHeader(h) {
  const out = new Uint8Array(SEALED_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, h.tag);
  view.setUint32(1, h.epoch);
  view.setUint16(5, h.sender);
  view.setBigUint64(7, h.counter);
  view.setUint8(15, h.flags);
  return out;
}

/**
 * A Uint8Array view of a message given as Uint8Array or ArrayBuffer (no copy).
 * @param {Uint8Array | ArrayBuffer} message
 */
function asBytes(message) {
  if (message instanceof Uint8Array) return message;
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  throw new TypeError("a sealed message must be a Uint8Array or an ArrayBuffer");
}

/**
 * The header of a sealed message, after the size, tag and cap checks
 * (ProtocolError otherwise). Nothing here is authenticated yet.
 * @param {Uint8Array | ArrayBuffer} message
 * @returns {SealedHeader}
 */
export function readSealedHeader(message) {
  const bytes = asBytes(message);
  if (bytes.length < MIN_SEALED_SIZE) {
    throw new ProtocolError(`a sealed message is at least ${MIN_SEALED_SIZE} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEALED_HEADER_SIZE);
  const tag = view.getUint8(0);
  const name = TAG_NAMES.get(tag);
  if (name === undefined) {
    throw new ProtocolError(`unknown message tag 0x${tag.toString(16).padStart(2, "0")}`);
  }
  if (bytes.length > cap(tag)) {
    throw new ProtocolError(
      `a sealed ${name} of ${bytes.length} bytes is over its cap`,
      ErrorCode.MESSAGE_TOO_LARGE,
    );
  }
  return {
    tag,
    epoch: view.getUint32(1),
    sender: view.getUint16(5),
    counter: view.getBigUint64(7),
    flags: view.getUint8(15),
  };
}

/**
 * header || AES-GCM(plaintext) with the key and salt `keys` resolves to; the
 * nonce is salt XOR (high u32 || header counter).
 * @param {Promise<{key: CryptoKey, salt: Uint8Array}>} keys
 * @param {number} high - 0 for frames, the grant for Input
 * @param {Uint8Array} prefix
 * @param {SealedHeader} header
 * @param {Uint8Array} plaintext
 */
async function sealMessage(keys, high, prefix, header, plaintext) {
  const packed = packHeader(header);
  const { key, salt } = await keys;
  const nonce = makeNonce(salt, high, header.counter);
  const ciphertext = await gcmEncrypt(key, nonce, plaintext, concat(prefix, packed));
  // WebCrypto has no encrypt-into: this is the one copy JS adds.
  const message = new Uint8Array(SEALED_HEADER_SIZE + ciphertext.length);
  message.set(packed, 0);
  message.set(ciphertext, SEALED_HEADER_SIZE);
  return message;
}

/**
 * @param {number} tag
 * @param {Uint8Array} plaintext
 */
function checkSize(tag, plaintext) {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext must be a Uint8Array");
  const size = MIN_SEALED_SIZE + plaintext.length;
  if (size > cap(tag)) {
    throw new RangeError(`a sealed ${TAG_NAMES.get(tag)} of ${size} bytes is over its cap`);
  }
}

/** Seals one sender's messages in the current epoch (frames; JS tests and cross tests). */
export class SenderCipher {
  #prefix;
  #sender;
  #epoch = -1;
  /** @type {Lazy<{key: CryptoKey, salt: Uint8Array}>} the current epoch's key and salt */
  #keys = /** @type {any} */ (null);
  #counter = 0n;

  /**
   * @param {number} sessionId
   * @param {number} epoch
   * @param {Uint8Array} epochKey
   * @param {number} senderId
   */
  constructor(sessionId, epoch, epochKey, senderId) {
    checkSessionId(sessionId);
    checkRange("senderId", senderId, ORGANIZER_MEMBER, U16_MAX);
    this.#prefix = aadPrefix(sessionId);
    this.#sender = senderId;
    this.#install(epoch, epochKey);
  }

  /**
   * @param {number} epoch
   * @param {Uint8Array} epochKey
   */
  #install(epoch, epochKey) {
    checkRange("epoch", epoch, 0, U32_MAX);
    checkKey("epoch key", epochKey);
    const secret = epochKey.slice(); // derived later: the caller may reuse its buffer
    const sender = this.#sender;
    this.#keys = new Lazy(() => deriveCipherKeys(secret, KEY_INFO, SALT_INFO, sender));
    this.#epoch = epoch;
    this.#counter = 0n;
  }

  /** The epoch messages are sealed in. */
  get epoch() {
    return this.#epoch;
  }

  /** The counter the next sealed message will carry. @returns {bigint} */
  get counter() {
    return this.#counter;
  }

  /**
   * Seal from now on in the newer `epoch`; the counter restarts at 0.
   * @param {number} epoch
   * @param {Uint8Array} epochKey
   */
  rekey(epoch, epochKey) {
    if (epoch <= this.#epoch) {
      throw new RangeError(`rekey to epoch ${epoch} would not move past epoch ${this.#epoch}`);
    }
    this.#install(epoch, epochKey);
  }

  /**
   * The complete wire message header || ciphertext.
   * @param {number} tag
   * @param {number} flags
   * @param {Uint8Array} plaintext
   * @returns {Promise<Uint8Array>}
   */
  async seal(tag, flags, plaintext) {
    checkRange("flags", flags, 0, 0xff);
    if (!TAG_NAMES.has(tag)) throw new TypeError(`${tag} is not a message tag`);
    checkSize(tag, plaintext);
    const counter = this.#counter;
    if (counter > MAX_COUNTER) throw new RangeError("the message counter is exhausted; rekey first");
    this.#counter = counter + 1n; // reserved before any await
    const header = { tag, epoch: this.#epoch, sender: this.#sender, counter, flags };
    // The epoch's keys are taken now too, so a rekey() meanwhile changes nothing here.
    return sealMessage(this.#keys.get(), 0, this.#prefix, header, plaintext);
  }
}

/**
 * What a receiver keeps per (epoch, sender) whose messages authenticated.
 * @typedef {{key: CryptoKey, salt: Uint8Array, last: bigint}} SenderState
 */

/** Opens sealed messages with the epoch keys of an EpochRing. */
export class ReceiverCipher {
  #prefix;
  #ring;
  /** @type {Map<number, Map<number, SenderState>>} epoch -> sender -> state */
  #senders = new Map();
  /**
   * Derivations under way for (epoch, sender)s with no state yet, so that
   * concurrent first messages share one; dropped when the open that started
   * it ends (its result lives on in the SenderState if a message authenticated).
   * @type {Map<number, Promise<{key: CryptoKey, salt: Uint8Array}>>} epoch * 2^16 + sender -> keys
   */
  #deriving = new Map();

  /**
   * @param {number} sessionId
   * @param {import("./keys.js").EpochRing} ring
   */
  constructor(sessionId, ring) {
    checkSessionId(sessionId);
    this.#prefix = aadPrefix(sessionId);
    this.#ring = ring;
  }

  /**
   * Authenticate and decrypt one sealed message.
   *
   * ProtocolError if it is malformed or over its cap, DecryptError if its
   * epoch is unknown or it does not authenticate, ReplayError if its counter
   * is not above the last accepted one from that sender in that epoch.
   * @param {Uint8Array | ArrayBuffer} message
   * @returns {Promise<{header: SealedHeader, plaintext: Uint8Array}>}
   */
  async open(message) {
    const bytes = asBytes(message);
    const header = readSealedHeader(bytes);
    const { epoch, sender, counter } = header;
    const epochKey = this.#ring.keyFor(epoch);
    if (epochKey === null) throw new DecryptError(`unknown epoch ${epoch}`);
    const known = this.#senders.get(epoch)?.get(sender);
    if (known !== undefined && counter <= known.last) throw this.#replay(header, known.last);
    let key, salt;
    if (known !== undefined) {
      ({ key, salt } = known);
    } else {
      ({ key, salt } = await this.#derive(epoch, sender, epochKey));
    }
    const plaintext = await gcmDecrypt(
      key,
      makeNonce(salt, 0, counter),
      bytes.subarray(SEALED_HEADER_SIZE),
      concat(this.#prefix, bytes.subarray(0, SEALED_HEADER_SIZE)),
      "the sealed message",
    );
    // Other open() calls may have run during the awaits: check and record with
    // no await between.
    let state = this.#senders.get(epoch)?.get(sender);
    if (state !== undefined && counter <= state.last) throw this.#replay(header, state.last);
    if (state === undefined) {
      state = { key, salt, last: -1n };
      if (this.#ring.keyFor(epoch) !== null) this.#sendersOf(epoch).set(sender, state);
    }
    state.last = counter;
    return { header, plaintext };
  }

  /**
   * The AES key and salt of `sender` in `epoch`, shared with any open() that
   * is deriving them already.
   * @param {number} epoch
   * @param {number} sender
   * @param {Uint8Array} epochKey
   */
  async #derive(epoch, sender, epochKey) {
    const id = epoch * 0x10000 + sender;
    const pending = this.#deriving.get(id);
    if (pending !== undefined) return pending;
    const keys = deriveCipherKeys(epochKey, KEY_INFO, SALT_INFO, sender);
    this.#deriving.set(id, keys);
    try {
      return await keys;
    } finally {
      if (this.#deriving.get(id) === keys) this.#deriving.delete(id);
    }
  }

  /**
   * @param {SealedHeader} header
   * @param {bigint} last
   */
  #replay(header, last) {
    return new ReplayError(
      `counter ${header.counter} of sender ${header.sender} is not above ${last} in epoch ${header.epoch}`,
    );
  }

  /**
   * The state map of `epoch`, made on first use; epochs the ring dropped are forgotten.
   * @param {number} epoch
   */
  #sendersOf(epoch) {
    let senders = this.#senders.get(epoch);
    if (senders === undefined) {
      for (const old of [...this.#senders.keys()]) {
        if (this.#ring.keyFor(old) === null) this.#senders.delete(old);
      }
      senders = new Map();
      this.#senders.set(epoch, senders);
    }
    return senders;
  }
}

/**
 * Seals one controller's Input messages for the presenter. Make one per
 * pairwise key and keep it as long as that key lives: it is what guarantees
 * that no (grant, counter) pair is sealed twice.
 */
export class InputSealer {
  #prefix;
  #sender;
  /** @type {Lazy<{key: CryptoKey, salt: Uint8Array}>} */
  #keys;
  #grant = 0;
  #counter = 0n;

  /**
   * @param {number} sessionId
   * @param {Uint8Array} pairwise
   * @param {number} senderId - the controller's own member id
   */
  constructor(sessionId, pairwise, senderId) {
    checkSessionId(sessionId);
    checkKey("pairwise key", pairwise);
    checkRange("sender", senderId, ORGANIZER_MEMBER, U16_MAX);
    const secret = pairwise.slice(); // derived later: the caller may reuse its buffer
    this.#prefix = aadPrefix(sessionId);
    this.#sender = senderId;
    this.#keys = new Lazy(() => deriveCipherKeys(secret, INPUT_KEY_INFO, INPUT_SALT_INFO, senderId));
  }

  /** The grant the last message was sealed under; 0 before the first. */
  get grant() {
    return this.#grant;
  }

  /** The counter the next message under `grant` will carry. @returns {bigint} */
  get counter() {
    return this.#counter;
  }

  /**
   * The complete Input wire message (16-byte sealed header, then ciphertext)
   * under `grant`. The counter starts at 0 for each new grant; a grant below
   * the current one, a plaintext over the control cap or an exhausted counter
   * throws.
   * @param {number} grant
   * @param {Uint8Array} plaintext
   * @returns {Promise<Uint8Array>}
   */
  async seal(grant, plaintext) {
    checkRange("grant", grant, 1, U32_MAX);
    if (grant < this.#grant) throw new RangeError(`grant ${grant} is older than grant ${this.#grant}`);
    checkSize(Tag.INPUT, plaintext);
    const counter = grant === this.#grant ? this.#counter : 0n;
    if (counter > MAX_COUNTER) throw new RangeError(`the counter of grant ${grant} is exhausted`);
    this.#grant = grant; // reserved before any await
    this.#counter = counter + 1n;
    const header = { tag: Tag.INPUT, epoch: grant, sender: this.#sender, counter, flags: 0 };
    return sealMessage(this.#keys.get(), grant, this.#prefix, header, plaintext);
  }
}
