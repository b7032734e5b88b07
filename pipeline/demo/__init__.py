"""The demo dataset: a year in the life of one Mastodon user and her followers.

``generate`` writes the five contract tables in the generic format (``accounts.csv``,
``posts.jsonl``, ``own_posts.csv``, ``decisions.csv``, ``snapshots.csv``) and, outside the source
folder, a truth file saying what was planted: each account's archetype and latent criteria, the
follow/unfollow tricksters with their dates, re-followers, the persona's exceptions and the
effect of her posting topics on follower gains and losses.

The persona (``maya.bakes``, reads English and German) posts about sourdough baking, cycling and
urban vegetable gardening. Her followers are a mix of archetypes (:data:`ARCHETYPES`); her past
decisions come from a latent utility over the six criteria with interactions, human noise and a
few personal exceptions, so a learned model has something to learn that a hand-written rule set
of the six criteria misses.

Texts are assembled from hand-written sentence parts (:mod:`pipeline.demo.text`): openers,
bodies, closers, questions, hashtags and emoji, combined in varying shapes and per-account
writing styles. Everything is drawn from ``numpy.random.default_rng(seed)``; the same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Annotated, Any

import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data.io import OutputSet, write_table, write_text
from pipeline.demo.world import World


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate` wrote: row counts per table and followers per archetype."""

    out_dir: Path
    truth_path: Path
    seed: int
    tables: dict[str, int]
    archetypes: dict[str, int]
    decided: int
    followed_back: int
    tricksters: int
    repeat_offenders: int
    seconds: float


# --------------------------------------------------------------------------------------------
# Public API


def demo_config(
    cfg: Config | None = None,
    *,
    out_dir: str | Path,
    n_followers: int = 200,
    n_own_posts: int | None = None,
    seed: int | None = None,
    topic_effect: bool | None = None,
) -> Config:
    """A copy of ``cfg`` (default settings when None) that writes a small demo into ``out_dir``.

    Handy in tests: ``generate(demo_config(out_dir=tmp_path / "raw", n_followers=200))`` takes
    about a second; the truth file goes to ``<out_dir>_truth.json`` beside the folder.
    """
    cfg = cfg or Config()
    out_dir = Path(out_dir)
    update: dict[str, Any] = {"out_dir": out_dir, "n_followers": n_followers,
                              "truth_out": out_dir.parent / f"{out_dir.name}_truth.json"}
    if n_own_posts is not None:
        update["n_own_posts"] = n_own_posts
    if seed is not None:
        update["seed"] = seed
    if topic_effect is not None:
        update["topic_effect"] = topic_effect
    user = cfg.user if cfg.user.handle != "me" else cfg.user.model_copy(
        update={"handle": "maya.bakes", "languages": ["en", "de"]})
    return cfg.model_copy(update={"demo": cfg.demo.model_copy(update=update), "user": user})


TABLE_FILES = {
    "accounts": "accounts.csv",
    "posts": "posts.jsonl",
    "own_posts": "own_posts.csv",
    "decisions": "decisions.csv",
    "snapshots": "snapshots.csv",
}


