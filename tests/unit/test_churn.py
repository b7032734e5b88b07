"""The follow-then-unfollow trick detector: hand-made snapshots with known answers, a simulated
history checked against its own truth, the outputs and the command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.data import frame
from pipeline.data.snapshots import EVENT_COLUMNS, UNKNOWN_COLUMNS, ChurnResult, detect

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def tables(fixtures) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = fixtures / "churn"
    snapshots = pd.read_csv(folder / "snapshots.csv", dtype=str)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str)
    return snapshots, accounts


@pytest.fixture(scope="module")
def result(tables) -> ChurnResult:
    snapshots, accounts = tables
    return detect(snapshots, accounts, allow_list=["@ALLOWED_PAL"])


def day(value) -> str | None:
    return None if pd.isna(value) else f"{value:%Y-%m-%d}"


def steps(events: pd.DataFrame, account_id: str) -> list[tuple]:
    rows = events[events["account_id"] == account_id]
    cols = ["followed_after", "followed_by", "followed_back_after", "followed_back_by",
            "unfollowed_after", "unfollowed_by"]
    return [tuple(day(row[c]) for c in cols) for _, row in rows.sort_values("episode").iterrows()]


# ---------------------------------------------------------------- hand-made snapshots

def test_tricksters_are_found_with_the_dates_the_snapshots_bracket(result):
    tricks = result.tricks
    assert sorted(tricks["account_id"].unique()) == ["1002", "1003", "1006", "1011", "1012",
                                                     "1013"]
    assert steps(tricks, "1002") == [
        ("2024-01-05", "2024-01-12", "2024-01-12", "2024-01-21", "2024-01-21", "2024-02-02")]
    # Followed back across the 59-day gap: the bracket says so rather than guessing.
    assert steps(tricks, "1011") == [
        ("2024-01-21", "2024-02-02", "2024-02-02", "2024-04-01", "2024-04-01", "2024-04-08")]
    row = tricks[tricks["account_id"] == "1011"].iloc[0]
    assert row["days_to_followback_min"] == 0 and row["days_to_followback_max"] == 70.6
    assert row["days_to_unfollow_min"] == 0 and row["days_to_unfollow_max"] == 66.0
    assert tricks.set_index("account_id").loc["1002", "handle"] == "quickflip"
    assert pd.isna(tricks.set_index("account_id").loc["1013", "handle"])  # no profile known


def test_a_repeat_offender_is_flagged_with_both_tricks(result):
    offender = result.tricks[result.tricks["account_id"] == "1003"]
    assert steps(offender, "1003") == [
        ("2024-01-05", "2024-01-12", "2024-01-12", "2024-01-21", "2024-01-21", "2024-02-02"),
        ("2024-04-01", "2024-04-08", "2024-04-08", "2024-04-19", "2024-04-19", "2024-05-03"),
    ]
    assert offender["repeat_offender"].all()
    assert not result.events.loc[result.events["account_id"] != "1003", "repeat_offender"].any()
    assert result.summary["repeat_offenders"] == 1


@pytest.mark.parametrize("account_id, why", [
    ("1004", "unfollowed, then followed again while still followed back"),
    ("1005", "never followed back"),
    ("1009", "the person followed first"),
    ("1010", "the person unfollowed first"),
    ("1014", "followed back and still following"),
    ("1001", "mutual since before the first snapshot, still following"),
])
def test_accounts_that_did_not_play_the_trick_are_not_flagged(result, account_id, why):
    assert account_id not in set(result.events["account_id"]), why
    counts = result.counts.set_index("account_id")
    assert counts.loc[account_id, "times_unfollowed_after_followback"] == 0


def test_a_follow_back_in_the_follows_interval_is_taken_as_the_answer_and_says_so(result):
    row = result.events.set_index("account_id").loc["1006"]
    assert row["status"] == "trick" and not row["order_seen"]
    assert "assumed" in row["note"]
    assert (row["followed_after"], row["followed_by"]) == (row["followed_back_after"],
                                                          row["followed_back_by"])
    assert result.events.set_index("account_id").loc["1002", "order_seen"]
    assumed = [u for u in result.unknowns if u.kind == "order_assumed"]
    assert len(assumed) == 1 and assumed[0].examples == ("1006",)


@pytest.mark.parametrize("account_id, reason", [
    ("1007", "followed back and unfollowed in the same interval"),
    ("1008", "already mutual in the first snapshots"),
])
def test_what_the_snapshots_cannot_order_is_possible_not_a_trick(result, account_id, reason):
    row = result.events.set_index("account_id").loc[account_id]
    assert row["status"] == "possible" and reason in row["note"]
    counts = result.counts.set_index("account_id").loc[account_id]
    assert counts["times_unfollowed_after_followback"] == 0 and counts["possible_tricks"] == 1
    assert any(u.kind == "possible_trick" and reason in u.detail for u in result.unknowns)


def test_counts_per_account(result):
    counts = result.counts.set_index("account_id")
    assert list(result.counts.columns[:3]) == [
        "account_id", "times_followed_back", "times_unfollowed_after_followback"]
    expected = {"1002": (1, 1), "1003": (2, 2), "1004": (1, 0), "1005": (0, 0), "1007": (1, 0),
                "1010": (1, 0), "1011": (1, 1), "1014": (1, 0), "2001": (0, 0)}
    for account_id, (back, tricks) in expected.items():
        assert tuple(counts.loc[account_id, ["times_followed_back",
                                             "times_unfollowed_after_followback"]]) \
            == (back, tricks), account_id
    assert str(counts["times_followed_back"].dtype) == "Int64"


def test_counts_feed_the_model_input_frame(result, tables):
    _, accounts = tables
    accounts = accounts.assign(followers_count="10")
    model_input = frame.account_frame(accounts, None, result.counts)
    rows = model_input.set_index("account_id")
    assert rows.loc["1003", "times_unfollowed_after_followback"] == 2
    assert rows.loc["1003", "times_followed_back"] == 2
    assert rows.loc["1005", "times_unfollowed_after_followback"] == 0
    # 1015 only ever appears in the following list: no follower history to count.
    assert pd.isna(rows.loc["1015", "times_unfollowed_after_followback"])


def test_unfollow_list_is_who_stopped_following_back_minus_the_allow_list(result):
    unfollow = result.unfollow.set_index("account_id")
    assert sorted(unfollow.index) == ["1002", "1003", "1006", "1007", "1008", "1009", "1011",
                                      "1013"]
    assert "1012" not in unfollow.index  # allow-listed as "@ALLOWED_PAL" (handle Allowed_Pal)
    assert "1015" not in unfollow.index  # never followed: not "no longer"
    assert "1004" not in unfollow.index  # followed again
    assert unfollow.index[0] == "1003" and unfollow.loc["1003", "repeat_offender"]
    assert day(unfollow.loc["1009", "unfollowed_after"]) == "2024-02-02"
    assert result.summary["allow_listed"] == 1 and result.summary["never_followed_back"] == 1


def test_allow_list_matches_account_ids_too(tables):
    snapshots, accounts = tables
    res = detect(snapshots, accounts, allow_list=["1013", "quickflip"])
    assert not {"1013", "1002"} & set(res.unfollow["account_id"])
    assert {"1013", "1002"} <= set(res.tricks["account_id"])  # still listed as tricksters


def test_gaps_and_earlier_follows_are_reported_as_unknowns(result):
    kinds = {u.kind: u for u in result.unknowns}
    assert "2024-02-02 and 2024-04-01 are 59 days apart" in kinds["gap"].detail
    assert kinds["followed_before_first"].n_accounts == 11
    frame_ = result.unknowns_frame()
    assert list(frame_.columns) == UNKNOWN_COLUMNS and len(frame_) == len(result.unknowns)


def test_api_pages_seconds_apart_are_one_snapshot(result, tables):
    assert result.summary["follower_snapshots"] == 8
    assert result.summary["following_snapshots"] == 8
    snapshots, accounts = tables
    # Moving every row to midnight of its day changes no verdict.
    flat = snapshots.assign(taken_at=snapshots["taken_at"].str[:10])
    again = detect(flat, accounts, allow_list=["@ALLOWED_PAL"])
    cols = ["account_id", "episode", "status"]
    assert again.events[cols].equals(result.events[cols])


def test_row_order_does_not_matter(tables, result):
    snapshots, accounts = tables
    shuffled = snapshots.sample(frac=1.0, random_state=3)
    again = detect(shuffled, accounts, allow_list=["@ALLOWED_PAL"])
    pd.testing.assert_frame_equal(again.events, result.events)
    pd.testing.assert_frame_equal(again.unfollow, result.unfollow)


def test_repeat_offender_threshold_is_a_parameter(tables):
    snapshots, accounts = tables
    res = detect(snapshots, accounts, repeat_offender=1)
    flagged = set(res.events.loc[res.events["repeat_offender"].fillna(False), "account_id"])
    assert flagged == {"1002", "1003", "1006", "1011", "1012", "1013"}


def test_without_following_snapshots_nothing_can_be_told(tables):
    snapshots, _ = tables
    res = detect(snapshots[snapshots["direction"] == "followers"])
    assert res.events.empty and res.unfollow.empty
    assert res.counts["times_unfollowed_after_followback"].isna().all()
    assert len(res.counts) == snapshots.loc[snapshots["direction"] == "followers",
                                            "account_id"].nunique()
    assert any(u.kind == "no_following_snapshots" for u in res.unknowns)


def test_a_single_snapshot_says_so():
    one = pd.DataFrame({"taken_at": ["2024-03-01T10:00Z"] * 3,
                        "direction": ["followers", "followers", "following"],
                        "account_id": ["1", "2", "1"]})
    res = detect(one)
    assert res.events.empty
    assert [u.kind for u in res.unknowns] == ["single_snapshot"]


def test_following_lists_taken_on_other_days_are_used_as_they_are():
    # Followers every week, the following list only every other week.
    rows = []
    for week in range(7):
        when = pd.Timestamp("2024-06-03T08:00Z") + week * 7 * DAY
        rows += [(when, "followers", "base")]
        if 1 <= week <= 5:
            rows += [(when, "followers", "t")]
        if week % 2 == 0:
            rows += [(when + 3 * DAY, "following", "base")]
            if week >= 4:
                rows += [(when + 3 * DAY, "following", "t")]
    res = detect(pd.DataFrame(rows, columns=["taken_at", "direction", "account_id"]))
    assert steps(res.tricks, "t") == [
        ("2024-06-03", "2024-06-10", "2024-06-20", "2024-07-04", "2024-07-08", "2024-07-15")]
    # Had the person's follow landed between 06-06 and 06-20, the order would be unknown.
    early = [r for r in rows if not (r[1] == "following" and r[2] == "t")]
    early += [(pd.Timestamp("2024-06-20T08:00Z") + w * DAY, "following", "t") for w in (0, 14)]
    res = detect(pd.DataFrame(early, columns=["taken_at", "direction", "account_id"]))
    assert res.tricks.empty and res.events["status"].tolist() == ["possible"]


def test_a_following_list_that_stops_early_is_an_unknown():
    rows = [(f"2024-0{m}-01", "followers", "a") for m in range(1, 8)]
    rows += [(f"2024-0{m}-01", "following", "a") for m in range(1, 3)]
    res = detect(pd.DataFrame(rows, columns=["taken_at", "direction", "account_id"]))
    assert any(u.kind == "following_ends_early" for u in res.unknowns)


# ---------------------------------------------------------------- a simulated history

def simulate(seed: int, n_accounts: int = 300, n_snapshots: int = 25):
    """Random histories of known kinds, observed through randomly timed snapshots."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    times = start + pd.to_timedelta(np.sort(rng.uniform(0, 365, n_snapshots)), unit="D")
    truth, intervals = {}, {"followers": {}, "following": {}}
    for i in range(n_accounts):
        kind = rng.choice(["trick", "repeat", "refollow", "never_back", "person_first",
                           "mutual"])
        t = np.sort(rng.uniform(-20, 380, 8))
        f, b, tricks = [], [], []
        # A trick: (follow, follow-back, unfollow), and the pairs of moments that must fall
        # in different intervals between snapshots for the snapshots to show it for certain.
        if kind == "trick":
            stays = rng.random() < 0.6
            f, b = [(t[0], t[2])], [(t[1], np.inf if stays else t[3])]
            tricks = [((t[0], t[1], t[2]), [(t[1], t[2])] + ([] if stays else [(t[2], t[3])]))]
        elif kind == "repeat":
            # The person unfollows after the first trick, and follows back again later.
            f, b = [(t[0], t[2]), (t[4], t[6])], [(t[1], t[3]), (t[5], np.inf)]
            tricks = [((t[0], t[1], t[2]), [(t[1], t[2]), (t[2], t[3]), (t[3], t[4])]),
                      ((t[4], t[5], t[6]), [(t[3], t[5]), (t[5], t[6])])]
        elif kind == "refollow":
            f, b = [(t[0], t[2]), (t[3], np.inf)], [(t[1], np.inf)]
        elif kind == "never_back":
            f = [(t[0], t[2])]
        elif kind == "person_first":
            f, b = [(t[1], t[2])], [(t[0], np.inf)]
        else:
            f, b = [(t[0], np.inf)], [(t[1], np.inf)]
        account = f"a{i}"
        truth[account] = (kind, tricks)
        intervals["followers"][account] = f
        intervals["following"][account] = b
    day_of = lambda x: start + pd.Timedelta(days=float(x))  # noqa: E731
    rows = []
    for direction, spans in intervals.items():
        for account, runs in spans.items():
            for a, z in runs:
                for when in times:
                    if day_of(a) <= when < (day_of(z) if np.isfinite(z) else times[-1] + DAY):
                        rows.append((when, direction, account))
    snapshots = pd.DataFrame(rows, columns=["taken_at", "direction", "account_id"])
    return snapshots, truth, times, day_of


