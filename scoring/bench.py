"""Latency benchmark of the single-dossier path, beside a sampling explainer, in one run.

`bench_single` times `scoring.explain.explain` end to end in-process (validate,
rubric, both probabilities with their band, window matrix, exact
contributions, reasons, actions) over generated dossiers, and times the same
path with shap's PermutationExplainer (a sampling explainer) in place of the
closed-form contributions, on a subset, so that the ratio is measured, not
claimed. Numbers are printed, never asserted in a unit test.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.special import expit

from scoring import schema
from scoring.explain import explain
from scoring.synthetic import generate

N_DOSSIERS = 200
N_SAMPLING = 20


def _sampling_seconds(bundle, frame, background_rows: int = 50) -> list[float]:
    """Seconds per dossier for shap's PermutationExplainer on both probabilities."""
    import shap

    model = bundle.model
    bg_frame = schema.validate_frame(generate(background_rows, seed=1)).frame
    background = model.matrices(bg_frame)[0]

    def p_labeled(X):
        return expit(model.label_.logit(X))

    def p_success(X):
        return p_labeled(X) * expit(model.fund_.logit(np.column_stack([X, np.ones(len(X))])))

    masker = shap.maskers.Independent(background, max_samples=background_rows)
    explainers = [shap.explainers.Permutation(f, masker) for f in (p_labeled, p_success)]
    X = model.matrices(frame)[0]
    out = []
    for i in range(len(X)):
        t0 = time.perf_counter()
        for ex in explainers:
            ex(X[i:i + 1], max_evals=2 * X.shape[1] + 1, silent=True)
        out.append(time.perf_counter() - t0)
    return out


def bench_single(bundle, quick: bool = False, seed: int = 2026) -> dict:
    """{"p50_ms", "p95_ms", "sampling_p95_ms", ...} for one dossier end to end."""
    n = 40 if quick else N_DOSSIERS
    frame = generate(n, seed)
    docs = [schema.to_json(r) for r in schema.validate_frame(frame).frame.to_dict("records")]
    explain(docs[:1], bundle)  # warm caches (rubric tables, column plans) as a running app would
    times = []
    for doc in docs:
        t0 = time.perf_counter()
        explain([doc], bundle)
        times.append(time.perf_counter() - t0)
    ms = 1000 * np.array(times)
    k = 3 if quick else N_SAMPLING
    sampled = 1000 * np.array(_sampling_seconds(bundle, schema.validate_frame(frame.head(k)).frame))
    # the sampling path is ours with the sampler added (our closed form costs well under a millisecond)
    sampling = ms[:k] + sampled
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "sampling_p95_ms": float(np.percentile(sampling, 95)),
        "ratio_sampling_over_ours_p95": float(np.percentile(sampling, 95) / np.percentile(ms, 95)),
        "dossiers": n,
        "sampling_dossiers": k,
        "sampling_explainer": "shap.explainers.Permutation, both probabilities, 50-row background",
    }
