"""Loading, inspecting, validating and tokenizing text datasets for classification and regression.

A dataset is a Hub id or a local table file. Columns are detected when not given, single labels of any
kind (ClassLabel, integers, strings) become a ``ClassLabel`` with human names, multi-label cells (lists, or
text split as ``task_types.split_labels`` says) a multi-hot float row, and regression targets floats; every
problem found is reported with what to do about it before any model is downloaded.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, LargeList, List, Value

from trainer_core import task_types
from trainer_core.config import COLUMN_FIELDS, DataConfig
from trainer_core.errors import HubUnreachableError, InputError
from trainer_core.files import SUPPORTED_SUFFIXES, format_names, read_table
from trainer_core.stack import load_stack
from trainer_core.task_types import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainer_core.tasks import DEFAULT_MAX_LENGTH, TaskPreset, preset_values

logger = logging.getLogger(__name__)

TEXT_CANDIDATES = (
    "text", "sentence", "document", "review", "content", "comment", "review_text", "body",
    "utterance", "tweet", "question", "title",
)  # fmt: skip
PAIR_CANDIDATES = (
    ("sentence1", "sentence2"),
    ("text1", "text2"),
    ("text_a", "text_b"),
    ("premise", "hypothesis"),
    ("question1", "question2"),
    ("question", "sentence"),
)
LABEL_CANDIDATES = (
    "label", "labels", "sentiment", "class", "category", "target", "stars", "rating", "y", "tags", "topics", "score",
    "similarity",
)  # fmt: skip
EVAL_SPLIT_CANDIDATES = ("validation", "valid", "val", "dev", "test")
LABEL = "label"


@dataclass
class ColumnSpec:
    text: str
    label: str | None
    text_pair: str | None = None

    @property
    def text_columns(self) -> list[str]:
        return [self.text] if self.text_pair is None else [self.text, self.text_pair]


@dataclass
class Problem:
    kind: str
    message: str
    count: int = 0


@dataclass
class TokenStats:
    rows: int
    mean: float
    p95: int
    max: int
    max_length: int
    truncated: int
    truncated_share: float
    histogram: list[int] = field(default_factory=list)
    bin_edges: list[int] = field(default_factory=list)


@dataclass
class DatasetPreview:
    dataset: str
    dataset_config: str | None
    split: str
    splits: dict[str, int | None]
    features: dict[str, str]
    columns: ColumnSpec | None
    label_names: list[str]
    label_counts: dict[str, int]
    rows: list[dict[str, Any]]
    rows_scanned: int
    token_stats: TokenStats | None
    problems: list[Problem]
    task_type: str = SINGLE_LABEL
    # regression: the target's summary and histogram (task_types.target_summary); multi-label: labels per row
    target_stats: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PreparedData:
    """Train and eval splits with labels encoded as ``label`` and texts cleaned.

    ``label`` is a ClassLabel for a single-label task, a multi-hot float list (one item per name in
    ``label_names``) for a multi-label one, and a float for a regression, whose ``label_names`` is the
    target column's name alone.
    """

    train: Dataset
    eval: Dataset
    columns: ColumnSpec
    label_names: list[str]
    eval_source: str
    problems: list[Problem]
    task_type: str = SINGLE_LABEL
    task_type_reason: str | None = None  # why, when the kind was detected rather than given


# --------------------------------------------------------------------------------------- loading


def is_local_file(dataset: str) -> bool:
    path = Path(dataset).expanduser()
    return path.suffix.lower() in SUPPORTED_SUFFIXES or path.is_file()


def load_local(path: str | Path) -> DatasetDict:
    load_stack()
    return DatasetDict({"train": _to_dataset(read_table(path), path)})


def sample_local(path: str | Path, rows: int) -> tuple[dict[str, int | None], Dataset]:
    """The first ``rows`` rows of a local table, read from a prefix of the file (a 200 MB CSV is
    previewed from its first few MiB), and its split sizes: None where the file holds more rows."""
    load_stack()
    frame = read_table(path, max_rows=rows)
    return {"train": len(frame) if frame.attrs.get("complete", True) else None}, _to_dataset(frame, path)


def _to_dataset(frame: Any, path: str | Path) -> Dataset:
    try:
        return Dataset.from_pandas(frame, preserve_index=False)
    except Exception as err:  # pyarrow cannot type a column (e.g. mixed objects)
        raise InputError(
            f"Could not turn '{Path(path).name}' into a table: {err}. Check for mixed-type columns."
        ) from err


def _hub_error(dataset: str, err: Exception) -> Exception:
    text = str(err)
    name = type(err).__name__
    if name in ("DatasetNotFoundError", "RepositoryNotFoundError", "FileNotFoundError") or "doesn't exist" in text:
        return InputError(
            f"Dataset '{dataset}' was not found on the Hub, or it is private or gated and your token has no "
            "access. Check the spelling (datasets are 'owner/name', e.g. nyu-mll/glue), or sign in / set HF_TOKEN."
        )
    if name == "GatedRepoError" or "gated" in text.lower():
        return InputError(
            f"Dataset '{dataset}' is gated: accept its conditions on its Hub page with your account, then use a "
            "token of that account."
        )
    if name in (
        "ConnectionError",
        "OfflineModeIsEnabled",
        "LocalEntryNotFoundError",
        "Timeout",
    ) or isinstance(err, (ConnectionError, TimeoutError)):
        return HubUnreachableError(
            f"Cannot reach the Hugging Face Hub to load '{dataset}' and it is not in the local cache. "
            f"Check the network, or use a local {format_names()} file, which works offline."
        )
    if "config" in text.lower() and ("available" in text.lower() or "not found" in text.lower()):
        return InputError(f"Dataset '{dataset}': {text.strip()}")
    if "split" in text.lower():
        return InputError(f"Dataset '{dataset}': {text.strip()}")
    if name == "HfHubHTTPError" or "401" in text or "403" in text:
        return InputError(f"The Hub refused access to dataset '{dataset}': {text.splitlines()[0]}")
    return InputError(f"Could not load dataset '{dataset}': {text.strip().splitlines()[0] if text else name}")


def _hub_token(token: str | bool | None) -> str | bool | None:
    # False is an anonymous visitor: kept, so the Hub libraries do not fall back to the server's HF_TOKEN.
    return token if token is False else (token or None)


def load_raw(cfg: DataConfig, token: str | None = None) -> DatasetDict:
    """All splits of the dataset, unmodified. Raises InputError or HubError with what to do."""
    load_stack()  # datasets' fingerprinting looks into transformers: never while another thread imports it
    if not cfg.dataset:
        raise InputError(f"No dataset given. Pass a Hub dataset id (e.g. nyu-mll/glue) or a {format_names()} file.")
    if is_local_file(cfg.dataset):
        return load_local(cfg.dataset)
    try:
        loaded = datasets.load_dataset(
            cfg.dataset, cfg.dataset_config, revision=cfg.dataset_revision, token=_hub_token(token)
        )
    except Exception as err:
        raise _hub_error(cfg.dataset, err) from err
    if not isinstance(loaded, DatasetDict):
        loaded = DatasetDict({"train": loaded})
    return loaded


def stream_sample(
    cfg: DataConfig, split: str, rows: int, token: str | None = None
) -> tuple[dict[str, int | None], Dataset]:
    """The first ``rows`` rows of a Hub split, streamed, and the row count of every split where the
    dataset card states it: a preview without downloading a whole dataset (Yelp is 650,000 reviews)."""
    load_stack()
    try:
        builder = datasets.load_dataset_builder(
            cfg.dataset, cfg.dataset_config, revision=cfg.dataset_revision, token=_hub_token(token)
        )
        if builder.info.splits:
            splits = {name: info.num_examples for name, info in builder.info.splits.items()}
        else:
            names = datasets.get_dataset_split_names(
                cfg.dataset, cfg.dataset_config, revision=cfg.dataset_revision, token=_hub_token(token)
            )
            splits = dict.fromkeys(names)
        require_split(splits, split, cfg.dataset)
        stream = datasets.load_dataset(
            cfg.dataset, cfg.dataset_config, split=split, revision=cfg.dataset_revision, token=_hub_token(token),
            streaming=True,
        )  # fmt: skip
        sample = Dataset.from_list(list(stream.take(rows)), features=stream.features)
    except InputError:
        raise
    except Exception as err:
        raise _hub_error(cfg.dataset, err) from err
    return splits, sample


def require_split(splits: Iterable[str], split: str, dataset: str) -> None:
    names = list(splits)
    if split not in names:
        raise InputError(f"Split '{split}' does not exist in '{dataset}'. Available splits: {', '.join(names)}.")


# ------------------------------------------------------------------------------ column detection


def _find(names: Sequence[str], candidates: Iterable[str]) -> str | None:
    lowered = {name.lower(): name for name in names}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def detect_columns(
    features: datasets.Features,
    *,
    text: str | None = None,
    text_pair: str | None = None,
    label: str | None = None,
    preset: TaskPreset | None = None,
    require_label: bool = True,
) -> ColumnSpec:
    """Choose text, pair and label columns: given ones are checked, missing ones detected."""
    names = list(features)
    shown = ", ".join(names) or "(none)"
    if preset is not None:
        hint = preset_values(preset)
        text, text_pair, label = (
            given or (hint[name] if hint[name] in names else None)
            for given, name in zip((text, text_pair, label), COLUMN_FIELDS, strict=True)
        )

    for role, column in (("text", text), ("text pair", text_pair), ("label", label)):
        if column is not None and column not in names:
            raise InputError(
                f"The {role} column '{column}' is not in the dataset. Columns found: {shown}. "
                f"Pass one of them as the {role} column."
            )

    if text is None:
        for first, second in PAIR_CANDIDATES:
            found_first, found_second = _find(names, [first]), _find(names, [second])
            if found_first and found_second:
                text, text_pair = found_first, text_pair or found_second
                break
    if text is None:
        text = _find(names, TEXT_CANDIDATES)
    if text is None:
        string_columns = [n for n in names if _is_string(features[n]) and n != label]
        if len(string_columns) == 1:
            text = string_columns[0]
    if text is None:
        raise InputError(
            f"No text column found. Columns found: {shown}. Name the column holding the text with "
            "--text-column (and --text-pair-column for sentence pairs)."
        )
    if not _is_string(features[text]):
        raise InputError(
            f"The text column '{text}' holds {_describe(features[text])}, not text. Columns found: {shown}."
        )

    if label is None:
        label = _find([n for n in names if n not in (text, text_pair)], LABEL_CANDIDATES)
    if label is None:
        class_labels = [n for n in names if isinstance(features[n], ClassLabel)]
        label = class_labels[0] if len(class_labels) == 1 else None
    if label is None and require_label:
        raise InputError(
            f"No label column found. Columns found: {shown}. Name the column holding the class with --label-column."
        )
    return ColumnSpec(text=text, text_pair=text_pair, label=label)


def _is_string(feature: Any) -> bool:
    return isinstance(feature, Value) and feature.dtype in ("string", "large_string")


def _describe(feature: Any) -> str:
    if isinstance(feature, Value):
        return f"values of type {feature.dtype}"
    return type(feature).__name__


# -------------------------------------------------------------------------------------- labels


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _is_negative_number(value: Any) -> bool:
    return (
        isinstance(value, (int, np.integer, float, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and float(value) < 0
    )


def is_missing_label(value: Any, mapping: dict[Any, int] | None) -> bool:
    """True for a row that has no label: blank, or a negative number (GLUE test splits use -1).

    Negative numbers count as missing whether or not the other labels were re-encoded ({-1, 0, 1, 5}
    trains on 0, 1 and 5), unless the labels are names (then "-1" is a name like any other).
    Preview and training both use this, so what the preview says is dropped is what training drops.
    """
    if _is_blank(value):
        return True
    numeric_labels = mapping is None or not any(isinstance(key, str) for key in mapping)
    return numeric_labels and _is_negative_number(value)


def label_names_of(
    dataset: Dataset, column: str, hint: Sequence[str] | None = None
) -> tuple[list[str], dict[Any, int] | None]:
    """The class names of a label column, and a value -> id mapping when values must be re-encoded."""
    feature = dataset.features[column]
    if isinstance(feature, ClassLabel):
        return list(feature.names), None
    values = [v for v in dataset[column] if not _is_blank(v)]
    if not values:
        raise InputError(f"The label column '{column}' is empty in every row.")
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return ["false", "true"], {False: 0, True: 1}
    if all(isinstance(v, (int, np.integer)) or (isinstance(v, float) and float(v).is_integer()) for v in values):
        unique = sorted({int(v) for v in values if int(v) >= 0})
        if unique == list(range(len(unique))) and hint is not None and len(hint) >= len(unique):
            return list(hint), None
        if unique == list(range(len(unique))):
            return [str(v) for v in unique], None
        return [str(v) for v in unique], {v: i for i, v in enumerate(unique)}
    unique = sorted({str(v).strip() for v in values})
    return unique, {name: i for i, name in enumerate(unique)}


def _refuse_unknown_labels(unknown: set[str], names: list[str], split: str) -> None:
    if unknown:
        known = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise InputError(
            f"The {split} split has labels never seen in the training split: {', '.join(sorted(unknown)[:10])}. "
            f"Known labels: {known}. Fix or remove those rows."
        )


def _with_label_column(dataset: Dataset, column: str, values: list[Any]) -> Dataset:
    """``dataset`` with ``values`` as its ``label`` column, in place of the source column ``column``."""
    dataset = dataset.remove_columns([c for c in dict.fromkeys([column, LABEL]) if c in dataset.column_names])
    return dataset.add_column(LABEL, values)


def encode_labels(
    dataset: Dataset, column: str, names: list[str], mapping: dict[Any, int] | None, split: str
) -> tuple[Dataset, int]:
    """Replace the label column by a ClassLabel column named ``label``; drop rows without a label.

    Returns the dataset and how many rows were dropped for a missing or negative label (GLUE test
    splits use -1 for 'no label'). Labels unknown to ``names`` are an error, not silently dropped.
    """
    ids: list[int] = []
    unknown: set[str] = set()
    for value in dataset[column]:
        if is_missing_label(value, mapping):
            ids.append(-1)
            continue
        key = _label_key(value, mapping)
        if key is None or key >= len(names):
            unknown.add(str(value))
            ids.append(-1)
        else:
            ids.append(key)
    _refuse_unknown_labels(unknown, names, split)
    dataset = _with_label_column(dataset, column, ids)
    before = len(dataset)
    dataset = dataset.filter(lambda labels: [v >= 0 for v in labels], batched=True, input_columns=LABEL)
    return dataset.cast_column(LABEL, ClassLabel(names=names)), before - len(dataset)


def _label_key(value: Any, mapping: dict[Any, int] | None) -> int | None:
    if mapping is None:
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        return mapping.get(bool(value))
    if isinstance(value, (int, np.integer, float)) and not isinstance(next(iter(mapping)), str):
        return mapping.get(int(value))
    return mapping.get(str(value).strip())


# ---------------------------------------------------------------------------------- task kinds


def is_list_feature(feature: Any) -> bool:
    return isinstance(feature, (List, LargeList))


def detect_task_type(cfg: DataConfig, features: datasets.Features, column: str | None) -> tuple[str, str | None]:
    """The task kind ``cfg`` asks for, else the one the label column shows, and why when detected.

    A column of lists, or a label separator given, is multi-label; everything else stays single-label, as it
    always was (a column of fractional numbers gets a suggestion to choose regression, never a silent change).
    """
    if cfg.task_type:
        return cfg.task_type, None
    if column is not None and column in features and is_list_feature(features[column]):
        return MULTI_LABEL, f"the label column '{column}' holds a list of labels per row: multi-label"
    if cfg.label_separator:
        return MULTI_LABEL, f"a label separator ('{cfg.label_separator}') is given: multi-label"
    return SINGLE_LABEL, None


def regression_hint(values: Sequence[Any], column: str) -> str:
    """A sentence suggesting regression for a column of fractional numbers; empty otherwise."""
    sample = [v for v in values if not _is_blank(v)]
    if not task_types.is_fractional(sample):
        return ""
    shown = ", ".join(f"{float(v):g}" for v in [v for v in sample if not float(v).is_integer()][:3])
    return (
        f" The label column '{column}' holds fractional numbers ({shown}, ...): to predict the number, choose "
        "the task kind regression (task_type: regression, --task-type regression)."
    )


def _inner_class_label(feature: Any) -> ClassLabel | None:
    inner = getattr(feature, "feature", None)
    return inner if isinstance(inner, ClassLabel) else None


def _cell_labels(value: Any, names_of_ids: ClassLabel | None, separator: str | None) -> list[str]:
    if names_of_ids is not None and task_types.is_list(value):
        return list(dict.fromkeys(names_of_ids.names[int(i)] for i in value if i is not None and int(i) >= 0))
    return task_types.split_labels(value, separator)


def multi_label_names(dataset: Dataset, column: str, separator: str | None = None) -> list[str]:
    """Every label of a multi-label column, sorted (numerically when they are all whole numbers)."""
    feature = dataset.features[column]
    inner = _inner_class_label(feature)
    if inner is not None:
        return list(inner.names)
    if _is_string(feature) or is_list_feature(feature):
        found: set[str] = set()
        for value in dataset[column]:
            found.update(_cell_labels(value, None, separator))
    else:
        raise InputError(
            f"The label column '{column}' holds {_describe(feature)}, and a multi-label task needs a list of labels "
            "per row, or text such as 'sports;politics'. Choose the column with the labels, or another task kind."
        )
    if not found:
        raise InputError(
            f"The label column '{column}' holds no label in any row. A multi-label cell is a list, or text split "
            f"at {_separator_words(separator)}. Check the column and the separator."
        )
    if all(name.lstrip("-").isdigit() for name in found):
        return sorted(found, key=int)
    return sorted(found)


def _separator_words(separator: str | None) -> str:
    return f"'{separator}'" if separator else "',', ';' or '|'"


def encode_multi_label(dataset: Dataset, column: str, names: list[str], separator: str | None, split: str) -> Dataset:
    """Replace the label column by ``label``: one multi-hot float row per example, in ``names`` order.

    An empty cell is a row to which none of the labels applies; a label unknown to ``names`` is an error.
    """
    inner = _inner_class_label(dataset.features[column])
    index = {name: i for i, name in enumerate(names)}
    rows: list[list[float]] = []
    unknown: set[str] = set()
    for value in dataset[column]:
        row = [0.0] * len(names)
        for label in _cell_labels(value, inner, separator):
            if label in index:
                row[index[label]] = 1.0
            else:
                unknown.add(label)
        rows.append(row)
    _refuse_unknown_labels(unknown, names, split)
    dataset = _with_label_column(dataset, column, rows)
    return dataset.cast_column(LABEL, List(Value("float32"), length=len(names)))


def regression_values(values: Sequence[Any], column: str) -> list[float | None]:
    """Each row's target as a float (None where the cell is empty); other values are an error naming them."""
    numbers: list[float | None] = []
    bad: list[Any] = []
    for value in values:
        if _is_blank(value):
            numbers.append(None)
            continue
        number = task_types.to_number(value)
        if number is None:
            bad.append(value)
        numbers.append(number)
    if bad:
        shown = ", ".join(f"'{str(v)[:40]}'" for v in list(dict.fromkeys(map(str, bad)))[:5])
        raise InputError(
            f"A regression needs a number in the label column '{column}', but {len(bad)} of {len(values)} rows hold "
            f"something else: {shown}. Fix those rows, choose the column with the numbers (label column), or "
            "train a classifier instead (task_type single_label or multi_label)."
        )
    return numbers


