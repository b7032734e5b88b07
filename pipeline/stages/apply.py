"""``followback apply mastodon|bluesky``: turn the latest verdicts into follows and unfollows.

The plan, made offline from the files the pipeline wrote:

- **follow back** every account that follows you in the latest fetch
  (``data/raw/<platform>/<time>/``), that you do not follow there, and whose verdict in
  ``score.out`` is "follow back"; with ``--unfollow-tricksters`` also **unfollow** every
  account of ``churn.unfollow_out`` that played the follow-then-unfollow trick and that you still
  follow. Your allow and never-follow lists (``user.allow_list``, ``user.never_list``, as they
  are now) always hold: a never-listed account is never followed, an allowed one never
  unfollowed and always followed back. An explicit decision of yours (``decide``, ``review``, a
  decisions file) to skip an account holds too; implicit decisions read from snapshots do not
  stop an action.
- The dry run (the default) prints the plan, who, which action and the top reason, and changes
  nothing, online or on disk. ``--yes`` carries it out: it checks each relationship live first
  (an account you followed since the fetch is skipped), paces the writes (``apply.pace_seconds``,
  else the platform's: 1 s on Mastodon, 2.2 s on Bluesky) and caps one run at ``--max``
  (``apply.max_actions``) and at what is left of the platform's write limits, counted from your
  earlier action logs (Mastodon: 400 follows a day; Bluesky: 5,000 points an hour and 35,000 a
  day, a follow 3 points, an unfollow 1).
- Every action is appended, as it happens, to an action log ``apply.actions_dir/<platform>-<UTC
  time>.jsonl``: time, platform, account, action, reason, result, and what undoing it needs.
  Each action carried out is also recorded as your explicit decision (``report.decisions_out``,
  through :mod:`pipeline.stages.decide`), so the next training run learns from it.
- ``--undo LOG`` plans the reverse of every action of that log that succeeded (newest first),
  and with ``--yes`` carries it out and puts back the decisions the run had replaced.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console, progress
from pipeline.data import io
from pipeline.stages import decide

FOLLOW, UNFOLLOW = "follow", "unfollow"
INVERSE = {FOLLOW: UNFOLLOW, UNFOLLOW: FOLLOW}
NOTE = "followback apply"


@dataclass
class Action:
    """One planned write."""

    account_id: str
    handle: str | None
    action: str
    reason: str
    ref: str | None = None                   # Bluesky: the follow record an unfollow deletes
    previous_decision: dict | None = None    # undo: the decision to put back


@dataclass
class Plan:
    platform: str
    actions: list[Action]
    held_back: list[tuple[Action, str]] = field(default_factory=list)  # (action, why not now)
    fetch: str = ""
    undo_of: str | None = None


# --------------------------------------------------------------------------- inputs


def latest_fetch(cfg: Config, platform: str) -> tuple[Path, dict]:
    from pipeline.data.fetch._run import completed

    fetches = completed(cfg.fetch.out_dir / platform)
    if not fetches:
        raise FollowbackError(f"no complete fetch in {cfg.fetch.out_dir / platform}: run "
                              f"`followback fetch {platform}` first")
    return fetches[-1]


def fetched_lists(folder: Path, platform: str) -> dict[str, set[str]]:
    """The account ids in the fetch's follower and following lists."""
    if platform == "mastodon":
        from pipeline.data.fetch.mastodon import entries
    else:
        from pipeline.data.fetch.bluesky import entries
    return {d: {i for page in sorted(folder.glob(f"{d}/page-*.json"))
                for i, _ in entries(page.read_bytes())}
            for d in ("followers", "following")}


def explicit_decisions(cfg: Config) -> dict[str, bool]:
    """Your explicit decisions (ingested ones whose note is not "implicit...", then the
    decisions file, which wins)."""
    out: dict[str, bool] = {}
    path = io.table_path(cfg.ingest.out_dir, "decisions")
    if path.is_file():
        table = io.read_table(cfg.ingest.out_dir, "decisions")
        implicit = table["note"].fillna("").str.strip().str.lower().str.startswith("implicit")
        for account_id, follow in zip(table.loc[~implicit, "account_id"],
                                      table.loc[~implicit, "follow_back"], strict=True):
            out[str(account_id)] = bool(follow)
    manual = decide.read_decisions(cfg.report.decisions_out)
    for account_id, follow in zip(manual["account_id"], manual["follow_back"], strict=True):
        out[str(account_id)] = str(follow).strip().lower() in ("true", "1", "yes", "t", "y")
    return out


