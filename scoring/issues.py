"""Issues: why a row is invalid, in the reader's language.

This module owns `Issue` (one reason a row is invalid: its row, field, value,
and a code whose words come from the translation table) and `Collector`,
which gathers the validator's issues column by column, making Python objects
only for the bad cells.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import NA_CONTEXT, na_rules
from scoring.fields import FIELD_BY_NAME, is_missing

#: The field of an issue about a whole dossier rather than one of its fields (a JSON document that is not one).
WHOLE_DOSSIER = "(dossier)"


@dataclass(frozen=True)
class Issue:
    """One reason a row is invalid.

    Issues raised by the validator carry a `code` and its `params`: their words
    come from the translation table (`issue.<code>`), in French or English.
    `reason` is the English text, kept for logs and for issues made elsewhere.
    """

    row: int  # 1-based position of the row in its file or list
    field: str  # canonical column name (the dotted JSON path is in `path`)
    value: Any
    reason: str
    code: str = ""
    params: tuple = ()

    @property
    def path(self) -> str:
        f = FIELD_BY_NAME.get(self.field)
        return f.dotted if f else self.field

    @property
    def empty(self) -> bool:
        """No value given (absent, NaN or blank text): said absent, never quoted."""
        return is_missing(self.value) or (isinstance(self.value, str) and not self.value.strip())

    def reason_in(self, lang: str = "en") -> str:
        return _reason(self.code, dict(self.params), lang) if self.code else self.reason

    def message(self, lang: str = "en") -> str:
        """ "row 3, Technology readiness (TRL): value 'twelve' is not a whole number; ...", in `lang` ("ligne 3,
        Maturité technologique (TRL) : la valeur « douze » ..."): the field by its label (the French one is also
        a header the reader takes), the value as written, numbers in the language's way; an empty value is said
        absent, not quoted; an issue about the whole dossier is its reason after the row."""
        from scoring.display import field_label
        from scoring.i18n import t

        if self.field == WHOLE_DOSSIER:
            return t("issue.message_whole", lang, row=self.row, reason=self.reason_in(lang))
        field = field_label(self.field, lang)
        if self.empty:
            return t("issue.message_missing", lang, row=self.row, field=field, reason=self.reason_in(lang))
        value = value_text(self.field, self.value, lang)
        shown = value if _is_number(self.value) else t("issue.quoted", lang, value=value)
        return t("issue.message", lang, row=self.row, field=field, value=shown, reason=self.reason_in(lang))

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "path": self.path,
            "value": _jsonable(self.value),
            "code": self.code,
            "reason": self.reason_in(lang),
            "message": self.message(lang),
        }


def _reason(code: str, params: dict[str, Any], lang: str) -> str:
    from scoring.i18n import t

    if "na_rule" in params:  # the rule's context in words, from the rubric's table (never copied into a text)
        params = dict(params, when=_na_when(params["na_rule"], lang))
    # a limit is a number, written as the language writes it ("1 000 000 000", not "1e+09")
    params = {k: _num(v, lang) if k in ("lo", "hi") and _is_number(v) else v for k, v in params.items()}
    bounds = params.get("bounds")
    if bounds is not None:  # (lo, hi), either may be None
        lo, hi = bounds
        key = (
            "issue.bounds_range"
            if lo is not None and hi is not None
            else "issue.bounds_min"
            if lo is not None
            else "issue.bounds_max"
        )
        params = dict(params, bounds=t(key, lang, lo=_num(lo, lang), hi=_num(hi, lang)))
    return t(f"issue.{code}", lang, **params)


def _na_when(rule: str, lang: str) -> str:
    from scoring.i18n import code_label, t

    parts = []
    for field_name, values in na_rules()[rule].items():
        if NA_CONTEXT[field_name] == "bool":
            parts += [t(f"issue.na_when.{field_name}.{str(v).lower()}", lang) for v in values]
        else:
            parts.append(
                t(
                    "issue.na_when.codes",
                    lang,
                    field=t(f"input.{field_name}", lang),
                    values=", ".join(code_label(field_name, v, lang) for v in values),
                )
            )
    return t("issue.na_when.and", lang).join(parts)


def _num(v: float | None, lang: str) -> str:
    """A bound as the language writes it: 1e9 -> "1 000 000 000" (fr), "1,000,000,000" (en)."""
    from scoring import formatting

    if v is None:
        return ""
    decimals = 0 if float(v).is_integer() else min(len(repr(float(v)).split(".")[-1]), 3)
    return formatting.number(v, lang, decimals)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def value_text(field: str, value: Any, lang: str) -> str:
    """A refused value as the user gave it, in words: a yes/no field's 1.0 is "oui", 200000.0 is "200 000",
    a text as written."""
    from scoring import formatting
    from scoring.i18n import t

    value = value.item() if isinstance(value, np.generic) else value
    f = FIELD_BY_NAME.get(field)
    if f is not None and f.kind == "bool" and _is_number(value) and value in (0, 1):
        return t("value.yes" if value else "value.no", lang)
    if _is_number(value):
        return formatting.number(value, lang, 0 if float(value).is_integer() else 2)
    return str(value)


def _jsonable(value: Any) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()[:10]
    return value


class Collector:
    """Gathers issues column by column, vectorised: Python objects only for bad cells."""

    def __init__(self, n: int, first_row: int):
        self.issues: list[Issue] = []
        self.bad = np.zeros(n, bool)
        self.first_row = first_row

    def add(self, mask: np.ndarray, name: str, values: pd.Series, code: str, **params: Any) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        raw = values.iloc[idx].to_numpy(dtype=object)  # only the bad cells become Python objects
        reason = _reason(code, params, "en")
        frozen = tuple(sorted(params.items()))
        for i, value in zip(idx, raw):
            self.issues.append(Issue(int(i) + self.first_row, name, value, reason, code, frozen))

    def add_each(self, idx: np.ndarray, name: str, values: pd.Series, code: str, params: list[dict]) -> None:
        """Like `add`, with each row's own parameters (e.g. the other rows holding its id)."""
        if not len(idx):
            return
        self.bad[idx] = True
        reasons: dict[tuple, str] = {}
        for i, value, p in zip(idx, values.iloc[idx].to_numpy(dtype=object), params):
            frozen = tuple(sorted(p.items()))
            reason = reasons.get(frozen) or reasons.setdefault(frozen, _reason(code, p, "en"))
            self.issues.append(Issue(int(i) + self.first_row, name, value, reason, code, frozen))

    def expand(self, distinct: "Collector", index: np.ndarray) -> None:
        """Add the issues found on a column's distinct values (`distinct`) to every row holding that value."""
        if not distinct.issues:
            return
        order = np.argsort(index, kind="stable")
        at = np.searchsorted(index[order], np.arange(len(distinct.bad) + 1))
        rows = {int(k): order[at[k] : at[k + 1]] for k in np.flatnonzero(distinct.bad)}
        for k in rows.values():
            self.bad[k] = True
        for issue in distinct.issues:
            self.issues.extend(replace(issue, row=int(r) + self.first_row) for r in rows[issue.row])
