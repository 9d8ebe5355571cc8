"""Command line: ``python -m trainer_core preview|train|evaluate|predict|push``.

Every command calls the same library functions as the app. With ``--json`` the last line of stdout
is one JSON object. Exit status: 0 success, 2 bad input (message, no traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from trainer_core.config import DataConfig, HubConfig, ModelConfig, TrainConfig, TrainingConfig, field_help
from trainer_core.errors import InputError, StudioError

# Flag -> (config section, field). One table feeds parsing, YAML overrides and `as_cli_command`.
TRAIN_FLAGS: dict[str, tuple[str, str]] = {
    "--model": ("model", "model"),
    "--model-revision": ("model", "revision"),
    "--dataset": ("data", "dataset"),
    "--dataset-config": ("data", "dataset_config"),
    "--dataset-revision": ("data", "dataset_revision"),
    "--text-column": ("data", "text_column"),
    "--text-pair-column": ("data", "text_pair_column"),
    "--label-column": ("data", "label_column"),
    "--train-split": ("data", "train_split"),
    "--eval-split": ("data", "eval_split"),
    "--validation-size": ("data", "validation_size"),
    "--max-train-samples": ("data", "max_train_samples"),
    "--max-eval-samples": ("data", "max_eval_samples"),
    "--max-length": ("data", "max_length"),
    "--output-dir": ("training", "output_dir"),
    "--epochs": ("training", "epochs"),
    "--max-steps": ("training", "max_steps"),
    "--batch-size": ("training", "batch_size"),
    "--eval-batch-size": ("training", "eval_batch_size"),
    "--gradient-accumulation-steps": ("training", "gradient_accumulation_steps"),
    "--learning-rate": ("training", "learning_rate"),
    "--weight-decay": ("training", "weight_decay"),
    "--warmup-ratio": ("training", "warmup_ratio"),
    "--seed": ("training", "seed"),
    "--mixed-precision": ("training", "mixed_precision"),
    "--logging-steps": ("training", "logging_steps"),
    "--eval-steps": ("training", "eval_steps"),
    "--save-total-limit": ("training", "save_total_limit"),
    "--early-stopping-patience": ("training", "early_stopping_patience"),
    "--model-selection": ("training", "model_selection"),
    "--search": ("training", "search_trials"),
    "--search-time-budget": ("training", "search_time_budget"),
    "--report-to": ("training", "report_to"),
    "--push-to-hub": ("hub", "repo_id"),
    "--hub-strategy": ("hub", "strategy"),
}
SECTION_CLASSES = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig, "hub": HubConfig}
NUMBER_TYPES = {"int": int, "float": float, "int | None": int, "float | None": float}


class UsageError(InputError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but with our wording
        raise UsageError(f"{message}. Run '{self.prog} --help' for the options.")


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _field_type(section: str, name: str) -> Any:
    for f in fields(SECTION_CLASSES[section]):
        if f.name == name:
            return NUMBER_TYPES.get(str(f.type), str)
    raise KeyError(name)


def _add_column_flags(parser: argparse.ArgumentParser) -> None:
    for flag in ("--text-column", "--text-pair-column", "--label-column", "--dataset-config", "--dataset-revision"):
        section, name = TRAIN_FLAGS[flag]
        parser.add_argument(flag, dest=_dest(flag), default=None, help=field_help(SECTION_CLASSES[section], name))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m trainer_core", description="Preview, fine-tune, evaluate and use text classifiers."
    )
    parser.add_argument("--verbose", action="store_true", help="Show library logs and tracebacks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    preview = commands.add_parser("preview", help="Show a dataset's splits, columns, labels, lengths and problems.")
    preview.add_argument("--dataset", required=True, help=field_help(DataConfig, "dataset"))
    preview.add_argument("--split", default=None, help="Split to inspect (default: train).")
    preview.add_argument("--rows", type=int, default=5, help="Rows to show.")
    preview.add_argument("--tokenizer", default=None, help="Model id or directory whose tokenizer measures lengths.")
    preview.add_argument("--max-length", type=int, default=None, help=field_help(DataConfig, "max_length"))
    preview.add_argument("--task", default="custom", help=field_help(TrainConfig, "task"))
    _add_column_flags(preview)
    preview.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    train = commands.add_parser("train", help="Fine-tune a model; optionally push it to the Hub.")
    train.add_argument("--config", default=None, help="YAML file with every option; flags override it.")
    train.add_argument("--task", default=None, help=field_help(TrainConfig, "task"))
    for flag, (section, name) in TRAIN_FLAGS.items():
        train.add_argument(
            flag,
            dest=_dest(flag),
            default=None,
            type=_field_type(section, name),
            help=field_help(SECTION_CLASSES[section], name),
        )
    train.add_argument("--hub-private", action="store_true", default=None, help=field_help(HubConfig, "private"))
    train.add_argument(
        "--no-group-by-length", action="store_true", default=None, help="Sample batches at random instead."
    )
    train.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    evaluate = commands.add_parser("evaluate", help="Metrics, confusion matrix and errors of a model on a split.")
    evaluate.add_argument("--model", required=True, help="Hub model id or a trained run's output directory.")
    evaluate.add_argument("--dataset", required=True, help=field_help(DataConfig, "dataset"))
    evaluate.add_argument("--split", default=None, help="Split to evaluate (default: validation, else test).")
    evaluate.add_argument("--max-rows", type=int, default=None, help="Evaluate on at most this many rows.")
    evaluate.add_argument("--batch-size", type=int, default=64, help="Rows per forward pass.")
    _add_column_flags(evaluate)
    evaluate.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    predict = commands.add_parser("predict", help="Classify one text or text pair.")
    predict.add_argument("--model", required=True, help="Hub model id or a trained run's output directory.")
    predict.add_argument("--text", required=True, help="The text to classify.")
    predict.add_argument("--text-pair", default=None, help="The second text, for sentence-pair models.")
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
    for flag, (section, name) in TRAIN_FLAGS.items():
        value = getattr(args, _dest(flag))
        if value is not None:
            raw[section][name] = [v for v in value.split(",") if v] if name == "report_to" else value
    if args.hub_private:
        raw["hub"]["private"] = True
    if args.no_group_by_length:
        raw["training"]["group_by_length"] = False
    return TrainConfig.from_dict(raw)


def as_cli_command(config: TrainConfig) -> str:
    """The `train` command line that reproduces ``config`` (options left at their defaults are omitted)."""
    import shlex

    defaults = TrainConfig()
    parts = ["python", "-m", "trainer_core", "train"]
    if config.task != defaults.task:
        parts += ["--task", config.task]
    for flag, (section, name) in TRAIN_FLAGS.items():
        value = getattr(getattr(config, section), name)
        if value == getattr(getattr(defaults, section), name) or value is None:
            continue
        parts += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    if config.hub.private:
        parts.append("--hub-private")
    if not config.training.group_by_length:
        parts.append("--no-group-by-length")
    return " ".join(shlex.quote(part) for part in parts)


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "prepared":
        print(
            f"data: {event['train_rows']} train rows, {event['eval_rows']} eval rows ({event['eval_source']}); "
            f"labels: {', '.join(event['labels'])}",
            file=sys.stderr,
        )
        for problem in event["problems"]:
            print(f"note: {problem['message']}", file=sys.stderr)
    elif kind == "log":
        print(f"step {event['step']}: loss {event['loss']:.4f}", file=sys.stderr)
    elif kind == "eval":
        shown = ", ".join(f"{k} {v:.4f}" for k, v in event["metrics"].items() if k in ("loss", "accuracy", "f1"))
        print(f"eval at step {event['step']}: {shown}", file=sys.stderr)
    elif kind == "checkpoint":
        print(f"saved {event['path']}", file=sys.stderr)
    elif kind == "push" and event["status"] in ("done", "failed"):
        detail = f": {event['error']}" if event.get("error") else ""
        print(f"push at step {event['step']} {event['status']}{detail}", file=sys.stderr)
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
        text_column=args.text_column,
        text_pair_column=args.text_pair_column,
        label_column=args.label_column,
        max_length=max_length,
    )


def run_preview(args: argparse.Namespace) -> int:
    from trainer_core import data as data_lib
    from trainer_core.modeling import load_tokenizer
    from trainer_core.tasks import get_preset, resolve_data

    preset = get_preset(args.task)
    cfg = resolve_data(_data_config(args, max_length=args.max_length), preset)
    tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer else None
    result = data_lib.preview(cfg, split=args.split, rows=args.rows, tokenizer=tokenizer, preset=preset)
    lines = [f"{result.dataset} [{result.split}]", "splits: " + ", ".join(f"{k}={v}" for k, v in result.splits.items())]
    lines.append("features: " + ", ".join(f"{k}: {v}" for k, v in result.features.items()))
    if result.columns:
        pair = f", pair={result.columns.text_pair}" if result.columns.text_pair else ""
        lines.append(f"columns: text={result.columns.text}{pair}, label={result.columns.label}")
    if result.label_counts:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in result.label_counts.items()))
    if result.token_stats:
        s = result.token_stats
        lines.append(
            f"tokens: mean {s.mean}, p95 {s.p95}, max {s.max}; {s.truncated_share:.1%} truncated at {s.max_length}"
        )
    lines += [f"problem: {p.message}" for p in result.problems]
    lines += [json.dumps(row, ensure_ascii=False, default=str) for row in result.rows]
    _emit(result.to_dict(), args.json, "\n".join(lines))
    return 0


def run_train(args: argparse.Namespace) -> int:
    from trainer_core.training import train

    config = config_from_args(args)
    # Under torchrun / accelerate launch every process runs this; only the main one reports.
    main_process = int(os.environ.get("RANK", "0")) == 0
    result = train(config, on_event=_print_event if main_process else None)
    if not main_process:
        return 0
    payload = {
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
    lines.append("confusion matrix (rows: true, columns: predicted) " + ", ".join(report.label_names))
    lines += ["  " + " ".join(f"{n:6d}" for n in row) for row in report.confusion_matrix]
    payload = {k: v for k, v in report.to_dict().items() if k != "errors"} | {"errors": report.errors[:20]}
    _emit(payload, args.json, "\n".join(lines))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from trainer_core.hub import resolve_token
    from trainer_core.inference import Predictor, top_label

    predictor = Predictor(args.model, token=resolve_token())
    scores = predictor.predict(args.text, args.text_pair)
    label = top_label(scores)
    _emit({"label": label, "scores": scores}, args.json, f"{label} ({scores[label]:.3f})")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from trainer_core import hub as hub_lib

    HubConfig(repo_id=args.repo)  # validates the id
    token = hub_lib.resolve_token()
    repo_id = hub_lib.check_write_access(args.repo, token)
    if not os.path.isfile(os.path.join(args.output_dir, "config.json")):
        raise InputError(f"'{args.output_dir}' holds no trained model (no config.json). Give a run's output directory.")
    url = hub_lib.push_folder(args.output_dir, repo_id, token, private=args.private)
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
