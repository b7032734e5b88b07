"""Issue 13 section 4, every stage that writes more than one file: killed with SIGKILL at any
write point, it leaves its outputs wholly old or wholly new.

Each stage runs on small inputs of two generations, "old" and "new", in a folder of its own.
A run killed after N write points (``FOLLOWBACK_KILL_AFTER=N``, the test hook of
:mod:`pipeline.data.io`) must leave, once a reader has called :func:`pipeline.data.io.recover`,
every output of the old run or every output of the new run: before the commit point (the last
journal written) the old, from it on the new. The kill points come from an uninterrupted run's
``FOLLOWBACK_KILL_LOG``, so they follow the stage's real sequence of writes.

The runs are processes forked from one driver subprocess that imported the libraries once
(importing scikit-learn, skops and MLflow takes seconds per process); the driver itself runs no
computation before forking, and each forked run kills itself with SIGKILL as a real kill would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.data import io

REPO = Path(__file__).resolve().parents[2]
LABELLED = REPO / "tests" / "fixtures" / "labelled"


# --------------------------------------------------------------------------- the stages
# Each runner is called in a forked process whose working folder is the case folder, so the
# configuration's relative default paths (data/..., metrics/..., models/...) land there.


def _config():
    from pipeline.core.config import Config

    return Config()


def _demo_world(folder: Path, n_followers: int, seed: int) -> Path:
    """A small demo export, ingested into ``folder/ingested``."""
    from pipeline.core.config import Source
    from pipeline.data.ingest import ingest
    from pipeline.demo import demo_config, generate

    cfg = demo_config(out_dir=folder / "raw", n_followers=n_followers)
    cfg.demo.truth_out = folder / "truth.json"
    cfg.demo.seed = seed
    generate(cfg)
    ingest([Source(path=folder / "raw")], folder / "ingested")
    return folder / "ingested"


GENERATIONS = {"old": (30, 1), "new": (40, 2)}  # followers and seed of each input


def prepare_worlds(root: Path) -> None:
    for gen, (n, seed) in GENERATIONS.items():
        _demo_world(root / "in" / gen, n, seed)


def run_churn(root: Path, gen: str) -> None:
    from pipeline.stages import churn

    churn.run(_config(), in_dir=root / "in" / gen / "ingested")


def run_featurize(root: Path, gen: str) -> None:
    """The real featurize, with one cheap extractor in place of the six (their models take
    seconds to load and do not change how the outputs are written)."""
    from sklearn.compose import ColumnTransformer

    from pipeline.features.ratio import FollowRatio
    from pipeline.model import compose
    from pipeline.stages import featurize

    cfg = _config()
    cfg.ingest.out_dir = root / "in" / gen / "ingested"
    compose.build_features = lambda cfg, own: ColumnTransformer(
        [("ratio", FollowRatio(), ["followers_count", "following_count"])])
    featurize.featurize(cfg)


def prepare_nothing(root: Path) -> None:
    pass


def run_train(root: Path, gen: str) -> None:
    """The writing half of ``train`` (:func:`pipeline.stages.train.write_outputs`, which ``train``
    calls once the model is fitted) with a small fitted followback-shaped Pipeline."""
    from types import SimpleNamespace

    from pipeline.stages import train
    from tests.unit.test_model_files import ratio_model

    cfg = _config()
    cfg.features.bot.model_path = None
    model, frame = ratio_model()
    n = {"old": 30, "new": 40}[gen]
    predictions = pd.DataFrame({"account_id": frame["account_id"][:n], "split": "cv",
                                "fold": 0, "y": [i % 2 for i in range(n)],
                                "p_model": np.linspace(0, 1, n), "threshold": 0.45})
    summary = {"n_decisions": n, "threshold": 0.45, "cv_roc_auc": 0.5 + n / 100,
               "backends": {"ratio": gen}}
    train.write_outputs(cfg, model, SimpleNamespace(X=frame), predictions,
                        {"ratio": n / 1000}, summary)


def prepare_evaluate(root: Path) -> None:
    """The inputs of ``evaluate`` for both generations: features and train's predictions."""
    for gen, seed in (("old", 1), ("new", 2)):
        rng = np.random.default_rng(seed)
        n = 40
        ids = [f"a{i}" for i in range(n)]
        features = pd.DataFrame({
            "account_id": ids,
            "raw__followers_count": pd.array(rng.integers(1, 9000, n), dtype="Int64"),
            "raw__following_count": pd.array(rng.integers(1, 900, n), dtype="Int64"),
            "raw__is_private": pd.array(rng.random(n) < 0.1, dtype="boolean"),
            "bio__bio_meaningful": (rng.random(n) < 0.8).astype(float),
            "language__lang_readable_share": rng.random(n),
            "language__lang_no_posts": (rng.random(n) < 0.1).astype(float),
            "toxicity__toxicity_max": rng.random(n) * 0.6,
            "topic__topic_centroid_cos": rng.random(n),
        })
        y = np.array([i % 2 for i in range(n)])
        p = np.clip(y * 0.4 + rng.random(n) * 0.6, 0, 1)
        split = np.where(np.arange(n) < 30, "cv", "holdout")
        predictions = pd.DataFrame({"account_id": ids, "split": split,
                                    "fold": np.where(split == "cv", np.arange(n) % 3, -1),
                                    "y": y, "p_model": p, "p_majority": 0.5,
                                    "threshold": 0.5})
        folder = root / "in" / gen
        io.write_table(features, folder / "features.parquet")
        io.write_table(predictions, folder / "eval" / "predictions.parquet")
        io.write_text(folder / "eval" / "importance.json",
                      json.dumps({"ratio": seed / 100, "bio": 0.01}))


