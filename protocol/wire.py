"""Constants of the wire format shared by every module of ``protocol``.

All integers on the wire are big-endian. See docs/protocol.md for the prose.
"""

from __future__ import annotations

import enum
import struct
from typing import Final

#: Protocol revision spoken by this code; sent first in Hello.
PROTOCOL_VERSION: Final = 1

#: Prefix of every associated-data string and HKDF label, so keys and
#: ciphertexts of this protocol can never be confused with another's.
DOMAIN: Final = b"screenrelay/1"


class Tag(enum.IntEnum):
    """The first byte of every message names its type."""

    HELLO = 0x01
    WELCOME = 0x02
    ERROR = 0x03
    SIGN_IN = 0x10
    SIGNED_IN = 0x11
    CREATE_SESSION = 0x12
    SESSION_CREATED = 0x13
    END_SESSION = 0x14
    SESSION_ENDED = 0x15
    JOIN = 0x20
    JOIN_REQUEST = 0x21
    PAKE_REPLY = 0x22
    PAKE_CONFIRM = 0x23
    ADMIT = 0x24
    REJECT = 0x25
    KEY_UPDATE = 0x26
    MEMBER_JOINED = 0x27
    MEMBER_LEFT = 0x28
    FRAME = 0x30
    KEYFRAME_REQUEST = 0x31
    CONTROL_REQUEST = 0x40
    CONTROL_STATE = 0x41
    INPUT = 0x42
    CONTROL_RELEASE = 0x43
    PRESENT_REQUEST = 0x50
    PRESENT_ANSWER = 0x51
    PRESENTER_CHANGED = 0x52
    SET_PRESENTER = 0x53


class Credential(enum.IntEnum):
    """Which secret a joiner runs the PAKE with."""

    #: The session password typed by the participant.
    PASSWORD = 0
    #: The 32-byte secret from the invitation link's #fragment.
    LINK = 1


class ControlReason(enum.IntEnum):
    """Why control changed (ControlState.reason)."""

    GRANTED = 0
    DECLINED = 1
    EXPIRED = 2
    REVOKED_HOTKEY = 3
    REVOKED_WINDOW = 4
    RELEASED = 5
    CONTROLLER_LEFT = 6
    REFUSED = 7
    #: The relay ended control: its policy no longer allows remote control.
    #: Sent by the relay itself; a restriction, so clients obey it at once.
    POLICY = 8


class PresentAnswerKind(enum.IntEnum):
    """A participant's answer to being asked to present (PresentAnswer.answer)."""

    ACCEPT = 0
    DECLINE = 1
    #: The prompt went unanswered: a decline.
    EXPIRED = 2
    #: The presenting participant stops.
    STOP = 3


class PresenterReason(enum.IntEnum):
    """Why the presenter changed, or did not (PresenterChanged.reason)."""

    ACCEPTED = 0
    DECLINED = 1
    EXPIRED = 2
    #: The organizer took the role back (no consent needed: MISSION rule 5).
    TAKEN_BACK = 3
    #: The organizer presents its own screen, after confirming on its machine.
    ORGANIZER = 4
    STOPPED = 5
    LEFT = 6
    #: The relay's policy does not let participants present (any more): the
    #: role went back to nobody, or an acceptance was refused.
    POLICY = 7


#: Header of a sealed message (Frame or Input): tag u8, epoch u32, sender u16,
#: counter u64, flags u8. It is the AEAD's associated data, prefixed by
#: DOMAIN and the session ID.
SEALED_HEADER: Final = struct.Struct(">BIHQB")

#: Bit of the sealed header's flags: this frame is a key frame (full picture).
FLAG_KEYFRAME: Final = 0x01

#: Cap on any message that is not a Frame. Control messages are small; a
#: larger one is an attack or a bug, refused before it is parsed.
MAX_CONTROL_MESSAGE: Final = 64 * 1024

#: Cap on a Frame message: a raw, incompressible 4K BGRA picture (33 MB)
#: plus headers fits; nothing larger is buffered.
MAX_FRAME_MESSAGE: Final = 40 * 1024 * 1024

#: Cap on any string field in bytes of UTF-8 (names, versions, texts).
MAX_TEXT: Final = 1024

#: Cap on a PAKE message or wrapped key field.
MAX_BLOB: Final = 4096

#: Session IDs are 9 decimal digits, never starting with 0.
SESSION_ID_MIN: Final = 100_000_000
SESSION_ID_MAX: Final = 999_999_999

#: Member id of the organizer in every session; joiners get 2, 3, ...
ORGANIZER_MEMBER: Final = 1
