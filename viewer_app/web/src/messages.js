/**
 * The messages of docs/protocol.md and their one encode/parse pair, driven by
 * one table (MESSAGE_TYPES) mirroring protocol/messages.py LAYOUTS and the
 * checks of its dataclasses (protocol/fields.py, protocol/role_messages.py).
 *
 * A message is a plain object: `{type: "<Python class name>", ...fields}`,
 * field names the camelCase of the Python fields; u64 fields are BigInt,
 * blob fields Uint8Array, json fields plain objects, enums plain numbers.
 *
 * parse(bytes) turns any bytes into one message or throws ProtocolError,
 * never anything else:
 *  1. the size cap, before anything else (Frame: MAX_FRAME_MESSAGE, every
 *     other tag: MAX_CONTROL_MESSAGE) -> MESSAGE_TOO_LARGE;
 *  2. the tag byte (unknown -> BAD_MESSAGE);
 *  3. each field in order, every length checked before slicing (codec.js
 *     Reader), then no trailing bytes;
 *  4. every field's check and the type's own rule (ControlState) ->
 *     BAD_MESSAGE naming "Type.field".
 * encode(msg) applies the same checks and throws RangeError / TypeError for a
 * value out of range (a bug on this side, like Python's LocalProtocolError).
 *
 * Sealed types (Frame 0x30, Input 0x42): the 16-byte header (tag, epoch or
 * grant u32, sender u16, counter u64, flags u8), then the ciphertext (at
 * least the 16-byte GCM tag). parse copies nothing: `header`, `ciphertext`
 * and `raw` (the whole message) are views into the given bytes. encode
 * writes the header from the fields, then the ciphertext.
 */

import { Kind, MAX_JSON, Reader, Writer, utf8 } from "./codec.js";
import { ErrorCode, ProtocolError } from "./errors.js";
import { canonicalJson, isPlainObject } from "./strict_json.js";
import {
  ControlReason,
  Credential,
  MAX_BLOB,
  MAX_CONTROL_MESSAGE,
  MAX_FRAME_MESSAGE,
  MAX_TEXT,
  ORGANIZER_MEMBER,
  PresentAnswerKind,
  PresenterReason,
  SEALED_HEADER_SIZE,
  SESSION_ID_MAX,
  SESSION_ID_MIN,
  Tag,
} from "./wire.js";

/** Why the organizer's client refused a joiner (Reject.reason). */
export const RejectReason = Object.freeze({ CONFIRM_FAILED: 0, LOCKED: 1 });

/** A sealed message's ciphertext is at least the 16-byte GCM tag. */
export const MIN_CIPHERTEXT = 16;
/** What is left of MAX_FRAME_MESSAGE after the sealed header. */
export const MAX_CIPHERTEXT = MAX_FRAME_MESSAGE - SEALED_HEADER_SIZE;
/** An Input is a control message: what is left of MAX_CONTROL_MESSAGE after the header. */
export const MAX_INPUT_CIPHERTEXT = MAX_CONTROL_MESSAGE - SEALED_HEADER_SIZE;
/** Largest u32 (epochs, grants). */
const U32_MAX = 0xffffffff;

/** ControlState reasons that leave nobody in control (role_messages.py ENDING_REASONS). */
export const ENDING_REASONS = Object.freeze(
  new Set([
    ControlReason.DECLINED,
    ControlReason.EXPIRED,
    ControlReason.REVOKED_HOTKEY,
    ControlReason.REVOKED_WINDOW,
    ControlReason.RELEASED,
    ControlReason.CONTROLLER_LEFT,
    ControlReason.POLICY,
  ]),
);

// -- field checks: each returns null or the problem, completing "Type.field ..." --

/** @typedef {(value: any) => string | null} Check */
/** @typedef {import("./codec.js").FieldKind} FieldKind */

/** @param {unknown} v */
function describe(v) {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "Uint8Array";
  return Array.isArray(v) ? "array" : typeof v;
}

/** @param {number} low @param {number} high @returns {Check} */
function int(low, high) {
  return (v) => {
    if (typeof v !== "number" || !Number.isInteger(v)) return `must be an int, not ${describe(v)}`;
    return v < low || v > high ? `must be in ${low}..${high}, not ${v}` : null;
  };
}

/** @type {Check} */
function u64(v) {
  if (typeof v !== "bigint") return `must be a BigInt, not ${describe(v)}`;
  return v < 0n || v > 0xffffffffffffffffn ? `must be in 0..2**64-1, not ${v}` : null;
}

