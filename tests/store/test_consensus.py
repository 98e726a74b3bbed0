"""The consensus rule, on plain numbers (no database)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.store import ConsensusSettings, combine

HALF_POINTS = st.integers(0, 10).map(lambda k: k / 2)


def test_mean_and_median():
    scores = {"a": {"industrial_interest": 1.0}, "b": {"industrial_interest": 2.0}, "c": {"industrial_interest": 4.5}}
    assert combine(scores, ConsensusSettings("mean")).values()["industrial_interest"] == pytest.approx(2.5)
    assert combine(scores, ConsensusSettings("median")).values()["industrial_interest"] == 2.0


def test_raw_scores_are_kept_beside_the_consensus_and_unscored_criteria_are_none():
    c = combine({"a": {"data_quality": 3.0}, "b": {"data_quality": 4.0, "scientific_quality": 2.0}})
    by = {x.criterion: x for x in c.criteria}
    assert by["data_quality"].raw == {"a": 3.0, "b": 4.0}
    assert by["scientific_quality"].raw == {"b": 2.0} and by["scientific_quality"].value == 2.0
    assert by["regulatory_readiness"].value is None and by["regulatory_readiness"].spread is None


def test_a_gap_of_two_points_is_flagged_for_discussion():
    c = combine(
        {"a": {"industrial_interest": 1.5, "data_quality": 3.0}, "b": {"industrial_interest": 3.5, "data_quality": 4.5}}
    )
    assert c.flagged == ("industrial_interest",) and c.discuss
    assert not combine({"a": {"data_quality": 3.0}, "b": {"data_quality": 4.5}}).discuss


def test_normalising_makes_a_severe_and_a_lenient_expert_count_alike():
    # Same judgement, shifted scales: the severe expert gives one point less, always.
    history = {"severe": [1.0, 1.5, 2.0, 2.5, 3.0, 2.0], "lenient": [2.0, 2.5, 3.0, 3.5, 4.0, 3.0]}
    scores = {"severe": {"scientific_quality": 3.0}, "lenient": {"scientific_quality": 4.0}}
    raw = combine(scores, ConsensusSettings("mean"), history)
    norm = combine(scores, ConsensusSettings("mean", normalise=True), history)
    crit = {c.criterion: c for c in norm.criteria}["scientific_quality"]
    assert crit.used["severe"] == pytest.approx(crit.used["lenient"])
    assert crit.raw == {"severe": 3.0, "lenient": 4.0}
    assert norm.normalised_experts == ("lenient", "severe")
    assert raw.values()["scientific_quality"] == 3.5


def test_an_expert_without_enough_history_is_left_as_given():
    history = {"new": [3.0], "old": [1.0, 2.0, 3.0, 4.0, 5.0]}
    c = combine(
        {"new": {"data_quality": 3.0}, "old": {"data_quality": 3.0}}, ConsensusSettings(normalise=True), history
    )
    assert c.criteria[3].used["new"] == 3.0 and c.normalised_experts == ("old",)


def test_normalising_needs_a_history_and_settings_are_checked():
    with pytest.raises(ValueError, match="history"):
        combine({"a": {"data_quality": 3.0}}, ConsensusSettings(normalise=True))
    with pytest.raises(ValueError, match="mode"):
        ConsensusSettings("mode")


def test_settings_from_the_environment():
    s = ConsensusSettings.from_env({"CEP_CONSENSUS_METHOD": "mean", "CEP_CONSENSUS_NORMALISE": "1"})
    assert (s.method, s.normalise) == ("mean", True)
    assert ConsensusSettings.from_env({}) == ConsensusSettings()
    with pytest.raises(ValueError, match="CEP_CONSENSUS_NORMALISE"):
        ConsensusSettings.from_env({"CEP_CONSENSUS_NORMALISE": "maybe"})


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), HALF_POINTS, min_size=1, max_size=8),
    st.sampled_from(["mean", "median"]),
)
def test_consensus_lies_between_the_lowest_and_highest_raw_score(by_expert, method):
    c = combine({e: {"success_probability": s} for e, s in by_expert.items()}, ConsensusSettings(method))
    value = c.values()["success_probability"]
    assert min(by_expert.values()) - 1e-9 <= value <= max(by_expert.values()) + 1e-9
    assert c.discuss == (max(by_expert.values()) - min(by_expert.values()) >= 2)


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.lists(HALF_POINTS, min_size=0, max_size=12), min_size=1), HALF_POINTS
)
def test_normalised_scores_stay_on_the_scale(history, score):
    c = combine(
        {e: {"data_quality": score} for e in history}, ConsensusSettings(normalise=True, min_history=2), history
    )
    assert all(0.0 <= v <= 5.0 for v in c.criteria[3].used.values())