def tricksters(cfg: Config) -> pd.DataFrame:
    path = Path(cfg.churn.unfollow_out)
    io.recover(path)
    if not path.is_file():
        raise FollowbackError(f"{path} not found: run `followback churn` (or `dvc repro`) "
                              "first")
    frame = pd.read_csv(path, dtype={"account_id": str, "handle": str}, keep_default_na=False)
    counts = pd.to_numeric(frame["times_unfollowed_after_followback"], errors="coerce")
    return frame[counts.fillna(0) >= 1]


# --------------------------------------------------------------------------- planning


def make_plan(cfg: Config, platform: str, unfollow_tricksters: bool = False) -> Plan:
    """What the latest scores (and unfollow list) say to do, before any cap."""
    from pipeline.data.scores import read_scores
    from pipeline.model.reasons import ALLOW, NEVER, Overrides
    from pipeline.model.reasons import FOLLOW as VERDICT_FOLLOW

    folder, _ = latest_fetch(cfg, platform)
    lists = fetched_lists(folder, platform)
    overrides = Overrides.from_user(cfg.user)
    decided = explicit_decisions(cfg)
    scores = read_scores(cfg.score.out).sort_values("probability", ascending=False)
    actions: list[Action] = []
    held: list[tuple[Action, str]] = []
    for row in scores.itertuples(index=False):
        account_id = str(row.account_id)
        if account_id not in lists["followers"] or account_id in lists["following"]:
            continue
        handle = None if pd.isna(row.handle) else str(row.handle)
        override = overrides.of(handle, account_id)
        action = Action(account_id, handle, FOLLOW, "")
        if override == NEVER:
            continue
        if override == ALLOW:
            action.reason = "on your allow list"
        elif decided.get(account_id) is False:
            continue  # you decided to skip it
        elif decided.get(account_id) is True:
            action.reason = "you decided to follow back"
        elif isinstance(row.override, str) and row.override:
            held.append((action, f"its verdict came from the {row.override}, which no longer "
                                 "lists it: run `followback score` again"))
            continue
        elif row.verdict == VERDICT_FOLLOW:
            action.reason = str(row.reason_1) if isinstance(row.reason_1, str) else \
                f"probability {row.probability:.2f}"
        else:
            continue
        actions.append(action)
    if unfollow_tricksters:
        for row in tricksters(cfg).itertuples(index=False):
            account_id, handle = str(row.account_id), (row.handle or None)
            if account_id not in lists["following"] or overrides.of(handle, account_id) == ALLOW:
                continue
            times = int(float(row.times_unfollowed_after_followback))
            actions.append(Action(account_id, handle, UNFOLLOW,
                                  f"followed you, was followed back, then unfollowed "
                                  f"({times} time{'s' if times > 1 else ''})"))
    return Plan(platform, actions, held, fetch=folder.name)


def undo_plan(log: Path) -> Plan:
    """The reverse of every successful action of an action log, newest first."""
    entries = read_log(log)
    if not entries:
        raise FollowbackError(f"{log} holds no actions")
    platform = entries[0]["platform"]
    actions = [Action(e["account_id"], e.get("handle"), INVERSE[e["action"]],
                      f"undo: {e['action']} of {e['time']}", ref=e.get("ref"),
                      previous_decision=e.get("previous_decision") or {"none": True})
               for e in reversed(entries) if e.get("result") == "ok"]
    return Plan(platform, actions, undo_of=Path(log).name)


# --------------------------------------------------------------------------- the log


