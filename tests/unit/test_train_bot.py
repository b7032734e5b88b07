"""followback train-bot: labels from research groups, validation, the saved model and sidecar."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn

from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data.frame import account_frame
from pipeline.features.bot import BOT_MODEL_FEATURES, BotLikeness, load_bot_model
from pipeline.features.population import STANDOUT_COLUMNS
from pipeline.stages.train_bot import (
    DEFAULT_SOURCES,
    FEATURE_FAMILIES,
    HIDDEN_ON_MOST_PLATFORMS,
    _default_sources,
    family_of,
    group_of,
    hide_platform_gaps,
    label_of,
    read_groups,
    read_labels,
    read_source,
    research_files,
    train_bot,
)

LABELLED = Path(__file__).parents[1] / "fixtures" / "labelled"
MASTODON = Path(__file__).parents[1] / "fixtures" / "ingest" / "mastodon" / "followers.json"

GROUPS = {
    "genuine_accounts", "fake_followers", "social_spambots_1", "social_spambots_2",
    "social_spambots_3", "traditional_spambots_1", "traditional_spambots_2",
    "traditional_spambots_3", "traditional_spambots_4",
}


@pytest.fixture(scope="module")
def sample_dir(bot_research_dir, tmp_path_factory) -> Path:
    """The first 40 accounts of each cresci-2017 users table (read from ../shared)."""
    dst = tmp_path_factory.mktemp("cresci-sample")
    for path in sorted(bot_research_dir.glob("*.users.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            rows = [next(reader)] + [row for _, row in zip(range(40), reader, strict=False)]
        with open(dst / path.name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return dst


@pytest.fixture(scope="module")
def trained(sample_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("model") / "bot.skops"
    sidecar = train_bot([Source(path=sample_dir)], out, n_estimators=10, seed=0, folds=3,
                        command="followback train-bot --n-estimators 10", root=sample_dir,
                        n_jobs=1)
    return out, sidecar


@pytest.mark.parametrize(
    ("group", "family", "label"),
    [
        ("genuine_accounts", "genuine_accounts", 0),
        ("social_spambots_2", "social_spambots", 1),
        ("traditional_spambots_4", "traditional_spambots", 1),
        ("fake_followers", "fake_followers", 1),
    ],
)
def test_labels_and_families(group, family, label):
    assert family_of(group) == family
    assert label_of(group) == label


def test_group_is_the_file_name():
    assert group_of(Path("x/social_spambots_1.users.csv")) == "social_spambots_1"


def test_unknown_group_is_an_error_naming_the_choices():
    with pytest.raises(FollowbackError, match="cannot tell the label of account group 'e13'"):
        label_of("e13")


def test_research_files_expands_folders_and_rejects_missing(sample_dir, tmp_path):
    files = research_files([Source(path=sample_dir)])
    assert {group_of(p) for p, _ in files} == GROUPS
    assert {fmt for _, fmt in files} == {"twitter-research"}
    with pytest.raises(FileNotFoundError, match="bot training data not found"):
        research_files([Source(path=tmp_path / "absent")])
    with pytest.raises(FollowbackError, match="no \\*.users.csv"):
        research_files([Source(path=tmp_path)])


def test_accounts_are_aged_at_their_crawl(sample_dir):
    tables = {t.group: t for t in read_groups([Source(path=sample_dir)])}
    genuine = tables["genuine_accounts"]
    assert genuine.label == 0 and len(genuine.accounts) == 40
    # genuine_accounts rows carry crawled_at (2015); fake_followers only `updated` (2013).
    assert genuine.observed_at.iloc[0] == pd.Timestamp("2015-05-02 06:41:46", tz="UTC")
    assert tables["fake_followers"].observed_at.dt.year.eq(2013).all()
    assert tables["traditional_spambots_1"].observed_at.dt.year.eq(2010).all()


def test_hide_platform_gaps():
    X = pd.DataFrame({name: [1.0, 2.0] for name in BOT_MODEL_FEATURES})
    hidden = hide_platform_gaps(X)
    assert hidden[HIDDEN_ON_MOST_PLATFORMS].isna().all().all()
    kept = [c for c in BOT_MODEL_FEATURES if c not in HIDDEN_ON_MOST_PLATFORMS]
    pd.testing.assert_frame_equal(hidden[kept], X[kept])
    assert X.notna().all().all()  # the input is left alone


def test_saved_model_loads_and_scores_accounts(trained):
    out, _ = trained
    model = load_bot_model(out)
    assert set(model.feature_names_in_) <= set(STANDOUT_COLUMNS)
    frame = account_frame(pd.DataFrame([
        {"platform": "mastodon", "account_id": "1", "handle": "a1", "following_count": 4000,
         "created_at": "2024-05-01T00:00:00Z"},
        {"platform": "mastodon", "account_id": "2", "handle": "b2"},
    ]))
    bot = BotLikeness(model_path=str(out)).set_output(transform="pandas")
    scores = bot.fit_transform(frame)["bot_score"]
    assert scores.between(0, 1).all()


def test_sidecar_has_provenance_and_both_validations(trained, sample_dir):
    out, sidecar = trained
    on_disk = json.loads(out.with_suffix(".json").read_text())
    assert on_disk == sidecar
    assert sidecar["command"] == "followback train-bot --n-estimators 10"
    assert set(sidecar["features"]) <= set(STANDOUT_COLUMNS)
    assert sidecar["estimator"] == "HistGradientBoostingClassifier"
    assert sidecar["population"]["bot_share"] == 0.1
    assert sidecar["population"]["monotonic_increasing"] == sidecar["features"]
    assert sidecar["versions"]["scikit-learn"] == sklearn.__version__
    assert sidecar["params"]["max_iter"] == 10
    (source,) = sidecar["sources"]
    assert source["name"] == sample_dir.name and source["platform"] == "twitter"
    files = {d["group"]: d for d in source["files"]}
    assert set(files) == GROUPS
    genuine = files["genuine_accounts"]
    assert genuine["file"] == "genuine_accounts.users.csv"  # relative to root
    assert genuine["label"] == 0 and genuine["accounts"] == 40 and genuine["rows_read"] == 40
    expected = hashlib.sha256((sample_dir / "genuine_accounts.users.csv").read_bytes())
    assert genuine["sha256"] == expected.hexdigest()

    cv = sidecar["metrics"]["within_source_cv"]
    block = cv[sample_dir.name]
    assert cv["folds"] == 3 and block["n_bots"] == 320 and block["n_humans"] == 40
    for key in ("roc_auc", "pr_auc", "bot_recall", "human_false_positive_rate"):
        assert 0 <= block[key] <= 1
    assert block["roc_auc"] > 0.8  # even 360 accounts separate this well within the data
    # One source: nothing to leave out.
    assert sidecar["metrics"]["leave_one_source_out"] == {}

    logo = sidecar["metrics"]["leave_one_group_out"]
    assert set(logo) == {"social_spambots", "traditional_spambots", "fake_followers"}
    social = logo["social_spambots"]
    assert social["held_out_groups"] == ["social_spambots_1", "social_spambots_2",
                                         "social_spambots_3"]
    assert social["n_bots"] == 120 and social["n_humans_per_part"] == 13
    assert 0 <= social["roc_auc"] <= 1 and social["roc_auc_std"] >= 0
    assert sidecar["size_bytes"] == out.stat().st_size


@pytest.fixture(scope="module")
def multi(sample_dir, tmp_path_factory) -> dict:
    """Trained on the cresci-2017 sample and the three length-only fixture sets."""
    out = tmp_path_factory.mktemp("multi") / "bot.skops"
    sources = [Source(path=sample_dir)] + [Source(path=LABELLED / name) for name in
                                           ("caverlee", "instafake", "instagram_kaggle")]
    return train_bot(sources, out, n_estimators=10, seed=0, folds=3, root=sample_dir,
                     n_jobs=1, kind="hgb", mix="equal_sources")


def test_leave_one_source_out_per_source_and_platform(multi):
    metrics = multi["metrics"]
    loso = metrics["leave_one_source_out"]
    # Without the cresci-2017 sample, only the fixture sets remain, each too small to be a
    # population (pipeline.features.population.MIN_POPULATION): nothing to learn, no figure.
    assert set(loso) == {"caverlee-2011", "instafake-2019", "instagram-kaggle"}
    assert loso["caverlee-2011"]["platform"] == "twitter"
    assert loso["caverlee-2011"]["n_bots"] == 3 and loso["caverlee-2011"]["n_humans"] == 4
    assert loso["instafake-2019"]["platform"] == "instagram"
    # Likewise without Twitter: the Instagram fixtures alone teach nothing.
    assert set(metrics["leave_one_platform_out"]) == {"instagram"}
    for m in [*loso.values(), *metrics["leave_one_platform_out"].values()]:
        assert 0 <= m["roc_auc"] <= 1
    names = {s["name"]: s for s in multi["sources"]}
    # What each source publishes is recorded, and what it does not stays missing.
    assert "log_age_days" not in names["instafake-2019"]["published_features"]
    assert "handle_length" in names["caverlee-2011"]["published_features"]
    assert "handle_length" not in names["instagram-kaggle"]["published_features"]
    assert names["caverlee-2011"]["rejected"] == 4


def test_ablation_covers_every_family_and_single_source_families_go(multi):
    metrics = multi["metrics"]
    ablation = metrics["ablation"]
    assert "age_and_rates" in ablation and "audience" in ablation
    for change in ablation.values():
        assert set(change) >= {"mean_roc_auc_change", "caverlee-2011"}
    # The fixture sets hold a handful of accounts each, too few to be a population to stand
    # out from: their standouts stay missing, so every family comes from the cresci-2017
    # sample alone, and with no family of two sources none is dropped for that.
    published = {s["name"]: s["published_features"] for s in multi["sources"]}
    small = {"caverlee-2011", "instafake-2019", "instagram-kaggle"}
    (sample,) = set(published) - small
    for name in small:
        assert not [f for f in published[name] if f in STANDOUT_COLUMNS], name
    assert {"standout_log_posts_count", "standout_mean"} <= set(published[sample])
    assert set(metrics["single_source_families"]) == set(FEATURE_FAMILIES)
    assert set(multi["features"]) <= set(STANDOUT_COLUMNS)
    # The profile features as they are are never the bot model's input.
    assert set(multi["dropped_features"]) == set()


def _labelled(name: str, platform: str, posts: np.ndarray, following: np.ndarray,
              labels: np.ndarray):
    from pipeline.data.ingest._labelled import build

    rows = [{"account_id": f"{name}{i}", "posts_count": float(p), "following_count": float(f)}
            for i, (p, f) in enumerate(zip(posts, following, strict=True))]
    return build(name, platform, rows, labels.tolist(), [], [])


def test_standouts_rank_a_new_platform_the_right_way_round():
    """Bots that post less than the people around them (a Twitter fake follower) and bots
    that post more (a declared Mastodon feed among dormant accounts) both stand out: trained
    on the first, the standouts rank the second right, where the raw counts invert."""
    from sklearn.metrics import roc_auc_score

    from pipeline.stages.train_bot import _score, fit_model, pool_of

    rng = np.random.default_rng(0)
    y = np.array([0] * 300 + [1] * 100)
    twitter = _labelled("tw", "twitter",
                        np.where(y == 0, rng.lognormal(7, 1, 400), rng.integers(0, 5, 400)),
                        np.where(y == 0, rng.lognormal(5, 0.7, 400), rng.lognormal(8, 0.5, 400)),
                        y)
    mastodon = _labelled("ma", "mastodon",
                         np.where(y == 0, rng.integers(0, 4, 400), rng.lognormal(8, 1, 400)),
                         np.where(y == 0, rng.integers(0, 8, 400), rng.integers(0, 3, 400)),
                         y)
    pool = pool_of([twitter, mastodon])
    train, test = pool.take(pool.platform == "twitter"), pool.take(pool.platform == "mastodon")
    standouts = ["standout_log_posts_count", "standout_log_following_count"]
    raw = ["log_posts_count", "log_following_count"]
    aucs = {}
    for name, features in (("standouts", standouts), ("raw", raw)):
        model = fit_model(train, features, "hgb", "equal_sources", 30, 0)
        aucs[name] = roc_auc_score(test.y, _score(model, test.X))
    assert aucs["standouts"] > 0.9 and aucs["raw"] < 0.2, aucs


def test_labels_file_trains_beside_research_data(sample_dir, tmp_path):
    # 24 Mastodon accounts (the API's shape; enough to be a population to stand out from),
    # every other one labelled a bot.
    template = json.loads(MASTODON.read_text())[0]
    accounts = tmp_path / "followers.json"
    accounts.write_text(json.dumps([
        {**template, "id": str(1000 + k), "username": f"user{k}", "acct": f"user{k}",
         "followers_count": 10 + 300 * (k % 2 == 0), "following_count": 100 + 2000 * (k % 2),
         "statuses_count": 5 + 400 * (k % 2 == 0) + k} for k in range(24)]))
    ids = [str(1000 + k) for k in range(24)]
    labels = tmp_path / "labels.csv"
    rows = ["account_id,label"] + [f"{i},{'bot' if k % 2 else 'human'}"
                                   for k, i in enumerate(ids)]
    labels.write_text("\n".join(rows) + "\n")
    sidecar = train_bot([Source(path=sample_dir)], tmp_path / "m.skops", n_estimators=5,
                        seed=0, folds=3, root=tmp_path, n_jobs=1, labels=labels,
                        accounts=[Source(path=accounts)], kind="hgb",
                        mix="equal_sources", selection=False)
    mine = [s for s in sidecar["sources"] if s["name"] == "labels"][0]
    assert mine["platform"] == "mastodon" and mine["accounts"] == len(ids)
    # The user's accounts are one more source, held out like the others.
    held = sidecar["metrics"]["leave_one_source_out"]["labels"]
    assert held["platform"] == "mastodon"
    assert held["n_bots"] + held["n_humans"] == len(ids)
    assert set(sidecar["metrics"]["leave_one_platform_out"]) == {"twitter", "mastodon"}
    assert "--labels" not in (sidecar["command"] or "")  # the library records what it is given


def test_read_labels_good_and_bad_rows(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("account_id,label\n1,bot\n2,Human\n3,1\n4,0\n5,maybe\n,bot\n7\n")
    labels, rejects = read_labels(path)
    assert labels == {"1": 1, "2": 0, "3": 1, "4": 0}
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 6", "label must be bot, human, 1 or 0, got 'maybe'"),
        ("line 7", "account_id is empty"),
        ("line 8", "expected 2 fields, got 1"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,bot\n1,1\n")
    with pytest.raises(FollowbackError, match="needs a header with account_id and label"):
        read_labels(bad)


def test_unknown_layout_is_an_error_naming_the_layouts(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(FollowbackError, match="not a known labelled layout"):
        read_source(Source(path=tmp_path))


def test_training_is_reproducible(sample_dir, trained, tmp_path):
    _, first = trained
    again = train_bot([Source(path=sample_dir)], tmp_path / "again.skops", n_estimators=10,
                      seed=0, folds=3, root=sample_dir, n_jobs=1)
    assert again["metrics"] == first["metrics"]


def test_only_one_class_is_an_error(sample_dir, tmp_path):
    with pytest.raises(FollowbackError, match="needs both human and bot accounts"):
        train_bot([Source(path=sample_dir / "genuine_accounts.users.csv")],
                  tmp_path / "m.skops", n_estimators=2)


def test_default_sources(tmp_path):
    configured = [Source(path=Path("data/research"))]
    assert _default_sources([], None, tmp_path) == [Source(path=tmp_path / p)
                                                    for p in DEFAULT_SOURCES]
    assert _default_sources(configured, None, tmp_path) == [
        Source(path=tmp_path / "data/research")]
    given = [tmp_path / "x.users.csv"]
    assert _default_sources(configured, given, tmp_path) == [Source(path=given[0])]


def test_cli_trains_and_prints_both_validations(sample_dir, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    params = tmp_path / "params.yaml"
    params.write_text("base:\n  seed: 3\n")
    out = tmp_path / "models" / "bot.skops"
    result = CliRunner().invoke(app, ["train-bot", "--params", str(params), "--data",
                                      str(sample_dir), "--out", str(out),
                                      "--n-estimators", "5"])
    assert result.exit_code == 0, result.output
    # The table wraps its cells at 80 columns: look for words, not whole labels.
    assert "within data" in result.output and "5-fold CV" in result.output
    assert result.output.count("unseen") == 3
    assert "ROC-AUC" in result.output
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["command"].endswith(f"--out {out} --n-estimators 5 --model auto "
                                       "--max-per-class 3000 --seed 3 "
                                       "--population-bot-share 0.1")
    assert sidecar["params"]["random_state"] == 3
    assert np.isfinite(sidecar["metrics"]["within_source_cv"][sample_dir.name]["roc_auc"])


def test_cli_missing_data_is_a_readable_error(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    params = tmp_path / "params.yaml"
    params.write_text("{}\n")
    result = CliRunner().invoke(app, ["train-bot", "--params", str(params), "--data",
                                      str(tmp_path / "nothing-here"), "--out",
                                      str(tmp_path / "m.skops")])
    assert result.exit_code == 2
    assert "bot training data not found" in result.output
    assert not (tmp_path / "m.skops").exists()