def encode_targets(dataset: Dataset, column: str, split: str) -> tuple[Dataset, int]:
    """Replace the label column by a float ``label`` column; drop rows without a number (counted)."""
    numbers = regression_values(dataset[column], column)
    dataset = _with_label_column(dataset, column, [math.nan if n is None else n for n in numbers])
    dataset = dataset.cast_column(LABEL, Value("float32"))
    before = len(dataset)
    dataset = dataset.filter(lambda values: [not math.isnan(v) for v in values], batched=True, input_columns=LABEL)
    return dataset, before - len(dataset)


# ------------------------------------------------------------------------------- class balance

RARE_CLASS_ROWS = 2  # fewer rows than this: the class cannot be both learned and evaluated


def too_many_classes(
    counts: Iterable[int], column: str | None, *, scanned: tuple[int, int | None] | None = None
) -> str | None:
    """A message when most classes have only one or two rows, so training cannot learn them.

    1,000 labels with one row each, or 10,000 with two, would otherwise train without complaint to accuracy
    0: the column is most likely an id or free text, not a class. Training refuses this (``prepare``); the
    preview applies the same rule to the rows it scanned, and when those are only part of the split
    (``scanned``: rows scanned, rows in the split if known) it says so rather than promise the refusal.
    """
    counts = [c for c in counts if c > 0]
    rows, classes = sum(counts), len(counts)
    few = [c for c in counts if c <= 2]
    if classes <= 2 or len(few) * 2 <= classes:
        return None
    single = sum(1 for c in few if c == 1)
    found = (
        f"has {classes} classes for {rows} rows ({single} classes have a single row, {len(few) - single} have "
        "two): a classifier cannot learn a class from one or two examples. Check that this column holds the "
        "classes (not an id or free text), or gather more rows per class."
    )
    if scanned is None:
        return f"The label column '{column}' {found}"
    done, total = scanned
    if total is not None and done >= total:
        return f"The label column '{column}' {found} Training refuses this."
    of = f"of {total}" if total is not None else "the split holds more"
    return (
        f"In the {done} rows scanned ({of}), the label column '{column}' {found} If the whole split holds as "
        "few rows per class, training refuses it."
    )


