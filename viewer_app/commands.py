"""Scripted commands for a viewer: one JSON object per line of stdin.

    {"cmd": "request_control"}              ask the presenter for control
    {"cmd": "release_control"}              give it back
    {"cmd": "move", "x": 10, "y": 20}       pointer to (x, y) of the shared picture
    {"cmd": "click", "x": 10, "y": 20, "button": 1}   press and release (1 left, 2 middle, 3 right)
    {"cmd": "scroll", "x": 10, "y": 20, "dy": -1}     wheel, in clicks (dy > 0 up, dx > 0 right)
    {"cmd": "key", "key": "enter"}          press and release one key (a character or a key name)
    {"cmd": "type", "text": "hello"}        press and release each character
    {"cmd": "accept_present"}               say yes to the organizer's request to present
    {"cmd": "decline_present"}              say no to it
    {"cmd": "accept_control"}               while presenting: let the organizer control this screen
    {"cmd": "decline_control"}              say no to it
    {"cmd": "stop_presenting"}              stop sharing this screen
    {"cmd": "pause"} / "resume" / "hide" / "show"    while presenting
    {"cmd": "leave"}                        leave the session

Bad lines are reported as ``command_error`` events and otherwise ignored.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final, Literal

from protocol.errors import LocalProtocolError
from protocol.input_events import Button, InputEvent, Key, MouseButton, PointerMove, Scroll


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """What a command line asks the viewer to do."""

    kind: Literal[
        "request_control",
        "release_control",
        "input",
        "leave",
        "accept_present",
        "decline_present",
        "accept_control",
        "decline_control",
        "stop_presenting",
        "pause",
        "resume",
        "hide",
        "show",
    ]
    events: tuple[InputEvent, ...] = ()


#: Commands that take no arguments.
SIMPLE: Final = (
    "request_control",
    "release_control",
    "leave",
    "accept_present",
    "decline_present",
    "accept_control",
    "decline_control",
    "stop_presenting",
    "pause",
    "resume",
    "hide",
    "show",
)


class CommandError(ValueError):
    """A command line that cannot be carried out; the text says why."""


def _int(obj: dict[str, Any], name: str, default: int | None = None) -> int:
    value = obj.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CommandError(f"{name!r} must be a whole number")
    return value


def _events(cmd: str, obj: dict[str, Any]) -> tuple[InputEvent, ...]:
    if cmd == "move":
        return (PointerMove(_int(obj, "x"), _int(obj, "y")),)
    if cmd == "click":
        x, y, number = _int(obj, "x"), _int(obj, "y"), _int(obj, "button", 1)
        try:
            button = MouseButton(number)
        except ValueError:
            raise CommandError("'button' must be 1 (left), 2 (middle) or 3 (right)") from None
        return (PointerMove(x, y), Button(button, True, x, y), Button(button, False, x, y))
    if cmd == "scroll":
        x, y = _int(obj, "x"), _int(obj, "y")
        return (Scroll(_int(obj, "dx", 0), _int(obj, "dy", 0), x, y),)
    if cmd == "key":
        key = obj.get("key")
        if not isinstance(key, str):
            raise CommandError("'key' must be a string")
        return (Key(True, key), Key(False, key))
    if cmd == "type":
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            raise CommandError("'text' must be a non-empty string")
        return tuple(e for ch in text for e in (Key(True, ch), Key(False, ch)))
    raise CommandError(f"unknown command {cmd!r}")


def parse_command(line: str) -> Action | None:
    """The action a line asks for; None for a blank line; CommandError if bad."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CommandError(f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
        raise CommandError('a command is an object with a "cmd" string')
    cmd = obj["cmd"]
    if cmd in SIMPLE:
        return Action(cmd)
    try:
        return Action("input", _events(cmd, obj))
    except LocalProtocolError as exc:  # the event itself refused a value
        raise CommandError(str(exc)) from None
