"""The training labels: your explicit decisions plus the implicit ones your snapshots show.

Someone who has had followers for a while has decided on most of them already, by following
back or not. :func:`implicit_decisions` reads these decisions from the follower and following
snapshots (the ``snapshots`` table):

- a follower you follow was **followed back**; ``decided_at`` is the first snapshot that shows
  you following it while it follows you;
- a follower you have not followed ``decisions.implicit_after_days`` (14) days after it first
  showed in your followers was, in effect, **not followed back**; ``decided_at`` is the first
  snapshot at least that many days after, that still shows it following you and you not;
- a follow-back you **undid** (you unfollowed it while it still follows you, and have not
  followed it again) is not followed back, decided at the first snapshot that shows the undo.

Each implicit decision's ``note`` starts with "implicit" and says which of these it is, the
way :mod:`pipeline.stages.apply` tells implicit decisions from yours. :func:`build_labels` joins
them with the explicit decisions (``decide``, ``review``, a decisions file: the ingested
``decisions`` table), which always win, into ``decisions.out`` with a ``source`` column
(explicit / implicit) and a ``kind`` column; ``train`` reads that file.

Implicit decisions are noisy, and the notes say where: an account you followed *before* it
followed you ("followed first") was never judged as a follower; a follower you never looked at
is "not followed back" though you might well follow it; a follow-back made out of courtesy and
undone later counts as a skip only from the snapshot that shows the undo. Snapshots also date a
decision only to the snapshot after it, and an account that came and went between two
snapshots is not seen at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.config import Config, load_config
from pipeline.core.console import ParamsOption, console
from pipeline.data import io, schema
from pipeline.data.undecided import window_of

IMPLICIT = "implicit"
LABEL_COLUMNS = ["account_id", "follow_back", "decided_at", "note", "source", "kind"]
# kind of each implicit decision
FOLLOWED_BACK = "followed_back"      # it followed you, then you followed it
FOLLOWED_FIRST = "followed_first"    # you followed it before it followed you
ALREADY_MUTUAL = "already_mutual"    # mutual in the first common snapshot: order unknown
UNDONE = "undone"                    # followed back, unfollowed later while it still follows
NOT_FOLLOWED = "not_followed"        # not followed back implicit_after_days after it followed
FIRST_FETCH = "first_fetch"          # not followed in the first snapshot, older than the newest
KINDS = (FOLLOWED_BACK, FOLLOWED_FIRST, ALREADY_MUTUAL, UNDONE, NOT_FOLLOWED, FIRST_FETCH)


def is_implicit(note: pd.Series) -> pd.Series:
    """True where a decision's note marks it implicit (as :mod:`pipeline.stages.apply` reads it)."""
    return note.astype("string").fillna("").str.strip().str.lower().str.startswith(IMPLICIT)


@dataclass
class Labels:
    """The labels ``train`` learns from, and what went into them."""

    frame: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def explicit(self) -> pd.DataFrame:
        return self.frame[self.frame["source"] == "explicit"]

    @property
    def implicit(self) -> pd.DataFrame:
        return self.frame[self.frame["source"] == IMPLICIT]


def _day(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m-%d}"


def implicit_decisions(snapshots: pd.DataFrame, after_days: float = 14.0,
                       window=None) -> pd.DataFrame:
    """The decisions the follower and following snapshots show (columns :data:`LABEL_COLUMNS`).

    Only snapshot times that hold both a follower and a following list count: at a time with
    only one of them, whether you followed an account is not known. API pages of one fetch are
    one snapshot (as in :mod:`pipeline.data.snapshots`). With ``window`` (a
    :class:`pipeline.data.undecided.Window`), a follower of the first snapshot that you did not
    follow there and that is not among your newest (the window) is a "skip" decided at that
    snapshot, unless a later snapshot says otherwise (a follow-back, an undo, or a
    ``not_followed`` decision, which are dated later and win).
    """
    frame = _snapshot_decisions(snapshots, after_days)
    if window is None or not len(snapshots):
        return frame
    from pipeline.data.undecided import first_fetch_skips

    skips = first_fetch_skips(snapshots, window)
    skips = skips[~skips["account_id"].isin(frame["account_id"])]
    if not len(skips):
        return frame
    size = window.size(int(skips["n_followers"].iloc[0]))
    first = pd.DataFrame({
        "account_id": skips["account_id"], "follow_back": False,
        "decided_at": skips["decided_at"], "kind": FIRST_FETCH, "source": IMPLICIT,
        "note": [f"{IMPLICIT}: not followed back in your first fetch ({_day(t)}), where it "
                 f"was not among your newest {size} followers (number {r + 1} of "
                 f"{n}, newest first)" for t, r, n in
                 zip(skips["decided_at"], skips["rank"], skips["n_followers"], strict=True)],
    })
    return _conform(pd.concat([frame, _conform(first)], ignore_index=True))


