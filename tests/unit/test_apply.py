"""``followback apply``: plans from the verdicts, dry run by default, logs, decisions, undo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data import io, schema
from pipeline.data.fetch import bluesky, mastodon
from pipeline.data.fetch._run import Transport, run
from pipeline.data.scores import OUTPUT_COLUMNS
from pipeline.stages import decide
from tests.servers import FakeBluesky, FakeMastodon, Sleeps, World

TOKEN = "tok-apply-7d41b0c2e9"
PASSWORD = "wxyz-1234-abcd-9876"


def write_scores(path: Path, ids: list[str], handles: list[str]) -> None:
    """Scores in `followback score`'s columns: the first half "follow back", the rest "skip"."""
    n = len(ids)
    rows = []
    for k, (account_id, handle) in enumerate(zip(ids, handles, strict=True)):
        follow = k < n // 2
        rows.append({"account_id": account_id, "handle": handle, "display_name": handle,
                     "bio": "", "probability": round(0.95 - k * 0.02, 2), "threshold": 0.5,
                     "verdict": "follow back" if follow else "skip", "override": "",
                     "reason_1": "posts about what you post" if follow else "looks like a bot",
                     "reason_2": "", "reason_3": ""})
    pd.DataFrame(rows).reindex(columns=OUTPUT_COLUMNS).to_csv(path, index=False)


def write_params(tmp_path: Path, **user) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({
        "user": {"handle": "maya", **user},
        "ingest": {"out_dir": str(tmp_path / "ingested")},
        "score": {"out": str(tmp_path / "scores.csv")},
        "churn": {"out": str(tmp_path / "churn.csv"),
                  "unfollow_out": str(tmp_path / "unfollow.csv")},
        "report": {"decisions_out": str(tmp_path / "decisions" / "decisions.csv")},
        "fetch": {"out_dir": str(tmp_path / "raw"), "backoff_seconds": 0.001},
        "apply": {"actions_dir": str(tmp_path / "actions"), "pace_seconds": 0},
    }))
    return path


@pytest.fixture
def masto_project(tmp_path):
    """A Mastodon fetch of 20 followers (4 of them followed back) and its scores."""
    world = World.make(20, 8)
    with FakeMastodon(world, token=TOKEN) as server:
        api = mastodon.MastodonFetch(server.url, TOKEN, None,
                                     Transport(mastodon.transient, 2, 0.001, Sleeps()))
        run(api, tmp_path / "raw" / "mastodon", 30, 20, show_progress=False)
        numbers = world.followers
        write_scores(tmp_path / "scores.csv", [str(n) for n in numbers],
                     [f"user{n}" for n in numbers])
        yield tmp_path, world, server


def invoke(tmp_path: Path, *args: str, **user):
    return CliRunner().invoke(app, ["apply", *args, "--params",
                                    str(write_params(tmp_path, **user))],
                              env={"MASTODON_ACCESS_TOKEN": TOKEN,
                                   "BLUESKY_APP_PASSWORD": PASSWORD})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "params.yaml"}


def test_a_dry_run_prints_the_plan_and_changes_nothing(masto_project):
    tmp_path, world, server = masto_project
    before, following = snapshot(tmp_path), list(world.following)
    result = invoke(tmp_path, "mastodon")
    assert result.exit_code == 0, result.output
    # Followers 104-109 scored "follow back" and not yet followed (100-103 already are).
    assert "6 action(s)" in result.output and "@user104" in result.output
    assert "posts about what you post" in result.output and "dry run" in result.output
    assert snapshot(tmp_path) == before and world.following == following
    assert not [m for m, _ in server.log if m == "POST"]
    assert not (tmp_path / "actions").exists()


def test_yes_follows_back_logs_each_action_and_records_decisions(masto_project):
    tmp_path, world, server = masto_project
    result = invoke(tmp_path, "mastodon", "--yes", never_list=["@user104"],
                    allow_list=["user115"])
    assert result.exit_code == 0, result.output
    followed = [n for n in world.following if n not in range(100, 104) and n < 120]
    assert sorted(followed) == [105, 106, 107, 108, 109, 115]  # never list held, allow list too
    [log] = sorted((tmp_path / "actions").glob("mastodon-*.jsonl"))
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["handle"] for e in entries] == ["user105", "user106", "user107", "user108",
                                              "user109", "user115"]
    assert {e["result"] for e in entries} == {"ok"} and {e["action"] for e in entries} == {
        "follow"}
    assert entries[-1]["reason"] == "on your allow list"
    assert set(entries[0]) >= {"time", "platform", "account_id", "action", "reason", "result"}
    decisions = decide.read_decisions(tmp_path / "decisions" / "decisions.csv")
    assert sorted(decisions.account_id) == ["105", "106", "107", "108", "109", "115"]
    assert set(decisions.follow_back) == {"true"}
    assert decisions.note.str.startswith("followback apply: follow").all()
    assert TOKEN not in log.read_text() and TOKEN not in result.output


def test_max_caps_a_run_and_says_what_waits(masto_project):
    tmp_path, world, _ = masto_project
    result = invoke(tmp_path, "mastodon", "--yes", "--max", "2")
    assert result.exit_code == 0, result.output
    assert sorted(n for n in world.following if 104 <= n < 120) == [104, 105]
    assert "not in this run: 4" in result.output and "over --max 2" in result.output