def too_many_labels(counts: dict[str, int], rows: int, column: str | None) -> str | None:
    """``too_many_classes`` for multi-label data: labels seen fewer than twice on average cannot be learned.

    Free text split at its commas would otherwise become thousands of labels of one row each.
    """
    seen = [c for c in counts.values() if c > 0]
    if len(seen) <= 2 or len(seen) * RARE_CLASS_ROWS <= sum(seen):
        return None
    single = sum(1 for c in seen if c == 1)
    return (
        f"The label column '{column}' has {len(seen)} different labels in {rows} rows ({single} of them in a single "
        "row): a model cannot learn a label from one or two examples. Check that this column holds the labels (not "
        "free text split at its commas; see label_separator), or gather more rows per label."
    )


def rare_classes(counts: dict[str, int]) -> str | None:
    rare = sorted(name for name, count in counts.items() if 0 < count < RARE_CLASS_ROWS)
    if not rare:
        return None
    shown = ", ".join(rare[:10]) + (", ..." if len(rare) > 10 else "")
    return (
        f"{len(rare)} class(es) have fewer than {RARE_CLASS_ROWS} rows ({shown}): the model can hardly learn them "
        "and the evaluation may not contain them."
    )


# -------------------------------------------------------------------------------- preparing data


def drop_empty_texts(dataset: Dataset, spec: ColumnSpec) -> tuple[Dataset, int]:
    columns = spec.text_columns

    def keep(batch: dict[str, list]) -> list[bool]:
        return [all(not _is_blank(batch[c][i]) for c in columns) for i in range(len(batch[columns[0]]))]

    kept = dataset.filter(keep, batched=True, desc="Dropping empty texts")
    return kept, len(dataset) - len(kept)


