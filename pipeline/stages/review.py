"""The review loop in the terminal: your newest undecided followers first, answers kept at once.

Reads the scores file (``followback score``; without one, the prior or the personal
classifier fitted on the cached features of ``followback featurize``), leaves out the accounts
already decided (the ingested decisions and the decisions file) and those on the allow or
never-follow list (the lists decide them; they are counted and named), and asks about the
rest: your newest undecided followers first (the follower list's order), then the others;
within each, the accounts whose answers teach the model most (uncertainty weighted by how
little their part of your followers is covered by answers, :mod:`pipeline.model.queue`). Every few
answers the classifier is refitted on the cached features and the questions re-ordered, in
seconds. Each answer is written to the decisions file immediately
(:func:`pipeline.stages.decide.record`), so quitting midway, Ctrl-C or a closed terminal keeps every
answer given. It says how many answers of each kind your own model still needs.
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


def queue(scores: pd.DataFrame, decided: pd.DataFrame, newest: pd.Series | None = None,
          group: pd.Series | None = None) -> pd.DataFrame:
    """Undecided accounts not on a list, in the order to ask about them.

    Your newest undecided followers first (``newest``: account id -> rank, 0 = newest, see
    :func:`pipeline.data.undecided.undecided`), then every other account without an explicit
    decision; within each, by uncertainty weighted by how little the account's feature group
    (``group``: account id -> group) is covered by answers (:func:`pipeline.model.queue.ask_order`);
    without groups, the most uncertain first (ties: input order).
    """
    from pipeline.model.queue import ask_order

    known = scores["account_id"].isin(set(decided["account_id"]))
    todo = scores[~known]
    todo = todo[todo["override"].fillna("") == ""]
    done = scores[known]  # answers so far cover their groups
    ids = todo["account_id"].astype(str)
    rank = ids.map(newest) if newest is not None else pd.Series(np.nan, index=todo.index)
    # Newest undecided first (by rank), then the rest in their given order.
    todo = todo.assign(_tier=rank.isna().astype(int), _rank=rank.fillna(0)).sort_values(
        ["_tier", "_rank"], kind="stable")
    parts = []
    for _, part in todo.groupby("_tier", sort=True):
        part = part.reset_index(drop=True)
        both = pd.concat([part, done], ignore_index=True)
        g = None
        if group is not None:
            g = both["account_id"].astype(str).map(group).fillna(-1).to_numpy()
        answered = np.arange(len(both)) >= len(part)
        order = ask_order(both["probability"].to_numpy(dtype=float), g, answered,
                          both["threshold"].to_numpy(dtype=float))
        parts.append(part.iloc[order])
    if not parts:
        return todo.drop(columns=["_tier", "_rank"]).reset_index(drop=True)
    return pd.concat(parts).drop(columns=["_tier", "_rank"]).reset_index(drop=True)


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


class Session:
    """What the review loop knows: a probability per account and how it came about, refitted
    on the cached features (:func:`pipeline.model.queue.refit`) as answers come in."""

    def __init__(self, cfg: Config, scores: pd.DataFrame, features: pd.DataFrame | None,
                 labels: pd.Series) -> None:
        self.cfg = cfg
        self.scores = scores
        self.features = features
        self.labels = labels.astype(int)
        self.kind = "model"  # the scores' own model until a refit
        self.model = None

    def needed(self) -> dict[str, int]:
        from pipeline.model.prior import still_needed

        t = self.cfg.train
        return still_needed(self.labels.to_numpy(), max(t.min_decisions, 2 * t.cv_folds),
                            t.cv_folds)

    def answer(self, account_id: str, follow_back: bool) -> None:
        self.labels.loc[str(account_id)] = int(follow_back)

    def refit(self) -> int:
        """Refit on the cached features with every label so far; update the probabilities
        and verdicts of the scores; return how many verdicts changed."""
        from pipeline.model.queue import feature_columns, refit
        from pipeline.model.reasons import verdict

        if self.features is None:
            return 0
        model, kind = refit(self.cfg, self.features, self.labels)
        self.model, self.kind = model, kind
        cols = feature_columns(self.features)
        X = self.features[cols]
        proba = model.predict_proba(X if kind == "prior" else X.to_numpy(dtype=float))[:, 1]
        by_id = pd.Series(proba, index=self.features["account_id"].astype(str))
        threshold = 0.5 if kind == "prior" else float(self.labels.mean())
        ids = self.scores["account_id"].astype(str)
        known = ids.isin(by_id.index)
        before = self.scores["verdict"].copy()
        self.scores.loc[known, "probability"] = ids[known].map(by_id).to_numpy()
        self.scores.loc[known, "threshold"] = threshold
        self.scores.loc[known, "verdict"] = verdict(
            self.scores.loc[known, "probability"].to_numpy(dtype=float), threshold,
            self.cfg.train.threshold.review_margin)
        listed = self.scores["override"].fillna("") != ""
        self.scores.loc[listed, "verdict"] = before[listed]
        return int((before != self.scores["verdict"]).sum())


def load_session(cfg: Config) -> Session:
    """The scores (or, without a trained model, the prior on the cached features), the cached
    features and every label so far (explicit and implicit)."""
    from pipeline.core.console import FollowbackError
    from pipeline.data import io
    from pipeline.data.scores import conform_scores, read_scores

    features = None
    if Path(cfg.features.out).is_file():
        io.recover(cfg.features.out)
        features = pd.read_parquet(cfg.features.out)
    labels = _labels(cfg)
    if Path(cfg.score.out).is_file():
        scores = read_scores(cfg.score.out)
        return Session(cfg, scores, features, labels)
    if features is None:
        raise FollowbackError(f"nothing to review yet: neither {cfg.score.out} nor "
                              f"{cfg.features.out} exists; run `dvc repro` (or `followback "
                              "ingest` and `followback featurize`) first")
    accounts = io.read_table(cfg.ingest.out_dir, "accounts")
    frame = accounts[["account_id", "handle", "display_name", "bio"]].copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame = frame[frame["account_id"].isin(set(features["account_id"].astype(str)))]
    frame["override"] = _overrides(cfg, frame)
    session = Session(cfg, conform_scores(frame.assign(probability=0.5, threshold=0.5,
                                                       verdict="review")), features, labels)
    session.refit()
    console.print(f"no scores yet ({cfg.score.out}): the verdicts below come from the "
                  f"{session.kind} fitted on the cached features ({cfg.features.out})")
    return session


def _overrides(cfg: Config, frame: pd.DataFrame) -> pd.Series:
    from pipeline.model.reasons import ALLOW, NEVER

    handles = frame["handle"].astype(str).str.lstrip("@").str.casefold()
    allow = {h.lstrip("@").casefold() for h in cfg.user.allow_list}
    never = {h.lstrip("@").casefold() for h in cfg.user.never_list}
    out = pd.Series("", index=frame.index)
    out[handles.isin(allow) | frame["account_id"].isin(allow)] = ALLOW
    out[handles.isin(never) | frame["account_id"].isin(never)] = NEVER
    return out


def _labels(cfg: Config) -> pd.Series:
    """account id -> 1/0: the training labels (``decisions.out``), your decisions over them."""
    from pipeline.stages import decide

    out = pd.Series(dtype=int)
    path = Path(cfg.decisions.out)
    if path.is_file():
        labels = pd.read_parquet(path, columns=["account_id", "follow_back"])
        out = pd.Series(labels["follow_back"].astype(int).to_numpy(),
                        index=labels["account_id"].astype(str))
    decided = decide.known_decisions(cfg)
    mine = pd.Series(decided["follow_back"].astype(int).to_numpy(),
                     index=decided["account_id"].astype(str))
    out = pd.concat([out[~out.index.isin(mine.index)], mine])
    return out[~out.index.duplicated(keep="last")]


def newest_undecided(cfg: Config, labels: pd.Series) -> pd.Series:
    """account id -> rank (0 = newest) of your undecided followers, from the snapshots."""
    from pipeline.data import io
    from pipeline.data.undecided import undecided, window_of

    path = io.table_path(cfg.ingest.out_dir, "snapshots")
    if not path.is_file():
        return pd.Series(dtype=int)
    table = undecided(io.read_table(cfg.ingest.out_dir, "snapshots"), set(labels.index),
                      window_of(cfg))
    return pd.Series(table["rank"].to_numpy(), index=table["account_id"].astype(str))


def feature_groups(features: pd.DataFrame | None, seed: int) -> pd.Series | None:
    from pipeline.model.queue import feature_columns, groups

    if features is None or not len(features):
        return None
    g = groups(features[feature_columns(features)].to_numpy(dtype=float), seed=seed)
    return pd.Series(g, index=features["account_id"].astype(str))


def review(cfg: Config, limit: int | None = None, notes: bool = False,
           refit_every: int = 5) -> dict[str, int]:
    """Run the loop; return how many accounts got each answer.

    After every ``refit_every`` answers (0: never) the classifier is refitted on the cached
    features and the queue re-ordered, so the verdicts move as you answer.
    """
    from rich.prompt import Prompt

    from pipeline.model.reasons import ALLOW, NEVER
    from pipeline.stages import decide

    session = load_session(cfg)
    scores = session.scores
    decided = decide.known_decisions(cfg)
    listed = scores[scores["override"].fillna("") != ""]
    for label in (ALLOW, NEVER):
        hits = listed[listed["override"] == label]
        if len(hits):
            names = ", ".join(f"@{h}" for h in hits["handle"].head(8))
            console.print(f"{len(hits)} on your {label}, decided by it and not asked: "
                          f"{names}{' ...' if len(hits) > 8 else ''}", highlight=False,
                          markup=False)
    newest = newest_undecided(cfg, session.labels)
    group = feature_groups(session.features, cfg.base.seed)
    todo = queue(scores, decided, newest, group)
    if limit is not None:
        todo = todo.head(limit)
    counts = {"follow back": 0, "skip": 0, "not now": 0}
    needed = session.needed()
    if needed["follow_back"] or needed["skip"]:
        console.print(f"your own model still needs {needed['follow_back']} 'follow back' and "
                      f"{needed['skip']} 'skip' answers; until then the verdicts come from the "
                      "prior (red flags and bot-likeness, calibrated to your decisions)",
                      highlight=False)
    if todo.empty:
        console.print("nothing to review: every scored account is decided or on a list")
        return counts
    n_new = int(todo["account_id"].astype(str).isin(newest.index).sum())
    console.print(f"{len(todo)} accounts to review" + (
        f", your {n_new} newest undecided followers first" if n_new else "")
        + f"; answers are saved to {cfg.report.decisions_out} as you go")
    asked: set[str] = set()
    position = 0
    since_refit = 0
    while True:
        left = todo[~todo["account_id"].astype(str).isin(asked)]
        if left.empty:
            break
        row = left.iloc[0]
        asked.add(str(row["account_id"]))
        position += 1
        show(row, position, len(todo))
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
        session.answer(str(row["account_id"]), answer == "f")
        decided = pd.concat([decided, pd.DataFrame({"account_id": [str(row["account_id"])],
                                                    "follow_back": [answer == "f"]})])
        since_refit += 1
        if refit_every and since_refit >= refit_every and session.features is not None:
            since_refit = 0
            moved = session.refit()
            todo = pd.concat([todo[todo["account_id"].astype(str).isin(asked)],
                              queue(session.scores, decided, newest, group)])
            todo = todo.drop_duplicates("account_id").reset_index(drop=True)
            needed = session.needed()
            still = ("" if not (needed["follow_back"] or needed["skip"]) else
                     f"; your own model still needs {needed['follow_back']} 'follow back' and "
                     f"{needed['skip']} 'skip' answers")
            console.print(f"refitted the {session.kind} on {len(session.labels):,} labels: "
                          f"{moved} verdict(s) moved, the questions re-ordered{still}",
                          highlight=False)
    return counts


def cli(
    params: ParamsOption = Path("params.yaml"),
    limit: Annotated[int | None, typer.Option(
        help="Ask about at most this many accounts.", min=1)] = None,
    notes: Annotated[bool, typer.Option(
        "--notes", help="Also ask for a note with each answer.")] = False,
    refit_every: Annotated[int, typer.Option(
        help="Refit on the cached features and re-order the questions after this many "
        "answers (0: never).", min=0)] = 5,
) -> None:
    """Decide on the most uncertain accounts first, in the terminal; answers are kept at once.

    Reads score.out, skips accounts already decided or on your allow/never-follow lists, and
    writes each answer to report.decisions_out. Quit any time with q (or Ctrl-D); the next
    `dvc repro` retrains on your answers.
    """
    cfg = load_config(params)
    counts = review(cfg, limit=limit, notes=notes, refit_every=refit_every)
    answered = counts["follow back"] + counts["skip"]
    console.print(f"answered {answered} ({counts['follow back']} follow back, "
                  f"{counts['skip']} skip), {counts['not now']} left for later; run `dvc "
                  "repro` to retrain on them", highlight=False)
