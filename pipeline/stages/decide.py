"""Record the person's own follow-back decisions: the labels the next ``dvc repro`` trains on.

Decisions go to ``report.decisions_out`` (``data/decisions/decisions.csv``), a file in the
contract's own ``decisions`` columns (plus the account's ``handle`` for the reader; ingest
keeps it aside as an extra). The folder is a generic-format source in ``ingest.sources``,
listed after the platform exports, so ``followback ingest`` reads it last and a decision made
here replaces an older one for the same account. One row per account: deciding again
changes the row. Each write validates the row against the contract, happens under a lock
(``decide`` and ``review`` may run at once) and replaces the file atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data import io, schema

COLUMNS = [*schema.columns("decisions"), "handle"]


def lock_path(path: Path) -> Path:
    """The lock of a decisions file: in the system's temporary folder, named by the file's
    absolute path. Not beside the file: the decisions folder is a DVC dependency, and a lock
    file left in it (filelock keeps the file) would change its hash and make `dvc repro`
    retrain on nothing new."""
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"followback-decisions-{key}.lock"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the decisions file's lock (see :func:`lock_path`)."""
    from filelock import FileLock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(path)), timeout=30):
        yield


def read_decisions(path: Path) -> pd.DataFrame:
    """The decisions file as written (text columns), or an empty frame; duplicates collapsed."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS, dtype="string")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).reindex(columns=COLUMNS)
    frame = frame.fillna("").astype("string")
    return frame.drop_duplicates("account_id", keep="last").reset_index(drop=True)


@dataclass
class Recorded:
    account_id: str
    handle: str | None
    follow_back: bool
    previous: bool | None  # the earlier decision in this file, if any
    path: Path


def record(path: Path, account_id: str, follow_back: bool, note: str | None = None,
           handle: str | None = None, decided_at: datetime | None = None) -> Recorded:
    """Validate one decision and write it: replaces this account's row, else appends."""
    when = (decided_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    try:
        row = schema.Decision.model_validate({"account_id": account_id,
                                              "follow_back": follow_back,
                                              "decided_at": when, "note": note})
    except ValidationError as exc:
        raise FollowbackError(f"not a valid decision: {schema.describe(exc)}") from exc
    path = Path(path)
    with locked(path):
        frame = read_decisions(path)
        hit = frame["account_id"] == row.account_id
        previous = None
        if hit.any():
            previous = str(frame.loc[hit, "follow_back"].iloc[-1]).strip().lower() == "true"
            frame = frame[~hit]
        new = pd.DataFrame([{
            "account_id": row.account_id,
            "follow_back": "true" if row.follow_back else "false",
            "decided_at": row.decided_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "note": row.note or "",
            # A stranger's handle: neutralised like every CSV cell a spreadsheet might run.
            "handle": _neutral(handle),
        }], dtype="string")
        io.write_table(pd.concat([frame, new], ignore_index=True)[COLUMNS], path)
    return Recorded(row.account_id, handle, row.follow_back, previous, path)


def forget(path: Path, account_id: str) -> bool:
    """Remove this account's decision from the file (undoing one); whether there was one."""
    path = Path(path)
    with locked(path):
        frame = read_decisions(path)
        hit = frame["account_id"] == str(account_id)
        if hit.any():
            io.write_table(frame[~hit][COLUMNS], path)
    return bool(hit.any())


def _neutral(text: str | None) -> str:
    from pipeline.data.scores import neutralise

    return "" if text is None else neutralise(str(text))


def known_decisions(cfg: Config) -> pd.DataFrame:
    """Every decision so far: the ingested ones, overridden by the decisions file (newer).

    Columns ``account_id`` and ``follow_back`` (bool), one row per account.
    """
    frames = []
    ingested = io.table_path(cfg.ingest.out_dir, "decisions")
    if ingested.is_file():
        table = io.read_table(cfg.ingest.out_dir, "decisions")
        frames.append(pd.DataFrame({"account_id": table["account_id"].astype(str),
                                    "follow_back": table["follow_back"].astype(bool)}))
    manual = read_decisions(cfg.report.decisions_out)
    if len(manual):
        frames.append(pd.DataFrame({
            "account_id": manual["account_id"].astype(str),
            "follow_back": manual["follow_back"].str.strip().str.lower().isin(
                ["true", "1", "yes", "t", "y"]).astype(bool)}))
    if not frames:
        return pd.DataFrame({"account_id": pd.Series(dtype=str),
                             "follow_back": pd.Series(dtype=bool)})
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("account_id", keep="last").reset_index(drop=True)


def resolve(cfg: Config, who: str) -> tuple[str, str | None]:
    """(account id, handle) of ``who`` (handle, ``@handle`` or account id).

    Looks in the ingested accounts, then in the scores file; an account in neither cannot be
    trained on, so it is an error.
    """
    from pipeline.data.frame import find_account
    from pipeline.data.scores import read_scores

    places = []
    accounts_path = io.table_path(cfg.ingest.out_dir, "accounts")
    if accounts_path.is_file():
        places.append(pd.read_parquet(accounts_path,
                                      columns=["account_id", "handle", "platform"]))
    if Path(cfg.score.out).is_file():
        places.append(read_scores(cfg.score.out)[["account_id", "handle"]])
    if not places:
        raise FollowbackError(
            f"no accounts to decide on: neither {accounts_path} nor {cfg.score.out} exists; "
            "run `followback ingest` (and `followback score`) first")
    for accounts in places:
        try:
            row = find_account(accounts, who)
        except FollowbackError as exc:
            if "give the account id" in str(exc):
                raise  # a shared handle: ask which account, do not fall through
            continue
        return str(row["account_id"]), (None if pd.isna(row["handle"]) else str(row["handle"]))
    raise FollowbackError(f"no account {who!r} (handle or account id) in {accounts_path}"
                          + (f" or {cfg.score.out}" if Path(cfg.score.out).is_file() else ""))


def describe(rec: Recorded) -> str:
    said = "follow back" if rec.follow_back else "skip"
    was = ""
    if rec.previous is not None:
        was = (" (unchanged)" if rec.previous == rec.follow_back else
               f" (was: {'follow back' if rec.previous else 'skip'})")
    who = f"@{rec.handle}" if rec.handle else rec.account_id
    return f"{who}: {said}{was}"


def cli(
    handle: Annotated[str, typer.Argument(
        help="The account: handle (with or without @) or account id.")],
    follow: Annotated[bool, typer.Option(
        "--follow/--skip", help="Your decision: follow back, or skip.", show_default=False)],
    note: Annotated[str | None, typer.Option(help="Why, in your words (optional).")] = None,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Record your decision on one account; the next `dvc repro` retrains on it.

    Writes report.decisions_out (one row per account: deciding again replaces the row).
    """
    from pipeline.model.reasons import ALLOW, NEVER, Overrides

    cfg = load_config(params)
    account_id, found_handle = resolve(cfg, handle)
    rec = record(cfg.report.decisions_out, account_id, follow, note=note, handle=found_handle)
    console.print(f"recorded {describe(rec)} in {rec.path}", highlight=False, markup=False)
    override = Overrides.from_user(cfg.user).of(found_handle, account_id)
    if override == NEVER and follow or override == ALLOW and not follow:
        console.print(f"note: this account is on your {override} (user.*_list in params.yaml), "
                      "which still decides its verdict over the model", highlight=False,
                      markup=False)
    console.print("run `dvc repro` to retrain on your decisions", highlight=False)
