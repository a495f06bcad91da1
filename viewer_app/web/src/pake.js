/**
 * Admission: SPAKE2 with key confirmation, passwords and invitation links
 * (protocol/pake.py; docs/protocol.md "Admission").
 *
 *   joiner (this page)                          organizer's client
 *   JoinerHandshake.start   --Join-->            SPAKE2_B
 *   JoinerHandshake.finish  <--PakeReply--
 *                           --PakeConfirm-->     checks the joiner's tag
 *   verifyAdmit             <--Admit--
 *
 * SPAKE2 is python-spake2 0.9's, byte for byte (SPAKE2_A / SPAKE2_B, default
 * Ed25519 parameters); the curve arithmetic is @noble/curves', the hashes
 * @noble/hashes'. Only the protocol glue is written here:
 *
 *   pw     = HKDF-SHA256(secret, salt="", info="SPAKE2 pw", 48 bytes), big-endian, mod L
 *   x      = rng(64) big-endian mod L
 *   X*     = x*G + pw*M (side A) or pw*N (side B); message = side byte || X*
 *   K      = x * (Y* - pw*N) (side A) or (Y* - pw*M) (side B)
 *   key    = SHA256(SHA256(pw bytes) || SHA256(idA) || SHA256(idB) || X*_A || Y*_B || K)
 *
 * The HKDF of "SPAKE2 pw" and the SHA-256 transcript hash are part of the
 * SPAKE2 construction itself, not of our key schedule, so they stay synchronous
 * on @noble/hashes (Spake2.start/finish are synchronous). Everything after the
 * SPAKE2 key K (the confirm and pairwise keys by HKDF, the HMAC-SHA256
 * confirmation tags) is keys.js's key schedule and runs on WebCrypto, so the
 * handshake steps that use it are async.
 *
 * Rules:
 *   1. A peer message must be 33 bytes, come from the other side (side byte
 *      "B" for A, "A" for B), hold a canonically encoded point on the curve
 *      that is not the identity and lies in the prime-order subgroup, and must
 *      not be our own message reflected; anything else is ProtocolError with
 *      ADMISSION_FAILED. (python-spake2 also accepts non-canonical point
 *      encodings; no honest peer sends one, so refusing them only refuses more.)
 *   2. Each handshake object runs once, in order; calling a step out of order,
 *      twice, while an async step is still running, or after a failure throws
 *      (or, for an async step, rejects with) an Error. An async step moves to a
 *      transient state (FINISHING, VERIFYING, RESPONDING, CHECKING) before its
 *      first await and leaves it only when its result is known.
 *   3. Tags are compared in constant time; the joiner trusts nothing from the
 *      organizer before verifyAdmit succeeded.
 *   4. Passwords and links are user input: bad ones throw an Error whose
 *      message can be shown to the person.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { concat, equalBytes, fromBase64Url, fromHex, toBase64Url, u32 } from "./bytes.js";
import { ErrorCode, ProtocolError } from "./errors.js";
import {
  U16_MAX,
  checkJoinerId,
  checkSessionId,
  confirmTag,
  deriveAdmissionKeys,
  randomBytes,
  tagMatches,
} from "./keys.js";
import { DOMAIN, ORGANIZER_MEMBER } from "./wire.js";

/** @typedef {import("./keys.js").Rng} Rng */

const Point = ed25519.Point;
/** Order of the prime-order subgroup (python-spake2's L). */
const L = Point.Fn.ORDER;

/** Size of the secret in an invitation link's #fragment. */
export const LINK_SECRET_SIZE = 32;
/** A SPAKE2 message: a side byte ("A" or "B") and an Ed25519 point. */
export const SPAKE2_MESSAGE_SIZE = 33;

const encoder = new TextEncoder();
const SIDE_A = 0x41; // "A"
const SIDE_B = 0x42; // "B"

