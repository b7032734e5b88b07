"""``followback decide``: validated, one row per account, atomic, and read back by ingest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data import io, schema
from pipeline.stages import decide
from tests.unit.test_score import (  # noqa: F401  (demo_project: a session fixture)
    demo_project,
    fitted_toy_model,
    toy_config,
    toy_tables,
    write_inputs,
    write_params,
)


@pytest.fixture
def project(tmp_path):
    """A toy project with a scores file and ingested accounts and decisions."""
    from pipeline.stages import score as scoring

    cfg = toy_config(tmp_path)
    accounts, posts, _ = toy_tables(12)
    folder = write_inputs(tmp_path / "in", accounts, posts)
    scoring.score(cfg, cfg.score.out, [Source(path=folder)], model=fitted_toy_model(),
                  model_id="toy")
    io.write_table(schema.to_frame("accounts", accounts.to_dict(orient="records")),
                   io.table_path(cfg.ingest.out_dir, "accounts"))
    io.write_table(schema.to_frame("decisions", [
        {"account_id": "1000", "follow_back": True, "decided_at": "2025-01-01T00:00:00Z"},
        {"account_id": "1001", "follow_back": False, "decided_at": "2025-01-01T00:00:00Z"},
    ]), io.table_path(cfg.ingest.out_dir, "decisions"))
    return cfg, write_params(cfg, tmp_path / "params.yaml")


def test_record_appends_then_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "decisions" / "decisions.csv"
    when = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    first = decide.record(path, "42", True, note="bakes great bread", handle="maya",
                          decided_at=when)
    assert first.previous is None
    decide.record(path, "43", False, handle="spam.bot", decided_at=when)
    again = decide.record(path, "42", False, note="changed my mind", handle="maya",
                          decided_at=when)
    assert again.previous is True
    frame = decide.read_decisions(path)
    assert frame["account_id"].tolist() == ["43", "42"]  # one row per account
    assert frame.set_index("account_id").loc["42", ["follow_back", "note"]].tolist() == [
        "false", "changed my mind"]
    # Nothing but the file in its folder: the folder is a DVC dependency, and a lock file
    # left in it would change its hash.
    assert sorted(p.name for p in path.parent.iterdir()) == ["decisions.csv"]
    assert decide.lock_path(path).parent != path.parent
    assert decide.describe(again) == "@maya: skip (was: follow back)"


def test_record_refuses_an_invalid_decision(tmp_path):
    with pytest.raises(FollowbackError, match="account_id"):
        decide.record(tmp_path / "decisions.csv", "   ", True)
    assert not (tmp_path / "decisions.csv").exists()


def test_the_file_is_a_generic_source_that_ingest_validates(tmp_path):
    from pipeline.data.ingest import load

    path = tmp_path / "decisions" / "decisions.csv"
    decide.record(path, "42", True, note="=not a formula, my own words", handle="=evil")
    decide.record(path, "43", False)
    result = load([Source(path=path.parent, format="generic")])
    table = result.tables["decisions"]
    assert not result.rejects
    assert table.frame["account_id"].tolist() == ["42", "43"]
    assert table.frame["follow_back"].tolist() == [True, False]
    assert table.frame["decided_at"].notna().all()
    assert table.frame["note"].iloc[0] == "=not a formula, my own words"
    # The stranger's handle is neutralised for spreadsheets; ingest keeps it as an extra.
    assert "'=evil" in table.extras["extra"].iloc[0]


def test_a_decision_here_replaces_an_older_one_from_the_export(tmp_path):
    from pipeline.data.ingest import load

    export = tmp_path / "export"
    export.mkdir()
    pd.DataFrame([{"account_id": "42", "follow_back": True}]).to_csv(export / "decisions.csv",
                                                                    index=False)
    path = tmp_path / "decisions" / "decisions.csv"
    decide.record(path, "42", False)
    # The order of ingest.sources in params.yaml: the export, then the decisions folder.
    result = load([Source(path=export), Source(path=path.parent, format="generic")])
    decided = result.tables["decisions"].frame.set_index("account_id")
    assert bool(decided.loc["42", "follow_back"]) is False
    assert result.tables["decisions"].duplicates == 1


def test_concurrent_writers_lose_no_decision(tmp_path):
    path = tmp_path / "decisions.csv"

    def write(offset):
        for i in range(15):
            decide.record(path, str(offset + i), i % 2 == 0)

    threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(decide.read_decisions(path)) == 45


def test_known_decisions_prefer_the_decisions_file(project):
    cfg, _ = project
    decide.record(cfg.report.decisions_out, "1001", True)
    decide.record(cfg.report.decisions_out, "1005", False)
    known = decide.known_decisions(cfg).set_index("account_id")["follow_back"].to_dict()
    assert known == {"1000": True, "1001": True, "1005": False}


def test_decide_command_resolves_handles_and_account_ids(project):
    from pipeline.cli import app

    cfg, params = project
    runner = CliRunner()
    result = runner.invoke(app, ["decide", "@USER3", "--skip", "--note", "no about",
                                 "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "@user3: skip" in result.output
    result = runner.invoke(app, ["decide", "1004", "--follow", "--params", str(params)])
    assert result.exit_code == 0, result.output
    frame = decide.read_decisions(cfg.report.decisions_out).set_index("account_id")
    assert frame.loc["1003", ["follow_back", "note", "handle"]].tolist() == [
        "false", "no about", "user3"]
    assert frame.loc["1004", "follow_back"] == "true"

    missing = runner.invoke(app, ["decide", "nobody", "--follow", "--params", str(params)])
    assert missing.exit_code == 2
    assert "no account 'nobody'" in missing.output
    neither = runner.invoke(app, ["decide", "user3", "--params", str(params)])
    assert neither.exit_code != 0  # --follow or --skip is required


def test_deciding_against_a_list_warns_that_the_list_still_decides(project, tmp_path):
    from pipeline.cli import app

    cfg, _ = project
    cfg.user.never_list = ["user2"]
    params = write_params(cfg, tmp_path / "params-never.yaml")
    result = CliRunner().invoke(app, ["decide", "user2", "--follow", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "never-follow list" in result.output


@pytest.mark.slow
def test_next_run_trains_on_the_new_decisions(demo_project, tmp_path):  # noqa: F811
    """decide -> ingest -> the training data holds the new label (what `dvc repro` runs)."""
    import yaml

    from pipeline.cli import app
    from pipeline.core.config import load_config
    from pipeline.stages.train import load_training_data

    params = yaml.safe_load(demo_project.params.read_text())
    params["ingest"]["out_dir"] = str(tmp_path / "ingested")
    decisions = tmp_path / "decisions" / "decisions.csv"
    params["report"]["decisions_out"] = str(decisions)
    params["ingest"]["sources"][1]["path"] = str(decisions.parent)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    cfg = load_config(path)
    before = load_training_data(demo_project.cfg)
    accounts = io.read_table(demo_project.cfg.ingest.out_dir, "accounts")
    undecided = accounts[~accounts["account_id"].isin(set(before.X["account_id"]))].iloc[0]
    decided = before.X.iloc[0]
    old_label = int(before.y[0])

    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--params", str(path)])  # a copy of the data
    assert result.exit_code == 0, result.output
    for who, flag in ((undecided["handle"], "--follow"),
                      (decided["account_id"], "--skip" if old_label else "--follow")):
        result = runner.invoke(app, ["decide", str(who), flag, "--params", str(path)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ingest", "--params", str(path)])
    assert result.exit_code == 0, result.output

    after = load_training_data(cfg)
    assert len(after.y) == len(before.y) + 1
    labels = dict(zip(after.X["account_id"], after.y, strict=True))
    assert labels[undecided["account_id"]] == 1
    assert labels[decided["account_id"]] == 1 - old_label  # the newer decision wins
