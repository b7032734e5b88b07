"""``followback explain HANDLE``: why the model would follow back one account or not.

Prints each criterion's push (exact Shapley values, :mod:`pipeline.model.attribution`) with
its evidence and reason (:mod:`pipeline.model.reasons`), for one ingested account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.core.config import RulesConfig, load_config
from pipeline.core.console import ParamsOption, console
from pipeline.model.attribution import CRITERION_ORDER, contrib_column, feature_matrix, log_odds
from pipeline.model.reasons import evidence, reason_text, red_flags, text_or_none

# --------------------------------------------------------------------------- command


def _bar(value: float, scale: float, width: int = 12) -> str:
    n = int(round(min(1.0, abs(value) / scale) * width)) if scale > 0 else 0
    return ("█" * n).rjust(width) if value < 0 else ("█" * n).ljust(width)


def render(row: pd.Series, proofs: pd.Series, console_=None,
           flags: pd.Series | None = None) -> None:
    """Print one account's explanation: verdict, override, every criterion with evidence.

    ``flags`` (a row of :func:`red_flags`) keeps the words true of the account."""
    from rich.text import Text

    out = console_ or console
    # Account text goes in as Text objects: rich markup in a name or bio is shown, not run.
    head = Text()
    head.append(f"@{row['handle']}", style="bold")
    if text_or_none(row.get("display_name")):
        head.append(f"  {row['display_name']}")
    out.print(head)
    if text_or_none(row.get("bio")):
        out.print(Text(str(row["bio"]), style="italic"))
    line = Text(f"P(follow back) {row['probability']:.2f} (threshold "
                f"{row['threshold']:.2f}): ")
    line.append(str(row["verdict"]).upper(), style="bold")
    if row.get("override"):
        line.append(f"  [override: on your {row['override']}, whatever the model says]",
                    style="magenta")
    out.print(line)
    contrib = {c: row[contrib_column(c)] for c in CRITERION_ORDER
               if contrib_column(c) in row and not pd.isna(row[contrib_column(c)])}
    scale = max([abs(v) for v in contrib.values()] + [1e-9])
    out.print(Text("push (log-odds): against | for", style="dim"))
    # One line per criterion, largest push first: bars, then the reason and its evidence.
    for crit in sorted(contrib, key=lambda c: -abs(contrib[c])):
        v = contrib[crit]
        line = Text(f"{v:+6.2f} ")
        line.append(_bar(v, scale) if v < 0 else " " * 12, style="red")
        line.append("|")
        line.append(_bar(v, scale) if v > 0 else " " * 12, style="green")
        flag = flags.get(crit) if flags is not None else None
        line.append("  " + reason_text(crit, v, text_or_none(proofs.get(crit)), flag))
        out.print(line)


def cli(
    handle: Annotated[str, typer.Argument(help="The account to explain: handle (with or "
                                          "without @) or account id, from the ingested data.")],
    params: ParamsOption = Path("params.yaml"),
    model_uri: Annotated[str | None, typer.Option(
        "--model", help="Model folder or MLflow URI (default: score.model_uri, else "
        "train.model_dir, the model the pipeline just trained).")] = None,
) -> None:
    """Say why the model would follow back HANDLE or not: each criterion's push and evidence.

    Contributions are exact Shapley values of the six criteria on the log-odds scale; they add
    up to the account's log-odds minus the average over a sample of your decided accounts.
    """
    from pipeline.data.frame import ingested_account, ingested_groups, with_groups
    from pipeline.model import pyfunc, tracking

    cfg = load_config(params)
    model, model_id = tracking.load_model(cfg, model_uri)
    console.print(f"model: {model_id}", style="dim", highlight=False, markup=False)
    frame = pyfunc.input_frame(with_groups(ingested_account(cfg, handle),
                                           ingested_groups(cfg)))
    row = model.predict(None, frame, params=pyfunc.params_of(cfg)).iloc[0]
    pipeline = model.pipeline
    features = feature_matrix(pipeline, frame)
    proofs = evidence(pipeline, frame).iloc[0]
    flags = red_flags(pd.DataFrame(features, columns=pipeline[:-1].get_feature_names_out()),
                      RulesConfig(**model.settings.get("rules", {}))).iloc[0]
    render(row, proofs, flags=flags)
    total = float(sum(row[contrib_column(c)] for c in CRITERION_ORDER
                      if not pd.isna(row[contrib_column(c)])))
    own = float(log_odds(row["probability"]))
    console.print(f"The pushes add up to {total:+.2f}: this account's log-odds {own:+.2f} minus "
                  f"{own - total:+.2f}, the average over {len(model.background)} of your "
                  f"decided accounts. Model: {model_id}.", style="dim", highlight=False,
                  markup=False)
