"""The audit log's hash chain: how an entry is hashed, appended and checked.

Each entry carries the hash of the entry before it (`prev_hash`, `GENESIS` for
the first) and its own (`entry_hash`: SHA-256 over its content and
`prev_hash`). Triggers already refuse changes to the log; the chain is what
shows a change made by someone who went around them (dropped the triggers,
edited the file): an edited entry no longer matches its hash, and a deleted
or inserted one breaks the link of the entry after it.

The chain cannot show a rewrite that recomputes every hash after the edited
entry, nor the deletion of the last entries: comparing the last hash that
`verify` reports with one recorded elsewhere (minutes, a signed mail) can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scoring.store.models import audit_log
from scoring.store.records import sha256

GENESIS = "0" * 64
#: The columns an entry's hash covers (with `prev_hash`); `id` is left out because PostgreSQL
#: assigns it only at insert time, and the chain already fixes each entry's place.
CONTENT = ("at", "user_name", "action", "entity", "entity_id", "dossier_id", "details")
#: Key of the PostgreSQL advisory lock that serialises appends to the chain.
CHAIN_LOCK = 0x43455041  # "CEPA"
_READ_BATCH = 1000


def entry_hash(prev_hash: str, entry: Mapping[str, Any] | sa.RowMapping) -> str:
    """The hash of an entry with these content columns, chained after `prev_hash`."""
    content = {k: _numbers_as_floats(entry[k]) for k in CONTENT if k != "at"}
    at = entry["at"]
    # SQLite gives back the UTC time the store wrote without its zone, PostgreSQL in the session's zone.
    content["at"] = (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat()
    content["prev_hash"] = prev_hash
    return sha256(content)


def _numbers_as_floats(value: Any) -> Any:
    # PostgreSQL's JSONB gives 1e20 back as the integer 100000000000000000000 and 2 as 2:
    # hashing every number as the float it denotes makes the hash independent of the backend.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers_as_floats(v) for v in value]
    raise TypeError(f"an audit entry holds JSON values only, not {type(value).__name__}")


def append(conn: sa.Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """Chain `entries` after the last entry and insert them in this order, in the caller's write transaction."""
    if conn.dialect.name == "postgresql":
        # Two transactions reading the same last hash would fork the chain (the unique prev_hash
        # would then refuse the second): the second waits here until the first commits.
        # SQLite needs nothing: a write transaction there (BEGIN IMMEDIATE) already excludes the others.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK)))
    prev = conn.execute(sa.select(audit_log.c.entry_hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    prev = prev or GENESIS
    rows = []
    for e in entries:
        h = entry_hash(prev, e)
        rows.append({**e, "prev_hash": prev, "entry_hash": h})
        prev = h
    conn.execute(audit_log.insert(), rows)


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: how many entries are intact, and the first broken one if any."""

    entries: int  # intact entries, from the first one (all of them when nothing is broken)
    last_id: int | None  # the last intact entry
    last_hash: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def message(self) -> str:
        if self.intact:
            last = f"last entry {self.last_id}, hash {self.last_hash}" if self.last_id is not None else "empty log"
            return f"{self.entries} entries, chain intact ({last})"
        return (
            f"audit entry {self.broken_id}: {self.problem}. The {self.entries} entries before it are intact. "
            f"The audit log was altered outside the store: restore the database from a backup taken before "
            f"the change, and find out who has write access to it."
        )


def verify(conn: sa.Connection) -> ChainReport:
    """Walk the log in id order and report the first entry whose hash or link is wrong."""
    n, last_id, prev = 0, None, GENESIS
    rows = conn.execution_options(yield_per=_READ_BATCH).execute(sa.select(audit_log).order_by(audit_log.c.id))
    for row in rows:
        if row.prev_hash != prev:
            problem = (
                "it is the first entry but does not start the chain: the entries before it were deleted"
                if last_id is None
                else f"it does not follow entry {last_id}: an entry between them was deleted, or one was "
                f"inserted, or entry {last_id} was rewritten"
            )
            return ChainReport(n, last_id, prev, row.id, problem)
        if row.entry_hash != entry_hash(row.prev_hash, row._mapping):
            return ChainReport(
                n, last_id, prev, row.id, "its content no longer matches its hash: it was changed after it was written"
            )
        n, last_id, prev = n + 1, row.id, row.entry_hash
    return ChainReport(n, last_id, prev)
