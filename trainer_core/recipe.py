"""Adaptive training defaults: the options a user leaves unset are chosen from the model and the data.

Every option a user gives is kept as given. An unset one (``None`` in the config) is filled here with a
value and a one-line reason, and the run reports both (an event at start, the ``chosen`` section of the
run's ``trainer_studio.yaml``). The rules come from ``bench/explore_recipe.py`` and are checked against
the Hugging Face course recipe by ``bench/bench_quality.py``; figures in ``bench/RESULTS.md``.

Pure functions of numbers, no I/O: the model's size comes from its ``config.json`` (no weights needed),
the data's from row counts, so the choices can be tested and previewed before anything downloads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Sizes are counted without the embeddings: the vocabulary (30k for BERT, 120k for multilingual BERT)
# changes the parameter count a lot but not how large a step the encoder's layers tolerate.
TINY_BODY = 2_000_000
SMALL_BODY = 30_000_000
LARGE_BODY = 200_000_000

LEARNING_RATES = {"tiny": 1e-4, "small": 1e-4, "base": 5e-5, "large": 2e-5}

# Hold-out and model selection: a checkpoint chosen on a few hundred rows is chosen on noise (the
# standard error of an accuracy on 200 rows is about 3 points), so selection needs this many rows.
SELECTION_MIN_EVAL_ROWS = 1000
SMALL_DATA_ROWS = 10_000
SMALL_HOLD_OUT = 0.05
LARGE_HOLD_OUT_ROWS = 2000

DEFAULT_BATCH = 32
SMALL_DATA_BATCH = 16
# Fewer optimizer steps than this in batches of 32 and the batch is halved: a fine-tune of a few dozen steps
# barely moves the encoder and leaves minority classes unlearned.
MIN_STEPS = 150
SMALL_DATA_ROWS_FOR_STEPS = 500
WARMUP_SHARE = 0.1
MAX_WARMUP_STEPS = 500


@dataclass(frozen=True)
class ModelSize:
    parameters: int
    body_parameters: int
    hidden_size: int
    layers: int

    @property
    def kind(self) -> str:
        if self.body_parameters < TINY_BODY:
            return "tiny"
        if self.body_parameters < SMALL_BODY:
            return "small"
        if self.body_parameters < LARGE_BODY:
            return "base"
        return "large"

    def describe(self) -> str:
        return (
            f"{self.kind} encoder: {_millions(self.parameters)} parameters, "
            f"{self.layers} layers of width {self.hidden_size}"
        )


@dataclass(frozen=True)
class Choice:
    """One option the defaults filled in: where it goes, the value, and why."""

    section: str
    name: str
    value: Any
    reason: str

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"option": self.key, "value": self.value, "reason": self.reason}


def _millions(count: int) -> str:
    return f"{count / 1e6:.1f}M"


def _first(config: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        value = config.get(name)
        if isinstance(value, (int, float)) and value > 0:
            return value
    return default


def model_size(model_config: dict[str, Any]) -> ModelSize:
    """Estimate an encoder's size from its ``config.json`` (BERT, DistilBERT, RoBERTa, MPNet, ELECTRA, ...)."""
    hidden = int(_first(model_config, "hidden_size", "dim", "d_model", default=768))
    layers = int(_first(model_config, "num_hidden_layers", "n_layers", "num_layers", default=12))
    inner = int(_first(model_config, "intermediate_size", "hidden_dim", "d_ff", default=4 * hidden))
    vocab = int(_first(model_config, "vocab_size", default=30522))
    positions = int(_first(model_config, "max_position_embeddings", default=512))
    embedding = int(_first(model_config, "embedding_size", default=hidden))
    # Per layer: Q, K, V and output projections (4h² + 4h), the feed-forward (2hi + h + i), two layer norms.
    per_layer = 4 * hidden * hidden + 4 * hidden + 2 * hidden * inner + hidden + inner + 4 * hidden
    body = layers * per_layer
    token_types = int(_first(model_config, "type_vocab_size", default=0))
    embeddings = (vocab + positions + token_types + 2) * embedding + (embedding * hidden if embedding != hidden else 0)
    pooler = 0 if model_config.get("model_type") == "distilbert" else hidden * hidden + hidden
    return ModelSize(body + embeddings + pooler, body, hidden, layers)


def learning_rate(size: ModelSize) -> Choice:
    lr = LEARNING_RATES[size.kind]
    why = {
        "tiny": "a tiny encoder takes large steps",
        "small": "small encoders fine-tune best with about twice BERT-base's rate",
        "base": "the usual rate for base-size encoders (BERT-base, RoBERTa-base, MPNet-base, DistilBERT)",
        "large": "large encoders diverge at base-size rates",
    }[size.kind]
    return Choice("training", "learning_rate", lr, f"{size.describe()}: {why}")


def validation_share(train_split_rows: int) -> Choice:
    """How much of the training split to hold out when the dataset has no eval split."""
    if train_split_rows < SMALL_DATA_ROWS:
        return Choice(
            "data",
            "validation_size",
            SMALL_HOLD_OUT,
            f"{train_split_rows:,} training rows and no eval split: hold out only {SMALL_HOLD_OUT:.0%}, to report "
            f"scores, so training keeps {1 - SMALL_HOLD_OUT:.0%} of a small dataset",
        )
    share = min(0.1, LARGE_HOLD_OUT_ROWS / train_split_rows)
    rows = math.ceil(train_split_rows * share)
    return Choice(
        "data",
        "validation_size",
        round(share, 4),
        f"{train_split_rows:,} training rows and no eval split: hold out {rows:,} rows ({share:.1%}), "
        "enough to choose the best checkpoint",
    )


