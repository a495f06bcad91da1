"""``screenrelay admin``: account administration on the relay's own store."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from relay.accounts import check_password_strength, hash_password
from relay.database import open_database
from relay.store import AccountExists, SqliteStore


def add_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="administer a relay's accounts")
    admin.add_argument("--data", type=Path, default=None, help="data directory (SQLite store)")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    user = admin_sub.add_parser("user", help="accounts").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=["organizer", "admin"], required=True)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    add.set_defaults(run=_user_add)
    listing = user.add_parser("list", help="list accounts")
    listing.set_defaults(run=_user_list)


def _store(args: argparse.Namespace) -> SqliteStore:
    from relay.cli import default_data_dir

    data: Path = args.data or default_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    return SqliteStore(open_database(data / "relay.sqlite"))


def _user_add(args: argparse.Namespace) -> int:
    from relay.cli import read_secret

    password = read_secret(
        f"Password for {args.name}: ", from_stdin=args.password_stdin, confirm=True
    )
    problem = check_password_strength(password)
    if problem is not None:
        print(f"screenrelay: {problem}")
        return 2
    store = _store(args)
    try:
        store.add_account(args.name, args.role, hash_password(password), time.time())
    except AccountExists:
        print(f"screenrelay: an account named {args.name!r} already exists")
        return 1
    print(f"Created {args.role} account {args.name!r}.")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    store = _store(args)
    for account in store.list_accounts():
        state = "disabled" if account.disabled else "enabled"
        print(f"{account.name}\t{account.role}\t{state}")
    return 0
