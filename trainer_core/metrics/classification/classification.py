"""Classification metrics for single-label text classification, as an ``evaluate`` module.

This file is loaded with ``evaluate.load(<path to this folder>)``. evaluate requires the script to be
named like its folder and copies it into its modules cache before importing it, so it must not use
relative imports and must not depend on anything in ``trainer_core``.
"""

from __future__ import annotations

import warnings

import datasets
import evaluate
from sklearn.metrics import accuracy_score, matthews_corrcoef, precision_recall_fscore_support

_DESCRIPTION = """\
Accuracy, F1, precision, recall and the Matthews correlation coefficient for single-label classification.

For two classes, F1, precision and recall are those of the positive class (``pos_label``, 1 by default),
the way GLUE reports F1 for MRPC and QQP. For more classes they are macro-averaged: every class counts
the same, whatever its size. A class that is never predicted (or never present) counts as 0 rather than
raising a warning. scikit-learn does the arithmetic.
"""

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V. and Thirion, B. and Grisel, O.
          and Blondel, M. and Prettenhofer, P. and Weiss, R. and Dubourg, V. and Vanderplas, J. and
          Passos, A. and Cournapeau, D. and Brucher, M. and Perrot, M. and Duchesnay, E.},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted class ids.
    references (`list` of `int`): true class ids.
    average (`str`): "auto" (default) uses "binary" for two classes and "macro" otherwise; "binary",
        "macro", "micro" and "weighted" are passed to scikit-learn as they are.
    pos_label (`int`): the positive class when averaging is "binary". Defaults to 1.
    labels (`list` of `int`, optional): every class id of the task. Give it (or `num_labels`) so that a
        class missing from this evaluation set still counts in the macro average.
    num_labels (`int`, optional): shorthand for `labels=range(num_labels)`.

Returns:
    A dict of plain floats: `accuracy`, `f1`, `precision`, `recall` and `matthews_correlation`.

Examples:
    >>> metric = evaluate.load("trainer_core/metrics/classification")
    >>> metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], num_labels=2)
    {'accuracy': 0.75, 'f1': 0.8, 'precision': 0.6666666666666666, 'recall': 1.0, \
'matthews_correlation': 0.5773502691896258}
"""

_AVERAGES = ("auto", "binary", "macro", "micro", "weighted")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    """Accuracy, F1, precision, recall and MCC for binary and multi-class classification."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/model_evaluation.html#classification-metrics",
                "https://gluebenchmark.com/",
            ],
        )

    def _compute(
        self,
        predictions,
        references,
        average: str = "auto",
        pos_label: int = 1,
        labels=None,
        num_labels: int | None = None,
    ) -> dict[str, float]:
        predictions = [int(p) for p in predictions]
        references = [int(r) for r in references]
        if not predictions:
            raise ValueError("There are no predictions to score: the evaluation set is empty.")
        if average not in _AVERAGES:
            raise ValueError(f"average={average!r} is not supported; use one of {', '.join(_AVERAGES)}.")

        if labels is not None:
            labels = [int(label) for label in labels]
        elif num_labels is not None:
            labels = list(range(int(num_labels)))
        else:
            labels = sorted(set(predictions) | set(references))
            if set(labels) <= {0, 1}:
                # Only 0s and 1s seen: a binary task, even if one of the classes is absent.
                labels = [0, 1]

        if average == "auto":
            average = "binary" if len(labels) == 2 else "macro"
        if average == "binary" and pos_label not in labels:
            raise ValueError(f"pos_label={pos_label} is not one of the labels {labels}.")

        precision, recall, f1, _ = precision_recall_fscore_support(
            references,
            predictions,
            labels=labels,
            average=average,
            pos_label=pos_label if average == "binary" else 1,
            zero_division=0,
        )
        with warnings.catch_warnings():
            # With a single class in both lists scikit-learn warns about the confusion matrix shape and
            # returns 0.0, which is the right answer here: there is no correlation to measure.
            warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
            mcc = matthews_corrcoef(references, predictions)
        return {
            "accuracy": float(accuracy_score(references, predictions)),
            "f1": float(f1),
            "precision": float(precision),
            "recall": float(recall),
            "matthews_correlation": float(mcc),
        }
