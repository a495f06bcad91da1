"""relay/database.py: creating, opening and upgrading the relay database."""

from __future__ import annotations

import importlib.resources
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from relay import database
from relay.database import (
    TARGET_VERSION,
    DatabaseError,
    dump_schema,
    get_schema_version,
    open_database,
)

DB_NAME = "relay.sqlite"


def schema_file(filename: str) -> str:
    return (importlib.resources.files("relay") / "db-schemas" / filename).read_text("utf-8")


def make_database_at_version(path: Path, version: int) -> None:
    """An old database as an old screenrelay would have left it, built from
    that version's fresh schema file without relay.database."""
    conn = sqlite3.connect(path)
    conn.executescript(schema_file(f"relay-v{version}.sql"))
    conn.execute("INSERT INTO version (version) VALUES (?)", (version,))
    conn.commit()
    conn.close()


def fresh_dump() -> str:
    conn = open_database(None)
    try:
        return dump_schema(conn)
    finally:
        conn.close()


def test_fresh_memory_database_has_version_and_schema() -> None:
    conn = open_database(None)
    assert get_schema_version(conn) == TARGET_VERSION == 2
    tables = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"version", "accounts", "audit", "policy"} <= tables
    triggers = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    assert triggers == {"audit_no_update", "audit_no_delete", "audit_append_only"}
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.isolation_level is None  # autocommit: writers say BEGIN themselves
    conn.close()


def test_memory_string_is_memory_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    conn = open_database(":memory:")
    assert get_schema_version(conn) == 2
    conn.close()
    assert os.listdir(tmp_path) == []


def test_dump_schema_lists_every_object() -> None:
    dump = fresh_dump()
    assert dump.startswith("version 2\n")
    for line in (
        "table accounts on accounts: CREATE TABLE accounts(id INTEGER PRIMARY KEY,"
        "name TEXT UNIQUE NOT NULL COLLATE NOCASE,",
        "table audit on audit: CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT,",
        "table version on version: CREATE TABLE version(version INTEGER)",
        "trigger audit_no_update on audit: CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
        " BEGIN SELECT RAISE(ABORT,'audit is append-only');END",
        "index sqlite_autoindex_accounts_1 on accounts: (automatic)",
    ):
        assert line in dump
    assert "--" not in dump  # comments are dropped
    assert "/*" not in dump


