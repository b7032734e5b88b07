"""``followback churn``: the follow-then-unfollow trick and the unfollow list, from snapshots.

Reads the ingested ``snapshots`` table, runs :func:`pipeline.data.snapshots.detect` and writes
``churn.out`` (the trick events) and ``churn.unfollow_out`` (accounts you follow that no longer
follow back) as one unit, then prints a summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.core.console import ParamsOption
from pipeline.data.snapshots import ChurnResult, accounts_phrase, detect


def _read_optional(in_dir: Path, table: str) -> pd.DataFrame | None:
    from pipeline.data import io

    try:
        return io.read_table(in_dir, table)
    except FileNotFoundError:
        return None


def run(cfg, in_dir: Path | None = None) -> ChurnResult:
    """Read the ingested snapshots, detect, and write ``churn.out`` and ``churn.unfollow_out``."""
    from pipeline.data import io

    in_dir = Path(in_dir or cfg.ingest.out_dir)
    snapshots = io.read_table(in_dir, "snapshots")
    accounts = _read_optional(in_dir, "accounts")
    result = detect(snapshots, accounts, allow_list=cfg.user.allow_list,
                    repeat_offender=cfg.churn.repeat_offender,
                    max_gap_days=cfg.churn.max_gap_days)
    # Both files or neither: an unfollow list beside the events of another run misleads.
    with io.OutputSet() as out:
        io.write_table(_dated(result.events), out.file(cfg.churn.out))
        io.write_table(_dated(result.unfollow), out.file(cfg.churn.unfollow_out))
    return result


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO-8601 text, so the CSV reads the same everywhere."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype) or out[col].map(
                lambda v: isinstance(v, pd.Timestamp)).any():
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp)
                                    else None)
    return out


def _when(after: pd.Timestamp | None, by: pd.Timestamp | None) -> str:
    """A bracket in a table cell: "Jun 01-Jul 01", "by Jun 01" or "after Jun 01"."""
    if after is None or pd.isna(after):
        return f"by {by:%b %d}" if by is not None and not pd.isna(by) else "?"
    if by is None or pd.isna(by):
        return f"after {after:%b %d}"
    return f"{after:%b %d}-{by:%b %d}"


def _span(low: float | None, high: float | None) -> str:
    if high is None or pd.isna(high):
        return f">={low:g}"
    return f"{low:g}-{high:g}"


def cli(
    params: ParamsOption = Path("params.yaml"),
    in_dir: Annotated[Path | None, typer.Option(
        "--in", help="Folder of ingested tables (default: ingest.out_dir).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="CSV of trick events (default: churn.out).")] = None,
    unfollow_out: Annotated[Path | None, typer.Option(
        help="CSV of accounts you follow that no longer follow back (default: "
             "churn.unfollow_out).")] = None,
    repeat_offender: Annotated[int | None, typer.Option(
        help="Tricks that make a repeat offender (default: churn.repeat_offender).")] = None,
    max_gap_days: Annotated[float | None, typer.Option(
        help="Report intervals between snapshots longer than this many days "
             "(default: churn.max_gap_days).")] = None,
    show: Annotated[int, typer.Option(help="Tricksters to list in the terminal.")] = 20,
) -> None:
    """Find who followed you, got followed back, then unfollowed; write an unfollow list."""
    from rich.table import Table

    from pipeline.core.config import load_config
    from pipeline.core.console import console

    cfg = load_config(params)
    overrides = {k: v for k, v in {"out": out, "unfollow_out": unfollow_out,
                                   "repeat_offender": repeat_offender,
                                   "max_gap_days": max_gap_days}.items() if v is not None}
    cfg = cfg.model_copy(update={"churn": cfg.churn.model_copy(update=overrides)})
    result = run(cfg, in_dir)
    s = result.summary

    if s["follower_snapshots"]:
        console.print(f"{s['follower_snapshots']} follower and {s['following_snapshots']} "
                      f"following snapshots, {s['first']:%Y-%m-%d} to {s['last']:%Y-%m-%d}",
                      highlight=False)
    tricks = result.tricks
    if len(tricks):
        table = Table(title=f"Followed you, were followed back, then unfollowed "
                            f"({s['tricksters']} accounts, {s['tricks']} times)",
                      title_justify="left")
        for name, justify in [("account", "left"), ("followed", "left"),
                              ("followed back", "left"), ("unfollowed", "left"),
                              ("days back to unfollow", "right"), ("times", "right")]:
            table.add_column(name, justify=justify)
        for row in tricks.head(show).itertuples():
            name = row.handle if isinstance(row.handle, str) else row.account_id
            times = f"{row.times_unfollowed_after_followback}"
            if row.repeat_offender:
                times = f"[bold red]{times} repeat[/]"
            table.add_row(name, _when(row.followed_after, row.followed_by),
                          _when(row.followed_back_after, row.followed_back_by),
                          _when(row.unfollowed_after, row.unfollowed_by),
                          _span(row.days_to_unfollow_min, row.days_to_unfollow_max), times)
        console.print(table)
        if len(tricks) > show:
            console.print(f"... and {len(tricks) - show} more in {cfg.churn.out}")
    else:
        console.print("No account certainly played the follow-then-unfollow trick.")
    console.print(
        f"Tricks: {s['tricks']} by {accounts_phrase(s['tricksters'])}, of them "
        f"{s['repeat_offenders']} repeat offender{'' if s['repeat_offenders'] == 1 else 's'} "
        f"(>= {cfg.churn.repeat_offender} times). Possible but not certain: {s['possible']}"
        f"{' (below)' if s['possible'] else ''}. Unfollowed and followed again while followed "
        f"back: {s.get('refollowed', 0)} (not counted). "
        f"Unfollow list: {accounts_phrase(s['unfollow'])}"
        + (f" ({s['allow_listed']} on the allow list left off)" if s.get("allow_listed")
           else "") + ".", highlight=False)
    if result.unknowns:
        console.print("[bold]What these snapshots cannot tell:[/]")
        for unknown in result.unknowns:
            console.print(f"  - {unknown.detail}", highlight=False)
    console.print(f"Wrote {cfg.churn.out} and {cfg.churn.unfollow_out}", highlight=False)
