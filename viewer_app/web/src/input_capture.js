/**
 * Mouse, wheel and keyboard on the canvas -> input events of the protocol
 * (docs/protocol.md, "Remote control"), in picture pixels.
 *
 * Listens only while active (this page holds control); otherwise the canvas
 * is an ordinary picture and keys do what they do in any page. Keys the
 * protocol cannot name are not sent. Pointer moves are coalesced to one per
 * animation frame; buttons, wheel and keys go at once, in order.
 */

/** KeyboardEvent.key -> protocol key name (protocol/input_events.py KEY_NAMES). */
const NAMED_KEYS = {
  Enter: "enter",
  Backspace: "backspace",
  Tab: "tab",
  Escape: "esc",
  " ": "space",
  ArrowUp: "up",
  ArrowDown: "down",
  ArrowLeft: "left",
  ArrowRight: "right",
  Home: "home",
  End: "end",
  PageUp: "page_up",
  PageDown: "page_down",
  Delete: "delete",
  Insert: "insert",
  CapsLock: "caps_lock",
  ContextMenu: "menu",
  Meta: "cmd",
  OS: "cmd",
};

/** Modifier keys, by KeyboardEvent.code. */
const MODIFIER_CODES = {
  ControlLeft: "ctrl_l",
  ControlRight: "ctrl_r",
  ShiftLeft: "shift_l",
  ShiftRight: "shift_r",
  AltLeft: "alt_l",
  AltRight: "alt_r",
};

/** The protocol's name for a key event, or null if it cannot be sent. */
export function keyName(/** @type {{key: string, code: string}} */ event) {
  const modifier = /** @type {Record<string, string>} */ (MODIFIER_CODES)[event.code];
  if (modifier) return modifier;
  const named = /** @type {Record<string, string>} */ (NAMED_KEYS)[event.key];
  if (named) return named;
  if (/^F([1-9]|1[0-2])$/.test(event.key)) return event.key.toLowerCase();
  const chars = Array.from(event.key);
  if (chars.length === 1 && /\P{C}/u.test(event.key)) return event.key.normalize("NFC");
  return null;
}

/** DOM button number -> protocol button (1 left, 2 middle, 3 right). */
const BUTTONS = [1, 2, 3];

export class InputCapture {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {(events: Array<Record<string, any>>) => unknown} send
   */
  constructor(canvas, send) {
    this.canvas = canvas;
    this.send = send;
    this.active = false;
    /** @type {{x: number, y: number} | null} */
    this.pendingMove = null;
    this.frameRequested = false;
    /** @type {Set<string>} keys this page pressed and has not released */
    this.down = new Set();
    const listen = (/** @type {string} */ type, /** @type {(e: any) => void} */ fn) =>
      canvas.addEventListener(type, (event) => this.active && fn(event), { passive: false });
    listen("pointermove", (e) => this.move(e));
    listen("pointerdown", (e) => this.button(e, true));
    listen("pointerup", (e) => this.button(e, false));
    listen("wheel", (e) => this.wheel(e));
    listen("contextmenu", (e) => e.preventDefault());
    listen("keydown", (e) => this.key(e, true));
    listen("keyup", (e) => this.key(e, false));
    canvas.addEventListener("blur", () => this.releaseAll());
  }

  /** @param {boolean} active */
  setActive(active) {
    if (this.active && !active) this.releaseAll();
    this.active = active;
  }

  /** Picture pixel under a pointer event, clamped to the picture. */
  point(/** @type {MouseEvent} */ event) {
    const box = this.canvas.getBoundingClientRect();
    const { width, height } = this.canvas;
    const x = Math.floor(((event.clientX - box.left) * width) / Math.max(box.width, 1));
    const y = Math.floor(((event.clientY - box.top) * height) / Math.max(box.height, 1));
    return {
      x: Math.min(Math.max(x, 0), Math.max(width - 1, 0)),
      y: Math.min(Math.max(y, 0), Math.max(height - 1, 0)),
    };
  }

  /** @param {PointerEvent} event */
  move(event) {
    this.pendingMove = this.point(event);
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.flushMove();
    });
  }

  flushMove() {
    if (!this.pendingMove) return;
    const { x, y } = this.pendingMove;
    this.pendingMove = null;
    this.send([{ kind: "move", x, y }]);
  }

  /**
   * @param {PointerEvent} event
   * @param {boolean} pressed
   */
  button(event, pressed) {
    const button = BUTTONS[event.button];
    if (!button) return;
    event.preventDefault();
    if (pressed) this.canvas.focus();
    this.pendingMove = null;
    const { x, y } = this.point(event);
    this.send([{ kind: "button", button, pressed, x, y }]);
  }

  /** @param {WheelEvent} event */
  wheel(event) {
    event.preventDefault();
    const clicks = (/** @type {number} */ delta) =>
      delta === 0 ? 0 : Math.sign(delta) * Math.min(10, Math.max(1, Math.round(Math.abs(delta) / 100)));
    const { x, y } = this.point(event);
    // The wheel rolled towards the user (deltaY > 0) scrolls down: dy < 0.
    this.send([{ kind: "scroll", dx: clicks(event.deltaX), dy: -clicks(event.deltaY), x, y }]);
  }

  /**
   * @param {KeyboardEvent} event
   * @param {boolean} pressed
   */
  key(event, pressed) {
    const name = keyName(event);
    if (name === null) return;
    event.preventDefault();
    if (pressed) this.down.add(name);
    else if (!this.down.delete(name)) return;
    this.flushMove();
    this.send([{ kind: "key", pressed, key: name }]);
  }

  /** Release every key this page holds down (on blur, or when control ends). */
  releaseAll() {
    if (this.down.size === 0) return;
    const events = [...this.down].map((key) => ({ kind: "key", pressed: false, key }));
    this.down.clear();
    if (this.active) this.send(events);
  }
}
