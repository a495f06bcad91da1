"""The organizer's own window: how to join, who watches, who controls; and buttons.

It lives on the consent prompt's Tk thread (one Tk thread per process).
Buttons, each also on a key (Alt+letter):
  Take back control (Alt+R): closes the input gate right there on the Tk
      thread, synchronously, and only then tells the event loop (rule 3 of
      host_app/remote_control.py);
  Pause/Resume (Alt+P), Hide/Show (Alt+H): the picture (MISSION rule 6);
  End session (Alt+E): for everyone;
  Hide invitation (Alt+I): this window is on the shared screen, so viewers
      see what it shows; the ID, password and link can be hidden from them;
  Ask to present (Alt+A): asks the participant whose number is in the field
      next to it (empty: the first participant) to share its screen; its
      own machine asks it first (MISSION rule 4).
The event loop refreshes the status line every REFRESH seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, Final

from host_app.input_gate import InputGate
from host_app.prompt import TkConsentPrompt

#: The title tests and people find the window by.
TITLE: Final = "screenrelay: host"

#: What the invitation line says while hidden from the shared picture.
HIDDEN_INVITATION: Final = "Invitation hidden (Alt+I shows it)."

#: Seconds between two refreshes of the status line.
REFRESH: Final = 0.5


@dataclasses.dataclass(frozen=True, slots=True)
class HostActions:
    """What the buttons do, each run on the event loop."""

    revoke: Callable[[], None]
    toggle_pause: Callable[[], None]
    toggle_hide: Callable[[], None]
    end_session: Callable[[], None]
    #: Ask a participant to present: the text of the participant field.
    ask_to_present: Callable[[str], None]


class HostWindow:
    """The window; every Tk call goes through the prompt's Tk thread."""

    def __init__(self, prompt: TkConsentPrompt, gate: InputGate, actions: HostActions) -> None:
        self._prompt = prompt
        self._gate = gate
        self._actions = actions
        self._status: Any = None
        self._buttons: dict[str, Any] = {}

    async def open(self, invitation: str) -> None:
        loop = asyncio.get_running_loop()

        def on_loop(action: Callable[[], None]) -> Callable[..., None]:
            def run(*_event: object) -> None:  # on the Tk thread
                loop.call_soon_threadsafe(action)

            return run

        def revoke(*_event: object) -> None:  # on the Tk thread: the gate first
            self._gate.close()
            loop.call_soon_threadsafe(self._actions.revoke)

        def build(root: Any) -> None:
            import tkinter as tk

            top = tk.Toplevel(root)
            top.title(TITLE)
            top.protocol("WM_DELETE_WINDOW", lambda: None)  # ending is a button
            shown = tk.Label(top, text=invitation, justify=tk.LEFT, font=("TkFixedFont", 11))
            shown.pack(padx=14, pady=(12, 6), anchor=tk.W)

            def toggle_invitation(*_event: object) -> None:
                hidden = shown.cget("text") != invitation
                shown.configure(text=invitation if hidden else HIDDEN_INVITATION)
                self._buttons["i"].configure(
                    text="Hide invitation" if hidden else "Show invitation"
                )

            self._status = tk.Label(top, text="", justify=tk.LEFT)
            self._status.pack(padx=14, pady=(0, 8), anchor=tk.W)
            row = tk.Frame(top)
            row.pack(padx=14, pady=(0, 12))
            asked = tk.Frame(top)
            asked.pack(padx=14, pady=(0, 12), anchor=tk.W)
            tk.Label(asked, text="Participant:").pack(side=tk.LEFT)
            participant = tk.Entry(asked, width=6)
            participant.pack(side=tk.LEFT, padx=4)

            def ask(*_event: object) -> None:  # on the Tk thread
                loop.call_soon_threadsafe(self._actions.ask_to_present, participant.get())

            ask_button = tk.Button(asked, text="Ask to present", underline=0, command=ask)
            ask_button.pack(side=tk.LEFT, padx=4)
            ask_button.bind("<Return>", ask)
            participant.bind("<Return>", ask)
            top.bind("<Alt-a>", ask)
            self._buttons["a"] = ask_button
            for key, text, underline, command in (
                ("r", "Take back control", 14, revoke),
                ("p", "Pause", 0, on_loop(self._actions.toggle_pause)),
                ("h", "Hide", 0, on_loop(self._actions.toggle_hide)),
                ("e", "End session", 0, on_loop(self._actions.end_session)),
                ("i", "Hide invitation", 5, toggle_invitation),
            ):
                button = tk.Button(row, text=text, underline=underline, command=command)
                button.pack(side=tk.LEFT, padx=4)
                button.bind("<Return>", command)
                top.bind(f"<Alt-{key}>", command)
                self._buttons[key] = button

        await self._prompt.call_soon(build)

    async def show_status(self, text: str, *, paused: bool, hidden: bool) -> None:
        def update(_root: Any) -> None:
            if self._status is not None:
                self._status.configure(text=text)
                self._buttons["p"].configure(text="Resume" if paused else "Pause")
                self._buttons["h"].configure(text="Show" if hidden else "Hide")

        await self._prompt.call_soon(update)
