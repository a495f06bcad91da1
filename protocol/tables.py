"""The one lookup every transition table of protocol/ uses (h11 style)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from protocol.errors import LocalProtocolError

_S = TypeVar("_S", bound=enum.Enum)
_E = TypeVar("_E", bound=enum.Enum)


def transition(table: Mapping[tuple[_S, _E], _S], state: _S, event: _E) -> _S:
    """The state *event* leads to from *state*, or LocalProtocolError naming both."""
    try:
        return table[(state, event)]
    except KeyError:
        raise LocalProtocolError(
            f"event {event.name} is not allowed in state {state.name}"
        ) from None
