"""Create, open and upgrade the relay's SQLite database.

The schema lives in versioned files under ``relay/db-schemas/`` (the layout of
magic-wormhole-mailbox-server's ``database.py``):

- ``relay-v<N>.sql`` builds a fresh database at version N;
- ``upgrade-relay-to-v<N>.sql`` takes a version N-1 database to version N.

A ``version`` table holds the one version number. :func:`open_database`

- builds a new file in a temporary file in the same directory and renames it
  into place, so a crash never leaves a half-built database at the path;
- copies an older file to ``<path>-backup-v<old>`` (with SQLite's backup API,
  which is safe in WAL mode) and then runs each upgrade in its own transaction;
- refuses a file written by a newer screenrelay, or any file that is not one
  of our databases, with :class:`DatabaseError` and a sentence saying why;
- turns ``foreign_keys`` on and runs ``foreign_key_check``, and puts file
  databases in WAL mode (readers never block the writer);
- with ``None`` gives an in-memory database, for tests.

The connection it returns is in autocommit mode (``isolation_level=None``):
whoever writes says ``BEGIN`` and ``COMMIT`` (see ``relay/store.py``). It may be
used from any thread, one at a time (``check_same_thread=False``).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from protocol.errors import ScreenrelayError

#: The schema version this code reads and writes.
TARGET_VERSION: Final = 2

#: Seconds a statement waits for another connection's write lock before it
#: fails: the relay and ``screenrelay admin`` may use the same file at once.
BUSY_TIMEOUT: Final = 10.0

_SCHEMA_PACKAGE: Final = "relay"
_SCHEMA_DIR: Final = "db-schemas"


class DatabaseError(ScreenrelayError):
    """The database could not be opened, created, upgraded or queried.

    The message is a sentence for the operator; the SQLite error, if any, is
    the ``__cause__``.
    """


def open_database(path: str | os.PathLike[str] | None) -> sqlite3.Connection:
    """Open the relay database at ``path``, creating or upgrading it as needed.

    ``None`` (or the string ``":memory:"``) gives a fresh in-memory database.
    The parent directory of ``path`` must exist. Raises :class:`DatabaseError`.
    """
    if path is None or path == ":memory:":
        conn = _connect(":memory:")
        try:
            _create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    path = Path(path)
    if not path.exists():
        _create_file(path)
    conn = _connect(path)
    try:
        version = get_schema_version(conn)
        if version > TARGET_VERSION:
            raise DatabaseError(
                f"{path} has schema version {version}, written by a newer screenrelay; "
                f"this one understands versions up to {TARGET_VERSION}. "
                "Run the newer screenrelay, or restore a backup."
            )
        if version < TARGET_VERSION:
            _backup(conn, path, version)
            _upgrade(conn, path, version)
        # WAL only once we know the file is ours: the journal mode is stored
        # in the file, and we must not change someone else's database.
        with translate_errors(f"could not switch {path} to WAL mode"):
            conn.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        conn.close()
        raise
    return conn


def get_schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database's ``version`` table."""
    try:
        rows = conn.execute("SELECT version FROM version").fetchall()
    except sqlite3.Error as e:
        raise DatabaseError(f"this is not a screenrelay database (no version table: {e})") from e
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise DatabaseError(f"the database's version table should hold one number, not {rows!r}")
    version: int = rows[0][0]
    return version


def dump_schema(conn: sqlite3.Connection) -> str:
    """A text description of the schema, to compare an upgraded database with
    a fresh one.

    Lists the version and every table, index and trigger with its SQL, with
    comments dropped and white space normalized: an upgrade must produce the
    same columns in the same order, the same constraints and the same
    triggers, but need not reproduce the fresh file's comments or layout.
    Rows are not included.
    """
    lines = [f"version {get_schema_version(conn)}"]
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    for kind, name, table, sql in rows:
        text = _normalize_sql(sql) if sql is not None else "(automatic)"
        lines.append(f"{kind} {name} on {table}: {text}")
    return "\n".join(lines) + "\n"


