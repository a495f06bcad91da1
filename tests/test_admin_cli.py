"""``screenrelay admin`` as users run it: real subprocesses on a real database file."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from relay.accounts import verify_password
from relay.database import open_database
from relay.store import AuditEvent, DetailValue, SqliteStore, audit_hash, canonical_json
from tests.procs import SCREENRELAY

GOOD_PASSWORD = "plum orchard 42"


def admin(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCREENRELAY, "admin", "--data", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def fill(data: Path, rows: int) -> None:
    data.mkdir(exist_ok=True)
    conn = open_database(data / "relay.sqlite")
    store = SqliteStore(conn)
    for n in range(1, rows + 1):
        store.append_audit(
            AuditEvent(
                at=1_700_000_000.0 + 3600 * n,  # 2023-11-14T22:13:20Z + n hours
                actor="ada" if n % 2 else "grace",
                address="192.0.2.7",
                action="signed_in" if n % 3 else "session_started",
                session_id=123456789 if n % 3 == 0 else None,
                detail={"n": n, "note": 'comma, "quote"\nnewline é'},
            )
        )
    conn.close()


def raw(data: Path, *sql: str) -> None:
    conn = sqlite3.connect(data / "relay.sqlite", isolation_level=None)
    for statement in sql:
        conn.execute(statement)
    conn.close()


def head_of(output: str) -> str:
    match = re.search(r"^Head: (\d+:[0-9a-f]{64})$", output, re.MULTILINE)
    assert match, output
    return match[1]


# -- audit verify --


def test_verify_prints_the_head_and_exits_0(tmp_path: Path) -> None:
    fill(tmp_path, 4)
    done = admin(tmp_path, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "Audit trail: 4 rows checked from the start; no problems." in done.stdout
    head = head_of(done.stdout)
    assert head.startswith("4:")
    again = admin(tmp_path, "audit", "verify", "--head", head)
    assert again.returncode == 0
    assert f"Recorded head {head}: still in the chain." in again.stdout


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (["UPDATE audit SET actor = 'mallory' WHERE id = 2"], "row 2: its contents do not match"),
        (
            [
                "UPDATE audit SET id = 6 WHERE id = 5",
                "UPDATE audit SET id = 5 WHERE id = 4",
                "INSERT INTO audit (id, at, actor, address, action, session_id, detail,"
                " prev_hash, hash) SELECT 4, at, 'mallory', address, action, session_id,"
                " detail, prev_hash, hash FROM audit WHERE id = 5",
            ],
            "row 5: its prev_hash is not the hash of the row before it",
        ),
        (["DELETE FROM audit WHERE id = 3"], "row 4: rows 3 before it are missing (deleted)"),
    ],
    ids=["edited", "inserted", "deleted"],
)
def test_verify_names_tampered_rows_and_exits_1(tmp_path: Path, sql: list[str], named: str) -> None:
    fill(tmp_path, 5)
    raw(tmp_path, "DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete",
        "DROP TRIGGER audit_append_only", *sql)  # fmt: skip
    done = admin(tmp_path, "audit", "verify")
    assert done.returncode == 1
    assert "problem(s):" in done.stdout
    assert named in done.stdout
    assert "the triggers that keep the audit append-only are missing" in done.stdout
    head_of(done.stdout)  # printed even when broken


def test_verify_head_catches_a_rewritten_chain(tmp_path: Path) -> None:
    fill(tmp_path, 5)
    head = head_of(admin(tmp_path, "audit", "verify").stdout)
    # Rewrite row 3 and every hash after it, then restore the trigger.
    conn = sqlite3.connect(tmp_path / "relay.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 3")
    (prev,) = conn.execute("SELECT hash FROM audit WHERE id = 2").fetchone()
    for row in conn.execute(
        "SELECT id, at, actor, address, action, session_id, detail FROM audit WHERE id >= 3"
    ).fetchall():
        new = audit_hash(
            prev,
            row_id=row[0],
            at=row[1],
            actor=row[2],
            address=row[3],
            action=row[4],
            session_id=row[5],
            detail_json=row[6],
        )
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, new, row[0]))
        prev = new
    conn.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
        " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
    )
    conn.close()
    assert admin(tmp_path, "audit", "verify").returncode == 0  # the chain alone cannot tell
    done = admin(tmp_path, "audit", "verify", "--head", head)
    assert done.returncode == 1
    assert "the audit trail was rewritten at or before row 5" in done.stdout


def test_verify_refuses_a_malformed_head(tmp_path: Path) -> None:
    done = admin(tmp_path, "audit", "verify", "--head", "5:abc")
    assert done.returncode == 2
    assert "is not a head as verify prints it" in done.stderr


# -- audit export --


def check_hashes(records: Sequence[Mapping[str, Any]]) -> None:
    """Every exported row's hash is the documented formula of its columns."""
    for r in records:
        assert isinstance(r["prev_hash"], str)
        assert r["hash"] == audit_hash(
            r["prev_hash"],
            row_id=int(str(r["id"])),
            at=float(str(r["at"])),
            actor=r["actor"] or None,
            address=r["address"] or None,
            action=str(r["action"]),
            session_id=int(str(r["session_id"])) if r["session_id"] else None,
            detail_json=r["detail"]
            if isinstance(r["detail"], str)
            else canonical_json(r["detail"]),
        )


