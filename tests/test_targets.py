"""The shipped model meets the issue's targets on a fresh 60,000-row base from another seed."""

from __future__ import annotations

import pytest

from scoring import schema
from scoring.evaluate import evaluate
from scoring.synthetic import generate


@pytest.fixture(scope="module")
def report(bundle):
    fresh = schema.validate_frame(generate(60_000, seed=99)).frame
    return evaluate(bundle.model, bundle.baselines, fresh)


@pytest.mark.parametrize("target", ["labeled", "success"])
def test_auc_within_half_a_hundredth_of_the_oracle(report, target):
    e = report["targets"][target]
    assert e["oracle"]["auc"] - e["model"]["auc"] <= 0.005


@pytest.mark.parametrize("target", ["labeled", "success"])
def test_calibrated_overall_and_in_every_group_of_1000_rows(report, target):
    e = report["targets"][target]
    assert e["model"]["ece"] <= 0.03
    big = [g for g in e["groups"] if g["n"] >= 1000]
    assert len(big) >= 10
    # A group's ECE beside the true probabilities' on the same rows: ~0.03 on 1,000 rows is noise alone.
    worse = [
        (g["value"], round(g["ece"], 3), round(g["oracle_ece"], 3)) for g in big if g["ece"] > g["oracle_ece"] + 0.02
    ]
    assert worse == []


def test_funded_calibrated_in_every_window_of_1000_rows(report):
    # A funder's selectivity belongs to its window: P(funded) within 0.03 of the outcomes in each one. On
    # 1,000-2,000 rows the true probabilities themselves score 0.03-0.04 by noise alone (i-Demo 0.043 on
    # seed 4242): there the bar is their ECE on the same rows + 0.005.
    windows = [g for g in report["targets"]["funded"]["groups"] if g["by"] == "funding_window" and g["n"] >= 1000]
    assert len(windows) >= 7
    worse = [
        (g["value"], round(g["ece"], 3), round(g["oracle_ece"], 3))
        for g in windows
        if g["ece"] > max(0.03, g["oracle_ece"] + 0.005)
    ]
    assert worse == []


@pytest.mark.parametrize("target", ["labeled", "success"])
def test_ahead_of_score_sum_and_base_rates_not_behind_logistic(report, target):
    e = report["targets"][target]
    auc = e["model"]["auc"]
    assert auc > e["baselines"]["score_sum"]["auc"] and auc > e["baselines"]["base_rate"]["auc"]
    assert auc >= e["baselines"]["logistic"]["auc"]
    assert e["model"]["log_loss"] <= e["baselines"]["logistic"]["log_loss"]
