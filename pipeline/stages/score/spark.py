"""``followback score --engine spark``: the same model on Apache Spark, for lists one machine
cannot score in time.

The driver streams the input through the local engine's validation
(:class:`pipeline.stages.score.spool.Spool`:
rejects, duplicates, each account's newest posts, churn counts) into model-input Parquet files,
one per ``score.chunk_size`` accounts, typed as the model's MLflow signature says. Spark reads
them and calls the model through :func:`mlflow.pyfunc.spark_udf` (each Python worker loads the
model once, through MLflow's models-from-code loader, which reads the artifacts as data); the
rows are written as partitioned Parquet, or assembled into one CSV on the driver at the end.
Both engines run the same :class:`~pipeline.model.pyfunc.FollowbackModel`, so a row is the same row.

Install with ``pip install 'followback[spark]'``; Spark needs a Java runtime (17 or newer; on
Debian ``apt-get install default-jre-headless``).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from pipeline.core.config import Config, Source
from pipeline.core.console import FollowbackError, console, progress
from pipeline.data import io
from pipeline.data.frame import with_groups
from pipeline.data.scores import conform_scores, read_scores, rejects_path
from pipeline.stages.score.spool import (
    ScoreSummary,
    Spool,
    assemble,
    default_sources,
    iter_records,
    spool_groups,
    work_dir,
)

SEQ = "_followback_seq"


def _arrow_schema():
    """The model-input Parquet schema: texts as strings, counts, flags and context counts as
    doubles (nullable), times as naive UTC, posts as a list of structs, column by column of
    :data:`pipeline.data.frame.INPUT_COLUMNS` (the model's MLflow input schema)."""
    import pyarrow as pa

    from pipeline.data import schema
    from pipeline.data.frame import INPUT_COLUMNS

    post = pa.struct([("text", pa.string()), ("kind", pa.string()), ("created_at", pa.string()),
                      ("language", pa.string())])  # the platform's tag, as in the MLflow schema
    dtypes = schema.dtypes("accounts")
    fields = []
    for col in INPUT_COLUMNS:
        dtype = dtypes.get(col, "Int64")  # the context counts are Int64 too
        kind = (pa.list_(post) if col == "posts" else pa.string() if dtype == "string"
                else pa.timestamp("us") if dtype.startswith("datetime") else pa.float64())
        fields.append(pa.field(col, kind))
    return pa.schema(fields)


def prepare(cfg: Config, sources: list[Source], out: Path, work: Path,
            chunk_size: int) -> tuple[Path, dict]:
    """Validated model input as Parquet files in ``work/input``; rejects in ``work``, moved
    beside ``out`` with the scores (:func:`score_spark`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.model import tracking

    folder = work / "input"
    folder.mkdir(parents=True)
    spool = Spool(work / "spool.sqlite")
    try:
        with progress("records") as bar:
            task = bar.add_task("reading input", total=None)
            for n, item in enumerate(iter_records(sources), start=1):
                spool.add(item)
                if n % 1000 == 0:
                    bar.update(task, completed=n)
        counts = spool.finish(chunk_size)
        schema = _arrow_schema()
        seq = 0
        n_chunks = math.ceil(counts["accounts"] / chunk_size)
        # Follower groups count the whole input, as the local engine counts them.
        groups = spool_groups(spool, n_chunks, cfg.features.max_posts,
                                    work / "groups.parquet")
        for k in range(n_chunks):
            frame = with_groups(spool.chunk_frame(k, cfg.features.max_posts), groups)
            example = tracking.input_example(frame, n=len(frame))
            table = pa.Table.from_pandas(example, schema=schema, preserve_index=False)
            # The input position, so that the output keeps the input's order.
            table = table.append_column(SEQ, pa.array(range(seq, seq + len(frame)),
                                                      type=pa.int64()))
            seq += len(frame)
            pq.write_table(table, folder / f"part-{k:06d}.parquet")
        spool.write_rejects(work / "rejects.csv")
    finally:
        spool.close()
    return folder, counts


TASK_CPUS = 1  # cores per Spark task: one Python worker per core


def worker_env(task_cpus: int) -> dict[str, str]:
    """Environment of each Python worker: as many math threads as its task has cores.

    Without it every worker starts the encoder's 2 threads and the BLAS libraries' one per core,
    so ``local[2]`` ran 4+ threads on 2 cores and each worker went about 4 times slower
    (measured with the packaged encoder: 47 against 190 texts/s per process).
    """
    from pipeline.features.embedding import ENCODER_THREADS_ENV

    n = str(max(1, int(task_cpus)))
    return {ENCODER_THREADS_ENV: n, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
            "MKL_NUM_THREADS": n}


def session(master: str, app_name: str = "followback score"):
    """A Spark session on ``master`` with UTC times and Arrow transfers."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise FollowbackError("the Spark engine needs pyspark: pip install 'followback[spark]' "
                              "(and a Java runtime, e.g. apt-get install "
                              "default-jre-headless)") from exc
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise FollowbackError("Spark needs a Java runtime and none is on PATH: install one "
                              "(Debian: apt-get install default-jre-headless) or set JAVA_HOME")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # Workers run this interpreter, so they import the same followback and MLflow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in worker_env(TASK_CPUS).items():
        builder = builder.config(f"spark.executorEnv.{key}", value)
    return (builder.config("spark.task.cpus", str(TASK_CPUS))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .getOrCreate())