def _subsample(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    if limit is None or limit >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(limit))


def choose_eval_split(raw: DatasetDict, cfg: DataConfig, label_column: str | None) -> str | None:
    """The eval split to use, or None to hold out part of train. Splits without labels are skipped."""
    if cfg.eval_split:
        require_split(raw.keys(), cfg.eval_split, cfg.dataset)
        return cfg.eval_split
    for name in EVAL_SPLIT_CANDIDATES:
        if name == cfg.train_split or name not in raw:
            continue
        if label_column and label_column in raw[name].column_names and _has_labels(raw[name], label_column):
            return name
    return None


def _has_labels(dataset: Dataset, column: str) -> bool:
    sample = dataset.select(range(min(len(dataset), 200)))[column]
    return any(not _is_blank(v) and not (isinstance(v, (int, np.integer)) and v < 0) for v in sample)


def prepare(
    cfg: DataConfig,
    raw: DatasetDict,
    *,
    preset: TaskPreset | None = None,
    seed: int = 42,
) -> PreparedData:
    """Validate and clean ``raw`` into train and eval splits ready for tokenization."""
    require_split(raw.keys(), cfg.train_split, cfg.dataset)
    train = raw[cfg.train_split]
    if len(train) == 0:
        raise InputError(f"The split '{cfg.train_split}' of '{cfg.dataset}' has no rows.")
    spec = detect_columns(
        train.features,
        text=cfg.text_column,
        text_pair=cfg.text_pair_column,
        label=cfg.label_column,
        preset=preset,
    )
    problems: list[Problem] = []
    eval_name = choose_eval_split(raw, cfg, spec.label)
    evaluation = raw[eval_name] if eval_name else None
    if evaluation is not None:
        missing = [c for c in [*spec.text_columns, spec.label] if c not in evaluation.column_names]
        if missing:
            raise InputError(
                f"The eval split '{eval_name}' lacks column(s) {', '.join(missing)}. "
                f"Its columns: {', '.join(evaluation.column_names)}."
            )

    task_type, task_reason = detect_task_type(cfg, train.features, spec.label)
    if task_type == MULTI_LABEL:
        names = multi_label_names(train, spec.label, cfg.label_separator)
        train = encode_multi_label(train, spec.label, names, cfg.label_separator, cfg.train_split)
        if evaluation is not None:
            evaluation = encode_multi_label(evaluation, spec.label, names, cfg.label_separator, eval_name)
        dropped = dropped_eval = 0
    elif task_type == REGRESSION:
        names = [spec.label]
        train, dropped = encode_targets(train, spec.label, cfg.train_split)
        dropped_eval = 0
        if evaluation is not None:
            evaluation, dropped_eval = encode_targets(evaluation, spec.label, eval_name)
    else:
        if is_list_feature(train.features[spec.label]):
            raise InputError(
                f"The label column '{spec.label}' holds a list of labels per row, and task_type is single_label: "
                "set task_type multi_label (--task-type multi_label), or choose a column with one label per row."
            )
        hint = preset.label_names if preset is not None else None
        names, mapping = label_names_of(train, spec.label, hint)
        fractional = regression_hint(train.select(range(min(len(train), 1000)))[spec.label], spec.label)
        train, dropped = encode_labels(train, spec.label, names, mapping, cfg.train_split)
        dropped_eval = 0
        if evaluation is not None:
            evaluation, dropped_eval = encode_labels(evaluation, spec.label, names, mapping, eval_name)
    what = "without a number" if task_type == REGRESSION else "without a label (empty or -1)"
    if dropped:
        problems.append(Problem("missing_label", f"Dropped {dropped} training rows {what}.", dropped))
    if dropped_eval:
        problems.append(Problem("missing_label", f"Dropped {dropped_eval} eval rows {what}.", dropped_eval))

    train, empty = drop_empty_texts(train, spec)
    if empty:
        problems.append(Problem("empty_text", f"Dropped {empty} training rows with an empty or missing text.", empty))
    if evaluation is not None:
        evaluation, empty_eval = drop_empty_texts(evaluation, spec)
        if empty_eval:
            problems.append(Problem("empty_text", f"Dropped {empty_eval} eval rows with an empty text.", empty_eval))

    if task_type == SINGLE_LABEL:
        class_counts = Counter(train[LABEL])
        too_many = too_many_classes(class_counts.values(), spec.label)
        if too_many:
            raise InputError(too_many + fractional + " Nothing was trained.")
        rare = rare_classes({names[k]: v for k, v in class_counts.items()})
        if rare:
            problems.append(Problem("rare_classes", rare, sum(1 for v in class_counts.values() if v < RARE_CLASS_ROWS)))
        present = sorted(class_counts)
        if len(present) < 2:
            only = names[present[0]] if present else "none"
            raise InputError(
                f"The label column '{spec.label}' has a single class ({only}) in the training data. "
                "A classifier needs at least two classes: check the label column or the split."
            )
    elif task_type == MULTI_LABEL:
        problems += _check_multi_label(train, names, spec.label)
    else:
        _check_targets(train, spec.label)

    keep = [*spec.text_columns, LABEL]
    train = train.select_columns(keep)
    if evaluation is None:
        if len(train) < 4:
            raise InputError(f"Only {len(train)} usable training rows: too few to hold out an eval split.")
        counts = Counter(train[LABEL]) if task_type == SINGLE_LABEL else Counter()
        stratify = LABEL if counts and min(counts.values()) >= 2 else None
        # A stratified split needs at least one row per class on each side; small data would fail in datasets.
        share = cfg.validation_size if cfg.validation_size is not None else 0.1  # prepare_run sets it by size
        held_out = max(math.ceil(len(train) * share), len(counts) if stratify else 1)
        held_out = min(held_out, len(train) - 1)
        if stratify and len(train) - held_out < len(counts):
            stratify = None
        parts = train.train_test_split(test_size=held_out, seed=seed, stratify_by_column=stratify)
        train, evaluation = parts["train"], parts["test"]
        eval_source = f"{share:.0%} of '{cfg.train_split}' held out (seed {seed})"
    else:
        evaluation = evaluation.select_columns(keep)
        eval_source = eval_name
    if len(evaluation) == 0:
        raise InputError(f"The eval split '{eval_source}' has no usable rows.")

    train = _subsample(train, cfg.max_train_samples, seed)
    evaluation = _subsample(evaluation, cfg.max_eval_samples, seed)
    return PreparedData(train, evaluation, spec, names, eval_source, problems, task_type, task_reason)


