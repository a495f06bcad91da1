"""Consent prompts: the Tk window on a real Xvfb, answered with xdotool as a
person would (keyboard only), and the terminal prompt fed through a pipe."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from host_app.prompt import (
    WINDOW_TITLE,
    Answer,
    ConsentPrompt,
    ConsentQuestion,
    PromptError,
    ScriptedConsentPrompt,
    TerminalConsentPrompt,
    TkConsentPrompt,
    open_prompt,
)

_T = TypeVar("_T")

#: Seconds to wait for a window, a focus change or an answer.
SEE_TIMEOUT = 15.0
#: The Accept delay in these tests (the default is longer).
ARM_DELAY = 0.2

QUESTION = ConsentQuestion("Participant 3", "control your mouse and keyboard", timeout=60.0)

needs_xvfb = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool",
)


def run(main: Callable[[], Awaitable[_T]]) -> _T:
    async def bounded() -> _T:
        return await asyncio.wait_for(main(), 120)

    return asyncio.run(bounded())


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SEE_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_the_question_is_checked() -> None:
    with pytest.raises(ValueError, match="timeout"):
        ConsentQuestion("a", "b", timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        ConsentQuestion("a", "b", timeout=float("nan"))
    with pytest.raises(ValueError, match="one word"):
        ConsentQuestion("a", "b", id="two words")


def test_the_scripted_fake_records_and_runs_out_to_expired() -> None:
    prompt = ScriptedConsentPrompt([Answer.ACCEPT])

    async def main() -> list[Answer]:
        return [await prompt.ask(QUESTION), await prompt.ask(QUESTION)]

    assert run(main) == [Answer.ACCEPT, Answer.EXPIRED]
    assert prompt.questions == [QUESTION, QUESTION]
    stats = prompt.statistics()
    assert (stats.asked, stats.accepted, stats.expired) == (2, 1, 1)


def test_the_chooser() -> None:
    assert isinstance(open_prompt(terminal=True), TerminalConsentPrompt)
    with open_prompt(terminal=False, display=":999") as prompt:
        assert isinstance(prompt, TkConsentPrompt)


# -- the window ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def screen() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb")
    from tests.xvfb import running_xvfb

    with running_xvfb(800, 600) as display:
        yield display


@pytest.fixture
def window_prompt(screen: str) -> Iterator[TkConsentPrompt]:
    with TkConsentPrompt(screen, arm_delay=ARM_DELAY) as prompt:
        yield prompt


async def xdotool(display: str, *args: str) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout


async def consent_windows(display: str) -> list[str]:
    return (await xdotool(display, "search", "--name", WINDOW_TITLE)).split()


async def shown(display: str, prompt: TkConsentPrompt, *, armed: int | None) -> str:
    """Wait until a consent window shows and has the keyboard focus (and, with
    ``armed``, until that many prompts had Accept armed); its window id."""
    if armed is not None:
        await until(lambda: prompt.statistics().ready >= armed, "Accept to be armed")
    found: list[str] = []

    async def look() -> bool:
        found[:] = await consent_windows(display)
        focus = (await xdotool(display, "getwindowfocus")).strip()
        return len(found) == 1 and focus == found[0]

    deadline = time.monotonic() + SEE_TIMEOUT
    while not await look():
        if time.monotonic() > deadline:
            pytest.fail(f"no focused consent window; found {found}")
        await asyncio.sleep(0.05)
    return found[0]


async def answer_with_keys(
    screen: str, prompt: TkConsentPrompt, *keys: str, armed: bool = True
) -> Answer:
    task = asyncio.create_task(prompt.ask(QUESTION))
    before = prompt.statistics().ready
    await shown(screen, prompt, armed=before + 1 if armed else None)
    await xdotool(screen, "key", *keys)
    answer = await task
    await until(lambda: not _windows_now(screen), "the window to go")
    return answer


def _windows_now(display: str) -> list[str]:
    return subprocess.run(
        ["xdotool", "search", "--name", WINDOW_TITLE],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.split()


@needs_xvfb
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("Tab", "Return"), Answer.ACCEPT),
        (("Tab", "space"), Answer.ACCEPT),
        (("Tab", "Tab", "Return"), Answer.DECLINE),  # Tab goes round to Decline
        (("Return",), Answer.DECLINE),  # the focus starts on Decline
        (("KP_Enter",), Answer.DECLINE),
        (("Escape",), Answer.DECLINE),
        (("Tab", "Escape"), Answer.DECLINE),
    ],
)
def test_answers_from_the_keyboard(
    screen: str, window_prompt: TkConsentPrompt, keys: tuple[str, ...], expected: Answer
) -> None:
    async def main() -> Answer:
        return await answer_with_keys(screen, window_prompt, *keys)

    assert run(main) is expected


@needs_xvfb
def test_accept_cannot_be_reached_before_it_is_armed(screen: str) -> None:
    async def main() -> Answer:
        with TkConsentPrompt(screen, arm_delay=60) as prompt:
            return await answer_with_keys(screen, prompt, "Tab", "Return", armed=False)

    assert run(main) is Answer.DECLINE


@needs_xvfb
def test_an_unanswered_window_expires_without_blocking_the_loop(
    screen: str, window_prompt: TkConsentPrompt
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> tuple[Answer, float]:
        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        answer = await window_prompt.ask(ConsentQuestion("Participant 3", "present", timeout=1.0))
        elapsed = time.monotonic() - started
        ticking.cancel()
        await until(lambda: not _windows_now(screen), "the window to go")
        return answer, elapsed

    answer, elapsed = run(main)
    assert answer is Answer.EXPIRED
    assert elapsed >= 0.9
    assert ticks > 5  # the loop kept running while the window showed
    assert window_prompt.statistics().expired == 1


@needs_xvfb
def test_cancelling_the_question_takes_the_window_away(
    screen: str, window_prompt: TkConsentPrompt
) -> None:
    async def main() -> None:
        task = asyncio.create_task(window_prompt.ask(QUESTION))
        await shown(screen, window_prompt, armed=1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: not _windows_now(screen), "the window to go")
        # The Tk thread lives on for the next question.
        assert await answer_with_keys(screen, window_prompt, "Escape") is Answer.DECLINE

    run(main)


@needs_xvfb
def test_close_expires_what_is_showing(screen: str) -> None:
    prompt = TkConsentPrompt(screen, arm_delay=ARM_DELAY)

    async def main() -> Answer:
        task = asyncio.create_task(prompt.ask(QUESTION))
        await shown(screen, prompt, armed=1)
        await asyncio.to_thread(prompt.close)
        return await task

    assert run(main) is Answer.EXPIRED
    assert not _windows_now(screen)
    with pytest.raises(PromptError, match="closed"):
        run(lambda: prompt.ask(QUESTION))


def test_no_display_is_a_prompt_error() -> None:
    async def main() -> Answer:
        with TkConsentPrompt(":999") as prompt:
            return await prompt.ask(QUESTION)

    with pytest.raises(PromptError, match="consent window"):
        run(main)


# -- the terminal -------------------------------------------------------------------


class Terminal:
    """A TerminalConsentPrompt reading a pipe we write to."""

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe()
        self._stream = os.fdopen(read_end, "r", encoding="utf-8")
        self.notes = io.StringIO()
        self.prompt = TerminalConsentPrompt(self._stream, self.notes)
        self._open = True

    def type(self, line: str) -> None:
        os.write(self._write_end, (line + "\n").encode())

    def end(self) -> None:
        if self._open:
            self._open = False
            os.close(self._write_end)

    def close(self) -> None:
        self.end()
        reader = self.prompt._reader
        if reader is not None:
            reader.join(10)
            assert not reader.is_alive()
        self._stream.close()


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    opened = Terminal()
    try:
        yield opened
    finally:
        opened.close()


def question(name: str, timeout: float = 60.0) -> ConsentQuestion:
    return ConsentQuestion("Participant 3", "control your mouse and keyboard", timeout, id=name)


async def asked(prompt: ConsentPrompt, q: ConsentQuestion) -> asyncio.Task[Answer]:
    """Ask, and return once the prompt waits for an answer."""
    before = prompt.statistics().ready
    task = asyncio.create_task(prompt.ask(q))
    await until(lambda: prompt.statistics().ready > before, "the question to wait")
    return task


@pytest.mark.parametrize(
    ("line", "expected"), [("accept", Answer.ACCEPT), ("decline", Answer.DECLINE)]
)
def test_terminal_answers(terminal: Terminal, line: str, expected: Answer) -> None:
    async def main() -> Answer:
        task = await asked(terminal.prompt, question("c1"))
        terminal.type(f"{line} c1")
        return await task

    assert run(main) is expected
    assert terminal.notes.getvalue() == ""


def test_terminal_ignores_other_lines_with_a_note(terminal: Terminal) -> None:
    async def main() -> Answer:
        task = await asked(terminal.prompt, question("c7"))
        for line in ["yes", "ACCEPT c7", "accept", "accept c7 now", "accept c8", "", "  "]:
            terminal.type(line)
        terminal.type("decline c7")
        return await task

    assert run(main) is Answer.DECLINE
    notes = terminal.notes.getvalue().splitlines()
    assert len(notes) == 5
    assert "'c8'" in notes[-1]
    assert all("ignored" in note for note in notes)


def test_terminal_expires_and_ignores_a_late_answer(terminal: Terminal) -> None:
    async def main() -> tuple[Answer, float]:
        started = time.monotonic()
        answer = await terminal.prompt.ask(question("late", timeout=0.5))
        elapsed = time.monotonic() - started
        terminal.type("accept late")
        await until(lambda: "late" in terminal.notes.getvalue(), "a note")
        return answer, elapsed

    answer, elapsed = run(main)
    assert answer is Answer.EXPIRED
    assert elapsed >= 0.45
    assert terminal.prompt.statistics().expired == 1


def test_terminal_reader_serves_many_questions_on_one_thread(terminal: Terminal) -> None:
    async def main() -> list[Answer]:
        answers = []
        for number in range(20):
            task = await asked(terminal.prompt, question(f"q{number}"))
            terminal.type(f"{'accept' if number % 2 else 'decline'} q{number}")
            answers.append(await task)
        return answers

    answers = run(main)
    assert answers == [Answer.DECLINE, Answer.ACCEPT] * 10
    readers = [t for t in threading.enumerate() if t.name == "screenrelay-consent-stdin"]
    assert len(readers) == 1


def test_terminal_two_questions_at_once(terminal: Terminal) -> None:
    async def main() -> tuple[Answer, Answer]:
        first = await asked(terminal.prompt, question("one"))
        second = await asked(terminal.prompt, question("two"))
        with pytest.raises(ValueError, match="already waiting"):
            await terminal.prompt.ask(question("one"))
        terminal.type("accept two")
        terminal.type("decline one")
        return await first, await second

    assert run(main) == (Answer.DECLINE, Answer.ACCEPT)


def test_terminal_end_of_input_expires_everything(terminal: Terminal) -> None:
    async def main() -> tuple[Answer, Answer, float]:
        task = await asked(terminal.prompt, question("e1"))
        started = time.monotonic()
        terminal.end()
        first = await task
        later = await terminal.prompt.ask(question("e2"))
        return first, later, time.monotonic() - started

    first, later, elapsed = run(main)
    assert (first, later) == (Answer.EXPIRED, Answer.EXPIRED)
    assert elapsed < 30  # at once, not after the 60 s timeout
    assert "ended" in terminal.notes.getvalue()


def test_terminal_needs_an_id(terminal: Terminal) -> None:
    with pytest.raises(ValueError, match="id"):
        run(lambda: terminal.prompt.ask(QUESTION))