def intervals_of(snapshots: pd.DataFrame, account: str, direction: str) -> tuple:
    """The snapshot interval in which ``account`` first appears in the ``direction`` list."""
    times = np.sort(snapshots.loc[snapshots["direction"] == direction, "taken_at"].unique())
    mine = snapshots[(snapshots["account_id"] == account)
                     & (snapshots["direction"] == direction)]["taken_at"].min()
    k = int(np.searchsorted(times, mine))
    return (times[k - 1] if k else None, times[k])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_tricks_are_found_and_nothing_else_is(seed):
    snapshots, truth, times, day_of = simulate(seed)
    res = detect(snapshots, repeat_offender=2)
    found = res.tricks.groupby("account_id")

    def slot(moment) -> int:
        return int(np.searchsorted(times, day_of(moment)))

    def separated(trick) -> bool:
        # Seen for certain: a snapshot before the follow and after the unfollow, and one
        # between the moments of each pair (the follow and the follow-back may share an
        # interval: the follow is then taken to come first).
        (follow, _, unfollow), apart = trick
        return slot(follow) > 0 and slot(unfollow) < len(times) and all(
            slot(a) != slot(b) for a, b in apart)

    for account, (kind, tricks) in truth.items():
        events = found.get_group(account) if account in found.groups else None
        if kind == "person_first" and events is not None:
            # The one mistake the assumption allows: the person's follow and the account's
            # answer in one interval read as the account following first, and say so.
            assert not events["order_seen"].any()
            follow, back = (intervals_of(snapshots, account, d) for d in ("followers",
                                                                          "following"))
            assert follow == back, (account, follow, back)
            continue
        if kind not in ("trick", "repeat"):
            assert events is None, (account, kind)
            continue
        seen = [trick for trick in tricks if separated(trick)]
        assert events is not None or not seen, (account, kind, tricks)
        if events is None:
            continue
        assert len(events) <= len(tricks)
        def within(row, step, moment) -> bool:
            return ((pd.isna(row[f"{step}_after"]) or row[f"{step}_after"] < day_of(moment))
                    and day_of(moment) <= row[f"{step}_by"])

        # Every step of a reported trick brackets a true step of that kind. When a whole
        # unfollow/re-follow cycle falls inside one interval the snapshots cannot see it, and
        # two true tricks read as one: the follow and follow-back of the first with the
        # unfollow of the second, which is all the snapshots can say.
        for _, row in events.iterrows():
            for position, step in enumerate(("followed", "followed_back", "unfollowed")):
                assert any(within(row, step, steps[position]) for steps, _ in tricks), \
                    (account, step, row.to_dict(), tricks)
        assert len(events) >= len(seen), (account, tricks)
        if kind == "repeat" and len(seen) == 2:
            assert events["repeat_offender"].all()


