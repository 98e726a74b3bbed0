"""The monitoring page under AppTest (issue 18): empty store said so; decisions imported give the verdict."""

from __future__ import annotations

from scoring.i18n import t
from scoring.store import Store, import_frame
from scoring.synthetic import generate
from tests.ui.conftest import texts


def test_an_empty_store_is_said_empty(app):
    app.switch_page("views/monitor.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == t("ui.mon.title", "fr")
    assert t("ui.mon.empty", "fr") in texts(app)


def test_imported_decisions_are_monitored_with_the_verdict_and_the_groups(app, tmp_path):
    with Store(f"sqlite:///{tmp_path / 'cep.db'}") as store:  # the app's store (see the app fixture)
        import_frame(store, generate(400, 21), user="import")
    app.switch_page("views/monitor.py").run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert t("ui.mon.rows", "fr", decided=400, recorded=0, now=400, left=0) in shown
    assert t("ui.mon.no_drift", "fr") in shown or t("ui.mon.drift", "fr") in shown
    [groups] = [d.value for d in app.dataframe if t("ui.mon.group", "fr") in d.value.columns]
    assert "year = 2019" in set(groups[t("ui.mon.group", "fr")])
