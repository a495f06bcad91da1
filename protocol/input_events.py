"""The plaintext of an Input message: a batch of pointer and keyboard events.

docs/protocol.md, "Remote control". A batch is ``sent_ns u64`` (the
controller's wall clock when it sent the batch), ``count u16`` (1 to
`MAX_EVENTS`), then ``count`` events, each a ``kind u8`` and its fields:

    1 pointer move   x u16, y u16
    2 button         button u8 (1 left, 2 middle, 3 right), pressed u8 (0/1), x u16, y u16
    3 scroll         dx i8, dy i8, x u16, y u16
    4 key            pressed u8 (0/1), key (u8 length, then 1..32 bytes of UTF-8)

Coordinates are pixels of the shared picture; the presenter maps them onto
what it shares and clamps them there. A key is one printable character
(exactly one code point, already in NFC, ``str.isprintable``) or one name of
`KEY_NAMES`: a key the controller can name is a key the presenter may be
asked to press, so the list is short and deliberate.

Like ``protocol.messages``: every event is a frozen, slotted dataclass
validated on construction (our own mistakes raise `LocalProtocolError`), and
`parse_batch` turns any bytes into one `InputBatch` or raises
`RemoteProtocolError`, never anything else. The encoding is canonical: what
parses re-encodes to the same bytes.

The batch travels sealed (``protocol.sframe.InputSealer``); nothing here
touches a keyboard or a mouse (pynput lives in host_app).
"""

from __future__ import annotations

import enum
import struct
import unicodedata
from dataclasses import dataclass
from typing import Final, NoReturn, TypeAlias

from protocol.codec import byte_view
from protocol.errors import LocalProtocolError, RemoteProtocolError

#: Events in one batch at most: a fast drag sends about 120 moves a second,
#: and a controller flushes several times a second, so 256 is ample while
#: bounding what one Input can make the presenter do.
MAX_EVENTS: Final = 256

#: Bytes of UTF-8 in a key field at most (a key name or one character).
MAX_KEY_BYTES: Final = 32

#: pynput.keyboard.Key member names a controller may press. Left out on
#: purpose: media keys, print_screen, pause, num_lock, scroll_lock, f13 and
#: above, alt_gr and cmd_l / cmd_r (cmd covers the command/Windows key).
KEY_NAMES: Final[frozenset[str]] = frozenset(
    {
        "alt",
        "alt_l",
        "alt_r",
        "backspace",
        "caps_lock",
        "cmd",
        "ctrl",
        "ctrl_l",
        "ctrl_r",
        "delete",
        "down",
        "end",
        "enter",
        "esc",
        *(f"f{n}" for n in range(1, 13)),
        "home",
        "insert",
        "left",
        "menu",
        "page_down",
        "page_up",
        "right",
        "shift",
        "shift_l",
        "shift_r",
        "space",
        "tab",
        "up",
    }
)

_U8: Final = struct.Struct(">B")
_BATCH_HEAD: Final = struct.Struct(">QH")
#: Each event's fields after its kind byte (the key's bytes follow _KEY_BODY).
_XY: Final = struct.Struct(">HH")
_BUTTON_BODY: Final = struct.Struct(">BBHH")
_SCROLL_BODY: Final = struct.Struct(">bbHH")
_KEY_BODY: Final = struct.Struct(">BB")

#: The largest encoded batch: MAX_EVENTS key events with the longest key.
MAX_BATCH_SIZE: Final = _BATCH_HEAD.size + MAX_EVENTS * (1 + _KEY_BODY.size + MAX_KEY_BYTES)

_U16_MAX: Final = 0xFFFF
_U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF


class EventKind(enum.IntEnum):
    """The ``kind`` byte of each event."""

    POINTER_MOVE = 1
    BUTTON = 2
    SCROLL = 3
    KEY = 4


class MouseButton(enum.IntEnum):
    """The ``button`` byte of a Button event."""

    LEFT = 1
    MIDDLE = 2
    RIGHT = 3


_BUTTONS: Final = frozenset(MouseButton)


# -- validation helpers: each raises LocalProtocolError naming the field -----


def _fail(obj: object, name: str, problem: str) -> NoReturn:
    raise LocalProtocolError(f"{type(obj).__name__}.{name} {problem}")


