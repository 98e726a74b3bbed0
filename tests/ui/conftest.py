"""Fixtures of the app's tests: the app under AppTest, on the default model, with a private store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scoring import jsonform

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
TIMEOUT = 30  # seconds per run: the first one loads the model


@pytest.fixture
def app(monkeypatch, tmp_path) -> AppTest:
    """The app, run once, on its first page; the dossier store is a fresh SQLite file."""
    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'cep.db'}")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(
    at: AppTest, key: str, name: str | None, content: bytes | list[tuple[str, bytes, str]], mime: str | None
) -> AppTest:
    """Upload one file, or several: `name` None and `content` a list of (name, bytes, mime)."""
    at.file_uploader(key=key).set_value(content if name is None else (name, content, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def pick_top(at: AppTest) -> str:
    """Open the triage queue's first dossier in the pane (none is open until one is picked); its id."""
    from scoring.i18n import t

    [(table, lang)] = [(d.value, x) for d in at.dataframe for x in ("fr", "en") if t("ui.queue.rank", x) in d.value]
    top = table[t("ui.queue.dossier_id", lang)].iloc[0]
    at.selectbox(key="tr.pick").select(top).run()
    assert not at.exception, at.exception
    return top


def example_bytes(**changes) -> bytes:
    doc = jsonform.example()
    doc.update(changes)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def texts(at: AppTest) -> str:
    """Every text the page shows (markdown, captions, alerts, metrics), joined, for containment checks.

    Markdown's backslash escapes are removed (`unescape`).
    """
    parts = [
        e.value for kind in ("markdown", "caption", "error", "warning", "info", "success") for e in getattr(at, kind)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return unescape("\n".join(str(p) for p in parts))


def unescape(markdown: str) -> str:
    """Markdown without the backslash escapes `ui.components.plain` adds: what the reader sees."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
