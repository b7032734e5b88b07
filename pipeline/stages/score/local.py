"""The local scoring engine: this machine, chunk by chunk, resumable (see :mod:`.spool`)."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.config import Config, Source
from pipeline.core.console import FollowbackError, console, progress
from pipeline.data import io
from pipeline.data.frame import training_sample, with_groups
from pipeline.data.scores import DECIMALS, FLOAT_COLUMNS, conform_scores, rejects_path
from pipeline.stages.score.spool import (
    FORMAT_VERSION,
    ScoreSummary,
    Spool,
    assemble,
    default_sources,
    inputs_fingerprint,
    iter_records,
    spool_groups,
    work_dir,
)


def load_scoring_model(cfg: Config, uri: str | None = None):
    """The model and a stable identity for it (the resume manifest keys on it).

    One rule for every command (:func:`pipeline.model.tracking.model_uri`): ``uri`` (``--model``),
    else ``score.model_uri``, else ``train.model_dir``, the model the pipeline just trained.
    """
    from pipeline.model import tracking

    return tracking.load_model(cfg, uri)


def as_followback_model(cfg: Config, model):
    """A :class:`~pipeline.model.pyfunc.FollowbackModel` from a loaded one or a bare fitted
    Pipeline.

    A bare Pipeline (library use, tests) gets the config's settings and no background yet:
    :func:`score` then takes it from the ingested decided accounts, else the first chunk.
    """
    from pipeline.model import pyfunc

    if isinstance(model, pyfunc.FollowbackModel):
        return model
    return pyfunc.FollowbackModel(model, None, pyfunc.settings_of(cfg))


def fallback_background(cfg: Config, pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Transformed rows standing in for an absent criterion, for a model that carries none:
    a seeded sample of the ingested decided accounts, else of ``frame``."""
    size = cfg.score.background_size
    sample = training_sample(cfg, size)
    if sample is None or not len(sample):
        if frame is None or not len(frame):
            raise FollowbackError(
                "no background for the explanations: nothing is ingested in "
                f"{cfg.ingest.out_dir} (run `followback ingest`) and no input was given")
        n = min(size, len(frame))
        pick = np.sort(np.random.default_rng(cfg.base.seed).choice(len(frame), n,
                                                                   replace=False))
        sample = frame.iloc[pick]
    return np.asarray(pipeline[:-1].transform(sample.reset_index(drop=True)), dtype=float)


def _settings(cfg: Config, chunk_size: int) -> dict:
    from pipeline.model import pyfunc

    return {
        "format_version": FORMAT_VERSION,
        "chunk_size": int(chunk_size),
        "max_posts": cfg.features.max_posts,
        "model_params": pyfunc.params_of(cfg),
        "background_size": cfg.score.background_size,
        "seed": cfg.base.seed,
    }


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(path: Path, manifest: dict) -> None:
    io.write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def _part(work: Path, k: int) -> Path:
    return work / "parts" / f"part-{k:06d}.parquet"


def newest_undecided(cfg: Config) -> pd.Series | None:
    """account id -> rank (0 = newest) of your undecided followers: current followers you do
    not follow and have not decided on (``decisions.out``, the ingested decisions), from the
    ingested snapshots; None without snapshots."""
    from pipeline.data.undecided import undecided, window_of

    path = io.table_path(cfg.ingest.out_dir, "snapshots")
    if not path.is_file():
        return None
    snapshots = io.read_table(cfg.ingest.out_dir, "snapshots")
    if not len(snapshots):
        return None
    decided: set[str] = set()
    if Path(cfg.decisions.out).is_file():
        decided |= set(pd.read_parquet(cfg.decisions.out, columns=["account_id"])[
            "account_id"].astype(str))
    if io.table_path(cfg.ingest.out_dir, "decisions").is_file():
        decided |= set(io.read_table(cfg.ingest.out_dir, "decisions")["account_id"].astype(str))
    table = undecided(snapshots, decided, window_of(cfg))
    return pd.Series(table["rank"].to_numpy(), index=table["account_id"].astype(str))


