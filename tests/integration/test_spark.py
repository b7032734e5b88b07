"""``followback score --engine spark`` on Spark ``local[2]`` gives the local engine's rows.

Issue 12 section 3. Needs pyspark (the ``spark`` extra, which ``make setup`` installs) and a
Java runtime (``make setup`` installs Debian's default-jre-headless when java is missing).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from pipeline.data.scores import CONTRIB_COLUMNS, read_scores
from pipeline.stages import score as scoring
from tests.unit.test_score import demo_project, demo_scores  # noqa: F401 (session fixtures)

pytestmark = pytest.mark.slow

pytest.importorskip("pyspark", reason="the spark extra is not installed")
if shutil.which("java") is None:  # pragma: no cover - CI installs it through make setup
    pytest.fail("no Java runtime: `make setup` installs default-jre-headless", pytrace=False)


def _compare(got, expected) -> None:
    got = got.set_index("account_id")
    expected = expected.set_index("account_id")
    assert sorted(got.index) == sorted(expected.index)
    got = got.loc[expected.index]
    for col in ("handle", "verdict", "override", "reason_1", "reason_2", "reason_3"):
        assert got[col].fillna("").tolist() == expected[col].fillna("").tolist(), col
    for col in ["probability", "threshold", *CONTRIB_COLUMNS]:
        np.testing.assert_allclose(got[col], expected[col], atol=1e-4, rtol=0, err_msg=col)


def test_spark_engine_scores_the_demo_accounts_as_the_local_engine(demo_project, demo_scores,  # noqa: F811
                                                                    tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "spark.csv"
    result = CliRunner().invoke(app, ["score", "--engine", "spark", "--master", "local[2]",
                                      "--out", str(out), "--params",
                                      str(demo_project.params)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "model: " in result.output
    local = read_scores(demo_scores)
    spark = read_scores(out)
    # Same rows, in the input's order.
    assert spark["account_id"].tolist() == local["account_id"].tolist()
    _compare(spark, local)
    assert not scoring.work_dir(out).exists()


def test_spark_engine_writes_a_parquet_folder(demo_project, tmp_path):  # noqa: F811
    from pipeline.core.config import Source
    from pipeline.stages.score import spark
    from tests.unit.test_score import toy_tables, write_inputs

    accounts, posts, _ = toy_tables(6)
    inputs = write_inputs(tmp_path / "in", accounts, posts)
    cfg = demo_project.cfg
    local = scoring.score(cfg, tmp_path / "local.csv", [Source(path=inputs)])
    out = tmp_path / "scores"
    summary = spark.score_spark(cfg, out, [Source(path=inputs)], master="local[2]")
    assert out.is_dir() and list(out.glob("part-*.parquet"))
    assert summary.scored == local.scored == 6
    _compare(spark.read_rows(out), read_scores(tmp_path / "local.csv"))


def test_spark_python_workers_run_one_encoder_thread_per_core():
    """Each worker sees the thread limits (two workers on local[2] must not run 4+ threads)."""
    import os

    from pipeline.stages.score import spark as engine

    session = engine.session("local[2]")
    try:
        seen = (session.sparkContext.parallelize(range(2), 2)
                .map(lambda _: (os.environ.get("FOLLOWBACK_ENCODER_THREADS"),
                                os.environ.get("OMP_NUM_THREADS"))).collect())
    finally:
        session.stop()
    assert seen == [("1", "1"), ("1", "1")]