/** @param {string} name @param {Record<string, number>} values @returns {Check} */
function oneOf(name, values) {
  const known = new Set(Object.values(values));
  return (v) => {
    if (typeof v !== "number" || !Number.isInteger(v)) return `must be a ${name}, not ${describe(v)}`;
    return known.has(v) ? null : `is not a ${name}: ${v}`;
  };
}

/** @type {Check} */
function text(v) {
  if (typeof v !== "string") return `must be a string, not ${describe(v)}`;
  let size;
  try {
    size = utf8(v).length;
  } catch {
    return "is not encodable as UTF-8";
  }
  return size > MAX_TEXT ? `is ${size} bytes of UTF-8; the cap is ${MAX_TEXT}` : null;
}

/** @param {number} low @param {number} high @returns {Check} */
function bytes(low, high) {
  return (v) => {
    if (!(v instanceof Uint8Array)) return `must be a Uint8Array, not ${describe(v)}`;
    return v.length < low || v.length > high ? `must be ${low}..${high} bytes long, not ${v.length}` : null;
  };
}

/** @type {Check} */
function json(v) {
  if (!isPlainObject(v)) return `must be a plain object, not ${describe(v)}`;
  let size;
  try {
    size = canonicalJson(v).length; // pure ASCII: characters are bytes
  } catch (exc) {
    return `is not encodable as JSON: ${/** @type {Error} */ (exc).message}`;
  }
  return size > MAX_JSON ? `is ${size} bytes of JSON; the cap is ${MAX_JSON}` : null;
}

const member = int(ORGANIZER_MEMBER, 0xffff);
const session = int(SESSION_ID_MIN, SESSION_ID_MAX);

/** @type {Record<FieldKind, Check>} */
const DEFAULT_CHECKS = {
  u8: int(0, 0xff),
  u16: int(0, 0xffff),
  u32: int(0, U32_MAX),
  u64,
  str: text,
  blob: bytes(0, MAX_BLOB),
  json,
  rest: bytes(0, Infinity),
};

/** @type {Check} */
function requestedId(v) {
  const problem = int(0, SESSION_ID_MAX)(v);
  if (problem) return problem;
  return v > 0 && v < SESSION_ID_MIN ? `must be 0 or at least ${SESSION_ID_MIN}` : null;
}

/**
 * ControlState's consistency rules (protocol/role_messages.py).
 * @param {any} m
 * @returns {[string, string] | null}
 */
function controlStateRule(m) {
  if (m.controller && !m.grant) return ["grant", `must be at least 1 while member ${m.controller} controls`];
  if (m.reason === ControlReason.GRANTED && m.controller !== m.subject) {
    return ["controller", `must be the subject ${m.subject} when GRANTED`];
  }
  if (ENDING_REASONS.has(m.reason) && m.controller) {
    const name = Object.keys(ControlReason).find((k) => ControlReason[/** @type {keyof typeof ControlReason} */ (k)] === m.reason);
    return ["controller", `must be 0 (nobody) when ${name}`];
  }
  return null;
}

// -- the table -------------------------------------------------------------------

/**
 * @typedef {{name: string, kind: FieldKind, check: Check}} FieldSpec
 * @typedef {{tag: number, type: string, sealed: boolean, fields: readonly FieldSpec[],
 *            rule: ((msg: any) => [string, string] | null) | null}} MessageType
 */

/**
 * One field; its check defaults to the full range of its kind.
 * @param {string} name @param {FieldKind} kind @param {Check} [check]
 * @returns {FieldSpec}
 */
function f(name, kind, check) {
  return Object.freeze({ name, kind, check: check ?? DEFAULT_CHECKS[kind] });
}

const K = Kind;

