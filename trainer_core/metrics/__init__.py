"""Evaluation metrics for fine-tuned models, loaded without the Hugging Face Hub.

``evaluate.load("accuracy")`` fetches the metric script from the Hub. This package ships its own
``evaluate`` modules, one per task kind (``classification/classification.py``, ``regression/regression.py``,
``multi_label/multi_label.py``), so that evaluation works offline:
``evaluate.load`` on a local path reads the script, copies it into evaluate's modules cache
(``$HF_MODULES_CACHE``, by default ``~/.cache/huggingface/modules/evaluate_modules``) and imports it from
there. It makes no network request and writes nothing into this package. It does need that cache folder
(and ``$HF_METRICS_CACHE``, which every evaluate module creates) to be writable.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import evaluate
    import transformers

METRIC_PATH: Path = Path(__file__).resolve().parent / "classification" / "classification.py"
"""The ``evaluate`` script that computes accuracy, F1, precision, recall and MCC."""
REGRESSION_METRIC_PATH: Path = Path(__file__).resolve().parent / "regression" / "regression.py"
"""The ``evaluate`` script that computes MSE, RMSE, MAE, Pearson, Spearman and R2."""
MULTI_LABEL_METRIC_PATH: Path = Path(__file__).resolve().parent / "multi_label" / "multi_label.py"
"""The ``evaluate`` script that computes micro and macro F1, micro precision and recall, exact match, Hamming loss."""
METRIC_PATHS: dict[str, Path] = {
    "single_label": METRIC_PATH,
    "regression": REGRESSION_METRIC_PATH,
    "multi_label": MULTI_LABEL_METRIC_PATH,
}

# The metric instance is shared (see ``load_classification_metric``) and ``compute`` keeps its
# predictions in a per-instance buffer, so two evaluations must not run it at the same time.
_COMPUTE_LOCK = threading.Lock()


def _load(path: Path) -> evaluate.EvaluationModule:
    import evaluate

    return evaluate.load(str(path), keep_in_memory=True)


@functools.cache
def load_classification_metric() -> evaluate.EvaluationModule:
    """Load the bundled classification metric (once per process).

    Works offline: a local script never touches the Hub, whatever ``HF_HUB_OFFLINE`` or
    ``HF_EVALUATE_OFFLINE`` say. The instance keeps its inputs in memory, so computing it writes no
    Arrow files.
    """
    return _load(METRIC_PATH)


@functools.cache
def load_metric(task_type: str = "single_label") -> evaluate.EvaluationModule:
    """The bundled metric of one task kind (once per process), offline like ``load_classification_metric``."""
    if task_type == "single_label":
        return load_classification_metric()
    return _load(METRIC_PATHS[task_type])


def compute_classification_metrics(
    predictions: Sequence[int], references: Sequence[int], num_labels: int
) -> dict[str, float]:
    """Accuracy, F1, precision, recall and MCC through the shared metric instance, one caller at a time.

    Every class id ``0 .. num_labels - 1`` is known, so a class missing from the data still counts in
    the macro average.
    """
    metric = load_classification_metric()
    with _COMPUTE_LOCK:
        result = metric.compute(
            predictions=list(predictions), references=list(references), labels=list(range(num_labels))
        )
    return {name: float(value) for name, value in result.items()}


def compute_regression_metrics(predictions: Sequence[float], references: Sequence[float]) -> dict[str, float]:
    """MSE, RMSE, MAE, Pearson, Spearman and R2 through the shared metric instance, one caller at a time."""
    metric = load_metric("regression")
    with _COMPUTE_LOCK:
        result = metric.compute(predictions=[float(p) for p in predictions], references=[float(r) for r in references])
    return {name: float(value) for name, value in result.items()}


def compute_multi_label_metrics(predictions: np.ndarray, references: np.ndarray) -> dict[str, float]:
    """Micro/macro F1, micro precision/recall, exact match and Hamming loss of multi-hot arrays (rows x labels)."""
    metric = load_metric("multi_label")
    predictions = (np.asarray(predictions) > 0.5).astype(int).tolist()
    references = (np.asarray(references) > 0.5).astype(int).tolist()
    with _COMPUTE_LOCK:
        result = metric.compute(predictions=predictions, references=references)
    return {name: float(value) for name, value in result.items()}


def primary_metric(num_labels: int, task_type: str | None = None) -> str:
    """The metric to report first and to pick the best checkpoint by.

    Binary tasks use F1 of the positive class, as GLUE reports MRPC and QQP: on unbalanced data a model
    that always answers the majority class gets a high accuracy but an F1 of 0. Multi-class tasks use
    accuracy, as GLUE reports SST-2 and MNLI: it is the number people compare and macro-F1 is reported
    next to it. Multi-label tasks use micro-F1 (every row-and-label decision counts once, so a rare label
    cannot swing it); regression uses the mean squared error, the loss it is trained on (lower is better).
    """
    if task_type == "regression":
        return "mse"
    if task_type == "multi_label":
        return "micro_f1"
    return "f1" if num_labels == 2 else "accuracy"


def _first(value):
    return value[0] if isinstance(value, tuple | list) else value


class MultiLabelMetrics:
    """``compute_metrics`` for a multi-label model: sigmoid of the logits, each label predicted from 0.5.

    It keeps the last evaluation's probabilities and references (``last``), so training can tune the
    per-label thresholds on them without another pass over the eval split.
    """

    def __init__(self) -> None:
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, eval_pred: transformers.EvalPrediction) -> dict[str, float]:
        from trainer_core.task_types import DEFAULT_THRESHOLD, sigmoid

        probs = sigmoid(np.asarray(_first(eval_pred.predictions), dtype=np.float64))
        references = np.asarray(_first(eval_pred.label_ids), dtype=np.float64).reshape(probs.shape)
        self.last = (probs, references)
        return compute_multi_label_metrics(probs >= DEFAULT_THRESHOLD, references)


def build_compute_metrics(
    num_labels: int, task_type: str | None = None
) -> Callable[[transformers.EvalPrediction], dict[str, float]]:
    """A ``compute_metrics`` function for ``transformers.Trainer``.

    Single-label: the argmax of the logits (the first element when the model returns a tuple) is scored
    against the labels with every class id ``0 .. num_labels - 1`` known, so that a class missing from
    the evaluation set still counts in the macro average. Regression: the one output is the prediction.
    Multi-label: see ``MultiLabelMetrics``.
    """
    if task_type == "regression":

        def regression_metrics(eval_pred: transformers.EvalPrediction) -> dict[str, float]:
            predictions = np.asarray(_first(eval_pred.predictions), dtype=np.float64).reshape(-1)
            references = np.asarray(_first(eval_pred.label_ids), dtype=np.float64).reshape(-1)
            return compute_regression_metrics(predictions.tolist(), references.tolist())

        return regression_metrics
    if task_type == "multi_label":
        return MultiLabelMetrics()
    if num_labels < 2:
        raise ValueError(f"A classifier needs at least 2 labels; got num_labels={num_labels}.")

    def compute_metrics(eval_pred: transformers.EvalPrediction) -> dict[str, float]:
        logits, references = _first(eval_pred.predictions), _first(eval_pred.label_ids)
        predictions = np.asarray(logits).argmax(axis=-1).reshape(-1)
        references = np.asarray(references).reshape(-1)
        return compute_classification_metrics(predictions.tolist(), references.tolist(), num_labels)

    return compute_metrics
