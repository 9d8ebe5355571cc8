"""Command line: ``python -m trainer_core preview|train|evaluate|predict|push``.

Every command calls the same library functions as the app. With ``--json`` the last line of stdout
is one JSON object. Exit status: 0 success, 2 bad input (message, no traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from trainer_core.config import (
    COLUMN_FIELDS,
    SECTIONS,
    DataConfig,
    HubConfig,
    TrainConfig,
    check_trackers_installed,
    field_help,
)
from trainer_core.errors import InputError, PushError, StudioError
from trainer_core.metrics import registry as metric_registry

# Flags whose names predate their generation from the config; every other field's flag is its name.
FLAG_NAMES: dict[tuple[str, str], str] = {
    ("model", "revision"): "--model-revision",
    ("hub", "repo_id"): "--push-to-hub",
    ("hub", "strategy"): "--hub-strategy",
    ("hub", "private"): "--hub-private",
    ("training", "search_trials"): "--search",
}
SECTION_CLASSES = dict(SECTIONS)


@dataclass(frozen=True)
class Flag:
    """One `train` flag, generated from one config field: its type, choices, default and help come from there."""

    flag: str
    section: str
    name: str
    kind: str  # bool, int, float, list, str
    choices: tuple[str, ...] | None
    default: Any
    help: str  # ready for argparse, which %-formats help texts: a literal % is written %%

    @property
    def dest(self) -> str:
        return self.name if self.section == "training" else f"{self.section}_{self.name}"


def _kind(hint: Any) -> str:
    """bool, int, float, list or str, from a field's type (``X | None`` counts as X)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint
    if typing.get_origin(base) is list or base is list:
        return "list"
    if typing.get_origin(base) is typing.Literal:
        return "str"
    return {bool: "bool", int: "int", float: "float"}.get(base, "str")


def _default(spec: dataclasses.Field) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None


def generate_flags() -> dict[str, Flag]:
    """Every field of every config section as a `train` flag: adding a config field adds its flag."""
    flags: dict[str, Flag] = {}
    for section, section_cls in SECTIONS.items():
        hints = typing.get_type_hints(section_cls)
        for spec in fields(section_cls):
            flag = FLAG_NAMES.get((section, spec.name), "--" + spec.name.replace("_", "-"))
            if flag in flags:
                raise RuntimeError(f"Two config fields would share the flag {flag}: add one of them to FLAG_NAMES.")
            choices = spec.metadata.get("choices")
            hint = hints[spec.name]
            if typing.get_origin(hint) is typing.Literal and not choices:
                choices = typing.get_args(hint)
            flags[flag] = Flag(
                flag=flag,
                section=section,
                name=spec.name,
                kind=_kind(hint),
                choices=tuple(choices) if choices else None,
                default=_default(spec),
                help=_escaped(spec.metadata.get("help", "")),
            )
    return flags


def _escaped(text: str) -> str:
    """``text`` as an argparse help string: argparse %-formats help, so "5%" alone would crash --help."""
    return text.replace("%", "%%")


def _field_help(section_cls: type, name: str) -> str:
    return _escaped(field_help(section_cls, name))


TRAIN_FLAGS = generate_flags()
NUMBER_TYPES = {"int": int, "float": float}


