"""Task presets: the datasets the project grew from, with columns, labels, metric and reference scores.

Hub ids are the ones that load with datasets 5 (parquet, no loading scripts). Reference scores are the
published results of the recipes this project improves on, so a run can be compared against them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from trainer_core.config import COLUMN_FIELDS, DEFAULT_MAX_LENGTH, DataConfig, TrainConfig
from trainer_core.errors import InputError


@dataclass(frozen=True)
class TaskPreset:
    name: str
    title: str
    dataset: str
    dataset_config: str | None
    text_column: str
    label_column: str
    label_names: tuple[str, ...]
    text_pair_column: str | None = None
    dataset_revision: str | None = None
    train_split: str = "train"
    eval_split: str = "validation"
    model: str = "distilbert-base-uncased"
    demo_model: str | None = None
    max_length: int = 128
    language: str = "en"
    reference: dict[str, float] = field(default_factory=dict)
    reference_source: str = ""

    @property
    def is_pair(self) -> bool:
        return self.text_pair_column is not None

    @property
    def metric_for_best_model(self) -> str:
        return "f1" if len(self.label_names) == 2 else "accuracy"


PRESETS: dict[str, TaskPreset] = {
    preset.name: preset
    for preset in (
        TaskPreset(
            name="sst2",
            title="SST-2 movie-review sentiment (GLUE)",
            dataset="nyu-mll/glue",
            dataset_config="sst2",
            text_column="sentence",
            label_column="label",
            label_names=("negative", "positive"),
            model="distilbert-base-uncased",
            demo_model="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            max_length=66,
        ),
        TaskPreset(
            name="mrpc",
            title="MRPC paraphrase detection, sentence pairs (GLUE)",
            dataset="nyu-mll/glue",
            dataset_config="mrpc",
            text_column="sentence1",
            text_pair_column="sentence2",
            label_column="label",
            label_names=("not_equivalent", "equivalent"),
            model="bert-base-uncased",
            demo_model="google-bert/bert-base-cased-finetuned-mrpc",
            max_length=128,
            reference={"accuracy": 0.8578, "f1": 0.8997},
            reference_source="Hugging Face course, Trainer API chapter (bert-base-uncased, 3 epochs)",
        ),
        TaskPreset(
            name="imdb",
            title="IMDB movie-review sentiment",
            dataset="stanfordnlp/imdb",
            dataset_config=None,
            text_column="text",
            label_column="label",
            label_names=("neg", "pos"),
            eval_split="test",
            model="distilbert-base-uncased",
            max_length=512,
        ),
        TaskPreset(
            name="nsmc",
            title="NSMC Korean movie-review sentiment",
            dataset="e9t/nsmc",
            dataset_config=None,
            dataset_revision="refs/convert/parquet",
            text_column="document",
            label_column="label",
            label_names=("negative", "positive"),
            eval_split="test",
            model="bert-base-multilingual-cased",
            max_length=128,
            language="ko",
            reference={"accuracy": 0.762},
            reference_source="NSMC tutorial: 2,000-example subsets, bert-base-multilingual-cased",
        ),
        TaskPreset(
            name="yelp_review_full",
            title="Yelp reviews, 1 to 5 stars",
            dataset="Yelp/yelp_review_full",
            dataset_config=None,
            text_column="text",
            label_column="label",
            label_names=("1 star", "2 stars", "3 stars", "4 stars", "5 stars"),
            eval_split="test",
            model="bert-base-cased",
            max_length=256,
        ),
    )
}

CUSTOM = "custom"
TASK_NAMES = (*PRESETS, CUSTOM)


def get_preset(name: str) -> TaskPreset | None:
    """The preset called ``name``; None for 'custom'. Raises InputError for an unknown name."""
    if name in (CUSTOM, "", None):
        return None
    key = name.lower().replace("-", "_")
    if key == "yelp":
        key = "yelp_review_full"
    if key not in PRESETS:
        raise InputError(f"Unknown task preset '{name}'. Choose one of: {', '.join(TASK_NAMES)}.")
    return PRESETS[key]


DEFAULT_MODEL = "distilbert-base-uncased"

# What a preset fills only on its own dataset (another dataset's columns and splits are not the preset's).
DATASET_FIELDS = ("dataset_config", "dataset_revision", "eval_split", *COLUMN_FIELDS)


def preset_values(preset: TaskPreset) -> dict[str, Any]:
    """What ``preset`` fills, keyed by ``DataConfig`` field (and ``model``).

    The one place a preset becomes values: ``resolve_data`` (a config), the Dataset tab's preset choice and
    its reset, ``preset:<name>`` in the API and the Evaluate tab, and column detection all read it.
    """
    return {
        "dataset": preset.dataset,
        "dataset_config": preset.dataset_config,
        "dataset_revision": preset.dataset_revision,
        "train_split": preset.train_split,
        "eval_split": preset.eval_split,
        **{name: getattr(preset, name) for name in COLUMN_FIELDS},
        "max_length": preset.max_length,
        "model": preset.model,
    }


def resolve_data(data: DataConfig, preset: TaskPreset | None) -> DataConfig:
    """``data`` with the preset's dataset, columns and lengths filled in where they were left open."""
    if preset is None:
        return dataclasses.replace(data, max_length=data.max_length or DEFAULT_MAX_LENGTH)
    same_dataset = not data.dataset or data.dataset == preset.dataset
    filled = preset_values(preset)
    fields: dict[str, Any] = {name: getattr(data, name) or filled[name] for name in ("dataset", "max_length")}
    fields |= {name: getattr(data, name) or (filled[name] if same_dataset else None) for name in DATASET_FIELDS}
    return dataclasses.replace(data, **fields)


def resolve_config(config: TrainConfig) -> TrainConfig:
    """A copy of ``config`` with every preset default made explicit, so the saved file repeats the run."""
    preset = get_preset(config.task)
    resolved = dataclasses.replace(
        config,
        task=preset.name if preset else CUSTOM,
        data=resolve_data(config.data, preset),
        model=dataclasses.replace(
            config.model, model=config.model.model or (preset_values(preset)["model"] if preset else DEFAULT_MODEL)
        ),
        training=dataclasses.replace(config.training, report_to=list(config.training.report_to)),
        hub=dataclasses.replace(config.hub),
    )
    return resolved