def run_evaluate(root: Path, gen: str) -> None:
    """``followback evaluate`` on this generation's inputs (no model folder: no MLflow)."""
    import yaml

    from pipeline.stages import evaluate

    cfg = _config()
    cfg.features.out = root / "in" / gen / "features.parquet"
    cfg.train.eval_dir = root / "in" / gen / "eval"
    params = root / f"params-{gen}.yaml"
    params.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    evaluate.cli(params)


def prepare_score(root: Path) -> None:
    from tests.unit.test_score import toy_tables, write_inputs

    for gen, (n, bad) in {"old": (40, 1), "new": (28, 2)}.items():
        accounts, posts, _ = toy_tables(n, seed=n)
        write_inputs(root / "in" / gen, accounts, posts,
                     extra_post_lines=["{not json"] * bad)


def run_score(root: Path, gen: str) -> None:
    from pipeline.core.config import Source
    from pipeline.stages import score
    from tests.unit.test_score import fitted_toy_model, toy_config

    cfg = toy_config(root)
    # A relative input path: the rejects name it, and every case folder must write the same.
    score.score(cfg, cfg.score.out, [Source(path=Path("in") / gen, format="auto")],
                model=fitted_toy_model(), model_id="toy", chunk_size=16)


def prepare_trends(root: Path) -> None:
    from tests.unit.test_trends import series

    for gen, seed in (("old", 1), ("new", 2)):
        snapshots, own, emb = series(effect=1.0, n_intervals=12, seed=seed, n_posts=60)
        data = root / "in" / gen
        io.write_table(snapshots, io.table_path(data, "snapshots"))
        io.write_table(own, io.table_path(data, "own_posts"))
        np.save(data / "embeddings.npy", emb)


def run_trends(root: Path, gen: str) -> None:
    """``trends`` with the person's post embeddings and languages given (no encoder load)."""
    from pipeline.stages import trends

    cfg = _config()
    cfg.ingest.out_dir = root / "in" / gen
    cfg.trends.n_permutations = 50
    cfg.trends.min_intervals = 4
    emb = np.load(root / "in" / gen / "embeddings.npy")
    trends.embed = lambda texts, cfg: emb
    trends.identify_languages = lambda texts, cfg: ["en"] * len(texts)
    trends.run(cfg)


def run_demo(root: Path, gen: str) -> None:
    from pipeline import demo

    n, seed = GENERATIONS[gen]
    cfg = demo.demo_config(out_dir=Path("data/raw/demo"), n_followers=n)
    cfg.demo.seed = seed
    demo.generate(cfg)


