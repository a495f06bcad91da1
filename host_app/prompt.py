"""Consent prompts: asking the person at this machine, and only them.

``ConsentPrompt`` is the small interface; ``open_prompt`` the one chooser.
``TkConsentPrompt`` shows a window, ``TerminalConsentPrompt`` reads answers
from standard input (``--json`` and headless hosts), ``ScriptedConsentPrompt``
is the recording fake for tests. Every prompt expires to ``Answer.EXPIRED``,
which counts as a decline; there is deliberately no way to answer yes in
advance.

The caller's duties, which a prompt cannot do for itself:
- While a prompt shows, keep the ``InputGate`` paused (``pause()`` before
  ``ask``, ``resume()`` after, in a ``finally``), so a controller can never
  click Accept on a prompt.
- With ``TerminalConsentPrompt``, emit the "consent_asked" JSON event naming
  ``question.id`` and call ``ask`` with no ``await`` in between.
- Cancelling the task awaiting ``ask`` takes the prompt away unanswered.

Neither prompt ever blocks the event loop: Tk runs on a thread of its own
(Tk objects must stay on the thread that made them), and standard input is
read by a thread of its own; both hand results over with
``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import enum
import gc
import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TextIO, get_args

from protocol.errors import ScreenrelayError

if TYPE_CHECKING:
    import tkinter as tk

#: The title of every consent window (tests find windows by it).
WINDOW_TITLE: Final = "screenrelay: consent"
#: Seconds Accept stays disabled after a window appears, so a click or key
#: meant for what was under it cannot accept (Firefox does the same).
ARM_DELAY: Final = 0.5
#: Milliseconds between two looks at the Tk thread's request queue.
POLL_MS: Final = 30
#: Milliseconds between two countdown updates.
TICK_MS: Final = 200
#: Extra seconds the event loop waits past a question's timeout before it
#: stops waiting for the Tk thread itself.
GRACE: Final = 5.0


log = logging.getLogger("screenrelay.prompt")


class PromptError(ScreenrelayError):
    """The prompt cannot be shown (no display, Tk missing): answer "refused"."""


class Answer(enum.Enum):
    #: The person accepted.
    ACCEPT = "accept"
    #: The person declined (button, Escape, Enter on Decline, closed window).
    DECLINE = "decline"
    #: Nobody answered in time, or nobody can (stdin closed): a decline.
    EXPIRED = "expired"


@dataclasses.dataclass(frozen=True, slots=True)
class ConsentQuestion:
    #: Who asks, as the person knows them: "Participant 3".
    who: str
    #: What for, completing "... asks to": "control your mouse and keyboard".
    what: str
    #: Seconds until the prompt expires.
    timeout: float = 30.0
    #: The token the terminal answers with ("accept ID"); one word.
    id: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if any(c.isspace() for c in self.id):
            raise ValueError(f"id must be one word, got {self.id!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class PromptStatistics:
    asked: int
    accepted: int
    declined: int
    expired: int
    #: Prompts that became able to accept (Tk: Accept armed; terminal: waiting).
    ready: int


_Count = Literal["asked", "accepted", "declined", "expired", "ready"]
_ANSWER_COUNTS: Final[dict[Answer, _Count]] = {
    Answer.ACCEPT: "accepted",
    Answer.DECLINE: "declined",
    Answer.EXPIRED: "expired",
}


class _Counters:
    """Thread-safe counters behind ``statistics()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(get_args(_Count), 0)

    def add(self, name: _Count) -> None:
        with self._lock:
            self._counts[name] += 1

    def answered(self, answer: Answer) -> Answer:
        self.add(_ANSWER_COUNTS[answer])
        return answer

    def snapshot(self) -> PromptStatistics:
        with self._lock:
            return PromptStatistics(**self._counts)


