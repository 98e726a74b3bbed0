"""The model page says which model is live and why (issue 18)."""

from __future__ import annotations

import json
import shutil

from streamlit.testing.v1 import AppTest

from scoring import persist
from scoring.i18n import t
from tests.ui.conftest import APP, TIMEOUT, texts


def test_the_shipped_model_is_said_trained_with_no_challenger(app, bundle):
    app.switch_page("views/model_card.py").run()
    assert not app.exception, app.exception
    assert t("ui.live.trained", "fr", name=bundle.name, sha=bundle.sha256[:12]) in texts(app)


def test_a_promoted_challenger_is_said_live_with_the_test_that_promoted_it(monkeypatch, tmp_path, small_model_dir):
    live = tmp_path / "cep"
    shutil.copytree(small_model_dir, live)
    bundle = persist.load(live)
    decision = {
        "promote": True,
        "held_out_year": 2024,
        "held_out": 623,
        "z": 5.26,
        "threshold": 1.96,
        "log_loss": {"champion": 0.61, "challenger": 0.5},
        "champion": {"name": "old-model"},
    }
    (tmp_path / "cep.challenge.json").write_text(json.dumps(decision), encoding="utf-8")
    monkeypatch.setenv("CEP_MODEL_DIR", str(live))
    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'cep.db'}")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/model_card.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert (
        t(
            "ui.live.promoted",
            "fr",
            name=bundle.name,
            sha=bundle.sha256[:12],
            champion="old-model",
            year=2024,
            n="623",
            new="0,500",
            old="0,610",
            z="5,3",
            threshold="1,96",
        )
        in shown
    )