def _check_multi_label(train: Dataset, names: list[str], column: str) -> list[Problem]:
    """Refuse labels that cannot be learned (far more labels than examples of them); note rare ones."""
    hot = np.asarray(train[LABEL], dtype=np.float32).reshape(len(train), len(names))
    counts = {name: int(count) for name, count in zip(names, hot.sum(axis=0), strict=True)}
    too_many = too_many_labels(counts, len(train), column)
    if too_many:
        raise InputError(too_many + " Nothing was trained.")
    if not any(counts.values()):
        raise InputError(f"No training row carries any label of the column '{column}': there is nothing to learn.")
    problems = []
    never = [name for name, count in counts.items() if count == 0]
    if never:
        problems.append(
            Problem(
                "unused_labels", f"{len(never)} label(s) never occur in the training rows: {', '.join(never[:10])}."
            )
        )
    rare = rare_classes(counts)
    if rare:
        count = sum(1 for v in counts.values() if 0 < v < RARE_CLASS_ROWS)
        problems.append(Problem("rare_classes", rare.replace("class(es)", "label(s)"), count))
    none = int((hot.sum(axis=1) == 0).sum())
    if none:
        problems.append(
            Problem("no_labels", f"{none} training rows carry none of the labels (an empty cell): none applies.", none)
        )
    return problems


