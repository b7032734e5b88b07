"""Projects the app tests serve: a DVC demo project, a fetched Mastodon account, a large one.

Each is a folder with its own params.yaml; the app runs in it as ``followback app`` does in a
person's project (the working directory is the project).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipeline.data.scores import OUTPUT_COLUMNS

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    """The environment of a command the tests start: this venv's tools first, and the
    checkout under test ahead of any installed copy."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def dvc_demo_params(root: Path, n_followers: int = 200) -> dict:
    """The repository's params.yaml on a ~200-follower demo with a cheap model (logistic
    regression without calibration, profanity-check toxicity, no bot model file), so the
    whole `dvc repro` runs in a few minutes on 2 cores."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["demo"].update(n_followers=n_followers, n_own_posts=60)
    params["features"]["embed"]["n_components"] = 4
    params["features"]["bot"]["model_path"] = None
    params["features"]["toxicity"]["backend"] = "profanity-check"
    params["features"]["max_posts"] = 10
    params["train"].update(classifier="logreg", calibration=None, cv_folds=3,
                           min_decisions=20)
    params["trends"]["n_permutations"] = 100
    params["score"]["background_size"] = 10
    params["report"]["max_accounts"] = 50
    params["mlflow"]["tracking_uri"] = f"sqlite:///{root / 'mlflow.db'}"
    return params


def dvc_demo_project(root: Path, cache_dir: Path | None = None) -> Path:
    """A copy of the repository's DVC pipeline (dvc.yaml, the package its stages depend on,
    the two model files) on a small demo, `dvc repro` run once. Returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copytree(REPO / "pipeline", root / "pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "models").mkdir()
    for name in ("bot_likeness.skops", "toxicity.skops"):
        shutil.copy(REPO / "models" / name, root / "models" / name)
    (root / "data" / "decisions").mkdir(parents=True)
    (root / "data" / "decisions" / "decisions.csv").write_text(
        "account_id,follow_back,decided_at,note,handle\n")
    params = dvc_demo_params(root)
    if cache_dir is not None:
        params["base"]["cache_dir"] = str(cache_dir)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q"], cwd=root, check=True,
                   env=env())
    done = subprocess.run([str(BIN / "dvc"), "repro"], cwd=root, env=env(),
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return root


REASONS = ["your content matches my interests — similarity 0.61 to my posts",
           "you look automated — 40 posts a day"]


def synthetic_scores(n: int, seed: int = 0, planted: dict[int, dict] | None = None
                     ) -> pd.DataFrame:
    """``n`` accounts in the scores file's columns, with reasons and pushes like score's:
    handles user0..user{n-1}; ``planted`` replaces fields of some rows (row -> values)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n).round(4)
    threshold = 0.4
    verdict = np.where(p >= threshold + 0.1, "follow back",
                       np.where(p < threshold - 0.1, "skip", "review"))
    contrib = rng.normal(0, 0.6, (n, 6)).round(4)
    frame = pd.DataFrame({
        "account_id": [str(100000 + i) for i in range(n)],
        "handle": [f"user{i}" for i in range(n)],
        "display_name": [f"User {i}" for i in range(n)],
        "bio": [["Bread, bikes and balconies", "Sourdough every Sunday",
                 "Crypto giveaways daily", ""][i % 4] for i in range(n)],
        "probability": p, "threshold": threshold, "verdict": verdict, "override": "",
        "reason_1": [REASONS[i % len(REASONS)] for i in range(n)],
        "reason_2": "", "reason_3": "",
    })
    for k, c in enumerate(["bot", "language", "bio", "ratio", "toxicity", "topic"]):
        frame[f"contrib_{c}"] = contrib[:, k]
    for row, values in (planted or {}).items():
        for key, value in values.items():
            frame.loc[row, key] = value
    return frame.reindex(columns=OUTPUT_COLUMNS)


def scores_project(root: Path, scores: pd.DataFrame, **user) -> Path:
    """A project of nothing but a scores file (what the queue and followers pages need)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    scores.to_csv(root / "data" / "scores.csv", index=False)
    params = {"user": {"handle": "maya", **user},
              "mlflow": {"tracking_uri": f"sqlite:///{root / 'mlflow.db'}"}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root
