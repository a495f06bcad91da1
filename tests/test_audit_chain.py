"""Audit tamper evidence at every position, recorded heads, and pruning
(relay/audit_chain.py through SqliteStore on a real database file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay.audit_chain import GENESIS_HASH, PRUNED_ACTION
from relay.database import open_database, read_schema_file
from relay.store import AuditEvent, AuditHead, SqliteStore, audit_hash, canonical_json

#: The delete trigger a schema needs for pruning (docs/operations.md,
#: "Retention"): a DELETE is allowed only of rows up to the newest
#: audit_pruned row's through_id. Tests install it where the schema lacks it.

TRIGGERS_PREFIX = "the triggers that keep the audit append-only are missing:"
TRIGGERS_GONE = (
    "the triggers that keep the audit append-only are missing:"
    " audit_append_only, audit_no_delete, audit_no_update"
)
INSERTED = (
    "its prev_hash is not the hash of the row before it"
    " (a row was inserted here, or the rows before it were rewritten)"
)
EDITED = "its contents do not match its hash (row edited)"


def event(n: int) -> AuditEvent:
    return AuditEvent(
        at=1000.0 + n, actor="ada", address="192.0.2.7", action=f"action_{n}", session_id=None
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "relay.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    conn = open_database(db_path)
    store = SqliteStore(conn)
    for n in range(1, 6):
        store.append_audit(event(n))
    assert store.verify_audit().ok
    yield store
    conn.close()


def attack(db_path: Path, *sql: str) -> None:
    """Someone with write access to the file drops the triggers and runs ``sql``."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    raw.execute("DROP TRIGGER IF EXISTS audit_append_only")
    for statement in sql:
        raw.execute(statement)
    raw.close()


def problems(store: SqliteStore) -> list[str]:
    result = store.verify_audit()
    assert not result.ok
    return [p for p in result.problems if not p.startswith(TRIGGERS_PREFIX)]


def shift_up(from_id: int, last: int = 5) -> list[str]:
    """Statements moving rows from_id..last one id up (to make room)."""
    return [f"UPDATE audit SET id = {i + 1} WHERE id = {i}" for i in range(last, from_id - 1, -1)]


def copy_as(new_id: int, source_id: int) -> str:
    return (
        "INSERT INTO audit (id, at, actor, address, action, session_id, detail, prev_hash, hash)"
        f" SELECT {new_id}, at, 'mallory', address, action, session_id, detail, prev_hash, hash"
        f" FROM audit WHERE id = {source_id}"
    )


# -- edited, inserted, deleted: at the start, in the middle, at the end --


@pytest.mark.parametrize("row", [1, 3, 5])
def test_an_edited_row_is_named(store: SqliteStore, db_path: Path, row: int) -> None:
    attack(db_path, f"UPDATE audit SET actor = 'mallory' WHERE id = {row}")
    assert problems(store) == [f"row {row}: {EDITED}"]


@pytest.mark.parametrize("row", [1, 3])
def test_an_inserted_row_is_named(store: SqliteStore, db_path: Path, row: int) -> None:
    attack(db_path, *shift_up(row), copy_as(row, row + 1))
    found = problems(store)
    assert found[0] == f"row {row}: {EDITED}"
    assert f"row {row + 1}: {INSERTED}" in found


def test_an_inserted_row_at_the_end_is_named(store: SqliteStore, db_path: Path) -> None:
    attack(db_path, copy_as(6, 5))
    assert problems(store) == [f"row 6: {INSERTED}", f"row 6: {EDITED}"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("id = 1", "row 2: rows 1 before it are missing (deleted)"),
        ("id = 3", "row 4: rows 3 before it are missing (deleted)"),
        ("id = 5", "rows 5 at the end are missing (deleted)"),
        ("id >= 2", "rows 2..5 at the end are missing (deleted)"),
    ],
)
def test_a_deleted_row_is_named(
    store: SqliteStore, db_path: Path, where: str, expected: str
) -> None:
    attack(db_path, f"DELETE FROM audit WHERE {where}")
    assert problems(store) == [expected]


def test_insert_or_replace_is_caught_by_verify_once_its_trigger_is_dropped(
    store: SqliteStore,
) -> None:
    # REPLACE deletes the old row without firing delete triggers (SQLite's
    # rule while recursive_triggers is off); audit_append_only refuses it,
    # and without that trigger the chain still shows it.
    store._conn.execute("DROP TRIGGER audit_append_only")
    store._conn.execute(
        "INSERT OR REPLACE INTO audit"
        " (id, at, actor, address, action, session_id, detail, prev_hash, hash)"
        " VALUES (3, 1.0, 'mallory', NULL, 'x', NULL, '{}', 'p', 'h')"
    )
    assert problems(store) == [
        f"row 3: {INSERTED}",
        f"row 3: {EDITED}",
        f"row 4: {INSERTED}",
    ]


# -- a recorded head catches a rewrite of everything after an edit --