def _check_targets(train: Dataset, column: str) -> None:
    values = np.asarray(train[LABEL], dtype=np.float64)
    if len(values) and float(values.min()) == float(values.max()):
        raise InputError(
            f"The label column '{column}' holds the same number ({values[0]:g}) in every training row: a regression "
            "has nothing to learn. Check the label column or the split."
        )


# ---------------------------------------------------------------------------------- tokenization


CHARS_PER_TOKEN = 20
"""Characters kept per token of ``max_length`` before tokenizing. English averages 4 to 5 characters
per token, so the cut lies far beyond what truncation keeps; it only bounds pathological inputs."""

PREVIEW_MEASURED_TOKENS = 2048
"""The preview measures token lengths exactly up to max(4 x max_length, this) tokens (at most 8 x this),
so its histogram and p95 show how far texts run past max_length; longer texts are cut there first."""


def cut_text(text: Any, max_length: int) -> Any:
    """``text`` cut to ``max_length * CHARS_PER_TOKEN`` characters, before any tokenizer sees it.

    A tokenizer reads the whole string even when it truncates to ``max_length`` tokens, and truncating
    a sentence pair costs time and memory quadratic in its length (huggingface/tokenizers#2035): two
    1.2M-character texts took the app past 20 GB. Cutting characters first bounds that work while
    leaving the tokens that truncation keeps unchanged. Anything that is not a string (None, NaN) is
    returned as it is. Training, preview and evaluation data preparation call this; inference should
    use the same rule.
    """
    limit = max(1, max_length) * CHARS_PER_TOKEN
    if isinstance(text, str) and len(text) > limit:
        return text[:limit]
    return text


