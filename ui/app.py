"""Entry point of the app: `streamlit run ui/app.py`.

Sets the language choice, asks who is using the app (ui.auth: a sign-in in shared
mode, a name on a workstation), loads the model once for every session, and hands
over to the pages the user's role opens (self-assessment, expert triage, committee,
portfolio, model card).
"""

import os

# Must precede numpy's import: one scoring is a few small matrix products, and a
# multi-threaded BLAS inside Streamlit's thread pool makes it ten times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

# `ui` is an installed package (pip install, or make's editable install): no sys.path editing needed.
import streamlit as st  # noqa: E402

from ui import auth, components, streamlit_words  # noqa: E402

# Not "pages/": Streamlit would run a pages/ folder's scripts on their own, without this entry point.
VIEWS = Path(__file__).resolve().parent / "views"

# No page or navigation icons: a ":material/...:" one becomes the tab's icon, fetched from
# fonts.gstatic.com, and emoji need a colour-emoji font the machine may not have.
st.set_page_config(
    page_title="CEP Medicen", layout="wide", menu_items={"Get help": None, "Report a bug": None, "About": None}
)

components.language_choice()
# Shared mode: nothing past this line runs before a sign-in, so no page is reachable without one.
signed = auth.gate()
streamlit_words.style()
bundle = components.bundle()
pages = {
    "self_assessment": st.Page(
        VIEWS / "self_assessment.py", title=components.tr("ui.nav.self_assessment"), default=True
    ),
    "triage": st.Page(VIEWS / "triage.py", title=components.tr("ui.nav.triage")),
    "committee": st.Page(VIEWS / "committee.py", title=components.tr("ui.nav.committee")),
    "portfolio": st.Page(VIEWS / "portfolio.py", title=components.tr("ui.nav.portfolio")),
    "model": st.Page(VIEWS / "model_card.py", title=components.tr("ui.nav.model")),
    "monitor": st.Page(VIEWS / "monitor.py", title=components.tr("ui.nav.monitor")),
}
# A page left out of the navigation cannot be opened, not even by its address (an applicant's /triage).
page = st.navigation([p for name, p in pages.items() if signed is None or signed.may_open(name)])
components.sidebar_footer(bundle)
page.run()
