"""The trained folder served by MLflow answers with the rows ``followback score`` writes.

Issue 12 section 2: ``mlflow models serve --env-manager local`` on 127.0.0.1, two accounts
posted in MLflow's own serving format (validated by MLflow first), and the model loaded by
MLflow from a copy in an empty folder, with pickle deserialisation switched off.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.data.frame import ingested_frame, ingested_groups
from pipeline.data.scores import CONTRIB_COLUMNS, read_scores
from tests.unit.test_score import demo_project, demo_scores  # noqa: F401 (session fixtures)

pytestmark = pytest.mark.slow

TEXT = ["account_id", "handle", "verdict", "override", "reason_1", "reason_2", "reason_3"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _expected(demo_scores, ids: list[str]) -> pd.DataFrame:  # noqa: F811
    scores = read_scores(demo_scores).set_index("account_id", drop=False)
    return scores.loc[ids].reset_index(drop=True)


def _same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    for col in TEXT:
        assert got[col].fillna("").astype(str).tolist() == \
            expected[col].fillna("").astype(str).tolist(), col
    for col in ["probability", "threshold", *CONTRIB_COLUMNS]:
        np.testing.assert_allclose(got[col].astype(float), expected[col].astype(float),
                                   atol=1e-4, err_msg=col)


@pytest.fixture
def moved_model(demo_project, tmp_path):  # noqa: F811
    """The trained folder copied away from the project, and an empty working folder."""
    copy = tmp_path / "elsewhere" / "followback"
    shutil.copytree(demo_project.cfg.train.model_dir, copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    return copy, empty


def _in_context(cfg, ids: list[str]) -> pd.DataFrame:
    """The accounts with their follower-group counts over every ingested one, as score
    computes them (the counts travel as optional double columns of the serving input)."""
    from pipeline.data.frame import with_groups

    return with_groups(ingested_frame(cfg, ids), ingested_groups(cfg))


def _serving_input(cfg, ids: list[str]) -> str:
    from mlflow.models import convert_input_example_to_serving_input

    from pipeline.model import pyfunc, tracking

    frame = tracking.input_example(_in_context(cfg, ids), n=len(ids))
    body = json.loads(convert_input_example_to_serving_input(frame))
    body["params"] = pyfunc.params_of(cfg)
    return json.dumps(body)


def test_mlflow_loads_the_moved_folder_and_predicts_the_score_rows(demo_project, demo_scores,  # noqa: F811
                                                                   moved_model, monkeypatch):
    import mlflow

    copy, empty = moved_model
    ids = read_scores(demo_scores)["account_id"].head(5).tolist()
    frame = _in_context(demo_project.cfg, ids)
    monkeypatch.chdir(empty)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    from pipeline.model import pyfunc, tracking

    model = mlflow.pyfunc.load_model(str(copy))
    got = model.predict(tracking.input_example(frame, n=len(ids)),
                        params=pyfunc.params_of(demo_project.cfg))
    _same_rows(got, _expected(demo_scores, ids))


def test_the_bot_model_travels_inside_the_folder(trained_project, tmp_path, monkeypatch):
    """The trained project's model uses models/bot_likeness.skops; a copy of the folder loads
    it from itself, wherever the copy is, with the original path gone."""
    import mlflow

    from pipeline.core.config import load_config
    from pipeline.data.frame import load_account_frame
    from pipeline.model import tracking

    monkeypatch.chdir(trained_project)
    cfg = load_config(trained_project / "params.yaml")
    assert cfg.features.bot.model_path is not None
    frame = load_account_frame(cfg).head(8)
    expected = tracking.load_model(cfg)[0].predict(None, frame)
    copy = tmp_path / "elsewhere" / "followback"
    shutil.copytree(cfg.train.model_dir, copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    model = mlflow.pyfunc.load_model(str(copy))
    features = model.unwrap_python_model().pipeline.named_steps["features"]
    bot = features.named_transformers_["bot"]
    assert Path(bot.model_path).is_relative_to(copy.resolve())
    assert (copy / "artifacts" / "bot_likeness.skops").is_file()
    got = model.predict(tracking.input_example(frame, n=len(frame)))
    pd.testing.assert_frame_equal(got, expected)


def test_serve_answers_a_post_with_the_rows_of_followback_score(demo_project, demo_scores,  # noqa: F811
                                                                moved_model):
    import requests
    from mlflow.models import validate_serving_input

    copy, empty = moved_model
    ids = read_scores(demo_scores)["account_id"].iloc[[0, 7]].tolist()
    body = _serving_input(demo_project.cfg, ids)
    # MLflow's own check of a serving payload against the model's signature.
    validate_serving_input(str(copy), body)
    port = _free_port()
    # MLflow starts uvicorn by name: this interpreter's scripts first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = open(empty / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(copy), "--env-manager",
         "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
        cwd=empty, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (empty / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not come up"
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", data=body,
                               headers={"Content-Type": "application/json"}, timeout=300)
        assert answer.status_code == 200, answer.text
        got = pd.DataFrame(answer.json()["predictions"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert len(got) == 2
    _same_rows(got, _expected(demo_scores, ids))
