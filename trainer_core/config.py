"""Typed configuration for a training run.

One ``TrainConfig`` describes a run completely: the UI fills it from the form, the CLI from flags
or YAML, tests by hand. Field help texts feed ``--help`` and the UI's info tooltips. Checks that need
no I/O happen in ``__post_init__``, so a bad value fails before anything is downloaded.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from trainer_core.errors import InputError
from trainer_core.files import format_names
from trainer_core.rundir import TRAINED_CONFIG_FILE
from trainer_core.task_types import TASK_TYPES

MixedPrecision = Literal["auto", "no", "fp16", "bf16"]
MIXED_PRECISION_CHOICES = ("auto", "no", "fp16", "bf16")
MODEL_SELECTION_CHOICES = ("auto", "best", "last")
HUB_STRATEGIES = ("end", "every_save", "checkpoint", "all_checkpoints")
# Trackers the transformers Trainer reports to, and the module each needs installed.
TRACKERS = {
    "azure_ml": "azureml",
    "clearml": "clearml",
    "codecarbon": "codecarbon",
    "comet_ml": "comet_ml",
    "dagshub": "dagshub",
    "dvclive": "dvclive",
    "flyte": "flytekit",
    "kubeflow": "kubeflow",
    "mlflow": "mlflow",
    "neptune": "neptune",
    "swanlab": "swanlab",
    "tensorboard": "tensorboard",
    "trackio": "trackio",
    "wandb": "wandb",
}


def _help(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: ``help`` feeds --help and the UI's tooltips; ``minimum``/``maximum`` (inclusive) and
    ``choices`` feed the form's checks and widgets. ``__post_init__`` stays the final word on validity."""
    return {"help": text, **extra}


# ------------------------------------------------------------------------------------ type checks


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    # The annotations are strings (``from __future__ import annotations``); resolve them once per class.
    return typing.get_type_hints(cls)


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is Literal:
        return "one of " + ", ".join(str(arg) for arg in typing.get_args(kind))
    if typing.get_origin(kind) is list:
        return "a list of " + ", ".join(_type_name(arg).removeprefix("a ") for arg in typing.get_args(kind))
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _coerce(value: Any, kind: Any) -> tuple[bool, Any]:
    """``(True, value)`` converted to ``kind`` where that loses nothing, else ``(False, value)``.

    Strings that spell a number are accepted because YAML 1.1 reads ``3e-5`` as text, and form fields
    send whole numbers as floats (``32.0``); whole numbers are accepted as text (``dataset_config: 2019``).
    """
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
            return True, value.strip().lower() in ("true", "yes")
        return isinstance(value, bool), value
    if kind in (int, float):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                try:
                    value = float(value.strip())
                except ValueError:
                    return False, value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, value
        if kind is float:
            return True, float(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return True, int(value)
        return isinstance(value, int), value
    if kind is str:
        # YAML reads an unquoted config name such as `2019` as a number; a whole number spells the same text.
        if isinstance(value, int) and not isinstance(value, bool):
            return True, str(value)
        return isinstance(value, str), value
    origin = typing.get_origin(kind)
    if origin is list:
        (item_kind,) = typing.get_args(kind) or (Any,)
        if not isinstance(value, (list, tuple)):
            return False, value
        items = []
        for item in value:
            ok, item = _coerce(item, item_kind)
            if not ok:
                return False, value
            items.append(item)
        return True, items
    if origin is Literal:
        return value in typing.get_args(kind), value
    if isinstance(kind, type):
        return isinstance(value, kind), value
    return True, value  # a type this checker does not know: leave it to the field's own checks


def _large(number: int) -> str:
    """A whole number as a person reads it: 10**18 rather than nineteen digits."""
    exponent = len(str(abs(number))) - 1
    return f"10**{exponent}" if number > 0 and number == 10**exponent and exponent > 6 else f"{number:,}"


def _describe_value(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:60]}' (text)"
    return f"{value!r} ({type(value).__name__})"


