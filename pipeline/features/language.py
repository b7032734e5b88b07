"""Criterion "I can't read your posts": the languages of an account's bio and posts, and privacy.

Languages are identified by lingua (``lingua-language-detector``), restricted to a candidate set
of ISO 639-1 codes: a small set is both faster and more accurate than all 75 languages, and the
person's own languages are always added to it (a language outside the set can never be found).
Links and @mentions are removed before identification; a text with no letters left, or whose best
language has a confidence below ``min_confidence`` (lingua's confidences over the candidates sum
to 1), counts as *unknown*: neither readable nor unreadable.

Short texts are where lingua is weakest (most two-to-three-word bios come out unknown), so an
account's other evidence comes first and fills in:

- **platform tags** (``use_tags``): a post the platform tagged with its language (Mastodon's
  ``language``, Bluesky's ``langs``, set by the author's client) takes that language, ahead of
  detection;
- **pooling** (``pool``): a post or bio that is still unknown, but has letters, takes the
  account's language: the most common language of its identified posts, or else lingua's answer
  on all its texts joined, when that is confident. A short bio thus no longer decides alone.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features import (
    TextInputMixin,
    account_texts,
    flag,
    frame_column,
    output_index,
    run_chunked,
    text_or_none,
)
from pipeline.features.cache import TextCache, open_cache

logger = logging.getLogger(__name__)

DEFAULT_CANDIDATES = ("en", "es", "de", "fr", "pt", "it", "nl", "ru", "ja", "tr", "ar", "id")
# What an account shows in its own timeline; likes are other people's words.
DEFAULT_KINDS = ("post", "repost", "reply")
# Bump when the text cleaning changes: cached results were computed on the old cleaning.
_CLEANING_VERSION = 1

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
_LETTER = re.compile(r"[^\W\d_]")

FEATURES = [
    "lang_readable_share",
    "lang_unreadable_share",
    "lang_unknown_share",
    "lang_bio_readable",
    "lang_bio_unreadable",
    "lang_is_private",
    "lang_no_posts",
]


def _posts(n: int) -> str:
    return "1 post" if n == 1 else f"{n} posts"


def clean_for_detection(text: str) -> str:
    """The text with links and @mentions removed and ``#`` dropped from hashtags."""
    text = _MENTION.sub(" ", _URL.sub(" ", text)).replace("#", " ")
    return " ".join(text.split())


def tag_language(tag: Any) -> str | None:
    """A platform's BCP 47 language tag as an ISO 639-1 code: ``"en-US"`` -> ``"en"``,
    ``"pt_BR"`` -> ``"pt"``; None for a missing or malformed tag (``"und"``, ``""``)."""
    if not isinstance(tag, str):
        return None
    code = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def _iso(code: str) -> Any:
    from lingua import IsoCode639_1

    try:
        return IsoCode639_1.from_str(str(code).strip().lower())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{code!r} is not an ISO 639-1 language code lingua knows "
                         "(e.g. 'en', 'de', 'es')") from exc


def language_name(code: str | None) -> str | None:
    """English name of an ISO 639-1 code: ``"ru"`` -> ``"Russian"``."""
    if code is None:
        return None
    from lingua import Language

    try:
        return Language.from_iso_code_639_1(_iso(code)).name.title()
    except ValueError:
        return code


@functools.lru_cache(maxsize=8)
def build_detector(codes: tuple[str, ...]) -> Any:
    """A lingua detector restricted to ``codes``, built once per process and code set.

    Language models load lazily inside lingua, on first use of each language.
    """
    from lingua import LanguageDetectorBuilder

    if len(codes) < 2:
        raise ValueError(f"lingua needs at least two candidate languages, got {list(codes)}")
    return LanguageDetectorBuilder.from_iso_codes_639_1(*[_iso(c) for c in codes]).build()