def test_export_jsonl_and_csv_parse_back_with_their_hashes(tmp_path: Path) -> None:
    fill(tmp_path, 6)
    jsonl = admin(tmp_path, "audit", "export", "--format", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert list(records[0]) == [
        "id", "time", "at", "actor", "address", "action", "session_id", "detail", "prev_hash",
        "hash",
    ]  # fmt: skip
    assert records[0]["time"] == "2023-11-14T23:13:20.000000+00:00"
    assert records[0]["detail"] == {"n": 1, "note": 'comma, "quote"\nnewline é'}
    check_hashes(records)

    out = tmp_path / "audit.csv"
    done = admin(tmp_path, "audit", "export", "--format", "csv", "-o", str(out))
    assert done.returncode == 0
    assert done.stdout == f"Wrote 6 rows to {out}.\n"
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["id"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert json.loads(rows[0]["detail"]) == records[0]["detail"]
    assert rows[1]["session_id"] == "" and rows[2]["session_id"] == "123456789"
    check_hashes(rows)


def test_export_filters(tmp_path: Path) -> None:
    fill(tmp_path, 6)

    def ids(*args: str) -> list[int]:
        done = admin(tmp_path, "audit", "export", "--format", "csv", *args)
        assert done.returncode == 0, done.stderr
        return [int(r["id"]) for r in csv.DictReader(io.StringIO(done.stdout))]

    assert ids("--session", "123456789") == [3, 6]
    assert ids("--actor", "GRACE") == [2, 4, 6]
    assert ids("--action", "signed_in", "--actor", "ada") == [1, 5]
    # Row n is at 2023-11-14T22:13:20Z + n hours.
    assert ids("--since", "2023-11-15T01:13:20", "--until", "2023-11-15T03:13:20Z") == [3, 4]
    assert ids("--since", "2023-11-15T02:13:20+01:00") == [3, 4, 5, 6]
    bad = admin(tmp_path, "audit", "export", "--format", "csv", "--since", "yesterday")
    assert bad.returncode == 2
    assert "is not an ISO 8601 date or time" in bad.stderr


# -- audit prune --


def test_prune_through_the_cli(tmp_path: Path) -> None:
    fill(tmp_path, 5)
    done = admin(tmp_path, "audit", "prune", "--before", "2023-11-15T01:30:00Z")
    assert done.returncode == 0, done.stderr
    assert "Removed 3 rows before 2023-11-15T01:30:00.000000+00:00." in done.stdout
    verify = admin(tmp_path, "audit", "verify")
    assert verify.returncode == 0
    assert "3 rows checked after pruned row 3; no problems." in verify.stdout
    future = admin(tmp_path, "audit", "prune", "--before", "2999-01-01")
    assert future.returncode == 2


def test_prune_refuses_while_the_chain_is_broken(tmp_path: Path) -> None:
    fill(tmp_path, 5)
    raw(tmp_path, "DROP TRIGGER audit_no_update",
        "UPDATE audit SET actor = 'mallory' WHERE id = 2")  # fmt: skip
    done = admin(tmp_path, "audit", "prune", "--before", "2023-11-15T01:30:00Z")
    assert done.returncode == 1
    assert "row 2: its contents do not match its hash" in done.stderr
    assert "nothing was removed" in done.stderr


# -- accounts --


def account(data: Path, name: str) -> tuple[str, bool]:
    conn = open_database(data / "relay.sqlite")
    found = SqliteStore(conn).get_account(name)
    conn.close()
    assert found is not None
    return found.password_hash, found.disabled


def audit_actions(data: Path) -> list[tuple[str | None, str, DetailValue]]:
    conn = open_database(data / "relay.sqlite")
    rows = [(r.actor, r.action, r.detail.get("account")) for r in SqliteStore(conn).audit_rows()]
    conn.close()
    return rows


def test_user_commands_end_to_end(tmp_path: Path) -> None:
    add = admin(tmp_path, "user", "add", "bob", "--role", "organizer", "--password-stdin",
                stdin=GOOD_PASSWORD + "\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert admin(tmp_path, "user", "list").stdout == "bob\torganizer\tenabled\t-\n"

    assert admin(tmp_path, "user", "disable", "bob").returncode == 0
    assert admin(tmp_path, "user", "list").stdout == "bob\torganizer\tdisabled\t-\n"
    assert account(tmp_path, "bob")[1] is True
    assert admin(tmp_path, "user", "enable", "BOB").returncode == 0
    assert account(tmp_path, "bob")[1] is False

    reset = admin(tmp_path, "user", "reset-password", "bob")
    assert reset.returncode == 0
    match = re.fullmatch(r"New password for 'bob' \(shown once\): (\S+)\n", reset.stdout)
    assert match, reset.stdout
    new_hash, _ = account(tmp_path, "bob")
    assert verify_password(new_hash, match[1])
    assert not verify_password(new_hash, GOOD_PASSWORD)

    given = admin(tmp_path, "user", "reset-password", "bob", "--password-stdin",
                  stdin="another fine pass 7\n")  # fmt: skip
    assert given.returncode == 0
    assert "another fine pass 7" not in given.stdout
    assert verify_password(account(tmp_path, "bob")[0], "another fine pass 7")

    missing = admin(tmp_path, "user", "disable", "nobody")
    assert missing.returncode == 1
    assert "there is no account named 'nobody'" in missing.stderr

    assert audit_actions(tmp_path) == [
        ("cli", "account_added", "bob"),
        ("cli", "account_disabled", "bob"),
        ("cli", "account_enabled", "BOB"),
        ("cli", "password_reset", "bob"),
        ("cli", "password_reset", "bob"),
    ]


def test_user_groups_are_set_shown_listed_and_audited(tmp_path: Path) -> None:
    add = admin(tmp_path, "user", "add", "bob", "--role", "member", "--group", "sales",
                "--group", "EMEA", "--group", "Sales", "--password-stdin",
                stdin=GOOD_PASSWORD + "\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert admin(tmp_path, "user", "list").stdout == "bob\tmember\tenabled\tsales,EMEA\n"
    assert admin(tmp_path, "user", "groups", "bob").stdout == "sales,EMEA\n"
    changed = admin(tmp_path, "user", "groups", "BOB", " support , hosts")
    assert changed.returncode == 0, changed.stderr
    assert admin(tmp_path, "user", "groups", "bob").stdout == "support,hosts\n"
    assert admin(tmp_path, "user", "groups", "bob", "").returncode == 0
    assert admin(tmp_path, "user", "list").stdout == "bob\tmember\tenabled\t-\n"
    bad = admin(tmp_path, "user", "groups", "bob", "a,,b")
    assert bad.returncode == 2 and "A group name must be 1 to 64 printable" in bad.stderr
    assert admin(tmp_path, "user", "groups", "nobody", "x").returncode == 1
    assert admin(tmp_path, "user", "groups", "nobody").returncode == 1
    conn = open_database(tmp_path / "relay.sqlite")
    rows = [(r.action, r.detail.get("account"), r.detail.get("groups"))
            for r in SqliteStore(conn).audit_rows()]  # fmt: skip
    conn.close()
    assert rows == [
        ("account_added", "bob", "sales,EMEA"),
        ("account_groups_changed", "BOB", "support,hosts"),
        ("account_groups_changed", "bob", ""),
    ]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 12 characters"),
        ("Password2024!", "too common"),
        ("bobby-tables-1", "must not be or contain the account's name"),
    ],
)
def test_weak_passwords_are_refused_with_a_sentence(
    tmp_path: Path, password: str, problem: str
) -> None:
    add = admin(tmp_path, "user", "add", "bobby", "--role", "admin", "--password-stdin",
                stdin=password + "\n")  # fmt: skip
    assert add.returncode == 2
    assert problem in add.stderr
    assert password not in add.stderr + add.stdout


def test_init_creates_a_first_organizer_and_admin_once(tmp_path: Path) -> None:
    first = admin(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    found = dict(re.findall(r"First (\w+) account: \S+ +password: (\S+)", first.stdout))
    assert set(found) == {"organizer", "admin"}
    assert verify_password(account(tmp_path, "organizer")[0], found["organizer"])
    assert verify_password(account(tmp_path, "admin")[0], found["admin"])
    again = admin(tmp_path, "init")
    assert again.returncode == 0
    assert again.stdout == ""  # nothing new, no password shown again


def test_init_adds_an_admin_to_a_store_that_has_only_organizers(tmp_path: Path) -> None:
    add = admin(tmp_path, "user", "add", "admin", "--role", "organizer", "--password-stdin",
                stdin=GOOD_PASSWORD + "\n")  # fmt: skip
    assert add.returncode == 0
    done = admin(tmp_path, "init")
    assert "First admin account: admin2 " in done.stdout
    assert "organizer account" not in done.stdout
    listing = admin(tmp_path, "user", "list").stdout
    assert listing == "admin\torganizer\tenabled\t-\nadmin2\tadmin\tenabled\t-\n"