class UsageError(InputError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but with our wording
        raise UsageError(f"{message}. Run '{self.prog} --help' for the options.")


def _count(minimum: int) -> Any:
    """An argparse type for a whole number of at least ``minimum``: a usage error, not a crash later."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "count"  # argparse names the type in "invalid <name> value"
    return parse


def _add_column_flags(parser: argparse.ArgumentParser) -> None:
    for flag in ("--text-column", "--text-pair-column", "--label-column", "--dataset-config", "--dataset-revision",
                 "--label-separator"):  # fmt: skip
        spec = TRAIN_FLAGS[flag]
        parser.add_argument(flag, dest=spec.name, default=None, help=spec.help)


def _add_train_flag(parser: argparse.ArgumentParser, spec: Flag) -> None:
    shown = ",".join(spec.default) if isinstance(spec.default, list) else spec.default
    help_text = spec.help + (_escaped(f" (default: {shown})") if shown not in (None, "", []) else "")
    if spec.kind == "bool":
        # --x and --no-x both exist, so a YAML value can be overridden either way.
        parser.add_argument(
            spec.flag, dest=spec.dest, action=argparse.BooleanOptionalAction, default=None, help=help_text
        )
        return
    parser.add_argument(
        spec.flag,
        dest=spec.dest,
        default=None,
        type=NUMBER_TYPES.get(spec.kind, str),
        choices=spec.choices,
        metavar=spec.name.upper() if spec.choices is None else None,
        help=help_text,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m trainer_core", description="Preview, fine-tune, evaluate and use text classifiers."
    )
    parser.add_argument("--verbose", action="store_true", help="Show library logs and tracebacks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    preview = commands.add_parser("preview", help="Show a dataset's splits, columns, labels, lengths and problems.")
    preview.add_argument("--dataset", required=True, help=_field_help(DataConfig, "dataset"))
    preview.add_argument("--split", default=None, help="Split to inspect (default: train).")
    preview.add_argument("--rows", type=_count(0), default=5, help="Rows to show.")
    preview.add_argument("--tokenizer", default=None, help="Model id or directory whose tokenizer measures lengths.")
    preview.add_argument("--max-length", type=_count(8), default=None, help=_field_help(DataConfig, "max_length"))
    preview.add_argument("--task", default="custom", help=_field_help(TrainConfig, "task"))
    preview.add_argument(
        "--task-type", default=None, choices=TRAIN_FLAGS["--task-type"].choices, help=TRAIN_FLAGS["--task-type"].help
    )
    _add_column_flags(preview)
    preview.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    train = commands.add_parser("train", help="Fine-tune a model; optionally push it to the Hub.")
    train.add_argument("--config", default=None, help="YAML file with every option; flags override it.")
    train.add_argument("--task", default=None, help=_field_help(TrainConfig, "task"))
    for spec in TRAIN_FLAGS.values():
        _add_train_flag(train, spec)
    train.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="Train at most this many seconds, save a resumable checkpoint and exit with status 3 "
        "(for preemptible machines); run the same command again to continue.",
    )
    train.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    evaluate = commands.add_parser("evaluate", help="Metrics, confusion matrix and errors of a model on a split.")
    evaluate.add_argument("--model", required=True, help="Hub model id or a trained run's output directory.")
    evaluate.add_argument("--dataset", required=True, help=_field_help(DataConfig, "dataset"))
    evaluate.add_argument("--split", default=None, help="Split to evaluate (default: validation, else test).")
    evaluate.add_argument("--max-rows", type=_count(1), default=None, help="Evaluate on at most this many rows.")
    evaluate.add_argument("--batch-size", type=_count(1), default=64, help="Rows per forward pass.")
    _add_column_flags(evaluate)
    evaluate.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    predict = commands.add_parser("predict", help="Classify one text or text pair.")
    predict.add_argument("--model", required=True, help="Hub model id or a trained run's output directory.")
    predict.add_argument("--text", required=True, help="The text to classify.")
    predict.add_argument("--text-pair", default=None, help="The second text, for sentence-pair models.")
    predict.add_argument(
        "--int8",
        action="store_true",
        help="Run on the CPU with dynamic int8 linear layers: faster, with predictions that can differ slightly "
        "from the float model (bench/RESULTS.md).",
    )
    predict.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    push = commands.add_parser("push", help="Push (or retry pushing) a finished run's model to the Hub.")
    push.add_argument("output_dir", help="The run's output directory.")
    push.add_argument("--repo", required=True, help="Hub repo id (name or user/name).")
    push.add_argument("--private", action="store_true", help="Create the repo as private.")
    push.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config: the YAML file if given, then every flag that was set on top of it."""
    raw: dict[str, Any] = {"data": {}, "model": {}, "training": {}, "hub": {}}
    if args.config:
        raw = TrainConfig.from_yaml(args.config).to_dict()
    if args.task is not None:
        raw["task"] = args.task
    for spec in TRAIN_FLAGS.values():
        value = getattr(args, spec.dest)
        if value is not None:
            raw[spec.section][spec.name] = [v for v in value.split(",") if v] if spec.kind == "list" else value
    return TrainConfig.from_dict(raw)


def as_cli_command(config: TrainConfig) -> str:
    """The `train` command line that reproduces ``config`` (options left at their defaults are omitted)."""
    import shlex

    defaults = TrainConfig()
    parts = ["python", "-m", "trainer_core", "train"]
    if config.task != defaults.task:
        parts += ["--task", config.task]
    for spec in TRAIN_FLAGS.values():
        value = getattr(getattr(config, spec.section), spec.name)
        if value == getattr(getattr(defaults, spec.section), spec.name) or value is None:
            continue
        if spec.kind == "bool":
            parts.append(spec.flag if value else "--no-" + spec.flag.removeprefix("--"))
        else:
            parts += [spec.flag, ",".join(value) if isinstance(value, list) else str(value)]
    return " ".join(shlex.quote(part) for part in parts)


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "prepared":
        task = event.get("task_type", "single_label")
        what = (
            f"target: {event['labels'][0]} (regression)"
            if task == "regression"
            else f"labels: {', '.join(event['labels'])}"
        )
        print(
            f"data: {event['train_rows']} train rows, {event['eval_rows']} eval rows ({event['eval_source']}); "
            f"{what}{' (multi-label)' if task == 'multi_label' else ''}",
            file=sys.stderr,
        )
        for problem in event["problems"]:
            print(f"note: {problem['message']}", file=sys.stderr)
    elif kind == "log":
        print(f"step {event['step']}: loss {event['loss']:.4f}", file=sys.stderr)
    elif kind == "eval":
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in event["metrics"].items() if k in ("loss", *metric_registry.HEADLINE)
        )
        print(f"eval at step {event['step']}: {shown}", file=sys.stderr)
    elif kind == "checkpoint":
        print(f"saved {event['path']}", file=sys.stderr)
    elif kind == "push" and event["status"] in ("done", "failed"):
        what = "the final model" if event.get("final") else f"the checkpoint of step {event['step']}"
        carried = f" (with the push of step {event['with_step']})" if event.get("with_step") is not None else ""
        detail = f": {event['error']}" if event.get("error") else ""
        print(f"push of {what} {event['status']}{carried}{detail}", file=sys.stderr)
    elif kind == "recipe":
        print(f"defaults chosen for this run ({event['model']}):", file=sys.stderr)
        for choice in event["choices"]:
            print(f"  {choice['option']} = {choice['value']}: {choice['reason']}", file=sys.stderr)
        for line in event.get("speed", []):
            print(f"  {line}", file=sys.stderr)
    elif kind == "search_trial":
        print(f"search trial {event['trial']}: {event['params']} -> {event['objective']:.4f}", file=sys.stderr)
    elif kind == "resume":
        print(f"resuming from {event['checkpoint']}", file=sys.stderr)