class LanguageIdentifier:
    """Top language and its confidence for each text, cached by content.

    Parameters
    ----------
    candidates : sequence of str
        ISO 639-1 codes lingua chooses among.
    cache_dir : str or None
        Folder of the shared text cache; None disables caching.
    show_progress : bool
        Progress bar for long work.
    """

    def __init__(self, candidates: Sequence[str], cache_dir: str | os.PathLike | None = None,
                 show_progress: bool = True) -> None:
        self.candidates = tuple(sorted({str(c).strip().lower() for c in candidates}))
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.computed = 0

    # The Rust detector and the SQLite connection stay out of pickles.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("detector", None)
        state.pop("cache", None)
        return state

    @functools.cached_property
    def identity(self) -> str:
        try:
            version = importlib.metadata.version("lingua-language-detector")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return f"lingua=={version}:{','.join(self.candidates)}:clean-v{_CLEANING_VERSION}"

    @functools.cached_property
    def detector(self) -> Any:
        return build_detector(self.candidates)

    @functools.cached_property
    def cache(self) -> TextCache | None:
        return open_cache(self.cache_dir, self.identity, kind="json")

    def stats(self) -> dict[str, int]:
        hits = self.cache.hits if self.cache is not None else 0
        misses = self.cache.misses if self.cache is not None else self.computed
        return {"hits": hits, "misses": misses, "computed": self.computed}

    def _compute(self, texts: list[str]) -> list[list]:
        cleaned = [clean_for_detection(t) for t in texts]
        out: list[list] = [[None, 0.0] for _ in texts]
        todo = [i for i, c in enumerate(cleaned) if _LETTER.search(c)]
        if todo:
            values = self.detector.compute_language_confidence_values_in_parallel(
                [cleaned[i] for i in todo])
            for i, vals in zip(todo, values, strict=True):
                if vals and vals[0].value > 0:
                    top = vals[0]
                    out[i] = [top.language.iso_code_639_1.name.lower(), float(top.value)]
        return out

    def identify(self, texts: Sequence[str]) -> dict[str, tuple[str | None, float]]:
        """``{text: (code or None, confidence)}`` for the distinct texts given."""
        unique = list(dict.fromkeys(str(t) for t in texts))
        found = self.cache.get_many(unique) if self.cache is not None else {}
        todo = [t for t in unique if t not in found]
        if todo:
            results = run_chunked(self._compute, todo, 500, "language", self.show_progress)
            self.computed += len(todo)
            new = dict(zip(todo, results, strict=True))
            if self.cache is not None:
                self.cache.put_many(new)
            found.update(new)
        logger.info("language: %d distinct texts, %d cached, %d computed",
                    len(unique), len(unique) - len(todo), len(todo))
        return {t: (v[0], float(v[1])) for t, v in found.items()}