/** @type {Array<[number, string, FieldSpec[], MessageType["rule"]?]>} */
const ROWS = [
  [Tag.HELLO, "Hello", [f("proto", K.U16), f("clientVersion", K.STR)]],
  [Tag.WELCOME, "Welcome", [f("proto", K.U16), f("relayVersion", K.STR), f("policy", K.JSON)]],
  [Tag.ERROR, "Error", [f("code", K.U16, oneOf("ErrorCode", ErrorCode)), f("text", K.STR)]],
  [Tag.SIGN_IN, "SignIn", [f("user", K.STR), f("password", K.STR)]],
  [Tag.SIGNED_IN, "SignedIn", [f("user", K.STR), f("role", K.STR)]],
  [Tag.CREATE_SESSION, "CreateSession", [f("requestedId", K.U32, requestedId)]],
  [Tag.SESSION_CREATED, "SessionCreated", [f("sessionId", K.U32, session), f("memberId", K.U16, member)]],
  [Tag.END_SESSION, "EndSession", []],
  [Tag.SESSION_ENDED, "SessionEnded", [f("code", K.U16, oneOf("ErrorCode", ErrorCode)), f("text", K.STR)]],
  [
    Tag.JOIN,
    "Join",
    [f("sessionId", K.U32, session), f("credential", K.U8, oneOf("Credential", Credential)), f("pake", K.BLOB)],
  ],
  [
    Tag.JOIN_REQUEST,
    "JoinRequest",
    [f("memberId", K.U16, member), f("credential", K.U8, oneOf("Credential", Credential)), f("pake", K.BLOB)],
  ],
  [Tag.PAKE_REPLY, "PakeReply", [f("memberId", K.U16, member), f("pake", K.BLOB)]],
  [Tag.PAKE_CONFIRM, "PakeConfirm", [f("memberId", K.U16, member), f("tag", K.BLOB)]],
  [
    Tag.ADMIT,
    "Admit",
    [f("memberId", K.U16, member), f("tag", K.BLOB), f("epoch", K.U32), f("wrapped", K.BLOB)],
  ],
  [Tag.REJECT, "Reject", [f("memberId", K.U16, member), f("reason", K.U8, oneOf("RejectReason", RejectReason))]],
  [Tag.KEY_UPDATE, "KeyUpdate", [f("memberId", K.U16, member), f("epoch", K.U32), f("wrapped", K.BLOB)]],
  [Tag.MEMBER_JOINED, "MemberJoined", [f("memberId", K.U16, member), f("address", K.STR)]],
  [Tag.MEMBER_LEFT, "MemberLeft", [f("memberId", K.U16, member)]],
  [
    Tag.FRAME,
    "Frame",
    [
      f("epoch", K.U32),
      f("sender", K.U16, member),
      f("counter", K.U64),
      f("flags", K.U8),
      f("ciphertext", K.REST, bytes(MIN_CIPHERTEXT, MAX_CIPHERTEXT)),
    ],
  ],
  [Tag.KEYFRAME_REQUEST, "KeyframeRequest", []],
  [Tag.CONTROL_REQUEST, "ControlRequest", [f("memberId", K.U16, member)]],
  [
    Tag.CONTROL_STATE,
    "ControlState",
    [
      f("controller", K.U16),
      f("grant", K.U32),
      f("subject", K.U16, member),
      f("reason", K.U8, oneOf("ControlReason", ControlReason)),
    ],
    controlStateRule,
  ],
  [
    Tag.INPUT,
    "Input",
    [
      f("grant", K.U32, int(1, U32_MAX)),
      f("sender", K.U16, member),
      f("counter", K.U64),
      f("flags", K.U8, int(0, 0)),
      f("ciphertext", K.REST, bytes(MIN_CIPHERTEXT, MAX_INPUT_CIPHERTEXT)),
    ],
  ],
  [Tag.CONTROL_RELEASE, "ControlRelease", []],
  [Tag.PRESENT_REQUEST, "PresentRequest", [f("memberId", K.U16, member)]],
  [Tag.PRESENT_ANSWER, "PresentAnswer", [f("answer", K.U8, oneOf("PresentAnswerKind", PresentAnswerKind))]],
  [
    Tag.PRESENTER_CHANGED,
    "PresenterChanged",
    [f("presenter", K.U16), f("subject", K.U16, member), f("reason", K.U8, oneOf("PresenterReason", PresenterReason))],
  ],
  [Tag.SET_PRESENTER, "SetPresenter", [f("presenter", K.U16, int(0, ORGANIZER_MEMBER))]],
];

/** Every message type: tag, type name, whether sealed, fields in wire order with kind and check. */
export const MESSAGE_TYPES = Object.freeze(
  ROWS.map(([tag, type, fields, rule]) =>
    Object.freeze({
      tag,
      type,
      sealed: tag === Tag.FRAME || tag === Tag.INPUT,
      fields: Object.freeze(fields),
      rule: rule ?? null,
    }),
  ),
);

/** @type {Map<number, MessageType>} */
const BY_TAG = new Map(MESSAGE_TYPES.map((t) => [t.tag, t]));
/** @type {Map<string, MessageType>} */
const BY_TYPE = new Map(MESSAGE_TYPES.map((t) => [t.type, t]));

