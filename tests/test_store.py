"""relay/store.py: accounts and the hash-chained, append-only audit trail."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay.accounts import parse_groups
from relay.database import DatabaseError, open_database
from relay.store import (
    GENESIS_HASH,
    MAX_DETAIL_CHARS,
    AccountExists,
    AuditEvent,
    AuditHead,
    SqliteStore,
    Store,
    UnknownAccount,
    audit_hash,
    canonical_json,
)


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    conn = open_database(None)
    yield SqliteStore(conn)
    conn.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "relay.sqlite"


def event(n: int, session_id: int | None = None) -> AuditEvent:
    return AuditEvent(
        at=1000.0 + n,
        actor="ada",
        address="192.0.2.7",
        action=f"action_{n}",
        session_id=session_id,
        detail={"n": n, "ok": True, "note": "é", "ratio": 0.5, "none": None},
    )


def fill_audit(store: Store, rows: int) -> None:
    for n in range(1, rows + 1):
        assert store.append_audit(event(n)) == n


def test_sqlite_store_is_a_store(store: SqliteStore) -> None:
    as_store: Store = store  # checked by mypy
    assert as_store.get_account("nobody") is None


# -- accounts --


def test_add_and_get_account(store: SqliteStore) -> None:
    account_id = store.add_account("Ada", "admin", "$argon2id$hash", 1234.5)
    account = store.get_account("Ada")
    assert account is not None
    assert account.id == account_id
    assert account.name == "Ada"
    assert account.role == "admin"
    assert account.password_hash == "$argon2id$hash"
    assert account.disabled is False
    assert account.created_at == 1234.5
    assert store.get_account("ada") == account  # ASCII case is ignored
    assert store.get_account("grace") is None


def test_account_repr_hides_the_hash(store: SqliteStore) -> None:
    store.add_account("ada", "organizer", "$argon2id$secret-ish", 1.0)
    assert "secret-ish" not in repr(store.get_account("ada"))


def test_duplicate_account_name_is_refused(store: SqliteStore) -> None:
    store.add_account("ada", "organizer", "h1", 1.0)
    with pytest.raises(AccountExists, match="an account named 'ADA' already exists") as info:
        store.add_account("ADA", "admin", "h2", 2.0)
    assert info.value.name == "ADA"
    account = store.get_account("ada")
    assert account is not None
    assert account.password_hash == "h1"
    assert len(store.list_accounts()) == 1


def test_bad_role_and_empty_name_are_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        store.add_account("ada", "root", "h", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be empty"):
        store.add_account("", "admin", "h", 1.0)
    assert store.list_accounts() == []


def test_list_accounts(store: SqliteStore) -> None:
    store.add_account("grace", "organizer", "h", 1.0)
    store.add_account("ada", "admin", "h", 2.0)
    assert [(a.name, a.role) for a in store.list_accounts()] == [
        ("ada", "admin"),
        ("grace", "organizer"),
    ]


def test_account_groups_are_stored_and_replaced(store: SqliteStore) -> None:
    store.add_account("ada", "member", "h", 1.0, groups=("sales", "EMEA"))
    store.add_account("grace", "organizer", "h", 1.0)
    account = store.get_account("ADA")
    assert account is not None and account.groups == ("sales", "EMEA")
    assert [a.groups for a in store.list_accounts()] == [("sales", "EMEA"), ()]
    store.set_groups("grace", ("hosts",))
    assert [a.groups for a in store.list_accounts()] == [("sales", "EMEA"), ("hosts",)]
    with pytest.raises(UnknownAccount):
        store.set_groups("nobody", ())
    with pytest.raises(ValueError, match="groups must be"):
        store.set_groups("ada", ("",))


def test_parse_groups_trims_drops_duplicates_and_refuses_bad_names() -> None:
    assert parse_groups("") == parse_groups("  ") == parse_groups([]) == ()
    assert parse_groups(" sales , EMEA,Sales") == ("sales", "EMEA")
    assert parse_groups(["hosts"]) == ("hosts",)
    for bad in ("a,,b", "x" * 65, "tab\there"):
        with pytest.raises(ValueError, match="A group name must be"):
            parse_groups(bad)
    with pytest.raises(ValueError, match="at most 64 groups"):
        parse_groups([f"g{n}" for n in range(65)])


def test_set_password_hash(store: SqliteStore) -> None:
    store.add_account("ada", "organizer", "old", 1.0)
    store.set_password_hash("ADA", "new")
    account = store.get_account("ada")
    assert account is not None
    assert account.password_hash == "new"
    with pytest.raises(UnknownAccount, match="no account named 'grace'"):
        store.set_password_hash("grace", "new")


def test_sqlite_errors_become_database_error() -> None:
    conn = open_database(None)
    store = SqliteStore(conn)
    conn.close()
    with pytest.raises(DatabaseError, match="could not read the account") as info:
        store.get_account("ada")
    assert isinstance(info.value.__cause__, sqlite3.Error)


def test_write_rolls_back_on_error(store: SqliteStore) -> None:
    store.add_account("ada", "organizer", "h", 1.0)
    with pytest.raises(AccountExists):
        store.add_account("ada", "organizer", "h", 1.0)
    # The failed transaction is closed: the next write works.
    store.add_account("grace", "organizer", "h", 1.0)
    assert len(store.list_accounts()) == 2


# -- audit: appending and reading --


def test_audit_append_and_verify(store: SqliteStore) -> None:
    assert store.verify_audit().ok
    assert store.audit_head() is None
    fill_audit(store, 3)
    rows = list(store.audit_rows())
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    assert rows[1].action == "action_2"
    assert rows[1].at == 1002.0
    assert dict(rows[1].detail) == {"n": 2, "ok": True, "note": "é", "ratio": 0.5, "none": None}
    assert store.audit_head() == AuditHead(id=3, hash=rows[2].hash)
    result = store.verify_audit()
    assert result.ok
    assert result.rows == 3
    assert result.problems == []


def test_audit_hash_is_the_documented_formula(store: SqliteStore) -> None:
    store.append_audit(
        AuditEvent(
            at=5,
            actor=None,
            address="::1",
            action="relay_started",
            session_id=123456789,
            detail={"b": 1, "a": "x"},
        )
    )
    (row,) = store.audit_rows()
    canonical = (
        '{"action":"relay_started","actor":null,"address":"::1",'
        '"at":5.0,"detail":"{\\"a\\":\\"x\\",\\"b\\":1}","id":1,"session_id":123456789}'
    )
    expected = hashlib.sha256((GENESIS_HASH + canonical).encode("ascii")).hexdigest()
    assert row.hash == expected
    assert row.at == 5.0
    assert (
        audit_hash(
            GENESIS_HASH,
            row_id=1,
            at=5,
            actor=None,
            address="::1",
            action="relay_started",
            session_id=123456789,
            detail_json='{"a":"x","b":1}',
        )
        == expected
    )


def test_audit_rows_filters_and_pages(store: SqliteStore) -> None:
    for n in range(1, 1201):  # more than one page of 512
        store.append_audit(event(n, session_id=7 if n % 100 == 0 else None))
    assert [r.id for r in store.audit_rows()] == list(range(1, 1201))
    assert [r.id for r in store.audit_rows(after_id=1195)] == [1196, 1197, 1198, 1199, 1200]
    assert [r.id for r in store.audit_rows(session_id=7)] == list(range(100, 1201, 100))
    assert [r.id for r in store.audit_rows(after_id=10, limit=3)] == [11, 12, 13]
    assert list(store.audit_rows(limit=0)) == []
    result = store.verify_audit()
    assert result.ok
    assert result.rows == 1200


def test_audit_event_is_validated() -> None:
    with pytest.raises(ValueError, match="finite"):
        AuditEvent(at=float("nan"), actor=None, address=None, action="x", session_id=None)
    with pytest.raises(ValueError, match="non-empty"):
        AuditEvent(at=1.0, actor=None, address=None, action="", session_id=None)
    with pytest.raises(TypeError, match="session_id"):
        AuditEvent(at=1.0, actor=None, address=None, action="x", session_id=True)
    not_metadata: Any = {"list": [1, 2]}
    with pytest.raises(TypeError, match="unsupported type"):
        AuditEvent(
            at=1.0, actor=None, address=None, action="x", session_id=None, detail=not_metadata
        )
    with pytest.raises(ValueError, match="finite"):
        AuditEvent(
            at=1.0,
            actor=None,
            address=None,
            action="x",
            session_id=None,
            detail={"x": float("inf")},
        )
    with pytest.raises(ValueError, match="longer than"):
        AuditEvent(
            at=1.0,
            actor=None,
            address=None,
            action="x",
            session_id=None,
            detail={"x": "y" * MAX_DETAIL_CHARS},
        )


def test_audit_event_detail_is_a_read_only_copy() -> None:
    detail: dict[str, str | int | float | bool | None] = {"a": 1}
    ev = AuditEvent(at=1.0, actor=None, address=None, action="x", session_id=None, detail=detail)
    detail["a"] = 2
    assert ev.detail["a"] == 1
    with pytest.raises(TypeError):
        ev.detail["a"] = 3  # type: ignore[index]


# -- audit: append-only and tamper evidence --


def test_update_and_delete_are_refused_by_triggers(store: SqliteStore) -> None:
    fill_audit(store, 2)
    conn = store._conn
    with pytest.raises(sqlite3.IntegrityError, match="audit is append-only"):
        conn.execute("UPDATE audit SET action = 'nothing' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="audit is append-only"):
        conn.execute("DELETE FROM audit WHERE id = 2")
    with pytest.raises(sqlite3.IntegrityError, match="audit is append-only"):
        conn.execute("DELETE FROM audit")
    assert [r.action for r in store.audit_rows()] == ["action_1", "action_2"]
    assert store.verify_audit().ok


def attacker(db_path: Path) -> sqlite3.Connection:
    """Someone with write access to the file: drops the triggers first."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DROP TRIGGER audit_append_only")
    return raw


