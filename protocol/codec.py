"""Field readers and writers for the message codec in ``protocol.messages``.

The field types are those of docs/protocol.md: ``u8 u16 u32 u64`` (big-endian),
``str`` (u16 length, UTF-8, at most ``MAX_TEXT`` bytes), ``blob`` (u16 length,
at most ``MAX_BLOB`` bytes), ``json`` (u32 length, UTF-8 JSON object, at most
``MAX_JSON`` bytes) and ``rest`` (every byte to the end of the message).

A `Reader` trusts nothing: every length is checked against both its cap and
the bytes actually left before anything is sliced, and each failure raises
`RemoteProtocolError` naming the field. A `Writer` is only ever given values
that a message's constructor has already validated; when one is out of range
anyway it raises `LocalProtocolError`, since that is a bug on this side.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any, Final, NoReturn

from protocol.errors import LocalProtocolError, RemoteProtocolError
from protocol.wire import MAX_BLOB, MAX_TEXT

#: Cap on a json field in bytes (docs/protocol.md: "at most 60 KiB"). Leaves
#: room for the rest of a Welcome inside MAX_CONTROL_MESSAGE (64 KiB).
MAX_JSON: Final = 60 * 1024

_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")


class Kind(enum.Enum):
    """The field types of the wire format, as named in docs/protocol.md."""

    U8 = "u8"
    U16 = "u16"
    U32 = "u32"
    U64 = "u64"
    STR = "str"
    BLOB = "blob"
    JSON = "json"
    REST = "rest"


#: The struct of each integer kind.
_INT_STRUCTS: Final = {Kind.U8: _U8, Kind.U16: _U16, Kind.U32: _U32, Kind.U64: _U64}

#: Largest encoded size of each bounded kind, prefix included; used to prove
#: that no control message can exceed its cap.
MAX_ENCODED_SIZE: Final = {
    Kind.U8: 1,
    Kind.U16: 2,
    Kind.U32: 4,
    Kind.U64: 8,
    Kind.STR: 2 + MAX_TEXT,
    Kind.BLOB: 2 + MAX_BLOB,
    Kind.JSON: 4 + MAX_JSON,
}


def byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """A flat unsigned-byte view of *data*, without copying it."""
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def dump_json(value: object) -> bytes:
    """The canonical encoding of a JSON object: sorted keys, no spaces, ASCII.

    Raises `LocalProtocolError` unless *value* is a dict that survives a round
    trip unchanged (so no tuples, non-string keys, NaN, or objects) and fits
    in ``MAX_JSON`` bytes.
    """
    if not isinstance(value, dict):
        raise LocalProtocolError(f"JSON value must be an object, not {type(value).__name__}")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        same = json.loads(text) == value
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalProtocolError(f"value is not encodable as JSON: {exc}") from None
    if not same:
        raise LocalProtocolError("value changes in a JSON round trip (tuple or non-str key?)")
    encoded = text.encode("ascii")
    if len(encoded) > MAX_JSON:
        raise LocalProtocolError(f"JSON is {len(encoded)} bytes; the cap is {MAX_JSON}")
    return encoded


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return result


def load_json(data: bytes | memoryview) -> dict[str, Any]:
    """Parse peer bytes as one JSON object, raising `RemoteProtocolError`.

    Refuses invalid UTF-8, NaN and Infinity, duplicate keys, nesting deep
    enough to exhaust the interpreter's recursion limit, and any top-level
    value that is not an object.
    """
    try:
        text = bytes(data).decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_object)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and int limits.
        raise RemoteProtocolError(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"JSON must be an object, not {type(value).__name__}")
    return value


class Reader:
    """Reads fields in order from a message, checking every length first."""

    __slots__ = ("_pos", "_view")

    def __init__(self, data: bytes | bytearray | memoryview, start: int = 0) -> None:
        self._view = byte_view(data)
        self._pos = start

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self._view) - self._pos

    def _take(self, n: int, name: str) -> memoryview:
        if n > self.remaining:
            raise RemoteProtocolError(
                f"{name}: needs {n} bytes, only {max(self.remaining, 0)} left"
            )
        chunk = self._view[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def _int(self, st: struct.Struct, name: str) -> int:
        value: int = st.unpack(self._take(st.size, name))[0]
        return value

    def u8(self, name: str) -> int:
        return self._int(_U8, name)

    def u16(self, name: str) -> int:
        return self._int(_U16, name)

    def u32(self, name: str) -> int:
        return self._int(_U32, name)

    def u64(self, name: str) -> int:
        return self._int(_U64, name)

    def text(self, name: str) -> str:
        n = self.u16(name)
        if n > MAX_TEXT:
            raise RemoteProtocolError(f"{name}: {n} bytes of text; the cap is {MAX_TEXT}")
        raw = self._take(n, name)
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise RemoteProtocolError(f"{name}: invalid UTF-8") from None

    def blob(self, name: str) -> bytes:
        n = self.u16(name)
        if n > MAX_BLOB:
            raise RemoteProtocolError(f"{name}: {n} bytes; the cap is {MAX_BLOB}")
        return bytes(self._take(n, name))

    def json(self, name: str) -> dict[str, Any]:
        n = self.u32(name)
        if n > MAX_JSON:
            raise RemoteProtocolError(f"{name}: {n} bytes of JSON; the cap is {MAX_JSON}")
        try:
            return load_json(self._take(n, name))
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(f"{name}: {exc.text}") from None

    def rest(self, name: str) -> bytes:
        """Every remaining byte, copied once into a new ``bytes``."""
        return bytes(self._take(self.remaining, name))

    def read(self, kind: Kind, name: str) -> Any:
        """Read one field of the given kind."""
        st = _INT_STRUCTS.get(kind)
        if st is not None:
            return self._int(st, name)
        if kind is Kind.STR:
            return self.text(name)
        if kind is Kind.BLOB:
            return self.blob(name)
        if kind is Kind.JSON:
            return self.json(name)
        return self.rest(name)

    def end(self) -> None:
        """Refuse trailing bytes after the last field."""
        if self.remaining:
            raise RemoteProtocolError(f"{self.remaining} trailing bytes after the last field")


class Writer:
    """Builds one message: a tag byte, then fields appended in order."""

    __slots__ = ("_buf",)

    def __init__(self, tag: int) -> None:
        self._buf = bytearray(_U8.pack(tag))

    def _int(self, st: struct.Struct, value: int) -> None:
        try:
            self._buf += st.pack(value)
        except struct.error:
            raise LocalProtocolError(f"{value!r} does not fit in {st.size} bytes") from None

    def u8(self, value: int) -> None:
        self._int(_U8, value)

    def u16(self, value: int) -> None:
        self._int(_U16, value)

    def u32(self, value: int) -> None:
        self._int(_U32, value)

    def u64(self, value: int) -> None:
        self._int(_U64, value)

    def text(self, value: str) -> None:
        raw = value.encode("utf-8")
        if len(raw) > MAX_TEXT:
            raise LocalProtocolError(f"{len(raw)} bytes of text; the cap is {MAX_TEXT}")
        self.u16(len(raw))
        self._buf += raw

    def blob(self, value: bytes) -> None:
        if len(value) > MAX_BLOB:
            raise LocalProtocolError(f"{len(value)}-byte blob; the cap is {MAX_BLOB}")
        self.u16(len(value))
        self._buf += value

    def json(self, value: object) -> None:
        raw = dump_json(value)
        self.u32(len(raw))
        self._buf += raw

    def rest(self, value: bytes) -> None:
        self._buf += value

    def write(self, kind: Kind, value: Any) -> None:
        """Append one field of the given kind."""
        st = _INT_STRUCTS.get(kind)
        if st is not None:
            self._int(st, value)
        elif kind is Kind.STR:
            self.text(value)
        elif kind is Kind.BLOB:
            self.blob(value)
        elif kind is Kind.JSON:
            self.json(value)
        else:
            self.rest(value)

    def getvalue(self) -> bytes:
        return bytes(self._buf)
