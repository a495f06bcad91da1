/**
 * The join page: reads the invitation (or asks for ID and password), runs a
 * JoinSession and shows what it reports. Everything the page shows is set
 * with textContent, never as HTML.
 *
 * The link's secret is read from the fragment once and removed from the
 * address bar at once (history.replaceState), before anything else runs.
 *
 * The zstd decoder is chosen as the page starts (zstd_wasm.js: WebAssembly
 * libzstd, else fzstd) and a join waits for that choice before it connects.
 * The page says which it uses in `<body data-zstd>` and one console line.
 */

import { JoinSession, JoinError, websocketUrl } from "./client.js";
import { ErrorCode } from "./errors.js";
import { Credential } from "./wire.js";
import { normalizePassword, parseFragment } from "./pake.js";
import { InputCapture } from "./input_capture.js";
import { View } from "./view.js";
import { chooseZstd } from "./zstd_wasm.js";

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The session ID in the path (`/j/123456789`), or null. */
function sessionFromPath() {
  const match = /^\/j\/([1-9][0-9]{8})\/?$/.exec(location.pathname);
  return match ? Number(match[1]) : null;
}

/** Digits only, or null unless exactly 9 and not starting with 0. */
export function parseSessionId(/** @type {string} */ text) {
  const digits = text.replace(/[\s-]/g, "");
  return /^[1-9][0-9]{8}$/.test(digits) ? Number(digits) : null;
}

function formatId(/** @type {number} */ id) {
  const text = String(id);
  return `${text.slice(0, 3)} ${text.slice(3, 6)} ${text.slice(6)}`;
}

/** The zstd decoder's choice; started once, with the page. @type {Promise<unknown> | null} */
let zstdChosen = null;

function start() {
  zstdChosen = chooseZstd().then(({ name, problem }) => {
    document.body.dataset.zstd = name;
    console.info(`screenrelay: zstd decoder ${name}${problem ? ` (WebAssembly not used: ${problem})` : ""}`);
  });
  const version =
    document.querySelector('meta[name="screenrelay-version"]')?.getAttribute("content") ?? "0";
  let secret = null;
  let hashError = null;
  if (location.hash.length > 1) {
    try {
      secret = parseFragment(location.hash.slice(1));
    } catch (error) {
      hashError = error;
    }
    // The secret leaves the address bar (and history) before anything else.
    history.replaceState(null, "", location.pathname);
  }
  const view = new View(document);
  const pathId = sessionFromPath();

  if (secret !== null && pathId !== null) {
    const linkSecret = secret;
    join(view, version, pathId, Credential.LINK, secret, () =>
      askForPassword(view, version, pathId, linkSecret),
    );
    return;
  }
  if (hashError) {
    view.showError(
      new JoinError(
        "This invitation link is damaged",
        "Its secret part is missing or cut short. Copy the whole link, or type the session ID and password.",
      ),
      () => askForPassword(view, version, pathId),
    );
    return;
  }
  askForPassword(view, version, pathId);
}

/**
 * The form. With ``linkSecret`` (a link's join was refused for want of an
 * account), only the ID and the account are asked: the link's secret stays.
 * @param {View} view
 * @param {string} version
 * @param {number | null} pathId
 * @param {Uint8Array} [linkSecret]
 */
function askForPassword(view, version, pathId, linkSecret) {
  const form = /** @type {HTMLFormElement} */ ($("join-form"));
  const idInput = /** @type {HTMLInputElement} */ ($("session-id"));
  const passwordInput = /** @type {HTMLInputElement} */ ($("password"));
  if (pathId !== null && !idInput.value) idInput.value = formatId(pathId);
  for (const el of [passwordInput, /** @type {HTMLElement} */ (passwordInput.labels?.[0])]) {
    if (el) el.hidden = linkSecret !== undefined;
  }
  passwordInput.required = linkSecret === undefined;
  view.showForm();
  (idInput.value ? passwordInput : idInput).focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    const id = parseSessionId(idInput.value);
    if (id === null) {
      view.formProblem(idInput, "A session ID has 9 digits, like 123 456 789.");
      return;
    }
    if (linkSecret !== undefined) {
      join(view, version, id, Credential.LINK, linkSecret, () =>
        askForPassword(view, version, id, linkSecret),
      );
      return;
    }
    let secret;
    try {
      secret = normalizePassword(passwordInput.value);
    } catch (error) {
      view.formProblem(passwordInput, String(/** @type {Error} */ (error).message));
      return;
    }
    passwordInput.value = "";
    join(view, version, id, Credential.PASSWORD, secret, () => askForPassword(view, version, id));
  };
}

/** The account typed into the form's account box, or null; the box is emptied. */
function takeAccount() {
  const user = /** @type {HTMLInputElement} */ ($("account-user"));
  const password = /** @type {HTMLInputElement} */ ($("account-password"));
  const account = user.value.trim() ? { user: user.value.trim(), password: password.value } : null;
  password.value = "";
  return account;
}

/**
 * The relay refused for want of an account: open the account box next time.
 * @param {{code?: number | null}} problem
 */
function wantsAccount(problem) {
  if (problem.code === ErrorCode.NOT_ALLOWED || problem.code === ErrorCode.SIGN_IN_FAILED) {
    /** @type {HTMLDetailsElement} */ ($("account-box")).open = true;
  }
}

/**
 * @param {View} view
 * @param {string} version
 * @param {number} sessionId
 * @param {number} credential
 * @param {Uint8Array} secret
 * @param {() => void} [retry]
 */
async function join(view, version, sessionId, credential, secret, retry) {
  const account = takeAccount();
  view.joining(formatId(sessionId));
  await zstdChosen;
  /** @type {InputCapture | null} */
  let capture = null;
  const session = new JoinSession({
    url: websocketUrl(location),
    sessionId,
    credential,
    secret,
    clientVersion: version,
    account,
    onEvent: (name, detail = {}) => {
      view.onEvent(name, detail);
      if (name === "control" && capture) capture.setActive(session.inControl);
    },
  });
  view.onLeave = () => session.leave();
  view.onControl = () => {
    if (session.inControl) {
      session.releaseControl();
    } else {
      session.requestControl();
      view.controlRequested();
    }
  };
  capture = new InputCapture(view.canvas, (events) => session.sendInput(events));
  try {
    await session.run();
    view.ended("The session has ended", "The organizer or the presenter ended it.");
  } catch (error) {
    const problem =
      error instanceof JoinError
        ? error
        : new JoinError("Something went wrong", String(/** @type {Error} */ (error).message));
    wantsAccount(problem);
    view.showError(problem, retry ?? (() => location.reload()));
  } finally {
    capture.setActive(false);
  }
}

if (typeof document !== "undefined") start();
