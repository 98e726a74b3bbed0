"""The model checked against the committee's decisions (issue 18): a simulated committee that drifts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.special import expit, logit

from scoring import monitor
from scoring.synthetic import generate

DRIFT_YEAR, DRIFT_WINDOW, SHIFT = 2023, "anr", -1.0  # from 2023 the ANR panel labels at odds e^-1 of before


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    # 3,000 dossiers over 2019-2024, about 500 a year: the CEP's order of magnitude, not the training base's
    return generate(3000, 7)


def committee(base: pd.DataFrame, seed: int, drift: bool) -> pd.DataFrame:
    """Decisions of a committee whose probabilities are the generator's true ones (the recorded prediction is
    then a perfectly calibrated champion's), the drifting window stricter from DRIFT_YEAR when `drift`."""
    p = base["true_p_labeled"].to_numpy()
    shift = np.where((base["funding_window"] == DRIFT_WINDOW) & (base["year"] >= DRIFT_YEAR), SHIFT, 0.0)
    y = np.random.default_rng(seed).random(len(base)) < expit(logit(p) + (shift if drift else 0.0))
    return base[["year", "funding_window", "filiere"]].assign(p_labeled=p, labeled=y.astype(float))


def test_the_drift_is_flagged_once_enough_decisions_show_it_and_not_before(base):
    decided = committee(base, 18, drift=True)
    for year in range(2019, DRIFT_YEAR):  # imported year by year: no drift yet, none flagged
        assert not monitor.monitor(decided[decided["year"] <= year])["drift"], year
    first = decided[(decided["year"] == DRIFT_YEAR) & (decided["funding_window"] == DRIFT_WINDOW)].index[:15]
    early = decided[(decided["year"] < DRIFT_YEAR) | decided.index.isin(first)]
    report = monitor.monitor(early)  # the first 15 decisions of the stricter panel: too few to tell
    assert not report["drift"]
    assert f"funding_window={DRIFT_WINDOW}, year={DRIFT_YEAR}" in report["too_small"]
    report = monitor.monitor(decided)
    assert report["drift"]
    flagged = {d["group"]: d for d in report["drifted"]}
    assert f"funding_window={DRIFT_WINDOW}, year={DRIFT_YEAR}" in flagged
    assert all(d["direction"] == "stricter" for d in flagged.values())
    assert not any(g.startswith("funding_window=") and DRIFT_WINDOW not in g for g in flagged)


def test_a_calibrated_committee_is_not_called_drifting_more_often_than_the_test_allows(base):
    alarms = sum(monitor.monitor(committee(base, seed, drift=False))["drift"] for seed in range(20))
    assert alarms <= 1  # Holm at 1 %: about 0.2 false alarms expected in 20 committees


def test_the_reliability_band_holds_a_calibrated_committee_and_the_z_test_is_the_documented_one(base):
    decided = committee(base, 3, drift=False)
    curve = monitor.monitor(decided)["overall"]["reliability"]
    inside = [b["band"][0] <= b["observed"] <= b["band"][1] for b in curve]
    assert sum(inside) >= len(curve) - 1  # a 95 % band: one bin of ten may fall outside by chance
    p, y = decided["p_labeled"].to_numpy(), decided["labeled"].to_numpy()
    by_year = {g["group"]["year"]: g for g in monitor.monitor(decided)["groups"] if list(g["group"]) == ["year"]}
    assert sum(b["n"] for b in by_year[2024]["reliability"]) == by_year[2024]["n"]  # each group has its curve
    z, pv = monitor.calibration_z(p, y)
    assert z == pytest.approx((y.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum()))


def test_outcomes_not_yet_known_are_left_out_and_small_groups_are_said_too_small():
    frame = pd.DataFrame(
        {
            "year": [2024] * 12,
            "funding_window": ["anr"] * 12,
            "filiere": ["medtech"] * 12,
            "p_success": [0.5] * 12,
            "success": [1.0, 0.0] * 5 + [None, None],
        }
    )
    report = monitor.monitor(frame, "success")
    assert report["n"] == 10 and not report["drift"]
    assert "year=2024" in report["too_small"]


def test_the_store_path_uses_the_prediction_recorded_before_the_decision(tmp_path, dossier, monkeypatch):
    from scoring.cli import cli
    from scoring.store import Outcome, Store, prepare

    url = f"sqlite:///{tmp_path / 'cep.db'}"
    with Store(url) as store:
        docs = [dict(dossier, dossier_id=f"D-{k}") for k in range(3)]
        store.ingest([prepare(d) for d in docs], {}, user="import")
        for k, d in enumerate(docs):
            store.record_prediction(
                d["dossier_id"],
                model_name="m",
                model_sha256="0" * 64,
                probabilities={"labeled": 0.1 * (k + 1), "success": 0.05},
                explanation={},
                user="app",
            )
        store.ingest([prepare(d) for d in docs], {d["dossier_id"]: Outcome(True, None) for d in docs}, user="cep")
        store.record_prediction(
            "D-0", model_name="m", model_sha256="0" * 64, probabilities={"labeled": 0.99}, explanation={}, user="app"
        )  # after the decision: hindsight, not used
        frame, counts = monitor.decided_frame(store)
    assert counts == {"decided": 3, "recorded": 3, "predicted_now": 0, "without_prediction": 0}
    assert frame.set_index("dossier_id")["p_labeled"].to_dict() == pytest.approx({"D-0": 0.1, "D-1": 0.2, "D-2": 0.3})
    assert frame["success"].isna().all()  # the window has not answered
    monkeypatch.setenv("CEP_DB_URL", url)
    r = CliRunner().invoke(cli, ["monitor", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["rows"]["recorded"] == 3 and out["labeled"]["n"] == 3 and not out["labeled"]["drift"]


@pytest.mark.slow
def test_imported_into_the_store_year_by_year_the_drift_shows_once_its_year_is_in(tmp_path, base):
    from scoring.store import Store, import_frame

    decided = committee(base, 18, drift=True)
    rows = base.assign(labeled=decided["labeled"].astype(bool), funded=False)
    with Store(f"sqlite:///{tmp_path / 'cep.db'}") as store:
        verdicts = {}
        for year in range(2019, 2025):
            now = rows[rows["year"] == year]
            import_frame(store, now.drop(columns=["labeled", "funded"]), user="import")  # the dossiers
            for r in now.itertuples():  # the prediction made before the committee met
                store.record_prediction(
                    r.dossier_id,
                    model_name="m",
                    model_sha256="0" * 64,
                    probabilities={"labeled": r.true_p_labeled},
                    explanation={},
                    user="app",
                )
            import_frame(store, now, user="cep")  # the decisions
            frame, counts = monitor.decided_frame(store)
            assert counts["recorded"] == counts["decided"] == (rows["year"] <= year).sum()
            verdicts[year] = monitor.monitor(frame)["drift"]
    assert verdicts == {y: y >= DRIFT_YEAR for y in range(2019, 2025)}
