/**
 * A browser participant's side of a session, without the page: connect, say
 * Hello, run admission (SPAKE2 with the organizer's client, key
 * confirmation), then open, check, decode and compose the presenter's frames,
 * follow key updates, presenter changes and remote control.
 *
 * The rules it keeps, as the Python viewer (viewer_app/session.py, receiver.py):
 * - Nothing from the relay is trusted before the organizer's Admit tag checks
 *   out; the epoch key comes wrapped under the pairwise key only the
 *   organizer's client and this page hold.
 * - A frame is shown only if it authenticates under a known epoch, comes
 *   from the presenter the relay last announced, and its key-frame flags
 *   agree inside and outside the encryption. A bad frame is reported and
 *   skipped; it never ends the session.
 * - While the presenter hides the screen, pictures still in flight are not shown.
 * - Input is sent only while the presenter's last ControlState names this
 *   member as controller; that is courtesy, the presenter's gate decides.
 * - A request to present is declined: the browser does not capture screens.
 *
 * Messages are handled one at a time in arrival order (WebCrypto is
 * asynchronous; a queue keeps the order).
 */

import { ErrorCode, ProtocolError } from "./errors.js";
import { Encoding, Screen, parsePayload } from "./frames.js";
import { encodeBatch } from "./input_events.js";
import { decodeJpegRects } from "./jpeg.js";
import { EpochRing, unwrapEpochKey } from "./keys.js";
import { encode, parse } from "./messages.js";
import { JoinerHandshake } from "./pake.js";
import { InputSealer, ReceiverCipher } from "./sframe.js";
import {
  ControlReason,
  FLAG_KEYFRAME,
  ORGANIZER_MEMBER,
  PROTOCOL_VERSION,
  PresentAnswerKind,
  PresenterReason,
  Tag,
} from "./wire.js";

/** Events in one Input message at most (the protocol allows 256). */
const BATCH = 64;

/** What a person is told for each error code the relay can send. */
const HUMAN = {
  [ErrorCode.ADMISSION_FAILED]: ["Could not join", "Wrong session ID or password."],
  [ErrorCode.SIGN_IN_FAILED]: ["Could not sign in", "Wrong account name or password."],
  [ErrorCode.SESSION_ENDED]: ["The session has ended", "The organizer ended the session."],
  [ErrorCode.VERSION_REFUSED]: ["This page is out of date", ""],
  [ErrorCode.RATE_LIMITED]: ["Too many attempts", "Wait a minute, then try again."],
  [ErrorCode.NOT_ALLOWED]: ["Not allowed", ""],
  [ErrorCode.INTERNAL]: ["The relay had a problem", "Try again in a moment."],
  [ErrorCode.SLOW_CONSUMER]: [
    "The connection was too slow",
    "This browser could not keep up with the picture. Try again on a faster connection.",
  ],
};

/** Why the presenter changed, in words (PresenterChanged.reason). */
const PRESENTER_WORDS = {
  [PresenterReason.ACCEPTED]: "accepted",
  [PresenterReason.DECLINED]: "declined",
  [PresenterReason.EXPIRED]: "expired",
  [PresenterReason.TAKEN_BACK]: "taken_back",
  [PresenterReason.ORGANIZER]: "organizer",
  [PresenterReason.STOPPED]: "stopped",
  [PresenterReason.LEFT]: "left",
  [PresenterReason.POLICY]: "policy",
};

/** A problem the person must be told about: a title and a sentence. */
export class JoinError extends Error {
  /**
   * @param {string} title
   * @param {string} text
   * @param {number | null} [code]
   */
  constructor(title, text, code = null) {
    super(text);
    this.name = "JoinError";
    this.title = title;
    this.code = code;
  }
}