class ConsentPrompt(abc.ABC):
    """Asks the person at this machine a yes/no question."""

    def __init__(self) -> None:
        self._counters = _Counters()

    @abc.abstractmethod
    async def ask(self, question: ConsentQuestion) -> Answer:
        """Ask and wait for the answer; EXPIRED after ``question.timeout``."""

    def statistics(self) -> PromptStatistics:
        return self._counters.snapshot()

    def close(self) -> None:  # noqa: B027 - most prompts have nothing to close
        """Take every prompt away (they answer EXPIRED); safe to repeat."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_prompt(*, terminal: bool, display: str | None = None) -> ConsentPrompt:
    """The prompt for this host: the terminal with ``--json`` (or headless),
    a window otherwise; ``display`` is an X11 display name for the window."""
    return TerminalConsentPrompt() if terminal else TkConsentPrompt(display)


class ScriptedConsentPrompt(ConsentPrompt):
    """A fake: answers from a script (EXPIRED once it runs out) and records
    every question."""

    def __init__(self, answers: Iterable[Answer] = ()) -> None:
        super().__init__()
        self._answers = list(answers)
        self.questions: list[ConsentQuestion] = []

    async def ask(self, question: ConsentQuestion) -> Answer:
        self.questions.append(question)
        self._counters.add("asked")
        self._counters.add("ready")
        await asyncio.sleep(0)
        return self._counters.answered(self._answers.pop(0) if self._answers else Answer.EXPIRED)


class TerminalConsentPrompt(ConsentPrompt):
    """Waits for "accept ID" or "decline ID" on a line of ``stream``
    (default ``sys.stdin``; reading continues where ``--password-stdin``
    stopped). Other lines are ignored with a note on ``notes`` (default
    ``sys.stderr``). Prints nothing else: the caller announces the question.

    One daemon thread reads the stream for the prompt's whole life, handing
    each line to the loop of the latest ``ask``. Once the stream ends, nobody
    can answer: waiting and later questions expire at once.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        notes: TextIO | None = None,
        commands: Mapping[str, Callable[..., None]] | None = None,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._notes = notes
        #: Lines the host itself handles, by first word ("revoke", "present 3"),
        #: called on the loop with the other words as arguments.
        self.commands: dict[str, Callable[..., None]] = dict(commands or {})
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: threading.Thread | None = None
        self._ended = False

    async def listen(self) -> None:
        """Start reading now, so commands work before the first question."""
        self._loop = asyncio.get_running_loop()
        if self._reader is None:
            self._reader = threading.Thread(
                target=self._read, name="screenrelay-consent-stdin", daemon=True
            )
            self._reader.start()

    async def ask(self, question: ConsentQuestion) -> Answer:
        if not question.id:
            raise ValueError("a terminal question needs an id to be answered by")
        if question.id in self._pending:
            raise ValueError(f"question {question.id!r} is already waiting")
        self._counters.add("asked")
        self._loop = asyncio.get_running_loop()
        if self._reader is None:
            self._reader = threading.Thread(
                target=self._read, name="screenrelay-consent-stdin", daemon=True
            )
            self._reader.start()
        if self._ended:
            return self._counters.answered(Answer.EXPIRED)
        future = self._loop.create_future()
        self._pending[question.id] = future
        self._counters.add("ready")
        try:
            answer = await asyncio.wait_for(future, question.timeout)
        except TimeoutError:
            answer = Answer.EXPIRED
        finally:
            self._pending.pop(question.id, None)
        return self._counters.answered(answer)

    def close(self) -> None:
        self._ended = True
        for future in self._pending.values():
            if not future.done():
                future.set_result(Answer.EXPIRED)

    def _read(self) -> None:
        """The reader thread: every line (then None for the end) to the loop."""
        stream = self._stream if self._stream is not None else sys.stdin
        try:
            for line in stream:
                self._hand(line)
        except (OSError, ValueError) as exc:  # closed or unreadable stream
            self._hand(f"\0{exc}")
        self._hand(None)

    def _hand(self, line: str | None) -> None:
        loop = self._loop
        try:
            if loop is not None:
                loop.call_soon_threadsafe(self._on_line, line)
                return
        except RuntimeError:  # that loop is closed
            pass
        if line is None:
            self._ended = True

    def _on_line(self, line: str | None) -> None:
        """On the loop: answer the question the line names, or note why not."""
        if line is None:
            if not self._ended:
                self._note("standard input ended; consent questions now expire unanswered")
            self.close()
            return
        if line.startswith("\0"):
            self._note(f"cannot read standard input: {line[1:]}")
            return
        words = line.split()
        if not words:
            return
        if words[0] in self.commands:
            try:
                self.commands[words[0]](*words[1:])
            except (TypeError, ValueError) as exc:
                self._note(f"ignored {words[0]!r}: {exc}")
            return
        if len(words) != 2 or words[0] not in ("accept", "decline"):
            self._note("ignored a line that is not 'accept ID' or 'decline ID'")
            return
        future = self._pending.get(words[1])
        if future is None or future.done():
            self._note(f"no consent question {words[1][:40]!r} is waiting; ignored")
            return
        future.set_result(Answer.ACCEPT if words[0] == "accept" else Answer.DECLINE)

    def _note(self, text: str) -> None:
        notes = self._notes if self._notes is not None else sys.stderr
        print(f"screenrelay: {text}", file=notes, flush=True)