def _emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        print(text)


def _data_config(args: argparse.Namespace, max_length: int | None = None) -> DataConfig:
    """The dataset and column flags shared by preview and evaluate."""
    return DataConfig(
        dataset=args.dataset,
        dataset_config=args.dataset_config,
        dataset_revision=args.dataset_revision,
        **{name: getattr(args, name) for name in COLUMN_FIELDS},
        max_length=max_length,
        task_type=getattr(args, "task_type", None),
        label_separator=args.label_separator,
    )


def run_preview(args: argparse.Namespace) -> int:
    from trainer_core import data as data_lib
    from trainer_core.modeling import load_tokenizer
    from trainer_core.tasks import get_preset, resolve_data

    preset = get_preset(args.task)
    cfg = resolve_data(_data_config(args, max_length=args.max_length), preset)
    tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer else None
    result = data_lib.preview(cfg, split=args.split, rows=args.rows, tokenizer=tokenizer, preset=preset)
    sizes = [f"{k}={v}" if v is not None else f"{k}=more than {result.rows_scanned}" for k, v in result.splits.items()]
    lines = [f"{result.dataset} [{result.split}]", "splits: " + ", ".join(sizes)]
    if any(v is None for v in result.splits.values()):
        lines.append(f"(only the first {result.rows_scanned} rows were read; counts below describe those)")
    lines.append("features: " + ", ".join(f"{k}: {v}" for k, v in result.features.items()))
    if result.columns:
        pair = f", pair={result.columns.text_pair}" if result.columns.text_pair else ""
        lines.append(f"columns: text={result.columns.text}{pair}, label={result.columns.label}")
    if result.task_type != "single_label":
        lines.append(f"task type: {result.task_type}")
    if result.label_counts:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in result.label_counts.items()))
    stats = result.target_stats or {}
    if result.task_type == "regression" and stats.get("count"):
        lines.append(
            f"target: {stats['count']} values, mean {stats['mean']:g}, std {stats['std']:g}, min {stats['min']:g}, "
            f"median {stats['median']:g}, max {stats['max']:g}"
        )
    elif result.task_type == "multi_label" and stats.get("rows"):
        lines.append(
            f"labels per row: mean {stats['mean_labels_per_row']:g}, max {stats['max_labels_per_row']}, "
            f"{stats['rows_without_labels']} rows without a label"
        )
    if result.token_stats:
        s = result.token_stats
        lines.append(
            f"tokens: mean {s.mean}, p95 {s.p95}, max {s.max}; {s.truncated_share:.1%} truncated at {s.max_length}"
        )
    lines += [f"problem: {p.message}" for p in result.problems]
    lines += [json.dumps(row, ensure_ascii=False, default=str) for row in result.rows]
    _emit(result.to_dict(), args.json, "\n".join(lines))
    return 0


