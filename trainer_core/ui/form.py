"""The two forms, described once: each entry names a config field; the rest comes from the dataclass.

A ``FormField`` says which ``TrainConfig`` section and field a widget fills, its label and where it sits.
Its type, default, help, limits and choices are read from the config dataclass, so the widget, the API
parameter, the number check and the error message all follow the config. Every ``TrainingConfig`` field
gets a widget: one that is not declared below is appended under "More options" with a label made from its
name, so adding a training option is one edit (the dataclass field) and its test.

Pure helpers (no gradio import): the Train tab builds its widgets from ``TRAIN_FORM`` and hands the
values, as a dict keyed by ``FormField.key``, to ``build_config``.

``DATA_FORM`` is the Dataset tab's half: where the data comes from (source, Hub id, example, upload),
its split and columns, the task preset and kind. The Dataset tab's widgets, the Train tab's inputs
(``DATA_KEYS``), the public /train, /preview and /evaluate parameters (``data_parameters``) and
``dataset_tab.form_for_data`` read it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from trainer_core.config import COLUMN_FIELDS, SECTIONS, DataConfig, TrainConfig, field_help
from trainer_core.errors import InputError
from trainer_core.tasks import CUSTOM

MAIN = "main"
MORE = "more"
HUB = "hub"

# Models offered in the Model dropdown (any Hub id or, off a Space, a local folder can be typed too).
MODEL_CHOICES = (
    "distilbert-base-uncased",
    "bert-base-uncased",
    "bert-base-cased",
    "bert-base-multilingual-cased",
    "roberta-base",
    "distilroberta-base",
    "google/electra-small-discriminator",
)

# Fields the form leaves to the app, with the reason (a test checks every other field has a widget).
NOT_IN_FORM: dict[tuple[str, str], str] = {
    ("training", "output_dir"): "the app keeps each run in a folder of its own",
}


class FormError(InputError):
    """Bad values in the form; ``fields`` are the labels of the widgets at fault, in form order."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.fields = [label for label, _ in problems]
        super().__init__(" ".join(f"{label} {problem}" for label, problem in problems))


@dataclass(frozen=True)
class FormField:
    section: str
    name: str
    label: str = ""
    group: str = MORE
    suggestions: tuple[str, ...] = ()  # dropdown choices that are not the only values allowed
    choices: tuple[str, ...] = ()  # the only values allowed (besides the config's own ``choices``)
    key_name: str = ""

    # -- what the config dataclass says
    @cached_property
    def spec(self) -> dataclasses.Field:
        for spec in dataclasses.fields(SECTIONS[self.section]):
            if spec.name == self.name:
                return spec
        raise KeyError(f"{self.section}.{self.name}")

    @property
    def key(self) -> str:
        """The field's name in the form, the API and the UI's value dicts."""
        return self.key_name or self.name

    @cached_property
    def hint(self) -> Any:
        return typing.get_type_hints(SECTIONS[self.section])[self.name]

    @property
    def optional(self) -> bool:
        return type(None) in typing.get_args(self.hint)

    @property
    def kind(self) -> str:
        """bool, int, float, list or str."""
        hint = self.hint
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
            hint = args[0]
        if hint is list or typing.get_origin(hint) is list:
            return "list"
        return {bool: "bool", int: "int", float: "float"}.get(hint, "str")

    @property
    def default(self) -> Any:
        if self.spec.default is not dataclasses.MISSING:
            return self.spec.default
        if self.spec.default_factory is not dataclasses.MISSING:
            return self.spec.default_factory()
        return None

    @property
    def help(self) -> str:
        return self.spec.metadata.get("help", "")

    @property
    def minimum(self) -> float | None:
        return self.spec.metadata.get("minimum")

    @property
    def maximum(self) -> float | None:
        return self.spec.metadata.get("maximum")

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self.choices or self.spec.metadata.get("choices") or ())

    @property
    def python_type(self) -> Any:
        """The API parameter's type."""
        base = {"bool": bool, "int": int, "float": float, "list": list[str], "str": str}[self.kind]
        return base | None if self.optional or self.kind == "str" else base

    def info(self) -> str:
        """The widget's info line: the config's help, and its limits."""
        text = self.help
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            text += f" From {_shown_number(low)} to {_shown_number(high)}."
        elif low is not None and self.kind in ("int", "float"):
            text += f" At least {_shown_number(low)}."
        if self.optional and self.kind in ("int", "float"):
            text += " Empty: the default."
        return text.strip()

    # -- a value from the form or the API
    def parse(self, raw: Any) -> Any:
        """The config value for ``raw``; a ValueError says what is wrong, in words for the person."""
        kind = self.kind
        if kind == "bool":
            return bool(raw)
        if kind == "list":
            items = raw if isinstance(raw, (list, tuple)) else str(raw or "").replace(",", " ").split()
            items = [str(item).strip() for item in items if str(item).strip()]
            bad = [item for item in items if self.allowed and item not in self.allowed]
            if bad:
                raise ValueError(f"'{bad[0]}' is not one of {', '.join(self.allowed)}.")
            return items
        if kind == "str":
            text = str(raw).strip() if raw is not None else ""
            if not text:
                return None if self.optional else self.default
            if self.allowed and text not in self.allowed:
                raise ValueError(f"must be one of {', '.join(self.allowed)}, got '{text}'.")
            return text
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.optional:
                return None
            raise ValueError("is empty: give a number.")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, got '{raw}'.") from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {raw}.")
        if kind == "int":
            if number != int(number):
                raise ValueError(f"must be a whole number, got {raw}.")
            number = int(number)
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {_shown_number(self.minimum)}, got {_shown_number(number)}.")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {_shown_number(self.maximum)}, got {_shown_number(number)}.")
        return number

    def shown(self, value: Any) -> Any:
        """How a config value is put back in the widget."""
        if self.kind == "list":
            return list(value or [])
        if self.kind == "str":
            return value or ""
        return value


