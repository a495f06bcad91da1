"""The relay's store of accounts and audit rows: an interface and its SQLite
implementation.

The domain talks to :class:`Store` only, so another store (PostgreSQL for a
fleet of relays) can replace :class:`SqliteStore` without touching it. Methods
are sync and short; the relay calls them through ``anyio.to_thread`` holding
one lock, so a store is used from one thread at a time.

The audit trail is append-only and hash-chained. For the row with id ``i``::

    fields    = {"id": i, "at": float, "actor": str|null, "address": str|null,
                 "action": str, "session_id": int|null,
                 "detail": the detail column's text, itself canonical JSON}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True, allow_nan=False)
    hash      = sha256((prev_hash + canonical).encode("ascii")).hexdigest()

where ``prev_hash`` is the previous row's ``hash`` (64 zeros for the first
row). Triggers refuse UPDATE and DELETE; someone with write access to the file
can drop them, and :meth:`Store.verify_audit` then finds rows edited (hash
mismatch), inserted (chain break) or deleted (chain break and a gap in the
ids); the rules are in ``relay/audit_chain.py``. A careful attacker can
recompute every hash after the rows they changed; only a head hash kept
outside the database (:meth:`Store.audit_head`, checked by
:meth:`Store.check_audit_head`) catches that.

Retention: :meth:`Store.prune_audit` first appends an ``audit_pruned`` row
naming the last row it removes (id and hash), then removes the oldest rows;
the chain then starts at that named row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import sqlite3
import types
from collections.abc import Iterator, Mapping
from typing import Final, Literal, Protocol, TypeAlias, get_args

from protocol.errors import ScreenrelayError
from relay.audit_chain import GENESIS_HASH as GENESIS_HASH  # prev_hash of the first row
from relay.audit_chain import (
    PRUNED_ACTION,
    Anchor,
    ChainChecker,
    find_anchor,
    head_problem,
    prune_detail,
)
from relay.database import DatabaseError, translate_errors

#: An account's role: organizers start sessions, admins administer, members
#: only sign in to join where policy asks for an account.
Role: TypeAlias = Literal["organizer", "admin", "member"]
ROLES: Final[frozenset[str]] = frozenset(get_args(Role))

#: What an audit detail value may be: metadata, never content or secrets.
DetailValue: TypeAlias = str | int | float | bool | None

#: Longest detail JSON text accepted: details are a few fields of metadata; the
#: cap keeps a buggy caller from filling the disk one row at a time.
MAX_DETAIL_CHARS: Final = 4096

#: Rows read per query by audit_rows and verify_audit: bounds memory and keeps
#: each query short.
_PAGE_ROWS: Final = 512


class AccountExists(ScreenrelayError):
    """An account with this name (compared without ASCII case) exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an account named {name!r} already exists")
        self.name = name


