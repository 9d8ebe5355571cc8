"""The three kinds of task a run can train: one class per row, several labels per row, or a number.

``DataConfig.task_type`` names the kind. Left empty, it is detected from the label column: a column of lists
(or any column when a label separator is given) is multi-label; anything else is single-label, exactly as
before the other kinds existed. A column of
fractional numbers is never trained as a regression without being asked: the preview and the errors suggest
it. The kind of a trained model is read back from its ``config.json`` (transformers' ``problem_type``).

Multi-label labels come as a list per row (JSON, JSON Lines, Parquet, a Hub dataset) or as one string per
row that is split into labels: at every ``,`` ``;`` or ``|`` by default, or only at ``label_separator``
when it is given. Parts are stripped; empty parts are dropped; an empty cell (or an empty list) means that
none of the labels applies to the row.

Pure functions of numbers and strings (numpy only), so the UI and the CLI can use them without torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

SINGLE_LABEL = "single_label"
MULTI_LABEL = "multi_label"
REGRESSION = "regression"
TASK_TYPES = (SINGLE_LABEL, MULTI_LABEL, REGRESSION)
TITLES = {SINGLE_LABEL: "single label", MULTI_LABEL: "multi-label", REGRESSION: "regression"}

# transformers' names for them (PretrainedConfig.problem_type).
PROBLEM_TYPES = {
    SINGLE_LABEL: "single_label_classification",
    MULTI_LABEL: "multi_label_classification",
    REGRESSION: "regression",
}

DEFAULT_SEPARATORS = ",;|"
DEFAULT_THRESHOLD = 0.5
THRESHOLDS_KEY = "label_thresholds"  # in a multi-label model's config.json: {label: threshold}
# Thresholds tried per label when tuning; a coarse grid, because eval splits are small and a fine one overfits.
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


def title(task_type: str | None) -> str:
    return TITLES.get(task_type or SINGLE_LABEL, str(task_type))


def of_model_config(config: Any) -> str:
    """The kind of a model, from its config (a ``PretrainedConfig`` or its dict)."""
    get = config.get if isinstance(config, Mapping) else lambda name, default=None: getattr(config, name, default)
    problem = get("problem_type")
    if problem == PROBLEM_TYPES[REGRESSION]:
        return REGRESSION
    if problem == PROBLEM_TYPES[MULTI_LABEL]:
        return MULTI_LABEL
    if problem is None and _num_labels(get) == 1:
        return REGRESSION  # transformers reads a one-output head without a problem type as a regression
    return SINGLE_LABEL


def _num_labels(get: Any) -> int:
    id2label = get("id2label") or {}
    return len(id2label) if id2label else int(get("num_labels", 2) or 2)


def model_thresholds(config: Any, label_names: Sequence[str]) -> list[float]:
    """A multi-label model's threshold per label (stored at training time), 0.5 where none is stored."""
    get = config.get if isinstance(config, Mapping) else lambda name, default=None: getattr(config, name, default)
    stored = get(THRESHOLDS_KEY) or {}
    if isinstance(stored, Sequence) and not isinstance(stored, str):
        stored = dict(zip(label_names, stored, strict=False))
    out = []
    for name in label_names:
        value = stored.get(name) if isinstance(stored, Mapping) else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < float(value) < 1
        out.append(float(value) if ok else DEFAULT_THRESHOLD)
    return out


# ------------------------------------------------------------------------------------ multi-label values


def is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def split_labels(value: Any, separator: str | None = None) -> list[str]:
    """The labels of one multi-label cell, in order, without repeats.

    A list keeps its items (as text, stripped); a string is split at ``separator``, or at every ``,`` ``;``
    and ``|`` when none is given. None, NaN, an empty string and an empty list are no labels at all.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if is_list(value):
        parts = [str(item).strip() for item in value if item is not None]
    elif separator:
        parts = [part.strip() for part in str(value).split(separator)]
    else:
        parts = [part.strip() for part in re.split(f"[{re.escape(DEFAULT_SEPARATORS)}]", str(value))]
    return list(dict.fromkeys(part for part in parts if part))


# ------------------------------------------------------------------------------------- regression values


def to_number(value: Any) -> float | None:
    """A regression target as a float; None when it is not a finite number (booleans are not numbers)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def is_fractional(values: Sequence[Any]) -> bool:
    """Whether numeric labels include a value that is not a whole number (3.7): a regression target, likely."""
    numbers = [v for v in values if not isinstance(v, (bool, np.bool_)) and isinstance(v, (float, np.floating))]
    return bool(numbers) and any(math.isfinite(float(v)) and not float(v).is_integer() for v in numbers)


def target_summary(values: Sequence[float], bins: int = 20) -> dict[str, Any]:
    """What a regression target looks like: count, mean, spread, quantiles and a histogram."""
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if len(array) == 0:
        return {"count": 0}
    low, high = float(array.min()), float(array.max())
    counts, edges = np.histogram(array, bins=bins if high > low else 1)
    return {
        "count": len(array),
        "mean": round(float(array.mean()), 4),
        "std": round(float(array.std()), 4),
        "min": round(low, 4),
        "p25": round(float(np.percentile(array, 25)), 4),
        "median": round(float(np.median(array)), 4),
        "p75": round(float(np.percentile(array, 75)), 4),
        "max": round(high, 4),
        "distinct": len(np.unique(array)),
        "histogram": [int(c) for c in counts],
        "bin_edges": [round(float(e), 4) for e in edges],
    }


# ------------------------------------------------------------------------------------------- thresholds


def sigmoid(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def tune_thresholds(probs: np.ndarray, references: np.ndarray) -> list[float]:
    """Per label, the threshold on the grid that gives that label its best F1 on these rows.

    Ties go to the threshold nearest 0.5; a label without a single positive row here keeps 0.5 (any
    threshold would be a guess). Tuned on the eval split, so scores measured on the same rows are optimistic.
    """
    probs = np.asarray(probs, dtype=np.float64)
    references = np.asarray(references) > 0.5
    thresholds = []
    for j in range(probs.shape[1]):
        truth = references[:, j]
        if not truth.any():
            thresholds.append(DEFAULT_THRESHOLD)
            continue
        best, best_f1 = DEFAULT_THRESHOLD, -1.0
        for threshold in sorted(THRESHOLD_GRID, key=lambda t: abs(t - DEFAULT_THRESHOLD)):
            predicted = probs[:, j] >= threshold
            tp = float(np.sum(predicted & truth))
            f1 = 2 * tp / (float(predicted.sum()) + float(truth.sum()))
            if f1 > best_f1 + 1e-12:
                best, best_f1 = threshold, f1
        thresholds.append(best)
    return thresholds


def apply_thresholds(probs: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Multi-hot predictions (0/1 ints): each label where its probability reaches its threshold."""
    return (np.asarray(probs) >= np.asarray(thresholds, dtype=np.float64)[None, :]).astype(np.int64)


__all__ = [
    "MULTI_LABEL",
    "PROBLEM_TYPES",
    "REGRESSION",
    "SINGLE_LABEL",
    "TASK_TYPES",
    "THRESHOLDS_KEY",
    "apply_thresholds",
    "is_fractional",
    "model_thresholds",
    "of_model_config",
    "sigmoid",
    "split_labels",
    "target_summary",
    "to_number",
    "tune_thresholds",
]
