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


def test_train_reads_the_packages_base_by_default_and_writes_only_where_told(tmp_path, monkeypatch):
    """Installed, `cep-scoring train` finds its base through scoring.paths, not the current folder; it has no
    default output, so the package's own model (or a checkout's) is never overwritten silently."""
    from click.testing import CliRunner

    from scoring.cli import cli
    from scoring.paths import SYNTHETIC_BASE

    options = {p.name: p for p in cli.commands["train"].params}
    assert options["data"].default == str(SYNTHETIC_BASE) and SYNTHETIC_BASE.is_file()
    assert options["out"].required
    monkeypatch.chdir(tmp_path)  # a folder with no data/ nor models/
    r = CliRunner().invoke(cli, ["train"])
    assert r.exit_code == 2 and "--out" in r.output
    assert list(tmp_path.iterdir()) == []
