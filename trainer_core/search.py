"""``--search N``: try N settings with ``Trainer.hyperparameter_search`` (optuna) before the real run.

Each trial trains a fresh model on the run's training rows and is scored by the task's metric on the
held-out rows; no checkpoints are written. The search stops after N trials, when the time budget has
passed (a trial that has started finishes), or when the run's stop flag is set. The best settings then
go into the config with their score as the reason, and the normal run trains them on the training rows
(so the reported scores come from the same rows and the same code path as without a search).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer_core import events as ev
from trainer_core import recipe
from trainer_core.errors import StudioError

SEARCH_DIR = "search"


@dataclass
class Trial:
    number: int
    params: dict[str, Any]
    objective: float | None
    state: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class SearchResult:
    metric: str
    trials: list[Trial]
    best: dict[str, Any] | None
    best_objective: float | None
    seconds: float
    stopped: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _SearchStopped(Exception):
    pass


def space(center_lr: float, center_epochs: float, center_batch: int) -> Any:
    """Around the adaptive defaults: a third to three times the learning rate, epochs and batch nearby."""
    low_epochs = max(1, math.floor(center_epochs) - 1)
    high_epochs = max(low_epochs + 1, math.ceil(center_epochs) + 2)
    batches = sorted({max(8, center_batch // 2), center_batch})

    def hp_space(trial: Any) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", center_lr / 3, center_lr * 3, log=True),
            "num_train_epochs": trial.suggest_int("num_train_epochs", low_epochs, high_epochs),
            "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", batches),
        }

    return hp_space


@dataclass(frozen=True)
class TrainingParts:
    """What the trials borrow from training.py, handed in by its train(): training imports this module, so
    this module does not import it back."""

    trainer_class: Callable[[], type]  # the Studio's Trainer subclass
    training_arguments: Callable[..., Any]  # (config, train_rows, metric, token, repo_id) -> TrainingArguments
    load_model: Callable[[Any, Any, Any], Any]  # (config, run, train_set) -> the model a trial starts from


def run_search(
    config: Any,
    run: Any,
    train_set: Any,
    eval_set: Any,
    emit: Any,
    stop: Any = None,
    *,
    parts: TrainingParts,
) -> SearchResult:
    """Search learning rate, epochs and batch for ``config`` (resolved: no ``None`` left) on ``run``'s rows."""
    try:
        import optuna
    except ImportError:  # pragma: no cover - optuna is in requirements.txt
        raise StudioError("The search needs optuna: pip install optuna.") from None
    from transformers import DataCollatorWithPadding, TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    from trainer_core.metrics import build_compute_metrics, primary_metric
    from trainer_core.metrics import registry as metric_registry

    t = config.training
    num_labels = len(run.data.label_names)
    task_type = run.data.task_type
    metric = primary_metric(num_labels, task_type)
    work = Path(t.output_dir) / SEARCH_DIR
    trial_config = dataclasses.replace(
        config,
        training=dataclasses.replace(t, output_dir=str(work), model_selection="last", report_to=[]),
        hub=dataclasses.replace(config.hub, repo_id=None),
    )
    args = parts.training_arguments(trial_config, len(train_set), metric, None, None)
    args.save_strategy = "no"  # trials keep nothing; the evaluation schedule stays the run's
    args.load_best_model_at_end = False
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    trials: list[Trial] = []

    class _Report(TrainerCallback):
        def __init__(self) -> None:
            self.trial_started = time.monotonic()

        def on_train_begin(self, args, state, control, **kwargs):
            self.trial_started = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            if stop is not None and stop.is_set():
                raise _SearchStopped()

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics and f"eval_{metric}" in metrics and state.global_step >= state.max_steps:
                trial = trainer._trial
                seconds = round(time.monotonic() - self.trial_started, 2)
                emit(ev.SearchTrialEvent(type="search_trial", trial=int(trial.number), params=dict(trial.params),
                                         objective=float(metrics[f"eval_{metric}"]), metric=metric,
                                         seconds=seconds))  # fmt: skip

    trainer = parts.trainer_class()(
        model_init=lambda: parts.load_model(config, run, train_set),
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=run.tokenizer,
        data_collator=DataCollatorWithPadding(run.tokenizer),
        compute_metrics=build_compute_metrics(num_labels, task_type),
        callbacks=[_Report()],
    )
    trainer.remove_callback(PrinterCallback)
    emit(ev.SearchBeginEvent(type="search_begin", trials=t.search_trials, time_budget_s=t.search_time_budget,
                             metric=metric, eval_rows=len(eval_set)))  # fmt: skip
    stopped = False
    sampler = optuna.samplers.TPESampler(seed=t.seed)
    storage = optuna.storages.InMemoryStorage()
    try:
        best = trainer.hyperparameter_search(
            hp_space=space(t.learning_rate, t.epochs or recipe.epochs(len(train_set)).value, t.batch_size),
            compute_objective=lambda metrics: metrics[f"eval_{metric}"],
            n_trials=t.search_trials,
            direction="maximize" if metric_registry.higher_is_better(metric) else "minimize",
            backend="optuna",
            timeout=t.search_time_budget,
            sampler=sampler,
            storage=storage,
            study_name="trainer-studio-search",
            # Every trial runs to the end: pruning on a few hundred rows after one epoch would be noise.
            pruner=optuna.pruners.NopPruner(),
        )
    except _SearchStopped:
        stopped, best = True, None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for record in optuna.load_study(study_name="trainer-studio-search", storage=storage).trials:
        seconds = record.duration.total_seconds() if record.duration else 0.0
        trials.append(Trial(int(record.number), dict(record.params), record.value, record.state.name.lower(),
                            round(seconds, 2)))  # fmt: skip
    notes = []
    if len(trials) < t.search_trials and not stopped and t.search_time_budget:
        notes.append(f"time budget of {t.search_time_budget:g} s reached after {len(trials)} trial(s)")
    finished = [trial for trial in trials if trial.objective is not None and trial.state == "complete"]
    if best is None and finished:
        sign = 1 if metric_registry.higher_is_better(metric) else -1
        top = max(finished, key=lambda trial: sign * trial.objective)
        best_params, best_objective = top.params, top.objective
    elif best is not None:
        best_params, best_objective = dict(best.hyperparameters), float(best.objective)
    else:
        best_params, best_objective = None, None
    result = SearchResult(
        metric=metric,
        trials=trials,
        best=best_params,
        best_objective=best_objective,
        seconds=round(time.monotonic() - started, 2),
        stopped=stopped,
        notes=notes,
    )
    emit(ev.SearchDoneEvent(type="search_done", **result.to_dict()))
    return result


def apply_best(config: Any, result: SearchResult) -> dict[str, str]:
    """Put the best trial's settings into ``config.training``; returns the reasons for ``config.chosen``."""
    if not result.best:
        return {}
    names = {
        "learning_rate": "learning_rate",
        "num_train_epochs": "epochs",
        "per_device_train_batch_size": "batch_size",
    }
    values = {names[k]: v for k, v in result.best.items() if k in names}
    if "epochs" in values:
        values["epochs"] = float(values["epochs"])
    config.training = dataclasses.replace(config.training, **values, warmup_ratio=config.training.warmup_ratio)
    why = (
        f"search: best of {len(result.trials)} trial(s) by {result.metric} on the held-out rows "
        f"({result.best_objective:.4f})"
    )
    return {f"training.{name}": why for name in values}
