"""A model folder is data: what followback loads, what it refuses, and that it runs no code.

Issue 13 section 2. The planted folders are what an attacker would hand to ``score --model``:
a skops payload that opens (creates) a file when built, a model code file that writes one, a
cloudpickled Python model, an MLflow sklearn folder that trusts its own payload, and artifact
paths that point outside the folder. Each payload is first shown to work when trusted, so the
refusal is what keeps the file from appearing.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from pipeline.data.frame import account_frame
from pipeline.features.ratio import FollowRatio
from pipeline.model import pyfunc, tracking, trust
from tests.unit.test_score import toy_config, toy_tables

# --------------------------------------------------------------------------- a real folder


def ratio_model() -> tuple[Pipeline, pd.DataFrame]:
    """A fitted followback-shaped Pipeline holding only trusted types, and its input frame."""
    accounts, posts, y = toy_tables(40, seed=3)
    frame = account_frame(accounts, posts, max_posts=10)
    features = ColumnTransformer([("ratio", FollowRatio(), ["followers_count",
                                                           "following_count"])])
    model = Pipeline([("features", features),
                      ("clf", FixedThresholdClassifier(LogisticRegression(), threshold=0.45,
                                                       response_method="predict_proba"))])
    return model.fit(frame, y), frame


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("saved-model")
    cfg = toy_config(root)
    cfg.features.bot.model_path = None
    model, frame = ratio_model()
    folder = root / "followback"
    tracking.save_local(model, SimpleNamespace(X=frame), folder, {"note": "test"}, cfg)
    return SimpleNamespace(cfg=cfg, folder=folder, frame=frame, pipeline=model)


def test_saved_folder_is_a_pyfunc_from_code_with_skops_artifacts(saved):
    spec = yaml.safe_load((saved.folder / "MLmodel").read_text())
    flavor = spec["flavors"]["python_function"]
    assert Path(flavor["model_code_path"]).name == pyfunc.CODE_FILE
    assert "python_model" not in flavor, "no cloudpickled Python model"
    assert (saved.folder / pyfunc.CODE_FILE).read_text() == pyfunc.MODEL_CODE
    names = {Path(a["path"]).name for a in flavor["artifacts"].values()}
    assert names == {"pipeline.skops", "background.npy", "settings.json"}
    assert not list(saved.folder.rglob("*.pkl"))
    assert (saved.folder / "code" / "pipeline" / "model" / "pyfunc.py").is_file()
    assert not (saved.folder / "code" / "pipeline" / "demo").exists()
    assert not list((saved.folder / "code").rglob("__pycache__"))


def test_loading_leaves_the_pickle_setting_as_the_user_set_it(saved, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    model, identity = tracking.load_model(saved.cfg, str(saved.folder))
    assert os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "false"
    assert identity.startswith(str(saved.folder) + "#")
    rows = model.predict(None, saved.frame.head(5))
    expected = saved.pipeline.predict_proba(saved.frame.head(5))[:, 1]
    np.testing.assert_allclose(rows["probability"], expected.round(4), atol=1e-12)
    assert rows["threshold"].eq(0.45).all()


def test_mlflow_loads_the_folder_from_an_empty_folder_without_pickle(saved, tmp_path,
                                                                     monkeypatch):
    import mlflow

    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(saved.folder, copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    loaded = mlflow.pyfunc.load_model(str(copy))
    ours, _ = tracking.load_model(saved.cfg, str(copy))
    example = tracking.input_example(saved.frame, n=6)
    pd.testing.assert_frame_equal(loaded.predict(example), ours.predict(None, saved.frame.head(6)))



def test_mlflow_predicts_on_the_account_frame_itself(saved):
    """README promises that ``predict`` takes the raw account frame as every importer produces
    it: nullable Int64 counts, nullable booleans, times with a time zone. MLflow's signature
    check refused it before ("Can not safely convert Int64 to float64")."""
    import mlflow

    frame = saved.frame.head(6)
    assert str(frame["followers_count"].dtype) == "Int64"
    assert str(frame["is_private"].dtype) == "boolean"
    assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
    with_nulls = frame.copy()
    with_nulls.loc[0, ["followers_count", "is_private", "created_at"]] = pd.NA
    loaded = mlflow.pyfunc.load_model(str(saved.folder))
    ours, _ = tracking.load_model(saved.cfg, str(saved.folder))
    for given in (frame, with_nulls):
        pd.testing.assert_frame_equal(loaded.predict(given), ours.predict(None, given))

# --------------------------------------------------------------------------- planted folders


def payload(target: Path) -> bytes:
    """A skops file whose only object is ``open(target, "w")``: building it creates target."""
    import skops.io

    inner = json.loads(zipfile.ZipFile(io.BytesIO(skops.io.dumps((str(target), "w"))))
                       .read("schema.json"))
    top = {"__class__": "open", "__module__": "builtins",
           "__loader__": "ConstructorFromReduceNode",
           "content": {k: v for k, v in inner.items() if k not in ("protocol",
                                                                   "_skops_version")},
           "__id__": 1, "protocol": inner["protocol"], "_skops_version": inner["_skops_version"]}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("schema.json", json.dumps(top))
    return buf.getvalue()


def test_the_payload_does_create_the_file_when_its_own_list_is_trusted(tmp_path):
    import skops.io

    target = tmp_path / "created.txt"
    data = payload(target)
    skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data)).close()
    assert target.exists(), "the planted payload is real"


def plant(saved, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(saved.folder, folder)
    return folder


def test_planted_skops_payload_is_refused_and_creates_no_file(saved, tmp_path):
    target = tmp_path / "created.txt"
    folder = plant(saved, tmp_path, "planted")
    (folder / "artifacts" / "pipeline.skops").write_bytes(payload(target))
    # The folder also trusts its payload itself, as MLflow's sklearn flavour would read it.
    spec = yaml.safe_load((folder / "MLmodel").read_text())
    spec["flavors"]["python_function"]["skops_trusted_types"] = ["builtins.open"]
    (folder / "MLmodel").write_text(yaml.safe_dump(spec))
    with pytest.raises(trust.ModelRefused, match="builtins.open"):
        tracking.load_model(saved.cfg, str(folder))
    assert not target.exists()


def test_score_command_refuses_the_planted_folder_with_a_clear_message(saved, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from tests.unit.test_score import write_inputs, write_params

    target = tmp_path / "created.txt"
    folder = plant(saved, tmp_path, "planted")
    (folder / "artifacts" / "pipeline.skops").write_bytes(payload(target))
    accounts, posts, _ = toy_tables(5)
    inputs = write_inputs(tmp_path / "in", accounts, posts)
    params = write_params(saved.cfg, tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["score", str(inputs), "--model", str(folder),
                                      "--params", str(params), "--out",
                                      str(tmp_path / "s.csv")])
    assert result.exit_code == 2, result.output
    assert "refusing to load" in result.output and "builtins.open" in result.output
    assert "Traceback" not in result.output
    assert not target.exists() and not (tmp_path / "s.csv").exists()


def test_a_bot_model_payload_is_refused_too(saved, tmp_path):
    target = tmp_path / "created.txt"
    folder = plant(saved, tmp_path, "planted")
    (folder / "artifacts" / "bot_likeness.skops").write_bytes(payload(target))
    with pytest.raises(trust.ModelRefused, match="builtins.open"):
        trust.load(folder / "artifacts" / "bot_likeness.skops")
    assert not target.exists()


def test_the_folders_own_code_file_is_never_run(saved, tmp_path):
    target = tmp_path / "created.txt"
    folder = plant(saved, tmp_path, "planted")
    (folder / pyfunc.CODE_FILE).write_text(
        pyfunc.MODEL_CODE + f"open({str(target)!r}, 'w').close()\n")
    with pytest.raises(trust.ModelRefused, match="never runs a model's own code"):
        tracking.load_model(saved.cfg, str(folder))
    assert not target.exists()



def test_a_folder_written_before_the_layers_still_loads(saved, tmp_path):
    """Folders of before the package moved into layers name ``pipeline.pyfunc`` in their code
    file; followback never runs that file, so it reads them as before."""
    folder = plant(saved, tmp_path, "legacy")
    (folder / pyfunc.CODE_FILE).write_text(pyfunc.LEGACY_MODEL_CODES[0])
    assert "from pipeline.pyfunc import FollowbackModel" in pyfunc.LEGACY_MODEL_CODES[0]
    model, _ = tracking.load_model(saved.cfg, str(folder))
    rows = model.predict(None, pyfunc.input_frame(saved.frame.head(3)))
    assert len(rows) == 3 and rows["probability"].between(0, 1).all()

class _Writes:
    """Unpickling this creates a file (pickle calls ``open(path, "w")``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_cloudpickled_python_model_is_refused_unread(saved, tmp_path):
    target = tmp_path / "created.txt"
    folder = plant(saved, tmp_path, "pickled")
    (folder / "python_model.pkl").write_bytes(pickle.dumps(_Writes(target)))
    spec = yaml.safe_load((folder / "MLmodel").read_text())
    flavor = spec["flavors"]["python_function"]
    flavor.pop("model_code_path")
    flavor["python_model"] = "python_model.pkl"
    (folder / "MLmodel").write_text(yaml.safe_dump(spec))
    with pytest.raises(trust.ModelRefused, match="cloudpickled"):
        tracking.load_model(saved.cfg, str(folder))
    assert not target.exists()


def test_an_sklearn_flavour_folder_trusting_its_own_types_is_refused(saved, tmp_path):
    target = tmp_path / "created.txt"
    folder = tmp_path / "sklearn-model"
    folder.mkdir()
    (folder / "model.skops").write_bytes(payload(target))
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {
        "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.skops"},
        "sklearn": {"pickled_model": "model.skops", "serialization_format": "skops",
                    "skops_trusted_types": ["builtins.open"]}}}))
    with pytest.raises(trust.ModelRefused, match="scikit-learn model with its own trust list"):
        tracking.load_model(saved.cfg, str(folder))
    assert not target.exists()


def test_artifact_paths_outside_the_folder_are_refused(saved, tmp_path):
    outside = tmp_path / "outside.skops"
    shutil.copyfile(saved.folder / "artifacts" / "pipeline.skops", outside)
    folder = plant(saved, tmp_path, "traversal")
    spec = yaml.safe_load((folder / "MLmodel").read_text())
    spec["flavors"]["python_function"]["artifacts"]["pipeline"]["path"] = "../outside.skops"
    (folder / "MLmodel").write_text(yaml.safe_dump(spec))
    with pytest.raises(trust.ModelRefused, match="not a file inside the model folder"):
        tracking.load_model(saved.cfg, str(folder))


def test_the_background_is_read_without_pickle(saved, tmp_path):
    folder = plant(saved, tmp_path, "pickled-background")
    with open(folder / "artifacts" / "background.npy", "wb") as fh:
        np.save(fh, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        tracking.load_model(saved.cfg, str(folder))


# --------------------------------------------------------------------------- the trust list


def test_trust_list_is_fixed_by_the_code_not_by_prefixes():
    trusted = trust.trusted_types()
    assert "pipeline.features.ratio.FollowRatio" in trusted
    assert "pipeline.features.bot.BotLikeness" in trusted
    assert not [t for t in trusted if t.endswith(".") or t.startswith("builtins.")]
    assert "pipeline.data.io.write_text" not in trusted and "numpy.load" not in trusted


@pytest.mark.parametrize("classifier", ["logreg", "hgb", "forest"])
@pytest.mark.parametrize("calibration", [None, "sigmoid", "isotonic"])
def test_every_classifier_the_project_trains_holds_only_trusted_types(classifier, calibration,
                                                                     tmp_path):
    import skops.io

    from pipeline.model.compose import build_classifier

    cfg = toy_config(tmp_path)
    cfg.train.classifier = classifier
    cfg.train.forest_n_estimators = 3
    cfg.train.hgb_max_iter = 3
    clf = build_classifier(cfg)
    if calibration:
        from sklearn.calibration import CalibratedClassifierCV

        clf = CalibratedClassifierCV(clf, method=calibration, cv=3)
    model, frame = ratio_model()
    model = Pipeline([("features", model.named_steps["features"]),
                      ("clf", FixedThresholdClassifier(clf, response_method="predict_proba"))])
    accounts, posts, y = toy_tables(40, seed=3)
    model.fit(frame, y)
    assert trust.foreign_types(data=skops.io.dumps(model)) == []


def test_saving_refuses_a_type_outside_the_list(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(TypeError, match="outside the trusted list"):
        trust.dump(FunctionTransformer(func=os.getcwd), tmp_path / "m.skops")
    assert not (tmp_path / "m.skops").exists()


# --------------------------------------------------------------------------- one model everywhere


def test_one_rule_picks_the_model_for_every_command(saved, tmp_path):
    """--model, else score.model_uri, else train.model_dir; never the registry's champion."""
    cfg = saved.cfg.model_copy(deep=True)
    cfg.train.model_dir = saved.folder
    # A registry whose champion is another model must not be picked up.
    cfg.mlflow.tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    other = plant(saved, tmp_path, "other")
    (other / "run.json").write_text('{"note": "other"}')
    assert tracking.load_model(cfg)[1].startswith(f"{saved.folder}#")
    cfg.score.model_uri = str(other)
    assert tracking.load_model(cfg)[1].startswith(f"{other}#")
    assert tracking.load_model(cfg, str(saved.folder))[1].startswith(f"{saved.folder}#")
    assert tracking.model_identity(cfg) == tracking.load_model(cfg)[1]
    assert not (tmp_path / "mlflow.db").exists(), "no registry was consulted"


def test_score_and_report_print_which_model_ran(saved, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from tests.unit.test_score import write_inputs, write_params

    cfg = saved.cfg.model_copy(deep=True)
    cfg.train.model_dir = saved.folder
    accounts, posts, _ = toy_tables(6)
    inputs = write_inputs(tmp_path / "in", accounts, posts)
    params = write_params(cfg, tmp_path / "params.yaml")
    out = tmp_path / "scores.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(inputs), "--params", str(params), "--out",
                                 str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    identity = tracking.model_identity(cfg)
    assert f"model: {identity}" in result.output.replace("\n", "")
    result = runner.invoke(app, ["report", "--params", str(params), "--scores", str(out)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"model: {identity}" in result.output.replace("\n", "")
    assert identity in Path(cfg.report.out).read_text(encoding="utf-8")


def test_score_no_longer_imports_explain():
    """Explanation belongs to the model (pyfunc), streaming to the command: no import circle."""
    import ast

    import pipeline.stages.score

    imported = set()
    for path in Path(pipeline.stages.score.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module or ""}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
    assert imported, "the score package's imports were not read"
    assert "pipeline.stages.explain" not in imported
    assert not [name for name in imported if name.endswith(".explain")]
