"""Where a model or a dataset named in the UI comes from, checked before anything is loaded.

A choice is a string, so the same value works from a dropdown and from the API:

- models: ``run:<run id>`` (one of the visitor's runs, found through the job manager, which checks
  ownership), a Hub id (``owner/name``), or, only when the app runs off a Space, a local directory;
- datasets: ``run:<run id>`` (the rows that run was evaluated on while training), ``example:<name>`` (a
  file shipped in ``trainer_core/examples``), ``preset:<name>`` (a task preset's Hub dataset with its
  config, columns and eval split), a Hub id, or, off a Space, a local file.

On a Space nothing that names a path on the server is accepted: a visitor must not read another visitor's
runs or uploads, or the server's files, by typing a path. Pure helpers (no gradio import).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from trainer_core.config import COLUMN_FIELDS, DataConfig, trained_config
from trainer_core.errors import InputError
from trainer_core.examples import EXAMPLES
from trainer_core.files import format_names
from trainer_core.jobs import RUN_ID_PATTERN, JobManager, RunInfo
from trainer_core.tasks import PRESETS, get_preset, preset_values

RUN_PREFIX = "run:"
EXAMPLE_PREFIX = "example:"
PRESET_PREFIX = "preset:"
# owner/name with the characters the Hub allows; no path separators beyond the one slash.
HUB_ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
_RUN_ID_SEARCH = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


def run_choice(run_id: str) -> str:
    return f"{RUN_PREFIX}{run_id}"


def run_id_of(value: object) -> str | None:
    """The run id in ``value`` ('run:<id>', a bare id or a run's label), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith(RUN_PREFIX):
        text = text[len(RUN_PREFIX) :].strip()
        if not RUN_ID_PATTERN.match(text):
            raise InputError(f"'{value}' does not name a run: use run:<run id>, e.g. run:20260101-120000-abc123.")
        return text
    match = _RUN_ID_SEARCH.search(text)
    return match.group(0) if match and RUN_ID_PATTERN.match(match.group(0)) else None


def usable_model_dir(model_dir: Path) -> Path | None:
    """The folder to load a run's model from: its final save, else its latest checkpoint; None if neither."""
    if (model_dir / "config.json").is_file():
        return model_dir
    checkpoints = [
        p for p in model_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and (p / "config.json").is_file()
    ]
    if checkpoints:
        return max(checkpoints, key=lambda p: int(p.name.split("-")[-1]))
    return None


def _looks_like_path(value: str) -> bool:
    return (
        value.startswith(("/", "~", "."))
        or "\\" in value
        or ".." in value
        or value.count("/") > 1
        or Path(value).expanduser().exists()
    )


def resolve_model(
    value: str | None,
    *,
    jobs: JobManager,
    identity: Callable[[], str],
    on_space: bool,
    default: str | None = None,
) -> str:
    """What to hand to ``get_predictor``: a Hub id or a local directory. ``identity`` is called only for runs."""
    text = (value or "").strip()
    if not text:
        if default:
            return default
        raise InputError("No model chosen: pick one of your runs, or type a Hub model id such as owner/name.")
    run_id = run_id_of(text) if text.startswith(RUN_PREFIX) else None
    if run_id is not None:
        info = jobs.info(identity(), run_id)  # raises InputError for a run that is not the visitor's
        folder = usable_model_dir(jobs.model_dir(identity(), run_id))
        if folder is None:
            raise InputError(
                f"Run {run_id} has no saved model yet (it is {info.state}). Wait for its first checkpoint, "
                "or pick another run."
            )
        return str(folder)
    if on_space:
        if _looks_like_path(text) or not HUB_ID_PATTERN.match(text):
            raise InputError(
                f"'{text}' is not a Hub model id. On the Space, choose one of your runs or a model on the Hub "
                "(owner/name); local folders can be used only when you run the app on your own machine."
            )
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if _looks_like_path(text) or not HUB_ID_PATTERN.match(text):
        raise InputError(
            f"'{text}' is neither a local model folder nor a Hub model id (owner/name). Check the path or the id."
        )
    return text


# A run ends in one of these states with its model saved; a failed or interrupted one may have only a
# half-written checkpoint, and a running one changes under the visitor's feet.
MODEL_STATES = ("finished", "stopped")


def short_name(reference: str | None) -> str:
    """A model or dataset as a person reads it: the last part of a Hub id or path, never a server folder.

    A run's output folder ends in ``model`` (or ``checkpoint-N``): the name above it says more.
    """
    parts = [p for p in re.split(r"[\\/]", str(reference or "").strip()) if p]
    while len(parts) > 1 and (parts[-1] == "model" or parts[-1].startswith("checkpoint-")):
        parts.pop()
    return parts[-1] if parts else "?"


def run_is_pair(jobs: JobManager, identity: str, run_id: str) -> bool | None:
    """Whether a run was trained on text pairs: from the columns it trained on (written next to its model,
    detected ones included), else from the columns its form named; None when neither tells.

    A form that named no column leaves them to detection: an uploaded file with sentence1 and sentence2
    trains a pair model although its form's second-column field is empty.
    """
    try:
        trained = trained_config(jobs.model_dir(identity, run_id))
        config = jobs.config(identity, run_id)
    except (InputError, OSError):
        return None
    if trained is not None and trained.data.text_column:
        return bool(trained.data.text_pair_column)
    preset = PRESETS.get(config.task)
    if config.data.text_pair_column or (preset and preset.is_pair):
        return True
    if config.data.text_column or preset is not None:
        return False  # a text column named (or the preset's) and no second one: no pair is detected
    return None  # detected when the run prepares its data, and not recorded yet (or by an older version)


def run_label(info: RunInfo) -> str:
    """A run as a dropdown shows it: model, data and start time (its id stays the value)."""
    when = time.strftime("%b %d %H:%M", time.localtime(info.created)) if info.created else info.run_id
    return f"{short_name(info.model)} on {short_name(info.dataset)} · {when}"


NAME_FILE = "name.txt"  # a run's name given by its owner (the page's Rename), next to its config
MAX_NAME = 80


def run_name(jobs: JobManager, identity: str, info: RunInfo) -> str:
    """The run's name: the one its owner gave it, else model, data and start time."""
    try:
        given = (jobs.run_dir(identity, info.run_id) / NAME_FILE).read_text(encoding="utf-8").strip()
    except (OSError, InputError):
        given = ""
    return given or run_label(info)


def rename_run(jobs: JobManager, identity: str, run_id: str, name: str | None) -> str:
    """Give one of your runs a name (an empty name goes back to model, data and time); returns the name shown."""
    path = jobs.run_dir(identity, run_id)  # raises InputError for a run that is not the visitor's
    text = " ".join(str(name or "").split())
    if len(text) > MAX_NAME:
        raise InputError(f"Run name: at most {MAX_NAME} characters, got {len(text)}. Choose a shorter name.")
    if text:
        (path / NAME_FILE).write_text(text, encoding="utf-8")
    else:
        (path / NAME_FILE).unlink(missing_ok=True)
    return run_name(jobs, identity, jobs.info(identity, run_id))


def delete_run(jobs: JobManager, identity: str, run_id: str) -> None:
    """Remove one of your ended runs with its model and checkpoints; a queued or running run must stop first."""
    import shutil

    info = jobs.info(identity, run_id)  # raises InputError for a run that is not the visitor's
    if info.state in ("queued", "running", "stopping"):
        raise InputError(f"Run {run_id} is {info.state}: stop it first, then delete it.")
    shutil.rmtree(jobs.run_dir(identity, run_id))


def model_choices(runs: Iterable[RunInfo], jobs: JobManager, identity: str, extra: Iterable[tuple[str, str]] = ()):
    """Dropdown choices: the visitor's ended runs that have a model to load, then ``extra`` (label, value) pairs."""
    choices: list[tuple[str, str]] = []
    for info in runs:
        if info.state in MODEL_STATES and usable_model_dir(jobs.model_dir(identity, info.run_id)) is not None:
            choices.append((run_name(jobs, identity, info), run_choice(info.run_id)))
    choices.extend(extra)
    return choices


def dataset_choices(runs: Iterable[RunInfo] = ()) -> list[tuple[str, str]]:
    """Dropdown choices: each run's own eval rows, the shipped examples, the task presets."""
    own = [
        (f"Your run's eval rows · {info.run_id} · {Path(info.dataset).name or info.dataset}", run_choice(info.run_id))
        for info in runs
    ]
    examples = [(example.title, f"{EXAMPLE_PREFIX}{name}") for name, example in EXAMPLES.items()]
    presets = [(f"Preset: {preset.title}", f"{PRESET_PREFIX}{name}") for name, preset in PRESETS.items()]
    return own + examples + presets


def resolve_dataset(
    value: str | None, *, upload: str | None = None, on_space: bool, config: str | None = None, **columns: str | None
) -> tuple[DataConfig, str | None]:
    """A DataConfig for the chosen dataset, and the split to use when the choice implies one (else None).

    An uploaded file wins over the dropdown. ``columns`` (keyword arguments named as ``COLUMN_FIELDS``:
    text_column, ...) override the detected or preset ones.
    """
    unknown = sorted(set(columns) - set(COLUMN_FIELDS))
    if unknown:
        raise TypeError(f"resolve_dataset() got unexpected keyword arguments: {', '.join(unknown)}")
    overrides = {name: _clean(columns.get(name)) for name in COLUMN_FIELDS}
    config = _clean(config)
    if upload:
        return DataConfig(dataset=str(upload), **overrides), "train"
    text = (value or "").strip()
    if not text:
        raise InputError("No dataset chosen: pick an example or a preset, type a Hub dataset id, or upload a file.")
    if text.startswith(EXAMPLE_PREFIX):
        name = text[len(EXAMPLE_PREFIX) :]
        if name not in EXAMPLES:
            raise InputError(f"Unknown example '{name}'. Examples: {', '.join(EXAMPLES)}.")
        example = EXAMPLES[name]
        defaults = {field: getattr(example, field) for field in COLUMN_FIELDS}
        return DataConfig(dataset=str(example.path), **_merge(defaults, overrides)), "train"
    if text.startswith(PRESET_PREFIX):
        preset = get_preset(text[len(PRESET_PREFIX) :])
        if preset is None:
            raise InputError("Choose a preset by name, e.g. preset:sst2.")
        filled = preset_values(preset)
        cfg = DataConfig(
            dataset=filled["dataset"],
            dataset_config=config or filled["dataset_config"],
            dataset_revision=filled["dataset_revision"],
            eval_split=filled["eval_split"],
            **_merge({field: filled[field] for field in COLUMN_FIELDS}, overrides),
        )
        return cfg, filled["eval_split"]
    if on_space and (_looks_like_path(text) or not HUB_ID_PATTERN.match(text)):
        raise InputError(
            f"'{text}' is not a Hub dataset id. On the Space, pick an example or a preset, type a Hub dataset "
            "id (owner/name), or upload a file; local paths work only when you run the app on your own machine."
        )
    if not on_space:
        path = Path(text).expanduser()
        if path.is_file():
            return DataConfig(dataset=str(path.resolve()), **overrides), "train"
        if not path.exists() and _looks_like_path(text):
            raise InputError(f"File not found: '{text}'. Check the path, or give a Hub dataset id (owner/name).")
        if path.is_dir() or _looks_like_path(text):
            raise InputError(f"'{text}' is not a data file. Give a {format_names()} file, or a Hub dataset id.")
    return DataConfig(dataset=text, dataset_config=config, **overrides), None


def run_eval_data(
    jobs: JobManager, identity: str, run_id: str, directory: str | Path, token: str | None = None
) -> tuple[DataConfig, str]:
    """The rows a run was evaluated on while training, written to a CSV in ``directory``.

    The run's own config is read back and its data prepared again with the same seed, so a split held
    out of the training file is exactly the one training held out, and no training row is scored.
    Returns a DataConfig for the CSV and a description of where the rows came from.
    """
    from trainer_core import data as data_lib
    from trainer_core.tasks import resolve_config

    config = resolve_config(jobs.config(identity, run_id))  # raises InputError for another visitor's run
    raw = data_lib.load_raw(config.data, token)
    if config.data.validation_size is None and config.data.train_split in raw:
        from trainer_core.recipe import validation_share

        # The share training held out when none was given (training.prepare_run), not prepare()'s fallback.
        config.data.validation_size = validation_share(len(raw[config.data.train_split])).value
    prepared = data_lib.prepare(config.data, raw, preset=get_preset(config.task), seed=config.training.seed)
    frame = prepared.eval.to_pandas()
    path = Path(directory) / f"{run_id}-eval.csv"
    if prepared.task_type == "multi_label":
        # Lists of label names, in JSON Lines: read back as a list column, whatever the names contain.
        names = prepared.label_names
        frame[data_lib.LABEL] = [[names[j] for j, v in enumerate(row) if v > 0.5] for row in frame[data_lib.LABEL]]
        path = path.with_suffix(".jsonl")
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        if prepared.task_type == "single_label":
            frame[data_lib.LABEL] = [prepared.label_names[i] for i in frame[data_lib.LABEL]]
        frame.to_csv(path, index=False)  # a regression's targets stay numbers
    cfg = DataConfig(
        dataset=str(path),
        text_column=prepared.columns.text,
        text_pair_column=prepared.columns.text_pair,
        label_column=data_lib.LABEL,
    )
    return cfg, prepared.eval_source


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _merge(defaults: dict[str, str | None], overrides: dict[str, str | None]) -> dict[str, str | None]:
    merged = dict(defaults)
    merged.update({key: value for key, value in overrides.items() if value})
    return merged


__all__ = [
    "EXAMPLE_PREFIX",
    "PRESET_PREFIX",
    "RUN_PREFIX",
    "dataset_choices",
    "model_choices",
    "resolve_dataset",
    "resolve_model",
    "run_choice",
    "run_eval_data",
    "run_id_of",
    "run_label",
    "usable_model_dir",
]
