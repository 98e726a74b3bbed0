"""`cep-scoring train --challenge`: the champion against a challenger retrained on the committee's decisions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scoring import io, schema
from scoring.challenge import decision_path
from scoring.cli_files import UnusableFile, load_bundle


def run_challenge(data: str, out: str, champion_dir: str | None, seed: int, read: io.ReadOptions) -> None:
    """Evaluate champion and challenger on the most recent year; train and write the new model to OUT only
    when the challenger wins beyond the noise. The champion's folder (and card) is never touched; the
    decision is written beside the new folder (`decision_path`), printed, and entered in the store's audit
    chain (`CEP_DB_URL`), promoted or not."""
    from scoring.challenge import challenge
    from scoring.training import read_training_base, train

    champion = load_bundle(champion_dir)
    if Path(out).resolve() == Path(champion.directory).resolve():
        raise UnusableFile(f"--out {out} is the champion's folder; give a new folder so that both cards are kept")
    try:
        frame, _ = read_training_base(data, read)
    except schema.SchemaError as exc:
        raise UnusableFile(f"{data}: {exc}") from None
    _, decision = challenge(champion.model, frame, seed)
    decision["champion"] = champion.identity()
    if decision["promote"]:
        bundle, _ = train(data, out, seed=seed, read=read)
        decision["challenger"] = bundle.identity()
        decision_path(out).write_text(json.dumps(decision, ensure_ascii=False, indent=2), encoding="utf-8")
    _audit(decision)
    click.echo(json.dumps(decision, ensure_ascii=False, indent=2))


def _audit(decision: dict) -> None:
    """The decision, promoted or not, as an entry of the store's audit chain (who ran it: $USER)."""
    import datetime as dt
    import os

    from scoring.store import Store
    from scoring.store.audit import append
    from scoring.store.db import write_transaction

    entity = (decision.get("challenger") or decision["champion"])["sha256"]
    with Store.from_env() as store, write_transaction(store.engine) as conn:
        append(
            conn,
            [
                {
                    "at": dt.datetime.now(dt.timezone.utc),
                    "user_name": os.environ.get("USER") or "cep-scoring",
                    "action": "challenge",
                    "entity": "model",
                    "entity_id": entity,
                    "dossier_id": None,
                    "details": decision,
                }
            ],
        )