class UnknownAccount(ScreenrelayError):
    """No account has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"there is no account named {name!r}")
        self.name = name


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """One organizer, admin or member account."""

    id: int
    #: As given when the account was made; lookups ignore ASCII case.
    name: str
    role: Role
    #: argon2id hash in PHC string format (kept out of repr, and so out of logs).
    password_hash: str = dataclasses.field(repr=False)
    disabled: bool
    #: Seconds since the epoch.
    created_at: float
    #: Optional e-mail address (join allowlists may name its domain).
    email: str | None = None
    #: The groups it belongs to (policy allowlists may name them), as set.
    groups: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record to append. Validated on construction.

    ``detail`` is copied into a read-only mapping.
    """

    #: Seconds since the epoch; finite.
    at: float
    #: Account name, or None for a participant or the relay itself.
    actor: str | None
    #: Client's network address, if any.
    address: str | None
    #: What happened, e.g. "sign_in_failed", "session_created".
    action: str
    session_id: int | None
    #: Metadata only: at most MAX_DETAIL_CHARS as JSON, finite numbers.
    detail: Mapping[str, DetailValue] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({})
    )

    def __post_init__(self) -> None:
        if isinstance(self.at, bool) or not isinstance(self.at, int | float):
            raise TypeError(f"AuditEvent.at must be a number, not {self.at!r}")
        if not math.isfinite(self.at):
            raise ValueError(f"AuditEvent.at must be finite, not {self.at!r}")
        for name in ("actor", "address"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"AuditEvent.{name} must be a str or None, not {value!r}")
        if not isinstance(self.action, str) or not self.action:
            raise ValueError(f"AuditEvent.action must be a non-empty str, not {self.action!r}")
        if self.session_id is not None and (
            isinstance(self.session_id, bool) or not isinstance(self.session_id, int)
        ):
            raise TypeError(f"AuditEvent.session_id must be an int or None: {self.session_id!r}")
        detail = dict(self.detail)
        for key, value in detail.items():
            if not isinstance(key, str):
                raise TypeError(f"AuditEvent.detail keys must be str, not {key!r}")
            if value is not None and not isinstance(value, str | int | float):
                raise TypeError(f"AuditEvent.detail[{key!r}] has an unsupported type: {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"AuditEvent.detail[{key!r}] must be finite, not {value!r}")
        if len(canonical_json(detail)) > MAX_DETAIL_CHARS:
            raise ValueError(f"AuditEvent.detail is longer than {MAX_DETAIL_CHARS} characters")
        object.__setattr__(self, "detail", types.MappingProxyType(detail))


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRow:
    """One stored audit row."""

    id: int
    at: float
    actor: str | None
    address: str | None
    action: str
    session_id: int | None
    detail: Mapping[str, DetailValue]
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditHead:
    """The last audit row's id and hash. Kept somewhere else (a log line, an
    admin's notes), it pins everything before it: nobody can rewrite those rows
    without changing this hash."""

    id: int
    hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of checking the audit chain."""

    #: True when no problem was found.
    ok: bool
    #: Rows read.
    rows: int
    #: One sentence per problem, each naming the row id.
    problems: list[str]
    #: The chain starts after this row (0: at the start; else the last pruned row).
    starts_after: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyRow:
    """One stored policy: the document in force from ``changed_at`` on."""

    revision: int
    #: JSON text as relay/policy.py writes it ("{}": the defaults).
    document: str
    changed_by: str
    changed_at: float


class Store(Protocol):
    """What the relay's domain needs from its store."""

    def add_account(
        self,
        name: str,
        role: Role,
        password_hash: str,
        now: float,
        email: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> int:
        """Create an account; return its id. AccountExists if the name is taken."""
        ...

    def get_account(self, name: str) -> Account | None:
        """The account with this name (ignoring ASCII case), or None."""
        ...

    def list_accounts(self) -> list[Account]:
        """Every account, ordered by name."""
        ...

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Replace an account's password hash. UnknownAccount if none."""
        ...

    def append_audit(self, event: AuditEvent) -> int:
        """Append one audit row, chained to the last; return its id."""
        ...

    def audit_rows(
        self, *, after_id: int = 0, session_id: int | None = None, limit: int | None = None
    ) -> Iterator[AuditRow]:
        """Audit rows with id > after_id in id order, optionally of one session."""
        ...

    def audit_head(self) -> AuditHead | None:
        """The last audit row's id and hash, or None when there are no rows."""
        ...

    def verify_audit(self) -> AuditVerification:
        """Check the whole audit chain."""
        ...

    def policy_revision(self) -> int:
        """The revision of the policy in force (0: none stored, the defaults apply)."""
        ...

    def current_policy(self) -> PolicyRow | None:
        """The newest stored policy row, or None when none was ever stored."""
        ...

    def store_policy(self, document: str, changed_by: str, now: float) -> int:
        """Store a new policy document (already validated); return its revision."""
        ...

    def check_audit_head(self, head: AuditHead) -> str | None:
        """None if ``head`` (recorded earlier) is still in the chain, else why not."""
        ...

    def prune_audit(
        self, before: float, *, now: float, actor: str | None = None, address: str | None = None
    ) -> int:
        """Delete the oldest rows, those before ``before``; return how many."""
        ...

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable an account. UnknownAccount if none."""
        ...

    def set_groups(self, name: str, groups: tuple[str, ...]) -> None:
        """Replace an account's groups (see accounts.parse_groups). UnknownAccount if none."""
        ...

    def disabled_accounts(self) -> frozenset[str]:
        """The names of every disabled account."""
        ...


def canonical_json(value: object) -> str:
    """The one JSON text of ``value``: sorted keys, no spaces, ASCII only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def audit_hash(
    prev_hash: str,
    *,
    row_id: int,
    at: float,
    actor: str | None,
    address: str | None,
    action: str,
    session_id: int | None,
    detail_json: str,
) -> str:
    """The hash of one audit row, as described in the module docstring."""
    fields = {
        "id": row_id,
        "at": float(at),
        "actor": actor,
        "address": address,
        "action": action,
        "session_id": session_id,
        "detail": detail_json,
    }
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("ascii")).hexdigest()


_RawAuditRow: TypeAlias = tuple[int, float, str | None, str | None, str, int | None, str, str, str]

_ACCOUNT_COLUMNS: Final = "id, name, role, password_hash, disabled, created_at, email, groups"

#: Defined in relay-v1.sql; verify_audit reports them missing.
_AUDIT_TRIGGERS: Final = frozenset({"audit_no_update", "audit_no_delete", "audit_append_only"})

_AUDIT_COLUMNS: Final = "id, at, actor, address, action, session_id, detail, prev_hash, hash"


class SqliteStore:
    """:class:`Store` on a connection from :func:`relay.database.open_database`.

    Every write is one ``BEGIN IMMEDIATE`` transaction. SQLite errors come out
    as :class:`~relay.database.DatabaseError`.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # -- accounts --

    def add_account(
        self,
        name: str,
        role: Role,
        password_hash: str,
        now: float,
        email: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> int:
        if not name:
            raise ValueError("an account name must not be empty")
        if role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}, not {role!r}")
        try:
            with self._write("could not add the account"):
                cursor = self._conn.execute(
                    "INSERT INTO accounts"
                    " (name, role, password_hash, disabled, created_at, email, groups)"
                    " VALUES (?, ?, ?, 0, ?, ?, ?)",
                    (name, role, password_hash, float(now), email, _groups_json(groups)),
                )
        except DatabaseError as e:
            cause = e.__cause__
            if (
                isinstance(cause, sqlite3.IntegrityError)
                and cause.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"
            ):
                raise AccountExists(name) from cause
            raise
        account_id = cursor.lastrowid
        assert account_id is not None
        return account_id

    def get_account(self, name: str) -> Account | None:
        with translate_errors("could not read the account"):
            row = self._conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchone()
        return None if row is None else _account(row)

    def list_accounts(self) -> list[Account]:
        with translate_errors("could not read the accounts"):
            rows = self._conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY name, id"  # noqa: S608
            ).fetchall()
        return [_account(row) for row in rows]

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self._write("could not change the password"):
            cursor = self._conn.execute(
                "UPDATE accounts SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            if cursor.rowcount != 1:
                raise UnknownAccount(name)

    # -- policy --

    def policy_revision(self) -> int:
        with translate_errors("could not read the policy"):
            row = self._conn.execute("SELECT max(revision) FROM policy").fetchone()
        return int(row[0] or 0)

    def current_policy(self) -> PolicyRow | None:
        with translate_errors("could not read the policy"):
            row = self._conn.execute(
                "SELECT revision, document, changed_by, changed_at FROM policy"
                " ORDER BY revision DESC LIMIT 1"
            ).fetchone()
        return None if row is None else PolicyRow(*row)

    def store_policy(self, document: str, changed_by: str, now: float) -> int:
        with self._write("could not store the policy"):
            cursor = self._conn.execute(
                "INSERT INTO policy (document, changed_by, changed_at) VALUES (?, ?, ?)",
                (document, changed_by, float(now)),
            )
        revision = cursor.lastrowid
        assert revision is not None
        return revision

    # -- audit --

    def append_audit(self, event: AuditEvent) -> int:
        with self._write("could not append to the audit trail"):
            return self._append(event)

    def audit_rows(
        self, *, after_id: int = 0, session_id: int | None = None, limit: int | None = None
    ) -> Iterator[AuditRow]:
        remaining = limit
        for raw in self._raw_audit_rows(after_id=after_id, session_id=session_id):
            if remaining is not None:
                if remaining <= 0:
                    return
                remaining -= 1
            row_id, at, actor, address, action, sid, detail_json, prev_hash, row_hash = raw
            yield AuditRow(
                id=row_id,
                at=at,
                actor=actor,
                address=address,
                action=action,
                session_id=sid,
                detail=types.MappingProxyType(json.loads(detail_json)),
                prev_hash=prev_hash,
                hash=row_hash,
            )

    def audit_head(self) -> AuditHead | None:
        with translate_errors("could not read the audit trail"):
            row = self._conn.execute(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else AuditHead(id=row[0], hash=row[1])

    def verify_audit(self) -> AuditVerification:
        # One read transaction: a consistent snapshot across the pages.
        with self._read("could not read the audit trail"):
            checker = ChainChecker(self._audit_anchor())
            for raw in self._raw_audit_rows(after_id=0, session_id=None):
                row_id, at, actor, address, action, sid, detail_json, stored_prev, stored = raw
                try:
                    computed: str | None = audit_hash(
                        stored_prev,
                        row_id=row_id,
                        at=at,
                        actor=actor,
                        address=address,
                        action=action,
                        session_id=sid,
                        detail_json=detail_json,
                    )
                except (TypeError, ValueError):  # a column of the wrong type
                    computed = None
                checker.row(row_id, stored_prev, stored, computed)
            issued = self._highest_audit_id_issued()
            triggers = {
                name
                for (name,) in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
                )
            }
        problems = checker.finish(issued, _AUDIT_TRIGGERS - triggers)
        return AuditVerification(
            ok=not problems, rows=checker.rows, problems=problems, starts_after=checker.anchor.id
        )

    def check_audit_head(self, head: AuditHead) -> str | None:
        with self._read("could not read the audit trail"):
            row = self._conn.execute("SELECT hash FROM audit WHERE id = ?", (head.id,)).fetchone()
            last = self._conn.execute("SELECT max(id) FROM audit").fetchone()[0]
            anchor = self._audit_anchor()
        return head_problem(
            head.id,
            head.hash,
            stored_hash=None if row is None else row[0],
            anchor=anchor,
            last_id=last,
        )

    def prune_audit(
        self, before: float, *, now: float, actor: str | None = None, address: str | None = None
    ) -> int:
        """Delete the longest run of oldest rows whose time is before ``before``.

        First appends an ``audit_pruned`` row naming the last row deleted (id
        and hash), so :meth:`verify_audit` starts the chain there; then
        deletes, in the same transaction. The schema's delete trigger must
        allow deleting rows up to the newest such row's ``through_id`` and no
        others (see docs/operations.md); a schema that refuses every DELETE
        raises :class:`DatabaseError` and nothing changes.
        """
        if not math.isfinite(before):
            raise ValueError(f"before must be finite, not {before!r}")
        with self._write("could not prune the audit trail"):
            keep = self._conn.execute(
                "SELECT min(id) FROM audit WHERE at >= ?", (float(before),)
            ).fetchone()[0]
            last = self._conn.execute(
                "SELECT id, hash FROM audit WHERE id < ? ORDER BY id DESC LIMIT 1",
                (keep if keep is not None else 2**63 - 1,),
            ).fetchone()
            if last is None:
                return 0
            through_id, through_hash = last
            (count,) = self._conn.execute(
                "SELECT count(*) FROM audit WHERE id <= ?", (through_id,)
            ).fetchone()
            self._append(
                AuditEvent(
                    at=now,
                    actor=actor,
                    address=address,
                    action=PRUNED_ACTION,
                    session_id=None,
                    detail={
                        "before": float(before),
                        "rows": count,
                        "through_id": through_id,
                        "through_hash": through_hash,
                    },
                )
            )
            try:
                self._conn.execute("DELETE FROM audit WHERE id <= ?", (through_id,))
            except sqlite3.IntegrityError as e:
                raise DatabaseError(
                    "this database's schema refuses every DELETE from the audit table, so it"
                    " cannot be pruned; a newer screenrelay's schema allows a recorded prune"
                ) from e
        return int(count)

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self._write("could not change the account"):
            cursor = self._conn.execute(
                "UPDATE accounts SET disabled = ? WHERE name = ?", (int(disabled), name)
            )
            if cursor.rowcount != 1:
                raise UnknownAccount(name)

    def disabled_accounts(self) -> frozenset[str]:
        rows = self._conn.execute("SELECT name FROM accounts WHERE disabled = 1").fetchall()
        return frozenset(str(name) for (name,) in rows)

    def set_groups(self, name: str, groups: tuple[str, ...]) -> None:
        with self._write("could not change the account's groups"):
            cursor = self._conn.execute(
                "UPDATE accounts SET groups = ? WHERE name = ?", (_groups_json(groups), name)
            )
            if cursor.rowcount != 1:
                raise UnknownAccount(name)

    # -- inside --

    @contextlib.contextmanager
    def _write(self, what: str) -> Iterator[None]:
        """One write transaction; rolled back if the block raises."""
        with translate_errors(what):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self, what: str) -> Iterator[None]:
        """One read transaction: every query in the block sees one snapshot."""
        with translate_errors(what):
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _append(self, event: AuditEvent) -> int:
        """Append one row inside the caller's write transaction; its id."""
        detail_json = canonical_json(dict(event.detail))
        last = self._conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        last_id, prev_hash = last if last is not None else (0, GENESIS_HASH)
        # Never reuse an id, even one whose row was removed from the end.
        row_id = max(last_id, self._highest_audit_id_issued()) + 1
        at = float(event.at)
        row_hash = audit_hash(
            prev_hash,
            row_id=row_id,
            at=at,
            actor=event.actor,
            address=event.address,
            action=event.action,
            session_id=event.session_id,
            detail_json=detail_json,
        )
        self._conn.execute(
            f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                row_id,
                at,
                event.actor,
                event.address,
                event.action,
                event.session_id,
                detail_json,
                prev_hash,
                row_hash,
            ),
        )
        return row_id

    def _audit_anchor(self) -> Anchor:
        """Where the chain starts (audit_chain rule 1); inside a transaction."""
        first = self._conn.execute("SELECT min(id) FROM audit").fetchone()[0]
        prunes = [
            anchor
            for (detail_json,) in self._conn.execute(
                "SELECT detail FROM audit WHERE action = ?", (PRUNED_ACTION,)
            )
            if isinstance(detail_json, str) and (anchor := prune_detail(detail_json)) is not None
        ]
        return find_anchor(first, prunes)

    def _highest_audit_id_issued(self) -> int:
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
        return 0 if row is None or not isinstance(row[0], int) else row[0]

    def _raw_audit_rows(self, *, after_id: int, session_id: int | None) -> Iterator[_RawAuditRow]:
        """Rows in id order, a page per query, so no cursor stays open while
        the caller holds a row."""
        where = "id > ?" if session_id is None else "id > ? AND session_id = ?"
        sql = f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE {where} ORDER BY id LIMIT {_PAGE_ROWS}"  # noqa: S608
        last = after_id
        while True:
            params: tuple[int, ...] = (last,) if session_id is None else (last, session_id)
            with translate_errors("could not read the audit trail"):
                page: list[_RawAuditRow] = self._conn.execute(sql, params).fetchall()
            yield from page
            if len(page) < _PAGE_ROWS:
                return
            last = page[-1][0]


def _groups_json(groups: tuple[str, ...]) -> str:
    if isinstance(groups, str) or not all(isinstance(g, str) and g for g in groups):
        raise ValueError(f"groups must be a tuple of non-empty names, not {groups!r}")
    return json.dumps(list(groups), ensure_ascii=False)


def _account(row: tuple[int, str, Role, str, int, float, str | None, str]) -> Account:
    account_id, name, role, password_hash, disabled, created_at, email, groups_json = row
    groups = json.loads(groups_json)
    return Account(
        id=account_id,
        name=name,
        role=role,
        password_hash=password_hash,
        disabled=bool(disabled),
        created_at=created_at,
        email=email,
        groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
    )
