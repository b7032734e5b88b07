"""Texts per second of each text extractor against the bare library call, in one run.

For each of the four text extractors (bio embedding, topic similarity, readability, toxicity)
the same N texts go through

- the bare library call (``SentenceTransformer.encode``, lingua's
  ``compute_language_confidence_values_in_parallel``, ``profanity_check.predict_prob`` or
  ``Detoxify.predict``) on already loaded models;
- the extractor with an empty cache (cold): the model call plus dedup, cache writes and
  feature assembly;
- a fresh extractor on the now-filled cache (warm): no model call at all.

Ratios are the extractor's texts/s over the bare call's. Models are loaded before any timing.

Then the encoder backends (``features.embed.backend``, :mod:`pipeline.features.backends`): the
packaged all-MiniLM-L6-v2 run by torch fp32 (bare ``SentenceTransformer.encode``), bf16,
OpenVINO and ONNX int8 on the same texts, interleaved, best of ``--repeat``: texts/s, the ratio
to torch, and the mean and minimum cosine of each text's embedding to torch's; and what
``auto`` picks on this machine (its own probe, remembered in ``--cache-dir``). Exports are made
before timing and kept in ``--cache-dir``/encoders. ``--backends-only`` skips the extractors.
Texts come from ``data/raw/demo/posts.jsonl`` when the demo has been generated, else from a
built-in generator of varied, mostly distinct posts (8 topics, 8 languages, emoji, links,
hashtags, a few offensive ones).

    .venv/bin/python bench/features.py --n 2000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

DEMO_POSTS = Path("data/raw/demo/posts.jsonl")

EN_BODIES = {
    "baking": ["Fed my sourdough starter and the loaf came out with a gorgeous open crumb",
               "Trying a long cold proof for the rye bread this weekend",
               "Whole wheat levain at 80% hydration, baked in the dutch oven",
               "Scored the boule with one deep cut and got a proper ear",
               "My croissant lamination went wrong again, butter everywhere"],
    "cycling": ["Rode 90 km along the river path, headwind all the way back",
                "Packed the panniers for a three-day tour through the forest",
                "New chain and cassette on the touring bike, shifting is smooth again",
                "Fixed a flat in the rain and still caught the ferry",
                "Gravel loop before breakfast, legs are toast"],
    "gardening": ["The balcony tomatoes are finally turning red",
                  "Built two raised beds for kale and chard at the allotment",
                  "Compost pile is steaming, greens and browns finally balanced",
                  "First zucchini of the season, more than we can eat",
                  "Slugs ate every single lettuce seedling overnight"],
    "crypto": ["Bitcoin is breaking resistance, altcoin season incoming",
               "New NFT drop tonight, whitelist spots are going fast",
               "Leverage signals: long ETH with a tight stop loss",
               "This token will do a hundred times, not financial advice",
               "Staking rewards just landed, compounding everything"],
    "football": ["What a match last night, that late equaliser was unreal",
                 "Our back line fell apart again in the second half",
                 "Transfer rumours are getting ridiculous this summer",
                 "Season tickets renewed, see you at the stadium",
                 "That referee decision will be talked about for years"],
    "tech": ["Spent the day migrating our services to a new database",
             "Rust compile times are testing my patience today",
             "Wrote a tiny script that saves me an hour every week",
             "The new laptop keyboard is a joy to type on",
             "Finally fixed the flaky test that haunted us for months"],
    "life": ["Long week at work, I need a quiet weekend",
             "The train was an hour late again this morning",
             "Reading a lovely novel about a family by the sea",
             "Painted the living room and it looks so much better",
             "My cat knocked a plant off the windowsill at 3am"],
    "music": ["Saw a tiny jazz trio in a basement bar, pure magic",
              "Learning the bass line of my favourite song, slowly",
              "This album has been on repeat all week",
              "Our choir sings in the old church on Sunday",
              "Found my old cassette collection in the attic"],
}
EN_OPENERS = ["", "", "Quick update:", "Finally!", "Note to self:", "Sunday thoughts:",
              "Small win today:", "Honestly,"]
EN_CLOSERS = ["", "", ".", "!", ", worth every minute.", ", what a day.", "... more soon.",
              ", who else?"]
OTHER = {
    "de": ["Heute habe ich zum ersten Mal ein Roggenbrot mit Sauerteig gebacken",
           "Am Wochenende fahren wir mit dem Rad an der Elbe entlang",
           "Die Tomaten auf dem Balkon werden endlich rot",
           "Der Zug hatte heute Morgen wieder eine Stunde Verspätung",
           "Das Spiel gestern war eine einzige Katastrophe",
           "Ich lese gerade einen wunderschönen Roman über eine Familie am Meer"],
    "es": ["Hoy hice pan de masa madre por primera vez y la miga quedó perfecta",
           "Salimos en bici hasta el embalse y el viento de vuelta fue terrible",
           "Los tomates del balcón ya empiezan a ponerse rojos",
           "El partido de anoche fue un desastre total",
           "Llevo toda la semana trabajando hasta tarde"],
    "fr": ["J'ai enfin réussi ma baguette au levain ce matin",
           "Balade à vélo le long de la Loire, quel bonheur",
           "Les courgettes du jardin envahissent tout",
           "Le train avait encore une heure de retard"],
    "pt": ["Hoje fiz pão de fermentação natural pela primeira vez",
           "Pedalamos até a praia e o vento estava fortíssimo",
           "Os tomates da varanda finalmente estão vermelhos"],
    "it": ["Oggi ho sfornato il mio primo pane con lievito madre",
           "Giro in bici sulle colline, gambe distrutte",
           "I pomodori sul balcone stanno finalmente maturando"],
    "ru": ["Сегодня испекла хлеб на закваске, получилось очень вкусно",
           "Завтра едем на велосипеде за город",
           "На балконе наконец-то покраснели помидоры",
           "Вчерашний матч был просто катастрофой"],
    "tr": ["Bugün ilk kez ekşi mayalı ekmek yaptım",
           "Hafta sonu bisikletle sahil boyunca gittik",
           "Balkondaki domatesler sonunda kızardı"],
}
OFFENSIVE = ["Shut up you stupid idiot, nobody cares",
             "You are a pathetic moron and your takes are garbage",
             "What a dumb piece of crap post",
             "Go to hell, you worthless clown",
             "Only an absolute idiot would believe this trash"]
EMOJI = ["", "", "", " 🍞", " 🚲", " 🌱", " 😂", " 🔥🔥", " ❤️", " 🙌"]
TAGS = ["", "", "", " #sourdough", " #bikepacking", " #gardening", " #crypto", " #football",
        " #nowplaying", " #fediverse"]
LINKS = ["", "", "", "", " https://example.org/p/{n}", " https://blog.example.net/{n}"]
SHORT = ["lol", "same", "ok 👍", "🔥🔥🔥", "this!", "haha yes", "+1", "😂😂", "wow", "nope"]


def generate_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` varied post texts, distinct but for the short ones (as on a real timeline)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        roll = rng.random()
        if roll < 0.04:
            text = rng.choice(SHORT)
        elif roll < 0.09:
            text = rng.choice(OFFENSIVE) + rng.choice(["", "!", "!!", ".", " 🤡"])
        elif roll < 0.32:
            lang = rng.choice(list(OTHER))
            text = rng.choice(OTHER[lang]) + rng.choice(["", ".", "!", " 😊", " :)"])
        else:
            topic = rng.choice(list(EN_BODIES))
            body = rng.choice(EN_BODIES[topic])
            opener = rng.choice(EN_OPENERS)
            if rng.random() < 0.35:  # a second sentence from the same topic
                body += ". " + rng.choice(EN_BODIES[topic])
            text = f"{opener} {body}".strip() + rng.choice(EN_CLOSERS)
        text += rng.choice(EMOJI) + rng.choice(TAGS) + rng.choice(LINKS).format(n=len(out))
        if text in seen and text not in SHORT and rng.random() < 0.97:
            continue
        seen.add(text)
        out.append(text)
    return out


def demo_texts(n: int) -> list[str] | None:
    if not DEMO_POSTS.is_file():
        return None
    texts = []
    with DEMO_POSTS.open(encoding="utf-8") as fh:
        for line in fh:
            text = (json.loads(line).get("text") or "").strip()
            if text:
                texts.append(text)
            if len(texts) >= n:
                break
    return texts if len(texts) >= n else None


def as_accounts(texts: list[str], per_account: int = 10) -> pd.Series:
    """The texts as the ``posts`` column: accounts of ``per_account`` posts each."""
    return pd.Series([
        [{"text": t, "kind": "post", "created_at": None} for t in texts[i : i + per_account]]
        for i in range(0, len(texts), per_account)
    ], name="posts")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="texts per extractor (default 2000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement, interleaved; the best is kept "
                             "(other work on the machine only ever slows a run down)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the text generator")
    parser.add_argument("--detoxify-checkpoint", default=None,
                        help="local Detoxify .ckpt: also time the Detoxify backend")
    parser.add_argument("--detoxify-base", default=None,
                        help="local base-model folder (config + tokenizer) for the checkpoint")
    parser.add_argument("--generated", action="store_true",
                        help="use the built-in generator even when the demo data exists")
    parser.add_argument("--cache-dir", default="data/cache",
                        help="where exported backends are kept (the project's base.cache_dir)")
    parser.add_argument("--backends-only", action="store_true",
                        help="time only the encoder backends, not the extractors")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # keep the table readable; the fallback is stated below

    import profanity_check
    import torch

    from pipeline.features.bio import BioEmbedding
    from pipeline.features.embedding import PACKAGED_MODEL, TextEmbedder
    from pipeline.features.language import DEFAULT_CANDIDATES, Readability, build_detector
    from pipeline.features.topic import TopicSimilarity
    from pipeline.features.toxicity import Toxicity, load_detoxify

    texts = None if args.generated else demo_texts(args.n)
    source = str(DEMO_POSTS) if texts else f"built-in generator (seed {args.seed})"
    texts = texts or generate_texts(args.n, args.seed)
    n = len(texts)
    posts = as_accounts(texts)
    bios = pd.Series(texts, name="bio")
    frame = pd.DataFrame({"bio": [None] * len(posts), "posts": posts,
                          "is_private": [False] * len(posts)})
    own = generate_texts(60, seed=args.seed + 1)
    rows: list[tuple[str, str, float, float, float, str]] = []
    # The extractors compute each distinct text once and the bare calls do not: say how many.
    print(f"{n} texts ({len(set(texts))} distinct) from {source}; torch threads "
          f"{torch.get_num_threads()}; best of {args.repeat}", file=sys.stderr)

    def record(name: str, bare_name: str, bare: Callable[[], object],
               setup: Callable[[str], Callable[[], object]], note: str = "") -> None:
        """Best texts/s of the bare call, the extractor on an empty cache, then on a full one.

        ``setup(cache_dir)`` builds and fits an extractor outside the timing and returns the
        call to time; it runs once on an empty cache (cold) and once more on the filled one.
        """
        bare()  # once untimed: lazy initialisation (thread pools, lingua's language models)
        best = {"bare": 0.0, "cold": 0.0, "warm": 0.0}
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            bare()
            best["bare"] = max(best["bare"], n / (time.perf_counter() - start))
            with tempfile.TemporaryDirectory() as cache:
                for phase in ("cold", "warm"):
                    run = setup(cache)
                    start = time.perf_counter()
                    run()
                    best[phase] = max(best[phase], n / (time.perf_counter() - start))
        rows.append((name, bare_name, best["bare"], best["cold"], best["warm"], note))
        print(f"  {name}: bare {best['bare']:,.0f}/s, cold {best['cold']:,.0f}/s, "
              f"warm {best['warm']:,.0f}/s", file=sys.stderr, flush=True)

    if args.backends_only:
        backend_table(texts, args)
        return

    # Sentence embeddings: one loaded model shared by the bare call and both extractors, which
    # run the same packaged MiniLM (not the default USE) so that the comparison is like for like.
    encoder = TextEmbedder(PACKAGED_MODEL).encoder

    def st_bare() -> None:
        encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                       show_progress_bar=False)

    def bio_setup(cache: str) -> Callable[[], object]:
        est = BioEmbedding(model=PACKAGED_MODEL, n_components=8, cache_dir=cache,
                           show_progress=False)
        return lambda: est.fit_transform(bios)

    record("bio: BioEmbedding (PCA 8)", "SentenceTransformer.encode", st_bare, bio_setup,
           "fit_transform: embed + PCA")

    def topic_setup(cache: str) -> Callable[[], object]:
        est = TopicSimilarity(own_posts=own, model=PACKAGED_MODEL, random_state=0,
                              cache_dir=cache, show_progress=False).fit(posts)
        return lambda: est.transform(posts)

    record("topic: TopicSimilarity", "SentenceTransformer.encode", st_bare, topic_setup,
           "transform (own posts embedded in fit)")

    # Language: the same restricted lingua detector for the bare call and the extractor.
    candidates = sorted(set(DEFAULT_CANDIDATES))
    detector = build_detector(tuple(candidates))

    def language_setup(cache: str) -> Callable[[], object]:
        est = Readability(languages=["en", "de"], candidates=candidates, cache_dir=cache,
                          show_progress=False)
        return lambda: est.fit_transform(frame)

    record("language: Readability", "lingua confidence values (parallel)",
           lambda: detector.compute_language_confidence_values_in_parallel(texts),
           language_setup, f"{len(candidates)} candidate languages")

    # Toxicity: the backend "auto" gets on this machine, against that library's own call.
    probe = Toxicity(backend="auto", show_progress=False).fit(posts[:1])
    note = "auto fell back: no local Detoxify checkpoint" if probe.fallback_reason_ else ""

    def profanity_setup(cache: str) -> Callable[[], object]:
        est = Toxicity(backend="profanity-check", cache_dir=cache, show_progress=False)
        return lambda: est.fit_transform(posts)

    record(f"toxicity: Toxicity ({probe.backend_})", "profanity_check.predict_prob",
           lambda: profanity_check.predict_prob(texts), profanity_setup, note)

    if args.detoxify_checkpoint:
        scorer = load_detoxify("original", args.detoxify_checkpoint, args.detoxify_base, "cpu")

        def detox_bare() -> None:
            for i in range(0, n, 32):
                scorer.predict(texts[i : i + 32])

        def detox_setup(cache: str) -> Callable[[], object]:
            est = Toxicity(backend="detoxify", checkpoint=args.detoxify_checkpoint,
                           base_model_dir=args.detoxify_base, cache_dir=cache,
                           show_progress=False)
            return lambda: est.fit_transform(posts)

        record("toxicity: Toxicity (detoxify)", "Detoxify.predict (batches of 32)",
               detox_bare, detox_setup, Path(args.detoxify_checkpoint).name)

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Text extractors vs the bare library call on the same {n} texts "
                        "(texts/s, best of each)")
    numeric = {"bare", "cold cache", "warm cache", "cold/bare", "warm/bare"}
    for col in ("extractor", "bare call", "bare", "cold cache", "warm cache", "cold/bare",
                "warm/bare", "note"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for name, bare_name, bare, cold, warm, note in rows:
        table.add_row(name, bare_name, f"{bare:,.0f}", f"{cold:,.0f}", f"{warm:,.0f}",
                      f"{cold / bare:.2f}x", f"{warm / bare:.1f}x", note)
    Console(width=170).print(table)
    backend_table(texts, args)


def backend_table(texts: list[str], args: argparse.Namespace) -> None:
    """Each encoder backend against bare torch fp32 ``encode`` on the same texts, one run."""
    from rich.console import Console
    from rich.table import Table

    from pipeline.features import backends
    from pipeline.features.embedding import PACKAGED_MODEL, resolve_model_path

    path = resolve_model_path(PACKAGED_MODEL)
    encoders, failed = {}, {}
    for backend in backends.BACKENDS:
        started = time.perf_counter()
        try:
            encoders[backend] = backends.load(path, backend, "cpu", args.cache_dir)
            print(f"  {backend}: loaded (export or load {time.perf_counter() - started:,.1f} s)",
                  file=sys.stderr, flush=True)
        except backends.BackendUnavailable as exc:
            failed[backend] = str(exc)
    auto = backends.resolve(path, "auto", "cpu", args.cache_dir)
    measures = backends.measure(encoders, texts, repeat=args.repeat, batch_size=64)
    torch_rate = measures["torch"].texts_per_s
    table = Table(title=f"Encoder backends vs bare torch fp32 encode on the same {len(texts)} "
                        f"texts (all-MiniLM-L6-v2, batch 64, {backends.threads()} threads, "
                        f"CPU {backends.cpu_flags()}, best of {args.repeat})")
    for col in ("backend", "runtime", "texts/s", "x torch", "mean cosine", "min cosine",
                "note"):
        table.add_column(col, justify="left" if col in ("backend", "runtime", "note")
                         else "right")
    for backend in backends.BACKENDS:
        if backend in failed:
            table.add_row(backend, backends.runtime_of(backend), "", "", "", "",
                          f"unavailable: {failed[backend]}")
            continue
        m = measures[backend]
        note = "bare SentenceTransformer.encode" if backend == "torch" else (
            "" if m.matches else f"below {backends.MIN_COSINE}: auto never picks it")
        if backend == auto.backend:
            note = (note + "; " if note else "") + "auto picks it here"
        table.add_row(backend, backends.runtime_of(backend), f"{m.texts_per_s:,.0f}",
                      f"{m.texts_per_s / torch_rate:.2f}x", f"{m.mean_cosine:.5f}",
                      f"{m.min_cosine:.5f}", note)
    Console(width=170).print(table)
    print(f"auto on this machine (its probe on {len(backends.PROBE_TEXTS)} fixed texts): "
          f"{auto.describe()}")


if __name__ == "__main__":
    main()
