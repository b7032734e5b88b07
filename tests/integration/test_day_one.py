"""Day one on your own account: init -> fetch -> the stages -> review, against a local
Mastodon server in the API's shapes, on generated accounts shaped like real ones (newest
followers first and undecided, a mutual share among the older ones; a tiny account; an account
whose followers are all mutual). Nothing here comes from the shared real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.core.config import load_config
from pipeline.data import io
from pipeline.data.scores import read_scores
from tests.integration.conftest import small_params
from tests.servers import FakeMastodon, World

pytestmark = pytest.mark.slow
TOKEN = "tok-dayone-5b2c9e81d0a64f37"
# dvc.yaml's stages in its order (each is one command)
STAGES = ("demo", "ingest", "churn", "featurize", "decisions", "train", "evaluate", "score",
          "trends", "report")


def run(*args: str, answers: str | None = None):
    from pipeline.cli import app

    result = CliRunner().invoke(app, list(args), input=answers, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def day_one(root: Path, world: World, monkeypatch, window: int = 10) -> dict:
    """init, one fetch and every stage of `dvc repro` on ``world``; the outputs."""
    params = small_params(root)
    params["decisions"]["undecided_newest"] = window
    params["decisions"]["undecided_share"] = 0.0  # the count alone, for exact expectations
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(root)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    out = {}
    with FakeMastodon(world, token=TOKEN) as server:
        run("init", "mastodon", "--instance", server.url)
        out["fetch"] = run("fetch", "mastodon").output
    for stage in STAGES:
        out[stage] = run(stage).output
    cfg = load_config("params.yaml")
    out["cfg"] = cfg
    out["labels"] = pd.read_parquet(cfg.decisions.out)
    out["scores"] = read_scores(cfg.score.out)
    out["metrics"] = yaml.safe_load(Path(cfg.train.metrics).read_text())
    return out


def test_a_real_shaped_account_gets_verdicts_on_its_newest_followers(tmp_path, monkeypatch):
    world = World.shaped(150, mutual_share=0.45, undecided=12, seed=3)
    out = day_one(tmp_path, world, monkeypatch, window=10)
    cfg, labels, scores = out["cfg"], out["labels"], out["scores"]
    # No file edited by hand, and the demo stayed out.
    assert [p.name for p in Path("data/raw/demo").iterdir()] == ["README.txt"]
    assert cfg.user.handle == "maya" and not cfg.user.from_fetch
    # One fetch: mutual followers are "follow back", the older unfollowed ones "skip", the
    # newest 10 undecided.
    ids = [str(n) for n in world.followers]
    mutual = {str(n) for n in world.following}
    by_kind = labels.set_index("account_id")["kind"]
    assert set(by_kind[by_kind == "already_mutual"].index) == mutual
    assert set(by_kind[by_kind == "first_fetch"].index) == {a for a in ids[10:]
                                                           if a not in mutual}
    newest = [a for a in ids[:10] if a not in mutual]
    assert not set(newest) & set(labels["account_id"])
    # The personal model learned (enough of both answers), and its scores put the newest
    # undecided first, newest first.
    assert out["metrics"]["prior"] == 0
    assert scores["account_id"].head(len(newest)).tolist() == newest
    assert scores["undecided_rank"].head(len(newest)).tolist() == list(range(len(newest)))
    assert scores["undecided_rank"].iloc[len(newest):].isna().all()
    # The model learned what the generated person follows back: bios about her interests.
    liked = scores["bio"].fillna("").str.contains("Bread|Sourdough")
    assert scores.loc[liked, "probability"].mean() > scores.loc[~liked, "probability"].mean()
    # The report shows them first.
    page = Path(cfg.report.out).read_text()
    assert "new follower #1" in page
    # review: the newest undecided first; answers are kept and the model refitted on them.
    result = run("review", "--refit-every", "2", answers="f\ns\nq\n")
    assert f"your {len(newest)} newest undecided followers first" in " ".join(
        result.output.split())
    # The first questions are about the newest undecided (in the order that teaches most).
    first = result.output.split("1/")[1].split("@user")[1].split()[0]
    assert first in newest
    assert "refitted the personal on" in result.output
    saved = pd.read_csv(cfg.report.decisions_out, dtype=str)
    assert len(saved) == 2 and set(saved["account_id"]) <= set(newest)


def test_a_tiny_account_gets_verdicts_from_the_prior(tmp_path, monkeypatch):
    world = World.shaped(12, mutual_share=0.5, undecided=3, seed=5)
    out = day_one(tmp_path, world, monkeypatch, window=4)
    assert out["metrics"]["prior"] == 1
    needs = (out["metrics"]["needs_follow_back"], out["metrics"]["needs_skip"])
    assert sum(needs) > 0
    said = " ".join(out["train"].split())
    assert (f"too few for your own model, which needs {needs[0]} more 'follow back' and "
            f"{needs[1]} more 'skip' answers") in said
    scores = out["scores"]
    assert len(scores) == 12 and scores["verdict"].isin(["follow back", "skip", "review"]).all()
    assert scores["probability"].between(0, 1).all()
    page = Path(out["cfg"].report.out).read_text()
    assert f"It still needs {needs[0]} more" in page
    result = run("review", answers="s\nq\n")
    said = " ".join(result.output.split())
    assert f"your own model still needs {needs[0]} 'follow back' and {needs[1]} 'skip'" in said


def test_all_mutual_and_no_own_posts_still_give_verdicts(tmp_path, monkeypatch):
    world = World.shaped(40, mutual_share=1.0, undecided=6, seed=7)
    world.me.n_posts = 0  # a new account: no own posts to compare with
    out = day_one(tmp_path, world, monkeypatch, window=6)
    # 34 mutual followers: the personal model only lacks "skip" answers, one per CV fold.
    assert out["metrics"]["prior"] == 1
    assert out["metrics"]["needs_skip"] == out["cfg"].train.cv_folds
    assert out["metrics"]["needs_follow_back"] == 0
    assert "no own posts in the ingested data: relevance" in " ".join(out["train"].split())
    scores = out["scores"]
    undecided = [str(n) for n in world.followers[:6]]
    assert scores["account_id"].head(6).tolist() == undecided
    # Everyone so far was followed back: the prior leans to "follow back".
    assert scores.head(6)["probability"].mean() > 0.5
    assert io.read_table(out["cfg"].ingest.out_dir, "own_posts").empty
