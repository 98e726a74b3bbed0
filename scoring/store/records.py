"""What the store takes in and gives back: checked inputs and read-only records.

Inputs are checked here, at the boundary, so that the repository only writes
values that passed: a dossier payload (`prepare`, `prepare_valid`), expert
scores and rubric answers, a committee outcome, a model's probabilities.
Records mirror the columns of their table and are built by `from_row`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scoring import catalogue, jsonform
from scoring.catalogue import CRITERIA, OUTCOMES
from scoring.fields import FIELD_BY_NAME
from scoring.issues import Issue
from scoring.store.errors import InvalidDossierError
from scoring.store.models import EXPERT_KINDS, ID_LENGTH, NAME_LENGTH, ROLES

SCALE = (0.0, 5.0)


def canonical_json(obj: Any) -> str:
    """The one text form of a JSON value: what its sha256 is computed on."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def check_name(value: Any, what: str) -> str:
    """A person's name as recorded with every change: non-empty text that fits the column."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty name, got {value!r}; every change is recorded with who made it")
    if len(value.strip()) > NAME_LENGTH:
        raise ValueError(f"{what} {value[:20]!r}... is longer than {NAME_LENGTH} characters")
    return value.strip()


def id_issue(value: Any, row: int) -> Issue | None:
    """Why `value` cannot identify a dossier in the store, or None when it can."""
    if not isinstance(value, str) or not value.strip():
        return Issue(row, "dossier_id", value, "is missing; every dossier, even a draft, needs an identifier")
    if len(value.strip()) > ID_LENGTH:
        return Issue(row, "dossier_id", value, f"is longer than {ID_LENGTH} characters; use a shorter identifier")
    return None


# --------------------------------------------------------------------------- dossier payloads


@dataclass(frozen=True)
class Prepared:
    """A dossier payload ready to be saved: normalised JSON, its status and its hash."""

    dossier_id: str
    payload: dict[str, Any]
    status: str  # "valid", or "draft" (kept even when incomplete or invalid)
    sha256: str
    issues: tuple[Issue, ...] = ()  # why a draft is not valid yet


def prepare_valid(row: Mapping[str, Any], status: str = "valid") -> Prepared:
    """A row that passed `schema.validate_frame` (typed, canonical columns) -> its payload.

    Outcomes are left out: they are the committee's decision, recorded on their own.
    """
    payload = jsonform.to_json({k: v for k, v in row.items() if k not in OUTCOMES})
    return Prepared(payload["dossier_id"], payload, status, sha256(payload))


def prepare(payload: Mapping[str, Any], *, draft: bool = False, today: dt.date | None = None) -> Prepared:
    """Check a dossier in its JSON form; a draft is kept as typed even when incomplete or invalid.

    Raises `InvalidDossierError` (listing every issue) for an invalid non-draft,
    `schema.SchemaError` for a payload that is not a dossier at all (unknown fields).
    """
    if not isinstance(payload, Mapping):
        raise TypeError(f"a dossier is a JSON object (a dict), got {type(payload).__name__}")
    flat = jsonform.from_json(dict(payload))
    dossier_id = flat.get("dossier_id")
    bad_id = id_issue(dossier_id, 1)
    if bad_id:
        raise InvalidDossierError(dossier_id, [bad_id])
    assert isinstance(dossier_id, str), "id_issue refuses anything but a non-empty string"
    given = [k for k in OUTCOMES if flat.get(k) is not None]
    if given:
        raise ValueError(
            f"dossier {dossier_id!r}: {', '.join(given)} are the committee's outcome; record them "
            f"with Store.record_decision, not in the dossier"
        )
    v = jsonform.validate_records([dict(payload)], today=today)
    if v.ok[0]:
        return prepare_valid(v.frame.iloc[0].to_dict(), "draft" if draft else "valid")
    if not draft:
        raise InvalidDossierError(dossier_id, v.issues)
    kept = json.loads(canonical_json(dict(payload)))
    kept["dossier_id"] = dossier_id.strip()
    return Prepared(kept["dossier_id"], kept, "draft", sha256(kept), tuple(v.issues))


# --------------------------------------------------------------------------- committee inputs


def check_scores(scores: Mapping[str, Any]) -> dict[str, float]:
    """{criterion: score} on the 0-5 half-point scale; criteria left out (or None) were not scored."""
    if not isinstance(scores, Mapping):
        raise TypeError(f"scores must be a mapping {{criterion: score}}, got {type(scores).__name__}")
    out = {}
    for crit, value in scores.items():
        if crit not in CRITERIA:
            raise ValueError(f"unknown criterion {crit!r}; the criteria are {', '.join(CRITERIA)}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"score for {crit} must be a number from 0 to 5, got {value!r}")
        if not SCALE[0] <= value <= SCALE[1] or (value * 2) != int(value * 2):
            raise ValueError(f"score for {crit} is {value!r}; give 0, 0.5, 1, ... 5")
        out[crit] = float(value)
    if not out:
        raise ValueError("an assessment needs at least one criterion score")
    return out


def needs_justification(score: float) -> bool:
    """A score below 3 or of 5 must be argued in writing: the committee reads the extremes first."""
    return score < 3 or score == 5


def check_justifications(scores: Mapping[str, float], justifications: Mapping[str, Any]) -> dict[str, str]:
    """{criterion: written reason} for checked `scores`; refused when a score below 3 or of 5 has none."""
    if not isinstance(justifications, Mapping):
        raise TypeError(f"justifications must be a mapping {{criterion: text}}, got {type(justifications).__name__}")
    out = {}
    for crit, text in justifications.items():
        if crit not in CRITERIA:
            raise ValueError(f"unknown criterion {crit!r}; the criteria are {', '.join(CRITERIA)}")
        if text is None:
            continue
        if not isinstance(text, str):
            raise TypeError(f"the justification of {crit} must be text, got {type(text).__name__}")
        if text.strip():
            if crit not in scores:
                raise ValueError(f"a justification is given for {crit} but no score; score it or remove the text")
            out[crit] = text.strip()
    missing = [c for c in CRITERIA if c in scores and needs_justification(scores[c]) and c not in out]
    if missing:
        raise ValueError(f"a score below 3 or of 5 needs a written justification; write one for {', '.join(missing)}")
    return out


def check_role(role: Any, expert_kind: Any = None) -> tuple[str, str | None]:
    """(role, expert kind) as the users table takes them; the kind is for experts only."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not known; use one of {', '.join(ROLES)}")
    if expert_kind is not None and expert_kind not in EXPERT_KINDS:
        raise ValueError(f"expert kind {expert_kind!r} is not known; use one of {', '.join(EXPERT_KINDS)}")
    if expert_kind is not None and role != "expert":
        raise ValueError(f"an expert kind is given for a {role}; only experts have one (academic or industrial)")
    return role, expert_kind


