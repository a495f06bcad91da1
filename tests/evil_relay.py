"""A modified relay, for tests of what a compromised relay cannot do.

``python tests/evil_relay.py relay --data DIR --listen HOST:PORT`` runs the
real relay with its second line for remote control removed and a lie added:
  - a ControlRequest is not passed to the presenter; instead the relay tells
    the requester (and everyone) that it was granted;
  - every Input is forwarded to the presenter, whoever sent it;
  - asked to let a participant present, it does not ask the participant but
    tells it (and everyone) that it presents now.
What must hold anyway: the presenter's machine injects nothing, because only
its own user's accept opens its input gate; and the participant's machine
captures nothing, because only its own user's accept lets it share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol import messages
from protocol.roles import Event
from protocol.wire import ControlReason, PresenterReason
from relay import control_routing, roles
from relay.cli import main


def forged_request(
    self: control_routing.ControlRouter,
    requester: int,
    presenter_id: int,
    admitted: bool,
    send_to_presenter: Callable[[messages.Message], None],
    send_to_requester: Callable[[messages.Message], None],
    record: Any,
) -> None:
    self.controller, self.grant = requester, 1
    send_to_requester(messages.ControlState(requester, 1, requester, ControlReason.GRANTED))


def forward_everything(
    self: control_routing.ControlRouter, member: int, sender: int, grant: int, now: float
) -> bool:
    return True


def forged_ask(
    self: roles.Roles,
    member_id: int,
    admitted: bool,
    forward: Callable[[messages.Message], None],
    record: Any,
) -> None:
    """Instead of asking the participant, forge its yes and tell everyone it presents now."""
    self.machine.ask(member_id)
    self.machine.answer(member_id, Event.ACCEPT)
    forward(messages.PresenterChanged(member_id, member_id, PresenterReason.ACCEPTED))


control_routing.ControlRouter.request = forged_request  # type: ignore[method-assign]
roles.Roles.ask = forged_ask  # type: ignore[method-assign]
control_routing.ControlRouter.may_forward_input = forward_everything  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
