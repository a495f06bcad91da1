/**
 * What the join page shows: the form, status and error cards, the picture
 * on a canvas, the presenter and control labels, notices and toasts.
 *
 * The canvas holds the picture at its own size (one canvas pixel per picture
 * pixel); CSS scales it down to fit the window, or shows it at 100 % (one
 * picture pixel per device pixel, crisp) with scroll bars. Only the rectangles
 * a frame changed are drawn.
 *
 * The page's state is mirrored in data attributes on <body> (data-state,
 * data-control, data-frames) and a few numbers are kept in `stats`, so tests
 * and the benchmark read what a person sees without scraping text.
 */

/** Per-update timings kept for the benchmark (the newest LIMIT). */
const LIMIT = 2000;

export class View {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    const get = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.body = doc.body;
    this.form = get("join-form");
    this.statusCard = get("status");
    this.statusText = get("status-text");
    this.errorCard = get("error");
    this.errorTitle = get("error-title");
    this.errorText = get("error-text");
    this.retryButton = get("retry-button");
    this.stage = get("stage");
    this.canvas = /** @type {HTMLCanvasElement} */ (get("screen"));
    this.context = /** @type {CanvasRenderingContext2D} */ (
      this.canvas.getContext("2d", { alpha: false, desynchronized: true })
    );
    this.notice = get("notice");
    this.toastBox = get("toast");
    this.sessionLabel = get("session-label");
    this.presenterLabel = get("presenter-label");
    this.controlLabel = get("control-label");
    this.controlButton = /** @type {HTMLButtonElement} */ (get("control-button"));
    this.zoomButton = get("zoom-button");
    this.leaveButton = get("leave-button");
    /** @type {ImageData | null} */
    this.image = null;
    /** @type {() => void} */
    this.onLeave = () => {};
    /** @type {() => void} */
    this.onControl = () => {};
    this.toastTimer = 0;
    this.pendingControl = false;
    /** Whether the relay's policy forbids remote control (Welcome, or control ended by policy). */
    this.policyForbidsControl = false;
    /** Numbers for tests and the benchmark (window.screenrelay.stats). */
    this.stats = {
      frames: 0,
      dropped: 0,
      /** @type {Array<Record<string, number>>} */
      updates: [],
    };
    Object.assign(globalThis, { screenrelay: { stats: this.stats, view: this } });
    this.leaveButton.onclick = () => this.onLeave();
    this.controlButton.onclick = () => this.onControl();
    this.zoomButton.onclick = () => this.toggleZoom();
    doc.addEventListener("keydown", (event) => {
      if (event.key === "z" && event.target === doc.body) this.toggleZoom();
    });
  }

  /** @param {string} state */
  setState(state) {
    this.body.dataset.state = state;
  }

  /** Show exactly one of the main panels. */
  only(/** @type {HTMLElement | null} */ panel) {
    for (const el of [this.form, this.statusCard, this.errorCard, this.stage]) {
      el.hidden = el !== panel;
    }
  }

  showForm() {
    this.setState("form");
    this.only(this.form);
  }

  /**
   * @param {HTMLInputElement} input
   * @param {string} text
   */
  formProblem(input, text) {
    input.setCustomValidity(text);
    input.reportValidity();
    input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
  }

  /** @param {string} idText */
  joining(idText) {
    this.setState("joining");
    this.sessionLabel.textContent = `Session ${idText}`;
    this.status("Connecting to the relay…");
  }

  /** @param {string} text */
  status(text) {
    this.statusText.textContent = text;
    this.only(this.statusCard);
  }

  /**
   * @param {{title: string, message: string, code?: number | null}} problem
   * @param {() => void} retry
   */
  showError(problem, retry) {
    this.setState("error");
    this.body.dataset.errorCode = String(problem.code ?? "");
    this.errorTitle.textContent = problem.title;
    this.errorText.textContent = problem.message;
    this.only(this.errorCard);
    this.hideControls();
    this.retryButton.onclick = retry;
    this.retryButton.focus();
  }

  /**
   * @param {string} title
   * @param {string} text
   */
  ended(title, text) {
    this.setState("ended");
    this.errorTitle.textContent = title;
    this.errorText.textContent = text;
    this.only(this.errorCard);
    this.hideControls();
    this.retryButton.textContent = "Join again";
    this.retryButton.onclick = () => location.reload();
  }

  hideControls() {
    this.controlButton.hidden = this.zoomButton.hidden = this.leaveButton.hidden = true;
    this.controlLabel.textContent = "";
    delete this.body.dataset.control;
  }

  toggleZoom() {
    const actual = this.stage.classList.toggle("actual");
    this.zoomButton.textContent = actual ? "Fit" : "100 %";
    this.zoomButton.title = actual ? "Fit the picture to the window (Z)" : "Show the picture at 100 % (Z)";
    this.sizeCanvas();
  }

  /** At 100 %, one picture pixel per device pixel; otherwise CSS fits it. */
  sizeCanvas() {
    const actual = this.stage.classList.contains("actual");
    const ratio = globalThis.devicePixelRatio || 1;
    this.canvas.style.width = actual ? `${this.canvas.width / ratio}px` : "";
    this.canvas.style.height = actual ? `${this.canvas.height / ratio}px` : "";
  }

  /** @param {string} text */
  toast(text) {
    this.toastBox.textContent = text;
    this.toastBox.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = Number(setTimeout(() => (this.toastBox.hidden = true), 6000));
  }

  /**
   * One event from the JoinSession.
   * @param {string} name
   * @param {Record<string, any>} detail
   */
  onEvent(name, detail) {
    switch (name) {
      case "status":
        this.status(detail.text);
        break;
      case "joined":
        this.setState("waiting");
        this.body.dataset.member = String(detail.memberId);
        this.status("Joined. Waiting for the presenter's picture…");
        this.presenterLabel.textContent = "The organizer is presenting";
        this.controlButton.hidden = this.leaveButton.hidden = this.zoomButton.hidden = false;
        this.policyForbidsControl = detail.policy?.remote_control === false;
        this.controlButton.disabled = this.policyForbidsControl;
        break;
      case "picture":
        this.draw(detail);
        break;
      case "presenter_status":
        this.presenterStatus(detail.paused, detail.hidden);
        break;
      case "presenter":
        this.presenterLabel.textContent = detail.mine
          ? "You are presenting"
          : detail.presenter === 0
            ? "Nobody is presenting"
            : detail.presenter === 1
              ? "The organizer is presenting"
              : `Participant ${detail.presenter} is presenting`;
        this.presenterStatus(false, false);
        if (detail.presenter === 0) this.notify("Nobody is presenting right now.");
        break;
      case "present_declined":
        this.toast(detail.text);
        break;
      case "control":
        this.control(detail);
        break;
      case "frame_dropped":
        this.stats.dropped += 1;
        break;
      case "ended":
        break;
      default:
        break;
    }
  }

  /** @param {string} text */
  notify(text) {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  /**
   * @param {boolean} paused
   * @param {boolean} hidden
   */
  presenterStatus(paused, hidden) {
    this.stage.classList.toggle("hidden-picture", hidden);
    this.body.dataset.paused = String(paused);
    this.body.dataset.hidden = String(hidden);
    if (hidden) this.notify("The presenter has hidden their screen.");
    else if (paused) this.notify("The presenter paused sharing. The picture is the last one shared.");
    else this.notice.hidden = true;
  }

  /** @param {Record<string, any>} picture */
  draw(picture) {
    const started = performance.now();
    const { screen } = picture;
    if (picture.resized || !this.image || this.canvas.width !== screen.width) {
      this.canvas.width = screen.width;
      this.canvas.height = screen.height;
      this.image = new ImageData(screen.rgba, screen.width, screen.height);
      this.sizeCanvas();
    }
    const image = /** @type {ImageData} */ (this.image);
    if (picture.resized || picture.keyframe) {
      this.context.putImageData(image, 0, 0);
    } else {
      for (const r of picture.dirty) this.context.putImageData(image, 0, 0, r.x, r.y, r.w, r.h);
    }
    const drawn = performance.now();
    if (this.stage.hidden) {
      this.only(this.stage);
      this.setState("watching");
    }
    this.stats.frames += 1;
    this.body.dataset.frames = String(this.stats.frames);
    this.stats.updates.push({
      seq: Number(picture.seq),
      keyframe: picture.keyframe ? 1 : 0,
      bytes: picture.bytes,
      moved: picture.moved,
      decryptMs: picture.decryptMs,
      decodeMs: picture.decodeMs,
      composeMs: picture.composeMs,
      drawMs: drawn - started,
      latencyMs: performance.timeOrigin + drawn - picture.captureMs,
    });
    if (this.stats.updates.length > LIMIT) this.stats.updates.shift();
  }

  /** @param {Record<string, any>} state */
  control(state) {
    const { mine, controller, reason, aboutMe } = state;
    this.body.dataset.control = mine ? "mine" : controller ? "other" : "none";
    this.controlButton.textContent = mine ? "Give control back" : "Request control";
    this.pendingControl = false;
    // Control ended by policy: it stays off for the rest of this page.
    if (reason === "policy") this.policyForbidsControl = true;
    this.controlButton.disabled = Boolean(this.policyForbidsControl);
    if (mine) {
      this.controlLabel.textContent = "You control the presenter's screen";
      this.toast("You control the presenter's screen. They can take it back at any moment.");
      this.canvas.focus();
    } else if (controller) {
      this.controlLabel.textContent =
        controller === 1 ? "The organizer has control" : `Participant ${controller} has control`;
    } else {
      this.controlLabel.textContent = "";
    }
    if (aboutMe && !mine) {
      const words = {
        declined: "The presenter declined your request for control.",
        expired: "The presenter did not answer your request for control.",
        refused: "Remote control is not available now.",
        revoked_hotkey: "The presenter took control back.",
        revoked_window: "The presenter took control back.",
        released: "You gave control back.",
        controller_left: "Control ended.",
        policy: "Remote control is disabled by this relay's policy.",
      };
      const text = /** @type {Record<string, string>} */ (words)[reason];
      if (text) this.toast(text);
    }
  }

  /** Called when this page asked for control and waits for the answer. */
  controlRequested() {
    this.pendingControl = true;
    this.controlButton.disabled = true;
    this.controlLabel.textContent = "Waiting for the presenter to accept…";
  }
}
