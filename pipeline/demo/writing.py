"""How demo texts are written: sentence parts from :mod:`pipeline.demo.text` combined in
varying shapes and per-account writing styles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.demo.dice import _Dice
from pipeline.demo.text import baking, cycling, gardening, other_topics


@dataclass(frozen=True)
class _Style:
    """How one person writes: the same sentence parts read differently from different people."""

    emoji: float = 0.3
    hashtags: float = 0.3
    link: float = 0.03
    lowercase: bool = False
    exclaim: bool = False
    max_tags: int = 3


# (weight, parts) of a genuine post; no single shape dominates.
SHAPES: list[tuple[int, tuple[str, ...]]] = [
    (6, ("bodies",)),
    (5, ("bodies", "bodies")),
    (3, ("openers", "bodies")),
    (2, ("openers", "bodies", "bodies")),
    (3, ("bodies", "closers")),
    (3, ("bodies", "questions")),
    (2, ("openers", "bodies", "questions")),
    (2, ("bodies", "bodies", "closers")),
    (1, ("questions",)),
    (1, ("openers", "bodies", "closers")),
    (1, ("bodies", "bodies", "questions")),
]
_SHAPE_WEIGHTS = [w for w, _ in SHAPES]
_SLOT = re.compile(r"\{(\w+)\}")


class _Writer:
    """Assembles posts, replies and bios from the text pools."""

    def __init__(self, dice: _Dice) -> None:
        self.dice = dice

    def fill(self, sentence: str, fills: dict[str, list[str]]) -> str:
        return _SLOT.sub(lambda m: self.dice.pick(fills[m.group(1)]), sentence)

    def style(self, emoji_heavy: bool = False) -> _Style:
        d = self.dice
        return _Style(
            emoji=d.uniform(0.4, 0.9) if emoji_heavy else d.uniform(0.0, 0.45),
            hashtags=d.pick([0.0, 0.1, 0.3, 0.5, 0.8]),
            link=d.pick([0.0, 0.0, 0.02, 0.06]),
            lowercase=d.chance(0.08),
            exclaim=d.chance(0.12),
            max_tags=d.integer(1, 4),
        )

    def post(self, pool: dict, style: _Style, lang: str = "en") -> str:
        """One post: sentence parts in a random shape, then emoji, link and hashtags."""
        d = self.dice
        parts = SHAPES[d.weighted(_SHAPE_WEIGHTS)][1]
        fills = pool.get("fills", {})
        used: set[str] = set()
        sentences = []
        for part in parts:
            options = pool.get(part) or pool["bodies"]
            for _ in range(4):
                sentence = d.pick(options)
                if sentence not in used:
                    break
            used.add(sentence)
            sentences.append(self.fill(sentence, fills))
        if style.exclaim and lang in ("en", "de") and sentences[-1].endswith("."):
            sentences[-1] = sentences[-1][:-1] + "!"
        text = ("" if lang == "ja" else " ").join(sentences)
        return self.decorate(text, pool, style)

    def decorate(self, text: str, pool: dict, style: _Style) -> str:
        d = self.dice
        if style.lowercase:
            text = text.lower()
        if pool.get("emoji") and d.chance(style.emoji):
            emoji = "".join(d.sample(pool["emoji"], d.integer(1, 2)))
            text = f"{text} {emoji}"
        if pool.get("links") and d.chance(style.link):
            lead = d.pick(["", "", "More here: ", "Details: ", "👉 "])
            text = f"{text} {lead}{d.pick(pool['links'])}"
        if pool.get("hashtags") and style.max_tags and d.chance(style.hashtags):
            tags = d.sample(pool["hashtags"], d.integer(1, style.max_tags))
            text = text + d.pick([" ", "\n\n"]) + " ".join(tags)
        return text

    def reply(self, pool: dict, style: _Style, mention: str, lang: str = "en") -> str:
        d = self.dice
        options = pool.get("replies") or pool.get("closers") or pool["bodies"]
        text = self.fill(d.pick(options), pool.get("fills", {}))
        if d.chance(0.35):
            extra = pool.get("questions") or pool["bodies"]
            text = f"{text} {self.fill(d.pick(extra), pool.get('fills', {}))}"
        if style.lowercase:
            text = text.lower()
        if pool.get("emoji") and d.chance(style.emoji * 0.6):
            text = f"{text} {d.pick(pool['emoji'])}"
        return f"@{mention} {text}"


# The main topics' pools; other topics come from :mod:`pipeline.demo.text.other_topics`.
TOPIC_POOLS = {"baking": baking, "cycling": cycling, "gardening": gardening}


def _topic_pool(topic: str, lang: str) -> dict:
    """The pool of a main or other topic in English or German (falls back to English)."""
    if topic in TOPIC_POOLS:
        module = TOPIC_POOLS[topic]
        return module.DE if lang == "de" else module.EN
    if lang == "de" and topic in other_topics.DE:
        return other_topics.DE[topic]
    return other_topics.EN[topic]


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ı", "i").replace("'", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]", "", text.lower())