def read_log(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise FollowbackError(f"{path}, line {number}: not JSON ({exc.msg})") from None
    return out


class ActionLog:
    """An append-only JSON Lines file; each line is flushed to disk before the next write, so
    a crash loses at most the action in flight."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, entry: dict[str, Any]) -> None:
        import os

        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def used_points(actions_dir: Path, platform: str, cost: dict[str, int], since: datetime
                ) -> int:
    """Write points spent on ``platform`` since ``since``, from every action log."""
    total = 0
    for log in Path(actions_dir).glob(f"{platform}-*.jsonl"):
        for entry in read_log(log):
            if entry.get("result") != "ok":
                continue
            when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
            if when >= since:
                total += cost.get(entry["action"], 0)
    return total


def cap(plan: Plan, max_actions: int, actions_dir: Path, budgets, cost: dict[str, int],
        now: datetime) -> Plan:
    """Keep what ``--max`` and what is left of the platform's write limits allow."""
    left = {window: limit - used_points(actions_dir, plan.platform, cost,
                                        now - timedelta(seconds=window))
            for limit, window in budgets}
    kept, held = [], list(plan.held_back)
    for action in plan.actions:
        price = cost.get(action.action, 0)
        if len(kept) >= max_actions:
            held.append((action, f"over --max {max_actions}"))
        elif any(price > points for points in left.values()):
            window = next(w for w, p in left.items() if price > p)
            held.append((action, f"the platform's write limit for {window / 3600:g} h is used "
                                 "up by earlier runs: run again later"))
        else:
            kept.append(action)
            left = {w: p - price for w, p in left.items()}
    return Plan(plan.platform, kept, held, plan.fetch, plan.undo_of)


# --------------------------------------------------------------------------- carrying out


def actions_client(cfg: Config, platform: str, manifest: dict | None, instance: str | None,
                   service: str | None):
    from pipeline.data.fetch import read_secret, transport_for

    transport = transport_for(platform, cfg)
    if platform == "mastodon":
        from pipeline.data.fetch.mastodon import MastodonActions

        token = read_secret("mastodon", cfg.fetch.mastodon.token_file)
        server = instance or cfg.fetch.mastodon.instance or (manifest or {}).get("server")
        if not token or not server:
            raise FollowbackError("following needs MASTODON_ACCESS_TOKEN (or "
                                  "fetch.mastodon.token_file, with the write:follows scope) "
                                  "and the server (--instance)")
        return MastodonActions(server, token, transport)
    from pipeline.data.fetch.bluesky import BlueskyActions

    password = read_secret("bluesky", cfg.fetch.bluesky.password_file)
    handle = (manifest or {}).get("account", {}).get("handle") or cfg.fetch.bluesky.handle
    if not password or not handle:
        raise FollowbackError("following needs BLUESKY_APP_PASSWORD (or "
                              "fetch.bluesky.password_file) and your handle")
    return BlueskyActions(handle, service or cfg.fetch.bluesky.service, password, transport)


def _decision(cfg: Config, account_id: str) -> dict | None:
    frame = decide.read_decisions(cfg.report.decisions_out)
    hit = frame[frame["account_id"] == account_id]
    if not len(hit):
        return None
    row = hit.iloc[-1]
    return {"follow_back": str(row["follow_back"]).lower() == "true",
            "decided_at": str(row["decided_at"]), "note": str(row["note"])}


def _restore(cfg: Config, action: Action) -> None:
    previous = action.previous_decision or {}
    if previous.get("none"):
        decide.forget(cfg.report.decisions_out, action.account_id)
    elif previous:
        when = datetime.fromisoformat(previous["decided_at"].replace("Z", "+00:00")) \
            if previous.get("decided_at") else None
        decide.record(cfg.report.decisions_out, action.account_id, previous["follow_back"],
                      note=previous.get("note") or None, handle=action.handle, decided_at=when)


def carry_out(cfg: Config, plan: Plan, api, pace: float, log: ActionLog,
              sleep=time.sleep) -> dict[str, int]:
    """Do the plan's writes, logging and recording each; returns counts by result."""
    counts: dict[str, int] = {}
    live = api.relations([a.account_id for a in plan.actions]) if plan.actions else {}
    with progress("writes") as bar:
        task = bar.add_task(f"{plan.platform}: writes", total=len(plan.actions))
        for number, action in enumerate(plan.actions):
            ref = live.get(action.account_id)
            entry = {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "platform": plan.platform, "account_id": action.account_id,
                     "handle": action.handle, "action": action.action,
                     "reason": action.reason, "fetch": plan.fetch}
            if plan.undo_of:
                entry["undo_of"] = plan.undo_of
            if action.action == FOLLOW and ref is not None:
                entry["result"] = "skipped: already following"
            elif action.action == UNFOLLOW and ref is None and action.ref is None:
                entry["result"] = "skipped: not following"
            else:
                if number and pace > 0:
                    sleep(pace)
                try:
                    if action.action == FOLLOW:
                        entry["ref"] = api.follow(action.account_id)
                    else:
                        api.unfollow(action.account_id, ref or action.ref)
                    entry["result"] = "ok"
                except Exception as exc:  # noqa: BLE001 - logged, and the run goes on
                    entry["result"] = f"error: {type(exc).__name__}: {exc}"[:300]
            if entry["result"] == "ok":
                entry["previous_decision"] = _decision(cfg, action.account_id)
                if plan.undo_of:
                    _restore(cfg, action)
                else:
                    decide.record(cfg.report.decisions_out, action.account_id,
                                  action.action == FOLLOW, handle=action.handle,
                                  note=f"{NOTE}: {action.action} ({action.reason})"[:300])
            log.append(entry)
            key = entry["result"].split(":")[0]
            counts[key] = counts.get(key, 0) + 1
            bar.advance(task)
    return counts


# --------------------------------------------------------------------------- command


def print_plan(plan: Plan, dry_run: bool) -> None:
    from rich.table import Table

    what = "undo of " + plan.undo_of if plan.undo_of else f"fetch {plan.fetch}"
    grid = Table(title=f"{'plan (dry run: nothing is done)' if dry_run else 'carrying out'}: "
                       f"{len(plan.actions)} action(s) on {plan.platform}, {what}",
                 title_justify="left")
    for name in ("account", "action", "reason"):
        grid.add_column(name, overflow="fold")
    for action in plan.actions:
        grid.add_row(f"@{action.handle}" if action.handle else action.account_id,
                     action.action, action.reason)
    console.print(grid)
    if plan.held_back:
        console.print(f"[yellow]not in this run: {len(plan.held_back)}[/]", highlight=False)
        for action, why in plan.held_back[:5]:
            console.print(f"  {action.handle or action.account_id}: {action.action}: {why}",
                          highlight=False, markup=False)


def cli(
    platform: Annotated[Literal["mastodon", "bluesky"], typer.Argument(
        help="mastodon or bluesky.", show_default=False)],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Carry the plan out. Without it, print the plan and change nothing.")
    ] = False,
    max_actions: Annotated[int | None, typer.Option(
        "--max", min=0, help="At most this many writes in this run (default: "
        "apply.max_actions).", show_default=False)] = None,
    unfollow_tricksters: Annotated[bool, typer.Option(
        "--unfollow-tricksters", help="Also unfollow the accounts of the unfollow list "
        "(churn.unfollow_out) that played the follow-then-unfollow trick.")] = False,
    undo: Annotated[Path | None, typer.Option(
        "--undo", metavar="LOG", help="Reverse the actions of this action log instead "
        "(also a dry run without --yes).", dir_okay=False, show_default=False)] = None,
    instance: Annotated[str | None, typer.Option(
        help="Mastodon: your server (default: the latest fetch's).", show_default=False)
    ] = None,
    service: Annotated[str | None, typer.Option(
        help="Bluesky: the server to log in to (default: bsky.social).", show_default=False)
    ] = None,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Follow back the accounts scored "follow back" (dry run unless --yes); log every action.

    Allow and never-follow lists always hold; writes are paced within the platform's limits;
    each action is appended to a log in `apply.actions_dir` and recorded as your decision.
    `--undo LOG` reverses a run.
    """
    from pipeline.data.fetch._run import completed

    cfg = load_config(params)
    if undo is not None:
        plan = undo_plan(undo)
        if plan.platform != platform:
            raise FollowbackError(f"{undo} is a {plan.platform} log, not {platform}")
    else:
        plan = make_plan(cfg, platform, unfollow_tricksters)
    fetches = completed(cfg.fetch.out_dir / platform)
    manifest = fetches[-1][1] if fetches else None  # the server and account it was of
    if platform == "mastodon":
        from pipeline.data.fetch.mastodon import MastodonActions as Writes
    else:
        from pipeline.data.fetch.bluesky import BlueskyActions as Writes
    now = datetime.now(UTC)
    plan = cap(plan, cfg.apply.max_actions if max_actions is None else max_actions,
               cfg.apply.actions_dir, Writes.budgets, Writes.cost, now)
    print_plan(plan, dry_run=not yes)
    if not yes:
        console.print("dry run: nothing was changed; add --yes to carry it out",
                      highlight=False)
        return
    if not plan.actions:
        return
    api = actions_client(cfg, platform, manifest, instance, service)
    name = f"{platform}-{now.strftime('%Y-%m-%dT%H%M%SZ')}{'-undo' if undo else ''}.jsonl"
    log = ActionLog(cfg.apply.actions_dir / name)
    pace = Writes.pace_seconds if cfg.apply.pace_seconds is None else cfg.apply.pace_seconds
    counts = carry_out(cfg, plan, api, pace, log)
    console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f"; log: {log.path}"
                  f"; decisions: {cfg.report.decisions_out} (undo: followback apply {platform} "
                  f"--undo {log.path} --yes)", highlight=False)
    if counts.get("error"):
        raise typer.Exit(1)
