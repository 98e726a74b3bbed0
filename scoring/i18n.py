"""The one translation table: every French and English label the tool shows.

It merges readable files of `data/`: `codes.csv` (labels of coded values),
`rubric.toml` (questions, answers and the interview's `ask`, kept with the rubric because experts
tune them together), `i18n.csv` (the library's words: field and input
names, reason and advice templates) and `i18n_ui.csv` (the app's words).
A key defined twice is an error. Keys are dotted: `filiere.e_sante`,
`field.trl`, `rubric.dq_access`, `rubric.dq_access.not_secured`, `ui.submit`.
French labels get their narrow no-break spaces before ; : ? ! % here, once
(`scoring.formatting.french_spacing`), so the files keep plain spaces.
"""

from __future__ import annotations

import csv
import tomllib
from functools import lru_cache

from scoring import DATA_DIR
from scoring.formatting import french_spacing

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"


@lru_cache(maxsize=1)
def table() -> dict[str, dict[str, str]]:
    """Return {key: {"fr": ..., "en": ...}} for every label of the tool."""
    out: dict[str, dict[str, str]] = {}
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[f"{row['field']}.{row['code']}"] = {"fr": row["fr"], "en": row["en"]}
    with open(DATA_DIR / "rubric.toml", "rb") as fh:
        for q in tomllib.load(fh)["question"]:
            out[f"rubric.{q['id']}"] = {"fr": q["fr"], "en": q["en"]}
            # the interview's question; "ask." not "rubric.": "rubric.<id>.<x>" keys are answers
            out[f"ask.{q['id']}"] = {"fr": q["ask"]["fr"], "en": q["ask"]["en"]}
            for a in q["answers"]:
                out[f"rubric.{q['id']}.{a['code']}"] = {"fr": a["fr"], "en": a["en"]}
    for name in ("i18n.csv", "i18n_ui.csv"):
        path = DATA_DIR / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["key"] in out:
                    raise ValueError(f"data/{name}: key {row['key']!r} is defined twice")
                out[row["key"]] = {"fr": row["fr"], "en": row["en"]}
    for labels in out.values():
        labels["fr"] = french_spacing(labels["fr"])
    return out


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r} is not supported; use one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """Label of `key` in `lang`, formatted with `fmt` (str.format fields).

    A missing key raises KeyError: a test checks that every key the code
    asks for exists in both languages, so nothing falls back silently.
    """
    text = table()[key][check_lang(lang)]
    return text.format(**fmt) if fmt else text


def code_label(field: str, code: str, lang: str = DEFAULT_LANG) -> str:
    """Display label of a coded value, e.g. ("filiere", "e_sante") -> "e-santé"."""
    return t(f"{field}.{code}", lang)