/**
 * python-spake2's Ed25519 parameters M, N and S (ParamsEd25519), as encoded
 * points. python-spake2 derives each from a seed (b"M", b"N", b"symmetric"):
 * h = HKDF-SHA256(seed, salt="", info="SPAKE2 arbitrary element", 48 bytes)
 * read big-endian, y = h mod p; for y, y+1, ... the first y that is on the
 * curve (with the even x) gives P, and the element is 8*P, in the prime-order
 * subgroup with an unknown discrete log. test/pake.test.js re-derives them
 * that way with @noble/curves, and tests/test_web_crypto_cross.py compares
 * them with ParamsEd25519.M/N/S.to_bytes().
 */
export const SPAKE2_PARAMS = Object.freeze({
  M: "15cfd18e385952982b6a8f8c7854963b58e34388c8e6dae891db756481a02312",
  N: "f04f2e7eb734b2a8f8b472eaf9c3c632576ac64aea650b496a8a20ff00e583c3",
  S: "6f00dae87c1be1a73b5922ef431cd8f57879569c222d22b1cd71e8546ab8e6f1",
});
const M = Point.fromBytes(fromHex(SPAKE2_PARAMS.M));
const N = Point.fromBytes(fromHex(SPAKE2_PARAMS.N));

// --- secrets a person types or clicks ------------------------------------------

/** Python's str.isspace() characters, which str.strip() removes. */
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

/**
 * Whether `text` has a surrogate that is not half of a pair (UTF-8 cannot
 * encode it; Python refuses it, TextEncoder would silently write U+FFFD).
 * @param {string} text
 */
function hasLoneSurrogate(text) {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * Python's `text.strip()`: its whitespace set, not JavaScript's trim().
 * @param {string} text
 */
function pyStrip(text) {
  return text.replace(PY_STRIP, "");
}

/**
 * The password bytes both sides run SPAKE2 with: NFKC, surrounding whitespace
 * stripped, lower-cased, dashes and spaces removed, UTF-8. Throws an Error for
 * an empty password or one with a lone surrogate (Python cannot encode it).
 * @param {string} text
 * @returns {Uint8Array}
 */
export function normalizePassword(text) {
  if (typeof text !== "string") throw new TypeError("the password must be a string");
  const folded = pyStrip(text.normalize("NFKC")).toLowerCase();
  const secret = folded.replace(/[- ]/g, "");
  if (hasLoneSurrogate(secret)) throw new Error("the password has an invalid character");
  if (secret === "") throw new Error("the password is empty");
  return encoder.encode(secret);
}

const LINK_PATH = "/j/";
const SESSION_DIGITS = /^[1-9][0-9]{8}$/;
const LINK_SECRET_TEXT = /^[A-Za-z0-9_-]{43}$/;

/**
 * The checks of Python's _check_relay_url (urllib.parse.urlsplit): scheme
 * http or https (any case), a non-empty host part, no query or fragment.
 * Returns why not, or null.
 * @param {string} url
 * @returns {string | null}
 */
function relayUrlProblem(url) {
  const bad = `the relay address must start with https:// or http://: ${JSON.stringify(url)}`;
  // urlsplit drops leading C0 controls and spaces, and every tab, CR and LF.
  let rest = url.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  const colon = rest.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+\-.]*$/.test(rest.slice(0, colon))) {
    scheme = rest.slice(0, colon).toLowerCase();
    rest = rest.slice(colon + 1);
  }
  let netloc = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    if (netloc.includes("[") !== netloc.includes("]")) return bad;
    if (netloc.includes("[")) {
      const host = netloc.slice(netloc.indexOf("[") + 1).split("]")[0];
      if (!bracketedHostValid(host)) return bad;
    }
  }
  if ((scheme !== "http" && scheme !== "https") || netloc === "") return bad;
  if (url.includes("?") || url.includes("#")) {
    return `the relay address must not have a query or fragment: ${JSON.stringify(url)}`;
  }
  return null;
}

/**
 * An IPv6 address or IPvFuture literal between brackets (Python refuses
 * anything else there). IPv6 syntax is checked by the WHATWG URL parser.
 * @param {string} host
 */