EXIT_PAUSED = 3


class _SignalPause:
    """The first SIGINT/SIGTERM asks training to save a checkpoint and pause; a second one ends at once."""

    def __init__(self) -> None:
        import threading

        self._event = threading.Event()
        self._previous: dict[int, Any] = {}

    def is_set(self) -> bool:
        return self._event.is_set()

    def _handle(self, signum: int, frame: Any) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self._event.set()
        print("saving a checkpoint before exiting (press Ctrl-C again to quit at once)", file=sys.stderr)

    def __enter__(self) -> _SignalPause:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def run_train(args: argparse.Namespace) -> int:
    from trainer_core.training import SliceLimits, train

    config = config_from_args(args)
    if args.time_budget is not None and not (args.time_budget >= 0 and args.time_budget != float("inf")):
        raise InputError(f"--time-budget must be a number of seconds >= 0, got {args.time_budget}.")
    check_trackers_installed(config.training.report_to)
    # Under torchrun / accelerate launch every process runs this; only the main one reports.
    main_process = int(os.environ.get("RANK", "0")) == 0
    with _SignalPause() as pause:
        limits = SliceLimits(seconds=args.time_budget, pause=pause)
        result = train(config, on_event=_print_event if main_process else None, limits=limits)
    if not main_process:
        return EXIT_PAUSED if result.paused else 0
    if result.paused:
        why = "the time budget was used up" if result.pause_reason == "time_budget" else "a signal asked it to stop"
        message = (
            f"paused at step {result.global_step} because {why}; a checkpoint is saved in {result.output_dir}. "
            "Rerun the same command to resume."
        )
        payload = {"state": "paused", "reason": result.pause_reason, "output_dir": result.output_dir,
                   "global_step": result.global_step, "metrics": result.metrics, "message": message}  # fmt: skip
        _emit(payload, args.json, message)
        return EXIT_PAUSED
    payload = {
        "state": "stopped" if result.stopped else "finished",
        "output_dir": result.output_dir,
        "metrics": result.metrics,
        "train_samples_per_second": result.train_samples_per_second,
        "global_step": result.global_step,
        "pushed_repo": result.pushed_repo,
        "push_errors": result.push_errors,
    }
    text = f"saved to {result.output_dir}; " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    _emit(payload, args.json, text)
    if result.push_errors and not result.pushed_repo:
        print(
            f"error: pushing to the Hub failed; the model is kept in {result.output_dir}. Retry with "
            f"`python -m trainer_core push {result.output_dir} --repo {config.hub.repo_id}`.",
            file=sys.stderr,
        )
        return 1
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from trainer_core.evaluation import evaluate_model
    from trainer_core.hub import resolve_token

    cfg = _data_config(args)
    report = evaluate_model(
        args.model, cfg, split=args.split, token=resolve_token(), max_rows=args.max_rows, batch_size=args.batch_size
    )
    lines = [f"{report.model} on {report.dataset} [{report.split}], {report.rows} rows"]
    lines += [f"{k}: {v:.4f}" for k, v in report.metrics.items()]
    if report.task_type == "multi_label":
        lines.append("per label: precision, recall, f1, support, threshold")
        lines += [
            f"  {row['label']}: {row['precision']:.4f} {row['recall']:.4f} {row['f1']:.4f} {row['support']} "
            f"{row['threshold']:g}"
            for row in report.per_class
        ]
    elif report.task_type == "regression":
        lines.append("largest errors (true -> predicted):")
        lines += [f"  {row['label']:g} -> {row['predicted']:g}: {row['text'][:60]}" for row in report.errors[:5]]
    else:
        lines.append("confusion matrix (rows: true, columns: predicted) " + ", ".join(report.label_names))
        lines += ["  " + " ".join(f"{n:6d}" for n in row) for row in report.confusion_matrix]
    payload = {k: v for k, v in report.to_dict().items() if k not in ("errors", "points")} | {
        "errors": report.errors[:20]
    }
    _emit(payload, args.json, "\n".join(lines))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from trainer_core.hub import resolve_token
    from trainer_core.inference import Predictor, top_label

    predictor = Predictor(args.model, token=resolve_token(), device="cpu" if args.int8 else None, quantize=args.int8)
    scores = predictor.predict(args.text, args.text_pair)
    answer = predictor.answer(scores)
    if "score" in answer:  # a regression
        text = f"{answer['score']:.4f}"
    elif "labels" in answer:  # multi-label: every label over its threshold
        shown = ", ".join(f"{name} ({scores[name]:.3f})" for name in answer["labels"])
        text = shown or f"no label over its threshold (highest: {top_label(scores)} {max(scores.values()):.3f})"
    else:
        text = f"{answer['label']} ({scores[answer['label']]:.3f})"
    _emit(answer, args.json, text)
    return 0


