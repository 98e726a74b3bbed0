"""Dossier versions: saving, reopening, drafts, the version check, history."""

import pytest

from scoring.schema import SchemaError
from scoring.store import ConflictError, InvalidDossierError


def test_first_save_then_edit_keeps_every_version(store, dossier):
    r1 = store.save_dossier(dossier(), user="alice", expected_version=None)
    r2 = store.save_dossier(dossier(title="Titre révisé"), user="bob", expected_version=1)
    assert (r1.version, r1.created, r2.version, r2.created) == (1, True, 2, True)
    versions = store.versions("CEP-2024-0042")
    assert [(v.version, v.created_by) for v in versions] == [(1, "alice"), (2, "bob")]
    assert versions[0].payload["title"] != versions[1].payload["title"]
    assert store.load_dossier("CEP-2024-0042").version == 2
    assert store.load_dossier("CEP-2024-0042", 1).payload["title"] == dossier()["title"]


def test_identical_payload_adds_no_version(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    again = store.save_dossier(dossier(), user="bob", expected_version=1)
    assert (again.version, again.created) == (1, False)
    assert len(store.versions("CEP-2024-0042")) == 1


def test_labels_are_normalised_so_equal_dossiers_hash_equal(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    same = store.save_dossier(
        dossier(filiere="e-santé", funding_window="Région Île-de-France"), user="alice", expected_version=1
    )
    assert not same.created


def test_stale_save_is_refused_with_a_clear_message(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    store.save_dossier(dossier(title="Bob's edit"), user="bob", expected_version=1)
    with pytest.raises(ConflictError) as info:
        store.save_dossier(dossier(title="Carol's edit"), user="carol", expected_version=1)
    e = info.value
    assert (e.dossier_id, e.expected_version, e.current_version, e.saved_by) == ("CEP-2024-0042", 1, 2, "bob")
    msg = str(e)
    for part in ("CEP-2024-0042", "version 1", "version 2", "bob", "nothing was saved"):
        assert part in msg
    assert store.load_dossier("CEP-2024-0042").payload["title"] == "Bob's edit"


def test_creating_an_existing_dossier_is_a_conflict(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    with pytest.raises(ConflictError, match="already exists"):
        store.save_dossier(dossier(title="other"), user="bob", expected_version=None)


def test_editing_an_unknown_dossier_is_a_conflict(store, dossier):
    with pytest.raises(ConflictError, match="no saved version"):
        store.save_dossier(dossier(), user="bob", expected_version=3)


def test_invalid_dossier_is_refused_listing_issues(store, dossier):
    with pytest.raises(InvalidDossierError) as info:
        store.save_dossier(dossier(trl=12, title=""), user="alice", expected_version=None)
    fields = {i.field for i in info.value.issues}
    assert {"trl", "title"} <= fields
    assert "trl" in str(info.value) and "draft" in str(info.value)
    assert store.list_dossiers() == []


def test_incomplete_draft_is_saved_and_reopened(store):
    draft = {"dossier_id": "AUTO-1", "title": "Mon projet", "answers": {"ii_medical_need": "interviews"}}
    r = store.save_dossier(draft, user="lead", expected_version=None, draft=True)
    assert (r.status, r.version) == ("draft", 1)
    assert {"year", "filiere"} <= {i.field for i in r.issues}
    reopened = store.load_dossier("AUTO-1")
    assert reopened.payload == draft and reopened.status == "draft"
    assert store.list_dossiers(status="valid") == []


def test_completing_a_draft_makes_a_valid_version(store, dossier):
    store.save_dossier(dossier(), user="lead", expected_version=None, draft=True)
    done = store.save_dossier(dossier(), user="lead", expected_version=1)
    assert (done.version, done.status) == (2, "valid")
    assert [v.status for v in store.versions("CEP-2024-0042")] == ["draft", "valid"]
    assert store.list_dossiers(status="valid")[0].version == 2


def test_draft_needs_an_identifier_and_known_fields(store):
    with pytest.raises(InvalidDossierError, match="identifier"):
        store.save_dossier({"title": "x"}, user="lead", expected_version=None, draft=True)
    with pytest.raises(SchemaError, match="unknown field"):
        store.save_dossier({"dossier_id": "X", "colour": "red"}, user="lead", expected_version=None, draft=True)


def test_outcomes_are_decisions_not_dossier_fields(store, dossier):
    with pytest.raises(ValueError, match="record_decision"):
        store.save_dossier(dossier(labeled=True), user="alice", expected_version=None)


def test_every_change_names_its_author_and_version(store, dossier):
    with pytest.raises(ValueError, match="user must be a non-empty name"):
        store.save_dossier(dossier(), user="  ", expected_version=None)
    with pytest.raises(ValueError, match="expected_version"):
        store.save_dossier(dossier(), user="alice", expected_version="1")


def test_history_shows_every_change_in_order(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    store.save_dossier(dossier(title="v2"), user="bob", expected_version=1)
    store.record_decision("CEP-2024-0042", labeled=True, user="secretary")
    h = store.history("CEP-2024-0042")
    assert [(e.action, e.entity, e.user_name) for e in h] == [
        ("create", "dossiers", "alice"),
        ("save", "dossier_versions", "alice"),
        ("save", "dossier_versions", "bob"),
        ("decide", "decisions", "secretary"),
    ]
    assert h[2].details["version"] == 2 and len(h[2].details["sha256"]) == 64
    assert all(e.at.tzinfo is not None for e in h)


def test_list_dossiers_and_missing_dossier(store, dossier):
    for i in ("B", "A"):
        store.save_dossier(dossier(i), user="alice", expected_version=None)
    assert [d.dossier_id for d in store.list_dossiers()] == ["A", "B"]
    with pytest.raises(KeyError, match="not in the store"):
        store.load_dossier("nope")
    with pytest.raises(KeyError, match="no version 9"):
        store.load_dossier("A", 9)
