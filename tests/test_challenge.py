"""Champion and challenger (issue 18): a committee that becomes stricter from one year."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import expit, logit

from scoring.challenge import challenge
from scoring.cli import cli
from scoring.model import CEPModel
from scoring.schema import validate_frame
from scoring.synthetic import generate

DRIFT_YEAR, SHIFT = 2023, -1.5  # from 2023 the committee labels at odds e^-1.5 of before


@pytest.mark.slow
def test_the_challenger_loses_before_the_drift_and_wins_after_it():
    past = validate_frame(generate(3000, 1)).frame
    champion = CEPModel(seed=0, n_bootstrap=0).fit(past[past["year"] < DRIFT_YEAR])  # trained before the drift
    raw = generate(4000, 2)
    rng = np.random.default_rng(18)
    p = raw["true_p_labeled"].to_numpy()
    labeled = rng.random(len(raw)) < expit(logit(p) + np.where(raw["year"] >= DRIFT_YEAR, SHIFT, 0.0))
    funded = rng.random(len(raw)) < raw["true_p_funded"].to_numpy()
    decided = validate_frame(raw.assign(labeled=labeled, funded=labeled & funded)).frame
    _, before = challenge(champion, decided[decided["year"] < DRIFT_YEAR])
    assert before["held_out_year"] == DRIFT_YEAR - 1 and not before["promote"]
    challenger, after = challenge(champion, decided)
    assert after["held_out_year"] == 2024 and after["promote"], after
    assert after["log_loss"]["challenger"] < after["log_loss"]["champion"]
    assert after["z"] > after["threshold"]


def test_too_few_recent_decisions_are_no_contest(bundle):
    frame = validate_frame(generate(300, 5)).frame
    frame = frame[(frame["year"] < 2024) | (frame.index < 20)]
    challenger, decision = challenge(bundle.model, frame)
    assert challenger is None and not decision["promote"] and "too few" in decision["reason"]


def test_the_champions_folder_is_never_the_challengers(tmp_path, bundle):
    data = tmp_path / "base.csv"
    generate(300, 5).to_csv(data, index=False)
    r = CliRunner().invoke(cli, ["train", "--challenge", "--data", str(data), "--out", str(bundle.directory)])
    assert r.exit_code == 2 and "champion" in r.output


@pytest.mark.slow
def test_a_champion_trained_on_more_stays_nothing_is_written_and_the_decision_is_audited(tmp_path, monkeypatch):
    import sqlalchemy as sa

    from scoring.store import Store
    from scoring.store.models import audit_log

    url = f"sqlite:///{tmp_path / 'cep.db'}"
    monkeypatch.setenv("CEP_DB_URL", url)
    data = tmp_path / "base.csv"
    generate(1500, 6).to_csv(data, index=False)
    out = tmp_path / "challenger"
    r = CliRunner().invoke(
        cli, ["train", "--challenge", "--data", str(data), "--out", str(out)], catch_exceptions=False
    )
    assert r.exit_code == 0, r.output
    decision = json.loads(r.stdout[r.stdout.index("{") :])
    assert not decision["promote"] and decision["champion"]["name"]
    assert not out.exists()
    with Store(url) as store, store.engine.connect() as conn:
        [entry] = conn.execute(sa.select(audit_log).where(audit_log.c.action == "challenge")).all()
        assert entry.details["promote"] is False and entry.entity_id == decision["champion"]["sha256"]
        assert store.verify_audit().broken_id is None