function bracketedHostValid(host) {
  if (host.startsWith("v")) return /^v[a-fA-F0-9]+\..+$/s.test(host);
  if (!/^[0-9A-Fa-f:.]+$/.test(host)) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * The 32-byte secret of an invitation link's #fragment, e.g. `location.hash`
 * (with or without its leading "#"). Throws an Error to show the person.
 * @param {string} fragment
 * @returns {Uint8Array}
 */
export function parseFragment(fragment) {
  const text = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  if (text === "") throw new Error("the secret after # is missing");
  if (!LINK_SECRET_TEXT.test(text)) throw new Error("the secret after # is damaged");
  const secret = fromBase64Url(text);
  if (secret.length !== LINK_SECRET_SIZE || toBase64Url(secret) !== text) {
    throw new Error("the secret after # is damaged");
  }
  return secret;
}

/**
 * Split an invitation link `<relay>/j/<session id>#<secret>`, validated like
 * Python's parse_link; throws an Error with a sentence to show the person.
 * @param {string} link
 * @returns {{relay: string, sessionId: number, secret: Uint8Array}}
 */
export function parseLink(link) {
  /** @param {string} why */
  const refuse = (why) =>
    new Error(`not a screenrelay invitation link (${why}): ${JSON.stringify(link)}`);
  const text = pyStrip(String(link));
  const hash = text.indexOf("#");
  if (hash < 0) throw refuse("the secret after # is missing");
  const base = text.slice(0, hash);
  const fragment = text.slice(hash + 1);
  const slash = base.lastIndexOf(LINK_PATH);
  if (slash < 0) throw refuse("no /j/ before the session ID");
  const relay = base.slice(0, slash);
  const digits = base.slice(slash + LINK_PATH.length);
  if (!SESSION_DIGITS.test(digits)) throw refuse("the session ID must be 9 digits");
  const problem = relayUrlProblem(relay);
  if (problem !== null) throw refuse(problem);
  let secret;
  try {
    if (fragment === "") throw new Error("the secret after # is damaged");
    secret = parseFragment(fragment);
  } catch (err) {
    throw refuse(/** @type {Error} */ (err).message);
  }
  return { relay, sessionId: Number(digits), secret };
}

/**
 * The invitation link `<relay>/j/<session id>#<secret>` (as Python's encode_link).
 * @param {string} relay - http(s) address; a trailing slash is dropped
 * @param {number} sessionId
 * @param {Uint8Array} secret - 32 bytes
 */
export function encodeLink(relay, sessionId, secret) {
  checkSessionId(sessionId);
  if (!(secret instanceof Uint8Array) || secret.length !== LINK_SECRET_SIZE) {
    throw new TypeError(`a link secret is ${LINK_SECRET_SIZE} bytes`);
  }
  const base = relay.replace(/\/+$/, "");
  const problem = relayUrlProblem(base);
  if (problem !== null) throw new Error(problem);
  return `${base}${LINK_PATH}${sessionId}#${toBase64Url(secret)}`;
}

// --- SPAKE2 (python-spake2 0.9, asymmetric) -----------------------------------------

/** @param {Uint8Array} bytes big-endian */
function bigEndian(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * python-spake2's Ed25519Group.password_to_scalar.
 * @param {Uint8Array} password
 * @returns {bigint}
 */
export function passwordToScalar(password) {
  const info = encoder.encode("SPAKE2 pw");
  return bigEndian(nobleHkdf(sha256, password, new Uint8Array(0), info, 32 + 16)) % L;
}

/**
 * `s * P` for any scalar, 0 giving the identity (as python-spake2's Element).
 * Secret scalars: constant-time multiply.
 * @param {InstanceType<typeof Point>} point
 * @param {bigint} scalar
 */
function times(point, scalar) {
  const s = ((scalar % L) + L) % L;
  return s === 0n ? Point.ZERO : point.multiply(s);
}

/**
 * One side of a SPAKE2 exchange, as python-spake2's SPAKE2_A / SPAKE2_B.
 * `start` and `finish` each run once.
 */
export class Spake2 {
  #side;
  #password;
  #idA;
  #idB;
  #pw;
  #rng;
  /** @type {bigint | null} */
  #xy = null;
  /** @type {Uint8Array | null} the element bytes we sent, without side byte */
  #outbound = null;
  #finished = false;

  /**
   * @param {"A" | "B"} side
   * @param {Uint8Array} password - non-empty
   * @param {Uint8Array} idA
   * @param {Uint8Array} idB
   * @param {Rng} [rng] - 64 bytes are drawn once, in start()
   */
  constructor(side, password, idA, idB, rng) {
    if (side !== "A" && side !== "B") throw new TypeError(`side must be "A" or "B", not ${side}`);
    for (const [name, value] of [["password", password], ["idA", idA], ["idB", idB]]) {
      if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
    }
    this.#side = side;
    this.#password = password.slice();
    this.#idA = idA.slice();
    this.#idB = idB.slice();
    this.#pw = passwordToScalar(password);
    this.#rng = rng;
  }

  /** @returns {"A" | "B"} */
  get side() {
    return this.#side;
  }

  /** Our message: side byte, then X* (33 bytes). @returns {Uint8Array} */
  start() {
    if (this.#xy !== null) throw new Error("SPAKE2 start() can only be called once");
    this.#xy = bigEndian(randomBytes(64, this.#rng)) % L;
    const blinding = this.#side === "A" ? M : N;
    const element = times(Point.BASE, this.#xy).add(times(blinding, this.#pw));
    this.#outbound = element.toBytes();
    return concat(new Uint8Array([this.#side === "A" ? SIDE_A : SIDE_B]), this.#outbound);
  }

  /**
   * The shared 32-byte key from the peer's message. ProtocolError
   * (ADMISSION_FAILED) if the message is malformed, from our own side, not a
   * subgroup element, or our own message reflected.
   * @param {Uint8Array} inbound - side byte and point, 33 bytes
   * @returns {Uint8Array}
   */
  finish(inbound) {
    if (this.#xy === null || this.#outbound === null) {
      throw new Error("SPAKE2 finish() comes after start()");
    }
    if (this.#finished) throw new Error("SPAKE2 finish() can only be called once");
    this.#finished = true;
    /** @param {string} why */
    const refuse = (why) => new ProtocolError(`malformed PAKE message: ${why}`, ErrorCode.ADMISSION_FAILED);
    if (!(inbound instanceof Uint8Array) || inbound.length !== SPAKE2_MESSAGE_SIZE) {
      throw refuse(`a PAKE message is ${SPAKE2_MESSAGE_SIZE} bytes`);
    }
    const side = inbound[0];
    if (side !== SIDE_A && side !== SIDE_B) throw refuse("unknown side");
    const mine = this.#side === "A" ? SIDE_A : SIDE_B;
    if (side === mine) throw refuse(`side ${this.#side} got a message from its own side`);
    const message = inbound.subarray(1);
    let element;
    try {
      element = Point.fromBytes(message);
    } catch {
      throw refuse("not a point on the curve");
    }
    if (element.is0()) throw refuse("the identity element");
    if (!element.isTorsionFree()) throw refuse("not in the prime-order subgroup");
    if (equalBytes(element.toBytes(), this.#outbound)) throw refuse("our own message reflected");
    const unblinding = this.#side === "A" ? N : M;
    const kElem = times(element.add(times(unblinding, -this.#pw)), this.#xy);
    const [xMsg, yMsg] =
      this.#side === "A" ? [this.#outbound, message.slice()] : [message.slice(), this.#outbound];
    return sha256(
      concat(
        sha256(this.#password),
        sha256(this.#idA),
        sha256(this.#idB),
        xMsg,
        yMsg,
        kElem.toBytes(),
      ),
    );
  }
}

/**
 * python-spake2's SPAKE2_A(password, idA, idB, entropy_f=rng).
 * @param {Uint8Array} password
 * @param {Uint8Array} idA
 * @param {Uint8Array} idB
 * @param {Rng} [rng]
 */
export function spake2A(password, idA, idB, rng) {
  return new Spake2("A", password, idA, idB, rng);
}

/**
 * python-spake2's SPAKE2_B(password, idA, idB, entropy_f=rng).
 * @param {Uint8Array} password
 * @param {Uint8Array} idA
 * @param {Uint8Array} idB
 * @param {Rng} [rng]
 */
export function spake2B(password, idA, idB, rng) {
  return new Spake2("B", password, idA, idB, rng);
}

// --- the admission handshake -----------------------------------------------------------

/**
 * SPAKE2 identities of a session: `{idA: "screenrelay/1 joiner" || session u32,
 * idB: "screenrelay/1 organizer" || session u32}`.
 * @param {number} sessionId
 */
export function spakeIds(sessionId) {
  const suffix = u32(sessionId);
  return {
    idA: concat(DOMAIN, encoder.encode(" joiner"), suffix),
    idB: concat(DOMAIN, encoder.encode(" organizer"), suffix),
  };
}

/** @param {unknown} secret */
function checkSecret(secret) {
  if (!(secret instanceof Uint8Array) || secret.length === 0) {
    throw new TypeError("the PAKE secret must be a non-empty Uint8Array");
  }
  return secret;
}

/**
 * The joiner's side: SPAKE2_A, then its tag, then the organizer's tag.
 * `secret` is normalizePassword(...) or the link's 32-byte secret.
 *
 * States: NEW -start-> STARTED -finish-> (FINISHING) FINISHED
 * -verifyAdmit-> (VERIFYING) ADMITTED; any failure -> FAILED. Each step is
 * taken (or refused) before any await.
 */
export class JoinerHandshake {
  #sessionId;
  /** @type {Spake2 | null} */
  #spake;
  #state = "NEW";
  #confirm = new Uint8Array(0);
  #pairwise = new Uint8Array(0);

  /**
   * @param {number} sessionId
   * @param {Uint8Array} secret
   * @param {Rng} [rng] - for tests; WebCrypto randomness otherwise
   */
  constructor(sessionId, secret, rng) {
    checkSessionId(sessionId);
    const { idA, idB } = spakeIds(sessionId);
    this.#sessionId = sessionId;
    this.#spake = new Spake2("A", checkSecret(secret), idA, idB, rng);
  }

  /** NEW, STARTED, FINISHING, FINISHED, VERIFYING, ADMITTED or FAILED. */
  get state() {
    return this.#state;
  }

  /** @param {string} op @param {string} from @param {string} to */
  #step(op, from, to) {
    if (this.#state !== from) throw new Error(`JoinerHandshake cannot ${op} in state ${this.#state}`);
    this.#state = to;
  }

  /** The PAKE message for Join. @returns {Uint8Array} */
  start() {
    this.#step("start", "NEW", "STARTED");
    try {
      return /** @type {Spake2} */ (this.#spake).start();
    } catch (err) {
      this.#state = "FAILED";
      throw err;
    }
  }

  /**
   * Take PakeReply (`memberId` is the joiner's own id, as the relay put it
   * there); return the tag for PakeConfirm. ProtocolError (ADMISSION_FAILED)
   * for a malformed reply or a member id that is not a joiner's.
   * @param {number} memberId
   * @param {Uint8Array} peerMsg
   * @returns {Promise<Uint8Array>}
   */
  async finish(memberId, peerMsg) {
    this.#step("finish", "STARTED", "FINISHING");
    const spake = /** @type {Spake2} */ (this.#spake);
    this.#spake = null;
    let tag;
    try {
      if (!Number.isInteger(memberId) || memberId <= ORGANIZER_MEMBER || memberId > U16_MAX) {
        throw new ProtocolError(`member id ${memberId} is not a joiner's`, ErrorCode.ADMISSION_FAILED);
      }
      const k = spake.finish(peerMsg);
      const { confirm, pairwise } = await deriveAdmissionKeys(k, this.#sessionId, memberId);
      tag = await confirmTag(confirm, "joiner");
      this.#confirm = confirm;
      this.#pairwise = pairwise;
    } catch (err) {
      this.#state = "FAILED";
      throw err;
    }
    this.#state = "FINISHED";
    return tag;
  }

  /**
   * Check Admit's tag (constant time); return the pairwise key. ProtocolError
   * (ADMISSION_FAILED) if the organizer did not prove it knows the secret.
   * @param {Uint8Array} tag
   * @returns {Promise<Uint8Array>}
   */
  async verifyAdmit(tag) {
    this.#step("verifyAdmit", "FINISHED", "VERIFYING");
    const confirm = this.#confirm;
    this.#confirm = new Uint8Array(0);
    let matches = false;
    try {
      matches = await tagMatches(confirm, "organizer", tag);
    } finally {
      if (!matches) {
        this.#state = "FAILED";
        this.#pairwise = new Uint8Array(0);
      }
    }
    if (!matches) {
      throw new ProtocolError(
        "the organizer did not prove it knows the secret",
        ErrorCode.ADMISSION_FAILED,
      );
    }
    this.#state = "ADMITTED";
    return this.#pairwise;
  }
}

/**
 * The organizer's side of one join attempt (SPAKE2_B), as Python's
 * OrganizerHandshake: for tests; the page never organizes.
 *
 * States: NEW -respond-> (RESPONDING) RESPONDED -check-> (CHECKING) CONFIRMED;
 * a failure or a wrong tag -> FAILED.
 */
export class OrganizerHandshake {
  #sessionId;
  #memberId;
  /** @type {Spake2 | null} */
  #spake;
  #state = "NEW";
  #confirm = new Uint8Array(0);
  #pairwise = new Uint8Array(0);

  /**
   * @param {number} sessionId
   * @param {number} memberId
   * @param {Uint8Array} secret
   * @param {Rng} [rng]
   */
  constructor(sessionId, memberId, secret, rng) {
    checkSessionId(sessionId);
    checkJoinerId(memberId);
    const { idA, idB } = spakeIds(sessionId);
    this.#sessionId = sessionId;
    this.#memberId = memberId;
    this.#spake = new Spake2("B", checkSecret(secret), idA, idB, rng);
  }

  /** @param {string} state @param {string} op */
  #expect(state, op) {
    if (this.#state !== state) {
      throw new Error(`OrganizerHandshake cannot ${op} in state ${this.#state}`);
    }
  }

  /** NEW, RESPONDING, RESPONDED, CHECKING, CONFIRMED or FAILED. */
  get state() {
    return this.#state;
  }

  /**
   * Take JoinRequest's PAKE message; return the one for PakeReply.
   * @param {Uint8Array} joinerMsg
   * @returns {Promise<Uint8Array>}
   */
  async respond(joinerMsg) {
    this.#expect("NEW", "respond");
    this.#state = "RESPONDING";
    const spake = /** @type {Spake2} */ (this.#spake);
    this.#spake = null;
    try {
      const reply = spake.start();
      const k = spake.finish(joinerMsg);
      ({ confirm: this.#confirm, pairwise: this.#pairwise } = await deriveAdmissionKeys(
        k,
        this.#sessionId,
        this.#memberId,
      ));
      this.#state = "RESPONDED";
      return reply;
    } catch (err) {
      this.#state = "FAILED";
      throw err;
    }
  }

  /**
   * Whether PakeConfirm's tag is right (constant time). Only once.
   * @param {Uint8Array} joinerTag
   * @returns {Promise<boolean>}
   */
  async check(joinerTag) {
    this.#expect("RESPONDED", "check");
    this.#state = "CHECKING";
    let matches = false;
    try {
      matches = await tagMatches(this.#confirm, "joiner", joinerTag);
    } finally {
      this.#state = matches ? "CONFIRMED" : "FAILED";
      if (!matches) this.#confirm = this.#pairwise = new Uint8Array(0);
    }
    return matches;
  }

  /**
   * The tag for Admit; only after check() resolved to true.
   * @returns {Promise<Uint8Array>}
   */
  async organizerTag() {
    this.#expect("CONFIRMED", "organizerTag");
    return confirmTag(this.#confirm, "organizer");
  }

  /** The pairwise key; only after a successful check(). */
  get pairwiseKey() {
    this.#expect("CONFIRMED", "pairwiseKey");
    return this.#pairwise;
  }
}