def tokenize(dataset: Dataset, tokenizer: Any, spec: ColumnSpec, max_length: int) -> Dataset:
    """Tokenize without padding (the collator pads each batch) and record each row's length.

    Sentence pairs are encoded as pairs so the model sees [CLS] a [SEP] b [SEP] with segment ids.
    Texts are cut with ``cut_text`` first, so a few huge rows cannot exhaust memory.
    """
    load_stack()  # hashing the map function looks into transformers: trainer_core/stack.py

    def encode(batch: dict[str, list]) -> dict[str, Any]:
        first = [cut_text(t, max_length) for t in batch[spec.text]]
        second = [cut_text(t, max_length) for t in batch[spec.text_pair]] if spec.text_pair else None
        encoded = tokenizer(first, second, truncation=True, max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    drop = [c for c in dataset.column_names if c != LABEL]
    return dataset.map(encode, batched=True, remove_columns=drop, desc="Tokenizing")


def token_lengths(
    texts: Sequence[str], tokenizer: Any, pairs: Sequence[str] | None = None, *, measure_up_to: int | None = None
) -> np.ndarray:
    """Token counts without truncation, special tokens included.

    With ``measure_up_to``, texts are first cut (``cut_text``) so that counts are exact up to about that
    many tokens and a huge text costs no more than one of that size.
    """
    if measure_up_to is not None:
        texts = [cut_text(t, measure_up_to) for t in texts]
        pairs = [cut_text(t, measure_up_to) for t in pairs] if pairs is not None else None
    encoded = tokenizer(list(texts), list(pairs) if pairs is not None else None, truncation=False)
    return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)


def token_stats(lengths: np.ndarray, max_length: int, bins: int = 20) -> TokenStats:
    if len(lengths) == 0:
        return TokenStats(0, 0.0, 0, 0, max_length, 0, 0.0)
    truncated = int((lengths > max_length).sum())
    hist, edges = np.histogram(lengths, bins=min(bins, max(1, int(lengths.max() - lengths.min()) + 1)))
    return TokenStats(
        rows=len(lengths),
        mean=round(float(lengths.mean()), 2),
        p95=int(np.percentile(lengths, 95)),
        max=int(lengths.max()),
        max_length=max_length,
        truncated=truncated,
        truncated_share=round(truncated / len(lengths), 4),
        histogram=[int(v) for v in hist],
        bin_edges=[round(v) for v in edges],
    )


# ------------------------------------------------------------------------------------- preview


def _feature_text(feature: Any) -> str:
    if isinstance(feature, ClassLabel):
        return f"ClassLabel({', '.join(feature.names)})"
    if isinstance(feature, Value):
        return feature.dtype
    return type(feature).__name__


def preview(
    cfg: DataConfig,
    *,
    split: str | None = None,
    rows: int = 10,
    tokenizer: Any = None,
    preset: TaskPreset | None = None,
    token: str | None = None,
    scan_rows: int = 5000,
    raw: DatasetDict | None = None,
) -> DatasetPreview:
    """What a dataset holds and what is wrong with it, without training anything.

    Label counts, duplicates and token lengths are computed on up to ``scan_rows`` rows of the split.
    """
    split = split or cfg.train_split
    if raw is None and not is_local_file(cfg.dataset):
        splits, table = stream_sample(cfg, split, scan_rows, token)
    elif raw is None:
        splits, table = sample_local(cfg.dataset, scan_rows)
        require_split(splits, split, cfg.dataset)
    else:
        raw = raw if raw is not None else load_raw(cfg, token)
        require_split(raw.keys(), split, cfg.dataset)
        splits, table = {name: len(part) for name, part in raw.items()}, raw[split]
    problems: list[Problem] = []
    spec: ColumnSpec | None
    try:
        spec = detect_columns(
            table.features,
            text=cfg.text_column,
            text_pair=cfg.text_pair_column,
            label=cfg.label_column,
            preset=preset,
            require_label=False,
        )
    except InputError as err:
        spec = None
        problems.append(Problem("columns", str(err)))

    scanned = table.select(range(min(len(table), scan_rows)))
    label_names: list[str] = []
    label_counts: dict[str, int] = {}
    stats = None
    task_type = cfg.task_type or SINGLE_LABEL
    target_stats = None
    if spec is not None:
        texts = scanned[spec.text]
        pairs = scanned[spec.text_pair] if spec.text_pair else None
        empty = sum(1 for i, t in enumerate(texts) if _is_blank(t) or (pairs is not None and _is_blank(pairs[i])))
        if empty:
            problems.append(
                Problem("empty_text", f"{empty} rows have an empty or missing text; training drops them.", empty)
            )
        keys = list(zip(texts, pairs, strict=True)) if pairs is not None else texts
        duplicates = len(keys) - len(set(keys))
        if duplicates:
            problems.append(Problem("duplicates", f"{duplicates} rows repeat the text of an earlier row.", duplicates))
        if spec.label is None:
            problems.append(Problem("no_label", "No label column found: name it before training."))
        elif (task_type := detect_task_type(cfg, table.features, spec.label)[0]) != SINGLE_LABEL:
            label_names, label_counts, target_stats = _preview_other_kind(
                cfg, table, scanned, spec.label, task_type, problems
            )
        elif is_list_feature(table.features[spec.label]):
            problems.append(
                Problem(
                    "labels",
                    f"The label column '{spec.label}' holds a list of labels per row: choose the task kind "
                    "multi_label to train on it.",
                )
            )
        else:
            hint = preset.label_names if preset is not None else None
            try:
                label_names, mapping = label_names_of(table, spec.label, hint)
                label_counts = _count_labels(scanned[spec.label], label_names, mapping)
            except InputError as err:
                problems.append(Problem("labels", str(err)))
            unknown = label_counts.pop("(no label)", 0)
            if unknown:
                problems.append(
                    Problem(
                        "unknown_label",
                        f"{unknown} rows have no label (empty or -1); training drops them.",
                        unknown,
                    )
                )
            if len([c for c in label_counts.values() if c]) == 1:
                problems.append(Problem("single_class", "Only one class occurs in the scanned rows."))
            too_many = too_many_classes(label_counts.values(), spec.label, scanned=(len(scanned), splits.get(split)))
            rare = rare_classes(label_counts)
            fractional = regression_hint(scanned[spec.label], spec.label).strip()
            if too_many:
                problems.append(Problem("too_many_classes", too_many))
            elif rare:
                problems.append(Problem("rare_classes", rare, sum(1 for v in label_counts.values() if 0 < v < 2)))
            if fractional and not cfg.task_type:
                problems.append(Problem("suggest_regression", fractional))
        if tokenizer is not None:
            clean = [i for i, t in enumerate(texts) if not _is_blank(t) and (pairs is None or not _is_blank(pairs[i]))]
            max_length = cfg.max_length or (preset.max_length if preset is not None else DEFAULT_MAX_LENGTH)
            lengths = token_lengths(
                [texts[i] for i in clean],
                tokenizer,
                [pairs[i] for i in clean] if pairs is not None else None,
                # Capped too: a max_length typed far past any model's must not undo the bound.
                measure_up_to=min(max(4 * max_length, PREVIEW_MEASURED_TOKENS), 8 * PREVIEW_MEASURED_TOKENS),
            )
            stats = token_stats(lengths, max_length)
            if stats.truncated:
                problems.append(
                    Problem(
                        "truncated",
                        f"{stats.truncated} of {stats.rows} texts ({stats.truncated_share:.1%}) are longer than "
                        f"max_length={max_length} tokens and will be truncated; p95 is {stats.p95}.",
                        stats.truncated,
                    )
                )

    shown = table.select(range(min(len(table), rows)))
    return DatasetPreview(
        dataset=cfg.dataset if not is_local_file(cfg.dataset) else Path(cfg.dataset).name,
        dataset_config=cfg.dataset_config,
        split=split,
        splits=splits,
        features={name: _feature_text(f) for name, f in table.features.items()},
        columns=spec,
        label_names=label_names,
        label_counts=label_counts,
        rows=[_jsonable_row(row) for row in shown],
        rows_scanned=len(scanned),
        token_stats=stats,
        problems=problems,
        task_type=task_type,
        target_stats=target_stats,
    )


