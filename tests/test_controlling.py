"""The organizer's side of controlling a presenting participant, with a recording connection."""

from __future__ import annotations

import io
import json
from typing import Any, cast

import anyio

from host_app.controlling import ParticipantControl
from host_app.remote_control import OrganizerKey, requester_name
from protocol import messages
from protocol.sframe import InputOpener
from protocol.wire import ControlReason, Tag
from tests.test_organizer import PASSWORD, SESSION, attempt, organizer
from viewer_app.events import EventSink
from viewer_app.transport import RelayConnection


class Wire:
    """Records what would go to the relay."""

    def __init__(self) -> None:
        self.messages: list[messages.Message] = []
        self.sealed: list[bytes] = []
        #: What Welcome said (nothing forbidden).
        self.policy: dict[str, object] = {}

    async def send(self, message: messages.Message) -> None:
        self.messages.append(message)

    async def send_bytes(self, data: bytes) -> None:
        self.sealed.append(bytes(data))


def setup() -> tuple[ParticipantControl, Wire, io.StringIO, bytes]:
    org = organizer()
    admitted, _joiner = attempt(org, 2, PASSWORD)
    assert isinstance(admitted, messages.Admit)
    pairwise = org.pairwise(2)
    assert pairwise is not None
    wire, out = Wire(), io.StringIO()
    control = ParticipantControl(
        cast(RelayConnection, wire), org, EventSink(json_mode=True, out=out)
    )
    return control, wire, out, pairwise


def events(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_organizers_key_opens_only_the_organizers_input() -> None:
    key = OrganizerKey(b"k" * 32)
    assert key.members == [1]
    assert key.pairwise(1) == b"k" * 32 and key.pairwise(2) is None
    assert requester_name(1) == "The organizer" and requester_name(3) == "Participant 3"


def test_nothing_to_control_unless_a_participant_presents() -> None:
    control, wire, out, _pairwise = setup()

    async def main() -> None:
        control.presenter_changed(1)  # the organizer itself
        await control.request()
        control.presenter_changed(9)  # not admitted: no key, no client
        await control.request()

    anyio.run(main)
    assert wire.messages == []
    assert [e["message"] for e in events(out)] == [
        "no participant presents: there is nobody to control"
    ] * 2


def test_input_is_sent_only_while_granted_and_sealed_under_the_pairwise_key() -> None:
    control, wire, out, pairwise = setup()
    line = '{"cmd": "click", "x": 5, "y": 6}'

    async def main() -> None:
        control.presenter_changed(2)
        await control.request()
        await control.command(line)  # not granted yet
        control.on_state(messages.ControlState(1, 1, 1, ControlReason.GRANTED))
        await control.command(line)
        await control.command('{"cmd": "leave"}')  # not input
        control.presenter_changed(0)  # the role was taken back: the grant is gone
        await control.command(line)

    anyio.run(main)
    assert wire.messages == [messages.ControlRequest(1)]
    assert len(wire.sealed) == 1
    header = messages.parse_sealed_header(wire.sealed[0], Tag.INPUT)
    assert (header.sender, header.epoch) == (1, 1)
    opener = InputOpener(SESSION, pairwise, 1)
    opener.open(wire.sealed[0])  # opens under the organizer–participant key
    errors = [e["message"] for e in events(out) if e["event"] == "command_error"]
    assert errors == [
        "not in control",
        "'input' takes a move, click, scroll, key or type command",
        "not in control",
    ]