# ---------------------------------------------------------------- outputs and command

def test_cli_writes_both_csvs_and_lists_the_tricksters(tmp_path, tables):
    import yaml
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.data import io

    snapshots, accounts = tables
    data = tmp_path / "ingested"
    io.write_table(snapshots.assign(taken_at=pd.to_datetime(snapshots["taken_at"], utc=True)),
                   io.table_path(data, "snapshots"))
    io.write_table(accounts, io.table_path(data, "accounts"))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "user": {"handle": "maya.bakes", "allow_list": ["allowed_pal"]},
        "ingest": {"out_dir": str(data)},
        "churn": {"out": str(tmp_path / "churn.csv"),
                  "unfollow_out": str(tmp_path / "unfollow.csv")},
    }))
    run = CliRunner().invoke(app, ["churn", "--params", str(params)], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert "cyclebot" in run.output and "repeat" in run.output
    assert "59 days apart" in run.output
    events = pd.read_csv(tmp_path / "churn.csv", dtype={"account_id": str})
    assert list(events.columns) == EVENT_COLUMNS
    assert (events["status"] == "trick").sum() == 7
    assert events.loc[events["account_id"] == "1002", "unfollowed_by"].iloc[0].startswith(
        "2024-02-02T09:02")
    unfollow = pd.read_csv(tmp_path / "unfollow.csv", dtype={"account_id": str})
    assert "1012" not in set(unfollow["account_id"]) and len(unfollow) == 8


def test_cli_without_ingested_snapshots_is_a_readable_error(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from pipeline.cli import app

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"ingest": {"out_dir": str(tmp_path / "nothing")}}))
    run = CliRunner().invoke(app, ["churn", "--params", str(params)])
    assert run.exit_code == 2
    assert "followback ingest" in run.output


