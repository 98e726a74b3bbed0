"""Which model is live and why (issue 18): the model page's line, from the challenge decision kept beside
the live model's folder by `cep-scoring train --challenge` (`scoring.challenge.decision_path`)."""

from __future__ import annotations

import json

import streamlit as st

from scoring import formatting
from scoring.challenge import decision_path
from ui import components as ui


def show(bundle) -> None:
    path = decision_path(bundle.directory)
    name, sha = ui.plain(bundle.name), bundle.sha256[:12]
    if not path.is_file():
        st.info(ui.tr("ui.live.trained", name=name, sha=sha), icon=":material/verified:")
        return
    d = json.loads(path.read_text(encoding="utf-8"))
    st.info(
        ui.tr(
            "ui.live.promoted",
            name=name,
            sha=sha,
            champion=ui.plain(d["champion"]["name"]),
            year=d["held_out_year"],
            n=formatting.number(d["held_out"], ui.lang()),
            new=formatting.number(d["log_loss"]["challenger"], ui.lang(), 3),
            old=formatting.number(d["log_loss"]["champion"], ui.lang(), 3),
            z=formatting.number(d["z"], ui.lang(), 1),
            threshold=formatting.number(d["threshold"], ui.lang(), 2),
        ),
        icon=":material/verified:",
    )