TRIGGERS_GONE = (
    "the triggers that keep the audit append-only are missing:"
    " audit_append_only, audit_no_delete, audit_no_update"
)


def tampered(db_path: Path, rows: int, sql: list[str]) -> list[str]:
    conn = open_database(db_path)
    store = SqliteStore(conn)
    fill_audit(store, rows)
    assert store.verify_audit().ok
    raw = attacker(db_path)
    for statement in sql:
        raw.execute(statement)
    raw.close()
    result = store.verify_audit()
    conn.close()
    assert not result.ok
    assert TRIGGERS_GONE in result.problems
    return [p for p in result.problems if p != TRIGGERS_GONE]


def test_dropped_triggers_alone_are_reported(db_path: Path) -> None:
    assert tampered(db_path, 3, []) == []


def test_edited_row_is_reported(db_path: Path) -> None:
    problems = tampered(db_path, 5, ["UPDATE audit SET detail = '{\"n\":99}' WHERE id = 3"])
    assert problems == ["row 3: its contents do not match its hash (row edited)"]


def test_edited_row_with_its_hash_recomputed_breaks_the_chain(db_path: Path) -> None:
    conn = open_database(db_path)
    store = SqliteStore(conn)
    fill_audit(store, 5)
    (row,) = store.audit_rows(after_id=2, limit=1)
    forged = audit_hash(
        row.prev_hash,
        row_id=3,
        at=row.at,
        actor="mallory",
        address=row.address,
        action=row.action,
        session_id=row.session_id,
        detail_json=canonical_json(dict(row.detail)),
    )
    raw = attacker(db_path)
    raw.execute("UPDATE audit SET actor = 'mallory', hash = ? WHERE id = 3", (forged,))
    raw.close()
    problems = [p for p in store.verify_audit().problems if p != TRIGGERS_GONE]
    conn.close()
    assert problems == [
        "row 4: its prev_hash is not the hash of the row before it"
        " (a row was inserted here, or the rows before it were rewritten)"
    ]


