"""The synthetic base: reproducible, structurally sound, honest about its true probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import DATA_DIR, schema
from scoring.io import write_table
from scoring.synthetic import TRUE_P_COLUMNS, generate, true_probabilities


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_table(generate(300, 7), a)
    write_table(generate(300, 7), b)
    assert a.read_bytes() == b.read_bytes()
    write_table(generate(300, 8), b)
    assert a.read_bytes() != b.read_bytes()


def test_default_dataset_is_the_documented_command_output(tmp_path):
    out = tmp_path / "base.csv"
    write_table(generate(6000, 2025), out)
    assert out.read_bytes() == (DATA_DIR / "cep_synthetic.csv").read_bytes()


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