def _preview_other_kind(
    cfg: DataConfig, table: Dataset, scanned: Dataset, column: str, task_type: str, problems: list[Problem]
) -> tuple[list[str], dict[str, int], dict[str, Any] | None]:
    """Label names, counts and the target's summary of a multi-label or regression preview; problems appended."""
    if task_type == REGRESSION:
        try:
            numbers = regression_values(scanned[column], column)
        except InputError as err:
            problems.append(Problem("labels", str(err)))
            return [], {}, None
        missing = sum(1 for n in numbers if n is None)
        if missing:
            problems.append(Problem("unknown_label", f"{missing} rows have no number; training drops them.", missing))
        summary = task_types.target_summary([n for n in numbers if n is not None], bins=12)
        if summary.get("count") and summary.get("distinct") == 1:
            problems.append(Problem("single_value", f"Every scanned row has the same target ({summary['min']:g})."))
        return [column], {}, summary
    try:
        names = multi_label_names(table if len(table) <= len(scanned) else scanned, column, cfg.label_separator)
    except InputError as err:
        problems.append(Problem("labels", str(err)))
        return [], {}, None
    inner = _inner_class_label(table.features[column])
    counts = dict.fromkeys(names, 0)
    per_row = []
    for value in scanned[column]:
        labels = _cell_labels(value, inner, cfg.label_separator)
        per_row.append(len(labels))
        for label in labels:
            if label in counts:
                counts[label] += 1
    too_many = too_many_labels(counts, len(per_row), column)
    rare = rare_classes(counts)
    if too_many:
        problems.append(Problem("too_many_classes", too_many + " Training refuses this."))
    elif rare:
        problems.append(
            Problem("rare_classes", rare.replace("class(es)", "label(s)"), sum(1 for v in counts.values() if 0 < v < 2))
        )
    none = sum(1 for n in per_row if n == 0)
    if none:
        problems.append(
            Problem("no_labels", f"{none} rows carry none of the labels (an empty cell): training keeps them.", none)
        )
    stats = {
        "rows": len(per_row),
        "labels": len(names),
        "mean_labels_per_row": round(float(np.mean(per_row)), 3) if per_row else 0.0,
        "max_labels_per_row": max(per_row, default=0),
        "rows_without_labels": none,
        "separator": cfg.label_separator,
    }
    return names, counts, stats


def _count_labels(values: Sequence[Any], names: list[str], mapping: dict[Any, int] | None) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    missing = 0
    for value in values:
        if is_missing_label(value, mapping):
            missing += 1
            continue
        key = _label_key(value, mapping)
        if key is None or key >= len(names):
            missing += 1
        else:
            counts[names[key]] += 1
    if missing:
        counts["(no label)"] = missing
    return counts


def _jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        elif isinstance(value, float) and np.isnan(value):
            value = None
        out[key] = value
    return out
