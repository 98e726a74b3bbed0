"""`cep-scoring-app` (or `python -m ui`): the app of the installed package, from any directory.

`make app` runs `streamlit run ui/app.py` in the checkout, where Streamlit reads
`.streamlit/config.toml` (nothing leaves the machine: no usage statistics, no
external-IP lookup, 127.0.0.1 only, no error links). Streamlit reads that file
from the working directory only, so an installed app started elsewhere would
run without it: the wheel ships it as `ui/settings/config.toml`, and this
launcher passes each setting to `streamlit run` as an option. Options given on
the command line come after and win (`--server.port 8502`; a shared host:
README, "Serving a team").
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
# installed: the copy the wheel ships; in the checkout: the file Streamlit itself reads
CONFIG = next(p for p in (HERE / "settings" / "config.toml", HERE.parent / ".streamlit" / "config.toml") if p.is_file())


def options(config: Path = CONFIG) -> list[str]:
    """`--section.key value` for every setting of a Streamlit config file."""
    with open(config, "rb") as fh:
        settings = tomllib.load(fh)
    out = []
    for section, values in settings.items():
        for key, value in values.items():
            out += [f"--{section}.{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return out


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: see ui/app.py
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(HERE / "app.py"), *options(), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
