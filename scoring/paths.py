"""Where the reference tables (`data/`) and the shipped model (`models/`) are.

In the repository they sit at the top, beside `scoring/`; the wheel ships them
inside the package (`scoring/data`, `scoring/models`, pyproject.toml's
package-dir mapping). Both are found through `importlib.resources`: the
package's own copy when installed, else the checkout's (an editable install
runs from the checkout). `CEP_DATA_DIR` points at another copy of the tables
(an expert's tuned catalogue; a test's). Nothing else in the library builds
these paths.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _located(name: str) -> Path:
    # a wheel is installed on disk, so the resource is a real directory: a Path, usable by open() and pandas
    installed = Path(str(files("scoring") / name))
    return installed if installed.is_dir() else _CHECKOUT / name


DATA_DIR = Path(os.environ["CEP_DATA_DIR"]) if os.environ.get("CEP_DATA_DIR") else _located("data")
MODELS_DIR = _located("models")
DEFAULT_MODEL_DIR = MODELS_DIR / "default"
#: The shipped synthetic base (`make data`): what `cep-scoring train` reads when no --data is given.
SYNTHETIC_BASE = DATA_DIR / "cep_synthetic.csv"