@dataclasses.dataclass(eq=False, slots=True)
class _Request:
    """A question for the Tk thread, and how its answer gets back."""

    question: ConsentQuestion
    deliver: Callable[[Answer], None]


class TkConsentPrompt(ConsentPrompt):
    """A window per question: who asks for what, a countdown, Accept and
    Decline. Decline has the focus (a stray Enter never accepts); Tab moves
    between the buttons, Enter activates the focused one, Escape and closing
    the window decline. Accept is usable only ``arm_delay`` seconds after
    the window appears.

    All Tk work happens on one thread, started by the first ``ask`` with its
    own hidden Tk root on ``display`` (default ``$DISPLAY``); requests reach
    it through a queue it polls with ``after``.
    """

    def __init__(self, display: str | None = None, *, arm_delay: float = ARM_DELAY) -> None:
        super().__init__()
        self._display = display
        self._arm_delay = arm_delay
        self._requests: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._started: concurrent.futures.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def _start(self) -> concurrent.futures.Future[None]:
        if self._started is None:
            self._started = concurrent.futures.Future()
            self._thread = threading.Thread(
                target=self._run, args=(self._started,), name="screenrelay-consent-tk", daemon=True
            )
            self._thread.start()
        return self._started

    def post(self, fn: Callable[[Any], None]) -> None:
        """Run ``fn(root)`` on the Tk thread, if it runs (from any thread, never blocks)."""
        if self._started is not None and self._started.done() and not self._closed:
            self._requests.put(("call", fn))

    async def call_soon(self, fn: Callable[[Any], None]) -> None:
        """Run ``fn(root)`` on the Tk thread (the host's own window lives there too)."""
        if self._closed:
            raise PromptError("the consent prompt is closed")
        await asyncio.wrap_future(self._start())
        self._requests.put(("call", fn))

    async def ask(self, question: ConsentQuestion) -> Answer:
        if self._closed:
            raise PromptError("the consent prompt is closed")
        self._counters.add("asked")
        await asyncio.wrap_future(self._start())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()

        def resolve(answer: Answer) -> None:
            if not future.done():
                future.set_result(answer)

        def deliver(answer: Answer) -> None:  # on the Tk thread
            with contextlib.suppress(RuntimeError):  # the loop is gone; nobody waits
                loop.call_soon_threadsafe(resolve, answer)

        request = _Request(question, deliver)
        self._requests.put(("ask", request))
        try:
            answer = await asyncio.wait_for(future, question.timeout + GRACE)
        except TimeoutError:
            answer = Answer.EXPIRED
        finally:
            if not future.done() or future.cancelled():  # timed out or cancelled
                self._requests.put(("dismiss", request))
        return self._counters.answered(answer)

    def close(self) -> None:
        """Take every window away and end the Tk thread (waits for it)."""
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._requests.put(None)
            thread.join(10)

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        """The Tk thread: every Tk object is made, used and freed here."""
        self._tk_main(started)
        gc.collect()  # Tk objects caught in reference cycles must die on this thread

    def _tk_main(self, started: concurrent.futures.Future[None]) -> None:
        try:
            import tkinter as tk

            root = tk.Tk(screenName=self._display, className="screenrelay")
            root.withdraw()
        except Exception as exc:
            started.set_exception(PromptError(f"cannot show a consent window: {exc}"))
            return
        started.set_result(None)
        windows: dict[_Request, _Window] = {}

        def poll() -> None:
            while True:
                try:
                    item = self._requests.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    for left in list(windows.values()):
                        left.finish(Answer.EXPIRED)
                    root.quit()
                    return
                kind, request = item
                if kind == "call":
                    try:
                        request(root)
                    except Exception:  # a bug in a window must not stop the prompts
                        log.exception("error in a Tk call")
                elif kind == "ask":
                    windows[request] = _Window(
                        root, request, self._arm_delay, self._counters, windows.pop
                    )
                elif (shown := windows.get(request)) is not None:
                    shown.finish(None)
            root.after(POLL_MS, poll)

        root.after(POLL_MS, poll)
        root.mainloop()
        root.destroy()


