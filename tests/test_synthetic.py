"""The synthetic base: reproducible, structurally sound, honest about its true probabilities."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import DATA_DIR, catalogue, fields, schema
from scoring.io import read_table, write_table
from scoring.synthetic import TRUE_P_COLUMNS, correlated_normals, generate, true_probabilities

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_table(generate(300, 7), a)
    write_table(generate(300, 7), b)
    assert a.read_bytes() == b.read_bytes()
    write_table(generate(300, 8), b)
    assert a.read_bytes() != b.read_bytes()


def _make_data_command() -> tuple[int, int]:
    """(rows, seed) of the Makefile's `data` target: the documented command, read rather than copied."""
    found = re.search(r"^data:.*\n\t.*generate --rows (\d+) --seed (\d+) ", MAKEFILE.read_text(), re.M)
    assert found, "the Makefile's data target no longer reads `generate --rows N --seed S`"
    return int(found[1]), int(found[2])


def test_default_dataset_is_the_documented_command_output(tmp_path):
    """What `make data` must give on any CPU: every code, flag and outcome as shipped, every
    number equal to 1e-9 (not bytes: float last digits may follow the CPU's math kernels)."""
    fresh = generate(*_make_data_command())
    out = tmp_path / "base.csv"
    write_table(fresh, out)
    made, shipped = read_table(out), read_table(DATA_DIR / "cep_synthetic.csv")
    assert list(made.columns) == list(shipped.columns) and len(made) == len(shipped)
    for col in made.columns:
        if fresh[col].dtype.kind == "f":
            np.testing.assert_allclose(
                made[col].astype(float), shipped[col].astype(float), rtol=1e-9, atol=1e-12, err_msg=col
            )
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
    from scoring.eligibility import first_rule

    frame = generate(2000, 4)
    v = schema.validate_frame(frame)
    assert v.ok.all(), v.issues[:3]
    no_experts = np.full((len(v.frame), len(catalogue.CRITERIA)), np.nan)  # the catalogue's rules, not knock-outs
    own = fields.code_index(v.frame["funding_window"], "funding_window")
    rule = first_rule(v.frame, scores=no_experts)[np.arange(len(v.frame)), own]
    broken = pd.Series(rule[rule != ""]).groupby(v.frame["funding_window"].to_numpy()[rule != ""]).value_counts()
    assert broken.empty, broken.to_dict()


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
    """i-Nov waves 1-4: 47% of labelled against 27% of unlabelled funded (F16). The levels belong to
    i-Nov, not to the CEP base (whose success rates are F1-F8): the generator matches the odds ratio,
    over every window, as ADEME measured it (a raw comparison)."""
    from scipy.special import logit

    frame = generate(20000, 4)
    f_lab, f_unl = frame.loc[frame["labeled"], "funded"].mean(), frame.loc[~frame["labeled"], "funded"].mean()
    assert f_lab > f_unl
    assert logit(f_lab) - logit(f_unl) == pytest.approx(logit(0.47) - logit(0.27), abs=0.25)


def _mean_score(frame, mask, column):
    return frame.loc[mask, column].mean()


def test_context_moves_the_answers_as_the_committee_says():
    """Mediation (issue 12): the weaknesses the committee names show in the answers and the scores."""
    frame = generate(20000, 5)
    esante, ai = frame["filiere"] == "e_sante", frame["technology_axis"] == "ai"
    for mask in (esante, ai):
        assert (
            frame.loc[mask, "ii_medical_need"].isin(["assumed", "literature"]).mean()
            > frame.loc[~mask, "ii_medical_need"].isin(["assumed", "literature"]).mean() + 0.15
        )
        assert (frame.loc[mask, "sq_clinicians"] == "no").mean() > (frame.loc[~mask, "sq_clinicians"] == "no").mean()
        assert (frame.loc[mask, "dq_access"] == "not_secured").mean() > (
            frame.loc[~mask & frame["dq_access"].ne("na"), "dq_access"] == "not_secured"
        ).mean()
        assert (
            _mean_score(frame, mask, "score_industrial_interest")
            < _mean_score(frame, ~mask, "score_industrial_interest") - 0.3
        )
    collab = frame["collaborative"]
    assert _mean_score(frame, collab, "score_scientific_quality") > _mean_score(
        frame, ~collab, "score_scientific_quality"
    )
    weak_consortium = frame.loc[collab, "sp_consortium"].isin(["none", "informal"]).mean()
    assert weak_consortium > 0.6  # governance and trust: the risk of collaborative projects
    company = frame["carrier_type"].isin(["tpe_pme", "eti", "grand_groupe"])
    assert (
        _mean_score(frame, company, "score_industrial_interest")
        > _mean_score(frame, ~company, "score_industrial_interest") + 0.5
    )


def test_direct_context_terms_are_bounded_and_collaboration_never_lowers_the_label():
    from scoring.synthetic import DIRECT_LABEL_BOUNDS, load_params

    off = load_params()["offsets"]
    for key, (lo, hi) in DIRECT_LABEL_BOUNDS.items():
        values = off[key].values() if isinstance(off[key], dict) else [off[key]]
        assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in values), (key, off[key])
    assert off["label_collaborative"] >= 0
    assert max(abs(lo), abs(hi)) <= 0.5


def test_mediation_the_criteria_carry_the_published_gaps():
    """Issue 12: at least 70% of the e-santé and AI gaps goes through the five scores."""
    from scoring.synthetic import MEDIATION_TARGETS, mediation

    gaps = {g.name: g for g in mediation(generate(40000, 321))}
    assert set(MEDIATION_TARGETS) <= set(gaps)
    for name, target in MEDIATION_TARGETS.items():
        g = gaps[name]
        assert g.generated < 0 and g.published < 0, name  # the gap has the published sign
        assert g.share >= target, (name, g.share)
    assert gaps["companies vs public carriers"].generated > 0


def test_calibration_respects_the_bounds_and_names_the_figure_it_cannot_meet(monkeypatch):
    """An unreachable target is reported with its shortfall; no direct term leaves its bounds."""
    from scoring import reference, synthetic

    figures = reference.figures().copy()
    figures.loc[figures["id"] == "F14", "value"] = "0.97"  # companies: 97% of labelled projects
    monkeypatch.setattr(reference, "figures", lambda: figures)
    cal = synthetic.calibrate(rows=12000, seed=3)
    missed = {row[0] for row in cal.missed}
    assert "F14" in missed
    assert any(n.startswith("F14: ") and "beyond tolerance" in n for n in cal.notes())
    assert any(n.startswith("label_company = +0.500") for n in cal.notes())  # pushed to its bound, no further
    off = cal.params["offsets"]
    for key, (lo, hi) in synthetic.DIRECT_LABEL_BOUNDS.items():
        values = off[key].values() if isinstance(off[key], dict) else [off[key]]
        assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in values), key


def test_the_per_window_tables_are_data_and_a_misspelt_window_is_refused():
    """Adding a window edits data files only: the calls and the success targets per window are
    tables of data/synthetic.toml, and a window those tables name must be one of data/codes.csv."""
    import copy

    from scoring.synthetic import load_params

    params = copy.deepcopy(load_params())
    params["calls"] = {"anr": ["AAPG"]}
    frame = generate(400, 4, params)
    assert set(frame.loc[frame["funding_window"] == "anr", "call"]) == {"AAPG"}
    assert frame.loc[frame["funding_window"] != "anr", "call"].isna().all()
    params["window_success"] = {**params["window_success"], "anrr": 0.4}
    with pytest.raises(ValueError, match=r"data/synthetic.toml: \[window_success\] anrr: not a window"):
        generate(400, 4, params)
