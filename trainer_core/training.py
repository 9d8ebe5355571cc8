"""Fine-tuning: ``train(config)`` validates everything, runs the transformers Trainer and reports events.

Progress leaves through ``EventCallback`` as plain dicts (never stdout), so the CLI, the app's job
runner and the tests consume the same stream. A ``threading.Event`` stops a run cleanly after the
current step, keeping a checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trainer_core import config as config_lib
from trainer_core import data as data_lib
from trainer_core import events as ev
from trainer_core import hub as hub_lib
from trainer_core import recipe
from trainer_core import task_types as kinds
from trainer_core.batching import TokenBatches
from trainer_core.config import TrainConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.metrics import build_compute_metrics, primary_metric
from trainer_core.metrics import registry as metric_registry
from trainer_core.modeling import (
    check_max_length,
    check_no_remote_code,
    load_model,
    load_tokenizer,
    max_positions,
    start_regression_head,
)
from trainer_core.rundir import RESULTS_FILE, TRAINED_CONFIG_FILE
from trainer_core.runtime import precision_flags
from trainer_core.tasks import get_preset, resolve_config

logger = logging.getLogger(__name__)

Event = ev.Event
EventSink = Callable[[Event], None]


class StopFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, or a file-backed flag across processes."""

    def is_set(self) -> bool: ...


SAMPLER_STATE_FILE = "sampler_state.pt"  # in a checkpoint: where the interrupted epoch's shuffle began


@dataclass
class TrainResult:
    output_dir: str
    metrics: dict[str, float]
    label_names: list[str]
    global_step: int
    train_runtime: float
    train_samples_per_second: float
    stopped: bool = False
    # Paused: training stopped at a time budget, a signal or a slice end, leaving a resumable checkpoint;
    # no final model, results file or push yet. Running the same config again continues it.
    paused: bool = False
    pause_reason: str | None = None
    best_checkpoint: str | None = None
    pushed_repo: str | None = None
    push_errors: list[str] = field(default_factory=list)
    task_type: str = kinds.SINGLE_LABEL
    # multi_label: each label's threshold, tuned on the eval split and stored in the model's config.json
    thresholds: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


@dataclass
class SliceLimits:
    """When a run pauses on its own: after ``seconds`` of training (a time budget, one ZeroGPU slice) or
    after ``steps`` optimizer steps in this call (tests and benchmarks cut slices deterministically), or
    when ``pause`` is set (SIGINT/SIGTERM). A pause saves a full checkpoint that the next call resumes."""

    seconds: float | None = None
    steps: int | None = None
    pause: StopFlag | None = None
    # A checkpoint save must fit inside the budget too; measured saves replace this first guess.
    save_seconds: float = 5.0
    # When the budget's clock started (time.monotonic()); by default when training is set up.
    started: float | None = None