def prepare_train_bot(root: Path) -> None:
    """A generated caverlee-2011-format set of 40 accounts: enough to be a population its
    accounts stand out from (pipeline.features.population.MIN_POPULATION)."""
    folder = root / "caverlee"
    folder.mkdir()
    for name, label in (("legitimate_users.csv", 0), ("content_polluters.csv", 1)):
        rows = [f"{label}{i},7/{1 + i}/2008 10:00,11/20/2009 23:56,"
                f"{100 + 97 * i * (1 + 9 * label)},{300 + 31 * i},{2000 - 40 * i},"
                f"{8 + i % 5},{20 + 3 * i},{label}" for i in range(20)]
        (folder / name).write_text("\n".join(rows) + "\n")


def run_train_bot(root: Path, gen: str) -> None:
    from pipeline.core.config import Source
    from pipeline.stages.train_bot import train_bot

    n = {"old": 3, "new": 4}[gen]
    train_bot([Source(path=root / "caverlee")], Path("models/bot_likeness.skops"),
              n_estimators=n, seed=0, folds=2, n_jobs=1, kind="hgb", mix="equal_sources",
              selection=False, command=f"train-bot {gen}", root=root)


def prepare_toxicity(root: Path) -> None:
    """Tiny files in the three public formats that ``train-toxicity`` reads."""
    from pipeline.stages import train_toxicity as tt

    data = root / "in" / "bench"
    for rel in (tt.OLID, tt.GERMEVAL, tt.HATECHECK):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
    (data / tt.OLID).write_text("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
                                "1\tyou idiot\tOFF\tTIN\tIND\n2\tnice bread\tNOT\tNULL\tNULL\n"
                                "3\tthey are vermin\tOFF\tTIN\tGRP\n"
                                "4\tlovely ride\tNOT\tNULL\tNULL\n", encoding="utf-8")
    (data / tt.GERMEVAL).write_text("du Idiot\tOFFENSE\tINSULT\nschönes Brot\tOTHER\tOTHER\n"
                                    "die sind alle Pack\tOFFENSE\tABUSE\n", encoding="utf-8")
    for rel in tt.BENIGN:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text("A man is baking bread.,A man bakes bread.,4.8\n",
                                encoding="utf-8")
    (data / tt.HATECHECK).write_text("functionality,test_case,label_gold\n"
                                     "f1,you idiot,hateful\nf1,nice day,non-hateful\n",
                                     encoding="utf-8")


def run_train_toxicity(root: Path, gen: str) -> None:
    """``train-toxicity``'s real code with a word-count model in place of the encoder (its
    cross-validation and encoder take minutes; how the outputs are written is the same)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from pipeline.features import toxicity_model
    from pipeline.stages import train_toxicity as tt

    c = {"old": 1.0, "new": 2.0}[gen]
    tt.cross_validate = lambda *a, **k: {"words": {"features": "words", "C": c,
                                                   "weighting": "classes",
                                                   "en": {"roc_auc": 0.5},
                                                   "de": {"roc_auc": 0.5}}}
    tt.profanity_scores = lambda texts: np.zeros(len(texts))
    tt.hatecheck_report = lambda model, hatecheck: {"n": int(len(hatecheck))}
    toxicity_model.build_toxicity_model = lambda *a, **k: make_pipeline(
        CountVectorizer(), LogisticRegression(C=c))
    tt.train_toxicity(root / "in" / "bench", Path("models/toxicity.skops"), folds=2, seed=0,
                      command=f"train-toxicity {gen}", root=root, sets="olid2019,germeval2018")


@dataclass(frozen=True)
class Stage:
    prepare: Callable[[Path], None]
    run: Callable[[Path, str], None]
    targets: tuple[str, ...]  # outputs, relative to the case folder
    volatile: tuple[str, ...] = ()  # outputs that differ between two runs of one input


STAGES: dict[str, Stage] = {
    "churn": Stage(prepare_worlds, run_churn, ("data/churn.csv", "data/unfollow.csv")),
    "featurize": Stage(prepare_worlds, run_featurize,
                       ("data/features.parquet", "data/features.json",
                        "metrics/featurize.json"),
                       volatile=("data/features.json", "metrics/featurize.json")),
    "train": Stage(prepare_nothing, run_train,
                   ("models/followback", "data/eval", "metrics/train.json"),
                   volatile=("models/followback",)),
    "evaluate": Stage(prepare_evaluate, run_evaluate,
                      tuple(f"plots/{n}.csv" for n in ("roc", "pr", "calibration",
                                                       "confusion", "importance"))
                      + ("plots/evaluation.png", "plots/evaluation.json",
                         "metrics/evaluate.json")),
    "score": Stage(prepare_score, run_score, ("scores.csv", "scores.rejects.csv")),
    "trends": Stage(prepare_trends, run_trends, ("reports/trends.json",
                                                 "reports/followers.png")),
    "demo": Stage(prepare_nothing, run_demo, ("data/raw/demo", "data/raw/demo_truth.json")),
    "train-bot": Stage(prepare_train_bot, run_train_bot,
                       ("models/bot_likeness.skops", "models/bot_likeness.json"),
                       volatile=("models/bot_likeness.skops", "models/bot_likeness.json")),
    "train-toxicity": Stage(prepare_toxicity, run_train_toxicity,
                            ("models/toxicity.skops", "models/toxicity.json"),
                            volatile=("models/toxicity.skops", "models/toxicity.json")),
}


# --------------------------------------------------------------------------- the driver


def _fork(root: Path, job: Callable[[], None], kill_after: int | None = None,
          log: Path | None = None) -> int:
    """Run ``job`` in a forked process in ``root``; its exit code, or -signal if killed."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.chdir(root)
            os.environ.pop("FOLLOWBACK_KILL_AFTER", None)
            os.environ.pop("FOLLOWBACK_KILL_LOG", None)
            if kill_after is not None:
                os.environ["FOLLOWBACK_KILL_AFTER"] = str(kill_after)
            if log is not None:
                os.environ["FOLLOWBACK_KILL_LOG"] = str(log)
            io._steps = 0
            job()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_points(kinds: list[str]) -> list[int]:
    """Where to kill (1-based steps): the last write before the commit, the first and the
    last journal (the commit point) and the first journal removed (the protocol's every step
    is killed in test_atomic_outputs.py); every write point when the stage commits nothing."""
    if "journal" not in kinds:
        return list(range(1, len(kinds) + 1))
    first_journal = kinds.index("journal") + 1
    last_journal = len(kinds) - kinds[::-1].index("journal")
    points = {first_journal - 1, first_journal, last_journal, kinds.index("unjournal") + 1}
    return sorted(p for p in points if p >= 1)