class Readability(TextInputMixin, TransformerMixin, BaseEstimator):
    """How much of an account the person can read: languages of its posts and bio, privacy.

    Takes a DataFrame with columns ``bio``, ``posts`` and ``is_private`` (``bio`` and
    ``is_private`` may be absent; ``posts`` is a list of ``{"text", "kind", ...}`` dicts per
    account). Posts of the kinds in ``kinds`` count; blank texts are skipped.

    Output columns (all finite; the shares are over the account's non-blank posts):

    - ``lang_readable_share``: share of *identified* posts in one of ``languages``;
      0.0 when no post could be identified;
    - ``lang_unreadable_share``: share of identified posts in another candidate language;
      0.0 when none could be identified (so the two are both 0 exactly when nothing was
      identified, and sum to 1 otherwise);
    - ``lang_unknown_share``: share of posts whose language could not be identified (too
      short, only emoji or links, low confidence); 0.0 without posts;
    - ``lang_bio_readable`` / ``lang_bio_unreadable``: 1.0 when the bio is identified in a
      language the person reads / in another language; both 0.0 for an absent or
      unidentifiable bio;
    - ``lang_is_private``: 1.0 for a private (locked) account, whose posts cannot be read at
      all; a missing flag counts as not private;
    - ``lang_no_posts``: 1.0 when the account shows no post text (none, or private).

    Parameters
    ----------
    languages : sequence of str, default=("en",)
        ISO 639-1 codes of the languages the person reads (``params.yaml: user.languages``).
    candidates : sequence of str or None, default=None
        ISO 639-1 codes lingua chooses among (``features.language.candidates``); None uses
        :data:`DEFAULT_CANDIDATES`. ``languages`` are always added.
    min_confidence : float, default=0.5
        Below this confidence in its best language, a text counts as unknown.
    kinds : sequence of str, default=("post", "repost", "reply")
        Which post kinds are the account's readable content. Likes are left out by default:
        they are other people's words and not shown on the account's page.
    use_tags : bool, default=True
        A post's platform language tag (its ``"language"`` key) decides ahead of lingua.
    pool : bool, default=True
        Posts and a bio left unknown take the account's pooled language (see the module
        docstring).
    cache_dir : str or None, default=None
        Folder of the shared text cache; None disables caching.
    show_progress : bool, default=True

    Attributes
    ----------
    languages_ : list of str
        The person's languages, lower-cased.
    candidates_ : list of str
        The candidate set lingua uses: ``candidates`` plus ``languages``.

    Examples
    --------
    >>> import pandas as pd
    >>> post = {"text": "Hoy he horneado pan de masa madre", "kind": "post"}
    >>> X = pd.DataFrame({"bio": ["Panadera en Sevilla"], "is_private": [False],
    ...                   "posts": [[post]]})
    >>> Readability(languages=["en"]).fit_transform(X)[0, :2]     # doctest: +SKIP
    array([0., 1.])
    """

    one_d_input = False  # reads bio, posts and is_private: a table, never one column

    def __init__(
        self,
        languages: Sequence[str] = ("en",),
        candidates: Sequence[str] | None = None,
        min_confidence: float = 0.5,
        kinds: Sequence[str] = DEFAULT_KINDS,
        use_tags: bool = True,
        pool: bool = True,
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool = True,
    ) -> None:
        self.languages = languages
        self.candidates = candidates
        self.min_confidence = min_confidence
        self.kinds = kinds
        self.use_tags = use_tags
        self.pool = pool
        self.cache_dir = cache_dir
        self.show_progress = show_progress

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_identifier_held", None)
        return state

    def _identifier(self) -> LanguageIdentifier:
        key = (tuple(self.candidates_), None if self.cache_dir is None else str(self.cache_dir),
               self.show_progress)
        held = self.__dict__.get("_identifier_held")
        if held is None or held[0] != key:
            held = (key, LanguageIdentifier(self.candidates_, self.cache_dir, self.show_progress))
            self.__dict__["_identifier_held"] = held
        return held[1]

    def cache_stats(self) -> dict[str, int]:
        """Cache hits and misses and texts computed by this transformer so far."""
        held = self.__dict__.get("_identifier_held")
        return held[1].stats() if held else {"hits": 0, "misses": 0, "computed": 0}

    def fit(self, X: Any, y: Any = None) -> Readability:
        """Check the parameters and fix the candidate set (nothing is learnt from ``X``)."""
        if isinstance(self.languages, str) or not self.languages:
            raise ValueError("languages must be a non-empty list of ISO 639-1 codes, e.g. "
                             f"['en', 'de'], got {self.languages!r}")
        candidates = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        if isinstance(candidates, str):
            raise ValueError(f"candidates must be a list of ISO 639-1 codes, got {candidates!r}")
        if not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must be within [0, 1], got {self.min_confidence!r}")
        if isinstance(self.kinds, str) or not self.kinds:
            raise ValueError(f"kinds must be a non-empty list of post kinds, got {self.kinds!r}")
        for code in [*self.languages, *candidates]:
            _iso(code)
        self.languages_ = sorted({str(c).strip().lower() for c in self.languages})
        self.candidates_ = sorted({str(c).strip().lower() for c in candidates}
                                  | set(self.languages_))
        if len(self.candidates_) < 2:
            raise ValueError("language identification needs at least two candidate languages, "
                             f"got {self.candidates_}")
        return self

    def _rows(self, X: Any) -> tuple[list, list, list]:
        n = len(X)
        posts = frame_column(X, "posts", 1)
        has = (lambda c: c in X.columns) if isinstance(X, pd.DataFrame) else (lambda c: True)
        bios = frame_column(X, "bio", 0) if has("bio") else [None] * n
        private = frame_column(X, "is_private", 2) if has("is_private") else [None] * n
        kinds = tuple(self.kinds)
        items = [account_texts(v, kinds) for v in posts]
        return [text_or_none(b) for b in bios], items, [flag(v) for v in private]

    def _label(self, result: tuple[str | None, float]) -> str | None:
        code, conf = result
        return code if code is not None and conf >= float(self.min_confidence) else None

    def _analyse(self, X: Any) -> tuple[list, list, list, list, list]:
        """Per account: bio language, post languages, privacy flags, and per account the
        number of posts whose language came from a platform tag (one lingua pass, plus one
        over the pooled texts of accounts with something still unknown)."""
        bios, items, private = self._rows(X)
        use_tags = bool(self.use_tags)
        tags = [[tag_language(p.get("language")) if use_tags else None for p in ps]
                for ps in items]
        every = [p["text"] for ps, ts in zip(items, tags, strict=True)
                 for p, t in zip(ps, ts, strict=True) if t is None]
        every += [b for b in bios if b is not None]
        identifier = self._identifier()
        found = identifier.identify(every)
        post_langs = [[t if t is not None else self._label(found[p["text"]])
                       for p, t in zip(ps, ts, strict=True)]
                      for ps, ts in zip(items, tags, strict=True)]
        bio_langs = [None if b is None else self._label(found[b]) for b in bios]
        n_tagged = [sum(t is not None for t in ts) for ts in tags]
        if self.pool:
            self._fill_pooled(items, bios, post_langs, bio_langs, identifier)
        return bios, bio_langs, post_langs, private, n_tagged

    def _fill_pooled(self, items: list, bios: list, post_langs: list, bio_langs: list,
                     identifier: LanguageIdentifier) -> None:
        """Give a still-unknown post or bio (with letters) the account's language, in place."""
        def has_letters(text: str | None) -> bool:
            return text is not None and bool(_LETTER.search(clean_for_detection(text)))

        pooled_text: dict[int, str] = {}
        account_lang: dict[int, str | None] = {}
        for i, (ps, langs, bio) in enumerate(zip(items, post_langs, bios, strict=True)):
            unknown_post = any(lang is None and has_letters(p["text"])
                               for p, lang in zip(ps, langs, strict=True))
            unknown_bio = bio_langs[i] is None and has_letters(bio)
            if not (unknown_post or unknown_bio):
                continue
            known = Counter(lang for lang in langs if lang is not None).most_common(1)
            if known:
                account_lang[i] = known[0][0]
            else:
                texts = [p["text"] for p in ps] + ([bio] if bio is not None else [])
                pooled_text[i] = "\n".join(texts)
        if pooled_text:
            found = identifier.identify(list(pooled_text.values()))
            account_lang.update({i: self._label(found[t]) for i, t in pooled_text.items()})
        for i, lang in account_lang.items():
            if lang is None:
                continue
            post_langs[i] = [lang if cur is None and has_letters(p["text"]) else cur
                             for p, cur in zip(items[i], post_langs[i], strict=True)]
            if bio_langs[i] is None and has_letters(bios[i]):
                bio_langs[i] = lang

    def transform(self, X: Any) -> np.ndarray:
        """The features of each account (see the class docstring for the columns)."""
        check_is_fitted(self, "candidates_")
        _, bio_langs, post_langs, private, _ = self._analyse(X)
        reads = set(self.languages_)
        out = np.zeros((len(post_langs), len(FEATURES)), dtype=np.float64)
        for i, langs in enumerate(post_langs):
            n = len(langs)
            known = [lang for lang in langs if lang is not None]
            readable = sum(lang in reads for lang in known)
            if known:
                out[i, 0] = readable / len(known)
                out[i, 1] = 1.0 - out[i, 0]
            out[i, 2] = (n - len(known)) / n if n else 0.0
            bio = bio_langs[i]
            out[i, 3] = float(bio is not None and bio in reads)
            out[i, 4] = float(bio is not None and bio not in reads)
            out[i, 5] = float(private[i])
            out[i, 6] = float(n == 0)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "candidates_")
        return np.asarray(FEATURES, dtype=object)

    def evidence(self, X: Any) -> pd.DataFrame:
        """Per account: posts identified and readable, the main unreadable language, a summary.

        Columns: ``n_posts``, ``n_identified``, ``n_readable``, ``unreadable_language`` (English
        name of the most frequent unreadable language, or None), ``unreadable_count``,
        ``bio_language``, ``is_private``, ``n_tagged`` (posts whose language came from the
        platform's tag) and ``summary`` (e.g. "27 of 30 posts in Russian").
        """
        check_is_fitted(self, "candidates_")
        _, bio_langs, post_langs, private, n_tagged = self._analyse(X)
        reads = set(self.languages_)
        rows = []
        for langs, bio, locked, tagged in zip(post_langs, bio_langs, private, n_tagged,
                                              strict=True):
            n = len(langs)
            known = [lang for lang in langs if lang is not None]
            readable = [lang for lang in known if lang in reads]
            other = Counter(lang for lang in known if lang not in reads).most_common(1)
            other_lang, other_n = (other[0] if other else (None, 0))
            if n == 0:
                summary = "private account: its posts cannot be read" if locked else "no posts"
            elif not known:
                summary = f"the language of its {_posts(n)} could not be identified"
            elif other_n > len(readable):
                summary = f"{other_n} of {_posts(n)} in {language_name(other_lang)}"
            else:
                names = ", ".join(language_name(c) for c, _ in Counter(readable).most_common())
                summary = f"{len(readable)} of {_posts(n)} in {names}"
            if tagged and known:
                summary += f" ({tagged} by the platform's language tag)"
            rows.append({
                "n_posts": n,
                "n_identified": len(known),
                "n_readable": len(readable),
                "unreadable_language": language_name(other_lang),
                "unreadable_count": other_n,
                "bio_language": language_name(bio),
                "is_private": bool(locked),
                "n_tagged": int(tagged),
                "summary": summary,
            })
        return pd.DataFrame(rows, index=output_index(X),
                            columns=["n_posts", "n_identified", "n_readable",
                                     "unreadable_language", "unreadable_count", "bio_language",
                                     "is_private", "n_tagged", "summary"])


