"""What training reports about its own fits: a fit that did not converge is said, one that diverged refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

import scoring.additive
from scoring import training
from scoring.io import write_table
from scoring.model import CEPModel
from scoring.synthetic import generate


@pytest.fixture(scope="module")
def model(small_base):
    return CEPModel(seed=1, n_bootstrap=0).fit(small_base)


def test_converged_fits_give_no_warning(model):
    assert model.label_.model.converged_ and model.fund_.model.converged_
    assert training.fit_warnings(model) == []


def test_a_fit_that_did_not_converge_is_a_warning_and_one_that_diverged_an_error(model):
    model.fund_.model.converged_ = False
    try:
        assert training.fit_warnings(model) == [
            "the funding model's fit did not converge (L-BFGS-B stopped before its tolerance): its probabilities "
            "may be off; check the base (enough rows for its windows and filières?) before using this model"
        ]
    finally:
        model.fund_.model.converged_ = True
    coef = model.label_.model.coef_.copy()
    model.label_.model.coef_[3] = np.nan
    try:
        with pytest.raises(ValueError, match="the label model's fit diverged"):
            training.fit_warnings(model)
    finally:
        model.label_.model.coef_ = coef


def test_training_reports_a_fit_stopped_early(tmp_path, monkeypatch):
    real = scoring.additive.minimize

    def stopped(*args, **kwargs) -> OptimizeResult:  # what L-BFGS-B returns at its iteration limit
        res = real(*args, **kwargs)
        res.success, res.message = False, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
        return res

    monkeypatch.setattr(scoring.additive, "minimize", stopped)
    base = generate(400, seed=4).drop(columns=["true_p_labeled", "true_p_funded", "true_p_success"])
    write_table(base, tmp_path / "base.csv")
    with pytest.warns(training.ConvergenceWarning) as caught:
        _, report = training.train(tmp_path / "base.csv", tmp_path / "model", n_bootstrap=0, fresh_rows=0)
    assert report.warnings == [str(w.message) for w in caught]
    assert [w.split(" fit ")[0] for w in report.warnings] == ["the label model's", "the funding model's"]
