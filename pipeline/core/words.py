"""Counted nouns for the sentences the explanations build: "1 post", "2 posts", "1,200 posts"."""

from __future__ import annotations

# The nouns the evidence counts, singular -> plural (all regular today; the table keeps an
# irregular one from being pluralised with a bare "s").
PLURALS: dict[str, str] = {
    "post": "posts", "text": "texts", "bio": "bios", "day": "days", "follower": "followers",
    "time": "times", "account": "accounts",
}


def counted(n: float, noun: str) -> str:
    """``n`` and ``noun`` agreeing in number, thousands separated: ``counted(1, "post")`` is
    "1 post", ``counted(1200, "post")`` "1,200 posts"."""
    plural = PLURALS.get(noun, noun + "s")
    return f"{n:,.0f} {noun if round(float(n)) == 1 else plural}"