def field_problems(instance: Any, section: str) -> list[str]:
    """Check and convert every field of a config dataclass against its declared type.

    Works from the dataclass's own annotations, so a new field is covered without listing it here:
    ``epochs: "three"`` from YAML or an API call is reported as ``training.epochs must be a number``
    instead of a ``TypeError`` deep inside a comparison. Numbers must be finite (``inf`` epochs would
    train forever, a NaN learning rate trains nothing). Optional fields accept ``None``. Values that
    convert without loss (``"3e-5"``, ``32.0`` for an int) are converted in place.
    """
    problems = []
    hints = _field_types(type(instance))
    for f in fields(instance):
        kind = hints.get(f.name, Any)
        value = getattr(instance, f.name)
        options = [kind]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            options = list(typing.get_args(kind))
        if value is None and type(None) in options:
            continue
        for option in options:
            if option is type(None):
                continue
            ok, converted = _coerce(value, option)
            if ok:
                if isinstance(converted, float) and not math.isfinite(converted):
                    problems.append(f"{section}.{f.name} must be a finite number, got {converted}")
                setattr(instance, f.name, converted)
                break
        else:
            wanted = " or ".join(_type_name(o) if o is not type(None) else "empty" for o in options)
            problems.append(f"{section}.{f.name} must be {wanted}, got {_describe_value(value)}")
    return problems


def check_field_types(instance: Any, section: str) -> None:
    """``field_problems`` as an ``InputError``: called first in every config's ``__post_init__``, so
    the range checks after it compare numbers with numbers."""
    problems = field_problems(instance, section)
    if problems:
        raise InputError(f"Invalid {section} options: " + "; ".join(problems) + ".")


# The DataConfig fields that name a column of the dataset (each detected when left empty).
COLUMN_FIELDS = ("text_column", "text_pair_column", "label_column")

# The one default of ``DataConfig.max_length`` (left empty: the preset's, else this), read by the CLI, the app's
# forms, the preview and inference alike, so a run trains at the same length wherever it was started.
DEFAULT_MAX_LENGTH = 256


