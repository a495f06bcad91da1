"""Regenerate tests/golden/messages/*.bin: one example of each message type.

Run by hand, from the repository root, only when the wire format changes on
purpose (then say so in the commit)::

    PYTHONPATH=. .venv/bin/python tests/golden/make_golden.py

tests/test_messages.py checks the files both ways against ``EXAMPLES``:
parsing each file gives its example, encoding the example gives the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from protocol.errors import ErrorCode
from protocol.messages import (
    Admit,
    ControlRelease,
    ControlRequest,
    ControlState,
    CreateSession,
    EndSession,
    Error,
    Frame,
    Hello,
    Input,
    Join,
    JoinRequest,
    KeyframeRequest,
    KeyUpdate,
    MemberJoined,
    MemberLeft,
    Message,
    PakeConfirm,
    PakeReply,
    PresentAnswer,
    PresenterChanged,
    PresentRequest,
    Reject,
    RejectReason,
    SessionCreated,
    SessionEnded,
    SetPresenter,
    SignedIn,
    SignIn,
    Welcome,
    encode,
)
from protocol.wire import (
    FLAG_KEYFRAME,
    PROTOCOL_VERSION,
    ControlReason,
    Credential,
    PresentAnswerKind,
    PresenterReason,
)

#: Where the .bin files live.
GOLDEN_DIR: Final = Path(__file__).resolve().parent / "messages"

#: File stem -> the message that file holds. Values are fixed and varied
#: (non-ASCII text, every width of integer near its top) so a change to any
#: field's encoding shows up.
EXAMPLES: Final[dict[str, Message]] = {
    "hello": Hello(PROTOCOL_VERSION, "screenrelay-host 0.1.0"),
    "welcome": Welcome(
        PROTOCOL_VERSION,
        "screenrelay-relay 0.1.0",
        {"max_viewers": 8, "min_client": "0.1.0", "ids": {"random": True}, "note": "café"},
    ),
    "error": Error(ErrorCode.ADMISSION_FAILED, "Wrong session ID or password."),
    "sign_in": SignIn("alice", "correct horse battery staple"),
    "signed_in": SignedIn("alice", "organizer"),
    "create_session": CreateSession(482_913_557),
    "session_created": SessionCreated(482_913_557, 1),
    "end_session": EndSession(),
    "session_ended": SessionEnded(ErrorCode.SESSION_ENDED, "La séance est terminée."),
    "join": Join(482_913_557, Credential.PASSWORD, bytes(range(33))),
    "join_request": JoinRequest(2, Credential.LINK, bytes(range(100, 133))),
    "pake_reply": PakeReply(2, bytes(range(200, 233))),
    "pake_confirm": PakeConfirm(2, bytes.fromhex("a5" * 32)),
    "admit": Admit(2, bytes.fromhex("5a" * 32), 7, bytes(range(60))),
    "reject": Reject(3, RejectReason.LOCKED),
    "key_update": KeyUpdate(65_535, 4_294_967_295, bytes(range(60, 120))),
    "member_joined": MemberJoined(2, "203.0.113.7"),
    "member_left": MemberLeft(2),
    "frame": Frame(7, 1, 2**64 - 2, FLAG_KEYFRAME, bytes(range(40))),
    "keyframe_request": KeyframeRequest(),
    "control_request": ControlRequest(3),
    "control_state": ControlState(3, 65_537, 3, ControlReason.GRANTED),
    "input": Input(4_294_967_295, 3, 2**64 - 2, 0, bytes(range(100, 140))),
    "control_release": ControlRelease(),
    "present_request": PresentRequest(3),
    "present_answer": PresentAnswer(PresentAnswerKind.ACCEPT),
    "presenter_changed": PresenterChanged(3, 3, PresenterReason.ACCEPTED),
    "set_presenter": SetPresenter(0),
}


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name, msg in EXAMPLES.items():
        (GOLDEN_DIR / f"{name}.bin").write_bytes(encode(msg))
    print(f"wrote {len(EXAMPLES)} files to {GOLDEN_DIR}")


if __name__ == "__main__":
    main()
