"""The organizer controlling a presenting participant's screen (MISSION.md rule 7).

Rules:
  1. Only while a participant presents, and only with that participant's own
     consent, asked on its machine: here the organizer can only ask
     (``control`` on the terminal), send input while granted, and give
     control back (``release``).
  2. Input is sealed under the pairwise key the organizer shares with that
     participant since its admission (docs/protocol.md "Remote control"), so
     neither the relay nor any other participant can forge or read it.
  3. A new presenter means a new key and no grant: the client for the old
     one is dropped at once.

Input is typed as ``input`` followed by a scripted command of
viewer_app/commands.py, e.g. ``input {"cmd": "click", "x": 10, "y": 20}``.
"""

from __future__ import annotations

from host_app.organizer import Organizer
from protocol import messages
from protocol.wire import ORGANIZER_MEMBER
from viewer_app.commands import CommandError, parse_command
from viewer_app.control import ControlClient
from viewer_app.events import EventSink
from viewer_app.transport import RelayConnection


class ParticipantControl:
    """Remote control of the presenting participant, from the organizer's machine."""

    def __init__(self, conn: RelayConnection, organizer: Organizer, events: EventSink) -> None:
        self._conn = conn
        self._organizer = organizer
        self._events = events
        #: The participant who presents now (0: none; the organizer does not count).
        self.presenter = 0
        self._client: ControlClient | None = None

    @property
    def client(self) -> ControlClient | None:
        """The control client for the presenting participant, if one presents."""
        return self._client

    def presenter_changed(self, presenter: int) -> None:
        """Follow who presents; a grant never outlives its presenter (rule 3)."""
        participant = presenter if presenter > ORGANIZER_MEMBER else 0
        if participant == self.presenter:
            return
        self.presenter = participant
        self._client = None
        pairwise = self._organizer.pairwise(participant) if participant else None
        if pairwise is not None:
            self._client = ControlClient(
                self._conn, self._organizer.session_id, ORGANIZER_MEMBER, pairwise, self._events
            )

    def on_state(self, state: messages.ControlState) -> None:
        """The presenting participant announced a change of control."""
        if self._client is not None:
            self._client.on_state(state)

    async def request(self) -> None:
        """``control``: ask the presenting participant for control."""
        if self._client is None:
            self._error("no participant presents: there is nobody to control")
            return
        await self._client.request()

    async def release(self) -> None:
        """``release``: give control back."""
        if self._client is not None:
            await self._client.release()

    async def command(self, line: str) -> None:
        """``input <command>``: send the input a scripted command describes."""
        try:
            action = parse_command(line)
        except CommandError as exc:
            self._error(str(exc))
            return
        if action is None or action.kind != "input":
            self._error("'input' takes a move, click, scroll, key or type command")
            return
        if self._client is None or not await self._client.send(action.events):
            self._error("not in control")

    def _error(self, message: str) -> None:
        self._events.emit("command_error", f"screenrelay: {message}", message=message)
