/**
 * The key schedule (protocol/keys.py; docs/protocol.md "Admission"):
 *
 *   SPAKE2 key K --HKDF--> confirm key   (key-confirmation tags, pake.js)
 *                `-HKDF--> pairwise key  (wraps epoch keys for this joiner)
 *   epoch key (random, from the organizer) --HKDF--> per-sender keys (sframe.js)
 *
 * Rules:
 *   1. HKDF is HKDF-SHA256 with no salt; every label starts with "screenrelay/1".
 *      Admission keys are bound to the session and the joiner's member id.
 *   2. A wrapped epoch key is nonce(12) || AES-256-GCM(pairwise, epoch key,
 *      aad = "screenrelay/1 wrap" || session u32 || member u16 || epoch u32);
 *      anything that does not authenticate is a DecryptError.
 *   3. EpochRing: epochs only go up (installing one at or below the current
 *      is a ReplayError); the previous epoch stays readable, older ones are
 *      forgotten at once.
 *   4. Our own mistakes (bad arguments) throw TypeError/RangeError; what the
 *      peer sent throws ProtocolError and its subclasses.
 *
 * HKDF, HMAC-SHA256 and AES-GCM are all WebCrypto (crypto.subtle), so every
 * function here that derives, tags, wraps or unwraps is async; their argument
 * checks reject the returned promise (TypeError/RangeError) rather than throw.
 * The HKDF and AES-GCM helpers here are shared with sframe.js. (SPAKE2's own
 * internal hashing stays on @noble/hashes: see pake.js.)
 */

import { concat, equalBytes, u16, u32 } from "./bytes.js";
import { DecryptError, ReplayError } from "./errors.js";
import { DOMAIN, ORGANIZER_MEMBER, SESSION_ID_MAX, SESSION_ID_MIN } from "./wire.js";

/** Size of every symmetric key: AES-256 keys, epoch keys, PAKE keys. */
export const KEY_SIZE = 32;
/** AES-GCM nonce size. */
export const NONCE_SIZE = 12;
/** AES-GCM authentication tag size. */
export const GCM_TAG_SIZE = 16;
/** A wrapped epoch key: nonce, encrypted key, GCM tag. */
export const WRAPPED_KEY_SIZE = NONCE_SIZE + KEY_SIZE + GCM_TAG_SIZE;

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

const encoder = new TextEncoder();
const CONFIRM_INFO = concat(DOMAIN, encoder.encode(" confirm"));
const PAIRWISE_INFO = concat(DOMAIN, encoder.encode(" pairwise"));
const WRAP_AAD = concat(DOMAIN, encoder.encode(" wrap"));
const ROLES = Object.freeze({
  joiner: encoder.encode("joiner"),
  organizer: encoder.encode("organizer"),
});

/**
 * A source of random bytes: `rng(n)` returns exactly `n` bytes.
 * @typedef {(n: number) => Uint8Array} Rng
 */

// --- argument checks (our own values: TypeError / RangeError) ---------------

/**
 * Throw unless `value` is an integer number in [low, high].
 * @param {string} name
 * @param {unknown} value
 * @param {number} low
 * @param {number} high
 */
