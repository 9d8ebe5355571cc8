"""Evaluating a model on a labelled split, by the model's kind (``Predictor.task_type``).

Single-label: metrics, confusion matrix, per-class scores, the misclassified rows (most confident first).
Multi-label: micro/macro metrics, per-label precision / recall / F1 with each label's threshold, the rows
whose label set is wrong. Regression: MSE, MAE, Pearson, Spearman, R2, predicted-against-true points for a
scatter plot and the largest errors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer_core import data as data_lib
from trainer_core import task_types as kinds
from trainer_core.config import DataConfig
from trainer_core.errors import InputError
from trainer_core.inference import Predictor, get_predictor
from trainer_core.metrics import compute_classification_metrics, compute_multi_label_metrics, compute_regression_metrics

# A regression report carries at most this many (true, predicted) points for its scatter plot.
MAX_POINTS = 2000


@dataclass
class EvalReport:
    model: str
    dataset: str
    split: str
    rows: int
    label_names: list[str]
    metrics: dict[str, float]
    confusion_matrix: list[list[int]]
    per_class: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)  # how the data's labels were read, when not by name
    task_type: str = kinds.SINGLE_LABEL
    thresholds: dict[str, float] | None = None  # multi_label: each label's threshold, as the model applies it
    # regression: {"true", "predicted"} per row (an even sample of at most MAX_POINTS rows), for a scatter plot
    points: list[dict[str, float]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _label_notes(data_names: list[str], model_names: list[str]) -> list[str]:
    """Numbered labels are matched to the model's classes by position: say so, since nothing checks that the
    numbering is the one the model was trained with."""
    generic = [f"label_{i}" for i in range(len(model_names))]
    if (
        data_names == list(model_names)
        or not all(name.isdigit() for name in data_names)
        or [name.lower() for name in model_names] == generic
    ):
        return []
    pairs = ", ".join(
        f"{number} = {model_names[int(number)]}" for number in data_names if int(number) < len(model_names)
    )
    return [f"The data's labels are numbers; they were read as the model's classes in order ({pairs})."]


def _model_label_ids(names: list[str], model_names: list[str], split: str) -> list[int]:
    """For each dataset class name, the model's id for it."""
    if names == model_names:
        return list(range(len(names)))
    lookup = {name.lower(): i for i, name in enumerate(model_names)}
    if all(name.lower() in lookup for name in names):
        return [lookup[name.lower()] for name in names]
    generic = [f"label_{i}" for i in range(len(model_names))]
    if len(names) <= len(model_names) and (
        all(name.isdigit() and int(name) == i for i, name in enumerate(names))
        or [name.lower() for name in model_names] == generic
    ):
        return list(range(len(names)))
    raise InputError(
        f"The labels of split '{split}' ({', '.join(names)}) do not match the model's labels "
        f"({', '.join(model_names)}). Evaluate on data labelled with the model's classes."
    )