def make_event_callback(
    emit: EventSink, stop: StopFlag | None, token: str | None, limits: SliceLimits | None = None
) -> Any:
    from transformers import TrainerCallback

    class _EventCallback(TrainerCallback):
        def __init__(self) -> None:
            self.trainer: Any = None
            self.pushes: CheckpointPushes | None = None
            self._last_progress = 0.0
            self.started = time.monotonic()
            self.stopped = False
            self.paused: str | None = None
            self._step_seconds = 0.0
            self._last_step_end: float | None = None
            self._save_started: float | None = None
            self._saved_step: int | None = None
            self.slice_steps = 0

        # -- helpers
        def _push_updates(self, state: Any) -> None:
            if self.pushes is not None and state.is_world_process_zero:
                self.pushes.poll()

        # -- Trainer hooks
        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                by_steps = args.max_steps > 0
                emit(ev.TrainBeginEvent(type="train_begin", total_steps=state.max_steps, max_steps=by_steps,
                                        epochs=state.num_train_epochs if by_steps else args.num_train_epochs))  # fmt: skip

        def _pause_reason(self, state: Any) -> str | None:
            if limits is None or state.global_step >= state.max_steps:
                return None  # the last step ends the run anyway
            if limits.pause is not None and limits.pause.is_set():
                return "signal"
            if limits.steps is not None and self.slice_steps >= limits.steps:
                return "slice_steps"
            if limits.seconds is not None:
                # Stop while the next step and a checkpoint save still fit in the budget.
                elapsed = time.monotonic() - (limits.started or self.started)
                if elapsed + 2 * self._step_seconds + limits.save_seconds >= limits.seconds:
                    return "time_budget"
            return None

        def on_step_begin(self, args, state, control, **kwargs):
            if self._last_step_end is None:
                self._last_step_end = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            now_step = time.monotonic()
            if self._last_step_end is not None:
                # The slowest recent step: evaluation and saves land between steps, so err on the long side.
                self._step_seconds = max(now_step - self._last_step_end, 0.8 * self._step_seconds)
            self._last_step_end = now_step
            self.slice_steps += 1
            if stop is not None and stop.is_set() and not self.stopped:
                self.stopped = True
                control.should_training_stop = True
                control.should_save = True
                if state.is_world_process_zero:
                    emit(ev.StoppingEvent(type="stopping", step=state.global_step))
            if not self.stopped and self.paused is None and (reason := self._pause_reason(state)):
                self.paused = reason
                control.should_training_stop = True
                control.should_save = True
                if state.is_world_process_zero:
                    emit(ev.PausingEvent(type="pausing", step=state.global_step, reason=reason))
            if control.should_save:
                self._save_started = time.monotonic()
            now = time.monotonic()
            if state.is_world_process_zero and (
                now - self._last_progress >= 1.0 or state.global_step == state.max_steps
            ):
                self._last_progress = now
                elapsed = now - self.started
                remaining = (
                    elapsed / state.global_step * (state.max_steps - state.global_step) if state.global_step else None
                )
                emit(
                    ev.ProgressEvent(
                        type="progress",
                        step=state.global_step,
                        total_steps=state.max_steps,
                        epoch=round(state.epoch or 0.0, 4),
                        elapsed_s=round(elapsed, 2),
                        remaining_s=round(remaining, 2) if remaining is not None else None,
                    )
                )
                self._push_updates(state)

        def on_epoch_end(self, args, state, control, **kwargs):
            # Stopping mid-epoch still runs the epoch-end hooks: an evaluation there would add a checkpoint
            # candidate that the uninterrupted run never has, and change which checkpoint ends up best.
            if self.paused is not None and state.epoch is not None and abs(state.epoch - round(state.epoch)) > 1e-6:
                control.should_evaluate = False
                # The pause already saved this step; a second save would only cost the slice time.
                control.should_save = self._saved_step != state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            emit(
                _drop_none(
                    ev.LogEvent(
                        type="log",
                        step=state.global_step,
                        epoch=round(state.epoch or 0.0, 4),
                        loss=logs.get("loss"),
                        learning_rate=logs.get("learning_rate"),
                        grad_norm=logs.get("grad_norm"),
                    )
                )
            )

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if not state.is_world_process_zero or not metrics:
                return
            clean = {k.removeprefix("eval_"): v for k, v in metrics.items() if isinstance(v, (int, float))}
            emit(ev.EvalEvent(type="eval", step=state.global_step, epoch=round(state.epoch or 0.0, 4), metrics=clean))

        def on_save(self, args, state, control, **kwargs):
            if self._save_started is not None and limits is not None:
                limits.save_seconds = max(limits.save_seconds, time.monotonic() - self._save_started)
            self._save_started = None
            self._last_step_end = time.monotonic()  # a save is not a step: keep it out of the step time
            # A pause at an epoch's end saves twice (before and after that epoch's evaluation): one checkpoint.
            again, self._saved_step = self._saved_step == state.global_step, state.global_step
            if not state.is_world_process_zero or again:
                return
            path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            emit(ev.CheckpointEvent(type="checkpoint", step=state.global_step, path=path))
            self._push_updates(state)

        def on_train_end(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self._push_updates(state)

    return _EventCallback()


class CheckpointPushes:
    """The pushes of a run's saves, each with one status: ``queued`` or ``started``, then ``done`` or ``failed``.

    transformers uploads a save in the background and silently drops the push of any save made while an
    upload is still running, so one slow or hung push would leave the Hub at that checkpoint for the rest of
    the run. Here such a save waits and is pushed as soon as the upload before it ends (with a time-out, a
    hung one ends too). A waiting save that a newer save overtakes is carried by the newer push and shares
    its outcome (``"with_step"``), so no save is left without an end. Everything runs on the training thread:
    the uploads' futures are polled, never called back.
    """

    def __init__(self, trainer: Any, emit: EventSink, token: str | None) -> None:
        self.trainer = trainer
        self.emit = emit
        self.token = token
        self._active: tuple[int, list[int], list[Any]] | None = None  # step, steps it carries, upload futures
        self._waiting: tuple[int, str, list[int]] | None = None  # step, checkpoint folder, steps it carries
        self._outbox: list[Event] = []
        self.failures: list[tuple[int, str]] = []  # (step, error); -1 is the final model

    def save(self, step: int, folder: str) -> None:
        """A checkpoint was written: push it now, or after the upload in progress."""
        self._collect()
        if self._active is None:
            self._start(step, folder, [])
            return
        carried = [*self._waiting[2], self._waiting[0]] if self._waiting else []
        self._waiting = (step, folder, carried)
        self._outbox.append(ev.PushEvent(type="push", status="queued", step=step))

    def poll(self) -> None:
        self._collect()
        self._flush()

    def finish(self) -> None:
        """Wait for every save's push, the waiting one included: the end of training is not the end of pushes."""
        from concurrent import futures

        self._collect()
        while self._active is not None:
            futures.wait(self._active[2])
            self._collect()
        self._flush()

    def errors(self) -> list[str]:
        """The failures for a result: one line per distinct error, naming the steps it hit."""
        grouped: dict[str, list[int]] = {}
        for step, error in self.failures:
            grouped.setdefault(error, []).append(step)
        lines = []
        for error, steps in grouped.items():
            names = [str(s) for s in steps if s >= 0]
            what = []
            if names:
                what.append(
                    f"checkpoint{'s' if len(names) > 1 else ''} of step{'s' if len(names) > 1 else ''} "
                    + ", ".join(names)
                )
            if -1 in steps:
                what.append("final model")
            lines.append(f"{' and '.join(what)}: {error}")
        return lines

    def _start(self, step: int, folder: str, carried: list[int]) -> None:
        jobs = self.trainer._upload_checkpoint(step, folder)
        self._active = (step, carried, jobs)
        self._outbox.append(ev.PushEvent(type="push", status="started", step=step))

    def _collect(self) -> None:
        while self._active is not None and all(job.done() for job in self._active[2]):
            step, carried, jobs = self._active
            self._active = None
            errors = [job.exception() for job in jobs if job.exception() is not None]
            message = hub_lib.describe_push_error(errors[0], self.token) if errors else None
            for each in [*carried, step]:
                event = ev.PushEvent(type="push", status="failed" if errors else "done", step=each)
                if each != step:
                    event["with_step"] = step
                if message:
                    event["error"] = message
                    self.failures.append((each, message))
                self._outbox.append(event)
            if errors:
                logger.warning("Push of the checkpoint of step %d failed: %s", step, message)
            if self._waiting is not None:
                waiting, self._waiting = self._waiting, None
                self._start(*waiting)

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        for event in outbox:
            self.emit(event)


def _studio_trainer_class() -> type:
    import torch
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class ResumableLengthSampler(LengthGroupedSampler):
        """The stock length-grouped order, reproducible after resuming mid-epoch.

        The stock sampler shuffles with the global RNG when an epoch starts, and a checkpoint keeps only
        the RNG state at the save: a run resumed mid-epoch (a slice, a signal, a kill) would see another
        order than the uninterrupted run. This one remembers the RNG state each epoch's shuffle started
        from; checkpoints store it and a resumed run shuffles its epoch from it again.
        """

        def __init__(self, batch_size: int, *, lengths: list[int]) -> None:
            super().__init__(batch_size, lengths=lengths)
            self.epoch = 0
            self.epoch_rng_state: Any = None
            self.resume: tuple[int, Any] | None = None  # (epoch, RNG state) of the checkpoint's epoch

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self):
            if self.resume is not None and self.resume[0] == self.epoch:
                current = torch.get_rng_state()
                torch.set_rng_state(self.resume[1])
                self.resume = None
                self.epoch_rng_state = torch.get_rng_state()
                indices = super().__iter__()
                torch.set_rng_state(current)
                return indices
            self.epoch_rng_state = torch.get_rng_state()
            return super().__iter__()

    class StudioTrainer(Trainer):
        """A Trainer that groups by precomputed lengths and writes our model card.

        The stock length-grouped sampler re-measures every row in Python because the ``length``
        column is removed before the sampler is built; ours reads the column tokenization wrote.
        """

        card_writer: Callable[[str], None] | None = None
        pushes: CheckpointPushes | None = None

        def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
            if self.pushes is None or not self.is_world_process_zero() or self.args.hub_strategy == "end":
                return super()._push_from_checkpoint(checkpoint_folder)
            self.pushes.save(self.state.global_step, checkpoint_folder)

        def _upload_checkpoint(self, step: int, checkpoint_folder: str) -> list[Any]:
            """Start the background uploads of one save, as transformers does, under that save's step."""
            import torch
            from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
            from transformers.utils.hub import PushInProgress, hf_api

            folder = Path(checkpoint_folder)
            output_dir = Path(self.args.output_dir)
            # The published model follows the checkpoint: copy its weights and config to the run's top level.
            for path in folder.iterdir():
                if path.is_file() and (
                    path.name in ("config.json", "generation_config.json") or path.name.startswith("model")
                ):
                    shutil.copy(path, output_dir / path.name)
            if self.processing_class is not None:
                self.processing_class.save_pretrained(str(output_dir))
            torch.save(self.args, output_dir / "training_args.bin")
            message = f"Training in progress, step {step}"
            api = hf_api()  # transformers' shared client: one upload at a time, in order, final push included
            jobs = [
                api.upload_folder(
                    repo_id=self.hub_model_id,
                    folder_path=str(output_dir),
                    commit_message=message,
                    token=self.args.hub_token,
                    run_as_future=True,
                    ignore_patterns=["_*", f"{PREFIX_CHECKPOINT_DIR}-*"],
                    revision=self.args.hub_revision,
                )
            ]
            if self.args.hub_strategy in ("checkpoint", "all_checkpoints"):
                jobs.append(
                    api.upload_folder(
                        repo_id=self.hub_model_id,
                        folder_path=str(folder),
                        path_in_repo="last-checkpoint" if self.args.hub_strategy == "checkpoint" else folder.name,
                        commit_message=message + ", checkpoint",
                        token=self.args.hub_token,
                        run_as_future=True,
                        revision=self.args.hub_revision,
                    )
                )
            # transformers' own waits (final push, end of training) see these uploads too.
            self.push_in_progress = PushInProgress(jobs)
            return jobs

        def _grouped_sampler(self, dataset: Any, source: Any, batch_size: int, generator: Any = None) -> Any:
            if (
                self.args.train_sampling_strategy != "group_by_length"
                or source is None
                or "length" not in getattr(source, "column_names", ())
                or len(source) != len(dataset)
            ):
                return None
            # [:] makes a list: datasets>=4 returns a lazy Column, and the sampler indexes it per row every epoch.
            sampler = ResumableLengthSampler(batch_size, lengths=source["length"][:])
            resume_from = getattr(self, "resume_checkpoint", None)
            saved = Path(resume_from) / SAMPLER_STATE_FILE if resume_from else None
            if saved is not None and saved.is_file():
                state = torch.load(saved, weights_only=True)
                sampler.resume = (int(state["epoch"]), state["rng_state"])
            self.length_sampler = sampler
            return sampler

        def _save_rng_state(self, output_dir: str) -> None:
            with _without_cuda(self.args.use_cpu):
                super()._save_rng_state(output_dir)
            sampler = getattr(self, "length_sampler", None)
            if sampler is not None and sampler.epoch_rng_state is not None and self.args.should_save:
                state = {"epoch": torch.tensor(sampler.epoch), "rng_state": sampler.epoch_rng_state}
                torch.save(state, os.path.join(output_dir, SAMPLER_STATE_FILE))

        def _load_rng_state(self, checkpoint: Any) -> None:
            with _without_cuda(self.args.use_cpu):
                super()._load_rng_state(checkpoint)

        def get_train_dataloader(self) -> Any:
            batches = self._token_batches()
            if batches is None:
                return super().get_train_dataloader()
            from functools import partial

            from torch.utils.data import DataLoader
            from transformers.trainer_utils import seed_worker

            # The stock loader's settings, with a batch sampler: the stock path takes a batch size or a sampler.
            args = self.args
            loader = DataLoader(
                self._remove_unused_columns(self.train_dataset, description="Training"),
                batch_sampler=batches,
                collate_fn=self.data_collator,
                num_workers=args.dataloader_num_workers,
                pin_memory=args.dataloader_pin_memory,
                persistent_workers=args.dataloader_persistent_workers,
                multiprocessing_context=args.dataloader_multiprocessing_context,
                prefetch_factor=args.dataloader_prefetch_factor,
                in_order=args.dataloader_in_order,
                worker_init_fn=partial(seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index),
            )
            # Under several processes accelerate deals the batches out in turn; every process cuts the same ones.
            return self.accelerator.prepare(loader)

        def compute_loss(self, model: Any, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if not (model.training and getattr(self.args, "token_batches", False)):
                return super().compute_loss(model, inputs, *args, **kwargs)
            # The model's loss is a mean over the batch's rows. Token batches hold varying numbers of rows, so
            # a mean would weigh a row of a small batch (long texts) above one of a large batch (short texts):
            # scaled to a mean over the nominal batch size instead, every row weighs the same, as with rows.
            self._row_weight = len(inputs["input_ids"]) / self._train_batch_size
            result = super().compute_loss(model, inputs, *args, **kwargs)
            if isinstance(result, tuple):
                return (result[0] * self._row_weight, *result[1:])
            return result * self._row_weight

        def training_step(self, model: Any, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            self._row_weight = 1.0
            loss = super().training_step(model, inputs, *args, **kwargs)
            # The weight steers the gradient only: the logged loss stays the batch's mean, comparable across steps.
            return loss / self._row_weight

        def _token_batches(self) -> TokenBatches | None:
            dataset = self.train_dataset
            if not getattr(self.args, "token_batches", False) or dataset is None:
                return None
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            # data.tokenize writes the length column; [:] makes it a list, as in _grouped_sampler.
            return TokenBatches(dataset["length"][:], self._train_batch_size, seed)

        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            sampler = self._grouped_sampler(
                dataset,
                self.train_dataset,
                self.args.train_batch_size * self.args.gradient_accumulation_steps,
            )
            return sampler if sampler is not None else super()._get_train_sampler(train_dataset)

        def _get_eval_sampler(self, eval_dataset: Any) -> Any:
            # Evaluation keeps the dataset's order: reports match predictions to rows by position.
            import torch

            if self.args.world_size <= 1:
                return torch.utils.data.SequentialSampler(eval_dataset)
            return super()._get_eval_sampler(eval_dataset)

        def _determine_best_metric(self, metrics: dict[str, float], trial: Any) -> bool:
            # On a small eval set the task's metric often ties (say F1 1.0 at epochs 2, 3 and 4); the stock
            # rule keeps the earliest, least confident checkpoint. A tie goes to the lower eval loss instead.
            loss = metrics.get("eval_loss")
            if super()._determine_best_metric(metrics, trial):
                self._best_loss = loss
                return True
            name = self.args.metric_for_best_model
            value = metrics.get(name if name.startswith("eval_") else f"eval_{name}")
            best_loss = getattr(self, "_best_loss", None)
            if best_loss is None:
                best_loss = self._best_loss_from_history()
            if value == self.state.best_metric and loss is not None and best_loss is not None and loss < best_loss:
                self._best_loss = loss
                self.state.best_global_step = self.state.global_step
                return True
            return False

        def _best_loss_from_history(self) -> float | None:
            # A resumed run starts with a fresh Trainer: the tie-break state is rebuilt from the checkpoint's
            # log history (the eval loss logged at the best step), so resuming picks the same best checkpoint.
            for entry in reversed(self.state.log_history):
                if entry.get("step") == self.state.best_global_step and "eval_loss" in entry:
                    return entry["eval_loss"]
            return None

        def create_model_card(self, *args: Any, **kwargs: Any) -> None:
            if self.card_writer is not None and self.is_world_process_zero():
                self.card_writer(self.args.output_dir)

    return StudioTrainer


@contextlib.contextmanager
def _without_cuda(active: bool) -> Iterator[None]:
    """A run on the CPU (use_cpu) saves and restores no CUDA random state. The Trainer does whenever torch says
    CUDA is there, and in ZeroGPU's main process torch says so (spaces patches it) while touching CUDA raises."""
    import torch

    if not active:
        yield
        return
    real = torch.cuda.is_available
    torch.cuda.is_available = lambda: False
    try:
        yield
    finally:
        torch.cuda.is_available = real


def _eval_schedule(config: TrainConfig, train_rows: int, world_size: int) -> dict[str, Any]:
    """Evaluate (and save) every epoch, or every ``eval_steps``; a run shorter than an epoch evaluates at its end."""
    t = config.training
    if t.eval_steps:
        return {
            "eval_strategy": "steps",
            "save_strategy": "steps",
            "eval_steps": t.eval_steps,
            "save_steps": t.eval_steps,
        }
    steps_per_epoch = math.ceil(train_rows / (t.batch_size * world_size)) / t.gradient_accumulation_steps
    if 0 < t.max_steps < steps_per_epoch:
        return {
            "eval_strategy": "steps",
            "save_strategy": "steps",
            "eval_steps": t.max_steps,
            "save_steps": t.max_steps,
        }
    return {"eval_strategy": "epoch", "save_strategy": "epoch"}


@dataclass(frozen=True)
class Accelerator:
    """What the speed flags depend on; tests pass a made-up one to check the GPU path without a GPU."""

    cuda: bool
    capability: tuple[int, int] | None = None  # CUDA compute capability; (8, 0) and up is Ampere or newer
    cpus: int = 1
    zero_gpu: bool = False


def detect_accelerator(*, cpu: bool = False) -> Accelerator:
    """The accelerator a run trains on; ``cpu`` (``use_cpu``) asks torch nothing about CUDA: in ZeroGPU's main
    process torch says CUDA is there, and touching it raises."""
    import torch

    from trainer_core.runtime import on_zero_gpu

    cuda = not cpu and torch.cuda.is_available()
    return Accelerator(
        cuda=cuda,
        capability=torch.cuda.get_device_capability(0) if cuda else None,
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
        zero_gpu=on_zero_gpu(),
    )


def gpu_speed_flags(accelerator: Accelerator) -> tuple[dict[str, Any], list[str]]:
    """TrainingArguments that make a CUDA run faster without changing its maths much, and why each.

    Nothing on a CPU or MPS machine: the CPU path stays exactly as it was. Attention needs no flag:
    transformers 5 already loads BERT-style encoders with ``scaled_dot_product_attention`` (sdpa) where
    the architecture supports it.
    """
    if not accelerator.cuda:
        return {}, []
    flags: dict[str, Any] = {"optim": "adamw_torch_fused"}
    reasons = ["optim = adamw_torch_fused: one fused kernel per step instead of one per parameter tensor"]
    if accelerator.capability is not None and accelerator.capability >= (8, 0):
        flags["tf32"] = True
        reasons.append("tf32 = True: Ampere or newer GPU, float32 matmuls on tensor cores")
    # Forked ZeroGPU workers cannot start dataloader processes of their own; elsewhere a few workers keep the
    # GPU fed while the collator pads the next batch.
    workers = 0 if accelerator.zero_gpu else min(4, max(0, accelerator.cpus - 1))
    if workers:
        flags.update(dataloader_num_workers=workers, dataloader_persistent_workers=True)
        reasons.append(f"dataloader_num_workers = {workers}: batches are collated while the GPU computes")
    return flags, reasons


def build_training_arguments(
    config: TrainConfig,
    train_rows: int,
    metric: str,
    token: str | None,
    repo_id: str | None,
    accelerator: Accelerator | None = None,
) -> Any:
    import torch

    from trainer_core._arguments import StudioTrainingArguments

    t = config.training
    speed, _ = gpu_speed_flags(accelerator or detect_accelerator(cpu=t.use_cpu))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = not t.use_cpu and torch.cuda.is_available()
    return StudioTrainingArguments(
        output_dir=t.output_dir,
        num_train_epochs=t.epochs if t.epochs is not None else 1.0,  # None only under max_steps, which overrides it
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        lr_scheduler_type="linear",
        warmup_steps=float(t.warmup_ratio),  # a float below 1 is a share of the total steps
        seed=t.seed,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        **_eval_schedule(config, train_rows, world_size),
        load_best_model_at_end=t.model_selection != "last",
        metric_for_best_model=metric,
        greater_is_better=metric_registry.higher_is_better(metric),
        save_total_limit=t.save_total_limit,
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        token_batches=t.token_batches,
        report_to=list(t.report_to) or "none",
        disable_tqdm=True,
        dataloader_pin_memory=cuda,
        # Under torchrun on a machine without CUDA, accelerate sets up data parallelism (gloo) only when told
        # the run is on CPU; otherwise each process trains alone on all the data.
        use_cpu=t.use_cpu or (world_size > 1 and not cuda),
        push_to_hub=repo_id is not None,
        hub_model_id=repo_id,
        hub_token=token,
        hub_private_repo=config.hub.private,
        hub_strategy=config.hub.strategy,
        **precision_flags("no" if t.use_cpu else t.mixed_precision),
        **speed,
    )


def _check_output_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise InputError(
            f"Cannot write to the output directory '{path}' ({err.strerror or err}). Choose another --output-dir."
        ) from None
    free = shutil.disk_usage(path).free
    if free < 200 * 1024 * 1024:
        raise InputError(
            f"Only {free // (1024 * 1024)} MiB free on the disk of '{path}': a run needs room for checkpoints. "
            "Free some space or choose another --output-dir."
        )


@dataclass
class PreparedRun:
    """Everything validated before the first optimizer step."""

    config: TrainConfig
    data: data_lib.PreparedData
    tokenizer: Any
    model_config: dict[str, Any]
    repo_id: str | None
    token: str | None
    choices: list[recipe.Choice] = field(default_factory=list)


def prepare_run(config: TrainConfig, token: str | None = None) -> PreparedRun:
    """Resolve presets and check data, model, options and Hub access; raise before any training."""
    max_length_given = config.data.max_length is not None
    config = resolve_config(config)
    preset = get_preset(config.task)
    push_token = None
    repo_id = None
    if config.hub.repo_id:
        push_token = hub_lib.resolve_token(token)
        repo_id = hub_lib.prepare_repo(config.hub.repo_id, push_token, private=config.hub.private)
    read_token = push_token or hub_lib.resolve_token(token)
    _check_output_dir(Path(config.training.output_dir))
    raw = data_lib.load_raw(config.data, read_token)
    hold_out = None
    if config.data.validation_size is None and config.data.train_split in raw:
        hold_out = recipe.validation_share(len(raw[config.data.train_split]))
        config.data.validation_size = hold_out.value
    prepared = data_lib.prepare(config.data, raw, preset=preset, seed=config.training.seed)
    # The columns trained on, detected ones included: the saved config repeats the run, and tells whoever
    # loads the model whether it reads one text or a pair.
    config.data.text_column = prepared.columns.text
    config.data.text_pair_column = prepared.columns.text_pair
    config.data.label_column = prepared.columns.label
    model_config = check_no_remote_code(config.model.model, read_token, config.model.revision)
    choices = _apply_recipe(config, prepared, model_config, hold_out)
    if prepared.task_type_reason:
        # Detected (a column of lists): the saved config says so. Single-label stays unset, as in configs saved
        # before task kinds existed, so those runs still resume.
        config.data.task_type = prepared.task_type
        detected = recipe.Choice("data", "task_type", prepared.task_type, prepared.task_type_reason)
        choices.insert(0, detected)
        config.chosen = {detected.key: detected.reason, **config.chosen}
    _check_total_steps(config, len(prepared.train))
    tokenizer = load_tokenizer(config.model.model, read_token, config.model.revision)
    limit = max_positions(tokenizer, model_config)
    if not max_length_given and limit is not None and config.data.max_length > limit:
        config.data.max_length = limit  # a default, not the user's choice: fit it to the model
    check_max_length(config.model.model, config.data.max_length, tokenizer, model_config)
    if repo_id is not None:
        config.hub.repo_id = repo_id
    return PreparedRun(config, prepared, tokenizer, model_config, repo_id, push_token or read_token, choices)


def _check_total_steps(config: TrainConfig, train_rows: int) -> None:
    """Refuse epochs that make more optimizer steps than any run may take (max_steps is checked by the config)."""
    t = config.training
    if t.max_steps > 0:
        return
    steps = recipe.total_steps(train_rows, t.batch_size, t.gradient_accumulation_steps, t.epochs, t.max_steps)
    if steps > config_lib.MAX_STEPS:
        raise InputError(
            f"epochs {t.epochs:g} over {train_rows:,} training rows in batches of {t.batch_size} make {steps:,} "
            f"optimizer steps, more than the {config_lib.MAX_STEPS:,} a run may take: lower epochs, raise "
            "batch_size, or set max_steps."
        )


def _apply_recipe(
    config: TrainConfig, prepared: data_lib.PreparedData, model_config: dict[str, Any], hold_out: recipe.Choice | None
) -> list[recipe.Choice]:
    """Fill the options the user left unset and record why in ``config.chosen``; given values stay."""
    choices = recipe.training_choices(config.training, model_config, len(prepared.train), len(prepared.eval))
    if hold_out is not None and prepared.eval_source.endswith(f"held out (seed {config.training.seed})"):
        choices.insert(0, hold_out)  # only worth reporting when no eval split made it moot
    config.training = dataclasses.replace(
        config.training, **{c.name: c.value for c in choices if c.section == "training"}
    )
    config.chosen = {**config.chosen, **{c.key: c.reason for c in choices}}
    return choices


def train(
    config: TrainConfig,
    *,
    on_event: EventSink | None = None,
    stop: StopFlag | None = None,
    token: str | None = None,
    prepared: PreparedRun | None = None,
    limits: SliceLimits | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data`` and return the final metrics.

    Raises ``InputError`` (bad input, before training) or ``StudioError``. A failed push does not
    raise: it is reported in events and ``TrainResult.push_errors`` and the local output is kept.
    With ``limits`` the run may pause (``TrainResult.paused``) with a resumable checkpoint; calling
    ``train`` again with the same config continues it.
    """
    # Under torchrun / accelerate launch every process runs this; only the main one reports.
    emit = (on_event if _is_main_process() else None) or (lambda event: None)
    run = prepared or prepare_run(config, token)
    config = run.config
    _check_not_another_run(Path(config.training.output_dir), config)
    emit(_prepared_event(run))
    _, speed = gpu_speed_flags(detect_accelerator(cpu=config.training.use_cpu))
    if run.choices or speed:
        emit(ev.RecipeEvent(type="recipe", model=recipe.model_size(run.model_config).describe(),
                            choices=[c.to_dict() for c in run.choices], speed=speed))  # fmt: skip
    spec = run.data.columns
    train_set = data_lib.tokenize(run.data.train, run.tokenizer, spec, config.data.max_length)
    eval_set = data_lib.tokenize(run.data.eval, run.tokenizer, spec, config.data.max_length)
    return train_tokenized(run, train_set, eval_set, emit=emit, stop=stop, limits=limits)


def _is_main_process() -> bool:
    """Rank 0 of a torchrun / accelerate launch, or a single process."""
    return int(os.environ.get("RANK", "0")) == 0


def _prepared_event(run: PreparedRun) -> Event:
    return ev.PreparedEvent(type="prepared", train_rows=len(run.data.train), eval_rows=len(run.data.eval),
                            labels=run.data.label_names, eval_source=run.data.eval_source,
                            problems=[dataclasses.asdict(p) for p in run.data.problems],
                            task_type=run.data.task_type)  # fmt: skip


def train_tokenized(
    run: PreparedRun,
    train_set: Any,
    eval_set: Any,
    *,
    emit: EventSink,
    stop: StopFlag | None = None,
    limits: SliceLimits | None = None,
    push: bool = True,
) -> TrainResult:
    """Train on already tokenized splits, resuming this config's last checkpoint in its output dir.

    ``push=False`` leaves the Hub and the ``done`` event to the caller (a ZeroGPU slice: the job pushes from the
    CPU afterwards and reports the run's end once).
    """
    config, token = run.config, run.token
    repo_id = run.repo_id if push else None
    main_process = _is_main_process()  # only it writes the results and the card, and pushes
    output_dir = Path(config.training.output_dir)
    _check_not_another_run(output_dir, config)
    resume = _resumable_checkpoint(output_dir, config)
    if resume:
        config = _config_of(output_dir, config)  # an earlier slice may have halved the batch after an OOM
        run.config = config
        emit(ev.ResumeEvent(type="resume", checkpoint=resume))
    searched = None
    if config.training.search_trials > 0 and not resume:
        from trainer_core import search as search_lib

        parts = search_lib.TrainingParts(_studio_trainer_class, build_training_arguments, load_run_model)
        searched = search_lib.run_search(config, run, train_set, eval_set, emit, stop, parts=parts)
        config.chosen = {**config.chosen, **search_lib.apply_best(config, searched)}
    while True:
        trainer, events = _build_trainer(config, run, train_set, eval_set, emit, stop, limits, repo_id)
        trainer.resume_checkpoint = resume
        config.save(output_dir / TRAINED_CONFIG_FILE)
        try:
            output = trainer.train(resume_from_checkpoint=resume)
            break
        except Exception as err:
            if not _is_out_of_memory(err):
                raise
            smaller = _halve_batch(config)
            if smaller is None:
                raise StudioError(
                    f"Out of GPU memory even with batch size {config.training.batch_size}. Lower --max-length or "
                    "choose a smaller model."
                ) from err
            emit(ev.OomRetryEvent(type="oom_retry", batch_size=smaller.training.batch_size,
                                  gradient_accumulation_steps=smaller.training.gradient_accumulation_steps))  # fmt: skip
            del trainer, events
            _free_accelerator_memory()
            config, resume = smaller, _resumable_checkpoint(output_dir, smaller)
            run.config = config

    if events.paused:
        if trainer.pushes is not None:
            trainer.pushes.finish()  # each save's push ends with the slice, in done or failed
        checkpoint = _resumable_checkpoint(output_dir, config)
        result = TrainResult(
            output_dir=str(output_dir),
            metrics=_scores(_last_eval_metrics(trainer)),
            task_type=run.data.task_type,
            label_names=run.data.label_names,
            global_step=trainer.state.global_step,
            train_runtime=float(output.metrics.get("train_runtime", 0.0)),
            train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
            paused=True,
            pause_reason=events.paused,
            best_checkpoint=trainer.state.best_model_checkpoint,
        )
        emit(ev.PausedEvent(type="paused", step=result.global_step, total_steps=trainer.state.max_steps,
                            reason=events.paused, checkpoint=checkpoint and Path(checkpoint).name))  # fmt: skip
        return result

    stopped = events.stopped
    if stopped:
        metrics = _last_eval_metrics(trainer)
    else:
        # Fires on_evaluate, so the event stream gets these final (best-model) metrics too.
        metrics = {k.removeprefix("eval_"): v for k, v in trainer.evaluate().items()}
    thresholds = None
    if run.data.task_type == kinds.MULTI_LABEL and not stopped:
        # A stopped run's last evaluation may be of an earlier checkpoint: it keeps 0.5 for every label.
        thresholds, tuned = _tune_thresholds(trainer, run.data.label_names)
        metrics = {**metrics, **tuned}
    scores = _scores(metrics)
    spec = run.data.columns

    if thresholds is not None:
        setattr(trainer.model.config, kinds.THRESHOLDS_KEY, thresholds)  # config.json: inference reads them
    # _internal_call: a public save_model() call would also make a blocking push of its own; the final
    # push below is the one that carries the model card and is retried.
    trainer.save_model(str(output_dir), _internal_call=True)
    card = hub_lib.CardInfo(
        repo_id=run.repo_id or output_dir.name,
        base_model=config.model.model,
        dataset=config.data.dataset,
        dataset_config=config.data.dataset_config,
        label_names=run.data.label_names,
        metrics=scores,
        hyperparameters=_hyperparameters(config, trainer),
        eval_split=run.data.eval_source,
        is_pair=spec.text_pair is not None,
        language=preset.language if (preset := get_preset(config.task)) else None,
        extra={"chosen": dict(config.chosen), **({"search": searched.to_dict()} if searched else {})},
        task_type=run.data.task_type,
        thresholds=thresholds,
    )
    if main_process:
        hub_lib.write_model_card(output_dir, card)
    trainer.card_writer = lambda directory: hub_lib.write_model_card(directory, card)

    result = TrainResult(
        output_dir=str(output_dir),
        metrics=scores,
        label_names=run.data.label_names,
        global_step=trainer.state.global_step,
        train_runtime=float(output.metrics.get("train_runtime", 0.0)),
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        stopped=stopped,
        best_checkpoint=trainer.state.best_model_checkpoint,
        task_type=run.data.task_type,
        thresholds=thresholds,
    )
    if repo_id and trainer.pushes is not None and main_process:
        trainer.pushes.finish()
        result.push_errors = trainer.pushes.errors()
        _write_results(output_dir, result)
        emit(ev.PushEvent(type="push", status="started", step=trainer.state.global_step, final=True))
        try:
            hub_lib.with_retries(lambda: trainer.push_to_hub(commit_message="End of training"), attempts=3)
            result.pushed_repo = repo_id
            emit(ev.PushEvent(type="push", status="done", step=trainer.state.global_step, final=True,
                              repo_id=repo_id))  # fmt: skip
        except Exception as err:
            message = hub_lib.describe_push_error(err, token)
            trainer.pushes.failures.append((-1, message))
            result.push_errors = trainer.pushes.errors()
            logger.warning("Push of the final model failed: %s", message)
            emit(ev.PushEvent(type="push", status="failed", step=trainer.state.global_step, final=True,
                              error=message))  # fmt: skip
    if main_process:
        _write_results(output_dir, result)
    if push:  # a slice's caller pushes and reports the end itself, once for the whole run
        emit(ev.DoneEvent(type="done", result=result.to_dict()))
    return result


SCORE_NAMES = metric_registry.SCORE_NAMES  # declared once, in metrics/registry.py


def load_run_model(config: TrainConfig, run: PreparedRun, train_set: Any) -> Any:
    """The model a run trains: its head sized for the run's labels and kind.

    A regression head that starts fresh predicts the training targets' mean from the first step.
    """
    task_type = run.data.task_type
    model = load_model(
        config.model.model, run.data.label_names, token=run.token, revision=config.model.revision, task_type=task_type
    )
    base = run.model_config or {}
    fresh_head = kinds.of_model_config(base) != kinds.REGRESSION if base else True
    if task_type == kinds.REGRESSION and fresh_head and len(train_set):
        import numpy as np

        start_regression_head(model, float(np.mean(train_set[data_lib.LABEL][:])))
    return model


def _tune_thresholds(trainer: Any, label_names: list[str]) -> tuple[dict[str, float] | None, dict[str, float]]:
    """Each label's threshold, tuned on the last evaluation's probabilities, and the scores they give.

    The final evaluation just ran over the eval split with the model that is saved, and the multi-label
    ``compute_metrics`` kept its probabilities: no second pass.
    """
    from trainer_core.metrics import compute_multi_label_metrics

    last = getattr(trainer.compute_metrics, "last", None)
    if last is None:
        return None, {}
    probs, references = last
    values = kinds.tune_thresholds(probs, references)
    tuned = compute_multi_label_metrics(kinds.apply_thresholds(probs, values), references)
    return dict(zip(label_names, values, strict=True)), tuned


def _scores(metrics: dict[str, Any]) -> dict[str, float]:
    return metric_registry.scores(metrics)


def _build_trainer(
    config: TrainConfig,
    run: PreparedRun,
    train_set: Any,
    eval_set: Any,
    emit: EventSink,
    stop: StopFlag | None,
    limits: SliceLimits | None = None,
    repo_id: str | None = None,
) -> tuple[Any, Any]:
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, set_seed
    from transformers.trainer_callback import PrinterCallback

    set_seed(config.training.seed)
    num_labels = len(run.data.label_names)
    task_type = run.data.task_type
    model = load_run_model(config, run, train_set)
    metric = primary_metric(num_labels, task_type)
    args = build_training_arguments(config, len(train_set), metric, run.token, repo_id)
    pad_multiple = 8 if (args.fp16 or args.bf16) else None
    events = make_event_callback(emit, stop, run.token, limits)
    callbacks: list[Any] = [events]
    if config.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.training.early_stopping_patience))
    trainer = _new_trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=run.tokenizer,
        data_collator=DataCollatorWithPadding(run.tokenizer, pad_to_multiple_of=pad_multiple),
        compute_metrics=build_compute_metrics(num_labels, task_type),
        callbacks=callbacks,
    )
    events.trainer = trainer
    if repo_id and trainer.is_world_process_zero():
        trainer.pushes = events.pushes = CheckpointPushes(trainer, emit, run.token)
    # Progress leaves through events only; the stock printer would write every log dict to stdout.
    trainer.remove_callback(PrinterCallback)
    return trainer, events


def _new_trainer(**kwargs: Any) -> Any:
    """The Trainer; with pushing on, its constructor creates the Hub repo, so a Hub fault here says so."""
    hub_lib.apply_timeouts()
    try:
        trainer = _studio_trainer_class()(**kwargs)
    except Exception as err:
        args = kwargs.get("args")
        repo_id = getattr(args, "hub_model_id", None) if getattr(args, "push_to_hub", False) else None
        # prepare_run created the repo already; this is for a token revoked or a repo removed since.
        if repo_id and (hub_lib.is_timeout(err) or hub_lib.is_access_refusal(err)):
            raise hub_lib.repo_creation_error(repo_id, err, getattr(args, "hub_token", None)) from None
        raise
    # The classifiers' forward takes **kwargs, so transformers assumes they sum their loss over the tokens it
    # counts and scales it by the number of processes (and skips dividing by gradient accumulation). They
    # return a mean: under torchrun the loss and the gradients came out doubled.
    trainer.model_accepts_loss_kwargs = False
    return trainer


def _is_out_of_memory(err: BaseException) -> bool:
    import torch

    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def _halve_batch(config: TrainConfig) -> TrainConfig | None:
    """The same run with half the batch and twice the accumulation: same effective batch, less memory."""
    t = config.training
    if t.batch_size < 2:
        return None
    smaller = dataclasses.replace(
        t, batch_size=t.batch_size // 2, gradient_accumulation_steps=t.gradient_accumulation_steps * 2
    )
    return dataclasses.replace(config, training=smaller)


def _free_accelerator_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _write_results(output_dir: Path, result: TrainResult) -> None:
    (output_dir / RESULTS_FILE).write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")


def _last_eval_metrics(trainer: Any) -> dict[str, float]:
    for entry in reversed(trainer.state.log_history):
        if any(key.startswith("eval_") for key in entry):
            return {k.removeprefix("eval_"): v for k, v in entry.items() if k.startswith("eval_")}
    return {}


def _hyperparameters(config: TrainConfig, trainer: Any) -> dict[str, Any]:
    t = config.training
    return {
        "learning_rate": t.learning_rate,
        "train_batch_size": t.batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "epochs": t.epochs,
        "max_steps": t.max_steps,
        "optimizer_steps": trainer.state.global_step,
        "weight_decay": t.weight_decay,
        "warmup_ratio": t.warmup_ratio,
        "lr_scheduler": "linear",
        "model_selection": "last" if t.model_selection == "last" else "best",
        "max_length": config.data.max_length,
        "seed": t.seed,
        "mixed_precision": "bf16" if trainer.args.bf16 else "fp16" if trainer.args.fp16 else "no",
        "group_by_length": t.group_by_length,
        "token_batches": t.token_batches,
    }


def _resumable_checkpoint(output_dir: Path, config: TrainConfig) -> str | None:
    """The newest complete checkpoint of an interrupted run of this same config in ``output_dir``.

    A checkpoint counts only if its trainer state was written, which happens after the weights and
    optimizer; a directory without it was cut off mid-save and is ignored. A finished run, or one
    with another config, is not resumed.
    """
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    saved = output_dir / TRAINED_CONFIG_FILE
    if not saved.is_file() or not _same_run(saved.read_text(encoding="utf-8"), config):
        return None
    candidates = []
    for path in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and (path / "trainer_state.json").is_file() and (path / "model.safetensors").is_file():
            candidates.append((int(suffix), path))
    if not candidates or (output_dir / RESULTS_FILE).is_file():
        return None
    return str(max(candidates)[1])


# ------------------------------------------------------------------------------------------ slices
# A run on a GPU lent per call (ZeroGPU) is prepared once on the CPU into ``<run_dir>/prepared`` and
# then trained by a sequence of calls, each resuming the last checkpoint: nothing between two calls
# lives in memory, so any call may run in a fresh worker process.

PREPARED_DIR = "prepared"


def prepare_slices(config: TrainConfig, run_dir: str | Path, *, token: str | None = None,
                   on_event: EventSink | None = None) -> dict[str, Any]:  # fmt: skip
    """Load, validate and tokenize on the CPU and store the result in the run dir for ``train_slice``.

    Returns ``{"total_steps": ..., "train_rows": ...}``. Skipped when the run dir is already prepared
    (a resumed run).
    """
    emit = on_event or (lambda event: None)
    target = Path(run_dir) / PREPARED_DIR
    meta_path = target / "meta.json"
    if meta_path.is_file():
        return json.loads(meta_path.read_text(encoding="utf-8"))
    run = prepare_run(config, token)
    config = run.config
    _check_not_another_run(Path(config.training.output_dir), config)
    emit(_prepared_event(run))
    spec = run.data.columns
    train_set = data_lib.tokenize(run.data.train, run.tokenizer, spec, config.data.max_length)
    eval_set = data_lib.tokenize(run.data.eval, run.tokenizer, spec, config.data.max_length)
    tmp = target.with_name(PREPARED_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    train_set.save_to_disk(str(tmp / "train"))
    eval_set.save_to_disk(str(tmp / "eval"))
    run.tokenizer.save_pretrained(str(tmp / "tokenizer"))
    config.save(tmp / "config.yaml")
    _prefetch_weights(config, run.token)
    t = config.training
    world = 1
    steps_per_epoch = math.ceil(math.ceil(len(train_set) / (t.batch_size * world)) / t.gradient_accumulation_steps)
    total = t.max_steps if t.max_steps > 0 else math.ceil(steps_per_epoch * t.epochs)
    meta = {
        "train_rows": len(train_set),
        "eval_rows": len(eval_set),
        "total_steps": total,
        "label_names": run.data.label_names,
        "task_type": run.data.task_type,
        "eval_source": run.data.eval_source,
        "columns": dataclasses.asdict(spec),
        "repo_id": run.repo_id,
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return meta


def _prefetch_weights(config: TrainConfig, token: str | None) -> None:
    """Download the model's weights now, on the CPU, so the first GPU call does not spend its booking on it."""
    if Path(config.model.model).is_dir():
        return
    from transformers.utils import cached_file

    for name in ("model.safetensors", "pytorch_model.bin"):
        try:
            found = cached_file(config.model.model, name, token=token, revision=config.model.revision,
                                _raise_exceptions_for_missing_entries=False)  # fmt: skip
        except Exception:  # the GPU call loads the model again and reports a real problem there
            logger.debug("prefetching %s of %s failed", name, config.model.model, exc_info=True)
            return
        if found:
            return


def train_slice(run_dir: str | Path, seconds: float | None, *, token: str | None = None,
                steps: int | None = None, on_event: EventSink | None = None,
                stop: StopFlag | None = None) -> dict[str, Any]:  # fmt: skip
    """Train a prepared run for at most ``seconds`` (or ``steps``), then save and return a small summary.

    The summary is plain data (it crosses a process boundary): ``state`` is ``paused``, ``finished``,
    ``stopped`` or ``failed`` (with ``error``, the message for the user; errors are returned, not raised,
    because a GPU worker would hand the caller only the exception's class name).
    """
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    started = time.monotonic()
    try:
        source = Path(run_dir) / PREPARED_DIR
        meta = json.loads((source / "meta.json").read_text(encoding="utf-8"))
        config = TrainConfig.from_yaml(source / "config.yaml")
        output_dir = Path(config.training.output_dir)
        before = _resumable_checkpoint(output_dir, config)
        first_step = int(before.rsplit("-", 1)[-1]) if before else 0
        train_set = load_from_disk(str(source / "train"))
        eval_set = load_from_disk(str(source / "eval"))
        data = data_lib.PreparedData(
            train=train_set, eval=eval_set, columns=data_lib.ColumnSpec(**meta["columns"]),
            label_names=meta["label_names"], eval_source=meta["eval_source"], problems=[],
            task_type=meta.get("task_type", kinds.SINGLE_LABEL),
        )  # fmt: skip
        tokenizer = AutoTokenizer.from_pretrained(str(source / "tokenizer"))
        run = PreparedRun(config, data, tokenizer, {}, meta.get("repo_id"), token)
        # The budget counts training from its first step: setting up (loading data and model, resuming) is
        # measured and booked on top of it (see runtime.slice_booking).
        limits = SliceLimits(seconds=seconds, steps=steps)
        result = train_tokenized(run, train_set, eval_set, emit=on_event or (lambda e: None), stop=stop,
                                 limits=limits, push=False)  # fmt: skip
    except StudioError as err:
        return {"state": "failed", "error": hub_lib.redact(str(err), token)}
    except Exception as err:
        message = f"Unexpected {type(err).__name__}: {err}"
        logger.exception("a training slice failed")
        return {"state": "failed", "error": hub_lib.redact(message, token)}
    trained = result.global_step - first_step
    state = "paused" if result.paused else "stopped" if result.stopped else "finished"
    return {
        "state": state,
        "step": result.global_step,
        "total_steps": meta["total_steps"],
        "steps": trained,
        "seconds": round(time.monotonic() - started, 3),
        "train_seconds": round(result.train_runtime, 3),
        "overhead_seconds": round(max(0.0, time.monotonic() - started - result.train_runtime), 3),
        "step_seconds": round(result.train_runtime / trained, 4) if trained > 0 else None,
        "metrics": result.metrics,
        "best_checkpoint": result.best_checkpoint,
        "output_dir": result.output_dir,
    }


def finish_stopped_slices(run_dir: str | Path) -> TrainResult | None:
    """A run stopped between two GPU calls: its best (else last) checkpoint becomes the final model, on the CPU.

    Returns None when no checkpoint exists yet (nothing was trained).
    """
    source = Path(run_dir) / PREPARED_DIR
    meta = json.loads((source / "meta.json").read_text(encoding="utf-8"))
    config = TrainConfig.from_yaml(source / "config.yaml")
    output_dir = Path(config.training.output_dir)
    last = _resumable_checkpoint(output_dir, config)
    if last is None:
        return None
    state = json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
    best = state.get("best_model_checkpoint")
    chosen = Path(best) if best and (Path(best) / "model.safetensors").is_file() else Path(last)
    for name in ("model.safetensors", "config.json"):
        shutil.copy2(chosen / name, output_dir / name)
    for item in (source / "tokenizer").iterdir():
        shutil.copy2(item, output_dir / item.name)
    evals = [e for e in state.get("log_history", []) if any(k.startswith("eval_") for k in e)]
    metrics = {k.removeprefix("eval_"): v for k, v in (evals[-1] if evals else {}).items() if k.startswith("eval_")}
    result = TrainResult(
        output_dir=str(output_dir),
        metrics=_scores(metrics),
        label_names=meta["label_names"],
        global_step=int(state.get("global_step", 0)),
        train_runtime=0.0,
        train_samples_per_second=0.0,
        stopped=True,
        best_checkpoint=str(chosen),
        task_type=meta.get("task_type", kinds.SINGLE_LABEL),
    )
    _write_results(output_dir, result)
    return result


_DETECTED_COLUMNS = ("text_column", "text_pair_column", "label_column")


def _matching_config(saved_yaml: str, config: TrainConfig) -> TrainConfig | None:
    """``config``, or ``config`` with the batch halved after running out of memory, whichever the saved config
    is; None when it is neither.

    The saved config is read as a config, not compared as text: one written before an option existed holds
    that option's default, so a run paused before an upgrade still resumes after it.
    """
    import yaml

    try:
        saved = TrainConfig.from_dict(yaml.safe_load(saved_yaml)).to_dict()
    except (yaml.YAMLError, StudioError):
        return None
    candidate: TrainConfig | None = config
    while candidate is not None:
        wanted = candidate.to_dict()
        for name in _DETECTED_COLUMNS:
            # Written before runs recorded their detected columns: empty there means detected, the same ones.
            if saved["data"][name] is None:
                wanted["data"][name] = None
        if wanted["training"]["max_steps"] > 0 and wanted["training"]["epochs"] is None:
            # Written when epochs were chosen beside max_steps, which overrides them: the same run.
            wanted["training"]["epochs"] = saved["training"]["epochs"]
            if "training.epochs" in saved["chosen"]:
                wanted["chosen"] = {**wanted["chosen"], "training.epochs": saved["chosen"]["training.epochs"]}
        if saved == wanted:
            return candidate
        candidate = _halve_batch(candidate)
    return None


def _same_run(saved_yaml: str, config: TrainConfig) -> bool:
    """Whether a saved config is ``config``, possibly with the batch halved after running out of memory."""
    return _matching_config(saved_yaml, config) is not None


def _config_of(output_dir: Path, config: TrainConfig) -> TrainConfig:
    """The config the run in ``output_dir`` last trained with (``config`` or a halved batch of it)."""
    return _matching_config((output_dir / TRAINED_CONFIG_FILE).read_text(encoding="utf-8"), config) or config


def _check_not_another_run(output_dir: Path, config: TrainConfig) -> None:
    """Refuse to train where another run's checkpoints or model live: its checkpoint rotation and final
    save would delete or overwrite them without a word."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if not output_dir.is_dir():
        return
    found = sorted(p.name for p in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir())
    if not found and not (output_dir / RESULTS_FILE).is_file():
        return
    saved = output_dir / TRAINED_CONFIG_FILE
    if saved.is_file() and _same_run(saved.read_text(encoding="utf-8"), config):
        return
    what = (
        f"{len(found)} checkpoint(s) ({', '.join(found[:3])}{', ...' if len(found) > 3 else ''})"
        if found
        else ("a finished model")
    )
    why = "trained with a different config" if saved.is_file() else f"with no {TRAINED_CONFIG_FILE} of ours"
    raise InputError(
        f"'{output_dir}' already holds another run: {what}, {why}. Training there would delete or overwrite "
        f"them. Choose another --output-dir, or to resume that run use the config in '{saved.name}' "
        f"(python -m trainer_core train --config {saved}); delete the folder only if you no longer need it."
    )


__all__ = [
    "PreparedRun",
    "SliceLimits",
    "TrainResult",
    "prepare_run",
    "prepare_slices",
    "train",
    "train_slice",
    "train_tokenized",
]
