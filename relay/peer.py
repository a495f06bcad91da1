"""One WebSocket connection as the relay's domain sees it: an address and an outbox.

The domain never awaits: it queues messages and asks for a close. The
endpoint's sender task drains the outbox and carries out the close, no earlier
than ``not_before`` (so every failed admission is answered after the same
delay, whatever the reason).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from protocol import messages
from protocol.errors import DEFAULT_TEXT, ErrorCode
from relay.outbox import ControlOverflow, Outbox


@dataclasses.dataclass(frozen=True, slots=True)
class CloseRequest:
    """The domain's wish to end a connection after its last message."""

    #: Error code sent before closing, or None for a clean close.
    code: ErrorCode | None
    #: The sentence sent with the code.
    text: str
    #: Monotonic time before which the final message must not be sent.
    not_before: float


class Peer:
    """A connected client: where the domain sends messages to it."""

    def __init__(self, address: str, wake: Callable[[], None]) -> None:
        #: Client address (for rate limits and audit metadata).
        self.address = address
        self._wake = wake
        self.outbox = Outbox(wake)
        #: Set once the domain wants this connection closed.
        self.close_request: CloseRequest | None = None

    def send(self, message: messages.Message) -> None:
        """Queue a control message; a peer too slow to take it is closed."""
        self.send_bytes(messages.encode(message))

    def send_bytes(self, data: bytes) -> None:
        """Queue already encoded control bytes (never dropped)."""
        if self.close_request is not None:
            return
        try:
            self.outbox.put_control(data)
        except ControlOverflow:
            self.close(ErrorCode.SLOW_CONSUMER)

    def close(
        self, code: ErrorCode | None, text: str | None = None, *, not_before: float = 0.0
    ) -> None:
        """Ask the endpoint to send ``code`` (if any) and close. First call wins."""
        if self.close_request is None:
            words = text if text is not None else DEFAULT_TEXT.get(code, "") if code else ""
            self.close_request = CloseRequest(code, words, not_before)
            self._wake()
