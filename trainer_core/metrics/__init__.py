"""Evaluation metrics for fine-tuned classifiers, loaded without the Hugging Face Hub.

``evaluate.load("accuracy")`` fetches the metric script from the Hub. This package ships its own
``evaluate`` module (``classification/classification.py``) so that evaluation works offline:
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

# The metric instance is shared (see ``load_classification_metric``) and ``compute`` keeps its
# predictions in a per-instance buffer, so two evaluations must not run it at the same time.
_COMPUTE_LOCK = threading.Lock()


@functools.cache
def load_classification_metric() -> evaluate.EvaluationModule:
    """Load the bundled classification metric (once per process).

    Works offline: a local script never touches the Hub, whatever ``HF_HUB_OFFLINE`` or
    ``HF_EVALUATE_OFFLINE`` say. The instance keeps its inputs in memory, so computing it writes no
    Arrow files.
    """
    import evaluate

    return evaluate.load(str(METRIC_PATH), keep_in_memory=True)


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


def primary_metric(num_labels: int) -> str:
    """The metric to report first and to pick the best checkpoint by.

    Binary tasks use F1 of the positive class, as GLUE reports MRPC and QQP: on unbalanced data a model
    that always answers the majority class gets a high accuracy but an F1 of 0. Multi-class tasks use
    accuracy, as GLUE reports SST-2 and MNLI: it is the number people compare and macro-F1 is reported
    next to it.
    """
    return "f1" if num_labels == 2 else "accuracy"


def build_compute_metrics(num_labels: int) -> Callable[[transformers.EvalPrediction], dict[str, float]]:
    """A ``compute_metrics`` function for ``transformers.Trainer``.

    It takes the argmax of the logits (the first element when the model returns a tuple) and scores it
    against the labels with every class id ``0 .. num_labels - 1`` known, so that a class missing from
    the evaluation set still counts in the macro average.
    """
    if num_labels < 2:
        raise ValueError(f"A classifier needs at least 2 labels; got num_labels={num_labels}.")

    def compute_metrics(eval_pred: transformers.EvalPrediction) -> dict[str, float]:
        logits, references = eval_pred.predictions, eval_pred.label_ids
        if isinstance(logits, tuple | list):
            logits = logits[0]
        if isinstance(references, tuple | list):
            references = references[0]
        predictions = np.asarray(logits).argmax(axis=-1).reshape(-1)
        references = np.asarray(references).reshape(-1)
        return compute_classification_metrics(predictions.tolist(), references.tolist(), num_labels)

    return compute_metrics