def check_answers(answers: Mapping[str, Any]) -> dict[str, str]:
    """Rubric answers {question id: answer code}, each a known answer of its question."""
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a mapping {{question: answer}}, got {type(answers).__name__}")
    for qid, code in answers.items():
        f = FIELD_BY_NAME.get(qid)
        if f is None or f.kind != "answer":
            raise ValueError(f"unknown rubric question {qid!r}")
        if code not in f.allowed:
            raise ValueError(f"answer {code!r} to {qid} is not known; allowed: {', '.join(f.allowed)}")
    return dict(answers)


def check_probabilities(probabilities: Mapping[str, Any]) -> dict[str, float]:
    """{outcome: probability}, each from 0 to 1."""
    if not isinstance(probabilities, Mapping) or not probabilities:
        raise ValueError(f"probabilities must be a non-empty mapping {{outcome: p}}, got {probabilities!r}")
    out = {}
    for name, p in probabilities.items():
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"probability {name!r} must be a number from 0 to 1, got {p!r}")
        out[str(name)] = float(p)
    return out


@dataclass(frozen=True)
class Outcome:
    """What the committee and the window decided for a dossier."""

    labeled: bool
    funded: bool | None = None  # None: the window has not answered yet
    funding_window: str | None = None
    decided_on: dt.date | None = None  # None for historical outcomes imported without a date
    amount_eur: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.labeled, bool):
            raise ValueError(f"labeled must be true or false, got {self.labeled!r}")
        if self.funded is not None and not isinstance(self.funded, bool):
            raise ValueError(f"funded must be true, false or unknown (None), got {self.funded!r}")
        windows = catalogue.codes()["funding_window"]
        if self.funding_window is not None and self.funding_window not in windows:
            raise ValueError(f"funding window {self.funding_window!r} is not known; allowed: {', '.join(windows)}")
        if self.decided_on is not None:
            if not isinstance(self.decided_on, dt.date) or isinstance(self.decided_on, dt.datetime):
                raise ValueError(f"decided_on must be a date, got {self.decided_on!r}")
            if self.decided_on > dt.date.today():
                raise ValueError(f"decided_on {self.decided_on.isoformat()} is in the future")
        if self.amount_eur is not None:
            if (
                isinstance(self.amount_eur, bool)
                or not isinstance(self.amount_eur, (int, float))
                or not math.isfinite(self.amount_eur)
                or self.amount_eur < 0
            ):
                raise ValueError(f"amount_eur must be a number of euros of at least 0, got {self.amount_eur!r}")
            if self.funded is False:
                raise ValueError("an amount is given but funded is false; give no amount for an unfunded dossier")

    def columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Outcome)}


