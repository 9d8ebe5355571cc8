"""Tables and chart data for the Evaluate and Demo tabs, from what the library returns.

Pure helpers (pandas, no gradio): an evaluation report becomes a metrics table (two models side by side
with the difference), a confusion matrix as a shaded table and as chart rows, a per-class table and a
table of mistakes; a prediction becomes what a label chart shows; a batch of predictions becomes a CSV
file to download.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer_core.errors import InputError
from trainer_core.metrics import registry as metric_registry

METRIC_TITLES = {metric.name: metric.title for metric in metric_registry.METRICS}  # declared once, there
DELTA = "Δ (B − A)"
CORNER = "true ↓ / predicted →"
PREDICTED = "predicted_label"
PREDICTED_LABELS = "predicted_labels"  # multi-label: the labels over their thresholds
PREDICTED_SCORE = "predicted_score"  # regression
PROB_PREFIX = "prob_"

# Shading: correct predictions (the diagonal) in green, mistakes in red, by the share of the true class.
_WHITE = (255, 255, 255)
_GREEN = (34, 139, 84)
_RED = (200, 55, 45)


# ------------------------------------------------------------------------------------------- metrics


def _ordered(metrics: Mapping[str, float]) -> list[str]:
    known = [name for name in METRIC_TITLES if name in metrics]
    return known + sorted(name for name in metrics if name not in METRIC_TITLES)


def metrics_frame(
    metrics: Mapping[str, float],
    compare: Mapping[str, float] | None = None,
    *,
    names: tuple[str, str] = ("A", "B"),
) -> pd.DataFrame:
    """One row per metric; with ``compare``, a second column and the difference B − A."""
    order = _ordered(metrics)
    if compare is not None:
        order += [name for name in _ordered(compare) if name not in order]
    rows = []
    for name in order:
        a = metrics.get(name)
        row: dict[str, Any] = {"metric": METRIC_TITLES.get(name, name), names[0]: _round(a)}
        if compare is not None:
            b = compare.get(name)
            row[names[1]] = _round(b)
            row[DELTA] = _round(b - a) if a is not None and b is not None else None
        rows.append(row)
    columns = ["metric", names[0], *([names[1], DELTA] if compare is not None else [])]
    # object dtype keeps a missing score as None (an empty cell), not NaN
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


# ----------------------------------------------------------------------------------- confusion matrix


def _check_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> np.ndarray:
    array = np.asarray(matrix, dtype=np.int64)
    if array.ndim != 2 or array.shape != (len(labels), len(labels)):
        raise ValueError(f"A confusion matrix for {len(labels)} labels must be {len(labels)}x{len(labels)}.")
    return array


def row_shares(matrix: Sequence[Sequence[int]]) -> np.ndarray:
    """Each cell as a share of its row (its true class); rows without examples are all 0."""
    array = np.asarray(matrix, dtype=np.float64)
    totals = array.sum(axis=1, keepdims=True)
    return np.divide(array, totals, out=np.zeros_like(array), where=totals > 0)


def confusion_frame(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> pd.DataFrame:
    """The matrix as a table: one row per true label, one column per predicted label (counts)."""
    array = _check_matrix(matrix, labels)
    frame = pd.DataFrame(array, columns=list(labels))
    frame.insert(0, CORNER, list(labels))
    return frame


def confusion_rows(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> pd.DataFrame:
    """Long rows (true, predicted, count, share) for a bar chart: bars per true label, coloured by prediction."""
    array = _check_matrix(matrix, labels)
    shares = row_shares(array)
    rows = [
        {
            "true": labels[i],
            "predicted": labels[j],
            "count": int(array[i, j]),
            "share": round(float(shares[i, j]), 4),
        }
        for i in range(len(labels))
        for j in range(len(labels))
    ]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share"])


def _mix(color: tuple[int, int, int], amount: float) -> str:
    amount = min(max(amount, 0.0), 1.0)
    r, g, b = (round(w + (c - w) * amount) for w, c in zip(_WHITE, color, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def cell_style(share: float, correct: bool) -> str:
    """CSS for one cell: green on the diagonal, red off it, darker the larger the share of the true class."""
    if share <= 0:
        return ""
    amount = 0.15 + 0.85 * share
    text = "#ffffff" if amount > 0.55 else "#111111"
    return f"background-color: {_mix(_GREEN if correct else _RED, amount)}; color: {text}"


def confusion_styler(matrix: Sequence[Sequence[int]], labels: Sequence[str]):
    """A pandas Styler of ``confusion_frame``: cells read 'count (share of the true class)' and are shaded."""
    frame = confusion_frame(matrix, labels)
    shares = row_shares(_check_matrix(matrix, labels))
    label_columns = list(labels)

    def shade(data: pd.DataFrame) -> pd.DataFrame:
        styles = pd.DataFrame("", index=data.index, columns=data.columns)
        for i in range(len(label_columns)):
            for j in range(len(label_columns)):
                styles.iloc[i, j + 1] = cell_style(float(shares[i, j]), i == j)
        styles[CORNER] = "font-weight: bold"
        return styles

    styler = frame.style.apply(shade, axis=None)
    for i in range(len(label_columns)):
        for j, column in enumerate(label_columns):
            text = f"{int(frame.iloc[i, j + 1])} ({shares[i, j]:.0%})"
            styler = styler.format(lambda _value, text=text: text, subset=pd.IndexSlice[[i], [column]])
    return styler


# ------------------------------------------------------------------------------------ per class, errors


def per_class_frame(per_class: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class; a multi-label report's rows add each label's threshold."""
    threshold = any("threshold" in row for row in per_class)
    rows = [
        {
            "label": row["label"],
            "precision": _round(row["precision"]),
            "recall": _round(row["recall"]),
            "f1": _round(row["f1"]),
            "support": int(row["support"]),
            **({"threshold": _round(row.get("threshold"))} if threshold else {}),
        }
        for row in per_class
    ]
    return pd.DataFrame(rows, columns=["label", "precision", "recall", "f1", "support", *(["threshold"] * threshold)])