class _Window:
    """One consent window (Tk thread only)."""

    def __init__(
        self,
        root: tk.Tk,
        request: _Request,
        arm_delay: float,
        counters: _Counters,
        forget: Callable[[_Request], object],
    ) -> None:
        import tkinter as tk

        self._request = request
        self._counters = counters
        self._forget = forget
        self._done = False
        question = request.question
        self._deadline = time.monotonic() + question.timeout
        top = self._top = tk.Toplevel(root)
        top.title(WINDOW_TITLE)
        top.attributes("-topmost", True)
        top.protocol("WM_DELETE_WINDOW", lambda: self.finish(Answer.DECLINE))
        text = f"{question.who} asks to {question.what}."
        tk.Label(top, text=text, wraplength=420, justify=tk.LEFT).pack(padx=16, pady=(16, 6))
        self._countdown = tk.Label(top)
        self._countdown.pack(padx=16, pady=(0, 10))
        row = tk.Frame(top)
        row.pack(padx=16, pady=(0, 16))
        self._accept = tk.Button(
            row, text="Accept", width=10, state=tk.DISABLED, command=self._on_accept
        )
        self._decline = tk.Button(
            row, text="Decline", width=10, command=lambda: self.finish(Answer.DECLINE)
        )
        self._accept.pack(side=tk.LEFT, padx=6)
        self._decline.pack(side=tk.LEFT, padx=6)
        top.bind("<Return>", self._on_enter)
        top.bind("<KP_Enter>", self._on_enter)
        top.bind("<Escape>", lambda _event: self.finish(Answer.DECLINE))
        top.bind("<Map>", lambda _event: self._decline.focus_force())
        top.update_idletasks()  # centre it on the screen
        left = (top.winfo_screenwidth() - top.winfo_reqwidth()) // 2
        up = (top.winfo_screenheight() - top.winfo_reqheight()) // 3
        top.geometry(f"+{max(0, left)}+{max(0, up)}")
        self._decline.focus_set()
        self._armed = False
        self._arm_job = top.after(max(0, round(arm_delay * 1000)), self._arm)
        self._tick_job = ""
        self._tick()

    def _arm(self) -> None:
        self._accept.configure(state="normal")
        self._armed = True
        self._counters.add("ready")

    def _on_accept(self) -> None:
        if self._armed:
            self.finish(Answer.ACCEPT)

    def _on_enter(self, _event: object) -> None:
        focused = self._top.focus_get()
        if focused is self._accept:
            self._on_accept()
        elif focused is self._decline:
            self.finish(Answer.DECLINE)

    def _tick(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.finish(Answer.EXPIRED)
            return
        self._countdown.configure(text=f"Declines by itself in {math.ceil(left)} s")
        self._tick_job = self._top.after(min(TICK_MS, math.ceil(left * 1000)), self._tick)

    def finish(self, answer: Answer | None) -> None:
        """Close the window; hand ``answer`` back (None: dismissed, silent)."""
        if self._done:
            return
        self._done = True
        for job in (self._arm_job, self._tick_job):
            if job:
                self._top.after_cancel(job)
        self._top.destroy()
        self._forget(self._request)
        if answer is not None:
            self._request.deliver(answer)
