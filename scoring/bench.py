"""Latency benchmark of the single-dossier path, beside a sampling explainer, in one run.

`bench_single` times `scoring.explain.explain` end to end in-process (validate,
rubric, both probabilities with their band, window matrix, exact
contributions, reasons, actions) over generated dossiers, and times the same
path with shap's PermutationExplainer (a sampling explainer) in place of the
closed-form contributions, on a subset, so that the ratio is measured, not
claimed. Numbers are printed, never asserted in a unit test.

`bench_app` (`cep-scoring bench --app`) starts the app and drives Debian's
Chromium through Playwright (a development dependency): first page, submit to
result, a 20-dossier queue upload, the waits a user sees, printed beside the
library's own latency so the app's overhead shows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from scipy.special import expit

from scoring import catalogue, jsonform, schema
from scoring.explain import explain
from scoring.synthetic import generate

N_DOSSIERS = 200
N_SAMPLING = 20
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
            ex(X[i : i + 1], max_evals=2 * X.shape[1] + 1, silent=True)
        out.append(time.perf_counter() - t0)
    return out


def bench_single(bundle, quick: bool = False, seed: int = 2026, sampling: bool = True) -> dict:
    """{"p50_ms", "p95_ms", "sampling_p95_ms", ...} for one dossier end to end (without the sampler's
    comparison when `sampling` is False)."""
    n = 40 if quick else N_DOSSIERS
    frame = generate(n, seed)
    docs = [jsonform.to_json(r) for r in schema.validate_frame(frame).frame.to_dict("records")]
    explain(docs[:1], bundle)  # warm caches (rubric tables, column plans) as a running app would
    times = []
    for doc in docs:
        t0 = time.perf_counter()
        explain([doc], bundle)
        times.append(time.perf_counter() - t0)
    ms = 1000 * np.array(times)
    if not sampling:
        return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "dossiers": n}
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


# --------------------------------------------------------------------------- the app, in a browser

APP_RUNS = 10
QUEUE_DOSSIERS = 20
QUEUE_RUNS = 3  # uploads of QUEUE_DOSSIERS new dossiers each, every one to a new session
APP_START_TIMEOUT = 90  # seconds for the server to answer its health check


def find_chromium() -> str | None:
    """Debian's Chromium, the browser the app's tests and `bench --app` drive (nothing is downloaded)."""
    import os
    import shutil

    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextmanager
def serve_app(env: dict[str, str], log: Path | None = None, script: str = "ui/app.py") -> Iterator[str]:
    """`streamlit run ui/app.py` (or `script`) on the repository's configuration and a free local port, in the
    environment `env` (one BLAS thread added); yields its URL. RuntimeError, with `log`'s content, if it does
    not start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = open(log, "w+b") if log else None  # noqa: SIM115 - closed below, after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)],
        cwd=ROOT,
        env={**env, "OMP_NUM_THREADS": "1"},
        stdout=out or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + APP_START_TIMEOUT
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                said = ""
                if out:
                    out.seek(0)
                    said = ":\n" + out.read().decode(errors="replace")
                raise RuntimeError(f"the app did not start (exit code {proc.poll()}){said}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if out:
            out.close()


#: Per chart on the page, whether Vega drew a mark item (a bar, a rule, a text): an empty frame with its
#: axes is not a drawn chart. Streamlit has Vega draw small charts as SVG; past 2,000 points a datum it
#: switches to a canvas, whose marks cannot be counted, and such a chart reads as not drawn.
CHART_MARKS = (
    "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
    ".map(c => c.querySelector('svg .role-mark > *') !== null)"
)


#: Whether the page is done: the script run is over, every chart has its marks, and a visible text node says
#: exactly `text` (the element the wait is for).
DRAWN = f"""text => {{
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (!({CHART_MARKS})().every(Boolean)) return false;
    const nodes = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (nodes.nextNode()) {{
        const node = nodes.currentNode;
        if (node.nodeValue.trim() === text && node.parentElement.getClientRects().length) return true;
    }}
    return false;
}}"""


def _drawn(page, text: str, timeout_ms: int = 60_000) -> None:
    """Wait until the page shows `text`, its script run over and its charts drawn (`DRAWN`).

    The check runs in the page on every animation frame, so a timed wait ends on the frame that drew the
    result. Playwright's own element waits poll at 0, 20, 50, 100 and 100 ms, then every 500 ms: a page
    drawn at 0.6 s was seen at 0.8 s or later, up to half a second that no user waits for.
    """
    page.wait_for_function(DRAWN, arg=text, polling="raf", timeout=timeout_ms)


def _first_page(context, url: str, title: str) -> float:
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    _drawn(page, title, timeout_ms=120_000)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


def app_timings(url: str, chromium: str, folder: Path, runs: int = APP_RUNS) -> dict:
    """What a user waits for, in seconds, measured in Chromium on a running app at `url`.

    First page (the first visit after the server started; then, on the warm server, a returning
    visitor whose browser keeps the app's files, and a new visitor without them); submit
    to result (from the click on "Evaluate" to the result drawn, charts included,
    each run a different dossier so nothing is served from the cache); the triage
    queue after uploading QUEUE_DOSSIERS JSON files at once (QUEUE_RUNS times, new dossiers each time, the
    median and the longest). `folder` receives the dossier files the browser uploads.
    """
    from playwright.sync_api import sync_playwright

    from scoring.i18n import t

    docs = [
        jsonform.to_json(r)
        for r in schema.validate_frame(generate(runs + QUEUE_RUNS * QUEUE_DOSSIERS, 2027))
        .frame.drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES], errors="ignore")
        .to_dict("records")
    ]
    paths = []
    for doc in docs:
        paths.append(folder / f"{doc['dossier_id']}.json")
        paths[-1].write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            title = t("ui.sa.title", "fr")
            returning = browser.new_context(viewport={"width": 1366, "height": 900})
            cold = _first_page(returning, url, title)
            warm = [_first_page(returning, url, title) for _ in range(3)]  # its browser has the app's files
            new = [
                _first_page(browser.new_context(viewport={"width": 1366, "height": 900}), url, title) for _ in range(3)
            ]
            page = returning.new_page()
            page.goto(url)
            _drawn(page, title)
            page.get_by_text(t("ui.draft.title", "fr"), exact=True).click()
            submit = []
            for path in paths[:runs]:
                page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(path)
                _drawn(page, t("ui.draft.loaded", "fr", source=path.name))
                t0 = time.perf_counter()
                page.get_by_role("button", name=t("ui.sa.evaluate", "fr")).click()
                _drawn(page, t("ui.report.download", "fr"))  # the report's button is the result page's last element
                submit.append(time.perf_counter() - t0)
            queue = []
            for k in range(QUEUE_RUNS):
                page.goto(f"{url}/triage")  # a new session: an empty queue
                _drawn(page, t("ui.triage.title", "fr"))
                files = paths[runs + k * QUEUE_DOSSIERS : runs + (k + 1) * QUEUE_DOSSIERS]
                t0 = time.perf_counter()
                page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(files)
                _drawn(page, t("ui.triage.pick", "fr"))
                queue.append(time.perf_counter() - t0)
        finally:
            browser.close()
    return {
        "first_page_cold_s": cold,
        "first_page_warm_s": float(np.median(warm)),
        "first_page_new_visitor_s": float(np.median(new)),
        "submit_to_result_p50_s": float(np.percentile(submit, 50)),
        "submit_to_result_p95_s": float(np.percentile(submit, 95)),
        f"queue_upload_{QUEUE_DOSSIERS}_median_s": float(np.median(queue)),
        f"queue_upload_{QUEUE_DOSSIERS}_longest_s": max(queue),
        "submit_runs": runs,
        "queue_runs": QUEUE_RUNS,
    }


def bench_app(quick: bool = False) -> dict:
    """The app's waits in Chromium (a fresh server on a private store), beside the library's own latency."""
    import tempfile

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("bench --app drives Chromium: apt-get install chromium")
    with (
        tempfile.TemporaryDirectory(prefix="cep-bench-app-") as d,
        serve_app({**os.environ, "CEP_DB_URL": f"sqlite:///{Path(d) / 'cep.db'}"}) as url,
    ):
        timings = app_timings(url, chromium, Path(d), runs=5 if quick else APP_RUNS)
    return timings
