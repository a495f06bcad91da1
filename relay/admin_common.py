"""What every ``screenrelay admin`` command shares: the store, and auditing
the command itself.

Rule: every admin command that changes something appends one audit row, with
actor ``cli`` (the command line has no sign-in; whoever can write the data
directory is an administrator) and the operating-system user in its detail.
Commands that only read (list, verify, export) write nothing.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path
from typing import Final

from relay.database import open_database
from relay.store import AuditEvent, DetailValue, SqliteStore, Store

#: The audit actor of changes made with ``screenrelay admin``.
CLI_ACTOR: Final = "cli"

#: Exit status: done.
OK: Final = 0
#: Exit status: refused, or a problem found (broken audit chain, unknown account).
FAILED: Final = 1
#: Exit status: the input was not acceptable (weak password, bad time).
BAD_INPUT: Final = 2


def open_store(args: argparse.Namespace) -> SqliteStore:
    """The store in ``--data`` (default: the per-user data directory)."""
    from relay.cli import default_data_dir

    data: Path = args.data or default_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    return SqliteStore(open_database(data / "relay.sqlite"))


def record(store: Store, action: str, now: float | None = None, **detail: DetailValue) -> None:
    """Append the audit row of an admin command."""
    try:
        os_user: str | None = getpass.getuser()
    except (OSError, KeyError):
        os_user = None
    store.append_audit(
        AuditEvent(
            at=time.time() if now is None else now,
            actor=CLI_ACTOR,
            address=None,
            action=action,
            session_id=None,
            detail={**detail, "os_user": os_user},
        )
    )


def fail(message: str, status: int = FAILED) -> int:
    """Say what went wrong on stderr; the exit status."""
    print(f"screenrelay: {message}", file=sys.stderr)
    return status
