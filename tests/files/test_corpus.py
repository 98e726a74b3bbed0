"""Every command, and the app's uploader, on every file of the corpus (tests/files/corpus.py):
no traceback, the documented exit code, every row either scored or reported."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from scoring import schema
from scoring.cli import cli
from tests.files.corpus import Case, write_corpus

BATCH_SUFFIXES = (".csv", ".xlsx", ".parquet")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, write_corpus(folder)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def clean(result, case: Case, command: str) -> list[str]:
    """What is wrong with a command's run on a file, beyond its exit code: a traceback, a long error."""
    problems = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problems.append(f"{command} {case.name}: raised {type(result.exception).__name__}: {result.exception}")
    if "Traceback" in result.output:
        problems.append(f"{command} {case.name}: traceback in the output")
    if result.exit_code == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        if len(errors) != 1 or case.name not in errors[0] and "Invalid value" not in errors[0]:
            problems.append(f"{command} {case.name}: not one error line naming the file: {result.output!r}")
    return problems


def test_the_corpus_holds_at_least_forty_files_of_every_outcome(corpus):
    _, cases = corpus
    assert len(cases) >= 40 and {c.exit for c in cases} == {0, 1, 2}


def test_validate_says_what_each_file_is(corpus):
    folder, cases = corpus
    problems = []
    for case in cases:
        r = run("validate", str(folder / case.name), "--json", "--lang", "en")  # its snippets are English
        problems += clean(r, case, "validate")
        if r.exit_code != case.exit:
            problems.append(f"validate {case.name}: exit {r.exit_code}, expected {case.exit}: {r.output[-300:]}")
        elif case.exit == 2:
            if case.says not in r.output:
                problems.append(f"validate {case.name}: {case.says!r} not in {r.output!r}")
        else:
            report = json.loads(r.output)
            if (report["rows"], report["invalid"]) != (case.rows, case.bad):
                problems.append(
                    f"validate {case.name}: {report['rows']} rows, {report['invalid']} invalid; "
                    f"expected {case.rows}, {case.bad}"
                )
    assert not problems, "\n".join(problems)


def test_batch_scores_or_reports_every_row_validate_reads(corpus, tmp_path):
    folder, cases = corpus
    problems = []
    for case in cases:
        out = tmp_path / f"{case.name}.out.csv"
        r = run("batch", "--input", str(folder / case.name), "--output", str(out))
        problems += clean(r, case, "batch")
        usable = Path(case.name).suffix in BATCH_SUFFIXES and case.exit != 2
        expected = case.exit if usable else 2
        if r.exit_code != expected:
            problems.append(f"batch {case.name}: exit {r.exit_code}, expected {expected}: {r.output[-300:]}")
        elif usable:
            scored = pd.read_csv(out, dtype=str, keep_default_na=False)
            if len(scored) != case.rows or int((scored["status"] == "error").sum()) != case.bad:
                problems.append(
                    f"batch {case.name}: {len(scored)} rows, "
                    f"{int((scored['status'] == 'error').sum())} in error; expected {case.rows}, {case.bad}"
                )
    assert not problems, "\n".join(problems)


def test_score_explains_every_valid_file_and_refuses_the_others_clearly(corpus):
    folder, cases = corpus
    problems = []
    for case in cases:
        if case.name.startswith("wide"):
            continue  # 5,000 unknown columns: validate and batch read it; explaining it adds nothing
        r = run("score", str(folder / case.name), "--json")
        problems += clean(r, case, "score")
        expected = 2 if case.exit == 2 or case.rows == 0 else case.exit
        if r.exit_code != expected:
            problems.append(f"score {case.name}: exit {r.exit_code}, expected {expected}: {r.output[-300:]}")
    assert not problems, "\n".join(problems)


def test_import_saves_the_good_rows_and_reports_the_others(corpus, tmp_path):
    folder, cases = corpus
    env = {"CEP_DB_URL": f"sqlite:///{tmp_path / 'cep.db'}"}
    problems = []
    for case in cases:
        r = run("import", str(folder / case.name), "--user", "analyst", "--json", env=env)
        problems += clean(r, case, "import")
        if r.exit_code != case.exit:
            problems.append(f"import {case.name}: exit {r.exit_code}, expected {case.exit}: {r.output[-300:]}")
        elif case.exit != 2:
            report = json.loads(r.output)
            saved = report["added"] + report["new_versions"] + report["unchanged"]
            if report["rows"] != case.rows or saved + report["bad_rows"] != case.rows:
                problems.append(f"import {case.name}: {report}")
    assert not problems, "\n".join(problems)


def test_train_refuses_every_small_or_broken_file_with_one_line(corpus, tmp_path):
    folder, cases = corpus
    problems = []
    for case in cases:
        r = run("train", "--data", str(folder / case.name), "--out", str(tmp_path / "model"))
        problems += clean(r, case, "train")
        if r.exit_code != 2:  # no corpus file holds the 200 decided rows training needs
            problems.append(f"train {case.name}: exit {r.exit_code}: {r.output[-300:]}")
    assert not problems, "\n".join(problems)


class Upload:
    """What Streamlit's uploader hands the app."""

    def __init__(self, path: Path):
        self.name = path.name
        self._data = path.read_bytes()

    def getvalue(self) -> bytes:
        return self._data


def test_the_apps_uploader_reads_what_validate_reads_and_refuses_the_rest_by_name(corpus):
    from ui.components import read_upload

    folder, cases = corpus
    problems = []
    for case in cases:
        if not (folder / case.name).is_file():
            continue
        try:
            frame = read_upload(Upload(folder / case.name))
        except schema.SchemaError as exc:
            if case.exit != 2 or case.name not in str(exc) or "cep-ui-" in str(exc):
                problems.append(f"upload {case.name}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - what this test is for
            problems.append(f"upload {case.name}: {type(exc).__name__}: {exc}")
            continue
        try:
            v = schema.validate_frame(frame)
        except schema.SchemaError as exc:
            if case.exit != 2:
                problems.append(f"upload {case.name}: {exc}")
            continue
        if (len(v.ok), int((~v.ok).sum())) != (case.rows, case.bad):
            problems.append(f"upload {case.name}: {len(v.ok)} rows, {int((~v.ok).sum())} bad")
    assert not problems, "\n".join(problems)