def test_fresh_file_database(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    conn = open_database(path)
    assert get_schema_version(conn) == 2
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert dump_schema(conn) == fresh_dump()
    # Built in a temporary file and renamed: nothing else is left behind.
    assert set(os.listdir(tmp_path)) <= {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"}
    conn.close()
    assert os.listdir(tmp_path) == [DB_NAME]
    if os.name == "posix":  # holds password hashes: owner only
        assert path.stat().st_mode & 0o777 == 0o600


def test_failed_create_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_schema(filename: str) -> str:
        return "CREATE TABLE version (version INTEGER); CREATE TABLE oops (;"

    monkeypatch.setattr(database, "read_schema_file", broken_schema)
    with pytest.raises(DatabaseError, match="could not create the database schema"):
        open_database(tmp_path / DB_NAME)
    assert os.listdir(tmp_path) == []


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="could not create a database in"):
        open_database(tmp_path / "no-such-dir" / DB_NAME)


@pytest.mark.parametrize("old_version", range(1, TARGET_VERSION + 1))
def test_upgrade(tmp_path: Path, old_version: int) -> None:
    """A database of every older version upgrades to exactly the fresh schema."""
    path = tmp_path / DB_NAME
    make_database_at_version(path, old_version)
    conn = open_database(path)
    assert get_schema_version(conn) == TARGET_VERSION
    assert dump_schema(conn) == fresh_dump()
    conn.close()
    backup = tmp_path / f"{DB_NAME}-backup-v{old_version}"
    assert backup.exists() == (old_version < TARGET_VERSION)


def test_reopening_a_current_database_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    conn = open_database(path)
    conn.execute(
        "INSERT INTO accounts (name, role, password_hash, created_at)"
        " VALUES ('ada', 'admin', 'h', 1.0)"
    )
    conn.close()
    before = path.read_bytes()

    conn = open_database(path)
    assert get_schema_version(conn) == 2
    assert conn.execute("SELECT name FROM accounts").fetchall() == [("ada",)]
    assert dump_schema(conn) == fresh_dump()
    conn.close()

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [DB_NAME]  # no backup, no temp files


def fake_version_3(monkeypatch: pytest.MonkeyPatch, upgrade_sql: str) -> None:
    """Pretend this screenrelay has schema version 3: v2 plus a column."""
    real = database.read_schema_file
    files: dict[str, Callable[[], str]] = {
        "relay-v3.sql": lambda: real("relay-v2.sql").replace(
            " email TEXT -- optional; join allowlists may name its domain\n",
            " email TEXT, -- optional; join allowlists may name its domain\n"
            " note TEXT NOT NULL DEFAULT ''\n",
        ),
        "upgrade-relay-to-v3.sql": lambda: upgrade_sql,
    }

    def read(filename: str) -> str:
        return files[filename]() if filename in files else real(filename)

    monkeypatch.setattr(database, "read_schema_file", read)
    monkeypatch.setattr(database, "TARGET_VERSION", 3)


def test_upgrade_steps_run_with_a_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / DB_NAME
    conn = open_database(path)
    conn.execute(
        "INSERT INTO accounts (name, role, password_hash, created_at)"
        " VALUES ('ada', 'admin', 'h', 1.0)"
    )
    conn.close()

    fake_version_3(
        monkeypatch,
        "-- a comment; with a semicolon\n"
        "ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT '';\n",
    )
    conn = open_database(path)
    assert get_schema_version(conn) == 3
    assert conn.execute("SELECT name, note FROM accounts").fetchall() == [("ada", "")]
    assert dump_schema(conn) == fresh_dump()  # fresh_dump is version 3 now
    conn.close()

    backup = sqlite3.connect(tmp_path / f"{DB_NAME}-backup-v2")
    assert backup.execute("SELECT version FROM version").fetchall() == [(2,)]
    assert backup.execute("SELECT name FROM accounts").fetchall() == [("ada",)]
    backup.close()


def test_failed_upgrade_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / DB_NAME
    open_database(path).close()
    fake_version_3(
        monkeypatch,
        "ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT '';\n"
        "ALTER TABLE no_such_table ADD COLUMN x;\n",
    )
    with pytest.raises(DatabaseError, match="could not upgrade"):
        open_database(path)
    monkeypatch.undo()
    conn = open_database(path)
    assert get_schema_version(conn) == 2
    assert dump_schema(conn) == fresh_dump()
    conn.close()


def test_missing_upgrade_script_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / DB_NAME
    open_database(path).close()
    monkeypatch.setattr(database, "TARGET_VERSION", 3)
    with pytest.raises(DatabaseError, match=r"missing its schema file upgrade-relay-to-v3\.sql"):
        open_database(path)


def test_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    open_database(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE version SET version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match=r"schema version 99, written by a newer screenrelay"):
        open_database(path)


def test_other_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE things (x)")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match="not a screenrelay database"):
        open_database(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not switched to WAL
    raw.close()


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(DatabaseError, match="not a database"):
        open_database(path)


def test_foreign_key_check_runs_on_open(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    open_database(path).close()
    raw = sqlite3.connect(path)  # foreign keys are off by default
    raw.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    raw.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))")
    raw.execute("INSERT INTO child VALUES (42)")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match="fails its foreign key check"):
        open_database(path)


def test_upgrade_from_v1_keeps_accounts_and_adds_policy(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    make_database_at_version(path, 1)
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO accounts (name, role, password_hash, disabled, created_at)"
        " VALUES ('Ada', 'admin', 'h', 1, 2.5)"
    )
    raw.commit()
    raw.close()
    conn = open_database(path)
    rows = conn.execute(
        "SELECT id, name, role, password_hash, disabled, created_at, email FROM accounts"
    ).fetchall()
    assert rows == [(1, "Ada", "admin", "h", 1, 2.5, None)]
    conn.execute(
        "INSERT INTO accounts (name, role, password_hash, created_at, email)"
        " VALUES ('bob', 'member', 'h', 3.0, 'bob@example.com')"
    )
    with pytest.raises(sqlite3.IntegrityError):  # NOCASE unique survives the rebuild
        conn.execute(
            "INSERT INTO accounts (name, role, password_hash, created_at)"
            " VALUES ('ADA', 'admin', 'h', 1)"
        )
    assert conn.execute("SELECT count(*) FROM policy").fetchone() == (0,)
    conn.close()


def test_version_table_must_hold_one_row() -> None:
    conn = open_database(None)
    conn.execute("INSERT INTO version (version) VALUES (1)")
    with pytest.raises(DatabaseError, match="should hold one number"):
        get_schema_version(conn)
    conn.close()