def _snapshot_decisions(snapshots: pd.DataFrame, after_days: float) -> pd.DataFrame:
    from pipeline.data.snapshots import timeline

    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in {
        "account_id": "string", "follow_back": "boolean", "decided_at": "datetime64[us, UTC]",
        "note": "string", "source": "string", "kind": "string"}.items()})
    if not len(snapshots):
        return empty
    followers = timeline(snapshots, "followers")
    following = timeline(snapshots, "following")
    times = followers.times.intersection(following.times)
    if len(times) == 0:
        return empty
    F = followers.matrix[:, followers.times.get_indexer(times)]
    G = np.zeros_like(F)
    rows = following.ids.get_indexer(followers.ids)
    has = rows >= 0
    G[has] = following.matrix[rows[has]][:, following.times.get_indexer(times)]
    stamps = list(times)
    after = pd.Timedelta(days=after_days)
    out = []
    for i, account_id in enumerate(followers.ids):
        f, g = F[i], G[i]
        if not f.any():
            continue  # a follower only at times without a following list
        mutual = f & g
        first_f = int(np.argmax(f))
        last_f = int(np.flatnonzero(f)[-1])
        if mutual.any():
            first_m = int(np.argmax(mutual))
            if not mutual[last_f]:
                last_m = int(np.flatnonzero(mutual)[-1])
                undo = next(k for k in range(last_m + 1, last_f + 1) if f[k] and not g[k])
                out.append((account_id, False, stamps[undo], UNDONE,
                            f"{IMPLICIT}: followed back by {_day(stamps[first_m])}, "
                            f"unfollowed again by {_day(stamps[undo])}"))
                continue
            if g[:first_f].any():
                kind = FOLLOWED_FIRST
                note = (f"{IMPLICIT}: you followed it first (by {_day(stamps[int(np.argmax(g))])}),"
                        f" it followed you by {_day(stamps[first_m])}")
            elif first_m == 0:
                kind = ALREADY_MUTUAL
                note = (f"{IMPLICIT}: already mutual in the first snapshot "
                        f"({_day(stamps[0])}): who followed first is not known")
            else:
                kind = FOLLOWED_BACK
                note = f"{IMPLICIT}: followed back by {_day(stamps[first_m])}"
            out.append((account_id, True, stamps[first_m], kind, note))
            continue
        due = stamps[first_f] + after
        later = [k for k in range(first_f, len(stamps)) if f[k] and stamps[k] >= due]
        if later:
            k = later[0]
            days = (stamps[k] - stamps[first_f]) / pd.Timedelta(days=1)
            out.append((account_id, False, stamps[k], NOT_FOLLOWED,
                        f"{IMPLICIT}: not followed back {days:.0f} days after it followed "
                        f"(by {_day(stamps[first_f])})"))
    if not out:
        return empty
    frame = pd.DataFrame(out, columns=["account_id", "follow_back", "decided_at", "kind",
                                       "note"])
    frame["source"] = IMPLICIT
    return _conform(frame)


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=LABEL_COLUMNS).copy()
    out["account_id"] = out["account_id"].astype("string")
    out["follow_back"] = out["follow_back"].astype("boolean")
    out["decided_at"] = pd.to_datetime(out["decided_at"], utc=True).astype("datetime64[us, UTC]")
    for col in ("note", "source", "kind"):
        out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def build_labels(cfg: Config, tables: dict[str, pd.DataFrame] | None = None) -> Labels:
    """Explicit decisions, then implicit ones for every account without an explicit decision.

    An ingested decision whose note starts with "implicit" (a labels file fed back in) counts
    as implicit: a decision read from the snapshots replaces it, and ``decisions.implicit:
    false`` drops it with the rest.
    """
    tables = dict(tables or {})
    for name in ("decisions", "snapshots"):
        if name not in tables:
            tables[name] = io.read_table(cfg.ingest.out_dir, name)
    ingested = schema.conform("decisions", tables["decisions"])
    marked = is_implicit(ingested["note"])
    explicit = ingested[~marked].assign(source="explicit", kind="explicit")
    parts = [explicit]
    notes = []
    n_fed_back = 0
    if cfg.decisions.implicit:
        implicit = implicit_decisions(
            tables["snapshots"], cfg.decisions.implicit_after_days,
            window_of(cfg) if cfg.decisions.first_fetch else None)
        fed_back = ingested[marked & ~ingested["account_id"].isin(implicit["account_id"])]
        n_fed_back = len(fed_back)
        implicit = pd.concat([implicit, _conform(fed_back.assign(source=IMPLICIT,
                                                                 kind="ingested"))])
        overruled = implicit["account_id"].isin(explicit["account_id"])
        parts.append(implicit[~overruled])
        if not len(tables["snapshots"]):
            notes.append("no snapshots: no implicit decisions")
        counts_overruled = int(overruled.sum())
    else:
        notes.append("implicit decisions are switched off (decisions.implicit: false)")
        counts_overruled = 0
    frame = _conform(pd.concat([_conform(p) for p in parts], ignore_index=True))
    frame = frame.sort_values(["decided_at", "account_id"], na_position="first",
                              kind="stable").reset_index(drop=True)
    counts = {
        "explicit": int((frame["source"] == "explicit").sum()),
        "implicit": int((frame["source"] == IMPLICIT).sum()),
        "implicit_overruled_by_explicit": counts_overruled,
        "implicit_ingested": n_fed_back,
    }
    for kind in KINDS:
        counts[f"implicit_{kind}"] = int((frame["kind"] == kind).sum())
    return Labels(frame, counts, notes)


