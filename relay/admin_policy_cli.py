"""``screenrelay admin policy``: show, set and reset the relay's policy.

Commands (docs/operations.md "Policy" lists every rule and default):
  policy show           the policy in force, as JSON (the defaults if none was set)
  policy set FILE|-     validate a JSON policy (a file, or stdin for -), store it
                        as a new revision; a running relay applies it within a tick
  policy reset          store a new revision holding {}: the defaults again

Rules: a document that does not validate is refused with the field and the
rule it breaks, and nothing is stored. Each change appends a
``policy_changed`` audit row naming the revision and the fields that changed
(keys only; a policy holds no secrets, but the row stays small). Revisions are
never edited or deleted, so the policy's history is the table itself.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from relay.admin_common import BAD_INPUT, OK, fail, open_store, record
from relay.policy import Policy, PolicyError, changed_keys, parse_policy
from relay.store import SqliteStore


def add_parser(admin_sub: Any) -> None:
    policy = admin_sub.add_parser(
        "policy", help="show, set or reset the policy (docs/operations.md)"
    ).add_subparsers(dest="policy_command", required=True)
    show = policy.add_parser("show", help="print the policy in force as JSON")
    show.set_defaults(run=_show)
    put = policy.add_parser("set", help="validate and store a policy (JSON file, or - for stdin)")
    put.add_argument("file", metavar="FILE|-")
    put.set_defaults(run=_set)
    reset = policy.add_parser("reset", help="go back to the defaults")
    reset.set_defaults(run=_reset)


def current(store: SqliteStore) -> tuple[int, Policy]:
    """The revision and policy in force (0 and the defaults when none is stored)."""
    row = store.current_policy()
    if row is None:
        return 0, Policy()
    return row.revision, parse_policy(row.document)


def _show(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        _revision, policy = current(store)
    except PolicyError as exc:
        return fail(f"the stored policy is not valid ({exc}); set a new one")
    print(json.dumps(policy.to_document(), indent=2))
    return OK


def _set(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {exc}", BAD_INPUT)
    try:
        policy = parse_policy(text)
    except PolicyError as exc:
        return fail(f"{exc}; nothing was changed", BAD_INPUT)
    return _store(args, policy, json.dumps(policy.to_document(), sort_keys=True))


def _reset(args: argparse.Namespace) -> int:
    return _store(args, Policy(), "{}")


def _store(args: argparse.Namespace, policy: Policy, document: str) -> int:
    store = open_store(args)
    try:
        _old_revision, old = current(store)
    except PolicyError:
        old = Policy()
    changed = changed_keys(old, policy)
    revision = store.store_policy(document, _who(), time.time())
    record(
        store,
        "policy_changed",
        revision=revision,
        changed=",".join(changed) or "(nothing)",
        reset=document == "{}",
    )
    summary = ", ".join(changed) if changed else "nothing changed"
    print(f"Policy revision {revision} stored ({summary}); a running relay applies it at once.")
    return OK


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"