def test_undo_reverses_a_run_and_puts_back_the_decisions(masto_project):
    tmp_path, world, server = masto_project
    decisions = tmp_path / "decisions" / "decisions.csv"
    when = datetime(2026, 3, 1, tzinfo=UTC)
    decide.record(decisions, "106", True, note="love the bread", handle="user106",
                  decided_at=when)
    decide.record(decisions, "107", False, note="too many ads", handle="user107",
                  decided_at=when)
    original = list(world.following)
    assert invoke(tmp_path, "mastodon", "--yes").exit_code == 0
    assert 106 in world.following and 107 not in world.following  # your skip held
    [log] = sorted((tmp_path / "actions").glob("mastodon-*.jsonl"))
    dry = invoke(tmp_path, "mastodon", "--undo", str(log))
    assert "5 action(s)" in dry.output and "unfollow" in dry.output
    assert world.following != original  # the dry run did nothing
    undone = invoke(tmp_path, "mastodon", "--undo", str(log), "--yes")
    assert undone.exit_code == 0, undone.output
    assert sorted(world.following) == sorted(original)
    frame = decide.read_decisions(decisions).set_index("account_id")
    # The decisions the run wrote are gone; the one it replaced (106) is back as it was.
    assert sorted(frame.index) == ["106", "107"]
    assert frame.loc["106", "note"] == "love the bread"
    assert len(list((tmp_path / "actions").glob("*-undo.jsonl"))) == 1


def test_an_implicit_decision_does_not_stop_a_follow_back(masto_project):
    tmp_path, world, _ = masto_project
    io.write_table(schema.to_frame("decisions", [
        {"account_id": "104", "follow_back": False, "decided_at": "2026-01-01T00:00:00Z",
         "note": "implicit: not followed back within 14 days"},
        {"account_id": "105", "follow_back": False, "decided_at": "2026-01-01T00:00:00Z",
         "note": "spam"}]), io.table_path(tmp_path / "ingested", "decisions"))
    assert invoke(tmp_path, "mastodon", "--yes").exit_code == 0
    assert 104 in world.following and 105 not in world.following


def test_unfollow_tricksters_leaves_the_allow_list_alone(masto_project):
    tmp_path, world, _ = masto_project
    pd.DataFrame([
        {"account_id": "120", "handle": "user120", "times_unfollowed_after_followback": 2},
        {"account_id": "121", "handle": "user121", "times_unfollowed_after_followback": 0},
        {"account_id": "122", "handle": "user122", "times_unfollowed_after_followback": 1},
    ]).to_csv(tmp_path / "unfollow.csv", index=False)
    result = invoke(tmp_path, "mastodon", "--yes", "--unfollow-tricksters",
                    allow_list=["user122"])
    assert result.exit_code == 0, result.output
    assert 120 not in world.following and {121, 122} <= set(world.following)
    frame = decide.read_decisions(tmp_path / "decisions" / "decisions.csv").set_index(
        "account_id")
    assert frame.loc["120", "follow_back"] == "false"
    assert "then unfollowed (2 times)" in frame.loc["120", "note"]


def test_the_platforms_daily_follow_limit_counts_earlier_runs(masto_project):
    tmp_path, world, _ = masto_project
    earlier = datetime.now(UTC) - timedelta(hours=3)
    lines = [json.dumps({"time": earlier.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "platform": "mastodon", "account_id": str(9000 + k),
                         "action": "follow", "result": "ok"}) for k in range(398)]
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "mastodon-earlier.jsonl").write_text("\n".join(lines) + "\n")
    result = invoke(tmp_path, "mastodon", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(n for n in world.following if 104 <= n < 120) == [104, 105]  # 400 a day
    assert "write limit for 24 h" in result.output


def test_bluesky_follows_with_records_and_undo_deletes_them(tmp_path):
    world = World.make(12, 4)
    with FakeBluesky(world, password=PASSWORD) as server:
        api = bluesky.BlueskyFetch("maya.bsky.social", server.url, None,
                                   Transport(bluesky.transient, 2, 0.001, Sleeps()))
        run(api, tmp_path / "raw" / "bluesky", 30, 20, show_progress=False)
        dids = [server.did(world.person(n)) for n in world.followers]
        write_scores(tmp_path / "scores.csv", dids, [f"user{n}.bsky.social"
                                                    for n in world.followers])
        original = list(world.following)
        done = invoke(tmp_path, "bluesky", "--yes", "--service", server.url)
        assert done.exit_code == 0, done.output
        assert sorted(world.following) == sorted(original + [102, 103, 104, 105])
        [log] = sorted((tmp_path / "actions").glob("bluesky-*.jsonl"))
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert all(e["ref"].startswith("at://did:plc:fake000001/app.bsky.graph.follow/")
                   for e in entries)
        undone = invoke(tmp_path, "bluesky", "--undo", str(log), "--yes", "--service",
                        server.url)
        assert undone.exit_code == 0, undone.output
        assert sorted(world.following) == sorted(original)
        assert server.requests_to("com.atproto.repo.deleteRecord") == 4
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert PASSWORD.encode() not in path.read_bytes()
