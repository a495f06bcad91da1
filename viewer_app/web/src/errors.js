/**
 * The one error tree of the browser client, mirroring protocol/errors.py.
 *
 * Every error a peer (the relay, or the organizer's client through it) can
 * cause is a ProtocolError carrying an ErrorCode: any bytes handed to a parser
 * either give a message or throw one, never a TypeError or RangeError.
 */

/** Codes of the Error message (protocol/errors.py ErrorCode). */
export const ErrorCode = Object.freeze({
  BAD_MESSAGE: 1,
  MESSAGE_TOO_LARGE: 2,
  VERSION_REFUSED: 3,
  SIGN_IN_FAILED: 4,
  NOT_ALLOWED: 5,
  ADMISSION_FAILED: 6,
  RATE_LIMITED: 7,
  SESSION_ENDED: 8,
  INTERNAL: 9,
  ID_TAKEN: 10,
  SLOW_CONSUMER: 11,
  UNEXPECTED: 12,
});

/** The peer sent something we refuse; `code` is what to answer with. */
export class ProtocolError extends Error {
  /**
   * @param {string} text
   * @param {number} [code]
   */
  constructor(text, code = ErrorCode.BAD_MESSAGE) {
    super(text);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/** Authenticated decryption failed: wrong key, forged or corrupted bytes. */
export class DecryptError extends ProtocolError {
  constructor(text = "decryption failed") {
    super(text, ErrorCode.BAD_MESSAGE);
    this.name = "DecryptError";
  }
}

/** A counter or epoch at or below one already accepted. */
export class ReplayError extends ProtocolError {
  constructor(text = "replayed or stale message") {
    super(text, ErrorCode.BAD_MESSAGE);
    this.name = "ReplayError";
  }
}
