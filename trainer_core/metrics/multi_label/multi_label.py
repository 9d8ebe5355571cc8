"""Multi-label classification metrics (any number of labels per row), as an ``evaluate`` module.

Loaded with ``evaluate.load(<path to this folder>)``; like the classification module it must not use
relative imports nor depend on anything in ``trainer_core`` (evaluate copies it into its modules cache).
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support

_DESCRIPTION = """\
Micro and macro F1, micro precision and recall, exact-match (subset) accuracy and the Hamming loss of
multi-hot predictions against multi-hot references (one 0/1 column per label).

Micro averages count every (row, label) decision once, so frequent labels weigh more; macro averages give
every label the same weight, however rare. A label never predicted (or never present) counts as 0 rather
than raising a warning. Exact match is the share of rows whose whole label set is right; the Hamming loss
is the share of (row, label) decisions that are wrong. scikit-learn does the arithmetic.
"""

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`): one 0/1 list per row, one item per label.
    references (`list` of `list` of `int`): the same shape, the true labels.

Returns:
    A dict of plain floats: `micro_f1`, `macro_f1`, `micro_precision`, `micro_recall`, `exact_match` and
    `hamming_loss`.

Examples:
    >>> metric = evaluate.load("trainer_core/metrics/multi_label")
    >>> metric.compute(predictions=[[1, 0, 1], [0, 1, 0]], references=[[1, 0, 0], [0, 1, 0]])
    {'micro_f1': 0.8, 'macro_f1': 0.6666666666666666, 'micro_precision': 0.6666666666666666, \
'micro_recall': 1.0, 'exact_match': 0.5, 'hamming_loss': 0.16666666666666666}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MultiLabel(evaluate.Metric):
    """Micro/macro F1, micro precision/recall, exact match and Hamming loss for multi-label classification."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("int64")),
                    "references": datasets.Sequence(datasets.Value("int64")),
                }
            ),
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html#multilabel-ranking-metrics"],
        )

    def _compute(self, predictions, references) -> dict[str, float]:
        predictions = np.asarray([[int(v) for v in row] for row in predictions], dtype=np.int64)
        references = np.asarray([[int(v) for v in row] for row in references], dtype=np.int64)
        if predictions.size == 0:
            raise ValueError("There are no predictions to score: the evaluation set is empty.")
        if predictions.ndim != 2 or predictions.shape != references.shape:
            raise ValueError(
                f"Predictions {predictions.shape} and references {references.shape} must be lists of the same length "
                "with one 0/1 item per label."
            )
        micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
            references, predictions, average="micro", zero_division=0
        )
        _, _, macro_f1, _ = precision_recall_fscore_support(references, predictions, average="macro", zero_division=0)
        return {
            "micro_f1": float(micro_f1),
            "macro_f1": float(macro_f1),
            "micro_precision": float(micro_p),
            "micro_recall": float(micro_r),
            "exact_match": float(accuracy_score(references, predictions)),
            "hamming_loss": float(hamming_loss(references, predictions)),
        }
