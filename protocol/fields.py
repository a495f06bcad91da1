"""Field checks shared by the message modules: each raises LocalProtocolError naming the field.

A message's ``__post_init__`` calls these; `protocol.messages.parse` turns
their LocalProtocolError into a RemoteProtocolError when the bytes were a peer's.
"""

from __future__ import annotations

import enum
from typing import Final, NoReturn

from protocol.errors import LocalProtocolError
from protocol.wire import MAX_BLOB, MAX_TEXT, ORGANIZER_MEMBER, SESSION_ID_MAX, SESSION_ID_MIN

#: Member ids: the organizer is 1, joiners 2, 3, ...; 0 names nobody.
MEMBER_ID_MIN: Final = ORGANIZER_MEMBER
MEMBER_ID_MAX: Final = 0xFFFF

#: A sealed message's ciphertext is at least the 16-byte GCM tag (empty plaintext).
MIN_CIPHERTEXT: Final = 16

U8_MAX: Final = 0xFF
U16_MAX: Final = 0xFFFF
U32_MAX: Final = 0xFFFF_FFFF
U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF


def fail(msg: object, name: str, problem: str) -> NoReturn:
    raise LocalProtocolError(f"{type(msg).__name__}.{name} {problem}")


def check_int(msg: object, name: str, low: int, high: int) -> None:
    value = getattr(msg, name)
    if isinstance(value, bool) or not isinstance(value, int):
        fail(msg, name, f"must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        fail(msg, name, f"must be in {low}..{high}, not {value}")


def check_member(msg: object, name: str = "member_id") -> None:
    check_int(msg, name, MEMBER_ID_MIN, MEMBER_ID_MAX)


def check_session(msg: object, name: str = "session_id") -> None:
    check_int(msg, name, SESSION_ID_MIN, SESSION_ID_MAX)


def check_enum(msg: object, name: str, kind: type[enum.IntEnum]) -> None:
    """Check an enum field and store it as a member of *kind*."""
    value = getattr(msg, name)
    if isinstance(value, bool) or not isinstance(value, int):
        fail(msg, name, f"must be a {kind.__name__}, not {type(value).__name__}")
    try:
        member = kind(value)
    except ValueError:
        fail(msg, name, f"is not a {kind.__name__}: {value}")
    object.__setattr__(msg, name, member)


def check_text(msg: object, name: str) -> None:
    value = getattr(msg, name)
    if not isinstance(value, str):
        fail(msg, name, f"must be a str, not {type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        fail(msg, name, "is not encodable as UTF-8")
    if size > MAX_TEXT:
        fail(msg, name, f"is {size} bytes of UTF-8; the cap is {MAX_TEXT}")


def check_bytes(msg: object, name: str, low: int, high: int) -> None:
    value = getattr(msg, name)
    if not isinstance(value, bytes):
        fail(msg, name, f"must be bytes, not {type(value).__name__}")
    if not low <= len(value) <= high:
        fail(msg, name, f"must be {low}..{high} bytes long, not {len(value)}")


def check_blob(msg: object, name: str) -> None:
    check_bytes(msg, name, 0, MAX_BLOB)
