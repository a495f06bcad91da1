"""Checking the audit hash chain: pure logic over rows a store reads.

Rules (the hash of one row is :func:`relay.store.audit_hash`):
  1. The chain starts at the genesis (before id 1, ``prev_hash`` 64 zeros),
     or, after a prune, at the last pruned row: an ``audit_pruned`` row names
     it (``through_id``, ``through_hash``), and the first row left must come
     right after it. Of several prune rows, the newest one below the first
     row left counts.
  2. Each row's id is one more than the previous row's: a gap is rows
     deleted, reported with their ids.
  3. Each row's ``prev_hash`` is the previous row's ``hash``; otherwise a row
     was inserted there, or the rows before it rewritten.
  4. Each row's ``hash`` is the hash of its own columns; otherwise it was
     edited.
  5. The highest id the table ever issued is the last row's id; otherwise
     rows were deleted at the end.
  6. The append-only triggers exist.

A careful attacker can rewrite every row after an edit so that all of this
holds; only a head (id and hash) kept somewhere else catches that:
:func:`head_problem`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Final

#: The action of the row a prune writes before it deletes.
PRUNED_ACTION: Final = "audit_pruned"

#: prev_hash of the first audit row.
GENESIS_HASH: Final = "0" * 64


@dataclasses.dataclass(frozen=True, slots=True)
class Anchor:
    """Where the chain starts: the row before the first one present."""

    #: 0 for the genesis, else the last pruned row's id.
    id: int
    hash: str


GENESIS: Final = Anchor(0, GENESIS_HASH)


def prune_detail(detail_json: str) -> Anchor | None:
    """The last pruned row an ``audit_pruned`` row's detail names, if it parses."""
    try:
        detail = json.loads(detail_json)
    except ValueError:
        return None
    if not isinstance(detail, Mapping):
        return None
    through_id = detail.get("through_id")
    through_hash = detail.get("through_hash")
    if isinstance(through_id, bool) or not isinstance(through_id, int) or through_id < 1:
        return None
    if not isinstance(through_hash, str):
        return None
    return Anchor(through_id, through_hash)


def find_anchor(first_id: int | None, prunes: Iterable[Anchor]) -> Anchor:
    """Rule 1: the newest prune below ``first_id`` (the lowest id present), or the genesis."""
    if first_id is None:
        return GENESIS
    below = [a for a in prunes if a.id < first_id]
    return max(below, key=lambda a: a.id) if below else GENESIS


class ChainChecker:
    """Feed it every row in id order, then call :meth:`finish`."""

    def __init__(self, anchor: Anchor) -> None:
        self.anchor = anchor
        self.problems: list[str] = []
        self.rows = 0
        self._expected_id = anchor.id + 1
        self._prev_hash = anchor.hash

    def row(self, row_id: int, stored_prev: str, stored_hash: str, computed: str | None) -> None:
        """One row; ``computed`` is its hash recomputed (None if it could not be)."""
        self.rows += 1
        if row_id != self._expected_id:
            self.problems.append(
                f"row {row_id}: rows {id_range(self._expected_id, row_id - 1)} before it"
                " are missing (deleted)"
            )
        elif stored_prev != self._prev_hash:
            self.problems.append(
                f"row {row_id}: its prev_hash is not the hash of the row before it"
                " (a row was inserted here, or the rows before it were rewritten)"
            )
        if computed != stored_hash:
            self.problems.append(f"row {row_id}: its contents do not match its hash (row edited)")
        self._expected_id = row_id + 1
        self._prev_hash = stored_hash

    def finish(self, highest_issued: int, missing_triggers: Iterable[str]) -> list[str]:
        """Rules 5 and 6; the problems found, in row order."""
        if highest_issued >= self._expected_id:
            self.problems.append(
                f"rows {id_range(self._expected_id, highest_issued)} at the end are missing"
                " (deleted)"
            )
        missing = sorted(missing_triggers)
        if missing:
            self.problems.append(
                f"the triggers that keep the audit append-only are missing: {', '.join(missing)}"
            )
        return self.problems


def head_problem(
    head_id: int,
    head_hash: str,
    *,
    stored_hash: str | None,
    anchor: Anchor,
    last_id: int | None,
) -> str | None:
    """None when a recorded head still holds, else one sentence saying why not.

    ``stored_hash`` is the hash of row ``head_id`` if that row exists;
    ``anchor`` is where the chain starts now; ``last_id`` the newest row's id.
    """
    recorded = f"the recorded head {head_id}:{head_hash}"
    if stored_hash is not None:
        if stored_hash == head_hash:
            return None
        return (
            f"row {head_id} now has hash {stored_hash}, not {recorded}'s:"
            f" the audit trail was rewritten at or before row {head_id}"
        )
    if head_id == anchor.id and anchor.id > 0:
        if anchor.hash == head_hash:
            return None
        return (
            f"row {head_id} was pruned, and the prune recorded hash {anchor.hash},"
            f" not {recorded}'s: the audit trail was rewritten at or before row {head_id}"
        )
    if head_id < anchor.id:
        return (
            f"row {head_id} was pruned (rows up to {anchor.id} were removed), so {recorded}"
            " can no longer be checked; record the current head instead"
        )
    if last_id is None or head_id > last_id:
        end = "it is empty" if last_id is None else f"it ends at row {last_id}"
        return (
            f"there is no row {head_id} ({end}): rows were deleted at the end,"
            " or the head is from another relay"
        )
    return f"row {head_id} is missing (deleted)"


def id_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"
