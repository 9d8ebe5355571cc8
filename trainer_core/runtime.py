"""Where training runs: hardware detection and the precision that suits it."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hardware:
    kind: str  # "zerogpu", "cuda", "mps" or "cpu"
    name: str
    devices: int
    bf16: bool

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("zerogpu", "cuda", "mps")

    def describe(self) -> str:
        if self.kind == "zerogpu":
            return "ZeroGPU (a GPU is attached for each training call)"
        if self.kind == "cuda":
            count = f"{self.devices} x " if self.devices > 1 else ""
            return f"CUDA GPU: {count}{self.name}"
        if self.kind == "mps":
            return "Apple GPU (MPS)"
        return "CPU only: training works but is slow; keep models and datasets small."


def on_space() -> bool:
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("SYSTEM") == "spaces"


def on_zero_gpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def detect_hardware() -> Hardware:
    if on_zero_gpu():
        return Hardware("zerogpu", "ZeroGPU", 1, True)
    import torch

    if torch.cuda.is_available():
        return Hardware(
            "cuda", torch.cuda.get_device_name(0), torch.cuda.device_count(), torch.cuda.is_bf16_supported()
        )
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return Hardware("mps", "Apple MPS", 1, False)
    return Hardware("cpu", "CPU", 1, False)


def precision_flags(mixed_precision: str) -> dict[str, bool]:
    """TrainingArguments flags for ``mixed_precision``; 'auto' picks bf16, then fp16, on CUDA only.

    bf16/fp16 on a machine without CUDA make TrainingArguments raise, so 'auto' never asks for them there.
    """
    import torch

    cuda = torch.cuda.is_available()
    if mixed_precision == "auto":
        if not cuda:
            return {"bf16": False, "fp16": False}
        return {"bf16": True, "fp16": False} if torch.cuda.is_bf16_supported() else {"bf16": False, "fp16": True}
    if mixed_precision == "no":
        return {"bf16": False, "fp16": False}
    return {"bf16": mixed_precision == "bf16", "fp16": mixed_precision == "fp16"}


# ZeroGPU caps a single call; longer requests also wait longer in its queue.
MAX_GPU_SECONDS = 1500
MIN_GPU_SECONDS = 60


def estimate_gpu_seconds(config: Any, train_rows: int | None = None) -> int:
    """A generous guess of a run's GPU time, for ``spaces.GPU(duration=...)``.

    Based on steps and tokens per step with a throughput typical of a BERT-base on an A100-class GPU,
    plus a fixed allowance for loading the model and the per-epoch evaluations.
    """
    t = config.training
    # Unset options are chosen when the run starts (trainer_core.recipe); guess with the usual ones.
    batch, epochs = t.batch_size or 32, t.epochs or 3.0
    steps = t.max_steps if t.max_steps > 0 else math.ceil((train_rows or 10000) / batch) * max(epochs, 1)
    tokens_per_step = batch * (config.data.max_length or 256) * 0.6
    seconds = 45 + steps * tokens_per_step / 60_000
    return int(min(MAX_GPU_SECONDS, max(MIN_GPU_SECONDS, seconds * 1.5)))


def run_on_gpu(function: Callable[..., Any], config: Any, *args: Any) -> Any:
    """Call ``function(config, *args)``; on ZeroGPU inside ``spaces.GPU`` with an estimated duration."""
    if not on_zero_gpu():
        return function(config, *args)
    import spaces

    wrapped = spaces.GPU(duration=estimate_gpu_seconds(config))(function)
    return wrapped(config, *args)
