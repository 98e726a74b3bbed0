"""The catalogue: what the tables of `data/` say a dossier may hold.

This module owns the five criteria and the outcomes, the allowed codes of
each coded field with their labels in every language (`data/codes.csv`),
the questionnaire and its "not applicable" rules (`data/rubric.toml`). Each
table is read once and checked as it is read: a rule naming an unknown code
or field is refused with the file and the fix.
"""

from __future__ import annotations

import csv
import re
import tomllib
import unicodedata
from functools import lru_cache
from typing import Any

from scoring import DATA_DIR

CRITERIA = ("industrial_interest", "scientific_quality", "success_probability", "data_quality", "regulatory_readiness")
SCORE_COLUMNS = tuple(f"score_{c}" for c in CRITERIA)
OUTCOMES = ("labeled", "funded")
NOT_APPLICABLE = "na"


@lru_cache(maxsize=1)
def _code_rows() -> tuple[dict[str, str], ...]:
    """The rows of `data/codes.csv` (field, code, then a label per language), in file order."""
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


@lru_cache(maxsize=1)
def codes() -> dict[str, tuple[str, ...]]:
    """Allowed codes per coded field, in the order of `data/codes.csv`."""
    out: dict[str, list[str]] = {}
    for row in _code_rows():
        out.setdefault(row["field"], []).append(row["code"])
    return {k: tuple(v) for k, v in out.items()}


def _labels(row: dict[str, str]) -> list[str]:
    """A code's labels, one per language column of `data/codes.csv`."""
    return [text for column, text in row.items() if column not in ("field", "code")]


def fold(text: str) -> str:
    """Case- and accent-insensitive form, for matching labels typed by people."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@lru_cache(maxsize=1)
def code_aliases() -> dict[str, dict[str, str]]:
    """Per coded field, {folded label in any language: code}.

    A CEP export writes "e-santé" or "Pharma / Biotech", not our codes; every
    label of `data/codes.csv` is accepted and mapped to the code.
    """
    out: dict[str, dict[str, str]] = {}
    for row in _code_rows():
        m = out.setdefault(row["field"], {})
        for text in (row["code"], *_labels(row)):
            m[fold(text)] = row["code"]
    return out


def code_labels(name: str) -> list[str]:
    """The labels of a coded field's codes in every language, as `data/codes.csv` writes them."""
    return [text for row in _code_rows() if row["field"] == name for text in _labels(row)]


@lru_cache(maxsize=1)
def questions() -> tuple[dict[str, Any], ...]:
    """The questionnaire of `data/rubric.toml`, in file order."""
    with open(DATA_DIR / "rubric.toml", "rb") as fh:
        qs = tomllib.load(fh)["question"]
    for q in qs:
        if q["criterion"] not in CRITERIA:
            raise ValueError(f"data/rubric.toml: question {q['id']} has unknown criterion {q['criterion']!r}")
    return tuple(qs)


#: Context fields a [na_rule.*] of data/rubric.toml may name, and their kind.
NA_CONTEXT = {"technology_axis": "code", "carrier_type": "code", "filiere": "code", "collaborative": "bool"}


@lru_cache(maxsize=1)
def na_rules() -> dict[str, dict[str, tuple]]:
    """{rule: {context field: accepted values}}: where "na" is allowed (`[na_rule.*]` of data/rubric.toml).

    Checked against the codes, and every `na_only_when` of a question names one of them.
    """
    with open(DATA_DIR / "rubric.toml", "rb") as fh:
        rules = tomllib.load(fh).get("na_rule", {})
    out = {}
    for name, spec in rules.items():
        for field_name, values in spec.items():
            kind = NA_CONTEXT.get(field_name)
            allowed = codes()[field_name] if kind == "code" else (True, False)
            if kind is None or not isinstance(values, list) or not values or any(v not in allowed for v in values):
                raise ValueError(
                    f"data/rubric.toml: [na_rule.{name}] {field_name} = {values!r}; name one of "
                    f"{', '.join(NA_CONTEXT)} with a list of its values ({', '.join(map(str, allowed))})"
                    if kind
                    else f"data/rubric.toml: [na_rule.{name}] names {field_name!r}; use one of {', '.join(NA_CONTEXT)}"
                )
        out[name] = {k: tuple(v) for k, v in spec.items()}
    for q in questions():
        rule = q.get("na_only_when")
        if rule is not None and (rule not in out or not q["na_allowed"]):
            raise ValueError(
                f"data/rubric.toml: question {q['id']} has na_only_when = {rule!r}; it needs "
                f"na_allowed = true and one of the rules {', '.join(out)}"
            )
    return out