def score(
    cfg: Config,
    out: Path,
    sources: list[Source] | None = None,
    model=None,
    model_id: str | None = None,
    chunk_size: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score every account of ``sources`` into ``out`` (CSV, Parquet or JSONL), resumably.

    ``on_chunk(k)`` is called after chunk ``k`` is safely written (progress hooks, tests).
    """
    from pipeline.model import pyfunc

    started = time.perf_counter()
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".jsonl", ".ndjson"):
        raise FollowbackError(f"unsupported output format {suffix!r} for {out} "
                              "(use .csv, .parquet or .jsonl)")
    ingested = not sources and not cfg.score.inputs  # the ingested tables of this project
    sources = sources or default_sources(cfg)
    chunk_size = int(chunk_size or cfg.score.chunk_size)
    if chunk_size < 1:
        raise FollowbackError("score.chunk_size must be at least 1")
    if model is None:
        model, model_id = load_scoring_model(cfg)
    model = as_followback_model(cfg, model)
    model_id = model_id or "unnamed model"
    params = pyfunc.params_of(cfg)
    model.overrides(params)  # an account on both lists is an error before any work

    work = work_dir(out)
    manifest_path = work / "manifest.json"
    key = {"inputs": inputs_fingerprint(sources), "model": model_id,
           "settings": _settings(cfg, chunk_size)}
    manifest = _read_manifest(manifest_path)
    if manifest is not None and manifest.get("key") != key:
        console.print(f"[yellow]{work} belongs to another input, model or setting: "
                      "starting afresh[/]")
        manifest = None
    if manifest is None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        manifest = {"key": key, "spooled": False}
        _write_manifest(manifest_path, manifest)

    spool_path = work / "spool.sqlite"
    if not manifest.get("spooled"):
        spool_path.unlink(missing_ok=True)
        spool = Spool(spool_path)
        with progress("records") as bar:
            task = bar.add_task("reading input", total=None)
            for n, item in enumerate(iter_records(sources), start=1):
                spool.add(item)
                if n % 1000 == 0:
                    bar.update(task, completed=n)
        manifest["counts"] = spool.finish(chunk_size)
        manifest["spooled"] = True
        spool.close()
        _write_manifest(manifest_path, manifest)
    spool = Spool(spool_path)
    try:
        counts = manifest["counts"]
        n_accounts = counts["accounts"]
        n_chunks = math.ceil(n_accounts / chunk_size)
        summary = ScoreSummary(out=out, rejects=rejects_path(out), model=model_id,
                               rejected=counts["rejected"],
                               skipped={k: v for k, v in counts["skipped"].items() if v},
                               snapshots=counts["snapshots"], chunks=n_chunks)

        background_path = work / "background.npy"
        if model.background is None and background_path.is_file():
            model = model.with_background(np.load(background_path, allow_pickle=False))
        todo = [k for k in range(n_chunks) if not _part(work, k).is_file()]
        groups = spool_groups(spool, n_chunks, cfg.features.max_posts, work / "groups.parquet")
        summary.resumed_chunks = n_chunks - len(todo)
        if summary.resumed_chunks:
            console.print(f"resuming: {summary.resumed_chunks} of {n_chunks} chunks already "
                          f"scored in {work}")
        with progress("accounts") as bar:
            task = bar.add_task("scoring", total=n_accounts,
                                completed=min(n_accounts, summary.resumed_chunks * chunk_size))
            for k in todo:
                frame = with_groups(spool.chunk_frame(k, cfg.features.max_posts), groups)
                if model.background is None:
                    model = model.with_background(
                        fallback_background(cfg, model.pipeline, frame))
                    with io.atomic_path(background_path) as tmp:
                        with open(tmp, "wb") as fh:
                            np.save(fh, model.background, allow_pickle=False)
                rows = conform_scores(model.predict(None, frame, params=params))
                rows[FLOAT_COLUMNS] = rows[FLOAT_COLUMNS].round(DECIMALS)
                io.write_table(rows, _part(work, k))
                bar.advance(task, len(frame))
                if on_chunk is not None:
                    on_chunk(k)
        # The scores and their rejects go in together (pipeline.data.io.OutputSet): a run killed
        # at any point leaves both old or both new, and the parts stay for the next run.
        newest = newest_undecided(cfg) if ingested else None
        with io.OutputSet() as files:
            assemble([_part(work, k) for k in range(n_chunks)], files.file(out), summary,
                     newest)
            spool.write_rejects(files.file(summary.rejects))
    finally:
        spool.close()

    shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary
