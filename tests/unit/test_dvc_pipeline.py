"""dvc.yaml agrees with the code: commands, params, dependencies and the paths params.yaml names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.cli import COMMANDS
from pipeline.core.config import load_config

REPO = Path(__file__).resolve().parents[2]
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())
STAGES = DVC["stages"]
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
CFG = load_config(REPO / "params.yaml")


def _paths(entries) -> list[str]:
    """Paths of a deps/outs/metrics/plots list, whose items are strings or {path: options}."""
    out = []
    for item in entries or []:
        out += [item] if isinstance(item, str) else list(item)
    return out


def _outputs(stage: dict) -> set[str]:
    return {*_paths(stage.get("outs")), *_paths(stage.get("metrics")), *_paths(stage.get("plots"))}


@pytest.mark.parametrize("name", list(STAGES))
def test_every_stage_runs_a_followback_command(name):
    cmd = STAGES[name]["cmd"].split()
    assert cmd[0] == "followback"
    assert cmd[1] in {command for command, _ in COMMANDS}


@pytest.mark.parametrize("name", list(STAGES))
def test_every_param_a_stage_names_is_in_params_yaml(name):
    for key in STAGES[name].get("params", []):
        node = PARAMS
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{name}: {key} not in params.yaml"
            node = node[part]


@pytest.mark.parametrize("name", list(STAGES))
def test_code_dependencies_exist(name):
    for dep in _paths(STAGES[name].get("deps")):
        if dep.startswith(("pipeline", "models/bot_likeness", "models/toxicity")):
            assert (REPO / dep).exists(), f"{name}: {dep} does not exist"


def test_what_each_stage_writes_is_where_params_yaml_says():
    expected = {
        "demo": [CFG.demo.out_dir, CFG.demo.truth_out],
        "ingest": [CFG.ingest.out_dir],
        "churn": [CFG.churn.out, CFG.churn.unfollow_out],
        "featurize": [CFG.features.out, CFG.features.metrics],
        "decisions": [CFG.decisions.out],
        "train": [CFG.train.model_dir, CFG.train.eval_dir, CFG.train.metrics],
        "evaluate": [CFG.evaluate.metrics, Path(CFG.evaluate.plots_dir) / "evaluation.png"],
        "score": [CFG.score.out],
        "trends": [CFG.trends.out, CFG.trends.plot],
        "report": [CFG.report.out],
    }
    assert set(expected) == set(STAGES)
    for name, paths in expected.items():
        outs = _outputs(STAGES[name])
        for path in paths:
            assert str(path) in outs, f"{name} writes {path}, which dvc.yaml does not list"


def test_each_stage_depends_on_what_the_stage_before_wrote():
    outputs = {path: name for name, stage in STAGES.items() for path in _outputs(stage)}
    for name in ("churn", "featurize", "decisions", "train", "evaluate", "score", "trends",
                 "report"):
        upstream = [outputs.get(dep) for dep in _paths(STAGES[name]["deps"])]
        assert any(upstream), f"{name} depends on no other stage's output"
    # Ingest reads the demo's output through its dependency on all of data/raw.
    assert any(CFG.demo.out_dir.is_relative_to(dep) for dep in
               map(Path, _paths(STAGES["ingest"]["deps"])))


@pytest.mark.slow
def test_dvc_reads_the_pipeline_and_draws_its_graph():
    dvc = Path(sys.executable).with_name("dvc")
    done = subprocess.run([str(dvc), "dag", "--dot"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in STAGES:
        assert f'"{name}";' in done.stdout
    for edge in ("demo -> ingest", "ingest -> churn", "ingest -> featurize",
                 "featurize -> train", "ingest -> decisions", "decisions -> train",
                 "train -> evaluate", "train -> score",
                 "score -> report", "trends -> report"):
        a, b = edge.split(" -> ")
        assert f'"{a}" -> "{b}";' in done.stdout, edge


def test_the_committed_dvc_lock_records_the_code_and_models_in_the_repository():
    """Every dependency that a clean clone holds (code, the committed models) must have the hash
    dvc.lock records, or `dvc repro` on a fresh clone reruns stages for no new input and the
    committed metrics were not made by this code. DVC's own `status` compares them."""
    tracked = set(subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                                 check=True).stdout.split())
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    # Tracked files (code, committed models) and code folders; data/raw holds a tracked
    # .gitignore but its content is the demo stage's output, not the repository's.
    in_repo = {dep["path"] for stage in lock.values() for dep in stage.get("deps", [])
               if dep["path"] in tracked or dep["path"].startswith("pipeline/")}
    assert {"pipeline/features", "models/toxicity.skops"} <= in_repo, sorted(in_repo)
    status = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    stale = {f"{name}: {path} {how}"
             for name, changes in json.loads(status.stdout or "{}").items()
             for change in changes if isinstance(change, dict)
             for path, how in change.get("changed deps", {}).items() if path in in_repo}
    assert not stale, ("dvc.lock is stale: rerun `dvc repro` (make demo) and commit dvc.lock: "
                       + "; ".join(sorted(stale)))
    # Every stage's code is a dependency the lock knows, so the check above covers it.
    listed = {dep for stage in STAGES.values() for dep in _paths(stage.get("deps"))}
    assert {p for p in listed if p.startswith("pipeline/")} <= in_repo
