"""The package installs: every module, table, model file and the app's settings are in the wheel, and an
installed copy finds them with no checkout around (the full clean-venv run is .ci/smoke-wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from scoring import DATA_DIR, paths

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _tracked(folder: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", folder], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (REPO / line).is_file()]


def test_every_directory_of_code_is_a_listed_package():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    code = {
        str(p.parent.relative_to(REPO)).replace(os.sep, ".")
        for top in ("scoring", "ui")
        for p in (REPO / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert code <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(code - listed)}"


def test_the_checkout_reads_its_own_tables_and_model():
    assert DATA_DIR == REPO / "data" or os.environ.get("CEP_DATA_DIR")
    assert paths.DEFAULT_MODEL_DIR == REPO / "models" / "default"


def test_the_app_launcher_passes_every_streamlit_setting():
    from ui.__main__ import options

    given = options()
    pairs = dict(zip(given[::2], given[1::2]))
    # the settings that keep dossiers on the machine, whatever directory the app is started from
    assert pairs["--browser.gatherUsageStats"] == "false" and pairs["--server.address"] == "127.0.0.1"
    assert pairs["--client.showErrorLinks"] == "false" and pairs["--browser.serverAddress"] == "127.0.0.1"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of the tracked files as they are in the working tree, built from a copy: nothing untracked gets
    in, and no build/ directory is left in the checkout for a later build to pick stale files from."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in _tracked("."):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return next(out.glob("*.whl"))


@pytest.mark.slow
def test_the_wheel_holds_the_tables_the_model_and_the_app(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (
        {f"scoring/{f}" for f in _tracked("data") + _tracked("models")}
        | {f for f in _tracked("ui") if f.endswith(".py")}
        | {"ui/settings/config.toml", "scoring/store/alembic.ini"}
    )
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith(("tests/", "data/", "models/")) for n in names)


@pytest.mark.slow
def test_an_installed_copy_scores_from_any_directory(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CEP_DATA_DIR"} | {
        "PYTHONPATH": str(site),
        "OMP_NUM_THREADS": "1",
    }
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import scoring, ui; from scoring import DATA_DIR, paths; "
            "print(scoring.__file__, ui.__file__, DATA_DIR, paths.DEFAULT_MODEL_DIR, sep='\\n')",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where  # the installed copy, not the checkout
    (elsewhere / "dossier.json").write_text(
        (DATA_DIR / "example_dossier.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for command in (["score", "dossier.json", "--lang", "en"], ["validate", "dossier.json"]):
        run = subprocess.run(
            [sys.executable, "-m", "scoring.cli", *command],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, (command, run.stderr)
