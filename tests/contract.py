"""The keys of an explanation, the contract every view and the JSON output share (tests import it)."""

EXPLANATION_KEYS = frozenset(
    {
        "eligibility",
        "warnings",
        "criteria",
        "probabilities",
        "starting_point",
        "contributions",
        "reasons",
        "actions",
        "labelling",
        "windows",
        "model",
    }
)
