"""``followback score``: every account's probability, verdict and top reasons.

Two engines, peers under this one command: ``local`` (:mod:`.local`, this machine, chunked and
resumable) and ``spark`` (:mod:`.spark`, Apache Spark through MLflow's ``spark_udf``). Both
stream the input through the same validation into a spool (:mod:`.spool`) and score each chunk
with the same model method, :meth:`pipeline.model.pyfunc.FollowbackModel.predict`, so a row is
the same row whichever engine wrote it. The output format is :mod:`pipeline.data.scores`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.core.config import Source, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.stages.score.local import load_scoring_model, score
from pipeline.stages.score.spool import print_summary, work_dir


def cli(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders to score, in any ingest format (default: score.inputs, else "
        "the ingested accounts in ingest.out_dir).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output file: .csv, .parquet or .jsonl (default: score.out).",
        dir_okay=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="Format of the INPUT files (auto: from the file names).")]
    = "auto",
    model_uri: Annotated[str | None, typer.Option(
        "--model", help="Model folder or MLflow URI, e.g. models:/followback@champion "
        "(default: score.model_uri, else train.model_dir, the model the pipeline just "
        "trained).")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        help="Accounts per chunk (default: score.chunk_size).", min=1)] = None,
    engine: Annotated[str, typer.Option(
        help="local: this machine, resumable. spark: Apache Spark through MLflow's spark_udf "
        "(pip install 'followback[spark]'); --out ending in .csv gives one CSV, anything "
        "else a partitioned Parquet folder.")] = "local",
    master: Annotated[str, typer.Option(
        help="Spark master for --engine spark: local[2], spark://host:7077, yarn.")]
    = "local[2]",
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Score accounts with the model: probability, verdict and the top reasons per account.

    Streams the input in chunks with bounded memory. An interrupted run resumes from the last
    finished chunk when started again; the output appears only when complete. Bad rows go to
    `<out>.rejects.csv`.
    """
    cfg = load_config(params)
    sources = [Source(path=p, format=fmt) for p in inputs] if inputs else None
    if engine not in ("local", "spark"):
        raise FollowbackError(f"unknown engine {engine!r}: use local or spark")
    if engine == "spark":
        from pipeline.stages.score import spark

        print_summary(spark.score_spark(cfg, out or cfg.score.out, sources, model_uri,
                                        master=master, chunk_size=chunk_size))
        return
    model, model_id = load_scoring_model(cfg, model_uri)
    console.print(f"model: {model_id}", highlight=False, markup=False)
    target = out or cfg.score.out
    try:
        summary = score(cfg, target, sources, model=model, model_id=model_id,
                        chunk_size=chunk_size)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: finished chunks are kept in "
                      f"{work_dir(target)}; run the same command again to resume[/]")
        raise typer.Exit(130) from None
    print_summary(summary)
    if summary.scored == 0:
        why = (f"all {summary.rejected:,} input rows were rejected (see {summary.rejects})"
               if summary.rejected else "the input holds no accounts")
        console.print(f"[bold red]nothing was scored[/]: {why}", highlight=False)
        raise typer.Exit(1)