def run_push(args: argparse.Namespace) -> int:
    from trainer_core import hub as hub_lib

    HubConfig(repo_id=args.repo)  # validates the id
    token = hub_lib.resolve_token()
    repo_id = hub_lib.check_write_access(args.repo, token)
    if not os.path.isfile(os.path.join(args.output_dir, "config.json")):
        raise InputError(f"'{args.output_dir}' holds no trained model (no config.json). Give a run's output directory.")
    try:
        url = hub_lib.push_folder(args.output_dir, repo_id, token, private=args.private)
    except PushError as err:
        raise PushError(f"{err} Retry with `python -m trainer_core push {args.output_dir} --repo {repo_id}`.") from None
    hub_lib.record_push(args.output_dir, repo_id)
    _emit({"pushed_repo": repo_id, "commit_url": url}, args.json, f"pushed to {repo_id}")
    return 0


COMMANDS = {
    "preview": run_preview,
    "train": run_train,
    "evaluate": run_evaluate,
    "predict": run_predict,
    "push": run_push,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.verbose:
        _quiet_libraries()
    try:
        return COMMANDS[args.command](args)
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.verbose:
            raise
        print(f"error: unexpected {type(err).__name__}: {err}. Run again with --verbose for details.", file=sys.stderr)
        return 1


def _quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    logging.getLogger().setLevel(logging.ERROR)
    try:
        import datasets
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" bars on stderr
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
