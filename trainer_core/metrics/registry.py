"""The metrics, declared once: their name in the results, how a person reads them, and which way is better.

Everything that shows, stores or compares scores (training's result, the CLI, the run view's curves,
the Evaluate tab's tables, the best-checkpoint choice) reads this table. The bundled ``evaluate`` modules
(``classification/``, ``regression/``, ``multi_label/``) compute them, one module per task kind; a test checks
that each returns exactly its kind's metrics, so a metric computed but not declared here (or declared and
not computed) fails instead of being dropped. Names are unique across the kinds.
No heavy import here: the UI reads it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str  # the key in the metric module's output and in events
    title: str  # how the app and the CLI name it
    higher_is_better: bool = True
    headline: bool = False  # shown in one-line summaries (CLI progress, the Evaluate tab's status)


CLASSIFICATION: tuple[Metric, ...] = (
    Metric("accuracy", "Accuracy", headline=True),
    Metric("f1", "F1", headline=True),
    Metric("precision", "Precision"),
    Metric("recall", "Recall"),
    Metric("matthews_correlation", "Matthews correlation"),
)
REGRESSION: tuple[Metric, ...] = (
    Metric("mse", "MSE", higher_is_better=False, headline=True),
    Metric("rmse", "RMSE", higher_is_better=False),
    Metric("mae", "MAE", higher_is_better=False),
    Metric("pearson", "Pearson", headline=True),
    Metric("spearman", "Spearman"),
    Metric("r2", "R²"),
)
MULTI_LABEL: tuple[Metric, ...] = (
    Metric("micro_f1", "Micro F1", headline=True),
    Metric("macro_f1", "Macro F1", headline=True),
    Metric("micro_precision", "Micro precision"),
    Metric("micro_recall", "Micro recall"),
    Metric("exact_match", "Exact match"),
    Metric("hamming_loss", "Hamming loss", higher_is_better=False),
)
# Each task kind (trainer_core.task_types) and the metrics its evaluate module computes, in that order.
BY_TASK: dict[str, tuple[Metric, ...]] = {
    "single_label": CLASSIFICATION,
    "regression": REGRESSION,
    "multi_label": MULTI_LABEL,
}
METRICS: tuple[Metric, ...] = (*CLASSIFICATION, *REGRESSION, *MULTI_LABEL)
BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}
SCORE_NAMES: tuple[str, ...] = tuple(BY_NAME)
HEADLINE: tuple[str, ...] = tuple(metric.name for metric in METRICS if metric.headline)


def title(name: str) -> str:
    """A metric's display name; an undeclared name (eval loss, runtime, ...) as it is."""
    return BY_NAME[name].title if name in BY_NAME else name


def scores(metrics: Mapping[str, object]) -> dict[str, float]:
    """The declared scores among ``metrics`` (numbers only), in declaration order."""
    return {name: float(metrics[name]) for name in SCORE_NAMES if isinstance(metrics.get(name), (int, float))}


def higher_is_better(name: str) -> bool:
    return BY_NAME[name].higher_is_better


def names_for(task_type: str | None) -> tuple[str, ...]:
    """The metric names of one task kind (single_label when None), in declaration order."""
    return tuple(metric.name for metric in BY_TASK[task_type or "single_label"])