def read_schema_file(filename: str) -> str:
    """The text of ``relay/db-schemas/<filename>``; DatabaseError if missing."""
    resource = importlib.resources.files(_SCHEMA_PACKAGE) / _SCHEMA_DIR / filename
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as e:
        raise DatabaseError(f"screenrelay is missing its schema file {filename}") from e


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn SQLite's errors into DatabaseError("<what>: <sqlite's message>").

    The one place where sqlite3's exceptions become ours (the store uses it
    too); the original is the ``__cause__``.
    """
    try:
        yield
    except sqlite3.Error as e:
        raise DatabaseError(f"{what}: {e}") from e


# -- inside ------------------------------------------------------------------


def _connect(path: str | Path) -> sqlite3.Connection:
    """Connect, turn foreign keys on and check them."""
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as e:
        raise DatabaseError(f"could not open the database {path}: {e}") from e
    try:
        with translate_errors(f"could not read the database {path}"):
            conn.execute("PRAGMA foreign_keys = ON")
            _check_foreign_keys(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_foreign_keys(conn: sqlite3.Connection, path: str | Path) -> None:
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise DatabaseError(
            f"the database {path} fails its foreign key check "
            f"(table, rowid, parent, fk index): {problems[:10]!r}"
        )


def _create_schema(conn: sqlite3.Connection) -> None:
    """Build the current schema in an empty database, in one transaction."""
    script = read_schema_file(f"relay-v{TARGET_VERSION}.sql")
    with translate_errors("could not create the database schema"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO version (version) VALUES (?)", (TARGET_VERSION,))
        except BaseException:
            conn.rollback()
            raise
        conn.execute("COMMIT")


def _create_file(path: Path) -> None:
    """Build a new database next to ``path`` and rename it into place.

    mkstemp makes the file readable by its owner only, and the rename keeps
    that mode: the database holds password hashes. SQLite gives its -wal and
    -shm files the same mode as the database.
    """
    try:
        fd, temp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise DatabaseError(f"could not create a database in {path.parent}: {e}") from e
    os.close(fd)
    temp = Path(temp_name)
    try:
        conn = _connect(temp)
        try:
            _create_schema(conn)
        finally:
            conn.close()
        os.rename(temp, path)
    except BaseException:
        for leftover in (temp, Path(temp_name + "-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX; Windows cannot open a directory)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _backup(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Copy the database to ``<path>-backup-v<version>`` before upgrading it."""
    backup_path = Path(f"{path}-backup-v{version}")
    with translate_errors(f"could not write the backup {backup_path}"):
        target = sqlite3.connect(backup_path)
        try:
            conn.backup(target)
        finally:
            target.close()


def _upgrade(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Run each upgrade script from ``version`` to TARGET_VERSION.

    Each step is one transaction that also bumps the version, so a failure
    leaves the file at the last version that completed. Foreign keys are off
    during the step (SQLite's procedure for rebuilding a table) and checked
    before it commits.
    """
    with translate_errors(f"could not upgrade {path}"):
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            while version < TARGET_VERSION:
                new = version + 1
                script = read_schema_file(f"upgrade-relay-to-v{new}.sql")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # Read again under the write lock: another process may
                    # have done this step while we waited.
                    version = get_schema_version(conn)
                    if version < new:
                        for statement in _split_statements(script):
                            conn.execute(statement)
                        conn.execute("UPDATE version SET version = ?", (new,))
                        _check_foreign_keys(conn, path)
                        version = new
                except BaseException:
                    conn.rollback()
                    raise
                conn.execute("COMMIT")
        finally:
            conn.execute("PRAGMA foreign_keys = ON")


def _split_statements(script: str) -> list[str]:
    """Split a schema file into statements (triggers contain semicolons).

    We run statements one by one inside our own transaction because
    ``executescript`` would commit first.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _normalize_sql(pending) != ";":
                statements.append(pending)
            pending = ""
    if _normalize_sql(pending.removesuffix(";")):
        raise DatabaseError(f"a schema file ends in an incomplete statement: {pending!r}")
    return statements


_COMMENT_OR_STRING: Final = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|--[^\n]*|/\*.*?\*/""", re.DOTALL
)
_SPACE: Final = re.compile(r"\s+")
_SPACE_AROUND_PUNCTUATION: Final = re.compile(r"\s*([(),;])\s*")


def _normalize_sql(sql: str) -> str:
    """Drop comments (not inside quotes) and normalize white space."""
    text = _COMMENT_OR_STRING.sub(lambda m: m.group(1) or " ", sql)
    text = _SPACE.sub(" ", text)
    return _SPACE_AROUND_PUNCTUATION.sub(r"\1", text).strip()
