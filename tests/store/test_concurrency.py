"""Concurrent writers on one dossier, and a writer killed in the middle of a save."""

import multiprocessing
import os
import signal
import threading

import sqlalchemy as sa

from scoring.store import ConflictError, Store

# Forked for speed (no re-import); safe because a child only ever uses the Store it opens itself,
# never the parent's engine or its pooled connections.
FORK = multiprocessing.get_context("fork")
DOSSIER = "CEP-2024-0042"


def _edit_until(store: Store, worker: str, saves: int) -> list[tuple[int, str]]:
    """Reload-edit-save until `saves` saves succeeded; returns (version, title) of each win."""
    won = []
    while len(won) < saves:
        head = store.load_dossier(DOSSIER)
        title = f"{worker} edit {len(won)}"
        try:
            r = store.save_dossier(dict(head.payload, title=title), user=worker, expected_version=head.version)
        except ConflictError:
            continue
        won.append((r.version, title))
    return won


def _process_writer(url: str, worker: str, saves: int, start, results) -> None:
    with Store(url) as store:
        start.wait()
        results.put(_edit_until(store, worker, saves))


def _assert_no_lost_update(store: Store, wins: list[tuple[int, str]]) -> None:
    versions = store.versions(DOSSIER)
    assert [v.version for v in versions] == list(range(1, len(wins) + 2))
    # Every successful save is exactly one version, holding what its writer wrote.
    assert sorted(wins) == [(v.version, v.payload["title"]) for v in versions[1:]]
    audited = [e for e in store.history(DOSSIER) if e.entity == "dossier_versions"]
    assert len(audited) == len(versions)
    # Concurrent writers never chained two entries off the same one.
    report = store.verify_audit()
    assert report.intact, report.message()


def test_racing_the_same_version_has_one_winner(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            store.save_dossier(dossier(title=f"edit {i}"), user=f"w{i}", expected_version=1)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * (n - 1) + ["won"]
    assert len(store.versions(DOSSIER)) == 2


def test_concurrent_threads_lose_no_update(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    wins: list[tuple[int, str]] = []
    threads = [threading.Thread(target=lambda w=w: wins.extend(_edit_until(store, w, 3))) for w in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 9
    _assert_no_lost_update(store, wins)


def test_concurrent_processes_lose_no_update(store, dossier, db_url):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    start, results = FORK.Event(), FORK.Queue()
    procs = [FORK.Process(target=_process_writer, args=(db_url, w, 4, start, results)) for w in ("p1", "p2")]
    for p in procs:
        p.start()
    start.set()
    wins = [win for _ in procs for win in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(wins) == 8
    _assert_no_lost_update(store, wins)


def _save_and_hang_before_commit(url: str, ready) -> None:
    store = Store(url)

    def hang(conn) -> None:  # the rows are written, the COMMIT is not sent yet
        ready.set()
        threading.Event().wait(300)

    sa.event.listen(store.engine, "commit", hang)
    head = store.load_dossier(DOSSIER)
    store.save_dossier(dict(head.payload, title="never committed"), user="killed", expected_version=head.version)


def test_process_killed_mid_save_leaves_the_database_consistent(store, dossier, db_url):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    ready = FORK.Event()
    child = FORK.Process(target=_save_and_hang_before_commit, args=(db_url, ready))
    child.start()
    assert ready.wait(120), "the child never reached its commit"
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL

    assert [v.version for v in store.versions(DOSSIER)] == [1]
    assert "never committed" not in {v.payload["title"] for v in store.versions(DOSSIER)}
    with store.engine.connect() as conn:
        n_versions = conn.execute(sa.text("SELECT count(*) FROM dossier_versions")).scalar()
        n_audited = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE entity = 'dossier_versions'")).scalar()
        assert n_versions == n_audited == 1
        if conn.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
    # The dead writer's lock is gone: the next save goes through.
    assert store.save_dossier(dossier(title="after the crash"), user="bob", expected_version=1).version == 2


def test_concurrent_writers_on_different_dossiers_keep_one_chain(store, dossier):
    # No dossier lock orders these writers: only the chain's own serialisation keeps them from
    # reading the same last entry (a fork, refused by the unique prev_hash).
    ids = [f"CEP-{i}" for i in range(4)]
    for i in ids:
        store.save_dossier(dossier(i), user="alice", expected_version=None)
    barrier = threading.Barrier(len(ids))
    errors: list[Exception] = []

    def assess(dossier_id: str) -> None:
        barrier.wait()
        try:
            for n in range(5):
                store.record_assessment(dossier_id, {"data_quality": n % 5}, user=f"expert-{dossier_id}")
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=assess, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = store.verify_audit()
    assert report.intact and report.entries == 2 * len(ids) + 5 * len(ids), report.message()
