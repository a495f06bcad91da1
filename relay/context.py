"""What every connection of one relay process shares."""

from __future__ import annotations

import time
from typing import Any

import anyio

from protocol.version import parse_version
from relay.accounts import SignInThrottle, verify_password
from relay.audit_writer import AuditWriter
from relay.config import RelayConfig
from relay.sessions import AuditRecord, Directory
from relay.store import Account, DetailValue, Store


class RelayContext:
    """The directory, the store and the limits of one relay process."""

    def __init__(
        self, config: RelayConfig, store: Store, *, metrics_token: bytes | None = None
    ) -> None:
        self.config = config
        #: What a scraper of /metrics must show (relay/metrics.py); None: nobody may.
        self.metrics_token = metrics_token
        #: Open WebSocket connections (for /metrics).
        self.connections = 0
        self.store = store
        min_version = parse_version(config.min_client_version)
        if min_version is None:
            raise ValueError(f"min_client_version {config.min_client_version!r} is not x.y.z")
        self.min_client_version = min_version
        #: One thread at a time touches SQLite.
        self.db_limiter = anyio.CapacityLimiter(1)
        self.audit = AuditWriter(store, self.db_limiter)
        self.directory = Directory(config.directory, self.audit.record)
        self.throttle = SignInThrottle()

    def audit_record(
        self, action: str, actor: str | None, address: str | None, **detail: DetailValue
    ) -> None:
        self.audit.record(AuditRecord(time.time(), action, actor, address, None, detail))

    async def verify_account(self, name: str, password: str) -> Account | None:
        """The enabled account with this name and password, else None (same cost either way)."""

        def check() -> Account | None:
            account = self.store.get_account(name)
            # verify_password(None, ...) costs the same as a real check, so an
            # unknown name cannot be told from a wrong password by timing.
            ok = verify_password(account.password_hash if account else None, password)
            return account if ok and account is not None and not account.disabled else None

        return await anyio.to_thread.run_sync(check, limiter=self.db_limiter)

    def policy_document(self) -> dict[str, Any]:
        """The policy every client is told on connecting (issue 6 extends it)."""
        return {
            "min_client_version": self.config.min_client_version,
            "max_participants": self.config.directory.max_participants,
            "remote_control": self.config.directory.remote_control,
            "participants_present": False,
        }
