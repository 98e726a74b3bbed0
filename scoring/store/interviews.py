"""The preliminary interview's outcome in the store (issue 18): recorded with its audit entry, read back.

Recording an outcome also says, in the dossier itself, that the interview took place: when the latest
version's `preliminary_interview` is not true, a new version with it true is saved first (the model reads
that input), then the outcome row is written against that version. Both go through the store's append-only
paths, so each has its audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scoring.catalogue import codes
from scoring.store import db
from scoring.store.models import INTERVIEW_OUTCOMES, interviews
from scoring.store.records import check_name, from_row
from scoring.store.repository import Store


@dataclass(frozen=True)
class Interview:
    id: int
    dossier_id: str
    dossier_version: int | None
    outcome: str
    funding_window: str | None
    notes: str
    created_at: dt.datetime | None = None
    created_by: str | None = None


def record_interview(
    store: Store, dossier_id: str, outcome: str, *, user: str, notes: str = "", funding_window: str | None = None
) -> Interview:
    """Record what the expert advised after the interview; a re-plan names the window it aims at."""
    user = check_name(user, "user")
    if outcome not in INTERVIEW_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(INTERVIEW_OUTCOMES)}, got {outcome!r}")
    if outcome == "replan" and not funding_window:
        raise ValueError("a re-plan names the window it aims at: give funding_window")
    if funding_window is not None and funding_window not in codes()["funding_window"]:
        raise ValueError(f"unknown funding_window {funding_window!r}")
    if not isinstance(notes, str):
        raise TypeError(f"notes must be text, got {type(notes).__name__}")
    head = store.load_dossier(dossier_id)
    if head.payload.get("preliminary_interview") is not True:
        store.save_dossier(
            {**head.payload, "preliminary_interview": True},
            user=user,
            expected_version=head.version,
            draft=head.status == "draft",
        )
    with db.write_transaction(store.engine) as conn:
        version = store._require_head(conn, dossier_id).version  # the store's own head lookup, in this transaction
        row: dict[str, Any] = {
            "dossier_id": dossier_id,
            "dossier_version": version,
            "outcome": outcome,
            "funding_window": funding_window,
            "notes": notes.strip(),
        }
        [key] = store._append(conn, interviews, [row], user=user, action="interview")
    return Interview(id=key, **row)


def latest_interviews(store: Store) -> dict[str, Interview]:
    """The latest interview outcome of every interviewed dossier (what the queue shows)."""
    latest = sa.select(sa.func.max(interviews.c.id)).group_by(interviews.c.dossier_id)
    with store.engine.connect() as conn:
        return {
            r.dossier_id: from_row(Interview, r)
            for r in conn.execute(sa.select(interviews).where(interviews.c.id.in_(latest)))
        }