def drive(base: str, names: str) -> None:
    """Per stage: prepare, run old, run new uninterrupted (logging its write points), then
    the new run killed at each chosen point, each in a copy of the old run's folder; and
    once more uninterrupted after the kill at the commit point. Writes ``results.json``."""
    import mlflow.pyfunc  # noqa: F401  (imported once here, before any fork)
    import sklearn.ensemble  # noqa: F401
    import skops.io  # noqa: F401

    import pipeline.demo  # noqa: F401
    import pipeline.model.tracking  # noqa: F401
    import pipeline.stages.churn  # noqa: F401
    import pipeline.stages.evaluate  # noqa: F401
    import pipeline.stages.featurize  # noqa: F401
    import pipeline.stages.score  # noqa: F401
    import pipeline.stages.train  # noqa: F401
    import pipeline.stages.train_bot  # noqa: F401
    import pipeline.stages.train_toxicity  # noqa: F401
    import pipeline.stages.trends  # noqa: F401
    import tests.unit.test_model_files  # noqa: F401
    import tests.unit.test_score  # noqa: F401
    import tests.unit.test_trends  # noqa: F401

    base_dir = Path(base)
    results = {}
    for name in names.split(","):
        stage = STAGES[name]
        folder = base_dir / name
        old = folder / "old"
        old.mkdir(parents=True)
        out = results[name] = {"cases": []}
        started = time.perf_counter()
        out["prepare"] = _fork(old, lambda s=stage, o=old: s.prepare(o))
        out["old"] = _fork(old, lambda s=stage, o=old: s.run(o, "old"))
        probe = folder / "new"
        shutil.copytree(old, probe, symlinks=True)
        log = folder / "kinds.log"
        out["new"] = _fork(probe, lambda s=stage, p=probe: s.run(p, "new"), log=log)
        kinds = log.read_text().split() if log.is_file() else []
        out["kinds"] = kinds
        for n in kill_points(kinds):
            case = folder / f"kill-{n}"
            shutil.copytree(old, case, symlinks=True)
            code = _fork(case, lambda s=stage, c=case: s.run(c, "new"), kill_after=n)
            out["cases"].append({"n": n, "dir": str(case), "code": code})
        if "journal" in kinds:
            commit = len(kinds) - kinds[::-1].index("journal")
            again = folder / "again"
            shutil.copytree(folder / f"kill-{commit}", again, symlinks=True)
            out["again"] = _fork(again, lambda s=stage, a=again: s.run(a, "new"))
        out["seconds"] = round(time.perf_counter() - started, 1)
    (base_dir / "results.json").write_text(json.dumps(results, indent=1))


