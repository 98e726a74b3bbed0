"""What a reader sees, and the checks that it is all in the reader's language.

Shared by the AppTest pages, the reports, the command line and the browser test:
French text must hold no English word from a list, no number with a decimal
point and no column name or code; English text no French word from a list.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from google.protobuf.json_format import MessageToDict

from tests.ui.conftest import unescape as markdown_unescape

# Words that are English and never French (nor a proper noun the tool uses).
ENGLISH = (
    "the",
    "and",
    "with",
    "without",
    "rows",
    "row",
    "empty",
    "outside",
    "training",
    "scored",
    "missing",
    "value",
    "is",
    "are",
    "not",
    "yes",
    "true",
    "false",
    "labelled",
    "funded",
    "window",
    "windows",
    "unknown",
    "error",
    "allowed",
    "field",
    "download",
    "upload",
    "browse",
    "drag",
    "data",
    "model",
    "probability",
    "points of",
    "intended",
    "limits",
    "should",
    "must",
    "only",
    "which",
    "when",
)
# Words that are French and never English.
FRENCH = (
    "le",
    "la",
    "les",
    "des",
    "du",
    "est",
    "et",
    "avec",
    "sans",
    "pour",
    "une",
    "dans",
    "sur",
    "oui",
    "non",
    "ligne",
    "lignes",
    "guichet",
    "labellisé",
    "financé",
    "donnée",
    "données",
    "modèle",
    "valeur",
    "entre",
)
# Proper nouns and the tool's own words that the lists would otherwise catch.
ALLOWED = ("Horizon Europe", "Medi'Scope", "e-santé", "cep-additive-logit", "HL7 FHIR", "AI Act", "RHU (France 2030)")
_WORDS = {
    lang: re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    for lang, words in (("en", ENGLISH), ("fr", FRENCH))
}
_DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_FIELD_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\banswers\.\w+")
# Proto fields that are not shown: ids, keys, formats, icons, file names, the chart spec (read apart).
_HIDDEN = {
    "id",
    "formId",
    "key",
    "type",
    "icon",
    "format",
    "fileName",
    "url",
    "spec",
    "data",
    "datasets",
    "useContainerWidth",
    "step",
    "default",
    "value",
    "setValue",
    "vegaLiteTheme",
    "selectionMode",
    "columns",
    "width",
    "height",
    "columnOrder",
    "editingMode",
    "scriptRunId",
    "dataType",
    "styler",
}


def _strings(obj: Any, out: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _HIDDEN:
                _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)
    elif isinstance(obj, str):
        out.append(obj)


def _chart_strings(spec: str, out: list[str]) -> None:
    """A chart's titles and the labels its axes show (the text columns of its data)."""
    chart = json.loads(spec)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "title" and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in chart.items() if k != "datasets"})


def shown(at) -> str:
    """Every text an AppTest page shows: labels, values, options, help, tables and chart titles.

    The technical card's Markdown source (an `st.code`) is left out: it is the
    card as written, one click away, on purpose. A style sheet counts for the
    words it puts on the screen.
    """
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind == "code":
            return
        if kind == "html":  # a style sheet (the uploaders' words): what it shows is its `content` strings
            out.extend(re.findall(r'content: "((?:[^"\\]|\\.)*)"', node.proto.body))
            return
        if proto is not None and kind not in ("arrow_data_frame", "dataframe"):
            d = MessageToDict(proto)
            _strings(d, out)
            if "spec" in d:
                _chart_strings(d["spec"], out)
        if kind in ("arrow_data_frame", "dataframe"):
            frame = node.value
            out.extend(str(c) for c in frame.columns)
            out.extend(str(v) for col in frame.columns for v in frame[col].tolist() if isinstance(v, str))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return markdown_unescape("\n".join(out))


def html_text(html: str) -> str:
    return unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "\n", html, flags=re.S))


def problems(text: str, lang: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The lines of `text` breaking the language's rules, each with what it breaks."""
    out = []
    other = "en" if lang == "fr" else "fr"
    for line in text.splitlines():
        checked = line
        for a in allowed:
            checked = checked.replace(a, "")
        found = [f"{other} word {w!r}" for w in _WORDS[other].findall(checked)]
        if lang == "fr":
            found += [f"decimal point {n!r}" for n in _DECIMAL_POINT.findall(checked)]
            found += [f"field name or code {n!r}" for n in _FIELD_NAME.findall(checked)]
        if found:
            out.append(f"{', '.join(found)} in: {line.strip()[:160]}")
    return out
