"""The data contract: the five tables every importer writes and every later stage reads.

Each table is a pydantic model (one row) plus the pandas dtypes its Parquet file carries.
``validate_records`` is the single place where raw records become contract rows: a record that
does not fit becomes a :class:`Reject` with its source, line or record number and the reason,
and fields the contract does not know are kept aside rather than dropped.

A field a platform does not have stays null; nothing here invents a value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    NonNegativeInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

TABLES = ("accounts", "posts", "own_posts", "decisions", "snapshots")
POST_KINDS = ("post", "repost", "reply", "like")


# The longest text a field may hold, whatever the format it came in (CSV, JSON, Parquet).
TEXT_LIMIT = 100_000
# Counts are stored as 64-bit integers.
COUNT_LIMIT = 2**63 - 1


def _blank_to_none(value: Any) -> Any:
    """Empty cells, NaN and pandas NA mean "not given"; NUL characters are removed from text."""
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:
        value = value.replace("\x00", "")
    if isinstance(value, str) and value.strip() == "":
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _to_utc(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"unparseable date {text!r}") from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"epoch number {value!r} is neither seconds (up to 10 digits) nor "
                         "milliseconds (13 digits) since 1970")
    raise ValueError(f"unparseable date {value!r}")


def _to_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    # "1.0" / "0.0": what pandas writes for a boolean column with gaps.
    if text in {"1", "1.0", "true", "t", "yes", "y"}:
        return True
    if text in {"0", "0.0", "false", "f", "no", "n"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _to_count(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return value
            if not number.is_integer():
                return text
            value = int(number)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > COUNT_LIMIT:
        raise ValueError("count out of range")
    return value


def _limit_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_LIMIT:
        raise ValueError(f"longer than {TEXT_LIMIT:,} characters ({len(value):,})")
    return value


def _to_text(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


Text = Annotated[str | None, BeforeValidator(_limit_text), BeforeValidator(_blank_to_none)]
Id = Annotated[
    str, BeforeValidator(_to_text), StringConstraints(strip_whitespace=True, min_length=1)
]
Count = Annotated[NonNegativeInt | None, BeforeValidator(_to_count)]
Flag = Annotated[bool | None, BeforeValidator(_to_bool)]
Timestamp = Annotated[datetime | None, BeforeValidator(_to_utc)]
RequiredTimestamp = Annotated[datetime, BeforeValidator(_to_utc)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)


class Account(_Row):
    """One account that follows (or is followed by) the person."""

    platform: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]
    account_id: Id
    handle: Annotated[str, BeforeValidator(_to_text), StringConstraints(min_length=1)]
    display_name: Text = None
    bio: Text = None
    followers_count: Count = None
    following_count: Count = None
    posts_count: Count = None
    likes_count: Count = None
    listed_count: Count = None
    created_at: Timestamp = None
    last_post_at: Timestamp = None
    is_private: Flag = None
    is_verified: Flag = None
    is_bot_flagged: Flag = None
    has_default_avatar: Flag = None
    url: Text = None
    location: Text = None
    # What a profile says about itself beyond the bio (issue 25); null where the platform or
    # the export has no such thing, never guessed. See docs/results/real-taste.md.
    is_local: Flag = None              # on the person's own server (Mastodon: no @domain)
    is_discoverable: Flag = None       # listed in the server's directory (Mastodon)
    is_indexable: Flag = None          # lets its public posts be found by search (Mastodon)
    is_group: Flag = None              # a group account: boosts its members (Mastodon)
    has_default_header: Flag = None    # no header image / banner of its own
    fields_count: Count = None         # profile metadata fields (Mastodon "fields")
    verified_links_count: Count = None  # links the platform checked the account controls

    @field_validator("created_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None) -> datetime | None:
        # A day of slack for clocks; an account cannot be created after it was exported.
        if value is not None and value > datetime.now(UTC) + timedelta(days=1):
            raise ValueError(f"in the future ({value:%Y-%m-%d})")
        return value


class Post(_Row):
    """Something an account posted, reposted, replied or liked."""

    account_id: Id
    post_id: Id
    created_at: Timestamp = None
    text: Annotated[str, BeforeValidator(_limit_text),
                    BeforeValidator(lambda v: _blank_to_none(v) or "")] = ""
    kind: Literal["post", "repost", "reply", "like"] = "post"
    # The platform's own language tag (Mastodon ``language``, Bluesky ``langs``): a BCP 47
    # code such as "de" or "en-US", set by the author's client; None where not given.
    language: Text = None


class OwnPost(_Row):
    """One of the person's own posts."""

    post_id: Id
    created_at: Timestamp = None
    text: Annotated[str, BeforeValidator(_blank_to_none), StringConstraints(min_length=1)]


class Decision(_Row):
    """The person's own follow-back decision on one account: the training label."""

    account_id: Id
    follow_back: Annotated[bool, BeforeValidator(_to_bool)]
    decided_at: Timestamp = None
    note: Text = None


class Snapshot(_Row):
    """One account seen in the person's follower or following list at one moment."""

    taken_at: RequiredTimestamp
    direction: Literal["followers", "following"]
    account_id: Id
    # The account's place in the list as the platform gave it, 0 = the most recent follow
    # (Mastodon and Bluesky list newest first); null where the source has no order.
    list_position: Count = None
    # When the follow was made, where the platform says (Bluesky's follow record key, a TID,
    # when logged in; an export's follow time); null elsewhere (Mastodon's lists give none).
    followed_at: Timestamp = None

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