def result_type():
    """The score row as a Spark struct, from the output columns."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    from pipeline.model import pyfunc

    numbers = {"probability", "threshold"}
    return StructType([StructField(c, DoubleType() if c in numbers or c.startswith("contrib_")
                                   else StringType()) for c in pyfunc.output_columns()])


def score_spark(cfg: Config, out: Path, sources: list[Source] | None = None,
                model_uri: str | None = None, master: str = "local[2]",
                chunk_size: int | None = None, partitions: int | None = None):
    """Score ``sources`` on Spark into ``out``: one CSV (``.csv``), else a Parquet folder."""
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    from pipeline.model import pyfunc, tracking

    started = time.perf_counter()
    out = Path(out)
    sources = sources or default_sources(cfg)
    chunk_size = int(chunk_size or cfg.score.chunk_size)
    uri = tracking.model_uri(cfg, model_uri)
    # Check the folder as data here, on the driver, before any worker loads it.
    _, model_id = tracking.load_model(cfg, uri)
    folder = tracking._local_folder(cfg, uri)
    console.print(f"model: {model_id}", highlight=False, markup=False)

    work = work_dir(out)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        inputs, counts = prepare(cfg, sources, out, work, chunk_size)
        spark = session(master)
        frame = spark.read.parquet(str(inputs))
        # At least one task per core: a small input is one file, which would be one task.
        wanted = int(partitions or max(spark.sparkContext.defaultParallelism,
                                       frame.rdd.getNumPartitions()))
        if wanted != frame.rdd.getNumPartitions():
            frame = frame.repartition(wanted)
        udf = mlflow.pyfunc.spark_udf(spark, str(Path(folder).resolve()), env_manager="local",
                                      result_type=result_type(), params=pyfunc.params_of(cfg))
        columns = [c for c in frame.columns if c != SEQ]
        rows = (frame.select(SEQ, udf(F.struct(*columns)).alias("row"))
                .orderBy(SEQ).select("row.*"))
        parts = work / "output"
        rows.write.parquet(str(parts))
        summary = ScoreSummary(out=out, rejects=rejects_path(out), model=model_id,
                                     rejected=counts["rejected"],
                                     skipped={k: v for k, v in counts["skipped"].items() if v},
                                     snapshots=counts["snapshots"],
                                     chunks=math.ceil(counts["accounts"] / chunk_size))
        files = sorted(parts.glob("part-*.parquet"))
        # The scores and their rejects go in together, as the local engine's do.
        with io.OutputSet() as outputs:
            os.replace(work / "rejects.csv", outputs.file(rejects_path(out)))
            if out.suffix.lower() == ".csv":
                assemble(files, outputs.file(out), summary)
            else:
                assemble(files, work / "count.parquet", summary)
                os.replace(parts, outputs.dir(out))  # onto the empty temporary folder
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def read_rows(path: Path) -> pd.DataFrame:
    """A Spark engine output (one CSV, or a Parquet folder) as a scores frame."""

    path = Path(path)
    if path.is_dir():
        return conform_scores(pd.read_parquet(path))
    return read_scores(path)