@dataclass(frozen=True)
class Review:
    """One reviewer's scores (at least one criterion, 0-5 by half points) and notes on a dossier."""

    scores: Mapping[str, float]
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", check_scores(self.scores))
        if not isinstance(self.notes, str):
            raise TypeError(f"notes must be text, got {type(self.notes).__name__}")


# --------------------------------------------------------------------------- records read back


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite keeps no time zone; the store only ever writes UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def from_row(cls: type, row: Any) -> Any:
    """A record of type `cls` from a result row (or mapping) holding its columns."""
    data = dict(getattr(row, "_mapping", row))
    for key in ("created_at", "at"):
        if data.get(key) is not None:
            data[key] = _utc(data[key])
    return cls(**data)


@dataclass(frozen=True)
class DossierVersion:
    id: int
    dossier_id: str
    version: int
    status: str
    payload: dict[str, Any]
    sha256: str
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class SaveResult:
    dossier_id: str
    version: int
    created: bool  # False: the payload equalled the latest version, nothing was written
    status: str
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True)
class TriageSaved:
    """What `Store.save_triage` wrote: every dossier's save result, how many decisions, whose reviews."""

    saved: tuple[SaveResult, ...]
    decided: int
    reviewed: tuple[str, ...]  # dossier ids with a new review; an unchanged one is not written again


@dataclass(frozen=True)
class Assessment:
    id: int
    dossier_id: str
    dossier_version: int | None
    expert: str
    scores: dict[str, float]
    notes: str
    answers: dict[str, str]  # the rubric answers the expert scored against
    created_at: dt.datetime
    created_by: str
    justifications: dict[str, str] | None = None  # {criterion: written reason}; None before migration 0003


@dataclass(frozen=True)
class Prediction:
    id: int
    dossier_id: str
    dossier_version: int | None
    model_name: str
    model_sha256: str
    probabilities: dict[str, float]
    explanation: dict[str, Any]
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True, kw_only=True)
class Decision(Outcome):
    id: int
    dossier_id: str
    dossier_version: int | None
    created_at: dt.datetime
    created_by: str
    reasons: str | None = None  # why the committee decided so; None before migration 0003

    def outcome(self) -> Outcome:
        return Outcome(**self.columns())


@dataclass(frozen=True)
class User:
    """Someone who may use the app; `password_hash` is None for a user who cannot sign in (workstation)."""

    id: int
    name: str
    role: str
    expert_kind: str | None
    password_hash: str | None = field(repr=False)
    active: bool
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class Assignment:
    id: int
    dossier_id: str
    dossier_version: int | None
    expert: str
    active: bool
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    user_name: str
    action: str
    entity: str
    entity_id: str
    dossier_id: str | None
    prev_hash: str
    entry_hash: str
    details: dict[str, Any] = field(default_factory=dict)