MODELS: dict[str, type[_Row]] = {
    "accounts": Account,
    "posts": Post,
    "own_posts": OwnPost,
    "decisions": Decision,
    "snapshots": Snapshot,
}

# The primary key of each table: duplicates on it keep the most recent record.
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "posts": ("account_id", "post_id"),
    "own_posts": ("post_id",),
    "decisions": ("account_id",),
    "snapshots": ("taken_at", "direction", "account_id"),
}

# --------------------------------------------------------------------------- cells


def is_missing(value: Any) -> bool:
    """None, pandas NA or a float NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def post_list(value: Any) -> list[dict]:
    """One ``posts`` cell as a list of dicts (missing -> empty; JSON text is parsed)."""
    if value is None or (not isinstance(value, list | tuple | np.ndarray) and is_missing(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [dict(p) for p in value if isinstance(p, dict)]


def columns(table: str) -> list[str]:
    """The contract's column names of ``table``, in order."""
    return list(MODELS[table].model_fields)


def dtypes(table: str) -> dict[str, str]:
    """The pandas dtype of every column of ``table``."""
    out = {}
    for name in MODELS[table].model_fields:
        if name in ("created_at", "last_post_at", "decided_at", "taken_at", "followed_at"):
            out[name] = "datetime64[us, UTC]"
        elif name.endswith("_count") or name == "list_position":
            out[name] = "Int64"
        elif name.startswith(("is_", "has_")) or name == "follow_back":
            out[name] = "boolean"
        else:
            out[name] = "string"
    return out


def empty_frame(table: str) -> pd.DataFrame:
    """A table with the contract's columns and dtypes and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes(table).items()})


def to_frame(table: str, rows: Iterable[BaseModel | dict]) -> pd.DataFrame:
    """Contract rows as a DataFrame with the contract's dtypes."""
    data = [r.model_dump() if isinstance(r, BaseModel) else r for r in rows]
    if not data:
        return empty_frame(table)
    frame = pd.DataFrame(data, columns=columns(table))
    return conform(table, frame)


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast an already valid frame to the contract's dtypes and column order."""
    out = frame.reindex(columns=columns(table)).copy()
    for col, dtype in dtypes(table).items():
        if dtype.startswith("datetime"):
            out[col] = pd.to_datetime(out[col], utc=True, format="ISO8601").astype(dtype)
        else:
            out[col] = out[col].astype(dtype)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Record:
    """A raw record on its way into the contract, with where it came from."""

    table: str
    source: str
    location: str  # "line 12", "record 3", "row 7"
    data: dict[str, Any]
    # When the record was observed (e.g. ``crawled_at``): decides which duplicate is most recent.
    observed_at: datetime | None = None
    # Fields outside the contract, kept aside rather than lost.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    """A record that could not be used, and why."""

    source: str
    location: str
    table: str
    reason: str
    raw: str

    @staticmethod
    def of(record: Record, reason: str) -> Reject:
        raw = json.dumps({**record.data, **record.extra}, default=str, ensure_ascii=False)
        return Reject(record.source, record.location, record.table, reason, truncate_raw(raw))


RAW_LIMIT = 2000  # characters of a bad record kept in the rejects file


def truncate_raw(raw: str, limit: int = RAW_LIMIT) -> str:
    """A rejected record's text, cut to ``limit`` characters with a note saying so."""
    if len(raw) <= limit:
        return raw
    return raw[:limit] + f" [... truncated: {len(raw):,} characters in all]"


REJECT_COLUMNS = ["source", "location", "table", "reason", "raw"]


def describe(error: ValidationError) -> str:
    """A one-line, human reason from a pydantic error: ``followers_count: not a number``."""
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "record"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field is missing"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


@dataclass
class TableResult:
    """What validation made of one table's records."""

    table: str
    frame: pd.DataFrame
    extras: pd.DataFrame
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)


def validate_records(table: str, records: Iterable[Record]) -> TableResult:
    """Validate raw records of one table, drop duplicates, keep rejects and extras.

    Duplicates on the table's key keep the most recent record: the latest ``observed_at``
    where records carry one, otherwise the one read last.
    """
    model = MODELS[table]
    keys = KEYS[table]
    kept: dict[tuple, tuple[tuple, BaseModel, Record]] = {}
    result = TableResult(table, empty_frame(table), pd.DataFrame())
    for order, record in enumerate(records):
        result.read += 1
        try:
            row = model.model_validate(record.data)
        except ValidationError as exc:
            result.rejects.append(Reject.of(record, describe(exc)))
            continue
        key = tuple(getattr(row, k) for k in keys)
        observed = record.observed_at or datetime.min.replace(tzinfo=UTC)
        rank = (observed, order)
        if key in kept:
            result.duplicates += 1
            if kept[key][0] > rank:
                continue
        kept[key] = (rank, row, record)
    rows = [v[1] for v in kept.values()]
    result.accepted = len(rows)
    result.frame = to_frame(table, rows)
    extras = [
        {**{k: getattr(row, k) for k in keys}, "source": rec.source,
         "extra": json.dumps(rec.extra, default=str, ensure_ascii=False, sort_keys=True)}
        for _, row, rec in kept.values()
        if rec.extra
    ]
    result.extras = pd.DataFrame(extras, columns=[*keys, "source", "extra"]).astype(
        {k: "string" for k in keys if k != "taken_at"}
    )
    return result


def iter_rejects(results: Iterable[TableResult]) -> Iterator[Reject]:
    for res in results:
        yield from res.rejects
