"""Exporting audit rows as JSON lines or CSV.

Rules:
  1. The columns are fixed, in this order: ``COLUMNS``. Scripts may rely on
     them; new columns are only ever added at the end.
  2. ``time`` is ``at`` as ISO 8601 in UTC, for people; ``at`` stays the
     number the hash covers, for scripts.
  3. ``detail`` is the row's canonical JSON text in CSV, and the same object
     in JSON lines. With ``prev_hash`` and ``hash`` every exported row can be
     checked against the hash formula in ``relay/store.py``.
  4. Filters combine with AND; times compare as ``since <= at < until``.
  5. CSV comes from the csv module and JSON from the json module: no
     hand-made quoting.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, TextIO, TypeAlias

from relay.store import AuditRow, Store, canonical_json

#: The exported columns, in order.
COLUMNS: Final = (
    "id",
    "time",
    "at",
    "actor",
    "address",
    "action",
    "session_id",
    "detail",
    "prev_hash",
    "hash",
)

Format: TypeAlias = Literal["jsonl", "csv"]


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which rows to export; None means any."""

    #: Seconds since the epoch; rows at or after it.
    since: float | None = None
    #: Seconds since the epoch; rows before it.
    until: float | None = None
    session_id: int | None = None
    #: Account name, compared without ASCII case like account names.
    actor: str | None = None
    action: str | None = None

    def matches(self, row: AuditRow) -> bool:
        return (
            (self.since is None or row.at >= self.since)
            and (self.until is None or row.at < self.until)
            and (self.session_id is None or row.session_id == self.session_id)
            and (
                self.actor is None
                or (row.actor is not None and _fold(row.actor) == _fold(self.actor))
            )
            and (self.action is None or row.action == self.action)
        )


def parse_time(text: str) -> float:
    """Seconds since the epoch from ISO 8601 (a date, or a date and time).

    Without a time zone the time is UTC. ValueError with a sentence if it
    does not parse.
    """
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2026-03-01 or 2026-03-01T09:30+01:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def iso_time(at: float) -> str:
    """``at`` as ISO 8601 in UTC, to the microsecond."""
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="microseconds")


def select(store: Store, where: AuditFilter) -> Iterator[AuditRow]:
    """The rows ``where`` matches, in id order, read a page at a time."""
    for row in store.audit_rows(session_id=where.session_id):
        if where.matches(row):
            yield row


def record(row: AuditRow) -> dict[str, Any]:
    """One row as the exported columns (detail as an object)."""
    return {
        "id": row.id,
        "time": iso_time(row.at),
        "at": row.at,
        "actor": row.actor,
        "address": row.address,
        "action": row.action,
        "session_id": row.session_id,
        "detail": dict(row.detail),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def write(rows: Iterable[AuditRow], out: TextIO, fmt: Format) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; return how many."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(record(row), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        fields = record(row)
        fields["detail"] = canonical_json(fields["detail"])
        writer.writerow(["" if fields[c] is None else fields[c] for c in COLUMNS])
        count += 1
    return count


def _fold(name: str) -> str:
    """ASCII case folding, as SQLite's NOCASE compares account names."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