@dataclass
class LanguageProposal:
    """The languages proposed for ``user.languages`` and what they rest on."""

    languages: list[str]
    counts: dict[str, int]       # texts per language (tagged or identified)
    n_texts: int                 # own texts looked at
    n_tagged: int                # of them, with the platform's language tag
    fallback: bool = False       # nothing identified: the default was proposed

    def describe(self) -> str:
        if self.fallback:
            return (f"no language could be told from {self.n_texts} own text(s): proposing "
                    f"{', '.join(self.languages)} (change user.languages if you read others)")
        shares = ", ".join(f"{language_name(c)} {self.counts[c]}" for c in self.languages)
        return (f"from {self.n_texts} own text(s) ({self.n_tagged} tagged by the platform, the "
                f"rest identified by lingua): {shares}")


def propose_languages(
    texts: Sequence[str | None],
    tags: Sequence[str | None] | None = None,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    min_share: float = 0.1,
    min_confidence: float = 0.5,
    default: Sequence[str] = ("en",),
    cache_dir: str | os.PathLike | None = None,
) -> LanguageProposal:
    """The languages a person writes in, from their own posts (and bio): ``user.languages``.

    Each text counts for its platform tag (Mastodon ``language``, Bluesky ``langs``) where it
    has one, else for lingua's language when at least ``min_confidence`` sure; a language is
    proposed when it holds at least ``min_share`` of the texts whose language is known, most
    frequent first. With nothing known, ``default`` is proposed and the proposal says so.
    """
    tags = list(tags) if tags is not None else [None] * len(texts)
    known: list[str] = []
    untagged = []
    n_texts = n_tagged = 0
    for text, tag in zip(texts, tags, strict=True):
        if not (isinstance(text, str) and text.strip()):
            continue
        n_texts += 1
        code = tag_language(tag)
        if code is not None:
            n_tagged += 1
            known.append(code)
        else:
            untagged.append(text)
    if untagged:
        found = LanguageIdentifier(candidates, cache_dir, show_progress=False).identify(untagged)
        for text in untagged:
            code, confidence = found[str(text)]
            if code is not None and confidence >= min_confidence:
                known.append(code)
    counts = dict(Counter(known))
    chosen = sorted((c for c, n in counts.items() if n >= min_share * len(known)),
                    key=lambda c: (-counts[c], c))
    if not chosen:
        return LanguageProposal(list(default), counts, n_texts, n_tagged, fallback=True)
    return LanguageProposal(chosen, counts, n_texts, n_tagged)