def _shown_number(value: float) -> str:
    """A limit or value in a message: whole numbers with thousands separators (10,000,000, not 1e+07)."""
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


_DECLARED = (
    FormField("model", "model", "Model", MAIN, suggestions=MODEL_CHOICES),
    FormField("training", "epochs", "Epochs", MAIN),
    FormField("training", "max_steps", "Max steps", MAIN),
    FormField("training", "batch_size", "Batch size", MAIN),
    FormField("training", "learning_rate", "Learning rate", MAIN),
    FormField("data", "max_length", "Max length (tokens)", MAIN),
    FormField("training", "seed", "Seed", MAIN),
    FormField("training", "warmup_ratio", "Warmup ratio"),
    FormField("training", "weight_decay", "Weight decay"),
    FormField("training", "eval_steps", "Eval steps"),
    FormField("training", "eval_batch_size", "Eval batch size"),
    FormField("training", "gradient_accumulation_steps", "Gradient accumulation steps"),
    FormField("training", "mixed_precision", "Mixed precision"),
    FormField("training", "group_by_length", "Group texts by length"),
    FormField("training", "token_batches", "Cut batches by tokens"),
    FormField("training", "logging_steps", "Log every N steps"),
    FormField("training", "save_total_limit", "Checkpoints to keep"),
    FormField("training", "early_stopping_patience", "Early stopping patience"),
    FormField("training", "report_to", "Log metrics to", choices=("trackio",)),
    FormField("training", "use_cpu", "Train on the CPU"),
    FormField("data", "validation_size", "Held-out share"),
    FormField("data", "max_train_samples", "Max training rows"),
    FormField("data", "max_eval_samples", "Max eval rows"),
    FormField("model", "revision", "Model revision", key_name="model_revision"),
    FormField("hub", "repo_id", "Push to Hub repo (optional)", HUB),
    FormField("hub", "private", "Private repo", HUB),
    FormField("hub", "strategy", "What to push while training", HUB, key_name="hub_strategy"),
)


def _train_form() -> tuple[FormField, ...]:
    declared = {(f.section, f.name) for f in _DECLARED}
    section_cls = SECTIONS["training"]
    extra = tuple(
        FormField("training", spec.name, _label(spec.name))
        for spec in dataclasses.fields(section_cls)
        if ("training", spec.name) not in declared and ("training", spec.name) not in NOT_IN_FORM
    )
    form = _DECLARED + extra
    keys = [f.key for f in form]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise RuntimeError(f"Form keys used twice: {', '.join(sorted(duplicates))}; give one a key_name.")
    return form


TRAIN_FORM: tuple[FormField, ...] = _train_form()
FORM_BY_KEY: dict[str, FormField] = {f.key: f for f in TRAIN_FORM}


