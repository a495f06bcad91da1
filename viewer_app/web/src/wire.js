/**
 * Constants of the wire format (protocol/wire.py; prose in docs/protocol.md).
 * All integers on the wire are big-endian.
 */

/** Protocol revision spoken by this code; sent first in Hello. */
export const PROTOCOL_VERSION = 1;

/** Prefix of every associated-data string and HKDF label. */
export const DOMAIN = new TextEncoder().encode("screenrelay/1");

/** The first byte of every message names its type. */
export const Tag = Object.freeze({
  HELLO: 0x01,
  WELCOME: 0x02,
  ERROR: 0x03,
  SIGN_IN: 0x10,
  SIGNED_IN: 0x11,
  CREATE_SESSION: 0x12,
  SESSION_CREATED: 0x13,
  END_SESSION: 0x14,
  SESSION_ENDED: 0x15,
  JOIN: 0x20,
  JOIN_REQUEST: 0x21,
  PAKE_REPLY: 0x22,
  PAKE_CONFIRM: 0x23,
  ADMIT: 0x24,
  REJECT: 0x25,
  KEY_UPDATE: 0x26,
  MEMBER_JOINED: 0x27,
  MEMBER_LEFT: 0x28,
  FRAME: 0x30,
  KEYFRAME_REQUEST: 0x31,
  CONTROL_REQUEST: 0x40,
  CONTROL_STATE: 0x41,
  INPUT: 0x42,
  CONTROL_RELEASE: 0x43,
  PRESENT_REQUEST: 0x50,
  PRESENT_ANSWER: 0x51,
  PRESENTER_CHANGED: 0x52,
  SET_PRESENTER: 0x53,
});

/** Which secret a joiner runs the PAKE with. */
export const Credential = Object.freeze({ PASSWORD: 0, LINK: 1 });

/** Why control changed (ControlState.reason). */
export const ControlReason = Object.freeze({
  GRANTED: 0,
  DECLINED: 1,
  EXPIRED: 2,
  REVOKED_HOTKEY: 3,
  REVOKED_WINDOW: 4,
  RELEASED: 5,
  CONTROLLER_LEFT: 6,
  REFUSED: 7,
  POLICY: 8,
});

/** A participant's answer to being asked to present (PresentAnswer.answer). */
export const PresentAnswerKind = Object.freeze({ ACCEPT: 0, DECLINE: 1, EXPIRED: 2, STOP: 3 });

/** Why the presenter changed, or did not (PresenterChanged.reason). */
export const PresenterReason = Object.freeze({
  ACCEPTED: 0,
  DECLINED: 1,
  EXPIRED: 2,
  TAKEN_BACK: 3,
  ORGANIZER: 4,
  STOPPED: 5,
  LEFT: 6,
  POLICY: 7,
});

/** Size of a sealed message's header: tag u8, epoch u32, sender u16, counter u64, flags u8. */
export const SEALED_HEADER_SIZE = 16;

/** Sealed header flag: this frame is a key frame. */
export const FLAG_KEYFRAME = 0x01;

/** Cap on any message that is not a Frame. */
export const MAX_CONTROL_MESSAGE = 64 * 1024;

/** Cap on a Frame message. */
export const MAX_FRAME_MESSAGE = 40 * 1024 * 1024;

/** Cap on a string field, in bytes of UTF-8. */
export const MAX_TEXT = 1024;

/** Cap on a blob field (PAKE message, wrapped key, tag). */
export const MAX_BLOB = 4096;

/** Session IDs are 9 decimal digits, never starting with 0. */
export const SESSION_ID_MIN = 100_000_000;
export const SESSION_ID_MAX = 999_999_999;

/** Member id of the organizer; joiners get 2, 3, ... */
export const ORGANIZER_MEMBER = 1;
