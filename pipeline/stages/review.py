"""The review loop in the terminal: the most uncertain accounts first, answers kept at once.

Reads the scores file (``followback score``), leaves out the accounts already decided (the
ingested decisions and the decisions file) and those on the allow or never-follow list (the
lists decide them; they are counted and named), and asks about the rest in order of
uncertainty: the distance of the account's log-odds from the threshold's. Each answer is
written to the decisions file immediately (:func:`pipeline.stages.decide.record`), so quitting
midway, Ctrl-C or a closed terminal keeps every answer given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import ParamsOption, console

ANSWERS = {"f": "follow back", "s": "skip", "n": "not now", "q": "quit"}


def uncertainty(scores: pd.DataFrame) -> pd.Series:
    """Distance from the threshold on the log-odds scale: 0 is a coin toss."""
    from pipeline.model.attribution import log_odds

    p = scores["probability"].to_numpy(dtype=float)
    t = scores["threshold"].to_numpy(dtype=float)
    return pd.Series(np.abs(log_odds(p) - log_odds(t)), index=scores.index)


def queue(scores: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """Undecided accounts not on a list, the most uncertain first (ties: input order)."""
    todo = scores[~scores["account_id"].isin(set(decided["account_id"]))]
    todo = todo[todo["override"].fillna("") == ""]
    order = uncertainty(todo).sort_values(kind="stable").index
    return todo.loc[order].reset_index(drop=True)


def show(row: pd.Series, position: int, total: int) -> None:
    """One account as a card; everything the account wrote is printed as plain text."""
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    if isinstance(row.get("display_name"), str):
        body.append(row["display_name"] + "\n", style="bold")
    if isinstance(row.get("bio"), str):
        body.append(row["bio"] + "\n", style="italic")
    body.append(f"\nP(follow back) {row['probability']:.2f} (threshold "
                f"{row['threshold']:.2f}), model says: ")
    body.append(str(row["verdict"]), style="bold")
    for k in (1, 2, 3):
        reason = row.get(f"reason_{k}")
        if isinstance(reason, str) and reason:
            body.append(f"\n  • {reason}")
    title = Text(f"{position}/{total}  @{row['handle']}")
    console.print(Panel(body, title=title, title_align="left"))


def ask() -> str:
    """One answer: f, s, n or q; end of input or Ctrl-C means quit."""
    from rich.prompt import Prompt

    try:
        # Escaped brackets: rich would read "[f]" as a style tag.
        answer = Prompt.ask(r"\[f]ollow back, \[s]kip, \[n]ot now, \[q]uit",
                            choices=list(ANSWERS), default="n", console=console,
                            show_choices=False)
    except (EOFError, KeyboardInterrupt):
        return "q"
    return answer


def review(cfg: Config, limit: int | None = None, notes: bool = False) -> dict[str, int]:
    """Run the loop; return how many accounts got each answer."""
    from rich.prompt import Prompt

    from pipeline.data.scores import read_scores
    from pipeline.model.reasons import ALLOW, NEVER
    from pipeline.stages import decide

    scores = read_scores(cfg.score.out)
    decided = decide.known_decisions(cfg)
    listed = scores[scores["override"].fillna("") != ""]
    for label in (ALLOW, NEVER):
        hits = listed[listed["override"] == label]
        if len(hits):
            names = ", ".join(f"@{h}" for h in hits["handle"].head(8))
            console.print(f"{len(hits)} on your {label}, decided by it and not asked: "
                          f"{names}{' ...' if len(hits) > 8 else ''}", highlight=False,
                          markup=False)
    todo = queue(scores, decided)
    if limit is not None:
        todo = todo.head(limit)
    counts = {"follow back": 0, "skip": 0, "not now": 0}
    if todo.empty:
        console.print("nothing to review: every scored account is decided or on a list")
        return counts
    console.print(f"{len(todo)} accounts to review, the most uncertain first; answers are "
                  f"saved to {cfg.report.decisions_out} as you go")
    for i, row in todo.iterrows():
        show(row, i + 1, len(todo))
        answer = ask()
        if answer == "q":
            break
        if answer == "n":
            counts["not now"] += 1
            continue
        note = None
        if notes:
            try:
                note = Prompt.ask("note (Enter for none)", default="", console=console,
                                  show_default=False) or None
            except (EOFError, KeyboardInterrupt):
                note = None
        rec = decide.record(cfg.report.decisions_out, str(row["account_id"]), answer == "f",
                            note=note, handle=row["handle"])
        counts[ANSWERS[answer]] += 1
        console.print(f"saved: {decide.describe(rec)}", highlight=False, markup=False)
    return counts


def cli(
    params: ParamsOption = Path("params.yaml"),
    limit: Annotated[int | None, typer.Option(
        help="Ask about at most this many accounts.", min=1)] = None,
    notes: Annotated[bool, typer.Option(
        "--notes", help="Also ask for a note with each answer.")] = False,
) -> None:
    """Decide on the most uncertain accounts first, in the terminal; answers are kept at once.

    Reads score.out, skips accounts already decided or on your allow/never-follow lists, and
    writes each answer to report.decisions_out. Quit any time with q (or Ctrl-D); the next
    `dvc repro` retrains on your answers.
    """
    cfg = load_config(params)
    counts = review(cfg, limit=limit, notes=notes)
    answered = counts["follow back"] + counts["skip"]
    console.print(f"answered {answered} ({counts['follow back']} follow back, "
                  f"{counts['skip']} skip), {counts['not now']} left for later; run `dvc "
                  "repro` to retrain on them", highlight=False)
