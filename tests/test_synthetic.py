"""The synthetic base: reproducible, structurally sound, honest about its true probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import DATA_DIR, schema
from scoring.io import read_table, write_table
from scoring.synthetic import TRUE_P_COLUMNS, correlated_normals, generate, true_probabilities


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_table(generate(300, 7), a)
    write_table(generate(300, 7), b)
    assert a.read_bytes() == b.read_bytes()
    write_table(generate(300, 8), b)
    assert a.read_bytes() != b.read_bytes()


def test_default_dataset_is_the_documented_command_output(tmp_path):
    """What `make data` must give on any CPU: every code, flag and outcome as shipped, every
    number equal to 1e-9 (not bytes: float last digits may follow the CPU's math kernels)."""
    fresh = generate(20_000, 2025)
    out = tmp_path / "base.csv"
    write_table(fresh, out)
    made, shipped = read_table(out), read_table(DATA_DIR / "cep_synthetic.csv")
    assert list(made.columns) == list(shipped.columns) and len(made) == len(shipped)
    for col in made.columns:
        if fresh[col].dtype.kind == "f":
            np.testing.assert_allclose(made[col].astype(float), shipped[col].astype(float),
                                       rtol=1e-9, atol=1e-12, err_msg=col)
        else:
            pd.testing.assert_series_equal(made[col], shipped[col])


def _flip_signs(decompose):
    """`decompose` with every singular/eigen vector negated: as valid, as another LAPACK may return."""
    def flipped(*args, **kwargs):
        parts = list(decompose(*args, **kwargs))
        if decompose is np.linalg.svd:
            parts[0], parts[2] = -parts[0], -parts[2]
        else:
            parts[1] = -parts[1]
        return tuple(parts)
    return flipped


def test_same_seed_same_base_whatever_signs_lapack_gives_its_vectors(monkeypatch):
    """Issue 11: the latents came from an SVD whose signs and basis depend on the CPU's kernels."""
    before = generate(300, 7)
    monkeypatch.setattr(np.linalg, "svd", _flip_signs(np.linalg.svd))
    monkeypatch.setattr(np.linalg, "eigh", _flip_signs(np.linalg.eigh))
    pd.testing.assert_frame_equal(generate(300, 7), before)


def test_latents_are_standard_normals_times_the_cholesky_factor():
    rho = 0.35
    cov = np.full((5, 5), rho) + (1 - rho) * np.eye(5)
    # Cholesky factor of an equicorrelation matrix, by the textbook recursion (no LAPACK)
    factor = np.zeros((5, 5))
    for j in range(5):
        factor[j, j] = np.sqrt(cov[j, j] - factor[j, :j] @ factor[j, :j])
        for i in range(j + 1, 5):
            factor[i, j] = (cov[i, j] - factor[i, :j] @ factor[j, :j]) / factor[j, j]
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    z = correlated_normals(a, 1000, cov)
    np.testing.assert_allclose(z, b.standard_normal((1000, 5)) @ factor.T, rtol=1e-12, atol=1e-12)
    assert a.random() == b.random()  # the draws that follow are the same too


def test_generated_rows_are_valid_and_eligible():
    from scoring.reference import eligibility

    frame = generate(2000, 4)
    v = schema.validate_frame(frame)
    assert v.ok.all(), v.issues[:3]
    for w in schema.codes()["funding_window"]:
        rows = v.frame[v.frame["funding_window"] == w]
        assert (eligibility(rows, w) == "").all(), w


def test_true_probabilities_are_consistent_and_depend_on_observed_columns_only():
    frame = generate(2000, 4)
    pl, pf, ps = (frame[c].to_numpy() for c in TRUE_P_COLUMNS)
    assert np.all(ps <= pl + 1e-12) and np.all(ps <= pf + 1e-12)
    p_lab, _, _ = true_probabilities(frame.drop(columns=list(TRUE_P_COLUMNS)))
    assert np.allclose(p_lab, pl)


def test_process_changes_no_rhu_after_2021_and_interviews_from_2024():
    frame = generate(6000, 4)
    assert not ((frame["funding_window"] == "rhu") & (frame["year"] > 2021)).any()
    assert not (frame["preliminary_interview"] & (frame["year"] < 2024)).any()
    assert frame.loc[frame["year"] == 2024, "preliminary_interview"].mean() > 0.8


def test_label_raises_funding_as_the_ademe_figure_says():
    """i-Nov waves 1-4: 47% of labelled against 27% of unlabelled funded. The levels belong to
    i-Nov, not to the CEP base (whose success rates are F1-F8), so the generator matches the
    odds ratio between labelled and unlabelled dossiers at Bpifrance."""
    from scipy.special import logit

    frame = generate(20000, 4)
    bpi = frame[frame["funding_window"] == "bpifrance"]
    f_lab, f_unl = bpi.loc[bpi["labeled"], "funded"].mean(), bpi.loc[~bpi["labeled"], "funded"].mean()
    assert f_lab > f_unl
    assert logit(f_lab) - logit(f_unl) == pytest.approx(logit(0.47) - logit(0.27), abs=0.2)