export function checkRange(name, value, low, high) {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, not ${typeof value}`);
  }
  if (value < low || value > high) {
    throw new RangeError(`${name} must be in [${low}, ${high}], not ${value}`);
  }
}

/** Session IDs are 9-digit numbers. @param {number} sessionId */
export function checkSessionId(sessionId) {
  checkRange("sessionId", sessionId, SESSION_ID_MIN, SESSION_ID_MAX);
}

/** Only joiners (2, 3, ...) have pairwise keys. @param {number} memberId */
export function checkJoinerId(memberId) {
  checkRange("memberId", memberId, ORGANIZER_MEMBER + 1, U16_MAX);
}

/**
 * Every key here is 32 bytes.
 * @param {string} name
 * @param {unknown} key
 */
export function checkKey(name, key) {
  if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) {
    throw new TypeError(`${name} must be a Uint8Array of ${KEY_SIZE} bytes`);
  }
}

/**
 * `size` random bytes from `rng`, or from WebCrypto when none is given.
 * @param {number} size
 * @param {Rng} [rng]
 * @returns {Uint8Array}
 */
export function randomBytes(size, rng) {
  if (rng === undefined) return globalThis.crypto.getRandomValues(new Uint8Array(size));
  const data = rng(size);
  if (!(data instanceof Uint8Array) || data.length !== size) {
    throw new TypeError(`the RNG returned something other than ${size} bytes`);
  }
  return data;
}

// --- HKDF, HMAC, admission keys ------------------------------------------------

/** HKDF-SHA256 can give at most 255 hash lengths of output. */
const HKDF_MAX_LENGTH = 255 * 32;
const NO_SALT = new Uint8Array(0);

/**
 * Import `ikm` as a WebCrypto HKDF key (not extractable), to derive several
 * outputs from one secret with hkdfDerive.
 * @param {Uint8Array} ikm
 * @returns {Promise<CryptoKey>}
 */
export function importHkdfKey(ikm) {
  return globalThis.crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
}

/**
 * `length` bytes of HKDF-SHA256 (RFC 5869) with no salt, from an imported key.
 * @param {CryptoKey} key - from importHkdfKey
 * @param {Uint8Array} info
 * @param {number} [length]
 * @returns {Promise<Uint8Array>}
 */
export async function hkdfDerive(key, info, length = KEY_SIZE) {
  checkRange("HKDF length", length, 1, HKDF_MAX_LENGTH);
  const params = { name: "HKDF", hash: "SHA-256", salt: NO_SALT, info };
  return new Uint8Array(await globalThis.crypto.subtle.deriveBits(params, key, length * 8));
}

/**
 * HKDF-SHA256 (RFC 5869) of `key` with no salt, through WebCrypto.
 * @param {Uint8Array} key
 * @param {Uint8Array} info
 * @param {number} [length]
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(key, info, length = KEY_SIZE) {
  return hkdfDerive(await importHkdfKey(key), info, length);
}

/**
 * `{confirm, pairwise}` from the SPAKE2 key `k`, bound to session and member id.
 * @param {Uint8Array} k
 * @param {number} sessionId
 * @param {number} memberId
 * @returns {Promise<{confirm: Uint8Array, pairwise: Uint8Array}>}
 */
export async function deriveAdmissionKeys(k, sessionId, memberId) {
  checkKey("SPAKE2 key", k);
  checkSessionId(sessionId);
  checkJoinerId(memberId);
  const suffix = concat(u32(sessionId), u16(memberId));
  const key = await importHkdfKey(k);
  const [confirm, pairwise] = await Promise.all([
    hkdfDerive(key, concat(CONFIRM_INFO, suffix)),
    hkdfDerive(key, concat(PAIRWISE_INFO, suffix)),
  ]);
  return { confirm, pairwise };
}

/**
 * `HMAC-SHA256(confirmKey, role)`, through WebCrypto.
 * @param {Uint8Array} confirmKey
 * @param {"joiner" | "organizer"} role
 * @returns {Promise<Uint8Array>}
 */
export async function confirmTag(confirmKey, role) {
  const label = Object.hasOwn(ROLES, role) ? ROLES[role] : undefined;
  if (label === undefined) throw new TypeError(`role must be "joiner" or "organizer", not ${role}`);
  checkKey("confirm key", confirmKey);
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.importKey("raw", confirmKey, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await subtle.sign("HMAC", key, label));
}

/**
 * Whether `tag` is the role's confirmation tag, compared in constant time.
 * @param {Uint8Array} confirmKey
 * @param {"joiner" | "organizer"} role
 * @param {Uint8Array} tag
 * @returns {Promise<boolean>}
 */
export async function tagMatches(confirmKey, role, tag) {
  const expected = await confirmTag(confirmKey, role);
  return tag instanceof Uint8Array && equalBytes(expected, tag);
}

// --- AES-256-GCM through WebCrypto (shared with sframe.js) ---------------------

/**
 * Import a raw 32-byte AES-256-GCM key (not extractable).
 * @param {Uint8Array} raw
 * @returns {Promise<CryptoKey>}
 */
export function importAesKey(raw) {
  checkKey("AES key", raw);
  return globalThis.crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

/**
 * AES-GCM encryption: ciphertext || 16-byte tag.
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} aad
 * @returns {Promise<Uint8Array>}
 */
export async function gcmEncrypt(key, nonce, plaintext, aad) {
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  return new Uint8Array(await globalThis.crypto.subtle.encrypt(params, key, plaintext));
}

/**
 * AES-GCM decryption of ciphertext || tag; DecryptError unless authentic.
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} aad
 * @param {string} what - named in the error
 * @returns {Promise<Uint8Array>}
 */
export async function gcmDecrypt(key, nonce, ciphertext, aad, what) {
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  let plain;
  try {
    plain = await globalThis.crypto.subtle.decrypt(params, key, ciphertext);
  } catch {
    throw new DecryptError(`${what} did not authenticate`);
  }
  return new Uint8Array(plain);
}

// --- wrapped epoch keys ----------------------------------------------------------

/**
 * @param {number} sessionId
 * @param {number} memberId
 * @param {number} epoch
 */
function wrapAad(sessionId, memberId, epoch) {
  checkSessionId(sessionId);
  checkJoinerId(memberId);
  checkRange("epoch", epoch, 0, U32_MAX);
  return concat(WRAP_AAD, u32(sessionId), u16(memberId), u32(epoch));
}

/**
 * Encrypt `epochKey` for one member: nonce || AES-256-GCM(...). For tests: the
 * organizer's client does this.
 * @param {Uint8Array} pairwise
 * @param {Uint8Array} epochKey
 * @param {number} sessionId
 * @param {number} memberId
 * @param {number} epoch
 * @param {Rng} [rng] - draws the 12-byte nonce
 * @returns {Promise<Uint8Array>}
 */
export async function wrapEpochKey(pairwise, epochKey, sessionId, memberId, epoch, rng) {
  checkKey("pairwise key", pairwise);
  checkKey("epoch key", epochKey);
  const aad = wrapAad(sessionId, memberId, epoch);
  const nonce = randomBytes(NONCE_SIZE, rng);
  const sealed = await gcmEncrypt(await importAesKey(pairwise), nonce, epochKey, aad);
  return concat(nonce, sealed);
}

/**
 * Decrypt a wrapped epoch key (Admit, KeyUpdate); DecryptError unless it is
 * 60 bytes and authentic for this session, member and epoch.
 * @param {Uint8Array} pairwise
 * @param {Uint8Array} wrapped
 * @param {number} sessionId
 * @param {number} memberId
 * @param {number} epoch
 * @returns {Promise<Uint8Array>} the 32-byte epoch key
 */
export async function unwrapEpochKey(pairwise, wrapped, sessionId, memberId, epoch) {
  checkKey("pairwise key", pairwise);
  const aad = wrapAad(sessionId, memberId, epoch);
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== WRAPPED_KEY_SIZE) {
    const size = wrapped instanceof Uint8Array ? wrapped.length : typeof wrapped;
    throw new DecryptError(`a wrapped epoch key is ${WRAPPED_KEY_SIZE} bytes, not ${size}`);
  }
  const key = await importAesKey(pairwise);
  return gcmDecrypt(
    key,
    wrapped.subarray(0, NONCE_SIZE),
    wrapped.subarray(NONCE_SIZE),
    aad,
    "the wrapped epoch key",
  );
}

// --- the receiver's epoch keys -------------------------------------------------------

/** A receiver's epoch keys: the current epoch and the one before it. */
export class EpochRing {
  /** @type {{epoch: number, key: Uint8Array} | null} */
  #current = null;
  /** @type {{epoch: number, key: Uint8Array} | null} */
  #previous = null;

  /** The newest installed epoch, or null before the first. @returns {number | null} */
  get current() {
    return this.#current === null ? null : this.#current.epoch;
  }

  /**
   * Make `epoch` current; the old current epoch becomes the previous one.
   * ReplayError if `epoch` is not above the current epoch.
   * @param {number} epoch
   * @param {Uint8Array} key
   */
  install(epoch, key) {
    checkRange("epoch", epoch, 0, U32_MAX);
    checkKey("epoch key", key);
    if (this.#current !== null && epoch <= this.#current.epoch) {
      throw new ReplayError(`epoch ${epoch} is not newer than the current ${this.#current.epoch}`);
    }
    this.#previous = this.#current;
    this.#current = { epoch, key: key.slice() };
  }

  /**
   * The key of `epoch` if it is the current or previous one, else null.
   * @param {number} epoch
   * @returns {Uint8Array | null}
   */
  keyFor(epoch) {
    for (const entry of [this.#current, this.#previous]) {
      if (entry !== null && entry.epoch === epoch) return entry.key;
    }
    return null;
  }
}
