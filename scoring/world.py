"""The reference tables a model was trained with: its copy of them, their fingerprints, and what changed since.

A model's columns and the criterion scores it reads come from the tables:
`data/codes.csv` (the levels of each coded input, the windows among them),
`data/windows.csv` and `data/window_rules.csv` (the window catalogue whose
one-hots and slopes the model has and the rules it ranks windows by), and
`data/rubric.toml` (questions, answers, points, weights, requirements).
`snapshot()` reads them through their loaders, so comments, spacing and column
order do not count and a new column does, and leaves out the words people read
(labels, question texts, sources), which a translator may change without
retraining. The training writes it beside the model (`world.json`) with one
fingerprint per table in the manifest; `differences()` says, in a sentence
each, how the installed tables differ from a model's copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

from scoring import catalogue, i18n, reference

FILE = "world.json"
TABLES = ("codes", "windows", "window_rules", "rubric")
#: Keys holding words for people (every language of the translation tables, sources, the interview's question
#: `ask`, and any key starting with "source" or a language and "_", or ending in "_" and a language): not part of
#: what a model computes with, so a new language or a reworded label needs no retraining.
TEXT_KEYS = frozenset({*i18n.LANGS, "source", "description", "help", "note", "ask"})


def snapshot() -> dict[str, Any]:
    """The installed tables as plain JSON values, without their words."""
    return {
        "codes": _plain(catalogue.codes()),
        "windows": _plain(reference.catalogue()),
        "window_rules": _plain(reference.window_rules()),
        "rubric": _plain(list(catalogue.questions())),
    }


def fingerprints(world: dict[str, Any]) -> dict[str, str]:
    """One SHA-256 per table, of its canonical JSON."""
    return {
        t: hashlib.sha256(
            json.dumps(world.get(t), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ).hexdigest()
        for t in TABLES
    }


def _plain(value: Any) -> Any:
    """JSON's own values (what world.json reads back as), text keys left out, NaN as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not _is_text(str(k))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _is_text(key: str) -> bool:
    return (
        key in TEXT_KEYS
        or key.startswith(("source", *(f"{lang}_" for lang in i18n.LANGS)))
        or key.endswith(tuple(f"_{lang}" for lang in i18n.LANGS))
    )


# --------------------------------------------------------------------------- differences


def differences(trained: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Sentences saying how the installed tables (`now`) differ from a model's copy (`trained`); [] if alike."""
    out = _codes(trained.get("codes", {}), now["codes"])
    # a window added to or removed from the codes is said once, by _codes
    said = set(trained.get("codes", {}).get("funding_window", [])) ^ set(now["codes"].get("funding_window", []))
    out += _keyed("window", trained.get("windows", {}), now["windows"], "windows in the catalogue", said)
    out += _keyed("window rules of", trained.get("window_rules", {}), now["window_rules"], "windows with rules", said)
    rubric_then = {q["id"]: q for q in trained.get("rubric", [])}
    rubric_now = {q["id"]: q for q in now["rubric"]}
    out += _added(rubric_then, rubric_now, "questions", "the rubric")
    for qid in [q for q in rubric_then if q in rubric_now]:
        a, b = rubric_then[qid], rubric_now[qid]
        answers_a = [x["code"] for x in a.get("answers", [])]
        answers_b = [x["code"] for x in b.get("answers", [])]
        if answers_a != answers_b:
            out.append(
                f"question {qid}: the model was trained with {len(answers_a)} answers, the rubric now has "
                f"{len(answers_b)}{_new_gone(answers_a, answers_b)}"
            )
        else:
            out += [f"question {qid}: {c}" for c in _changes(a, b)]
    return out


def _codes(a: dict[str, list[str]], b: dict[str, list[str]]) -> list[str]:
    out = []
    for field in sorted(set(a) | set(b), key=lambda f: (f != "funding_window", f)):
        old, new = a.get(field, []), b.get(field, [])
        if old == new:
            continue
        noun, where = ("windows", "the catalogue") if field == "funding_window" else (f"{field} codes", "codes.csv")
        if len(old) != len(new):
            out.append(f"the model was trained with {len(old)} {noun}, {where} now has {len(new)}{_new_gone(old, new)}")
        else:
            out.append(f"the {noun} of {where} differ from the model's{_new_gone(old, new) or ' (their order)'}")
    return out


def _keyed(what: str, a: dict[str, Any], b: dict[str, Any], plural: str, said: set[str]) -> list[str]:
    """Entries added or removed (but those in `said`, already reported), then each common entry's changes."""
    unsaid = (set(a) ^ set(b)) - said
    out = (
        []
        if not unsaid
        else [
            f"{plural}: {len(a)} when the model was trained, {len(b)} now"
            f"{_new_gone([k for k in a if k in unsaid], [k for k in b if k in unsaid])}"
        ]
    )
    return out + [f"{what} {k}: {c}" for k in a if k in b for c in _changes(a[k], b[k])]


def _added(a: dict[str, Any], b: dict[str, Any], noun: str, where: str) -> list[str]:
    if set(a) == set(b):
        return []
    return [f"the model was trained with {len(a)} {noun}, {where} now has {len(b)}{_new_gone(list(a), list(b))}"]


def _changes(a: Any, b: Any, limit: int = 2) -> list[str]:
    """Up to `limit` 'key old -> new' of two entries (dicts compared key by key, anything else whole)."""
    if a == b:
        return []
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [f"{_short(a)} -> {_short(b)}"]
    keys = [k for k in list(a) + [k for k in b if k not in a] if a.get(k) != b.get(k)]
    return [f"{k} {_short(a.get(k))} -> {_short(b.get(k))}" for k in keys[:limit]] + (
        [f"and {len(keys) - limit} more"] if len(keys) > limit else []
    )


def _short(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _new_gone(old: list[str], new: list[str]) -> str:
    parts = [
        f"{label}: {', '.join(map(str, xs))}"
        for label, xs in (("new", [x for x in new if x not in old]), ("gone", [x for x in old if x not in new]))
        if xs
    ]
    return f" ({'; '.join(parts)})" if parts else ""
