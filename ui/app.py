"""Entry point of the app: `streamlit run ui/app.py`.

Sets the language toggle, loads the model once for every session, and hands
over to the four pages (self-assessment, expert triage, portfolio, model card).
"""

import os

# Must precede numpy's import: one scoring is a few small matrix products, and a
# multi-threaded BLAS inside Streamlit's thread pool makes it ten times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Streamlit puts only ui/ on the path; the pages import the `ui` package from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from ui import components  # noqa: E402

# Not "pages/": Streamlit would run a pages/ folder's scripts on their own, without this entry point.
VIEWS = Path(__file__).resolve().parent / "views"

# No page or navigation icons: a ":material/...:" one becomes the tab's icon, fetched from
# fonts.gstatic.com, and emoji need a colour-emoji font the machine may not have.
st.set_page_config(page_title="CEP Medicen", layout="wide",
                   menu_items={"Get help": None, "Report a bug": None, "About": None})

components.language_toggle()
bundle = components.bundle()
page = st.navigation([
    st.Page(VIEWS / "self_assessment.py", title=components.tr("ui.nav.self_assessment"), default=True),
    st.Page(VIEWS / "triage.py", title=components.tr("ui.nav.triage")),
    st.Page(VIEWS / "portfolio.py", title=components.tr("ui.nav.portfolio")),
    st.Page(VIEWS / "model_card.py", title=components.tr("ui.nav.model")),
])
components.sidebar_footer(bundle)
page.run()