def form_defaults(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each field's starting value: the config's default, then ``overrides`` (e.g. for the hardware)."""
    values = {f.key: f.shown(f.default) for f in TRAIN_FORM}
    values.update(overrides or {})
    return values


def parse_form(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The config sections the form's values describe; a FormError names every field at fault.

    A key missing from ``values`` keeps the config's default (an API caller names only what it changes).
    """
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    problems: list[tuple[str, str]] = []
    for f in TRAIN_FORM:
        if f.key not in values:
            continue
        try:
            sections[f.section][f.name] = f.parse(values[f.key])
        except ValueError as err:
            problems.append((f.label, str(err)))
    if problems:
        raise FormError(problems)
    return sections


def build_config(values: Mapping[str, Any], data: DataConfig, *, task: str = "custom") -> TrainConfig:
    """The TrainConfig of a form: ``data`` (from the Dataset tab) plus the form's own fields."""
    sections = parse_form(values)
    data_values = {**dataclasses.asdict(data), **sections.pop("data")}
    raw = {"task": task, "data": data_values, **sections}
    return TrainConfig.from_dict(raw)


def form_values(config: TrainConfig) -> dict[str, Any]:
    """The form's values for ``config``: a followed run's settings are put back in the form."""
    return {f.key: f.shown(getattr(getattr(config, f.section), f.name)) for f in TRAIN_FORM}


# ------------------------------------------------------------------------------------- the dataset form


@dataclass(frozen=True)
class DataField:
    """One input of the Dataset tab.

    ``key`` names it in the form, the API and the value dicts; ``config`` is the ``DataConfig`` field it
    fills ("" for the form's own choices: the source, the example, the upload, and ``task``, which is the
    ``TrainConfig``'s); ``api`` says whether the public endpoints take it, with ``api_default``.
    """

    key: str
    label: str
    config: str = ""
    api: bool = True
    api_default: Any = None
    optional: bool = False  # a column that detection may find absent (the second text of a pair)

    @property
    def help(self) -> str:
        return field_help(DataConfig, self.config) if self.config else ""

    @property
    def column(self) -> bool:
        """A column name: "detect" in the form, None (detected) in the config."""
        return self.config in COLUMN_FIELDS

    @property
    def detect_label(self) -> str:
        """A column dropdown's "detect" choice."""
        return "(detect / none)" if self.optional else "(detect)"

    @property
    def role(self) -> str:
        """A column as a sentence names it: text, second text, label."""
        return self.label.removesuffix(" column").lower()

    def parameter(self, default: Any = dataclasses.MISSING) -> inspect.Parameter:
        """The API parameter: str when it has a default value, else an optional str."""
        value = self.api_default if default is dataclasses.MISSING else default
        annotation = str if value is not None else str | None
        return inspect.Parameter(
            self.key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=value, annotation=annotation
        )


# In the order of the Train tab's inputs and of the API's parameters.
DATA_FORM: tuple[DataField, ...] = (
    DataField("source", "Data source", api=False),
    DataField("dataset", "Hub dataset id", "dataset", api_default="example:sentiment"),
    DataField("dataset_config", "Config (subset)", "dataset_config"),
    DataField("split", "Split", "train_split", api_default="train"),
    DataField("upload_name", "Your uploads", api=False),
    DataField("example", "Example dataset", api=False),
    DataField("text_column", "Text column", "text_column"),
    DataField("text_pair_column", "Second text column", "text_pair_column", optional=True),
    DataField("label_column", "Label column", "label_column"),
    DataField("task", "Task preset", api_default=CUSTOM),
    DataField("task_type", "Task kind", "task_type"),
    DataField("label_separator", "Label separator (multi-label)", "label_separator"),
)
DATA_BY_KEY: dict[str, DataField] = {f.key: f for f in DATA_FORM}
DATA_KEYS: tuple[str, ...] = tuple(DATA_BY_KEY)
COLUMN_KEYS: tuple[str, ...] = tuple(f.key for f in DATA_FORM if f.column)
API_DATA_KEYS: tuple[str, ...] = tuple(f.key for f in DATA_FORM if f.api)


def data_parameters(keys: tuple[str, ...] = API_DATA_KEYS, **defaults: Any) -> list[inspect.Parameter]:
    """The public endpoints' dataset parameters, in ``keys`` order; ``defaults`` replace the declared ones."""
    return [DATA_BY_KEY[key].parameter(defaults.get(key, dataclasses.MISSING)) for key in keys]