def errors_frame(errors: Sequence[Mapping[str, Any]], *, pair: bool | None = None, model: str | None = None):
    """The misclassified examples: [model,] true label, prediction, confidence, text[, second text].

    A regression report's rows (with ``error``) show the true and predicted numbers and the error instead
    of a confidence, largest first; a multi-label report's rows the label sets, and the labels missed and
    added. The short columns come first so they stay in view next to long texts.
    """
    if pair is None:
        pair = any("text_pair" in row for row in errors)
    regression = any("error" in row for row in errors)
    multi = any("missed" in row for row in errors)
    middle = ["error"] if regression else ["missed", "extra", "confidence"] if multi else ["confidence"]
    columns = ["true label", "predicted", *middle, "text", *(["text_pair"] if pair else [])]
    rows = []
    for row in errors:
        out = {"true label": row["label"], "predicted": row["predicted"]}
        for name in middle:
            out[name] = _round(row[name]) if name in ("error", "confidence") else row.get(name, "")
        out["text"] = row.get("text", "")
        if pair:
            out["text_pair"] = row.get("text_pair", "")
        rows.append(out)
    frame = pd.DataFrame(rows, columns=columns)
    if model is not None:
        frame.insert(0, "model", model)
    return frame


def errors_column_widths(frame: pd.DataFrame) -> list[str]:
    """Widths for the misclassified examples: the short columns as wide as their content, the text columns
    70% of the table between them. Left to the table, a text column took the table's whole width and the
    short columns came on top: the texts ran off its right edge."""
    texts = [column for column in frame.columns if column in ("text", "text_pair")]
    return [f"{70 // len(texts)}%" if column in texts else "auto" for column in frame.columns]


def summary_markdown(report: Mapping[str, Any], *, name: str = "", seconds: float | None = None) -> str:
    """One line saying what was evaluated on what, and the headline scores."""
    metrics = report.get("metrics", {})
    scores = ", ".join(
        f"{METRIC_TITLES.get(k, k)} **{metrics[k]:.4f}**" for k in metric_registry.HEADLINE if k in metrics
    )
    labels = report.get("label_names", [])
    where = f"split `{report.get('split')}` of `{Path(str(report.get('dataset', ''))).name or report.get('dataset')}`"
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    prefix = f"**{name}** " if name else ""
    text = f"{prefix}`{report.get('model')}` on {report.get('rows')} rows of {where}{took}: {scores}."
    kind = report.get("task_type") or "single_label"
    if kind == "regression":
        text += f" A regression of `{labels[0] if labels else 'the target'}`: the plot shows each row's prediction against the truth."
    elif kind == "multi_label":
        text += (
            " Multi-label: each label is predicted when its probability reaches its own threshold (per label below)."
        )
    elif len(labels) == 2:
        text += f" F1, precision and recall are for the class '{labels[1]}'."
    elif labels:
        text += " F1, precision and recall are macro averages over the classes."
    for note in report.get("notes") or []:
        text += f"\n\n⚠️ {note}"
    return text


def scatter_frame(points: Sequence[Mapping[str, float]], model: str = "A") -> pd.DataFrame:
    """A regression report's (true, predicted) points for a scatter plot, with the model's name as the series."""
    return pd.DataFrame(
        {
            "true": pd.Series([float(p["true"]) for p in points], dtype="float64"),
            "predicted": pd.Series([float(p["predicted"]) for p in points], dtype="float64"),
            "model": pd.Series([model] * len(points), dtype="str"),
        }
    )


# ---------------------------------------------------------------------------------------- predictions