def rewrite_from(db_path: Path, first: int) -> None:
    """Edit row ``first``, recompute every hash from there, put the triggers back."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute(f"UPDATE audit SET actor = 'mallory' WHERE id = {first}")
    prev = raw.execute("SELECT hash FROM audit WHERE id = ?", (first - 1,)).fetchone()
    prev_hash = prev[0] if prev else GENESIS_HASH
    rows = raw.execute(
        "SELECT id, at, actor, address, action, session_id, detail FROM audit"
        " WHERE id >= ? ORDER BY id",
        (first,),
    ).fetchall()
    for row_id, at, actor, address, action, sid, detail in rows:
        new = audit_hash(
            prev_hash,
            row_id=row_id,
            at=at,
            actor=actor,
            address=address,
            action=action,
            session_id=sid,
            detail_json=detail,
        )
        raw.execute(
            "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev_hash, new, row_id)
        )
        prev_hash = new
    v1 = read_schema_file("relay-v1.sql")
    trigger = v1[v1.index("CREATE TRIGGER audit_no_update") :].split("END;")[0] + "END;"
    raw.execute(trigger)
    raw.close()


def test_a_rewritten_chain_is_caught_by_the_head_recorded_before(
    store: SqliteStore, db_path: Path
) -> None:
    head = store.audit_head()
    assert head is not None
    assert store.check_audit_head(head) is None
    rewrite_from(db_path, 3)
    assert store.verify_audit().ok  # the chain alone cannot tell
    problem = store.check_audit_head(head)
    assert problem is not None
    assert problem.startswith("row 5 now has hash ")
    assert problem.endswith("the audit trail was rewritten at or before row 5")
    # A head from before the rewritten rows still holds.
    (row2,) = store.audit_rows(after_id=1, limit=1)
    assert store.check_audit_head(AuditHead(2, row2.hash)) is None


def test_a_head_beyond_the_end_is_reported(store: SqliteStore, db_path: Path) -> None:
    head = store.audit_head()
    assert head is not None
    attack(db_path, "DELETE FROM audit WHERE id = 5")
    assert store.check_audit_head(head) == (
        "there is no row 5 (it ends at row 4): rows were deleted at the end,"
        " or the head is from another relay"
    )


# -- retention --


def test_prune_removes_the_oldest_rows_and_verify_starts_after_them(
    store: SqliteStore, db_path: Path
) -> None:
    (row3,) = store.audit_rows(after_id=2, limit=1)
    head_before = store.audit_head()
    assert store.prune_audit(1003.5, now=2000.0, actor="cli") == 3
    rows = list(store.audit_rows())
    assert [r.id for r in rows] == [4, 5, 6]
    marker = rows[-1]
    assert marker.action == PRUNED_ACTION
    assert marker.actor == "cli"
    assert dict(marker.detail) == {
        "before": 1003.5,
        "rows": 3,
        "through_id": 3,
        "through_hash": row3.hash,
    }
    result = store.verify_audit()
    assert result.ok, result.problems
    assert result.starts_after == 3
    assert head_before is not None
    assert store.check_audit_head(head_before) is None  # row 5 is still there
    assert store.check_audit_head(AuditHead(3, row3.hash)) is None  # the prune's boundary
    assert "can no longer be checked" in (store.check_audit_head(AuditHead(2, "0" * 64)) or "")
    # Deleting after a prune is still caught, and so is deleting the marker.
    attack(db_path, "DELETE FROM audit WHERE id = 4")
    assert problems(store) == ["row 5: rows 4 before it are missing (deleted)"]


def test_pruned_rows_deleted_without_a_marker_are_reported(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("DELETE FROM audit WHERE id <= 2")  # no prune recorded
    store.prune_audit(1002.5, now=2000.0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("DELETE FROM audit WHERE id = 3")  # beyond the prune
    assert store.verify_audit().ok


def test_prune_twice_and_prune_everything(store: SqliteStore) -> None:
    assert store.prune_audit(1001.5, now=2000.0) == 1
    assert store.prune_audit(1001.5, now=2001.0) == 0  # nothing older: no new row
    assert store.prune_audit(1004.5, now=2002.0) == 3  # rows 2..4
    assert store.prune_audit(3000.0, now=3001.0) == 3  # 5 and the markers 6 and 7
    rows = list(store.audit_rows())
    assert [(r.id, r.action) for r in rows] == [(8, PRUNED_ACTION)]
    assert rows[0].detail["through_id"] == 7
    result = store.verify_audit()
    assert result.ok, result.problems
    assert result.starts_after == 7
    store.append_audit(event(9))
    assert store.verify_audit().ok


def test_prune_keeps_rows_after_an_out_of_order_time(store: SqliteStore) -> None:
    store.append_audit(AuditEvent(at=1.0, actor=None, address=None, action="x", session_id=None))
    # Rows 1..5 are at 1001..1005, row 6 at 1.0 (the clock stepped back):
    # only the run of oldest rows before the time goes, so the chain stays whole.
    assert store.prune_audit(1002.5, now=2000.0) == 2
    assert [r.id for r in store.audit_rows()][:1] == [3]
    assert store.verify_audit().ok


def test_the_schema_refuses_deletes_outside_a_recorded_prune(
    store: SqliteStore, db_path: Path
) -> None:
    raw = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM audit WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute(
            "INSERT OR REPLACE INTO audit (id, at, action, detail, prev_hash, hash)"
            " VALUES (2, 0, 'x', '{}', '', '')"
        )
    raw.close()
    assert [r.id for r in store.audit_rows()] == [1, 2, 3, 4, 5]
    assert store.verify_audit().ok


def test_prune_marker_hash_covers_its_detail(store: SqliteStore, db_path: Path) -> None:
    store.prune_audit(1002.5, now=2000.0)
    # Moving the boundary (to hide that rows were deleted) breaks the marker's hash.
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    detail = canonical_json({"before": 1002.5, "rows": 3, "through_id": 3, "through_hash": "x"})
    raw.execute("UPDATE audit SET detail = ? WHERE action = ?", (detail, PRUNED_ACTION))
    raw.close()
    found = store.verify_audit().problems
    assert "row 6: its contents do not match its hash (row edited)" in found
