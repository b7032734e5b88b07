"""Session-scoped real models and persona data for the feature extractor tests.

Each real model loads once per test session and is shared through the same per-process loaders
the extractors use (``load_sentence_transformer``, ``build_detector``, ``load_profanity_check``),
so an extractor built inside a test finds it already loaded. Everything here runs offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data.frame import account_frame

# The demo persona (maya.bakes): sourdough baking, bike touring, urban vegetable gardening.
OWN_POSTS = [
    "Fed my sourdough starter this morning and the loaf came out with a gorgeous open crumb.",
    "Trying a 36-hour cold proof for the rye bread this weekend, fingers crossed.",
    "Scoring patterns for boules: a single deep ear beats fancy leaves every time.",
    "Whole wheat levain, 80% hydration, baked in the dutch oven at 250 degrees.",
    "Rode 90 km along the Elbe cycle path today, headwind all the way back.",
    "Packed the panniers for a three-day bike tour through the Spreewald.",
    "New chain and cassette on the touring bike, shifting is smooth again.",
    "Climbing the hills around the lake on my gravel bike before breakfast.",
    "The balcony tomatoes are finally turning red, and the basil is taking over.",
    "Built two raised beds in the community garden for kale and chard.",
    "Composting tips: balance the greens and browns and keep the pile moist.",
    "Harvested the first zucchini from the allotment, more than we can eat.",
]


@pytest.fixture(scope="session")
def own_posts() -> list[str]:
    return list(OWN_POSTS)


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2, loaded once (the extractors reuse this copy)."""
    from pipeline.features.embedding import (
        PACKAGED_MODEL,
        load_sentence_transformer,
        resolve_model_path,
    )

    return load_sentence_transformer(resolve_model_path(PACKAGED_MODEL), "cpu")


@pytest.fixture(scope="session")
def lingua_detector():
    """The lingua detector over the default candidates plus German, built once."""
    from pipeline.features.language import DEFAULT_CANDIDATES, build_detector

    detector = build_detector(tuple(sorted(set(DEFAULT_CANDIDATES))))
    detector.detect_language_of("warm up the language models")
    return detector


@pytest.fixture(scope="session")
def profanity_model():
    from pipeline.features.toxicity import load_profanity_check

    return load_profanity_check()


@pytest.fixture(scope="session")
def make_accounts() -> Callable[..., pd.DataFrame]:
    """Build the model input frame from contract-shaped rows, as ``account_frame`` does.

    Each account is ``dict(bio=..., is_private=..., posts=[text or (text, kind), ...])``.
    """

    def build(accounts: list[dict]) -> pd.DataFrame:
        acc_rows, post_rows = [], []
        for i, acc in enumerate(accounts):
            aid = f"a{i}"
            acc_rows.append({"platform": "demo", "account_id": aid, "handle": f"user{i}",
                             "bio": acc.get("bio"), "is_private": acc.get("is_private")})
            for j, post in enumerate(acc.get("posts", [])):
                text, kind = (post, "post") if isinstance(post, str) else post
                post_rows.append({"account_id": aid, "post_id": f"{aid}-{j}", "text": text,
                                  "kind": kind,
                                  "created_at": pd.Timestamp("2024-05-01", tz="UTC")
                                  - pd.Timedelta(days=j)})
        posts = pd.DataFrame(post_rows) if post_rows else None
        return account_frame(pd.DataFrame(acc_rows), posts, max_posts=50)

    return build


# --- A tiny Detoxify checkpoint in Detoxify's own format ------------------------------------

TOXIC_TRAIN = [
    ("you are a stupid idiot", 1), ("shut up you moron", 1), ("i hate you idiot", 1),
    ("you stupid pathetic loser", 1), ("what a moron you are", 1), ("idiot loser shut up", 1),
    ("lovely bread thanks friend", 0), ("great ride today friend", 0),
    ("thanks for the kind words", 0), ("the garden looks lovely", 0), ("what a great loaf", 0),
    ("kind friend thanks", 0),
]
JIGSAW_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


@dataclass(frozen=True)
class TinyDetoxify:
    checkpoint: Path
    base_model_dir: Path
    classes: tuple[str, ...]


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory) -> TinyDetoxify:
    """A 2-layer BERT with a 60-word vocab, trained for a few seconds, saved as Detoxify saves.

    The checkpoint is ``{"config": {"arch": {"args": {...}}, "dataset": {"args": {"classes":
    [...]}}}, "state_dict": ...}`` with ``model_type="bert-base-uncased"`` as in Detoxify's
    released ``original`` checkpoint; the base-model folder holds the tiny config and tokenizer,
    standing in for a local copy of bert-base-uncased.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    root = tmp_path_factory.mktemp("tiny_detoxify")
    base = root / "bert-base-uncased"
    base.mkdir()
    words = sorted({w for text, _ in TOXIC_TRAIN for w in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (base / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(base / "vocab.txt"), model_max_length=64).save_pretrained(base)
    BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
               intermediate_size=64, max_position_embeddings=64).save_pretrained(base)

    torch.manual_seed(0)
    config = BertConfig.from_pretrained(base, num_labels=len(JIGSAW_CLASSES))
    model = BertForSequenceClassification(config)
    tokenizer = BertTokenizer.from_pretrained(base)
    batch = tokenizer([t for t, _ in TOXIC_TRAIN], return_tensors="pt", padding=True)
    # Every label follows the toxic flag, except identity_hate, which stays off.
    target = torch.tensor([[y] * 5 + [0] for _, y in TOXIC_TRAIN], dtype=torch.float32)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        optim.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(**batch).logits, target)
        loss.backward()
        optim.step()
    model.eval()
    checkpoint = root / "toxic_tiny.ckpt"
    torch.save(
        {
            "config": {
                "arch": {"args": {"model_type": "bert-base-uncased",
                                  "model_name": "BertForSequenceClassification",
                                  "tokenizer_name": "BertTokenizer",
                                  "num_classes": len(JIGSAW_CLASSES)}},
                "dataset": {"args": {"classes": JIGSAW_CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return TinyDetoxify(checkpoint, base, tuple(JIGSAW_CLASSES))


def follower_group_rows(t0):
    """Rows of 24 followers: a bio-template network of 12 created in one week before ``t0``
    (ids f0..f11), and 12 unrelated people (p0..p11), as dicts in the ingest schema."""
    import pandas as pd

    farm = [{"account_id": f"f{i}", "handle": f"anna{i}", "following_count": 4000,
             "followers_count": 3, "bio": f"Crypto signals {i * 7}% | DM for the VIP group",
             "created_at": t0 - pd.Timedelta(days=10, hours=i)} for i in range(12)]
    bios = ["Sourdough and rye in Leipzig", "Bike touring along the Elbe", "Balcony tomatoes",
            "Jazz piano teacher", "Chess club Wednesdays", "Two cats and a garden",
            "River photography", "Night trains across Europe", "Film critic, slow cinema",
            "Reading Russian novels", "Maps and old atlases", "Tea from Darjeeling"]
    people = [{"account_id": f"p{i}", "handle": f"person{i}", "following_count": 200,
               "bio": bio, "created_at": t0 - pd.Timedelta(days=300 * (i + 1))}
              for i, bio in enumerate(bios)]
    return farm + people
