"""Messages about roles: remote control (docs/protocol.md "Remote control") and presenting.

Re-exported by `protocol.messages`, whose `encode`/`parse` handle them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocol.fields import (
    MEMBER_ID_MAX,
    MIN_CIPHERTEXT,
    U16_MAX,
    U64_MAX,
    check_bytes,
    check_enum,
    check_int,
    check_member,
    fail,
)
from protocol.wire import (
    MAX_CONTROL_MESSAGE,
    ORGANIZER_MEMBER,
    SEALED_HEADER,
    ControlReason,
    PresentAnswerKind,
    PresenterReason,
    Tag,
)

#: What is left of MAX_CONTROL_MESSAGE after the sealed header: an Input is a
#: control message, so its cap is the control cap, not the frame cap.
MAX_INPUT_CIPHERTEXT: Final = MAX_CONTROL_MESSAGE - SEALED_HEADER.size

#: Grants are numbered 1, 2, ... per session; 0 in ControlState means none.
GRANT_MAX: Final = 0xFFFF_FFFF

#: ControlState reasons that end a prompt or a grant: nobody holds control
#: after them, so their ``controller`` is 0.
ENDING_REASONS: Final = frozenset(
    {
        ControlReason.DECLINED,
        ControlReason.EXPIRED,
        ControlReason.REVOKED_HOTKEY,
        ControlReason.REVOKED_WINDOW,
        ControlReason.RELEASED,
        ControlReason.CONTROLLER_LEFT,
        ControlReason.POLICY,
    }
)


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """Viewer → relay → presenter: ask for remote control.

    The relay overwrites ``member_id`` with the requester's own id.
    """

    member_id: int

    def __post_init__(self) -> None:
        check_member(self)


@dataclass(frozen=True, slots=True)
class ControlState:
    """Presenter → relay → every member: who holds control now, and why it changed.

    ``controller`` is the member holding control (0: nobody), ``grant`` the
    grant number (1, 2, ... per session; 0: none yet), ``subject`` the member
    the change concerns. Checked for consistency: a controller always holds
    a grant; GRANTED names its subject as the controller; a reason that ends
    a prompt or a grant (`ENDING_REASONS`) leaves nobody in control. REFUSED
    leaves control as it was, so it may name any controller.
    """

    controller: int
    grant: int
    subject: int
    reason: ControlReason

    def __post_init__(self) -> None:
        check_int(self, "controller", 0, MEMBER_ID_MAX)
        check_int(self, "grant", 0, GRANT_MAX)
        check_member(self, "subject")
        check_enum(self, "reason", ControlReason)
        if self.controller and not self.grant:
            fail(self, "grant", f"must be at least 1 while member {self.controller} controls")
        if self.reason is ControlReason.GRANTED and self.controller != self.subject:
            fail(self, "controller", f"must be the subject {self.subject} when GRANTED")
        if self.reason in ENDING_REASONS and self.controller:
            fail(self, "controller", f"must be 0 (nobody) when {self.reason.name}")


@dataclass(frozen=True, slots=True)
class Input:
    """Controller → relay → presenter: one sealed batch of input events.

    Sealed like a Frame (``SEALED_HEADER`` with Tag.INPUT, then the
    ciphertext) under keys derived from the controller's pairwise key; the
    grant number sits in the header's epoch field. ``flags`` is reserved and
    must be 0; the grant is at least 1. A control message: its cap is
    ``MAX_CONTROL_MESSAGE``.
    """

    grant: int
    sender: int
    counter: int
    flags: int
    ciphertext: bytes

    def __post_init__(self) -> None:
        check_int(self, "grant", 1, GRANT_MAX)
        check_member(self, "sender")
        check_int(self, "counter", 0, U64_MAX)
        check_int(self, "flags", 0, 0)
        check_bytes(self, "ciphertext", MIN_CIPHERTEXT, MAX_INPUT_CIPHERTEXT)

    def __repr__(self) -> str:
        return (
            f"Input(grant={self.grant}, sender={self.sender}, counter={self.counter}, "
            f"flags={self.flags:#04x}, ciphertext=<{len(self.ciphertext)} bytes>)"
        )

    @property
    def header(self) -> bytes:
        """The 16-byte sealed header: the AEAD's associated data after the prefix."""
        return SEALED_HEADER.pack(Tag.INPUT, self.grant, self.sender, self.counter, self.flags)


@dataclass(frozen=True, slots=True)
class ControlRelease:
    """Controller → relay → presenter: give control back."""


@dataclass(frozen=True, slots=True)
class PresentRequest:
    """Organizer → relay → participant: please share your screen (ask first)."""

    member_id: int

    def __post_init__(self) -> None:
        check_member(self)


@dataclass(frozen=True, slots=True)
class PresentAnswer:
    """Participant → relay: its own machine's answer, or that it stops presenting."""

    answer: PresentAnswerKind

    def __post_init__(self) -> None:
        check_enum(self, "answer", PresentAnswerKind)


@dataclass(frozen=True, slots=True)
class PresenterChanged:
    """Relay → everyone: who presents now (0: nobody), whom it concerns, and why."""

    presenter: int
    subject: int
    reason: PresenterReason

    def __post_init__(self) -> None:
        check_int(self, "presenter", 0, U16_MAX)
        check_member(self, "subject")
        check_enum(self, "reason", PresenterReason)


@dataclass(frozen=True, slots=True)
class SetPresenter:
    """Organizer → relay: take the role back (0), or present its own screen (1)."""

    presenter: int

    def __post_init__(self) -> None:
        check_int(self, "presenter", 0, ORGANIZER_MEMBER)
