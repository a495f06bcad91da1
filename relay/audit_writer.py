"""Moves audit records from the event loop to SQLite without blocking it.

Records wait in a bounded in-memory stream; one task writes them in a worker
thread. If the stream is ever full, the record is written at once on the
calling thread instead: slower, never lost.
"""

from __future__ import annotations

import logging
from typing import Final

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from relay.sessions import AuditRecord
from relay.store import AuditEvent, Store

#: Audit records waiting for the writer. Each is a few hundred bytes; a burst
#: of 10 000 events is more than a busy relay makes in a second.
MAX_PENDING: Final = 10_000

log = logging.getLogger("screenrelay.audit")


def to_event(record: AuditRecord) -> AuditEvent:
    return AuditEvent(
        at=record.at,
        actor=record.actor,
        address=record.address,
        action=record.action,
        session_id=record.session_id,
        detail=record.detail,
    )


class AuditWriter:
    """Queue audit records from sync code; a background task stores them."""

    def __init__(self, store: Store, limiter: anyio.CapacityLimiter) -> None:
        self._store = store
        self._limiter = limiter
        send, receive = anyio.create_memory_object_stream[AuditRecord](MAX_PENDING)
        self._send: MemoryObjectSendStream[AuditRecord] = send
        self._receive: MemoryObjectReceiveStream[AuditRecord] = receive
        self.written = 0
        self.refused = 0

    def record(self, record: AuditRecord) -> None:
        """Queue a record (sync, never blocks the loop unless the queue is full)."""
        try:
            self._send.send_nowait(record)
        except anyio.WouldBlock:
            log.warning("audit queue full; writing synchronously")
            self._write(record)

    async def run(self) -> None:
        """Write records as they come; on cancellation, write what is left."""
        try:
            async for record in self._receive:
                await anyio.to_thread.run_sync(self._write, record, limiter=self._limiter)
        finally:
            self.flush()

    def flush(self) -> None:
        """Write every queued record now (shutdown)."""
        while True:
            try:
                record = self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            self._write(record)

    def _write(self, record: AuditRecord) -> None:
        try:
            self._store.append_audit(to_event(record))
        except (TypeError, ValueError) as exc:
            # A record our own code built badly: keep the writer alive, say so.
            log.error("audit record %s refused: %s", record.action, exc)
            self.refused += 1
        else:
            self.written += 1