def model_selection(eval_rows: int, early_stopping: bool) -> Choice:
    if early_stopping:
        return Choice(
            "training", "model_selection", "best", "early stopping keeps the best checkpoint by the task's metric"
        )
    if eval_rows >= SELECTION_MIN_EVAL_ROWS:
        return Choice(
            "training",
            "model_selection",
            "best",
            f"{eval_rows:,} eval rows are enough to tell checkpoints apart: keep the best by the task's metric",
        )
    return Choice(
        "training",
        "model_selection",
        "last",
        f"{eval_rows:,} eval rows are too few to choose a checkpoint on (under {SELECTION_MIN_EVAL_ROWS:,}, the "
        "differences are mostly noise): keep the final model, whose learning rate has decayed to zero",
    )


def epochs(train_rows: int) -> Choice:
    if train_rows < SMALL_DATA_ROWS_FOR_STEPS:
        value, why = 5.0, "under 500 rows: more passes, or the classifier head barely learns"
    elif train_rows < 50_000:
        value, why = 3.0, "the usual 3 passes"
    elif train_rows < 200_000:
        value, why = 2.0, "a large dataset: 2 passes give enough steps"
    else:
        value, why = 1.0, "a very large dataset: one pass gives enough steps"
    return Choice("training", "epochs", value, f"{train_rows:,} training rows: {why}")


def batch_size(train_rows: int, n_epochs: float | None, accumulation: int = 1, max_steps: int = -1) -> Choice:
    """Batches of 32, or of 16 when 32 would leave a small dataset too few optimizer steps to learn its rarer
    classes (bench/RESULTS.md: MPNet-base on 570 tweets, 54 steps against 108)."""
    if max_steps > 0:
        return Choice(
            "training",
            "batch_size",
            DEFAULT_BATCH,
            f"{train_rows:,} training rows and {max_steps:,} steps given: the usual batch of 32",
        )
    steps = total_steps(train_rows, DEFAULT_BATCH, accumulation, n_epochs, max_steps)
    if steps < MIN_STEPS:
        halved = total_steps(train_rows, SMALL_DATA_BATCH, accumulation, n_epochs, max_steps)
        return Choice(
            "training",
            "batch_size",
            SMALL_DATA_BATCH,
            f"{train_rows:,} training rows x {n_epochs:g} epochs are only {steps} optimizer steps in batches of "
            f"{DEFAULT_BATCH}: batches of {SMALL_DATA_BATCH} give {halved}",
        )
    return Choice(
        "training",
        "batch_size",
        DEFAULT_BATCH,
        f"{train_rows:,} training rows x {n_epochs:g} epochs: {steps:,} optimizer steps in the usual batches of 32",
    )


def warmup(total_steps: int) -> Choice:
    if total_steps * WARMUP_SHARE <= MAX_WARMUP_STEPS:
        return Choice(
            "training",
            "warmup_ratio",
            WARMUP_SHARE,
            f"{total_steps:,} optimizer steps: warm up over the first {WARMUP_SHARE:.0%}",
        )
    share = round(MAX_WARMUP_STEPS / total_steps, 4)
    if abs(share * total_steps - MAX_WARMUP_STEPS) > 0.05 * MAX_WARMUP_STEPS:
        # Four places are too few on millions of steps (500 of 10 million rounded to 0.0001, twice as many).
        share = float(f"{MAX_WARMUP_STEPS / total_steps:.3g}")
    return Choice(
        "training",
        "warmup_ratio",
        share,
        f"{total_steps:,} optimizer steps: warm up over {MAX_WARMUP_STEPS} steps; longer warm-ups only waste steps",
    )


def total_steps(train_rows: int, batch: int, accumulation: int, n_epochs: float | None, max_steps: int) -> int:
    if max_steps > 0 or n_epochs is None:
        return max(max_steps, 1)
    return max(1, math.ceil(math.ceil(train_rows / batch) / accumulation * n_epochs))


def training_choices(training: Any, model_config: dict[str, Any], train_rows: int, eval_rows: int) -> list[Choice]:
    """The choices for every unset option (``None``, or ``"auto"`` for model selection) of ``training``."""
    chosen: list[Choice] = []
    if training.learning_rate is None:
        chosen.append(learning_rate(model_size(model_config)))
    if training.epochs is None and training.max_steps <= 0:  # max_steps overrides epochs: nothing to choose
        chosen.append(epochs(train_rows))
    n_epochs = training.epochs or next((c.value for c in chosen if c.name == "epochs"), None)
    if training.batch_size is None:
        chosen.append(batch_size(train_rows, n_epochs, training.gradient_accumulation_steps, training.max_steps))
    if training.warmup_ratio is None:
        batch = training.batch_size or next(c.value for c in chosen if c.name == "batch_size")
        steps = total_steps(train_rows, batch, training.gradient_accumulation_steps, n_epochs, training.max_steps)
        chosen.append(warmup(steps))
    if training.model_selection == "auto":
        chosen.append(model_selection(eval_rows, bool(training.early_stopping_patience)))
    return chosen


def describe(choices: list[Choice]) -> list[str]:
    """One line per choice, for the CLI and the UI."""
    return [f"{c.key} = {c.value:g}: {c.reason}" if isinstance(c.value, float) else f"{c.key} = {c.value}: {c.reason}"
            for c in choices]  # fmt: skip
