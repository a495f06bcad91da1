"""What every connection of one relay process shares.

The policy in force is read from the store at start and again whenever its
revision changes (``refresh_policy``, every tick: one cheap query), so a
``screenrelay admin policy set`` reaches a running relay within a second.
Likewise, while sessions are live, the disabled accounts are read every tick
(``end_disabled_organizers``): disabling an organizer, from the command line
or the console, ends its running sessions within a second.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

import anyio

from protocol.version import parse_version
from relay.accounts import SignInThrottle, verify_password
from relay.audit_writer import AuditWriter
from relay.config import RelayConfig
from relay.policy import Policy, PolicyError, parse_policy
from relay.sessions import AuditRecord, Directory
from relay.store import Account, DetailValue, Store

#: Seconds between two prunings of the audit trail (the policy's retention).
PRUNE_INTERVAL: Final = 24 * 3600.0
#: What everyone in a session sees when its organizer's account was disabled.
ACCOUNT_DISABLED: Final = (
    "An administrator of this relay disabled the organizer's account, so the session ended."
)

log = logging.getLogger("screenrelay.relay")


class RelayContext:
    """The directory, the store and the limits of one relay process."""

    def __init__(
        self,
        config: RelayConfig,
        store: Store,
        *,
        metrics_token: bytes | None = None,
        admin_token: bytes | None = None,
    ) -> None:
        self.config = config
        #: What a scraper of /metrics must show (relay/metrics.py); None: nobody may.
        self.metrics_token = metrics_token
        #: What ``screenrelay admin session`` must show (relay/admin_api.py); None: nobody may.
        self.admin_token = admin_token
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
        #: The stored policy revision in force (0: none stored, the defaults).
        self.policy_revision = 0
        policy = self._read_policy()
        self.directory = Directory(config.directory, self.audit.record, policy=policy)
        self.throttle = SignInThrottle()
        self._pruned_at = float("-inf")

    @property
    def policy(self) -> Policy:
        """The administrator's policy in force."""
        return self.directory.policy

    def _read_policy(self) -> Policy:
        """The newest stored policy; on a document that does not parse, the
        previous one (or the defaults), and an error in the log."""
        row = self.store.current_policy()
        self.policy_revision = row.revision if row is not None else 0
        if row is None:
            return Policy()
        try:
            return parse_policy(row.document)
        except PolicyError as exc:
            log.error(
                "policy revision %d is not valid (%s); keeping the previous one", row.revision, exc
            )
            return self.directory.policy if hasattr(self, "directory") else Policy()

    async def refresh_policy(self, now: float) -> None:
        """Put a newly stored policy in force (called every tick)."""
        revision = await anyio.to_thread.run_sync(
            self.store.policy_revision, limiter=self.db_limiter
        )
        if revision == self.policy_revision:
            return
        policy = await anyio.to_thread.run_sync(self._read_policy, limiter=self.db_limiter)
        log.info("policy revision %d in force", self.policy_revision)
        self.directory.apply_policy(policy, now)

    async def end_disabled_organizers(self, now: float) -> None:
        """End the live sessions of organizers whose accounts an administrator
        disabled since they signed in (called every tick; no query when no
        session is live)."""
        if not self.directory.sessions:
            return
        disabled = await anyio.to_thread.run_sync(
            self.store.disabled_accounts, limiter=self.db_limiter
        )
        for session in list(self.directory.sessions.values()):
            if session.organizer_name in disabled:
                self.directory.end_session(
                    session, now, reason="organizer account disabled", text=ACCOUNT_DISABLED
                )

    async def prune_audit(self, now: float) -> None:
        """Drop audit rows older than the policy's retention, once a day."""
        days = self.policy.audit.retention_days
        if days is None or now - self._pruned_at < PRUNE_INTERVAL:
            return
        self._pruned_at = now
        before = now - days * 86400.0

        def prune() -> int:
            return self.store.prune_audit(before, now=now)

        pruned = await anyio.to_thread.run_sync(prune, limiter=self.db_limiter)
        if pruned:
            log.info("audit: pruned %d rows older than %d days (policy)", pruned, days)

    def client_version_range(self) -> tuple[str, str | None]:
        """The oldest and newest client versions allowed ("x.y.z"; None: no newest)."""
        oldest = self.config.min_client_version
        versions = self.policy.client_versions
        if versions.min is not None and _key(versions.min) > _key(oldest):
            oldest = versions.min
        return oldest, versions.max

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
        """The policy every client is told in Welcome (docs/protocol.md)."""
        limits = self.config.directory
        document = self.policy.client_document()
        oldest, newest = self.client_version_range()
        document["min_client_version"] = oldest
        document["max_client_version"] = newest
        document["revision"] = self.policy_revision
        document["remote_control"] = document["remote_control"] and limits.remote_control
        document["participants_present"] = (
            document["participants_present"] and limits.participants_present
        )
        document["max_participants"] = min(document["max_participants"], limits.max_participants)
        return document


def _key(text: str) -> tuple[int, int, int]:
    version = parse_version(text)
    if version is None:
        raise ValueError(f"{text!r} is not x.y.z")
    return version
