"""``screenrelay admin``: account administration on the relay's own store.

Commands (each change is audited, see relay/admin_common.py):
  user add NAME --role R [--password-stdin]   the password must pass the rules
           [--email E] [--group G]...         in relay/accounts.py
  user list                                   name, role, enabled/disabled, groups
  user groups NAME [G1,G2,...]                set the account's groups (an empty
                                              value: none); without a value, show them
  user disable NAME / user enable NAME        a disabled account cannot sign in
                                              (it gets the wrong-password answer)
  user reset-password NAME [--password-stdin] without stdin a strong password
                                              is made and printed once
  init                                        the first organizer and the first
                                              admin, if none exists of that role,
                                              each with a password printed once
  audit ...                                   relay/admin_audit_cli.py
  policy ...                                  relay/admin_policy_cli.py
  session ...                                 relay/admin_session_cli.py (the
                                              running relay, over HTTP)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from relay import admin_audit_cli, admin_policy_cli, admin_session_cli
from relay.accounts import (
    check_password_strength,
    generate_password,
    hash_password,
    parse_groups,
)
from relay.admin_common import BAD_INPUT, OK, fail, open_store, record
from relay.store import ROLES, AccountExists, UnknownAccount


def add_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="administer a relay's accounts and audit trail")
    admin.add_argument("--data", type=Path, default=None, help="data directory (SQLite store)")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    user = admin_sub.add_parser("user", help="accounts").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=sorted(ROLES), required=True)
    add.add_argument("--email", help="e-mail address (policy join allowlists may name its domain)")
    add.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="G",
        help="a group the account belongs to (repeat for more; policy allowlists may name it)",
    )
    _password_stdin(add)
    add.set_defaults(run=_user_add)
    listing = user.add_parser("list", help="list accounts: name, role, enabled or disabled, groups")
    listing.set_defaults(run=_user_list)
    groups = user.add_parser(
        "groups", help="set an account's groups (G1,G2,...; an empty value: none), or show them"
    )
    groups.add_argument("name")
    groups.add_argument("groups", nargs="?", metavar="G1,G2,...")
    groups.set_defaults(run=_user_groups)
    disable = user.add_parser("disable", help="stop an account from signing in")
    disable.add_argument("name")
    disable.set_defaults(run=_user_disable, disabled=True)
    enable = user.add_parser("enable", help="let a disabled account sign in again")
    enable.add_argument("name")
    enable.set_defaults(run=_user_disable, disabled=False)
    reset = user.add_parser(
        "reset-password", help="set a new password (made and printed once, or from stdin)"
    )
    reset.add_argument("name")
    _password_stdin(reset)
    reset.set_defaults(run=_user_reset_password)
    init = admin_sub.add_parser(
        "init", help="create a first organizer and a first admin if there are none"
    )
    init.set_defaults(run=_init)
    admin_audit_cli.add_parser(admin_sub)
    admin_policy_cli.add_parser(admin_sub)
    admin_session_cli.add_parser(admin_sub)


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )


def _user_add(args: argparse.Namespace) -> int:
    from relay.cli import read_secret

    password = read_secret(
        f"Password for {args.name}: ", from_stdin=args.password_stdin, confirm=True
    )
    problem = check_password_strength(password, args.name)
    if problem is not None:
        return fail(problem, BAD_INPUT)
    try:
        groups = parse_groups(args.group)
    except ValueError as exc:
        return fail(str(exc), BAD_INPUT)
    store = open_store(args)
    try:
        store.add_account(
            args.name,
            args.role,
            hash_password(password),
            time.time(),
            email=args.email,
            groups=groups,
        )
    except AccountExists as exc:
        return fail(str(exc))
    record(store, "account_added", account=args.name, role=args.role, groups=",".join(groups))
    print(f"Created {args.role} account {args.name!r}.")
    return OK


def _user_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    for account in store.list_accounts():
        state = "disabled" if account.disabled else "enabled"
        print(f"{account.name}\t{account.role}\t{state}\t{','.join(account.groups) or '-'}")
    return OK


def _user_groups(args: argparse.Namespace) -> int:
    store = open_store(args)
    if args.groups is None:
        account = store.get_account(args.name)
        if account is None:
            return fail(f"there is no account named {args.name!r}")
        print(",".join(account.groups))
        return OK
    try:
        groups = parse_groups(args.groups)
    except ValueError as exc:
        return fail(str(exc), BAD_INPUT)
    try:
        store.set_groups(args.name, groups)
    except UnknownAccount as exc:
        return fail(str(exc))
    record(store, "account_groups_changed", account=args.name, groups=",".join(groups))
    shown = ", ".join(groups) if groups else "no groups"
    print(f"{args.name!r} is now in {shown}; it applies at its next sign-in.")
    return OK


def _user_disable(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        store.set_disabled(args.name, args.disabled)
    except UnknownAccount as exc:
        return fail(str(exc))
    if args.disabled:
        record(store, "account_disabled", account=args.name)
        print(
            f"Disabled {args.name!r}: it can no longer sign in"
            " (a session it runs now goes on until it ends)."
        )
    else:
        record(store, "account_enabled", account=args.name)
        print(f"Enabled {args.name!r}: it can sign in again.")
    return OK


def _user_reset_password(args: argparse.Namespace) -> int:
    from relay.cli import read_secret

    store = open_store(args)
    if store.get_account(args.name) is None:
        return fail(f"there is no account named {args.name!r}")
    if args.password_stdin:
        password = read_secret("", from_stdin=True)
        problem = check_password_strength(password, args.name)
        if problem is not None:
            return fail(problem, BAD_INPUT)
    else:
        password = generate_password()
    try:
        store.set_password_hash(args.name, hash_password(password))
    except UnknownAccount as exc:
        return fail(str(exc))
    record(store, "password_reset", account=args.name, generated=not args.password_stdin)
    if args.password_stdin:
        print(f"Changed the password of {args.name!r}.")
    else:
        print(f"New password for {args.name!r} (shown once): {password}")
    return OK


def _init(args: argparse.Namespace) -> int:
    """Make sure a newcomer is never stuck: one organizer and one admin exist."""
    store = open_store(args)
    accounts = store.list_accounts()
    taken = {a.name.casefold() for a in accounts}
    made: list[tuple[str, str, str]] = []
    for role in ("organizer", "admin"):
        if any(a.role == role for a in accounts):
            continue
        name, n = role, 1
        while name.casefold() in taken:
            n += 1
            name = f"{role}{n}"
        password = generate_password()
        try:
            store.add_account(name, role, hash_password(password), time.time())
        except AccountExists as exc:  # made by another command meanwhile
            return fail(str(exc))
        taken.add(name.casefold())
        record(store, "account_added", account=name, role=role, first_run=True)
        made.append((role, name, password))
    for role, name, password in made:
        print(f"  First {role} account: {name}   password: {password}")
    if made:
        print("  (each password is shown once; change it with: screenrelay admin user")
        print("  reset-password NAME)")
    return OK