# ---------------------------------------------------------------- real export formats

def test_several_x_archives_through_the_importer(fixtures):
    from pipeline.core.config import Source
    from pipeline.data.ingest import load

    archives = sorted((fixtures / "churn" / "x_archives").iterdir())
    loaded = load([Source(path=a) for a in archives])
    snapshots = loaded.tables["snapshots"].frame
    assert snapshots["taken_at"].nunique() == 4 and not loaded.rejects
    res = detect(snapshots)
    assert steps(res.tricks, "987654321098765432") == [
        ("2024-02-01", "2024-03-02", "2024-03-02", "2024-04-01", "2024-04-01", "2024-05-03")]
    assert res.tricks["account_id"].tolist() == ["987654321098765432"]
    # Never followed back; followed by the person first; unfollowed and followed again.
    for account_id in ("1122334455", "1588833322211100000", "1300000000000000001"):
        assert account_id not in set(res.events.loc[res.events["status"] == "trick",
                                                    "account_id"])
    assert sorted(res.unfollow["account_id"]) == ["1588833322211100000", "987654321098765432"]


def test_several_instagram_exports_through_the_importer(fixtures):
    from pipeline.core.config import Source
    from pipeline.data.ingest import load

    frames = []
    for export in sorted((fixtures / "churn" / "instagram").iterdir()):
        # An Instagram export does not say when it was made: the person gives the date.
        taken_at = pd.Timestamp(export.name[-10:] + "T12:00", tz="UTC").to_pydatetime()
        loaded = load([Source(path=export)], taken_at=taken_at)
        assert not loaded.rejects
        frames.append(loaded.tables["snapshots"].frame)
    res = detect(pd.concat(frames, ignore_index=True))
    assert steps(res.tricks, "velojournal") == [
        ("2024-01-10", "2024-02-11", "2024-02-11", "2024-03-09", "2024-03-09", "2024-04-12")]
    assert res.tricks["account_id"].tolist() == ["velojournal"]
    assert res.unfollow["account_id"].tolist() == ["velojournal"]
    assert res.summary["never_followed_back"] == 1  # radweg.rike: followed, never followed back