def labels_for_training(cfg: Config, tables: dict[str, pd.DataFrame]) -> Labels:
    """``decisions.out`` when the ``decisions`` stage wrote it after the last ingest, else
    built from ``tables`` (a file older than the ingested tables would miss new decisions)."""
    path = Path(cfg.decisions.out)
    sources = [io.table_path(cfg.ingest.out_dir, t) for t in ("decisions", "snapshots")]
    newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=0.0)
    if path.is_file() and path.stat().st_mtime < newest:
        console.print(f"[yellow]{path} is older than the ingested data: building the labels "
                      "afresh (run `followback decisions`, or `dvc repro`, to update it)[/]")
    elif path.is_file():
        frame = _conform(pd.read_parquet(path))
        if not cfg.decisions.implicit:
            frame = frame[frame["source"] == "explicit"].reset_index(drop=True)
        counts = {s: int((frame["source"] == s).sum()) for s in ("explicit", IMPLICIT)}
        return Labels(frame, counts)
    return build_labels(cfg, tables)


def cli(params: ParamsOption = Path("params.yaml")) -> None:
    """Write the training labels: your explicit decisions plus the implicit ones.

    Implicit decisions come from your follower and following snapshots: a follower you follow
    was followed back; one you have not followed decisions.implicit_after_days after it
    followed you was not. Your explicit decisions (decide, review, a decisions file) always
    win; decisions.implicit: false switches the implicit ones off. Writes decisions.out with a
    source column (explicit / implicit) and a note saying what each implicit decision is.
    """
    from rich.table import Table

    cfg = load_config(params)
    labels = build_labels(cfg)
    io.write_table(labels.frame, cfg.decisions.out)
    table = Table(title="followback decisions", show_header=False)
    frame = labels.frame
    for source in ("explicit", IMPLICIT):
        part = frame[frame["source"] == source]
        table.add_row(source, f"{len(part):,} ({int(part['follow_back'].sum()):,} follow back, "
                              f"{int((~part['follow_back']).sum()):,} skip)")
    for key, value in labels.counts.items():
        if key.startswith("implicit_") and value:
            table.add_row(f"  {key.removeprefix('implicit_').replace('_', ' ')}", f"{value:,}")
    for note in labels.notes:
        table.add_row("note", note)
    table.add_row("written", str(cfg.decisions.out))
    console.print(table)