@dataclass
class DataConfig:
    dataset: str = field(
        default="",
        metadata=_help(f"Hub dataset id (e.g. nyu-mll/glue) or a local {format_names()} file."),
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
    task_type: str | None = field(
        default=None,
        metadata=_help(
            "single_label: one class per row; multi_label: any number of labels per row (a list, or text split "
            "at label_separator); regression: a number per row (a rating, a similarity score). Default: "
            "multi_label for a column of lists or when label_separator is given, else single_label.",
            choices=TASK_TYPES,
        ),
    )
    label_separator: str | None = field(
        default=None,
        metadata=_help(
            "multi_label only: the separator between the labels of a text cell (e.g. ';'). Default: split at "
            "every ',', ';' and '|'. Lists are used as they are."
        ),
    )
    validation_size: float | None = field(
        default=None,
        metadata=_help(
            "Share of the training split held out for evaluation when there is no eval split. Default: 5% under "
            "10,000 rows, else 2,000 rows (at most 10%).",
            minimum=0.01,
            maximum=0.89,
        ),
    )
    max_train_samples: int | None = field(
        default=None, metadata=_help("Use at most this many training rows (a seeded random subset).", minimum=1)
    )
    max_eval_samples: int | None = field(
        default=None, metadata=_help("Use at most this many evaluation rows (a seeded random subset).", minimum=1)
    )
    max_length: int | None = field(
        default=None,
        metadata=_help(
            f"Maximum tokens per example; longer texts are truncated. Default: the preset's, else {DEFAULT_MAX_LENGTH}.",
            minimum=8,
        ),
    )

    def __post_init__(self) -> None:
        check_field_types(self, "data")
        if self.validation_size is not None and not 0.0 < self.validation_size < 0.9:
            raise InputError(f"validation_size must be between 0 and 0.9, got {self.validation_size}.")
        if self.max_length is not None and self.max_length < 8:
            raise InputError(f"max_length must be at least 8 tokens, got {self.max_length}.")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be a positive number of rows, got {value}.")
        if self.task_type is not None:
            self.task_type = self.task_type.strip().lower().replace("-", "_") or None
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            raise InputError(
                f"task_type must be one of {', '.join(TASK_TYPES)} (or empty to detect it), got '{self.task_type}'."
            )
        if self.label_separator == "":
            self.label_separator = None  # a form left empty; a space is a separator of its own
        if self.label_separator is not None and self.task_type not in (None, "multi_label"):
            raise InputError(
                f"label_separator splits multi-label cells, and task_type is {self.task_type}: remove the "
                "separator, or set task_type multi_label."
            )


# The most optimizer steps (max_steps, or epochs over the rows) and epochs a run may ask for: far past any
# fine-tuning run, so a typo such as 10**18 steps is refused before any work instead of training for ever.
MAX_STEPS = 10_000_000
MAX_EPOCHS = 1_000


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

    def __post_init__(self) -> None:
        check_field_types(self, "model")


@dataclass
class TrainingConfig:
    output_dir: str = field(
        default="outputs/run",
        metadata=_help("Where checkpoints, the final model and the run's config are written."),
    )
    epochs: float | None = field(
        default=None,
        metadata=_help(
            "Number of passes over the training data. Default: 5 under 500 rows, 3 up to 50,000, then 2, then 1.",
            minimum=0,
            maximum=MAX_EPOCHS,
        ),
    )
    max_steps: int = field(
        default=-1,
        metadata=_help(
            "Stop after this many optimizer steps (overrides epochs when > 0).", minimum=-1, maximum=MAX_STEPS
        ),
    )
    batch_size: int | None = field(
        default=None,
        metadata=_help(
            "Training batch size per device. Default: 32, or 16 when 32 would give under 150 optimizer steps.",
            minimum=1,
        ),
    )
    eval_batch_size: int = field(default=64, metadata=_help("Evaluation batch size per device.", minimum=1))
    gradient_accumulation_steps: int = field(
        default=1, metadata=_help("Accumulate gradients over this many batches before each optimizer step.", minimum=1)
    )
    learning_rate: float | None = field(
        default=None,
        metadata=_help(
            "Peak learning rate of the linear schedule. Default: from the model's size (1e-4 small, 5e-5 base, "
            "2e-5 large).",
            minimum=0,
        ),
    )
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay.", minimum=0))
    warmup_ratio: float | None = field(
        default=None,
        metadata=_help(
            "Share of the steps spent warming the learning rate up from zero. Default: 10%, at most 500 steps.",
            minimum=0,
            maximum=0.9,
        ),
    )
    seed: int = field(
        default=42, metadata=_help("Random seed for data order, held-out split and initialisation.", minimum=0)
    )
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
    token_batches: bool = field(
        default=False,
        metadata=_help(
            "Cut the length-grouped batches by tokens, not rows: short texts go in larger batches and long ones "
            "in smaller, as many batches as rows would give. Less padding, so faster on text of varied length; "
            "not yet checked on a GPU.",
        ),
    )
    logging_steps: int = field(default=10, metadata=_help("Log the training loss every N steps.", minimum=1))
    eval_steps: int | None = field(
        default=None, metadata=_help("Evaluate and save every N steps instead of every epoch.", minimum=1)
    )
    model_selection: str = field(
        default="auto",
        metadata=_help(
            "best: keep the checkpoint with the best eval metric; last: keep the final model; auto: best when "
            "there are at least 1,000 eval rows (or early stopping), else last.",
            choices=MODEL_SELECTION_CHOICES,
        ),
    )
    search_trials: int = field(
        default=0,
        metadata=_help(
            "Try this many settings (learning rate, epochs, batch) with optuna on the held-out rows first, then "
            "train the best on the training rows. 0: no search.",
            minimum=0,
        ),
    )
    search_time_budget: float | None = field(
        default=None, metadata=_help("Stop the search after this many seconds (the trials done so far count).")
    )
    save_total_limit: int = field(
        default=2, metadata=_help("Keep at most this many checkpoints (the best is kept).", minimum=1)
    )
    early_stopping_patience: int | None = field(
        default=None, metadata=_help("Stop when the metric has not improved for this many evaluations.", minimum=1)
    )
    report_to: list[str] = field(
        default_factory=list, metadata=_help("Experiment trackers to log to, e.g. ['trackio'].")
    )
    use_cpu: bool = field(
        default=False,
        metadata=_help(
            "Train on the CPU even where a GPU is available. On ZeroGPU the run then trains in the Space's own "
            "process and uses none of your GPU quota: slow, so for small models and data."
        ),
    )

    def __post_init__(self) -> None:
        if isinstance(self.report_to, str):
            self.report_to = [item for item in re.split(r"[,\s]+", self.report_to) if item and item != "none"]
        check_field_types(self, "training")
        self.report_to = [name for name in self.report_to if name != "none"]  # transformers' word for no tracker
        problems = []
        if self.learning_rate is None:
            pass  # chosen from the model's size when the run starts (trainer_core.recipe)
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
        elif self.max_steps > MAX_STEPS:
            problems.append(
                f"max_steps must be at most {MAX_STEPS:,} optimizer steps (or -1 to train for the epochs), got "
                + _large(self.max_steps)
            )
        if self.epochs is not None and self.epochs > MAX_EPOCHS:
            problems.append(f"epochs must be at most {MAX_EPOCHS:,}, got {self.epochs:g}")
        if self.warmup_ratio is not None and not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.mixed_precision not in MIXED_PRECISION_CHOICES:
            problems.append(f"mixed_precision must be one of {', '.join(MIXED_PRECISION_CHOICES)}")
        if self.use_cpu and self.mixed_precision in ("fp16", "bf16"):
            problems.append(
                f"mixed_precision {self.mixed_precision} needs a GPU and use_cpu is on: choose auto or no, "
                "or turn use_cpu off"
            )
        if self.logging_steps < 1:
            problems.append(f"logging_steps must be at least 1, got {self.logging_steps}")
        if self.token_batches and not self.group_by_length:
            problems.append(
                "token_batches cuts the length-grouped batches, and group_by_length is off: turn group_by_length "
                "on, or token_batches off"
            )
        if self.eval_steps is not None and self.eval_steps < 1:
            problems.append(f"eval_steps must be at least 1, got {self.eval_steps}")
        if self.model_selection not in MODEL_SELECTION_CHOICES:
            problems.append(f"model_selection must be one of {', '.join(MODEL_SELECTION_CHOICES)}")
        if self.search_trials < 0:
            problems.append(f"search_trials must be >= 0, got {self.search_trials}")
        if self.search_time_budget is not None and not self.search_time_budget > 0:
            problems.append(f"search_time_budget must be > 0 seconds, got {self.search_time_budget}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            problems.append(
                f"early_stopping_patience must be at least 1 evaluation (or empty for none), "
                f"got {self.early_stopping_patience}"
            )
        if self.save_total_limit < 1:
            problems.append(f"save_total_limit must be at least 1, got {self.save_total_limit}")
        if not 0 <= self.seed < 2**32:
            problems.append(f"seed must be between 0 and 2**32 - 1 = {2**32 - 1}, got {self.seed}")
        unknown = [name for name in self.report_to if name not in TRACKERS and name != "all"]
        if unknown:
            problems.append(
                f"report_to: unknown tracker(s) {', '.join(unknown)}; known: {', '.join(sorted(TRACKERS))}, all"
            )
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
        check_field_types(self, "hub")
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

    def __post_init__(self) -> None:
        if not isinstance(self.task, str):
            raise InputError(f"task must be a preset name such as sst2 or custom, got {_describe_value(self.task)}.")

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


def trained_config(model_dir: str | Path) -> TrainConfig | None:
    """The config the model in ``model_dir`` (or in the run folder around a ``checkpoint-N`` of it) was
    trained with, detected columns included; None when the folder has none or it cannot be read."""
    folder = Path(model_dir)
    path = folder / TRAINED_CONFIG_FILE
    if not path.is_file() and folder.name.startswith("checkpoint-"):
        path = folder.parent / TRAINED_CONFIG_FILE
    try:
        return TrainConfig.from_yaml(path) if path.is_file() else None
    except (InputError, OSError):
        return None


def check_trackers_installed(report_to: list[str]) -> None:
    """Refuse trackers that are not installed, before any data or model is loaded.

    Not part of ``__post_init__``: a config that names wandb is still valid on a machine that has it,
    and a saved config must load anywhere.
    """
    missing = []
    for name in report_to:
        module = TRACKERS.get(name)
        if name == "tensorboard":
            found = any(importlib.util.find_spec(m) is not None for m in ("tensorboard", "tensorboardX"))
        else:
            found = module is None or importlib.util.find_spec(module) is not None
        if not found:
            missing.append(name)
    if missing:
        install = " ".join("tensorboard" if m == "tensorboard" else TRACKERS[m].replace("_", "-") for m in missing)
        raise InputError(
            f"report_to names {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed. "
            f"Install {'it' if len(missing) == 1 else 'them'} (pip install {install}) or drop "
            f"{'it' if len(missing) == 1 else 'them'} from --report-to."
        )


def field_help(section_cls: type, name: str) -> str:
    """The help text of one config field, for CLI flags and UI tooltips."""
    for f in fields(section_cls):
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(name)
