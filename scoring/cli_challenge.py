"""`cep-scoring train --challenge`: the champion against a challenger retrained on the committee's decisions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scoring import io, schema
from scoring.cli_files import UnusableFile


def run_challenge(data: str, out: str, champion_dir: str | None, seed: int, read: io.ReadOptions) -> None:
    """Evaluate champion and challenger on the most recent year; train and write the new model to OUT only
    when the challenger wins beyond the noise. The champion's folder (and card) is never touched; the
    decision is written as OUT/challenge.json beside the new card, or printed when the champion stays."""
    from scoring.challenge import challenge
    from scoring.cli import _load_bundle
    from scoring.training import read_training_base, train

    champion = _load_bundle(champion_dir)
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
        Path(out, "challenge.json").write_text(json.dumps(decision, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
