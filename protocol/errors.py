"""The one exception tree of screenrelay.

    ScreenrelayError
    ├── LocalProtocolError    we misused the protocol (a bug on this side)
    └── RemoteProtocolError   the peer sent something we refuse; carries the
        │                     ErrorCode and sentence to answer with
        ├── DecryptError      authentication failed: wrong key, forged or
        │                     corrupted ciphertext
        └── ReplayError       a counter or epoch at or below one already seen

Every error the peer can cause is a RemoteProtocolError: any bytes given to a
parser either produce a message or raise one, never another exception.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """Codes sent in an Error message; each has a fixed human sentence."""

    #: The bytes did not parse as a message of this protocol.
    BAD_MESSAGE = 1
    #: A message was larger than its cap.
    MESSAGE_TOO_LARGE = 2
    #: The client's version is not allowed by the relay's policy.
    VERSION_REFUSED = 3
    #: User name or password wrong, or the account is disabled.
    SIGN_IN_FAILED = 4
    #: The action is not allowed for this role or by policy.
    NOT_ALLOWED = 5
    #: Unknown session ID or wrong password: deliberately one code.
    ADMISSION_FAILED = 6
    #: Too many attempts from this address or at this session.
    RATE_LIMITED = 7
    #: The session ended (organizer ended it, or the relay forgot it).
    SESSION_ENDED = 8
    #: The relay failed; nothing the client did.
    INTERNAL = 9
    #: The requested session ID is in use.
    ID_TAKEN = 10
    #: The peer did not read its messages fast enough to keep up.
    SLOW_CONSUMER = 11
    #: A message arrived in a state where it is not allowed.
    UNEXPECTED = 12


#: The sentence each code carries unless a more precise one is given.
DEFAULT_TEXT: dict[ErrorCode, str] = {
    ErrorCode.BAD_MESSAGE: "The message could not be understood.",
    ErrorCode.MESSAGE_TOO_LARGE: "The message is larger than allowed.",
    ErrorCode.VERSION_REFUSED: "This client version is not allowed on this relay.",
    ErrorCode.SIGN_IN_FAILED: "Wrong user name or password.",
    ErrorCode.NOT_ALLOWED: "That action is not allowed.",
    ErrorCode.ADMISSION_FAILED: "Wrong session ID or password.",
    ErrorCode.RATE_LIMITED: "Too many attempts; wait a minute and try again.",
    ErrorCode.SESSION_ENDED: "The session has ended.",
    ErrorCode.INTERNAL: "The relay had an internal error.",
    ErrorCode.ID_TAKEN: "That session ID is already in use.",
    ErrorCode.SLOW_CONSUMER: "The connection was too slow to keep up.",
    ErrorCode.UNEXPECTED: "That message was not expected now.",
}


class ScreenrelayError(Exception):
    """Root of every error screenrelay raises on purpose."""


class LocalProtocolError(ScreenrelayError):
    """This side tried something the protocol forbids: a bug here, not there."""


class RemoteProtocolError(ScreenrelayError):
    """The peer sent something we refuse.

    ``code`` and ``text`` are what to answer with in an Error message.
    """

    def __init__(self, text: str, code: ErrorCode = ErrorCode.BAD_MESSAGE) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class DecryptError(RemoteProtocolError):
    """Authenticated decryption failed: wrong key, forged or corrupted bytes."""

    def __init__(self, text: str = "decryption failed") -> None:
        super().__init__(text, ErrorCode.BAD_MESSAGE)


class ReplayError(RemoteProtocolError):
    """A counter or epoch at or below one already accepted."""

    def __init__(self, text: str = "replayed or stale message") -> None:
        super().__init__(text, ErrorCode.BAD_MESSAGE)
