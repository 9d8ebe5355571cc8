"""Evaluating a classifier on a labelled split: metrics, confusion matrix, per-class scores, errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer_core import data as data_lib
from trainer_core.config import DataConfig
from trainer_core.errors import InputError
from trainer_core.inference import Predictor, get_predictor
from trainer_core.metrics import compute_classification_metrics


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
