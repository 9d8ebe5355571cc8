"""Typed configuration for a training run.

One ``TrainConfig`` describes a run completely: the UI fills it from the form, the CLI from flags
or YAML, tests by hand. Field help texts feed ``--help`` and the UI's info tooltips. Checks that need
no I/O happen in ``__post_init__``, so a bad value fails before anything is downloaded.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from trainer_core.errors import InputError

MixedPrecision = Literal["auto", "no", "fp16", "bf16"]
MIXED_PRECISION_CHOICES = ("auto", "no", "fp16", "bf16")
MODEL_SELECTION_CHOICES = ("best", "last")
HUB_STRATEGIES = ("end", "every_save", "checkpoint", "all_checkpoints")


def _help(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


@dataclass
class DataConfig:
    dataset: str = field(
        default="",
        metadata=_help("Hub dataset id (e.g. nyu-mll/glue) or a local CSV, TSV, JSON, JSONL, Parquet or XLSX file."),
    )
    dataset_config: str | None = field(
        default=None, metadata=_help("Dataset configuration (subset) name, e.g. 'mrpc' for nyu-mll/glue.")
    )
    dataset_revision: str | None = field(
        default=None,
        metadata=_help("Hub revision of the dataset, e.g. refs/convert/parquet for a repo that still has a script."),
    )
    train_split: str = field(default="train", metadata=_help("Split to train on."))
    eval_split: str | None = field(
        default=None,
        metadata=_help(
            "Split to evaluate on each epoch. Default: 'validation' if it exists and has labels, otherwise a "
            "stratified slice of the training split is held out."
        ),
    )
    text_column: str | None = field(
        default=None,
        metadata=_help("Column with the text. Detected when not given (text, sentence, review, ...)."),
    )
    text_pair_column: str | None = field(
        default=None,
        metadata=_help("Second text column for sentence-pair tasks (e.g. sentence2). Detected for pair datasets."),
    )
    label_column: str | None = field(
        default=None,
        metadata=_help("Column with the label (integers, class names or strings). Detected when not given."),
    )
    validation_size: float | None = field(
        default=None,
        metadata=_help(
            "Share of the training split held out for evaluation when there is no eval split. Default: 5% under "
            "10,000 rows, else 2,000 rows (at most 10%)."
        ),
    )
    max_train_samples: int | None = field(
        default=None, metadata=_help("Use at most this many training rows (a seeded random subset).")
    )
    max_eval_samples: int | None = field(
        default=None, metadata=_help("Use at most this many evaluation rows (a seeded random subset).")
    )
    max_length: int | None = field(
        default=None,
        metadata=_help("Maximum tokens per example; longer texts are truncated. Default: the preset's, else 256."),
    )

    def __post_init__(self) -> None:
        if self.validation_size is not None and not 0.0 < self.validation_size < 0.9:
            raise InputError(f"validation_size must be between 0 and 0.9, got {self.validation_size}.")
        if self.max_length is not None and self.max_length < 8:
            raise InputError(f"max_length must be at least 8 tokens, got {self.max_length}.")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be a positive number of rows, got {value}.")


@dataclass
class ModelConfig:
    model: str = field(
        default="",
        metadata=_help(
            "Pretrained encoder: a Hub model id (e.g. bert-base-uncased) or a local directory. "
            "Default: the task preset's model, else distilbert-base-uncased."
        ),
    )
    revision: str | None = field(default=None, metadata=_help("Hub revision (branch, tag or commit) of the model."))


@dataclass
class TrainingConfig:
    output_dir: str = field(
        default="outputs/run",
        metadata=_help("Where checkpoints, the final model and the run's config are written."),
    )
    epochs: float | None = field(
        default=None,
        metadata=_help(
            "Number of passes over the training data. Default: 5 under 500 rows, 3 up to 50,000, then 2, then 1."
        ),
    )
    max_steps: int = field(
        default=-1, metadata=_help("Stop after this many optimizer steps (overrides epochs when > 0).")
    )
    batch_size: int | None = field(
        default=None, metadata=_help("Training batch size per device. Default: 32, or 16 under 500 rows.")
    )
    eval_batch_size: int = field(default=64, metadata=_help("Evaluation batch size per device."))
    gradient_accumulation_steps: int = field(
        default=1, metadata=_help("Accumulate gradients over this many batches before each optimizer step.")
    )
    learning_rate: float | None = field(
        default=None,
        metadata=_help(
            "Peak learning rate of the linear schedule. Default: from the model's size (1e-4 small, 5e-5 base, "
            "2e-5 large)."
        ),
    )
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay."))
    warmup_ratio: float | None = field(
        default=None,
        metadata=_help(
            "Share of the steps spent warming the learning rate up from zero. Default: 10%, at most 500 steps."
        ),
    )
    seed: int = field(default=42, metadata=_help("Random seed for data order, held-out split and initialisation."))
    mixed_precision: str = field(
        default="auto",
        metadata=_help(
            "auto: bf16 or fp16 on a CUDA GPU, none elsewhere; or no, fp16, bf16.",
            choices=MIXED_PRECISION_CHOICES,
        ),
    )
    group_by_length: bool = field(
        default=True, metadata=_help("Batch texts of similar length together so less padding is computed.")
    )
    logging_steps: int = field(default=10, metadata=_help("Log the training loss every N steps."))
    eval_steps: int | None = field(
        default=None, metadata=_help("Evaluate and save every N steps instead of every epoch.")
    )
    model_selection: str | None = field(
        default=None,
        metadata=_help(
            "best: keep the checkpoint with the best eval metric; last: keep the final model. Default: best when "
            "there are at least 1,000 eval rows, else last.",
            choices=MODEL_SELECTION_CHOICES,
        ),
    )
    search_trials: int = field(
        default=0,
        metadata=_help(
            "Try this many settings (learning rate, epochs, batch) with optuna on the held-out rows first, then "
            "train the best on all the rows. 0: no search."
        ),
    )
    search_time_budget: float | None = field(
        default=None, metadata=_help("Stop the search after this many seconds (the trials done so far count).")
    )
    save_total_limit: int = field(default=2, metadata=_help("Keep at most this many checkpoints (the best is kept)."))
    early_stopping_patience: int | None = field(
        default=None, metadata=_help("Stop when the metric has not improved for this many evaluations.")
    )
    report_to: list[str] = field(
        default_factory=list, metadata=_help("Experiment trackers to log to, e.g. ['trackio'].")
    )

    def __post_init__(self) -> None:
        problems = []
        if self.learning_rate is None:
            pass  # chosen from the model's size when the run starts
        elif not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        elif self.learning_rate > 1e-2:
            problems.append(f"learning_rate {self.learning_rate} is far too high for fine-tuning (try 2e-5 to 5e-5)")
        if self.batch_size is not None and self.batch_size < 1:
            problems.append(f"batch_size must be at least 1, got {self.batch_size}")
        if self.eval_batch_size < 1:
            problems.append(f"eval_batch_size must be at least 1, got {self.eval_batch_size}")
        if self.gradient_accumulation_steps < 1:
            problems.append(f"gradient_accumulation_steps must be at least 1, got {self.gradient_accumulation_steps}")
        if self.max_steps <= 0 and self.epochs is not None and not self.epochs > 0:
            problems.append(f"epochs must be > 0 (or give max_steps), got {self.epochs}")
        if self.max_steps == 0 or self.max_steps < -1:
            problems.append(f"max_steps must be a positive number of steps (or -1 for none), got {self.max_steps}")
        if self.warmup_ratio is not None and not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.mixed_precision not in MIXED_PRECISION_CHOICES:
            problems.append(f"mixed_precision must be one of {', '.join(MIXED_PRECISION_CHOICES)}")
        if self.logging_steps < 1:
            problems.append(f"logging_steps must be at least 1, got {self.logging_steps}")
        if self.eval_steps is not None and self.eval_steps < 1:
            problems.append(f"eval_steps must be at least 1, got {self.eval_steps}")
        if self.model_selection is not None and self.model_selection not in MODEL_SELECTION_CHOICES:
            problems.append(f"model_selection must be one of {', '.join(MODEL_SELECTION_CHOICES)}")
        if self.search_trials < 0:
            problems.append(f"search_trials must be >= 0, got {self.search_trials}")
        if self.search_time_budget is not None and not self.search_time_budget > 0:
            problems.append(f"search_time_budget must be > 0 seconds, got {self.search_time_budget}")
        if self.save_total_limit < 1:
            problems.append(f"save_total_limit must be at least 1, got {self.save_total_limit}")
        if isinstance(self.report_to, str):
            self.report_to = [item for item in re.split(r"[,\s]+", self.report_to) if item and item != "none"]
        if problems:
            raise InputError("Invalid training options: " + "; ".join(problems) + ".")


REPO_ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$", re.ASCII)


@dataclass
class HubConfig:
    repo_id: str | None = field(
        default=None,
        metadata=_help("Push checkpoints and the final model to this Hub repo (name or user/name)."),
    )
    private: bool = field(default=False, metadata=_help("Create the Hub repo as private."))
    strategy: str = field(
        default="checkpoint",
        metadata=_help(
            "What to push during training: checkpoint (model + resumable last-checkpoint), every_save, end, "
            "all_checkpoints.",
            choices=HUB_STRATEGIES,
        ),
    )

    def __post_init__(self) -> None:
        if self.repo_id is not None:
            self.repo_id = self.repo_id.strip() or None
        if self.repo_id is not None and (
            not REPO_ID_PATTERN.match(self.repo_id) or ".." in self.repo_id or "--" in self.repo_id
        ):
            raise InputError(
                f"'{self.repo_id}' is not a valid Hub repo id. Use 'name' or 'user/name' with letters, digits, "
                "'-', '_' and '.', at most 96 characters per part, no '--' or '..'."
            )
        if self.strategy not in HUB_STRATEGIES:
            raise InputError(f"hub strategy must be one of {', '.join(HUB_STRATEGIES)}, got '{self.strategy}'.")


SECTIONS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig, "hub": HubConfig}


@dataclass
class TrainConfig:
    task: str = field(
        default="custom", metadata=_help("Task preset: sst2, mrpc, imdb, nsmc, yelp_review_full or custom.")
    )
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    chosen: dict[str, str] = field(
        default_factory=dict,
        metadata=_help(
            "Written by a run: the options the defaults chose (their values are in the sections above) and why. "
            "Informational; a config that sets those values keeps them."
        ),
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        if not isinstance(raw, dict):
            raise InputError("A config must be a mapping with the sections task, data, model, training and hub.")
        unknown = set(raw) - {"task", "chosen", *SECTIONS}
        if unknown:
            raise InputError(
                f"Unknown config section(s): {', '.join(sorted(unknown))}. Valid sections: task, {', '.join(SECTIONS)}."
            )
        sections = {}
        for name, section_cls in SECTIONS.items():
            values = raw.get(name) or {}
            if not isinstance(values, dict):
                raise InputError(f"Config section '{name}' must be a mapping, got {type(values).__name__}.")
            known = {f.name for f in fields(section_cls)}
            bad = set(values) - known
            if bad:
                raise InputError(
                    f"Unknown option(s) in section '{name}': {', '.join(sorted(bad))}. "
                    f"Valid options: {', '.join(sorted(known))}."
                )
            try:
                sections[name] = section_cls(**values)
            except TypeError as err:
                raise InputError(f"Bad value in config section '{name}': {err}") from None
        chosen = raw.get("chosen") or {}
        if not isinstance(chosen, dict):
            raise InputError(f"Config section 'chosen' must be a mapping, got {type(chosen).__name__}.")
        return cls(task=raw.get("task", "custom"), **sections, chosen={str(k): str(v) for k, v in chosen.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"Config file '{path}' does not exist.")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise InputError(f"Config file '{path}' is not valid YAML: {err}") from None
        return cls.from_dict(raw)


def field_help(section_cls: type, name: str) -> str:
    """The help text of one config field, for CLI flags and UI tooltips."""
    for f in fields(section_cls):
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(name)
