"""`cep-scoring monitor`: the model checked against the committee's decisions recorded in the store."""

from __future__ import annotations

import json

import click

from scoring import monitor as mon
from scoring.cli_files import load_bundle


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _lines(report: dict) -> list[str]:
    o = report["overall"]
    out = [
        f"[{report['target']}] {report['n']} decided dossiers; predicted {_fmt(o['predicted'])}, "
        f"observed {_fmt(o['observed'])}, z {_fmt(o['z'], 2)}, AUC {_fmt(o['auc'])}",
        f"test: {report['test']}; alpha {report['alpha']}",
        "reliability (bin: n, predicted, observed, band of a calibrated model):",
    ]
    out += [
        f"  {b['bin'][0]:.1f}-{b['bin'][1]:.1f}: {b['n']}, {b['predicted']:.3f}, {b['observed']:.3f}, "
        f"[{b['band'][0]:.3f}, {b['band'][1]:.3f}]"
        for b in o["reliability"]
    ]
    out.append("groups (n, predicted, observed, z, Holm p, AUC):")
    for g in report["groups"]:
        name = ", ".join(f"{k}={v}" for k, v in g["group"].items())
        tail = (
            "too small to test"
            if g["too_small"]
            else f"{_fmt(g['z'], 2)}, {_fmt(g['p_holm'], 4)}, {_fmt(g['auc'])}" + ("  DRIFT" if g["drift"] else "")
        )
        out.append(f"  {name}: {g['n']}, {g['predicted']:.3f}, {g['observed']:.3f}, {tail}")
    if report["drift"]:
        out.append(
            "verdict: DRIFT in "
            + "; ".join(
                f"{d['group']} ({d['direction']}: predicted {d['predicted']:.3f}, "
                f"observed {d['observed']:.3f}, n {d['n']})"
                for d in report["drifted"]
            )
        )
    else:
        out.append(
            "verdict: no drift beyond sampling noise"
            + (" (too few decisions to test: " + "; ".join(report["too_small"]) + ")" if report["too_small"] else "")
        )
    return out


@click.command("monitor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Model that predicts the decided dossiers without a recorded prediction (default: models/default).",
)
@click.option("--recorded-only", is_flag=True, help="Only dossiers whose prediction was recorded before the decision.")
def monitor_cmd(as_json: bool, model_dir: str | None, recorded_only: bool) -> None:
    """Calibration by year, window and filière, discrimination and drift, from the store's decided dossiers.

    Exit 1 when drift is flagged (the model no longer matches the committee beyond sampling noise)."""
    from scoring.store import Store

    bundle = None if recorded_only else load_bundle(model_dir)
    with Store.from_env() as store:
        frame, counts = mon.decided_frame(store, bundle)
    if not len(frame):
        raise click.ClickException("the store holds no decided dossier; import decisions first (cep-scoring import)")
    reports = {target: mon.monitor(frame, target) for target in mon.TARGETS}
    if as_json:
        click.echo(json.dumps({"rows": counts, **reports}, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(
            f"{counts['decided']} decided dossiers: {counts['recorded']} with the prediction recorded before "
            f"the decision, {counts['predicted_now']} predicted now by the current model (not a prediction "
            f"made at the time), {counts['without_prediction']} left out"
        )
        for target in mon.TARGETS:
            click.echo("\n".join(_lines(reports[target])) + "\n")
    raise SystemExit(1 if any(r["drift"] for r in reports.values()) else 0)
