"""``followback review``: most uncertain first, answers kept at once, lists respected."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.core.config import Source
from pipeline.data import io, schema
from pipeline.data.scores import read_scores
from pipeline.model.attribution import log_odds
from pipeline.stages import decide, review
from pipeline.stages import score as scoring
from tests.unit.test_score import (
    fitted_toy_model,
    toy_config,
    toy_tables,
    write_inputs,
    write_params,
)

MARKUP_BIO = "[bold red]Totally real[/] account [link=http://x]click[/link]"


@pytest.fixture
def project(tmp_path):
    """A toy project: 24 scored accounts, two already decided, one on each list."""
    cfg = toy_config(tmp_path)
    cfg.user.allow_list = ["user5"]
    cfg.user.never_list = ["1006"]
    accounts, posts, _ = toy_tables(24)
    accounts.loc[7, "bio"] = MARKUP_BIO
    folder = write_inputs(tmp_path / "in", accounts, posts)
    scoring.score(cfg, cfg.score.out, [Source(path=folder)], model=fitted_toy_model(),
                  model_id="toy")
    io.write_table(schema.to_frame("decisions", [
        {"account_id": "1000", "follow_back": True}, {"account_id": "1001", "follow_back": False},
    ]), io.table_path(cfg.ingest.out_dir, "decisions"))
    return cfg, write_params(cfg, tmp_path / "params.yaml")


def invoke(params, answers: str, *args: str):
    from pipeline.cli import app

    result = CliRunner().invoke(app, ["review", "--params", str(params), *args],
                                input=answers, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def expected_queue(cfg):
    scores = read_scores(cfg.score.out)
    todo = scores[~scores["account_id"].isin({"1000", "1001", "1005", "1006"})]
    distance = abs(log_odds(todo["probability"]) - log_odds(todo["threshold"]))
    return todo.assign(d=distance).sort_values("d", kind="stable")


def test_queue_is_undecided_unlisted_and_most_uncertain_first(project):
    cfg, _ = project
    scores = read_scores(cfg.score.out)
    todo = review.queue(scores, decide.known_decisions(cfg))
    assert todo["account_id"].tolist() == expected_queue(cfg)["account_id"].tolist()
    assert len(todo) == 24 - 4
    d = review.uncertainty(todo).to_numpy()
    assert (d[1:] >= d[:-1]).all()


def test_answers_are_saved_as_given_and_quitting_keeps_them(project):
    cfg, params = project
    order = expected_queue(cfg)["account_id"].tolist()
    result = invoke(params, "f\ns\nn\nq\n")
    saved = decide.read_decisions(cfg.report.decisions_out).set_index("account_id")
    assert saved["follow_back"].to_dict() == {order[0]: "true", order[1]: "false"}
    assert "answered 2 (1 follow back, 1 skip), 1 left for later" in result.output
    # The lists are shown as such, not asked.
    assert "1 on your allow list, decided by it and not asked: @user5" in result.output
    assert "1 on your never-follow list" in result.output

    # The next session starts with what is still undecided.
    again = invoke(params, "s\nq\n")
    saved = decide.read_decisions(cfg.report.decisions_out).set_index("account_id")
    assert saved.loc[order[2], "follow_back"] == "false"
    assert f"1/{len(order) - 2}" in again.output


def test_end_of_input_midway_keeps_the_answers(project):
    cfg, params = project
    invoke(params, "f\nf\n")  # then the input ends, as a closed terminal would
    assert len(decide.read_decisions(cfg.report.decisions_out)) == 2


def test_a_wrong_key_is_asked_again(project):
    cfg, params = project
    result = invoke(params, "x\nf\nq\n")
    assert "Please select one of the available options" in result.output
    assert len(decide.read_decisions(cfg.report.decisions_out)) == 1


def test_notes_and_limit(project):
    cfg, params = project
    invoke(params, "s\nlooks like spam\nf\n\n", "--notes", "--limit", "2")
    saved = decide.read_decisions(cfg.report.decisions_out)
    assert saved["note"].tolist() == ["looks like spam", ""]


def test_account_text_is_shown_literally_not_as_markup(project):
    cfg, params = project
    result = invoke(params, "n\n" * 24)
    assert "[bold red]Totally real[/] account [link=http://x]click[/link]" in \
        " ".join(result.output.split())


def test_review_works_without_a_trained_model(tmp_path):
    """No scores file yet (no model trained): the prior on the cached features gives the
    verdicts, the queue runs, and it says what the personal model still needs."""
    from tests.unit.test_prior import features as prior_features

    cfg = toy_config(tmp_path)
    cfg.features.out = tmp_path / "features.parquet"
    cfg.decisions.out = tmp_path / "labels.parquet"
    feats = prior_features([0, 3, 1, 0, 2, 0])
    feats.insert(0, "account_id", [f"a{i}" for i in range(6)])
    feats.to_parquet(cfg.features.out)
    io.write_table(schema.to_frame("accounts", [
        {"platform": "mastodon", "account_id": f"a{i}", "handle": f"user{i}"}
        for i in range(6)]), io.table_path(cfg.ingest.out_dir, "accounts"))
    io.write_table(schema.to_frame("decisions", [{"account_id": "a0", "follow_back": True}]),
                   io.table_path(cfg.ingest.out_dir, "decisions"))
    params = write_params(cfg, tmp_path / "params.yaml")
    result = invoke(params, "s\nq\n")
    said = " ".join(result.output.split())
    assert "no scores yet" in said and "the prior fitted on the cached features" in said
    # train.min_decisions (60) in all, one "follow back" known: the rest split, the rarer first
    assert cfg.train.min_decisions == 60
    assert "your own model still needs 29 'follow back' and 30 'skip' answers" in said
    saved = decide.read_decisions(cfg.report.decisions_out)
    assert len(saved) == 1 and saved["follow_back"].tolist() == ["false"]
    # the most uncertain first: one "follow back" answer lifts the prior's level, so the
    # flagless accounts sit nearest even odds (0.6), the flagged ones far below
    asked = said.split("1/5")[1].split("@")[1].split()[0]
    assert asked == "user3"


def test_a_limited_queue_is_the_first_part_of_the_whole_one():
    import numpy as np
    import pandas as pd

    from pipeline.stages.review import queue
    from tests.integration.app_projects import synthetic_scores

    scores = synthetic_scores(600, seed=3)
    decided = pd.DataFrame({"account_id": ["100001", "100002"], "follow_back": [True, False]})
    newest = pd.Series(np.arange(30), index=scores["account_id"].iloc[100:130])
    group = pd.Series(np.arange(600) % 7, index=scores["account_id"])
    whole = queue(scores, decided, newest, group)
    for limit in (10, 30, 45, 2000):
        part = queue(scores, decided, newest, group, limit=limit)
        assert len(part) == min(limit, len(whole))
        assert part["account_id"].tolist() == whole["account_id"].head(limit).tolist()
