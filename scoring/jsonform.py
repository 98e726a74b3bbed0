"""The dossier's JSON form: one nested object per dossier, and its JSON Schema.

This module owns the lossless conversion between the nested JSON form and the
flat one-row form the validator reads, the parsing of a JSON file of dossiers
(refusing what is not one before it costs anything), the JSON Schema generated
from the field table, and the example dossier.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from scoring import DATA_DIR
from scoring.catalogue import code_labels
from scoring.checks import BOOL_WORDS
from scoring.fields import COLUMNS, FIELDS, Field, is_missing
from scoring.schema import SchemaError, Validated, validate_frame


def _typed_value(f: Field, v: Any) -> Any:
    """Convert one typed-frame cell to its JSON value (None when missing)."""
    if is_missing(v):
        return None
    if f.kind == "bool":
        return bool(v)
    if f.kind == "int":
        return int(v)
    if f.kind in ("float", "score"):
        v = float(v)
        return int(v) if f.kind == "float" and v.is_integer() else v
    if f.kind == "date":
        return pd.Timestamp(v).date().isoformat()
    return v.item() if isinstance(v, np.generic) else v


def to_json(row: dict[str, Any] | pd.Series) -> dict[str, Any]:
    """Flat row (canonical columns, typed) -> nested dossier JSON; missing fields are omitted."""
    row = dict(row)
    out: dict[str, Any] = {}
    for f in FIELDS:
        if f.name not in row:
            continue
        v = _typed_value(f, row[f.name])
        if v is None:
            continue
        node = out
        for key in f.path[:-1]:
            node = node.setdefault(key, {})
        node[f.path[-1]] = v
    return out


def from_json(doc: dict[str, Any]) -> dict[str, Any]:
    """Nested dossier JSON -> flat row {column: value}; unknown keys raise with a hint.

    Values are not validated here (`validate_records` does it, with the row numbers).
    """
    if not isinstance(doc, dict):
        raise SchemaError(key="not_object", kind=type(doc).__name__)
    flat: dict[str, Any] = {}
    _walk(doc, (), flat)
    return flat


_GROUPS = {f.path[0] for f in FIELDS if len(f.path) > 1}
_BY_PATH = {f.path: f for f in FIELDS}


def _walk(node: dict[str, Any], prefix: tuple[str, ...], flat: dict[str, Any]) -> None:
    for key, value in node.items():
        path = prefix + (key,)
        if path in _BY_PATH:
            flat[_BY_PATH[path].name] = value
        elif not prefix and key in _GROUPS:
            if not isinstance(value, dict):
                raise SchemaError(f"field {key!r} must be an object of sub-fields, got {value!r}")
            _walk(value, path, flat)
        else:
            known = sorted(".".join(p) for p in _BY_PATH if p[: len(prefix)] == prefix)
            raise SchemaError(
                key="unknown_field",
                name=".".join(path),
                known=", ".join(known[:12]) + (" ..." if len(known) > 12 else ""),
            )


def records_frame(docs: list[dict[str, Any]]) -> pd.DataFrame:
    """Dossier JSON objects -> a flat frame with every canonical column."""
    rows = [from_json(d) for d in docs]
    return pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)


def validate_records(docs: list[dict[str, Any]], *, today: dt.date | None = None) -> Validated:
    """Validate dossier JSON objects (row numbers are 1-based list positions)."""
    return validate_frame(records_frame(docs), today=today)


def load_json_dossiers(text: str) -> tuple[list[dict[str, Any]], bool]:
    """Parse a JSON file holding one dossier or a list; returns (dossiers, was_a_list)."""
    if _depth(text) > MAX_JSON_DEPTH:  # refused before parsing: Python's parser would recurse to its limit
        raise SchemaError(f"not a file of dossiers: its JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SchemaError(key="invalid_json", error=exc.msg, line=exc.lineno, column=exc.colno) from None
    if isinstance(data, list):
        if not data:
            raise SchemaError(key="empty_list")
        return data, True
    return [data], False


MAX_JSON_DEPTH = 64  # a list of dossiers is 3 levels deep


def _depth(text: str) -> int:
    """How deep brackets nest in a JSON text, strings left out."""
    data = np.frombuffer(re.sub(r'"(?:[^"\\]|\\.)*"', "", text).encode("utf-8", "replace"), np.uint8)
    step = np.isin(data, (0x5B, 0x7B)).astype(np.int32) - np.isin(data, (0x5D, 0x7D))
    return int(np.cumsum(step).max(initial=0))


def _no_constant(name: str) -> None:
    raise SchemaError(key="not_a_json_number", name=name)


# --------------------------------------------------------------------------- JSON Schema

SCHEMA_LIMITS = (
    "Rules this schema cannot express, checked by the validator: the requested aid is at most the budget; "
    "n_partners is 0 without a consortium and more than 0 with one, and partner flags need a consortium; "
    "submission_date lies within `year`; neither `year` nor a date is in the future; a dossier_id is on one "
    "row only; \"na\" is an answer only where data/rubric.toml's na_only_when allows it for the dossier's "
    "technology axis, carrier or collaboration. The validator also reads what a person types: codes and "
    'labels in any case and without accents, yes/no words in any case, numbers written as text ("5", '
    '"1200.5"), dates with one-digit months or days (2024-3-5) or with a time (the date as written is kept), '
    "numbers within 1e-9 of a whole number or a half point (a spreadsheet's rounding), and white space around"
    " values."
)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one dossier, generated from FIELDS: the same codes, labels,
    yes/no words, ranges and types as the validator (a property test pins it); `SCHEMA_LIMITS` says
    what it cannot express."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CEP dossier",
        "description": "One health-innovation funding application as examined by the Medicen CEP. " + SCHEMA_LIMITS,
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    for f in FIELDS:
        node = root
        for key in f.path[:-1]:
            node = node["properties"].setdefault(
                key, {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
            )
        node["properties"][f.path[-1]] = _field_schema(f)
        if f.required:
            node["required"].append(f.path[-1])
    return root


def _field_schema(f: Field) -> dict[str, Any]:
    """One field's rule; an optional field may also be missing: null, or a blank text (as a CSV cell is)."""
    s: dict[str, Any] = {"description": f.description}
    if f.kind in ("code", "answer"):
        s["enum"] = list(dict.fromkeys(list(f.allowed) + (code_labels(f.name) if f.kind == "code" else [])))
    elif f.kind == "str":
        s.update(type="string", pattern=r"\S")
    elif f.kind == "bool":
        s["enum"] = [True, False, 1, 0, *BOOL_WORDS]  # 1 and 0: a spreadsheet's yes/no
    elif f.kind == "date":
        s.update(type="string", format="date")
    elif f.kind == "score":
        s.update(type="number", minimum=0, maximum=5, multipleOf=0.5)
    else:
        s["type"] = "integer" if f.kind == "int" else "number"
        if f.lo is not None:
            s["minimum"] = f.lo
        if f.hi is not None:
            s["maximum"] = f.hi
    if f.required:
        return s
    if f.kind == "str":
        return {"description": f.description, "type": ["string", "null"]}
    rule = {k: v for k, v in s.items() if k != "description"}
    return {"description": f.description, "anyOf": [rule, {"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]}


def example() -> dict[str, Any]:
    """A complete valid dossier (JSON form), as `cep-scoring example` prints it."""
    with open(DATA_DIR / "example_dossier.json", encoding="utf-8") as fh:
        return json.load(fh)
