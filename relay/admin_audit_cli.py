"""``screenrelay admin audit``: verify, export and prune the audit trail.

verify [--head ID:HASH]   check the chain (relay/audit_chain.py); print the
                          problems, each naming its row, and the head. With
                          --head, also check that a head recorded earlier is
                          still in the chain. Exit status 1 on any problem.
export --format jsonl|csv [--since ISO] [--until ISO] [--session ID]
       [--actor NAME] [--action A] [-o FILE]
                          rows as relay/audit_export.py writes them
prune --before ISO        remove the oldest rows, those before the time,
                          leaving a row that says so; refused while the
                          chain has problems (pruning would hide them)
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, TextIO

from relay import audit_export
from relay.admin_common import BAD_INPUT, CLI_ACTOR, FAILED, OK, fail, open_store
from relay.database import DatabaseError
from relay.store import AuditHead, Store

_HEAD: Final = re.compile(r"([1-9][0-9]*):([0-9a-f]{64})")


def add_parser(admin_sub: Any) -> None:
    audit = admin_sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="check that no row was edited, inserted or deleted")
    verify.add_argument(
        "--head",
        type=_parse_head,
        metavar="ID:HASH",
        help="a head printed by an earlier verify: check that it is still in the chain",
    )
    verify.set_defaults(run=_verify)
    export = audit.add_parser("export", help="write rows as JSON lines or CSV")
    export.add_argument("--format", choices=["jsonl", "csv"], required=True)
    export.add_argument("--since", type=_parse_time, metavar="ISO", help="rows at or after")
    export.add_argument("--until", type=_parse_time, metavar="ISO", help="rows before")
    export.add_argument("--session", type=int, metavar="ID", help="rows of one session")
    export.add_argument("--actor", metavar="NAME", help="rows of one account (or 'cli')")
    export.add_argument("--action", metavar="A", help="rows of one action, e.g. sign_in_failed")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(run=_export)
    prune = audit.add_parser("prune", help="remove rows older than a time")
    prune.add_argument("--before", type=_parse_time, required=True, metavar="ISO")
    prune.set_defaults(run=_prune)


def _parse_time(text: str) -> float:
    try:
        return audit_export.parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parse_head(text: str) -> AuditHead:
    match = _HEAD.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a head as verify prints it: ID:HASH (64 hex digits)"
        )
    return AuditHead(int(match[1]), match[2])


def _verify(args: argparse.Namespace) -> int:
    store = open_store(args)
    result = store.verify_audit()
    start = f"after pruned row {result.starts_after}" if result.starts_after else "from the start"
    if result.ok:
        print(f"Audit trail: {result.rows} rows checked {start}; no problems.")
    else:
        count = len(result.problems)
        print(f"Audit trail: {result.rows} rows checked {start}; {count} problem(s):")
        for line in result.problems:
            print(f"  {line}")
    ok = result.ok
    if args.head is not None:
        problem = store.check_audit_head(args.head)
        recorded = f"{args.head.id}:{args.head.hash}"
        if problem is None:
            print(f"Recorded head {recorded}: still in the chain.")
        else:
            print(f"Recorded head {recorded}: {problem}.")
            ok = False
    _print_head(store)
    return OK if ok else FAILED


def _print_head(store: Store) -> None:
    head = store.audit_head()
    if head is None:
        print("Head: none (the audit trail is empty).")
        return
    print(f"Head: {head.id}:{head.hash}")
    print("  Keep this line somewhere the relay's administrators cannot change; later,")
    print(f"  'screenrelay admin audit verify --head {head.id}:{head.hash}'")
    print("  shows whether anything up to it was rewritten.")


def _export(args: argparse.Namespace) -> int:
    if args.since is not None and args.until is not None and args.since >= args.until:
        return fail("--since must be before --until", BAD_INPUT)
    store = open_store(args)
    where = audit_export.AuditFilter(
        since=args.since,
        until=args.until,
        session_id=args.session,
        actor=args.actor,
        action=args.action,
    )
    with _output(args.output) as out:
        count = audit_export.write(audit_export.select(store, where), out, args.format)
    if args.output is not None:
        print(f"Wrote {count} rows to {args.output}.")
    return OK


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    # newline="" as the csv module asks; JSON lines end in "\n" either way.
    with path.open("w", encoding="utf-8", newline="") as out:
        yield out


def _prune(args: argparse.Namespace) -> int:
    now = time.time()
    if args.before > now:
        return fail("--before is in the future; prune only what is already old", BAD_INPUT)
    store = open_store(args)
    result = store.verify_audit()
    if not result.ok:
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        return fail(
            "the audit trail has problems (above); pruning would hide them, so nothing was"
            " removed. Investigate, keep a copy (export), then decide."
        )
    try:
        removed = store.prune_audit(args.before, now=now, actor=CLI_ACTOR)
    except DatabaseError as exc:
        return fail(str(exc))
    if removed == 0:
        print(f"No rows before {audit_export.iso_time(args.before)}; nothing removed.")
    else:
        print(f"Removed {removed} rows before {audit_export.iso_time(args.before)}.")
    _print_head(store)
    return OK