# ---------------------------------------------------------------- the demo's planted truth

@pytest.fixture(scope="module", params=[(42, 2000), (7, 600)], ids=["seed42-2000", "seed7-600"])
def planted(request, tmp_path_factory):
    """A demo generated and ingested as `followback demo && followback ingest` would, its truth
    file, and what churn makes of its snapshots."""
    import json

    from pipeline import demo
    from pipeline.core.config import Config, Source
    from pipeline.data.ingest import ingest

    seed, n_followers = request.param
    root = tmp_path_factory.mktemp(f"demo{seed}")
    cfg = Config()
    cfg = cfg.model_copy(update={"demo": cfg.demo.model_copy(update={
        "out_dir": root / "raw", "truth_out": root / "truth.json",
        "n_followers": n_followers, "seed": seed})})
    demo.generate(cfg)
    tables = ingest([Source(path=root / "raw")], root / "ingested").tables
    snapshots, accounts = tables["snapshots"].frame, tables["accounts"].frame
    truth = json.loads((root / "truth.json").read_text())
    return snapshots, truth, detect(snapshots, accounts)


def test_the_demos_planted_tricksters_are_found_with_their_dates(planted):
    _, truth, res = planted
    cycles_of = {t["account_id"]: t["cycles"] for t in truth["tricksters"]}
    assert len(cycles_of) >= 3
    assert set(res.tricks["account_id"]) == set(cycles_of)
    for account_id, cycles in cycles_of.items():
        events = res.tricks[res.tricks["account_id"] == account_id].sort_values("episode")
        assert len(events) == len(cycles), account_id
        for cycle, (_, row) in zip(cycles, events.iterrows(), strict=True):
            for step, key in (("followed", "followed_at"), ("followed_back", "followed_back_at"),
                              ("unfollowed", "unfollowed_at")):
                when = pd.Timestamp(cycle[key])
                assert row[f"{step}_after"] < when <= row[f"{step}_by"], (account_id, step)