def label_output(scores: Mapping[str, float], aliases: Mapping[str, str] | None = None) -> dict[str, float]:
    """Probabilities for a label chart: display names, plain floats, highest first."""
    aliases = aliases or {}
    out: dict[str, float] = {}
    for name, value in scores.items():
        out[aliases.get(name, name)] = float(value)
    return dict(sorted(out.items(), key=lambda item: -item[1]))


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def batch_columns(frame: pd.DataFrame, *, pair: bool) -> tuple[str, str | None]:
    """The text column (and the second text column for pairs) of an uploaded table."""
    from trainer_core.data import PAIR_CANDIDATES, TEXT_CANDIDATES

    columns = [str(c) for c in frame.columns]
    shown = ", ".join(columns) or "(none)"
    if pair:
        for first, second in PAIR_CANDIDATES:
            a, b = _find_column(columns, [first]), _find_column(columns, [second])
            if a and b:
                return a, b
        raise InputError(
            f"Paraphrase mode needs two text columns named sentence1 and sentence2 (or text1/text2, "
            f"question1/question2). Columns found: {shown}."
        )
    text = _find_column(columns, TEXT_CANDIDATES)
    if text is None:
        strings = [c for c in columns if pd.api.types.is_string_dtype(frame[c])]
        if len(strings) == 1:
            text = strings[0]
    if text is None:
        raise InputError(f"No text column found: name the column with the texts 'text'. Columns found: {shown}.")
    return text, None


def batch_texts(frame: pd.DataFrame, column: str) -> list[str]:
    """The column as strings; empty cells (NaN, None, blanks) become ''."""
    out = []
    for value in frame[column].tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append("")
        else:
            out.append(str(value).strip())
    return out


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def predictions_frame(
    frame: pd.DataFrame,
    probs: np.ndarray,
    label_names: Sequence[str],
    *,
    predicted: Sequence[bool] | None = None,
    task_type: str = "single_label",
    thresholds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """``frame`` plus the predicted label and one probability column per label.

    ``predicted`` marks the rows that were predicted (rows with an empty text were not): the others get an
    empty label and empty probabilities. Existing columns are never overwritten. A regression adds one
    ``predicted_score`` column; a multi-label model adds ``predicted_labels`` (the labels over their
    ``thresholds``, joined by "; ") and each label's probability.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(frame), len(label_names)):
        raise ValueError(f"Expected probabilities of shape ({len(frame)}, {len(label_names)}), got {probs.shape}.")
    mask = np.ones(len(frame), dtype=bool) if predicted is None else np.asarray(predicted, dtype=bool)
    out = frame.copy()
    taken = {str(c) for c in out.columns}
    if task_type == "regression":
        values = probs[:, 0] if len(label_names) else np.zeros(len(frame))
        out[_unique(PREDICTED_SCORE, taken)] = [
            round(float(v), 6) if keep else None for v, keep in zip(values, mask, strict=True)
        ]
        return out
    if task_type == "multi_label":
        limits = np.asarray(thresholds if thresholds is not None else [0.5] * len(label_names), dtype=np.float64)
        out[_unique(PREDICTED_LABELS, taken)] = [
            "; ".join(name for name, p, t in zip(label_names, row, limits, strict=True) if p >= t) if keep else ""
            for row, keep in zip(probs, mask, strict=True)
        ]
    else:
        best = probs.argmax(axis=1) if len(label_names) else np.zeros(len(frame), dtype=int)
        out[_unique(PREDICTED, taken)] = [label_names[b] if keep else "" for b, keep in zip(best, mask, strict=True)]
    for j, name in enumerate(label_names):
        column = _unique(PROB_PREFIX + re.sub(r"\s+", "_", str(name).strip()), taken)
        out[column] = [round(float(p), 6) if keep else None for p, keep in zip(probs[:, j], mask, strict=True)]
    return out


def write_predictions_csv(frame: pd.DataFrame, directory: str | Path, source_name: str = "texts") -> Path:
    """Write ``frame`` as '<source>-predictions.csv' (UTF-8, no index) in ``directory``."""
    stem = re.sub(r"[^\w.-]+", "_", Path(source_name).stem).strip("._") or "texts"
    path = Path(directory) / f"{stem[:80]}-predictions.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


__all__ = [
    "CORNER",
    "DELTA",
    "METRIC_TITLES",
    "PREDICTED",
    "PROB_PREFIX",
    "batch_columns",
    "batch_texts",
    "cell_style",
    "confusion_frame",
    "confusion_rows",
    "confusion_styler",
    "errors_column_widths",
    "errors_frame",
    "label_output",
    "metrics_frame",
    "per_class_frame",
    "predictions_frame",
    "row_shares",
    "scatter_frame",
    "summary_markdown",
    "write_predictions_csv",
]