# --------------------------------------------------------------------------- the checks


def _snapshot(root: Path, targets: tuple[str, ...]) -> dict[str, object]:
    """Each target's bytes (a folder: its files' bytes by relative path); None if absent."""
    state: dict[str, object] = {}
    for rel in targets:
        path = root / rel
        io.recover(path)  # what any reader does first
        if path.is_dir():
            state[rel] = {str(p.relative_to(path)): p.read_bytes()
                          for p in sorted(path.rglob("*")) if p.is_file()}
        elif path.is_file():
            state[rel] = path.read_bytes()
        else:
            state[rel] = None
    return state


def _leftovers(root: Path, targets: tuple[str, ...]) -> list[str]:
    """Hidden temporary files left beside the targets (the scores file's Parquet copy is an
    output, not a leftover: it records which version of the file it copies)."""
    from pipeline.data.scores import sidecar_path

    names = {Path(t).name for t in targets}
    copies = {sidecar_path(root / t).name for t in targets}
    found = []
    for folder in {(root / t).parent for t in targets}:
        for entry in folder.iterdir():
            if entry.name in copies:
                continue
            if entry.name.startswith(".") and any(f".{n}." in entry.name for n in names):
                found.append(entry.name)
    return sorted(found)


@pytest.fixture(scope="module")
def driven(request, tmp_path_factory) -> tuple[Path, dict]:
    """Drive the stages whose tests are selected (``-k churn`` drives churn alone)."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    base = tmp_path_factory.mktemp("atomic-stages")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWBACK_KILL")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg")
    code = ("import sys; from tests.unit.test_atomic_stages import drive; "
            "drive(sys.argv[1], sys.argv[2])")
    names = ",".join(n for n in STAGES if n in selected)
    proc = subprocess.run([sys.executable, "-c", code, str(base), names],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return base, json.loads((base / "results.json").read_text())


@pytest.mark.parametrize("name", list(STAGES))
def test_a_killed_stage_leaves_its_outputs_wholly_old_or_wholly_new(driven, name):
    base, results = driven
    stage, result = STAGES[name], results[name]
    assert (result["prepare"], result["old"], result["new"]) == (0, 0, 0), result
    old = _snapshot(base / name / "old", stage.targets)
    new = _snapshot(base / name / "new", stage.targets)
    for rel in stage.targets:  # the test can tell every old output from its new one
        assert old[rel] is not None and new[rel] is not None, rel
        assert old[rel] != new[rel], f"{rel} is the same in both generations"
    assert result["cases"], "no kill point"
    kinds = result["kinds"]
    commit = len(kinds) - kinds[::-1].index("journal") if "journal" in kinds else None
    found = {}
    for case in result["cases"]:
        n, got = case["n"], _snapshot(Path(case["dir"]), stage.targets)
        assert case["code"] == -9, f"kill point {n} of {len(kinds)} was not reached"
        is_old = got == old
        is_new = all(got[rel] is not None and got[rel] != old[rel]
                     and (rel in stage.volatile or got[rel] == new[rel])
                     for rel in stage.targets)
        mixed = {rel: "old" if got[rel] == old[rel] else "new" for rel in stage.targets}
        assert is_old or is_new, f"killed at step {n} of {kinds}: a mix {mixed}"
        found[n] = "new" if is_new else "old"
    # Before the commit point (the last journal written) the old outputs, from it on the new.
    assert commit is not None, "the stage commits its outputs with no journal"
    assert found == {n: "new" if n >= commit else "old" for n in found}, (commit, kinds)
    # A later run finishes cleanly and leaves no temporary file, journal or old folder.
    again = base / name / "again"
    assert result["again"] == 0
    got = _snapshot(again, stage.targets)
    assert all(got[rel] != old[rel] and (rel in stage.volatile or got[rel] == new[rel])
               for rel in stage.targets)
    assert _leftovers(again, stage.targets) == []