def generate(cfg: Config) -> DemoSummary:
    """Build the demo dataset from ``cfg.demo`` and write it (atomically) with its truth file."""
    started = perf_counter()
    demo = cfg.demo
    if demo.n_followers < 20:
        raise FollowbackError(f"demo.n_followers must be at least 20, got {demo.n_followers}")
    if demo.months < 4:
        raise FollowbackError(f"demo.months must be at least 4, got {demo.months}")
    if not 0 < demo.decided_share < 1:
        raise FollowbackError(
            f"demo.decided_share must be between 0 and 1, got {demo.decided_share}")
    if demo.n_own_posts < demo.months:
        raise FollowbackError(f"demo.n_own_posts must be at least demo.months ({demo.months})")
    seed = demo.seed if demo.seed is not None else cfg.base.seed
    world = World(seed, cfg)
    world.build_own_posts()
    world.build_followers()
    world.build_posts()
    world.score_utility()
    world.decide()
    world.churn()
    world.plant_implicit_noise()
    frames = world.frames()
    truth = world.truth()
    truth["groups"] = world.groups_truth()
    text = json.dumps(truth, indent=1, ensure_ascii=False, sort_keys=True)
    # The export folder and its truth file go in together (pipeline.data.io.OutputSet).
    with OutputSet() as out:
        folder = out.dir(demo.out_dir)
        for table, name in TABLE_FILES.items():
            write_table(frames[table], folder / name)
        write_text(out.file(demo.truth_out), text + "\n")
    followers = [a for a in world.accounts if a.follower]
    decided = [a for a in followers if a.decision]
    return DemoSummary(
        out_dir=Path(demo.out_dir),
        truth_path=Path(demo.truth_out),
        seed=seed,
        tables={t: len(f) for t, f in frames.items()},
        archetypes=dict(Counter(a.archetype for a in world.accounts)),
        decided=len(decided),
        followed_back=sum(1 for a in decided if a.decision[0]),
        tricksters=len(truth["tricksters"]),
        repeat_offenders=len(truth["repeat_offenders"]),
        seconds=round(perf_counter() - started, 2),
    )


def demo_in_sources(cfg: Config) -> bool:
    """Whether ``ingest.sources`` reads the demo (a fresh clone; not after `followback init`)."""
    target = Path(cfg.demo.out_dir).resolve()
    return any(Path(src.path).resolve() == target for src in cfg.ingest.sources)


def skip(cfg: Config) -> None:
    """The project is on your own account: the demo stage writes only a note where the demo
    would go (DVC wants its outputs), and nothing reads it."""
    note = ("The project is on your own account (ingest.sources does not read this folder), "
            "so `followback demo` did not build the demo. `followback init demo` brings it "
            "back.\n")
    with OutputSet() as out:
        folder = out.dir(cfg.demo.out_dir)
        write_text(folder / "README.txt", note)
        write_text(out.file(cfg.demo.truth_out), "{}\n")
    console.print(f"the project is on your account ({cfg.user.handle}): the demo is not built "
                  f"(`followback init demo` brings it back)", highlight=False)


def cli(
    params: ParamsOption = Path("params.yaml"),
    n_followers: Annotated[
        int | None,
        typer.Option("--n-followers", "-n", min=20,
                     help="Number of followers to generate (default: demo.n_followers)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", file_okay=False,
                     help="Folder for the five tables (default: demo.out_dir). The truth file "
                          "then goes beside it as `<out>_truth.json`."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Random seed (default: demo.seed, else base.seed)."),
    ] = None,
) -> None:
    """Write the demo dataset: a persona's followers, posts, decisions and follower snapshots.

    Also writes a truth file of what was planted (bots, tricksters, topic effects), so tests and
    the README can check what the pipeline finds against what is really there."""
    from rich.table import Table

    cfg = load_config(params)
    if out is None and not demo_in_sources(cfg):
        skip(cfg)
        return
    update: dict[str, Any] = {}
    if n_followers is not None:
        update["n_followers"] = n_followers
    if out is not None:
        update["out_dir"] = out
        update["truth_out"] = out.parent / f"{out.name}_truth.json"
    if seed is not None:
        update["seed"] = seed
    if update:
        cfg = cfg.model_copy(update={"demo": cfg.demo.model_copy(update=update)})
    summary = generate(cfg)

    table = Table(title=f"demo data (seed {summary.seed}) in {summary.out_dir}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in summary.tables.items():
        table.add_row(f"{TABLE_FILES[name]} rows", f"{count:,}")
    for archetype, count in sorted(summary.archetypes.items(), key=lambda kv: -kv[1]):
        table.add_row(f"  {archetype}", f"{count:,}")
    share = summary.decided / max(1, sum(c for a, c in summary.archetypes.items()
                                         if a != "followee"))
    table.add_row("decided", f"{summary.decided:,} ({share:.0%})")
    table.add_row("followed back", f"{summary.followed_back:,}")
    table.add_row("tricksters (repeat)", f"{summary.tricksters} ({summary.repeat_offenders})")
    console.print(table)
    console.print(f"truth: {summary.truth_path}   took {summary.seconds:.1f} s")
