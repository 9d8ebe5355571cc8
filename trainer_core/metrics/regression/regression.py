"""Regression metrics for a numeric target (ratings, similarity scores), as an ``evaluate`` module.

Loaded with ``evaluate.load(<path to this folder>)``; like the classification module it must not use
relative imports nor depend on anything in ``trainer_core`` (evaluate copies it into its modules cache).
"""

from __future__ import annotations

import math
import warnings

import datasets
import evaluate
import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

_DESCRIPTION = """\
Mean squared error, root mean squared error, mean absolute error, Pearson and Spearman correlation and the
coefficient of determination (R2) of predicted numbers against true ones, as GLUE reports STS-B (Pearson
and Spearman) and as a rating predictor is usually judged (MSE, MAE). A correlation that cannot be measured
(every prediction or every reference the same) is reported as 0, as is R2 when the references do not vary.
scikit-learn and scipy do the arithmetic.
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
@article{2020SciPy-NMeth,
  title={{SciPy} 1.0: Fundamental Algorithms for Scientific Computing in Python},
  author={Virtanen, Pauli and others},
  journal={Nature Methods},
  volume={17},
  pages={261--272},
  year={2020}
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): predicted values.
    references (`list` of `float`): true values.

Returns:
    A dict of plain floats: `mse`, `rmse`, `mae`, `pearson`, `spearman` and `r2`.

Examples:
    >>> metric = evaluate.load("trainer_core/metrics/regression")
    >>> metric.compute(predictions=[1.0, 2.0, 3.0, 5.0], references=[1.0, 2.0, 4.0, 4.0])
    {'mse': 0.5, 'rmse': 0.7071067811865476, 'mae': 0.5, 'pearson': 0.87831006565368, \
'spearman': 0.9486832980505139, 'r2': 0.7037037037037037}
"""


def _correlation(function, predictions: np.ndarray, references: np.ndarray) -> float:
    if len(predictions) < 2 or np.ptp(predictions) == 0 or np.ptp(references) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(function(predictions, references)[0])
    return value if math.isfinite(value) else 0.0


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Regression(evaluate.Metric):
    """MSE, RMSE, MAE, Pearson, Spearman and R2 for a numeric target."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/model_evaluation.html#regression-metrics",
                "https://gluebenchmark.com/",
            ],
        )

    def _compute(self, predictions, references) -> dict[str, float]:
        predictions = np.asarray(predictions, dtype=np.float64).reshape(-1)
        references = np.asarray(references, dtype=np.float64).reshape(-1)
        if len(predictions) == 0:
            raise ValueError("There are no predictions to score: the evaluation set is empty.")
        if not (np.isfinite(predictions).all() and np.isfinite(references).all()):
            raise ValueError("Predictions and references must be finite numbers (no NaN or infinity).")
        mse = float(mean_squared_error(references, predictions))
        r2 = float(r2_score(references, predictions)) if len(references) > 1 and np.ptp(references) > 0 else 0.0
        return {
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mae": float(mean_absolute_error(references, predictions)),
            "pearson": _correlation(pearsonr, predictions, references),
            "spearman": _correlation(spearmanr, predictions, references),
            "r2": r2,
        }