def evaluate_model(
    model: str | Predictor,
    data: DataConfig,
    *,
    split: str | None = None,
    token: str | None = None,
    max_errors: int = 100,
    batch_size: int = 64,
    max_rows: int | None = None,
) -> EvalReport:
    predictor = model if isinstance(model, Predictor) else get_predictor(model, token=token)
    raw = data_lib.load_raw(data, token)
    if split is None:
        label_hint = data.label_column or "label"
        split = data.eval_split or data_lib.choose_eval_split(raw, data, label_hint) or data.train_split
    data_lib.require_split(raw.keys(), split, data.dataset)
    table = raw[split]
    spec = data_lib.detect_columns(
        table.features, text=data.text_column, text_pair=data.text_pair_column, label=data.label_column
    )
    if predictor.task_type != kinds.SINGLE_LABEL:
        return _evaluate_other_kind(predictor, data, table, spec, split, max_errors, batch_size, max_rows)
    if data_lib.is_list_feature(table.features[spec.label]):
        raise InputError(
            f"'{predictor.model_id}' is a single-label classifier, but the label column '{spec.label}' of split "
            f"'{split}' holds a list of labels per row. Evaluate a multi-label model on it, or choose a column with "
            "one label per row."
        )
    names, mapping = data_lib.label_names_of(table, spec.label, predictor.label_names)
    notes = _label_notes(data_lib.label_names_of(table, spec.label)[0], predictor.label_names)
    table, _ = data_lib.encode_labels(table, spec.label, names, mapping, split)
    table, _ = data_lib.drop_empty_texts(table, spec)
    if max_rows is not None and len(table) > max_rows:
        table = table.shuffle(seed=0).select(range(max_rows))
    if len(table) == 0:
        raise InputError(f"Split '{split}' has no labelled rows with text to evaluate on.")
    to_model = _model_label_ids(names, predictor.label_names, split)
    references = np.array([to_model[i] for i in table[data_lib.LABEL]])
    # Cut before the tokenizer (and the report) sees them: a few huge rows must not exhaust memory.
    texts = [data_lib.cut_text(t, predictor.max_length) for t in table[spec.text]]
    pairs = [data_lib.cut_text(t, predictor.max_length) for t in table[spec.text_pair]] if spec.text_pair else None
    probs = predictor.predict_proba(texts, pairs, batch_size=batch_size)
    predictions = probs.argmax(axis=1)

    label_ids = list(range(len(predictor.label_names)))
    metrics = compute_classification_metrics(predictions.tolist(), references.tolist(), len(label_ids))
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    matrix = confusion_matrix(references, predictions, labels=label_ids)
    precision, recall, f1, support = precision_recall_fscore_support(
        references, predictions, labels=label_ids, zero_division=0
    )
    per_class = [
        {
            "label": predictor.label_names[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in label_ids
    ]
    wrong = np.flatnonzero(predictions != references)
    # Most confident mistakes first: they are the most instructive.
    wrong = wrong[np.argsort(-probs[wrong, predictions[wrong]], kind="stable")][:max_errors]
    errors = []
    for i in wrong:
        # What the model read, not the whole text: a report of a file of huge texts stays small.
        row = {"text": data_lib.cut_text(texts[i], predictor.max_length)}
        if pairs is not None:
            row["text_pair"] = data_lib.cut_text(pairs[i], predictor.max_length)
        row.update(
            label=predictor.label_names[references[i]],
            predicted=predictor.label_names[predictions[i]],
            confidence=round(float(probs[i, predictions[i]]), 4),
        )
        errors.append(row)
    return EvalReport(
        model=predictor.model_id,
        dataset=data.dataset,
        split=split,
        rows=len(table),
        label_names=predictor.label_names,
        metrics={k: float(v) for k, v in metrics.items()},
        confusion_matrix=matrix.tolist(),
        per_class=per_class,
        errors=errors,
        notes=notes,
    )


def _rows(table: Any, max_rows: int | None, split: str) -> Any:
    if max_rows is not None and len(table) > max_rows:
        table = table.shuffle(seed=0).select(range(max_rows))
    if len(table) == 0:
        raise InputError(f"Split '{split}' has no labelled rows with text to evaluate on.")
    return table


def _evaluate_other_kind(
    predictor: Predictor,
    data: DataConfig,
    table: Any,
    spec: data_lib.ColumnSpec,
    split: str,
    max_errors: int,
    batch_size: int,
    max_rows: int | None,
) -> EvalReport:
    """The report of a multi-label or a regression model (see the module's docstring)."""
    if predictor.task_type == kinds.REGRESSION:
        table, _ = data_lib.encode_targets(table, spec.label, split)
    else:
        names = predictor.label_names
        try:
            table = data_lib.encode_multi_label(table, spec.label, names, data.label_separator, split)
        except InputError as err:
            raise InputError(str(err).replace("never seen in the training split", "the model does not know")) from None
    table, _ = data_lib.drop_empty_texts(table, spec)
    table = _rows(table, max_rows, split)
    texts = [data_lib.cut_text(t, predictor.max_length) for t in table[spec.text]]
    pairs = [data_lib.cut_text(t, predictor.max_length) for t in table[spec.text_pair]] if spec.text_pair else None
    outputs = predictor.predict_proba(texts, pairs, batch_size=batch_size)

    def row_text(i: int) -> dict[str, Any]:
        # What the model read, not the whole text: a report of a file of huge texts stays small.
        row = {"text": data_lib.cut_text(texts[i], predictor.max_length)}
        if pairs is not None:
            row["text_pair"] = data_lib.cut_text(pairs[i], predictor.max_length)
        return row

    common = {
        "model": predictor.model_id,
        "dataset": data.dataset,
        "split": split,
        "rows": len(table),
        "label_names": predictor.label_names,
        "confusion_matrix": [],
        "task_type": predictor.task_type,
    }
    if predictor.task_type == kinds.REGRESSION:
        truth = np.asarray(table[data_lib.LABEL], dtype=np.float64)
        predicted = outputs[:, 0].astype(np.float64)
        metrics = compute_regression_metrics(predicted.tolist(), truth.tolist())
        miss = predicted - truth
        errors = []
        for i in np.argsort(-np.abs(miss), kind="stable")[:max_errors]:
            found = {"label": round(float(truth[i]), 4), "predicted": round(float(predicted[i]), 4)}
            errors.append(row_text(int(i)) | found | {"error": round(float(miss[i]), 4)})
        shown = np.linspace(0, len(truth) - 1, num=min(len(truth), MAX_POINTS)).round().astype(int)
        points = [{"true": round(float(truth[i]), 4), "predicted": round(float(predicted[i]), 4)} for i in shown]
        return EvalReport(**common, metrics=metrics, per_class=[], errors=errors, points=points)

    from sklearn.metrics import precision_recall_fscore_support

    references = np.asarray(table[data_lib.LABEL], dtype=np.float64).reshape(len(table), len(names)) > 0.5
    thresholds = predictor.thresholds or [kinds.DEFAULT_THRESHOLD] * len(names)
    predictions = kinds.apply_thresholds(outputs, thresholds).astype(bool)
    metrics = compute_multi_label_metrics(predictions, references)
    precision, recall, f1, support = precision_recall_fscore_support(
        references, predictions, average=None, zero_division=0
    )
    per_class = [
        {
            "label": name,
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
            "threshold": float(thresholds[j]),
        }
        for j, name in enumerate(names)
    ]
    wrong_labels = (predictions != references).sum(axis=1)
    # How sure the model was of its worst decision on the row: a confident miss teaches the most.
    margin = np.where(predictions != references, np.abs(outputs - np.asarray(thresholds)[None, :]), 0).max(axis=1)
    errors = []
    for i in np.lexsort((-margin, -wrong_labels))[:max_errors]:
        if wrong_labels[i] == 0:
            break
        true_set = [names[j] for j in np.flatnonzero(references[i])]
        predicted_set = [names[j] for j in np.flatnonzero(predictions[i])]
        errors.append(
            row_text(int(i))
            | {
                "label": ", ".join(true_set),
                "predicted": ", ".join(predicted_set),
                "missed": ", ".join(n for n in true_set if n not in predicted_set),
                "extra": ", ".join(n for n in predicted_set if n not in true_set),
                "confidence": round(float(margin[i]), 4),
            }
        )
    return EvalReport(
        **common,
        metrics=metrics,
        per_class=per_class,
        errors=errors,
        thresholds=dict(zip(names, (float(t) for t in thresholds), strict=True)),
    )