def _int(obj: object, name: str, low: int, high: int) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(obj, name, f"must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        _fail(obj, name, f"must be in {low}..{high}, not {value}")


def _point(obj: object) -> None:
    _int(obj, "x", 0, _U16_MAX)
    _int(obj, "y", 0, _U16_MAX)


def _bool(obj: object, name: str) -> None:
    if not isinstance(getattr(obj, name), bool):
        _fail(obj, name, f"must be a bool, not {type(getattr(obj, name)).__name__}")


def key_problem(key: object) -> str | None:
    """Why *key* is not a valid key, or None if it is one.

    Valid: a name in `KEY_NAMES`, or a single printable character in NFC.
    """
    if not isinstance(key, str):
        return f"must be a str, not {type(key).__name__}"
    if key in KEY_NAMES:
        return None
    if len(key) != 1:
        return f"must be one character or a name in KEY_NAMES, not {key!r}"
    if not key.isprintable():
        return f"must be a printable character, not U+{ord(key):04X}"
    if unicodedata.normalize("NFC", key) != key:
        return f"must be in NFC, not U+{ord(key):04X}"
    return None


# -- the events ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointerMove:
    """The pointer moved to (x, y) of the shared picture."""

    x: int
    y: int

    def __post_init__(self) -> None:
        _point(self)


@dataclass(frozen=True, slots=True)
class Button:
    """A mouse button went down (``pressed``) or up, with the pointer at (x, y)."""

    button: MouseButton
    pressed: bool
    x: int
    y: int

    def __post_init__(self) -> None:
        value = self.button
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(self, "button", f"must be a MouseButton, not {type(value).__name__}")
        try:
            object.__setattr__(self, "button", MouseButton(value))
        except ValueError:
            _fail(self, "button", f"is not a MouseButton: {value}")
        _bool(self, "pressed")
        _point(self)


@dataclass(frozen=True, slots=True)
class Scroll:
    """The wheel turned by (dx, dy) notches, with the pointer at (x, y)."""

    dx: int
    dy: int
    x: int
    y: int

    def __post_init__(self) -> None:
        _int(self, "dx", -128, 127)
        _int(self, "dy", -128, 127)
        _point(self)


@dataclass(frozen=True, slots=True)
class Key:
    """A key went down (``pressed``) or up: one character or a name of `KEY_NAMES`.

    A character given in another normal form (``"e\\u0301"``) is stored in
    NFC (``"é"``); it must then be a single printable character.
    """

    pressed: bool
    key: str

    def __post_init__(self) -> None:
        _bool(self, "pressed")
        if isinstance(self.key, str) and self.key not in KEY_NAMES:
            object.__setattr__(self, "key", unicodedata.normalize("NFC", self.key))
        problem = key_problem(self.key)
        if problem is not None:
            _fail(self, "key", problem)


#: One event of a batch.
InputEvent: TypeAlias = PointerMove | Button | Scroll | Key

_EVENT_TYPES: Final = (PointerMove, Button, Scroll, Key)


@dataclass(frozen=True, slots=True)
class InputBatch:
    """What one Input message carries: 1 to `MAX_EVENTS` events, in order.

    ``sent_ns`` is the controller's wall clock (ns) when it sent the batch,
    for latency statistics only: the presenter never trusts it for anything
    else. A list of events is stored as a tuple.
    """

    sent_ns: int
    events: tuple[InputEvent, ...]

    def __post_init__(self) -> None:
        _int(self, "sent_ns", 0, _U64_MAX)
        if isinstance(self.events, list):
            object.__setattr__(self, "events", tuple(self.events))
        if not isinstance(self.events, tuple):
            _fail(self, "events", f"must be a tuple, not {type(self.events).__name__}")
        if not 1 <= len(self.events) <= MAX_EVENTS:
            _fail(self, "events", f"must hold 1..{MAX_EVENTS} events, not {len(self.events)}")
        for index, event in enumerate(self.events):
            if not isinstance(event, _EVENT_TYPES):
                _fail(self, f"events[{index}]", f"is not an event: {type(event).__name__}")


# -- encode and parse ----------------------------------------------------------


def _encode_event(event: InputEvent) -> bytes:
    if isinstance(event, PointerMove):
        return _U8.pack(EventKind.POINTER_MOVE) + _XY.pack(event.x, event.y)
    if isinstance(event, Button):
        body = _BUTTON_BODY.pack(event.button, event.pressed, event.x, event.y)
        return _U8.pack(EventKind.BUTTON) + body
    if isinstance(event, Scroll):
        return _U8.pack(EventKind.SCROLL) + _SCROLL_BODY.pack(event.dx, event.dy, event.x, event.y)
    raw = event.key.encode("utf-8")
    return _U8.pack(EventKind.KEY) + _KEY_BODY.pack(event.pressed, len(raw)) + raw


def encode_batch(batch: InputBatch) -> bytes:
    """The plaintext bytes of *batch*, at most `MAX_BATCH_SIZE` long."""
    if not isinstance(batch, InputBatch):
        raise LocalProtocolError(f"not an InputBatch: {type(batch).__name__}")
    parts = [_BATCH_HEAD.pack(batch.sent_ns, len(batch.events))]
    parts.extend(_encode_event(event) for event in batch.events)
    return b"".join(parts)


class _Cursor:
    """Reads a batch's fields in order, checking every length before slicing."""

    __slots__ = ("_pos", "_view")

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def take(self, n: int, name: str) -> memoryview:
        left = len(self._view) - self._pos
        if n > left:
            raise RemoteProtocolError(f"{name}: needs {n} bytes, only {left} left")
        chunk = self._view[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def unpack(self, st: struct.Struct, name: str) -> tuple[int, ...]:
        values: tuple[int, ...] = st.unpack(self.take(st.size, name))
        return values

    def end(self) -> None:
        left = len(self._view) - self._pos
        if left:
            raise RemoteProtocolError(f"{left} trailing bytes after the last event")


def _flag(value: int, name: str) -> bool:
    if value > 1:
        raise RemoteProtocolError(f"{name} must be 0 or 1, not {value}")
    return value == 1


def _parse_key(cursor: _Cursor, name: str) -> str:
    (size,) = cursor.unpack(_U8, f"{name} length")
    if not 1 <= size <= MAX_KEY_BYTES:
        raise RemoteProtocolError(f"{name}: {size} bytes; a key is 1..{MAX_KEY_BYTES}")
    try:
        key = bytes(cursor.take(size, name)).decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(f"{name}: invalid UTF-8") from None
    # Checked before Key() can normalize it: only canonical bytes parse.
    problem = key_problem(key)
    if problem is not None:
        raise RemoteProtocolError(f"{name} {problem}")
    return key


def _parse_event(cursor: _Cursor, index: int) -> InputEvent:
    name = f"events[{index}]"
    (kind,) = cursor.unpack(_U8, f"{name}.kind")
    if kind == EventKind.POINTER_MOVE:
        x, y = cursor.unpack(_XY, name)
        return PointerMove(x, y)
    if kind == EventKind.BUTTON:
        button, pressed, x, y = cursor.unpack(_BUTTON_BODY, name)
        if button not in _BUTTONS:
            raise RemoteProtocolError(f"{name}.button: unknown button {button}")
        return Button(MouseButton(button), _flag(pressed, f"{name}.pressed"), x, y)
    if kind == EventKind.SCROLL:
        dx, dy, x, y = cursor.unpack(_SCROLL_BODY, name)
        return Scroll(dx, dy, x, y)
    if kind == EventKind.KEY:
        (pressed,) = cursor.unpack(_U8, f"{name}.pressed")
        return Key(_flag(pressed, f"{name}.pressed"), _parse_key(cursor, f"{name}.key"))
    raise RemoteProtocolError(f"{name}.kind: unknown event kind {kind}")


def parse_batch(data: bytes | bytearray | memoryview) -> InputBatch:
    """The batch in *data* (an opened Input's plaintext), or `RemoteProtocolError`.

    The size is checked first (at most `MAX_BATCH_SIZE`), then the count
    before any event is read, then each event's fields in order; trailing
    bytes, unknown kinds or buttons, flags other than 0/1, key fields of the
    wrong length, invalid UTF-8 and keys outside the allowlist (or not in
    NFC, so the encoding stays canonical) are all refused.
    """
    view = byte_view(data)
    if len(view) > MAX_BATCH_SIZE:
        raise RemoteProtocolError(f"{len(view)}-byte input batch; the cap is {MAX_BATCH_SIZE}")
    cursor = _Cursor(view)
    try:
        sent_ns, count = cursor.unpack(_BATCH_HEAD, "sent_ns and count")
        if not 1 <= count <= MAX_EVENTS:
            raise RemoteProtocolError(f"count must be 1..{MAX_EVENTS}, not {count}")
        events = tuple(_parse_event(cursor, index) for index in range(count))
        cursor.end()
        return InputBatch(sent_ns, events)
    except LocalProtocolError as exc:
        # A constructor refused a value the peer sent: translate, once.
        raise RemoteProtocolError(str(exc)) from exc
