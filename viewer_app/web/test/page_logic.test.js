// Pure parts of the page: key names for input, the words for relay errors, the
// WebSocket address, and the key names' agreement with the protocol's allowlist.
import assert from "node:assert/strict";
import { test } from "node:test";

import { humanError, websocketUrl } from "../src/client.js";
import { ErrorCode } from "../src/errors.js";
import { KEY_NAMES } from "../src/input_events.js";
import { keyName } from "../src/input_capture.js";

test("keys the protocol can name are named, others are not sent", () => {
  assert.equal(keyName({ key: "a", code: "KeyA" }), "a");
  assert.equal(keyName({ key: "A", code: "KeyA" }), "A");
  assert.equal(keyName({ key: "é", code: "Digit2" }), "é");
  assert.equal(keyName({ key: "Enter", code: "Enter" }), "enter");
  assert.equal(keyName({ key: " ", code: "Space" }), "space");
  assert.equal(keyName({ key: "F12", code: "F12" }), "f12");
  assert.equal(keyName({ key: "Control", code: "ControlLeft" }), "ctrl_l");
  assert.equal(keyName({ key: "Shift", code: "ShiftRight" }), "shift_r");
  assert.equal(keyName({ key: "Dead", code: "Quote" }), null);
  assert.equal(keyName({ key: "Unidentified", code: "" }), null);
  assert.equal(keyName({ key: "F13", code: "F13" }), null);
  assert.equal(keyName({ key: "\u0007", code: "" }), null);
});

test("every named key the page sends is in the protocol's allowlist", () => {
  const samples = [
    "Enter", "Backspace", "Tab", "Escape", " ", "ArrowUp", "ArrowDown", "ArrowLeft",
    "ArrowRight", "Home", "End", "PageUp", "PageDown", "Delete", "Insert", "CapsLock",
    "ContextMenu", "Meta", "OS", ...Array.from({ length: 12 }, (_, i) => `F${i + 1}`),
  ];
  for (const key of samples) {
    const name = keyName({ key, code: "" });
    assert.ok(name !== null && KEY_NAMES.has(name), `${key} -> ${name}`);
  }
  for (const code of ["ControlLeft", "ControlRight", "ShiftLeft", "ShiftRight", "AltLeft", "AltRight"]) {
    assert.ok(KEY_NAMES.has(/** @type {string} */ (keyName({ key: "x", code }))), code);
  }
});

test("a wrong ID and a wrong password read the same; other codes get their words", () => {
  const wrong = humanError(ErrorCode.ADMISSION_FAILED, "anything the relay says");
  assert.equal(wrong.title, "Could not join");
  assert.equal(wrong.message, "Wrong session ID or password.");
  const version = humanError(ErrorCode.VERSION_REFUSED, "This relay needs 2.0.0 or later.");
  assert.equal(version.title, "This page is out of date");
  assert.equal(version.message, "This relay needs 2.0.0 or later.");
  const unknown = humanError(999, "Something new.");
  assert.equal(unknown.message, "Something new.");
});

test("the WebSocket address follows the page's scheme and host", () => {
  assert.equal(websocketUrl(new URL("https://relay.example:8443/j/123456789")), "wss://relay.example:8443/ws");
  assert.equal(websocketUrl(new URL("http://127.0.0.1:8080/j")), "ws://127.0.0.1:8080/ws");
});
