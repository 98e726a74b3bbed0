"""The store's ledger: append-only tables, each write and its audit entry in one transaction.

Owns what every table of the store shares (`Ledger`, the base of `Store`):
the engine, reading (`_read`), writing (`_append`, which inserts the rows and
their audit entries in the caller's transaction: a change and its trace are
committed together or not at all), and the queries of an append-only table,
where nothing is updated or deleted and a newer row supersedes an older one
(highest version, or highest id, wins): `superseding`, `_latest`, the latest
version of a dossier (`_heads`, `_require_head`, `latest_versions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from scoring.store import audit
from scoring.store.models import dossier_versions, dossiers
from scoring.store.records import DossierVersion, from_row

#: Columns an audit entry's details leave out: large JSON the row itself keeps, who and when, which the
#: entry holds as columns of its own, and a password hash, which no reader of the log needs to see.
_NOT_IN_DETAILS = ("payload", "answers", "explanation", "created_at", "created_by", "password_hash")
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class Ledger:
    """The engine and the append-only reads and writes every table of the store goes through."""

    engine: sa.Engine

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _append(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, user: str, action: str
    ) -> Sequence[Any]:
        """Insert `rows` into `table` and one audit entry per row; returns their primary keys."""
        if not rows:
            return []
        now = dt.datetime.now(dt.timezone.utc)
        for r in rows:
            r.update(created_at=now, created_by=user)
        pk = next(iter(table.primary_key.columns))
        keys = conn.execute(table.insert().returning(pk, sort_by_parameter_order=True), rows).scalars().all()
        audit.append(
            conn,
            [
                {
                    "at": now,
                    "user_name": user,
                    "action": action,
                    "entity": table.name,
                    "entity_id": str(key),
                    "dossier_id": r.get("dossier_id"),
                    "details": {
                        k: (v.isoformat() if isinstance(v, dt.date) else v)
                        for k, v in r.items()
                        if k not in _NOT_IN_DETAILS
                    },
                }
                for key, r in zip(keys, rows)
            ],
        )
        return keys

    def _rows_about(self, table: sa.Table, record: type, dossier_id: str, order: str = "id") -> list[Any]:
        """Every row of `table` about a dossier, as records, oldest first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.dossier_id == dossier_id).order_by(table.c[order]))
            return [from_row(record, r) for r in rows]

    @staticmethod
    def _latest(conn: sa.Connection, table: sa.Table, dossier_ids: Sequence[str] | None) -> dict[str, sa.Row]:
        """Latest row (highest id) per dossier of an append-only table."""
        latest = superseding(table)
        if dossier_ids is None:
            return {r.dossier_id: r for r in conn.execute(sa.select(table).where(table.c.id.in_(latest)))}
        out = {}
        for chunk in chunks(dossier_ids):
            q = sa.select(table).where(table.c.id.in_(latest.where(table.c.dossier_id.in_(chunk))))
            out.update({r.dossier_id: r for r in conn.execute(q)})
        return out

    def _heads(self, conn: sa.Connection, ids: Sequence[str], *, lock: bool = False) -> dict[str, DossierVersion]:
        """Latest version of each listed dossier; `lock` holds the dossiers' rows until commit (PostgreSQL)."""
        out = {}
        for chunk in chunks(ids):
            if lock:  # SQLite ignores FOR UPDATE: its BEGIN IMMEDIATE already holds the only write lock
                conn.execute(
                    sa.select(dossiers.c.dossier_id).where(dossiers.c.dossier_id.in_(chunk)).with_for_update()
                ).all()
            for row in conn.execute(latest_versions(dossier_versions.c.dossier_id.in_(chunk))):
                out[row.dossier_id] = from_row(DossierVersion, row)
        return out

    def _require_head(self, conn: sa.Connection, dossier_id: str) -> DossierVersion:
        head = self._heads(conn, [dossier_id]).get(dossier_id)
        if head is None:
            raise KeyError(f"dossier {dossier_id!r} is not in the store; save it first")
        return head


def superseding(table: sa.Table, *per: sa.Column) -> sa.Select:
    """Ids of the rows no later row supersedes: the highest id per dossier (and per `per`)."""
    return sa.select(sa.func.max(table.c.id)).group_by(table.c.dossier_id, *per)


def latest_versions(where: sa.ColumnElement[bool]) -> sa.Select:
    v = dossier_versions
    top = (
        sa.select(v.c.dossier_id, sa.func.max(v.c.version).label("version"))
        .where(where)
        .group_by(v.c.dossier_id)
        .subquery()
    )
    return sa.select(v).join(top, sa.and_(v.c.dossier_id == top.c.dossier_id, v.c.version == top.c.version))


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
