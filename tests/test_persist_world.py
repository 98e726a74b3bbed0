"""The model carries the tables it was trained with: a changed catalogue or rubric is one clear message."""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import DATA_DIR, persist, world

NEW_WINDOW = "i_test"
NEW_ANSWER = ("ii_medical_need", "measured")


def _with_new_window_and_answer(tables: dict) -> dict:
    """A snapshot as if a window and a rubric answer were added to the tables."""
    out = copy.deepcopy(tables)
    out["codes"]["funding_window"].append(NEW_WINDOW)
    out["windows"][NEW_WINDOW] = {**out["windows"]["region_idf"], "code": NEW_WINDOW}
    question = next(q for q in out["rubric"] if q["id"] == NEW_ANSWER[0])
    question["answers"].append({"code": NEW_ANSWER[1], "points": 5.0})
    return out


def test_the_differences_are_said_in_words():
    now = world.snapshot()
    changed = _with_new_window_and_answer(now)
    changed["rubric"][0]["weight"] = 9.0
    said = world.differences(now, changed)
    assert said[0] == f"the model was trained with 8 windows, the catalogue now has 9 (new: {NEW_WINDOW})"
    assert (
        f"question {NEW_ANSWER[0]}: the model was trained with 4 answers, the rubric now has 5 "
        f"(new: {NEW_ANSWER[1]})" in said
    )
    assert (
        world.differences(changed, now)[0]
        == f"the model was trained with 9 windows, the catalogue now has 8 (gone: {NEW_WINDOW})"
    )
    assert world.differences(now, now) == []
    changed["windows"]["anr"]["trl_min"] = 3
    changed["window_rules"]["anr"] = {"scientific_quality": [2.5, 1.0]}
    said = world.differences(now, changed)
    assert len([s for s in said if NEW_WINDOW in s]) == 1  # the new window is said once, not per table
    assert f"window anr: trl_min {now['windows']['anr']['trl_min']} -> 3" in said
    assert any(s.startswith("windows with rules: ") and s.endswith("(new: anr)") for s in said)


def test_words_people_read_are_not_part_of_the_fingerprint():
    now = world.snapshot()
    assert "fr" not in now["rubric"][0] and all("fr" not in a for a in now["rubric"][0]["answers"])
    assert not any(k.startswith("source") for w in now["windows"].values() for k in w)
    assert world.fingerprints(json.loads(json.dumps(now))) == world.fingerprints(now)


def test_a_model_refuses_changed_tables_with_one_message(small_model_dir, monkeypatch):
    assert persist.load(small_model_dir).world == json.loads((small_model_dir / world.FILE).read_text())
    changed = _with_new_window_and_answer(world.snapshot())
    monkeypatch.setattr(world, "snapshot", lambda: changed)
    with pytest.raises(persist.ModelLoadError) as err:
        persist.load(small_model_dir)
    message = str(err.value)
    assert f"the model was trained with 8 windows, the catalogue now has 9 (new: {NEW_WINDOW})" in message
    assert f"question {NEW_ANSWER[0]}: the model was trained with 4 answers" in message
    assert message.endswith(f"retrain with `cep-scoring train --data BASE --out {small_model_dir}`")


def _copy_tables(to: Path) -> Path:
    """The installed tables with one more window (like region_idf) and one more answer, written as files."""
    shutil.copytree(DATA_DIR, to, ignore=shutil.ignore_patterns("cep_synthetic.csv"))
    with open(to / "codes.csv", "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["funding_window", NEW_WINDOW, "Guichet test", "Test window"])
    with open(to / "windows.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(to / "windows.csv", "a", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writerow({**next(r for r in rows if r["window"] == "region_idf"), "window": NEW_WINDOW})
    rubric = (to / "rubric.toml").read_text(encoding="utf-8")
    anchor = '{ code = "co_built", points = 5.0'
    assert rubric.count(anchor) == 1
    (to / "rubric.toml").write_text(
        rubric.replace(
            anchor, f'{{ code = "{NEW_ANSWER[1]}", points = 5.0, fr = "Mesuré", en = "Measured" }},\n  ' + anchor
        ),
        encoding="utf-8",
    )
    return to


def _run(args: list[str], data_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, CEP_DATA_DIR=str(data_dir), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_new_window_and_answer_ask_for_retraining_then_score(small_model_dir, tmp_path):
    tables = _copy_tables(tmp_path / "data")
    dossier = json.loads((tables / "example_dossier.json").read_text(encoding="utf-8"))
    dossier.update(funding_window=NEW_WINDOW)
    dossier["answers"][NEW_ANSWER[0]] = NEW_ANSWER[1]
    (tmp_path / "dossier.json").write_text(json.dumps(dossier), encoding="utf-8")

    old = _run(["-m", "scoring.cli", "score", "dossier.json", "--model", str(small_model_dir)], tables, tmp_path)
    assert old.returncode != 0 and "Traceback" not in old.stderr
    assert f"the model was trained with 8 windows, the catalogue now has 9 (new: {NEW_WINDOW})" in old.stderr
    assert f"question {NEW_ANSWER[0]}: the model was trained with 4 answers, the rubric now has 5" in old.stderr

    # retrain on a small base drawn with the shipped tables (the generator knows their windows only)
    from scoring.io import write_table
    from scoring.synthetic import generate

    write_table(generate(600, seed=8), tmp_path / "base.csv")
    train = _run(
        ["-c", "from scoring.training import train; train('base.csv', 'model', n_bootstrap=2, fresh_rows=0)"],
        tables,
        tmp_path,
    )
    assert train.returncode == 0, train.stderr
    new = _run(["-m", "scoring.cli", "score", "dossier.json", "--model", "model", "--json"], tables, tmp_path)
    assert new.returncode == 0, new.stderr
    result = json.loads(new.stdout)
    assert 0 < result["probabilities"]["success"] < 1
    assert len(result["windows"]) == 9 and NEW_WINDOW in {w["window"] for w in result["windows"]}


def test_the_design_says_what_each_column_means(small_model_dir):
    from scoring.catalogue import CRITERIA, codes
    from scoring.features import CATEGORICAL, KINDS, KNOTS

    model = persist.load(small_model_dir).model
    for design in (model.label_design_, model.fund_design_):
        assert design.levels == {ctx: codes()[ctx] for ctx in CATEGORICAL}
        assert set(design.kind) <= set(KINDS) and len(design.kind) == len(design.level) == len(design.names)
        for j, name in enumerate(design.names):  # the names are labels; kind, level and knot are the meaning
            own = design.inputs[design.owner[j]]
            expected = {
                "ramp": f"{own}:ramp{design.knot[j]:g}",
                "missing": name if name.endswith(":missing") else "a missing-input indicator",
                "slope": f"{own}*{design.inputs[design.partner[j]]}={design.level[j]}",
                "onehot": f"{own}={design.level[j]}",
            }.get(design.kind[j], name)
            assert name == expected, (j, design.kind[j])
        ramps = [j for j, k in enumerate(design.kind) if k == "ramp"]
        assert len(ramps) == len(CRITERIA) * len(KNOTS) and set(design.knot[ramps]) == set(KNOTS)


def test_tables_their_loaders_refuse_are_one_message_too(small_model_dir, monkeypatch):
    def refused():
        raise ValueError("data/windows.csv has no entry for window(s) ['i_test']")

    monkeypatch.setattr(world, "snapshot", refused)
    with pytest.raises(
        persist.ModelLoadError,
        match=r"the installed tables cannot be read \(data/windows.csv has no "
        r"entry for window\(s\) \['i_test'\]\); fix them",
    ):
        persist.load(small_model_dir)
