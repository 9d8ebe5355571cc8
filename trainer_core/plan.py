"""What a run will need before it starts, and what fits instead: steps, GPU seconds, ZeroGPU calls and days of a
visitor's daily quota.

On ZeroGPU a visitor has about two minutes of GPU a day (three and a half signed in, 40 with PRO), and a run is
cut into GPU calls (``runtime``: at most 240 s of training each, about 25 s more to start and save). A real
model on real data can need days of that quota; this says so before Start, and what fits today: fewer steps,
fewer rows, a smaller model, the Space's CPU, or the visitor's own hardware.

Pure functions of numbers (no I/O, no torch): the model's size comes from its ``config.json``
(``recipe.model_size``), the data's from row counts and token lengths, and the steps from the same rules the run
uses (``recipe``). Speeds are estimates, not measurements of this Space: a training token costs about 6 FLOPs
per encoder parameter plus attention; the GPU is taken at ``GPU_FLOPS`` (half an H200, ZeroGPU's default
size, at about a fifth of its bf16 peak, as small-batch encoder fine-tuning runs) plus a fixed cost per layer
and step; a CPU core at ``CPU_FLOPS_PER_CORE``, the rate bench/bench_quality.py's MPNet-base runs trained at on
one core. The first GPU call of a run measures its real step time and books the rest from that.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from trainer_core import recipe, runtime

ANONYMOUS_QUOTA_SECONDS = 120
SIGNED_IN_QUOTA_SECONDS = 210
PRO_QUOTA_SECONDS = 40 * 60  # spaces 0.51.3: "Subscribe to Hugging Face PRO to get 40 min of ZeroGPU quota a day"
QUOTA_NAMES = {
    ANONYMOUS_QUOTA_SECONDS: "not signed in: about 2 minutes of GPU a day",
    SIGNED_IN_QUOTA_SECONDS: "signed in: about 3.5 minutes of GPU a day",
    PRO_QUOTA_SECONDS: "PRO: about 40 minutes of GPU a day",
}

GPU_FLOPS = 1.0e14
GPU_SECONDS_PER_LAYER_STEP = 0.0025  # kernel launches and the optimizer: a floor small batches do not go under
CPU_FLOPS_PER_CORE = 1.0e11
PADDING = 1.1  # length-grouped batches pad about a tenth over the mean length
MIN_USEFUL_STEPS = 10

# Smaller encoders to offer, largest first, with the config.json figures their size is computed from.
SMALLER_MODELS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "distilbert-base-uncased",
        {"model_type": "distilbert", "dim": 768, "n_layers": 6, "hidden_dim": 3072, "vocab_size": 30522},
    ),
    (
        "google/electra-small-discriminator",
        {
            "model_type": "electra",
            "hidden_size": 256,
            "num_hidden_layers": 12,
            "intermediate_size": 1024,
            "embedding_size": 128,
            "vocab_size": 30522,
        },
    ),
)


@dataclass(frozen=True)
class Estimate:
    """One way of running: its steps, and the time and quota it takes."""

    steps: int
    epochs: float
    batch_size: int
    train_rows: int
    tokens_per_row: float
    step_seconds: float  # on the GPU
    train_seconds: float  # on the GPU, evaluations included
    slices: int  # GPU calls
    gpu_seconds: float  # booked: training plus each call's start and save
    days: int | None  # days of the quota it spans; None: no call fits the quota at all; 0 on the CPU
    cpu_seconds: float  # the same run on the CPU
    on_cpu: bool = False
    max_steps_given: bool = False
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Option:
    """Something that fits where the run as set does not; ``change`` is what to set in the form (by form key)."""

    kind: str  # "steps", "rows", "model", "cpu", "own_hardware"
    text: str
    change: dict[str, Any] = field(default_factory=dict)
    estimate: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "change": self.change,
                "estimate": self.estimate.to_dict() if self.estimate else None}  # fmt: skip


@dataclass(frozen=True)
class RunPlan:
    estimate: Estimate
    quota_seconds: int
    max_run_minutes: float | None
    options: list[Option]
    pro_days: int | None = None  # the days it would span with PRO's quota, when it spans several

    @property
    def fits_today(self) -> bool:
        if self.estimate.on_cpu:
            return self.max_run_minutes is None or self.estimate.cpu_seconds <= self.max_run_minutes * 60
        return self.estimate.days == 1

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate.to_dict(), "quota_seconds": self.quota_seconds, "pro_days": self.pro_days,
                "fits_today": self.fits_today, "options": [o.to_dict() for o in self.options]}  # fmt: skip


def estimate(
    model_config: dict[str, Any],
    *,
    train_rows: int,
    eval_rows: int = 0,
    mean_tokens: float | None = None,
    max_length: int = 128,
    batch_size: int | None = None,
    epochs: float | None = None,
    max_steps: int = -1,
    gradient_accumulation_steps: int = 1,
    eval_steps: int | None = None,
    quota_seconds: int = ANONYMOUS_QUOTA_SECONDS,
    use_cpu: bool = False,
    cpu_cores: int = 2,
) -> Estimate:
    """The steps the run will take (chosen as ``recipe`` chooses them) and what they cost."""
    size = recipe.model_size(model_config)
    train_rows = max(1, int(train_rows))
    epochs = epochs if epochs is not None else recipe.epochs(train_rows).value
    batch = batch_size or recipe.batch_size(train_rows, epochs, gradient_accumulation_steps, max_steps).value
    steps = recipe.total_steps(train_rows, batch, gradient_accumulation_steps, epochs, max_steps)
    notes = []
    if mean_tokens:
        tokens = min(float(max_length), mean_tokens * PADDING)
    else:
        tokens = float(max_length)
        notes.append(
            "text lengths not measured (a preview measures them with the model's tokenizer): every row taken at "
            f"max_length={max_length}"
        )
    # Per token: 6 FLOPs per parameter (forward and backward) plus attention over the row; evaluation a third.
    train_flops_per_token = 6 * size.body_parameters + 12 * size.layers * size.hidden_size * tokens
    step_flops = train_flops_per_token * tokens * batch * gradient_accumulation_steps
    step_seconds = step_flops / GPU_FLOPS + GPU_SECONDS_PER_LAYER_STEP * size.layers * gradient_accumulation_steps
    if eval_steps:
        evaluations = steps // eval_steps + 1
    else:
        evaluations = (math.ceil(steps * batch * gradient_accumulation_steps / train_rows) if max_steps > 0
                       else math.ceil(epochs)) + 1  # fmt: skip
    eval_flops = evaluations * eval_rows * tokens * train_flops_per_token / 3
    train_seconds = steps * step_seconds + eval_flops / GPU_FLOPS
    cpu_seconds = (steps * step_flops + eval_flops) / (CPU_FLOPS_PER_CORE * max(1, cpu_cores))
    slices, days = (0, 0) if use_cpu else _calls(train_seconds, quota_seconds)
    gpu_seconds = 0.0 if use_cpu else train_seconds + slices * runtime.SLICE_OVERHEAD_SECONDS
    return Estimate(steps, epochs, batch, train_rows, round(tokens, 1), step_seconds, train_seconds, slices,
                    gpu_seconds, days, cpu_seconds, use_cpu, max_steps > 0, tuple(notes))  # fmt: skip


def _calls(train_seconds: float, quota_seconds: int) -> tuple[int, int | None]:
    """GPU calls and days of quota for ``train_seconds`` of training: each call books its training plus the set-up
    and save (runtime.SLICE_OVERHEAD_SECONDS), at most runtime.MAX_SLICE_SECONDS of training and what the day has
    left; when nothing useful fits, the run pauses until the next day."""
    overhead = runtime.SLICE_OVERHEAD_SECONDS
    if quota_seconds - overhead < runtime.MIN_SLICE_SECONDS:
        return 0, None
    remaining, left, days, calls = train_seconds, float(quota_seconds), 1, 0
    while remaining > 1e-9:
        room = min(runtime.MAX_SLICE_SECONDS, left - overhead)
        if room < min(remaining, runtime.MIN_SLICE_SECONDS):
            days, left = days + 1, float(quota_seconds)
            continue
        trained = min(remaining, room)
        calls, left, remaining = calls + 1, left - trained - overhead, remaining - trained
    return max(calls, 1), days


def plan_run(model_config: dict[str, Any], *, max_run_minutes: float | None = None, **run: Any) -> RunPlan:
    """The run's ``estimate`` and, when it does not fit (more than a day of the visitor's quota on the GPU, or
    over the Space's ``max_run_minutes`` on the CPU), the options that do. ``run``: ``estimate``'s arguments."""
    mine = estimate(model_config, **run)
    result = RunPlan(mine, run.get("quota_seconds", ANONYMOUS_QUOTA_SECONDS), max_run_minutes, [])
    if result.fits_today:
        return result
    options: list[Option] = []
    fits = (lambda e: e.cpu_seconds <= max_run_minutes * 60) if mine.on_cpu else (lambda e: e.days == 1)  # type: ignore[operator]
    steps = _largest(1, mine.steps - 1, lambda n: fits(estimate(model_config, **(run | {"max_steps": n}))))
    if steps is not None and steps >= MIN_USEFUL_STEPS:
        fewer = estimate(model_config, **(run | {"max_steps": steps}))
        options.append(Option("steps", f"Max steps {steps} (of {mine.steps}): {_cost(fewer)}.", {"max_steps": steps},
                              fewer))  # fmt: skip
    if not mine.on_cpu and run.get("max_steps", -1) <= 0:
        rows = _largest(1, mine.train_rows - 1, lambda n: fits(estimate(model_config, **(run | {"train_rows": n}))))
        if rows is not None and rows >= 50:
            fewer = estimate(model_config, **(run | {"train_rows": rows}))
            options.append(Option("rows", f"Max training rows {rows:,} (of {mine.train_rows:,}): {_cost(fewer)}.",
                                  {"max_train_samples": rows}, fewer))  # fmt: skip
    if not mine.on_cpu:
        body = recipe.model_size(model_config).body_parameters
        smaller = [(name, cfg) for name, cfg in SMALLER_MODELS if recipe.model_size(cfg).body_parameters < body]
        tried = [(name, estimate(cfg, **run)) for name, cfg in smaller]
        fitting = [(name, e) for name, e in tried if fits(e)]
        if fitting or tried:
            name, other = (fitting or tried[-1:])[0]
            options.append(Option("model", f"A smaller model, {name}: {_cost(other)}.", {"model": name}, other))
        on_cpu = estimate(model_config, **(run | {"use_cpu": True}))
        if max_run_minutes is not None and on_cpu.cpu_seconds > max_run_minutes * 60:
            options.append(Option("cpu", f"The Space's CPU would take about {_duration(on_cpu.cpu_seconds)}, over "
                                  f"this Space's limit of {max_run_minutes:g} minutes per run.", {}, on_cpu))  # fmt: skip
        else:
            options.append(Option("cpu", f"The Space's CPU ('Train on the CPU'): about "
                                  f"{_duration(on_cpu.cpu_seconds)}, none of your GPU quota.", {"use_cpu": True},
                                  on_cpu))  # fmt: skip
    options.append(Option("own_hardware", "Your own GPU (or a duplicate of this Space on paid hardware), with no "
                          "quota: the same run with the command below."))  # fmt: skip
    pro = None
    if not mine.on_cpu and result.quota_seconds < PRO_QUOTA_SECONDS:
        pro = estimate(model_config, **(run | {"quota_seconds": PRO_QUOTA_SECONDS})).days
    return dataclasses.replace(result, options=options, pro_days=pro)


def _largest(low: int, high: int, ok: Any) -> int | None:
    """The largest n in [low, high] with ok(n), for an ok that holds up to some n and not above."""
    if high < low or not ok(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if ok(middle) else (low, middle - 1)
    return low


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _cost(e: Estimate) -> str:
    if e.on_cpu:
        return f"about {_duration(e.cpu_seconds)} on the CPU"
    return f"about {_duration(e.gpu_seconds)} of GPU quota in {e.slices} call{'s' if e.slices != 1 else ''}, fits today"


def describe(result: RunPlan) -> str:
    """The plan in a few lines of Markdown for the Train tab (the command for the visitor's own hardware apart)."""
    e = result.estimate
    how = "max steps given" if e.max_steps_given else f"{e.epochs:g} epoch{'s' if e.epochs != 1 else ''}"
    what = f"**What this run needs:** {e.steps:,} optimizer steps ({how}, batches of {e.batch_size}, " \
           f"{e.train_rows:,} rows of about {e.tokens_per_row:g} tokens)"  # fmt: skip
    if e.on_cpu:
        lines = [f"{what}: about {_duration(e.cpu_seconds)} on the Space's CPU, no GPU quota."]
        if not result.fits_today:
            lines.append(f"That is over this Space's limit of {result.max_run_minutes:g} minutes per run: it would "
                         "stop there, keeping its checkpoint.")  # fmt: skip
    else:
        quota = QUOTA_NAMES.get(result.quota_seconds, f"about {result.quota_seconds} s of GPU a day")
        booked = f"about {_duration(e.train_seconds)} of GPU training, {_duration(e.gpu_seconds)} of GPU quota " \
                 "with each call's start and save"  # fmt: skip
        if e.days is None:
            when = "a GPU call needs more than your whole quota, so ZeroGPU cannot book one."
        elif e.slices == 1:
            when = f"{booked}: fits in one GPU call ({quota})."
        elif e.days == 1:
            when = f"{booked} in {e.slices} GPU calls: fits today's GPU quota ({quota})."
        else:
            when = (f"{booked} in {e.slices} GPU calls: about {e.days} days of your GPU quota ({quota}). The run "
                    "pauses when the quota runs out and continues by itself when it comes back.")  # fmt: skip
            if result.pro_days:
                when += f" With PRO: about {result.pro_days} day{'s' if result.pro_days > 1 else ''}."
        lines = [f"{what}: {when}"]
    lines += [f"_{note}._" for note in e.notes]
    if result.options:
        lines.append("**What fits instead:**\n" + "\n".join(f"- {option.text}" for option in result.options))
    return "\n\n".join(lines)