/** `http(s)://host[:port]` of the page -> the relay's WebSocket URL. */
export function websocketUrl(/** @type {Location | URL} */ where) {
  const scheme = where.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${where.host}/ws`;
}

/** The words for an Error message from the relay. */
export function humanError(/** @type {number} */ code, /** @type {string} */ text) {
  const [title, sentence] = HUMAN[code] ?? ["The relay refused", ""];
  return new JoinError(title, sentence || text, code);
}

/**
 * @typedef {{name: string, detail: Record<string, unknown>}} SessionEvent
 * @typedef {(name: string, detail?: Record<string, any>) => void} EventHandler
 */

export class JoinSession {
  /**
   * @param {{
   *   url: string,
   *   sessionId: number,
   *   credential: number,
   *   secret: Uint8Array,
   *   clientVersion: string,
   *   account?: {user: string, password: string} | null,
   *   onEvent: EventHandler,
   *   WebSocketImpl?: typeof WebSocket,
   *   now?: () => number,
   *   decodeJpeg?: import("./jpeg.js").JpegDecoder,
   * }} options  `now`: wall clock in ms with fractions (performance.timeOrigin + performance.now()).
   */
  constructor(options) {
    this.options = options;
    this.emit = options.onEvent;
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    /** @type {WebSocket | null} */
    this.ws = null;
    this.memberId = 0;
    this.presenter = ORGANIZER_MEMBER;
    this.screen = new Screen();
    this.paused = false;
    this.hidden = false;
    this.frames = 0;
    this.controller = 0;
    this.grant = 0;
    /** @type {InputSealer | null} */
    this.sealer = null;
    /** @type {ReceiverCipher | null} */
    this.cipher = null;
    /** @type {Uint8Array | null} */
    this.pairwise = null;
    this.ring = new EpochRing();
    /** @type {Uint8Array[]} */
    this.inbox = [];
    /** @type {((value: Uint8Array) => void) | null} */
    this.waiting = null;
    /** @type {((error: Error) => void) | null} */
    this.failWaiting = null;
    /** @type {Error | null} */
    this.closed = null;
    this.leaving = false;
    /** Input sends are chained so they go out in order. */
    this.sending = Promise.resolve();
  }

  /** Connect, join and receive until the session ends; throws JoinError. */
  async run() {
    await this.connect();
    try {
      await this.admit();
      await this.receive();
    } finally {
      this.close();
    }
  }

  /** Leave the session (the relay tells the organizer). */
  leave() {
    this.leaving = true;
    this.close();
  }

  close() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000, "leaving");
  }

  async connect() {
    const Impl = this.options.WebSocketImpl ?? globalThis.WebSocket;
    this.emit("status", { text: "Connecting to the relay…" });
    const ws = new Impl(this.options.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = () => resolve(undefined);
      ws.onerror = () =>
        reject(
          new JoinError(
            "Cannot reach the relay",
            "Check the address and your network, then try again.",
          ),
        );
    });
    ws.onmessage = (event) => this.deliver(new Uint8Array(event.data));
    ws.onclose = () => this.lost();
    ws.onerror = null;
    this.send({ type: "Hello", proto: PROTOCOL_VERSION, clientVersion: this.options.clientVersion });
    const welcome = await this.next();
    if (welcome.type !== "Welcome") {
      throw new JoinError("Not a screenrelay relay", `It answered ${welcome.type} to Hello.`);
    }
    this.policy = welcome.policy;
  }

  async admit() {
    const { sessionId, credential, secret, account } = this.options;
    if (account) {
      // Where the relay's policy admits only accounts: sign in first. The
      // session password is still checked with the organizer afterwards.
      this.emit("status", { text: "Signing in…" });
      this.send({ type: "SignIn", user: account.user, password: account.password });
      await this.expect("SignedIn");
    }
    this.emit("status", { text: "Checking the password with the organizer…" });
    const handshake = new JoinerHandshake(sessionId, secret);
    this.send({ type: "Join", sessionId, credential, pake: handshake.start() });
    const reply = await this.expect("PakeReply");
    let tag;
    try {
      tag = await handshake.finish(reply.memberId, reply.pake);
    } catch (error) {
      throw this.admissionFailed(error);
    }
    this.send({ type: "PakeConfirm", memberId: reply.memberId, tag });
    const admit = await this.expect("Admit");
    try {
      this.pairwise = await handshake.verifyAdmit(admit.tag);
      const key = await unwrapEpochKey(
        this.pairwise,
        admit.wrapped,
        sessionId,
        reply.memberId,
        admit.epoch,
      );
      this.ring.install(admit.epoch, key);
    } catch (error) {
      throw this.admissionFailed(error);
    }
    this.memberId = reply.memberId;
    this.cipher = new ReceiverCipher(sessionId, this.ring);
    this.sealer = new InputSealer(sessionId, this.pairwise, this.memberId);
    this.emit("joined", { sessionId, memberId: this.memberId, policy: this.policy });
  }

  /** @param {unknown} error */
  admissionFailed(error) {
    if (error instanceof JoinError) return error;
    return humanError(ErrorCode.ADMISSION_FAILED, String(error));
  }

  async receive() {
    for (;;) {
      const data = await this.next(true);
      if (data === null) return;
    }
  }

  /**
   * The next message, parsed and handled if `handle`; Error messages throw.
   * With `handle`, returns null once the session ended.
   * @param {boolean} [handle]
   * @returns {Promise<any>}
   */
  async next(handle = false) {
    const data = await this.take();
    let message;
    try {
      message = parse(data);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new JoinError("The relay sent something wrong", error.message);
    }
    if (message.type === "Error") throw humanError(message.code, message.text);
    if (!handle) return message;
    return (await this.handle(message)) ? message : null;
  }

  /** @param {string} type */
  async expect(type) {
    const message = await this.next();
    if (message.type !== type) {
      throw new JoinError(
        "The relay sent something unexpected",
        `It sent ${message.type} where ${type} was due.`,
      );
    }
    return message;
  }

  /** @returns {Promise<Uint8Array>} */
  take() {
    const data = this.inbox.shift();
    if (data !== undefined) return Promise.resolve(data);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  /** @param {Uint8Array} data */
  deliver(data) {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve(data);
    } else {
      this.inbox.push(data);
    }
  }

  lost() {
    this.closed = this.leaving
      ? new JoinError("You left the session", "Reload the page to join again.")
      : new JoinError(
          "Lost the connection to the relay",
          "The relay stopped or the network failed; the session is over for this page.",
        );
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = null;
      reject(this.closed);
    }
  }

  /** @param {Record<string, any>} message */
  send(message) {
    this.sendBytes(encode(/** @type {any} */ (message)));
  }

  /** @param {Uint8Array} data */
  sendBytes(data) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(data);
  }

  /**
   * Handle one message after admission; false once the session is over.
   * @param {any} message
   */
  async handle(message) {
    switch (message.type) {
      case "Frame":
        await this.onFrame(message);
        return true;
      case "KeyUpdate": {
        const key = await unwrapEpochKey(
          /** @type {Uint8Array} */ (this.pairwise),
          message.wrapped,
          this.options.sessionId,
          this.memberId,
          message.epoch,
        );
        this.ring.install(message.epoch, key);
        this.emit("key_update", { epoch: message.epoch });
        return true;
      }
      case "PresenterChanged":
        this.onPresenterChanged(message);
        return true;
      case "PresentRequest":
        this.send({ type: "PresentAnswer", answer: PresentAnswerKind.DECLINE });
        this.emit("present_declined", {
          text: "The organizer asked you to present. Presenting needs the screenrelay app; this page only watches.",
        });
        return true;
      case "ControlState":
        this.onControlState(message);
        return true;
      case "KeyframeRequest":
        return true;
      case "SessionEnded":
        this.emit("ended", { text: "The session has ended." });
        return false;
      default:
        throw new JoinError(
          "The relay sent something unexpected",
          `It sent ${message.type} during the session.`,
        );
    }
  }

  /** @param {any} change */
  onPresenterChanged(change) {
    if (change.presenter !== this.presenter) {
      this.presenter = change.presenter;
      this.screen = new Screen();
      this.paused = this.hidden = false;
    }
    this.emit("presenter", {
      presenter: change.presenter,
      subject: change.subject,
      reason: PRESENTER_WORDS[change.reason] ?? "unknown",
      mine: change.presenter === this.memberId,
    });
  }

  /** @param {any} frame the parsed sealed message */
  async onFrame(frame) {
    const received = this.now();
    const cipher = /** @type {ReceiverCipher} */ (this.cipher);
    let stage = "decrypt";
    try {
      const opened = await cipher.open(frame.raw);
      const decrypted = this.now();
      const { header, plaintext } = opened;
      if (header.tag !== Tag.FRAME || header.sender !== this.presenter) {
        throw new ProtocolError("a sealed message that is not the presenter's frame");
      }
      stage = "decode";
      const payload = parsePayload(plaintext, { keyframe: (header.flags & FLAG_KEYFRAME) !== 0 });
      if (payload.isStatus) {
        this.paused = payload.paused;
        this.hidden = payload.hidden;
        this.emit("presenter_status", { paused: this.paused, hidden: this.hidden });
        return;
      }
      if (this.hidden) throw new ProtocolError("a picture while the presenter hides the screen");
      // JPEG rects decode asynchronously, but before this frame is drawn and
      // before the next message is handled (messages are handled in order).
      await decodeJpegRects(payload, this.options.decodeJpeg);
      const decoded = this.now();
      const { resized, dirty } = this.screen.apply(payload);
      const composed = this.now();
      this.frames += 1;
      this.emit("picture", {
        screen: this.screen,
        resized,
        dirty,
        seq: payload.seq,
        keyframe: payload.keyframe,
        bytes: frame.raw.length,
        moved: payload.rects.reduce((n, r) => (r.encoding === Encoding.COPY ? n + r.w * r.h : n), 0),
        jpeg: payload.rects.reduce((n, r) => (r.encoding === Encoding.JPEG ? n + 1 : n), 0),
        captureMs: Number(payload.captureNs / 1000n) / 1000,
        receivedMs: received,
        decryptMs: decrypted - received,
        decodeMs: decoded - decrypted,
        composeMs: composed - decoded,
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.emit("frame_dropped", { stage, reason: error.message });
    }
  }

  /** @param {any} state */
  onControlState(state) {
    const mine = state.controller === this.memberId && this.memberId !== 0;
    this.controller = state.controller;
    this.grant = mine ? state.grant : 0;
    const reasons = Object.fromEntries(
      Object.entries(ControlReason).map(([name, value]) => [value, name.toLowerCase()]),
    );
    this.emit("control", {
      controller: state.controller,
      grant: state.grant,
      subject: state.subject,
      reason: reasons[state.reason] ?? "unknown",
      mine,
      aboutMe: state.subject === this.memberId,
    });
  }

  requestControl() {
    this.send({ type: "ControlRequest", memberId: this.memberId });
  }

  releaseControl() {
    if (this.grant) {
      this.grant = 0;
      this.send({ type: "ControlRelease" });
    }
  }

  get inControl() {
    return this.grant !== 0;
  }

  /**
   * Send input events under the current grant (in order); false if not in control.
   * @param {Array<Record<string, any>>} events
   */
  sendInput(events) {
    const grant = this.grant;
    if (!grant || !this.sealer || events.length === 0) return false;
    const sealer = this.sealer;
    this.sending = this.sending.then(async () => {
      for (let start = 0; start < events.length; start += BATCH) {
        const sentNs = BigInt(Math.round(this.now() * 1000)) * 1000n;
        const plaintext = encodeBatch({ sentNs, events: events.slice(start, start + BATCH) });
        try {
          this.sendBytes(await sealer.seal(grant, plaintext));
        } catch (error) {
          this.emit("input_error", { reason: String(error) });
          return;
        }
      }
    });
    return true;
  }
}
