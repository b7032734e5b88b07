"""Issue 13 section 3: no single bad value or file stops a run, and none is lost unaccounted."""

from __future__ import annotations

import csv
import gzip
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.core.config import Source
from pipeline.data import io, schema
from pipeline.data.ingest import ingest, load
from pipeline.data.scores import read_scores, rejects_path
from pipeline.stages import score as scoring
from tests.unit.test_score import (
    fitted_toy_model,
    toy_config,
    toy_tables,
    write_inputs,
    write_params,
)

HEADER = "platform,account_id,handle,display_name,bio,followers_count,created_at,is_private"


def _accounts_csv(folder: Path, lines: list[str], name: str = "accounts.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _load(path: Path):
    return load([Source(path=path, format="generic")])


def _reasons(result) -> list[str]:
    return [r.reason for r in result.rejects]


# --------------------------------------------------------------------------- counts


def test_a_count_too_large_for_64_bits_is_one_rejected_row(tmp_path):
    path = _accounts_csv(tmp_path, [
        "demo,1,ok,,,10,,",
        "demo,2,huge,,,99999999999999999999999,,",
    ])
    out = tmp_path / "ingested"
    result = ingest([Source(path=path, format="generic")], out)
    assert result.tables["accounts"].accepted == 1
    assert _reasons(result) == ["followers_count: count out of range"]
    assert io.read_table(out, "accounts")["handle"].tolist() == ["ok"]


def test_score_rejects_an_overflowing_count_and_scores_the_rest(tmp_path):
    accounts, posts, _ = toy_tables(12)
    accounts.loc[3, "followers_count"] = 0
    folder = write_inputs(tmp_path / "in", accounts.astype({"followers_count": object}), posts)
    text = (folder / "accounts.csv").read_text().splitlines()
    cells = text[4].split(",")
    cells[list(accounts.columns).index("followers_count")] = "99999999999999999999999"
    text[4] = ",".join(cells)
    (folder / "accounts.csv").write_text("\n".join(text) + "\n")
    summary = scoring.score(toy_config(tmp_path), tmp_path / "scores.csv",
                            [Source(path=folder, format="auto")], model=fitted_toy_model(),
                            model_id="toy")
    assert summary.scored == 11 and summary.rejected == 1
    rejects = pd.read_csv(rejects_path(tmp_path / "scores.csv"))
    assert "count out of range" in rejects["reason"].iloc[0]


# --------------------------------------------------------------------------- files


def test_a_corrupt_parquet_file_is_rejected_alone(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    good = schema.to_frame("accounts", [{"platform": "demo", "account_id": "1", "handle": "a"}])
    good.to_parquet(folder / "accounts.parquet", index=False)
    whole = (folder / "accounts.parquet").read_bytes()
    (folder / "accounts_2.parquet").write_bytes(whole[: len(whole) // 2])  # half downloaded
    _accounts_csv(folder, ["demo,2,b,,,,,"], name="accounts_extra.csv")
    result = load([Source(path=folder, format="auto")])
    assert sorted(result.tables["accounts"].frame["handle"]) == ["a", "b"]
    [reject] = result.rejects
    assert reject.source.endswith("accounts_2.parquet")
    assert reject.reason.startswith("unreadable Parquet file")


@pytest.mark.parametrize("opener, kind", [(gzip.open, "compressed (gzip)"),
                                          (open, "binary")])
def test_a_compressed_or_binary_file_says_so_instead_of_junk_rejects(tmp_path, opener, kind):
    path = tmp_path / "accounts.csv"
    with opener(path, "wb") as fh:
        fh.write(b"\x00\x01\x02" * 300 if kind == "binary" else (HEADER + "\n").encode() * 50)
    from pipeline.core.console import FollowbackError

    with pytest.raises(FollowbackError, match=f"looks {kind.split(' ')[0]}"):
        _load(path)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.replace(path, folder / "accounts.csv")
    result = load([Source(path=folder, format="auto")])
    assert result.rejects == [] and result.skipped == [(str(folder / "accounts.csv"),
                                                        f"looks {kind}")]


def test_score_exits_non_zero_when_it_scored_nothing(tmp_path, monkeypatch):
    from pipeline.cli import app

    cfg = toy_config(tmp_path)
    params = write_params(cfg, tmp_path / "params.yaml")
    monkeypatch.setattr(scoring, "load_scoring_model",
                        lambda cfg, uri=None: (fitted_toy_model(), "toy"))
    empty = _accounts_csv(tmp_path / "empty", [])
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(empty), "--params", str(params)])
    assert result.exit_code == 1, result.output
    assert "nothing was scored" in result.output and "no accounts" in result.output
    packed = tmp_path / "packed" / "accounts.csv"
    packed.parent.mkdir()
    with gzip.open(packed, "wb") as fh:
        fh.write((HEADER + "\n").encode())
    result = runner.invoke(app, ["score", str(packed), "--params", str(params)])
    assert result.exit_code == 2
    assert "looks compressed (gzip)" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- text


AWKWARD = ["line\rbreak", "two\nlines", 'say "hi", ok', "tab\there", "crlf\r\nend"]


def _csv_records(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_every_csv_writer_quotes_carriage_returns_newlines_and_quotes(tmp_path):
    frame = pd.DataFrame({"text": AWKWARD, "n": range(len(AWKWARD))})
    io.write_table(frame, tmp_path / "t.csv")
    rows = _csv_records(tmp_path / "t.csv")
    assert [r[0] for r in rows[1:]] == AWKWARD
    io.write_rejects([schema.Reject("s", f"line {i}", "accounts", "why", t)
                      for i, t in enumerate(AWKWARD)], tmp_path / "rejects.csv")
    assert [r[4] for r in _csv_records(tmp_path / "rejects.csv")[1:]] == AWKWARD


def test_scores_file_with_carriage_returns_in_bios_reads_back_whole(tmp_path):
    accounts, posts, _ = toy_tables(10)
    accounts["bio"] = [AWKWARD[i % len(AWKWARD)] + f" {i}" for i in range(10)]
    accounts["display_name"] = [f"Name\r{i}" for i in range(10)]
    folder = tmp_path / "in"
    folder.mkdir()
    accounts.to_json(folder / "accounts.jsonl", orient="records", lines=True)
    posts.to_json(folder / "posts.jsonl", orient="records", lines=True)
    out = tmp_path / "scores.csv"
    bad = tmp_path / "in_bad"
    bad.mkdir()
    (bad / "accounts.jsonl").write_text('{"platform": "demo", "handle": "no id\\rhere"}\n')
    scoring.score(toy_config(tmp_path), out, [Source(path=folder, format="auto"),
                                              Source(path=bad, format="auto")],
                  model=fitted_toy_model(), model_id="toy")
    rows = _csv_records(out)
    assert len(rows) == 11
    back = read_scores(out)
    assert back["bio"].tolist() == accounts["bio"].tolist()
    assert back["display_name"].tolist() == accounts["display_name"].tolist()
    rejects = _csv_records(rejects_path(out))
    assert len(rejects) == 2 and "no id\\rhere" in rejects[1][4]


def test_nul_bytes_are_removed_from_text(tmp_path):
    path = tmp_path / "accounts.jsonl"
    path.write_text(json.dumps({"platform": "demo", "account_id": "1", "handle": "a\x00b",
                                "bio": "nul\x00 inside", "display_name": "\x00"}) + "\n")
    frame = _load(path).tables["accounts"].frame
    assert frame.loc[0, "handle"] == "ab" and frame.loc[0, "bio"] == "nul inside"
    assert pd.isna(frame.loc[0, "display_name"])


def test_a_huge_bio_is_one_rule_for_csv_and_json_and_the_reject_keeps_the_row(tmp_path):
    bio = "x" * 1_000_000
    csv_path = _accounts_csv(tmp_path / "csv", [f"demo,1,big,,{bio},,,", "demo,2,ok,,hi,,,"])
    json_path = tmp_path / "json" / "accounts.jsonl"
    json_path.parent.mkdir()
    json_path.write_text("\n".join(json.dumps({"platform": "demo", "account_id": a,
                                               "handle": h, "bio": b})
                                   for a, h, b in [("1", "big", bio), ("2", "ok", "hi")]) + "\n")
    for path in (csv_path, json_path):
        result = _load(path)
        assert result.tables["accounts"].frame["handle"].tolist() == ["ok"], path
        [reject] = result.rejects
        assert reject.reason == "bio: longer than 100,000 characters (1,000,000)", path
        assert '"handle": "big"' in reject.raw or "big" in reject.raw
        assert reject.raw.endswith("characters in all]") and len(reject.raw) < 2100


# --------------------------------------------------------------------------- values


def test_booleans_written_as_one_point_zero_are_accepted(tmp_path):
    path = _accounts_csv(tmp_path, ["demo,1,a,,,,,1.0", "demo,2,b,,,,,0.0", "demo,3,c,,,,,"])
    frame = _load(path).tables["accounts"].frame
    assert frame["is_private"].tolist()[:2] == [True, False] and pd.isna(frame["is_private"][2])


def test_epoch_dates_are_read_alike_in_csv_and_json_and_never_guessed(tmp_path):
    values = {"s": 1183552203, "ms": 1183552203000, "ambiguous": 253402300800}
    lines = [f"demo,{k},{k},,,,{v}," for k, v in values.items()]
    csv_result = _load(_accounts_csv(tmp_path / "c", lines))
    json_path = tmp_path / "j" / "accounts.jsonl"
    json_path.parent.mkdir()
    json_path.write_text("\n".join(json.dumps({"platform": "demo", "account_id": k,
                                               "handle": k, "created_at": v})
                                   for k, v in values.items()) + "\n")
    json_result = _load(json_path)
    for result in (csv_result, json_result):
        frame = result.tables["accounts"].frame.set_index("handle")
        assert str(frame.loc["s", "created_at"]) == "2007-07-04 12:30:03+00:00"
        assert str(frame.loc["ms", "created_at"]) == "2007-07-04 12:30:03+00:00"
        [reject] = result.rejects
        assert "253402300800" in reject.reason and "neither seconds" in reject.reason


def test_a_creation_date_in_the_future_is_a_reject(tmp_path):
    path = _accounts_csv(tmp_path, ["demo,1,a,,,,2999-01-01T00:00:00Z,",
                                    "demo,2,b,,,,2020-01-01T00:00:00Z,"])
    result = _load(path)
    assert result.tables["accounts"].frame["handle"].tolist() == ["b"]
    assert _reasons(result) == ["created_at: in the future (2999-01-01)"]


# --------------------------------------------------------------------------- terminal


def test_an_unexpected_error_goes_to_the_log_not_the_terminal(tmp_path, monkeypatch):
    from pipeline import cli

    log = tmp_path / "error.log"
    monkeypatch.setattr(cli, "LOG_FILE", log)

    def boom(*args, **kwargs):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr("pipeline.data.ingest.ingest", boom)
    src = _accounts_csv(tmp_path / "in", ["demo,1,a,,,,,"])
    runner = CliRunner()
    result = runner.invoke(cli.app, ["ingest", str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "something nobody foresaw" in result.output and str(log) in result.output
    assert "--debug" in result.output
    assert "Traceback" in log.read_text() and "boom" in log.read_text()
    debug = runner.invoke(cli.app, ["--debug", "ingest", str(src), "--out",
                                    str(tmp_path / "o")])
    assert isinstance(debug.exception, RuntimeError)
    cli._debug["on"] = False


# --------------------------------------------------------------------------- no own posts


def test_no_own_posts_makes_relevance_missing_and_the_reason_says_so(monkeypatch):
    from pipeline.features.topic import FEATURES, NOTHING_TO_COMPARE, TopicSimilarity
    from pipeline.model.reasons import evidence_sentences
    from tests.unit.test_batch_independence import HashEmbedder

    monkeypatch.setattr(TopicSimilarity, "_embedder", lambda self: HashEmbedder())
    posts = pd.Series([[{"text": "fresh rye", "kind": "post"}], []], name="posts")
    topic = TopicSimilarity(own_posts=["", None], show_progress=False).fit(posts)
    out = pd.DataFrame(topic.transform(posts), columns=FEATURES)
    assert out["topic_no_own_posts"].tolist() == [1.0, 1.0]
    assert out[["topic_centroid_cos", "topic_max_cluster_cos"]].eq(0).all().all()
    assert out["topic_no_posts"].tolist() == [0.0, 1.0]
    assert evidence_sentences("topic", topic.evidence(posts)) == [NOTHING_TO_COMPARE] * 2


# --------------------------------------------------------------------------- shared handles


def test_a_handle_shared_by_two_accounts_asks_which(tmp_path):
    from pipeline.core.console import FollowbackError
    from pipeline.data.frame import find_account
    from pipeline.stages.decide import resolve

    accounts = pd.DataFrame({"account_id": ["m1", "b1", "x"], "handle": ["maya", "@Maya", "z"],
                             "platform": ["mastodon", "bluesky", "mastodon"]})
    with pytest.raises(FollowbackError, match="2 accounts have the handle") as err:
        find_account(accounts, "@maya")
    assert "m1 on mastodon" in str(err.value) and "b1 on bluesky" in str(err.value)
    assert find_account(accounts, "b1")["platform"] == "bluesky"  # the id says which

    cfg = toy_config(tmp_path)
    cfg.ingest.out_dir.mkdir(parents=True)
    schema.to_frame("accounts", accounts.to_dict("records")).to_parquet(
        io.table_path(cfg.ingest.out_dir, "accounts"))
    with pytest.raises(FollowbackError, match="give the account id"):
        resolve(cfg, "maya")
    assert resolve(cfg, "m1") == ("m1", "maya")


def test_the_report_command_quotes_the_handle_for_the_shell():
    import shlex

    from pipeline.stages.report import account_rows

    scores = pd.DataFrame({
        "account_id": ["1", "2", "3"], "handle": ["o'brien;rm -rf ~", "twin", "Twin"],
        "display_name": ["a", "b", "c"], "bio": ["", "", ""], "probability": [0.5, 0.4, 0.6],
        "threshold": 0.5, "verdict": "review", "override": "",
        **{f"reason_{k}": "" for k in (1, 2, 3)},
        **{f"contrib_{c}": 0.0 for c in ("bot", "language", "bio", "ratio", "toxicity",
                                         "topic")}})
    rows = {r["account_id"]: r["decide_arg"] for r in account_rows(
        scores, pd.DataFrame({"account_id": [], "follow_back": []}), 10)}
    assert shlex.split(f"followback decide {rows['1']} --follow")[2] == "@o'brien;rm -rf ~"
    assert rows["2"] == "2" and rows["3"] == "3"  # shared handle: the account id


# --------------------------------------------------------------------------- encodings, quotes


def test_a_cp1252_export_is_decoded_as_such_and_the_summary_says_so(tmp_path):
    bio = "Café in München – “Brot” für alle – ½ Preis"
    path = tmp_path / "accounts.csv"
    path.write_bytes(f"{HEADER}\ndemo,1,a,,{bio},,,\n".encode("cp1252"))
    result = _load(path)
    assert result.tables["accounts"].frame.loc[0, "bio"] == bio
    assert result.files[0].encoding == "cp1252"
    utf8 = tmp_path / "u" / "accounts.csv"
    utf8.parent.mkdir()
    utf8.write_text(f"{HEADER}\ndemo,1,a,,{bio},,,\n", encoding="utf-8")
    assert _load(utf8).files[0].encoding is None


def test_an_unclosed_quote_does_not_swallow_the_records_after_it(tmp_path):
    path = _accounts_csv(tmp_path, ['demo,1,a,,"unclosed bio,,,', "demo,2,b,,fine,,,",
                                    "demo,3,c,,also fine,,,",
                                    'demo,4,d,,"two\nlines",,,'])
    result = _load(path)
    table = result.tables["accounts"]
    assert table.frame["handle"].tolist() == ["b", "c"]
    # Every physical line is accounted for: the unclosed one, b and c, and the two lines of
    # d's quoted bio, which the stray quote left unreadable, each a reject with its line.
    assert (table.read, table.accepted, len(table.rejects)) == (5, 2, 3)
    assert [r.location for r in result.rejects] == ["line 2", "line 5", "line 6"]
    assert result.rejects[0].location == "line 2"
    assert result.rejects[0].reason.startswith("unclosed quote")


def test_a_quoted_bio_over_two_lines_is_no_unclosed_quote(tmp_path):
    path = _accounts_csv(tmp_path, ['demo,1,a,,"Baker\nBerlin",,,', "demo,2,b,,fine,,,"])
    frame = _load(path).tables["accounts"].frame
    assert frame["bio"].tolist() == ["Baker\nBerlin", "fine"]


def test_the_botometer_bot_repository_layout_is_read(tmp_path):
    user = {"id": 123, "id_str": "123", "screen_name": "botty", "name": "B",
            "description": "news 24/7", "followers_count": 5, "friends_count": 900,
            "statuses_count": 10_000, "created_at": "Mon Jan 04 10:00:00 +0000 2016"}
    path = tmp_path / "botwiki-2019.json"
    path.write_text(json.dumps([
        {"created_at": "Tue Mar 05 21:08:40 +0000 2019", "user": user},
        {"created_at": "Wed Mar 06 21:08:40 +0000 2019",
         "user": {**user, "id_str": "124", "id": 124, "screen_name": "other"}},
    ]))
    result = load([Source(path=path, format="auto")])
    assert result.rejects == []
    frame = result.tables["accounts"].frame
    assert frame["handle"].tolist() == ["botty", "other"]
    assert str(frame.loc[0, "created_at"]) == "2016-01-04 10:00:00+00:00"
    assert frame.loc[0, "following_count"] == 900


# --------------------------------------------------------------------------- profile metadata


def test_profile_metadata_columns_bad_values_are_rejects_and_old_files_still_read(tmp_path):
    """The optional account columns of issue 25: bad values are one reject each, with the
    column named; a file written before them (no such columns) reads with nulls."""
    header = "platform,account_id,handle,is_local,fields_count,verified_links_count,is_group"
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([
        header,
        "mastodon,1,ana,true,3,1,false",
        "mastodon,2,bo,maybe,,,",
        "mastodon,3,cy,,-1,,",
        "mastodon,4,di,,2,1.5,",
        "mastodon,5,ed,0,,,1.0",
    ]) + "\n", encoding="utf-8")
    result = _load(path)
    assert result.tables["accounts"].accepted == 2
    reasons = _reasons(result)
    assert len(reasons) == 3
    assert reasons[0] == "is_local: not a boolean: 'maybe'"
    assert reasons[1].startswith("fields_count: Input should be greater than or equal to 0")
    assert reasons[2].startswith("verified_links_count:")
    accounts = result.tables["accounts"].frame.set_index("account_id")
    assert accounts.loc["1", "fields_count"] == 3 and accounts.loc["5", "is_group"]
    assert not accounts.loc["5", "is_local"] and pd.isna(accounts.loc["5", "fields_count"])
    # A contract file from before the columns: all of them null, nothing rejected.
    old = _accounts_csv(tmp_path / "old", ["demo,1,ok,,,10,,"])
    result = _load(old)
    assert not result.rejects
    row = result.tables["accounts"].frame.iloc[0]
    for column in ("is_local", "is_discoverable", "is_indexable", "is_group",
                   "has_default_header", "fields_count", "verified_links_count"):
        assert pd.isna(row[column]), column
    assert schema.dtypes("accounts")["fields_count"] == "Int64"
    assert schema.dtypes("accounts")["has_default_header"] == "boolean"