def test_inserted_row_at_the_end_is_reported(db_path: Path) -> None:
    problems = tampered(
        db_path,
        3,
        [
            "INSERT INTO audit (at, actor, address, action, session_id, detail, prev_hash, hash)"
            f" VALUES (1.0, 'mallory', NULL, 'sign_in', NULL, '{{}}', '{GENESIS_HASH}', 'ab')"
        ],
    )
    assert problems == [
        "row 4: its prev_hash is not the hash of the row before it"
        " (a row was inserted here, or the rows before it were rewritten)",
        "row 4: its contents do not match its hash (row edited)",
    ]


def test_inserted_row_in_the_middle_is_reported(db_path: Path) -> None:
    # Make room at id 3 (rows 3..5 become 4..6), then insert a row there,
    # copying row 3's prev_hash and hash to look plausible.
    problems = tampered(
        db_path,
        5,
        [
            "UPDATE audit SET id = 6 WHERE id = 5",
            "UPDATE audit SET id = 5 WHERE id = 4",
            "UPDATE audit SET id = 4 WHERE id = 3",
            "INSERT INTO audit"
            " (id, at, actor, address, action, session_id, detail, prev_hash, hash)"
            " SELECT 3, at, 'mallory', address, action, session_id, detail, prev_hash, hash"
            " FROM audit WHERE id = 4",
        ],
    )
    assert problems[0] == "row 3: its contents do not match its hash (row edited)"
    assert problems[1].startswith("row 4: its prev_hash is not the hash of the row before it")


def test_deleted_row_is_reported(db_path: Path) -> None:
    problems = tampered(db_path, 5, ["DELETE FROM audit WHERE id = 3"])
    assert problems == ["row 4: rows 3 before it are missing (deleted)"]


def test_deleted_rows_at_the_end_are_reported(db_path: Path) -> None:
    problems = tampered(db_path, 5, ["DELETE FROM audit WHERE id >= 4"])
    assert problems == ["rows 4..5 at the end are missing (deleted)"]


def test_deleted_rows_at_the_start_are_reported(db_path: Path) -> None:
    problems = tampered(db_path, 5, ["DELETE FROM audit WHERE id <= 2"])
    assert problems == ["row 3: rows 1..2 before it are missing (deleted)"]


def test_ids_are_never_reused_after_a_deletion_at_the_end(db_path: Path) -> None:
    conn = open_database(db_path)
    store = SqliteStore(conn)
    fill_audit(store, 3)
    raw = attacker(db_path)
    raw.execute("DELETE FROM audit WHERE id = 3")
    raw.close()
    assert store.append_audit(event(4)) == 4
    problems = [p for p in store.verify_audit().problems if p != TRIGGERS_GONE]
    conn.close()
    assert problems == ["row 4: rows 3 before it are missing (deleted)"]