def test_the_demos_repeat_offenders_are_flagged(planted):
    _, truth, res = planted
    repeat = set(res.events.loc[res.events["repeat_offender"].fillna(False), "account_id"])
    assert repeat == set(truth["repeat_offenders"]) and repeat
    counts = res.counts.set_index("account_id")
    assert (counts.loc[sorted(repeat), "times_unfollowed_after_followback"] == 2).all()
    assert (counts.loc[sorted(repeat), "times_followed_back"] == 2).all()


def test_the_demos_refollowers_and_unrequited_unfollowers_are_not_flagged(planted):
    snapshots, truth, res = planted
    refollowers = {r["account_id"] for r in truth["refollowers"]}
    unrequited = set(truth["never_followed_back_unfollowers"])
    assert refollowers and unrequited
    assert not (refollowers | unrequited) & set(res.events["account_id"])
    counts = res.counts.set_index("account_id")["times_unfollowed_after_followback"]
    # (an unrequited follower who came and went between two snapshots is in no snapshot)
    assert (counts.reindex(sorted(refollowers | unrequited)).fillna(0) == 0).all()
    assert not (refollowers | unrequited) & set(res.unfollow["account_id"])


def test_the_demos_unfollow_list_is_the_tricksters_still_followed(planted):
    snapshots, truth, res = planted
    last = snapshots["taken_at"].max()
    now = snapshots[snapshots["taken_at"] == last]
    followed = set(now.loc[now["direction"] == "following", "account_id"])
    expected = {t["account_id"] for t in truth["tricksters"]
                if t["cycles"][-1]["persona_unfollowed_at"] is None} & followed
    assert expected and set(res.unfollow["account_id"]) >= expected
    assert set(res.unfollow["account_id"]) <= followed
