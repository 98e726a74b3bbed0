"""The likelihood model: consistent, monotone by construction, calibrated, refuses tampered files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import eligibility, jsonform, persist, schema
from scoring.additive import AdditiveLogit
from scoring.calibrated import DEVIATION_PENALTIES, PENALTIES
from scoring.catalogue import CRITERIA, codes
from scoring.evaluate import ece, evaluate
from scoring.features import INTERACTIONS
from scoring.model import CEPModel
from scoring.synthetic import generate


@pytest.fixture(scope="module")
def frame():
    return schema.validate_frame(generate(3000, seed=321)).frame


@pytest.fixture(scope="module")
def pooled():
    """A model fitted by the current code: the shipped one may predate its layout (every level sloped)."""
    return CEPModel(seed=0, n_bootstrap=3).fit(schema.validate_frame(generate(2500, seed=17)).frame)


def test_success_is_at_most_labelled_and_funded(bundle, frame):
    s = bundle.model.predict(frame)
    assert np.all(s.success <= s.labeled + 1e-12) and np.all(s.success <= s.funded + 1e-12)
    assert np.all(s.funded_if_labeled >= s.funded_if_not - 1e-12)


def test_criterion_and_label_coefficients_are_bounded_in_the_model(bundle, pooled):
    for cal, design in [
        pair for m in (bundle.model, pooled) for pair in ((m.label_, m.label_design_), (m.fund_, m.fund_design_))
    ]:
        mono = design.lower == 0.0
        assert mono.sum() >= 5 * 5
        assert np.all(cal.model.coef_[mono] >= 0) and np.all(cal.boot_coef[:, mono] >= 0)
        assert cal.platt.a > 0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), crit=st.sampled_from(CRITERIA), steps=st.integers(1, 10), data=st.data())
def test_a_better_criterion_score_never_lowers_any_probability(bundle, seed, crit, steps, data):
    row = schema.validate_frame(generate(1, seed)).frame
    col = f"score_{crit}"
    start = data.draw(st.sampled_from([x / 2 for x in range(0, 11 - steps)]))
    lo, hi = row.copy(), row.copy()
    lo[col], hi[col] = start, start + steps / 2
    a, b = bundle.model.predict(lo), bundle.model.predict(hi)
    for name in ("labeled", "funded", "success"):
        assert getattr(b, name)[0] >= getattr(a, name)[0] - 1e-12, name


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), blank=st.floats(0, 0.5))
def test_log_odds_without_the_design_matrix_equal_the_matrix_product(bundle, pooled, seed, blank):
    # `predict` and the batch never build the design; explanations and what-ifs do: both must agree,
    # for the shipped layout and for the current one (every level with its slopes)
    raw = generate(300, seed).astype(object)
    rng = np.random.default_rng(seed)
    for col in ("therapeutic_area", "ii_ip", "score_data_quality", "preliminary_interview", "n_partners"):
        raw.loc[rng.random(len(raw)) < blank, col] = None  # missing inputs take their own columns
    frame = schema.validate_frame(raw).frame
    for model in (bundle.model, pooled):
        m = model.matrices(frame)
        z_lab, z_f1 = model.logits(frame, m.scores)
        assert np.allclose(z_lab, model.label_.logit(m.label), rtol=0, atol=1e-12)
        assert np.allclose(z_f1, model.fund_logit(m.label), rtol=0, atol=1e-12)
        for design, coef in (
            (model.label_design_, model.label_.model.coef_),
            (model.fund_design_, model.fund_.model.coef_),
        ):
            labeled = rng.integers(0, 2, len(frame)).astype(float)
            X = design.transform(frame, m.scores, labeled)
            assert np.allclose(
                design.linear(frame, m.scores, coef[:, None], labeled)[:, 0], X @ coef, rtol=0, atol=1e-12
            )


def test_every_context_level_has_slopes_penalised_as_deviations(pooled):
    for design in (pooled.label_design_, pooled.fund_design_):
        names = set(design.names)
        # no row-count cut: a level absent from the 2,500 training rows still has its columns (penalised to 0)
        assert {f"{c}*{ctx}={level}" for c in CRITERIA for ctx in INTERACTIONS for level in codes()[ctx]} <= names
        assert np.array_equal(design.deviation, design.partner >= 0)
        assert np.all(design.lower[design.deviation] == 0.0)  # a level's slopes keep monotonicity


def test_penalties_chosen_by_cross_validation_shared_then_deviations(pooled):
    for cal in (pooled.label_, pooled.fund_):
        cv = cal.cv_log_loss
        # first the shared penalty, deviations at a middle value; then the deviations' given the shared one
        shared = min((pair for pair in cv if pair[1] == DEVIATION_PENALTIES[1]), key=cv.get)[0]
        tried = {(lam, DEVIATION_PENALTIES[1]) for lam in PENALTIES} | {(shared, d) for d in DEVIATION_PENALTIES}
        assert tried == set(cv)
        assert cal.penalty == min(cv, key=cv.get)


def test_a_thin_level_is_pulled_toward_the_common_slope_more_than_a_thick_one():
    # Levels a and b hold 47.5% of rows each, c 5%; b and c have the same extra slope over a.
    rng = np.random.default_rng(12)
    n = 40_000
    level = rng.choice(3, n, p=[0.475, 0.475, 0.05])
    s = rng.uniform(0, 5, n)
    hot = (level[:, None] == np.arange(3)).astype(float)
    y = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 0.5 * s + 0.4 * s * (level > 0))))
    X = np.column_stack([s, s[:, None] * hot, hot])  # common slope, the three levels' slopes, one-hots
    lower = np.array([0.0, 0.0, 0.0, 0.0, -np.inf, -np.inf, -np.inf])
    deviation = np.array([False, True, True, True, False, False, False])
    slope = {}
    for dev in (1e-6, 1e-2, 1e3):
        coef = AdditiveLogit(lower, np.where(deviation, dev, 1e-6), deviation).fit(X, y).coef_
        slope[dev] = coef[0] + coef[1:4]  # each level's slope
    assert slope[1e-6][2] == pytest.approx(0.9, abs=0.15)  # unpooled: c estimated alone
    pulled = (slope[1e-6] - slope[1e-2]) / (slope[1e-6] - slope[1e3])  # share of the way to the pooled slope
    assert pulled[2] > pulled[1] + 0.3  # c, on 5% of the rows, gives up much more of its own slope than b
    assert np.ptp(slope[1e3]) < 0.01  # fully pooled: one slope


def test_window_matrix_ranks_eligible_windows_first(bundle, dossier):
    frame = jsonform.validate_records([dossier]).frame
    wm = bundle.model.window_matrix(frame)
    assert list(wm["rank"]) == list(range(1, 9))
    eligible = wm[wm["eligible"]]
    assert list(eligible["success"]) == sorted(eligible["success"], reverse=True)
    assert wm["eligible"].iloc[: len(eligible)].all()
    assert set(wm.loc[~wm["eligible"], "rule"]) <= set(eligibility.CODES)
    target = wm[wm["window"] == dossier["funding_window"]]
    assert target["success"].iloc[0] == pytest.approx(bundle.model.predict(frame).success[0])


def test_calibrated_overall_and_per_group_on_fresh_data(bundle):
    fresh = schema.validate_frame(generate(20000, seed=4242)).frame
    report = evaluate(bundle.model, None, fresh)
    for target in ("labeled", "success"):
        entry = report["targets"][target]
        assert entry["model"]["ece"] <= 0.02
        for g in entry["groups"]:
            if g["n"] >= 2000:  # ECE of even the true probabilities is ~0.03 below 2,000 rows
                assert g["ece"] <= 0.04, (target, g)


def test_uncertainty_band_is_wider_for_thin_windows(bundle, dossier):
    frame = jsonform.validate_records([dossier]).frame
    thick = bundle.model.predict(frame.assign(funding_window="bpifrance"), band=True)
    thin = bundle.model.predict(frame.assign(funding_window="i_demo"), band=True)

    def width(s):
        return s.success_band[0, 1] - s.success_band[0, 0]

    assert width(thin) > width(thick) > 0


def test_missing_answers_are_reported_not_imputed(bundle, dossier):
    for q in ("dq_access", "dq_volume", "dq_consent_hosting", "dq_interoperability", "dq_curation"):
        del dossier["answers"][q]
    s = bundle.model.predict(jsonform.validate_records([dossier]).frame)
    assert s.sources[0, CRITERIA.index("data_quality")] == "missing"
    assert np.isnan(s.scores[0, CRITERIA.index("data_quality")])


def test_ece_of_perfect_probabilities_is_small_and_of_a_shift_is_the_shift():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 200_000)
    y = rng.random(p.size) < p
    assert ece(y, p) < 0.005
    assert ece(y, np.clip(p + 0.05, 0, 1)) == pytest.approx(0.05, abs=0.006)


# ------------------------------------------------------------------------ the card (its files: tests/test_persist.py)


def test_card_states_synthetic_training_data(bundle):
    assert bundle.card["data"]["synthetic"] is True
    assert "synthetic data calibrated to published aggregates" in bundle.identity()["training_data"]
    md = (persist.DEFAULT_MODEL_DIR / "card.md").read_text()
    assert "synthetic data calibrated to published aggregates" in md and "| success | oracle |" in md
