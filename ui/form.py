"""The self-assessment form's model: which field goes in which step, and dossier JSON <-> widget values.

Pure functions over a mapping of widget values (Streamlit's session state in
the app, a dict in tests); the page only draws. The dossier JSON is built
with the library's own conversion (`scoring.jsonform.to_json`), and checked by
its one validator, so the form cannot accept what a file upload would refuse.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from scoring import jsonform
from scoring.catalogue import CRITERIA
from scoring.fields import FIELD_BY_NAME, FIELDS, Field
from scoring.i18n import t
from scoring.issues import Issue
from scoring.rubric import question

PREFIX = "sa.f."
STEPS = ("context",) + CRITERIA + ("results",)
CONTEXT_GROUPS = (
    ("identity", ("dossier_id", "acronym", "title", "call")),
    (
        "project",
        (
            "filiere",
            "therapeutic_area",
            "technology_axis",
            "trl",
            "funding_window",
            "year",
            "submission_date",
            "duration_months",
        ),
    ),
    (
        "carrier",
        (
            "carrier_type",
            "preliminary_interview",
            "collaborative",
            "n_partners",
            "partner_academic",
            "partner_industrial",
            "partner_clinical",
        ),
    ),
    ("budget", ("budget_eur", "aid_requested_eur")),
)
PARTNER_FIELDS = ("n_partners", "partner_academic", "partner_industrial", "partner_clinical")
FORM_FIELDS: tuple[Field, ...] = tuple(FIELD_BY_NAME[n] for _, names in CONTEXT_GROUPS for n in names) + tuple(
    f for f in FIELDS if f.kind == "answer"
)


def key(f: Field) -> str:
    return PREFIX + f.dotted


def step_of(name: str) -> int:
    """Index in STEPS of the step showing a field (the context step for anything not a question)."""
    f = FIELD_BY_NAME.get(name)
    if f is not None and f.kind == "answer":
        return 1 + CRITERIA.index(question(name).criterion)
    return 0


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    return not (isinstance(v, float) and math.isnan(v))


def doc_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The dossier JSON the widgets describe; fields left empty are left out."""
    flat = {f.name: state.get(key(f)) for f in FORM_FIELDS if _present(state.get(key(f)))}
    for name in ("dossier_id", "acronym", "title", "call"):
        if name in flat:
            flat[name] = flat[name].strip()
    if not flat.get("collaborative"):
        # A project without a consortium has no partners: implied, not guessed.
        flat.update(n_partners=0, partner_academic=False, partner_industrial=False, partner_clinical=False)
    return jsonform.to_json(flat)


def issues_by_field(doc: dict[str, Any], today: dt.date | None = None) -> dict[str, list[Issue]]:
    """The validator's problems with `doc`, by field; the same dossier is validated once (the page and the
    Evaluate button ask on every run), and callers only read the answer."""
    return _issues_by_field(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str), today or dt.date.today())


@functools.lru_cache(maxsize=64)
def _issues_by_field(doc_json: str, today: dt.date) -> dict[str, list[Issue]]:
    out: dict[str, list[Issue]] = {}
    for issue in jsonform.validate_records([json.loads(doc_json)], today=today).issues:
        out.setdefault(issue.field, []).append(issue)
    return out


def empty_state() -> dict[str, Any]:
    """Widget values of an empty form."""
    return {
        key(f): (False if f.kind == "bool" and f.name != "preliminary_interview" else "" if f.kind == "str" else None)
        for f in FORM_FIELDS
    }


def _widget_value(f: Field, typed: Any) -> Any:
    """A validated value as its widget holds it, or None when the widget cannot show it."""
    if not _present(typed) or typed is pd.NaT:
        return None
    if f.kind in ("int", "float"):
        # out of range too: the form shows the value with the validator's message under it
        return int(typed) if f.kind == "int" else float(typed)
    if f.kind == "bool":
        return bool(typed)
    if f.kind == "date":
        return pd.Timestamp(typed).date()
    return str(typed)


def state_from_doc(doc: Any, lang: str, today: dt.date | None = None) -> tuple[dict[str, Any], list[Issue]]:
    """Widget values of a saved draft, and the draft's values the form could not take back (with why).

    Raises schema.SchemaError when `doc` is not a dossier at all (not an object, unknown fields).
    """
    today = today or dt.date.today()
    flat = jsonform.from_json(doc)
    v = jsonform.validate_records([doc], today=today)
    typed = v.frame.iloc[0]
    by_field = {}
    for issue in v.issues:
        by_field.setdefault(issue.field, issue)
    state = empty_state()
    rejected = []
    for f in FORM_FIELDS:
        if not _present(flat.get(f.name)):
            continue
        value = _widget_value(f, typed[f.name])
        if value is None:
            rejected.append(by_field.get(f.name) or Issue(1, f.name, flat[f.name], t("ui.draft.out_of_range", lang)))
        else:
            state[key(f)] = value
    form_names = {f.name for f in FORM_FIELDS}
    rejected += [
        Issue(1, name, value, t("ui.draft.not_in_form", lang))
        for name, value in flat.items()
        if name not in form_names and _present(value)
    ]
    return state, rejected