/**
 * The first failed check of `msg` as "Type.field problem", or null.
 * @param {MessageType} spec @param {any} msg
 */
function problemOf(spec, msg) {
  for (const field of spec.fields) {
    const problem = field.check(msg[field.name]);
    if (problem !== null) return `${spec.type}.${field.name} ${problem}`;
  }
  const broken = spec.rule?.(msg);
  return broken ? `${spec.type}.${broken[0]} ${broken[1]}` : null;
}

// -- encode and parse ------------------------------------------------------------

/**
 * The wire bytes of `msg`: its tag byte, then its fields in order.
 * @param {{type: string, [field: string]: any}} msg
 * @returns {Uint8Array}
 */
export function encode(msg) {
  const spec = BY_TYPE.get(msg?.type);
  if (spec === undefined) throw new TypeError(`not a message: ${String(msg?.type)}`);
  const problem = problemOf(spec, msg);
  if (problem !== null) throw new RangeError(problem);
  if (spec.sealed) {
    const [epoch, sender, counter, flags, ciphertext] = spec.fields.map((field) => msg[field.name]);
    const out = new Uint8Array(SEALED_HEADER_SIZE + ciphertext.length);
    const view = new DataView(out.buffer);
    view.setUint8(0, spec.tag);
    view.setUint32(1, epoch);
    view.setUint16(5, sender);
    view.setBigUint64(7, counter);
    view.setUint8(15, flags);
    out.set(ciphertext, SEALED_HEADER_SIZE);
    return out;
  }
  const writer = new Writer(spec.tag);
  for (const field of spec.fields) writer.write(field.kind, msg[field.name]);
  return writer.finish();
}

/**
 * The type of the message in `bytes`, after checking its size cap.
 * Reads one byte; throws ProtocolError (MESSAGE_TOO_LARGE or BAD_MESSAGE)
 * for an oversized, empty or unknown message.
 * @param {Uint8Array} bytes
 * @returns {MessageType}
 */
export function peekType(bytes) {
  if (bytes.length === 0) throw new ProtocolError("empty message");
  const tag = bytes[0];
  const limit = tag === Tag.FRAME ? MAX_FRAME_MESSAGE : MAX_CONTROL_MESSAGE;
  if (bytes.length > limit) {
    throw new ProtocolError(`${bytes.length}-byte message; the cap is ${limit}`, ErrorCode.MESSAGE_TOO_LARGE);
  }
  const spec = BY_TAG.get(tag);
  if (spec === undefined) throw new ProtocolError(`unknown message tag 0x${tag.toString(16).padStart(2, "0")}`);
  return spec;
}

/**
 * A sealed message: header fields read in place, views for the rest.
 * @param {MessageType} spec @param {Uint8Array} bytes
 */
function parseSealed(spec, bytes) {
  const least = SEALED_HEADER_SIZE + MIN_CIPHERTEXT;
  if (bytes.length < least) throw new ProtocolError(`${spec.type}: ${bytes.length} bytes; at least ${least} needed`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEALED_HEADER_SIZE);
  /** @type {Record<string, unknown>} */
  const msg = { type: spec.type };
  const [first, sender, counter, flags, ciphertext] = spec.fields;
  msg[first.name] = view.getUint32(1); // epoch (Frame) or grant (Input)
  msg[sender.name] = view.getUint16(5);
  msg[counter.name] = view.getBigUint64(7);
  msg[flags.name] = view.getUint8(15);
  msg.header = bytes.subarray(0, SEALED_HEADER_SIZE);
  msg[ciphertext.name] = bytes.subarray(SEALED_HEADER_SIZE);
  msg.raw = bytes;
  return msg;
}

/**
 * The message in `bytes`, or ProtocolError; nothing else is thrown.
 * @param {Uint8Array | ArrayBuffer} data
 * @returns {{type: string, [field: string]: any}}
 */
export function parse(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parse takes a Uint8Array or an ArrayBuffer");
  const spec = peekType(bytes);
  /** @type {Record<string, unknown>} */
  let msg;
  if (spec.sealed) {
    msg = parseSealed(spec, bytes);
  } else {
    const reader = new Reader(bytes, 1);
    msg = { type: spec.type };
    for (const field of spec.fields) msg[field.name] = reader.read(field.kind, `${spec.type}.${field.name}`);
    reader.end(spec.type);
  }
  const problem = problemOf(spec, msg);
  if (problem !== null) throw new ProtocolError(problem);
  return /** @type {{type: string}} */ (msg);
}
