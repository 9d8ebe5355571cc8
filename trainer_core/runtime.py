"""Where training runs: hardware detection, the precision that suits it, and ZeroGPU's GPU functions.

On ZeroGPU a GPU is lent per call of a function decorated with ``spaces.GPU``. The functions here are
decorated once, at import, at module level: ``spaces`` sends its start-up report only if one exists when
the app launches, and keeps one wrapper per function, so each call's booking comes from a ``duration``
callable of the same arguments. Off ZeroGPU the decorator is not applied and the functions run in place.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from trainer_core.rundir import STATUS_FILE


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


PERSISTENT_STORAGE = "/data"


def default_home(persistent: str = PERSISTENT_STORAGE) -> str:
    """Where the app keeps runs and uploads: a Space's persistent storage (``/data``) when it has one,
    so runs survive a restart; else ``studio_data`` in the working directory."""
    if on_space() and os.path.isdir(persistent) and os.access(persistent, os.W_OK):
        return os.path.join(persistent, "trainer_studio")
    return "studio_data"


def storage_persists(home: str | os.PathLike[str]) -> bool:
    """Whether runs kept in ``home`` outlive a restart: on a Space only inside its persistent storage (``/data``),
    which an owner adds in the Space's settings; elsewhere the disk stays."""
    if not on_space():
        return True
    resolved = os.path.realpath(home)
    return resolved == PERSISTENT_STORAGE or resolved.startswith(PERSISTENT_STORAGE + os.sep)


def detect_hardware() -> Hardware:
    if on_zero_gpu():
        return Hardware("zerogpu", "ZeroGPU", 1, True)
    import torch

    if torch.cuda.is_available():
        return Hardware("cuda", torch.cuda.get_device_name(0), torch.cuda.device_count(), native_bf16())
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return Hardware("mps", "Apple MPS", 1, False)
    return Hardware("cpu", "CPU", 1, False)


def native_bf16() -> bool:
    """Whether the GPU computes in bf16 itself. A T4 reports bf16 support through emulation, which is
    slower than fp16 there, so emulation does not count."""
    import torch

    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch before 2.3 has no such argument and reports native support only
        return bool(torch.cuda.is_bf16_supported())


def precision_flags(mixed_precision: str) -> dict[str, bool]:
    """TrainingArguments flags for ``mixed_precision``; 'auto' picks bf16 where the GPU has it natively,
    else fp16, on CUDA only.

    bf16/fp16 on a machine without CUDA make TrainingArguments raise, so 'auto' never asks for them there.
    """
    import torch

    cuda = torch.cuda.is_available()
    if mixed_precision == "auto":
        if not cuda:
            return {"bf16": False, "fp16": False}
        return {"bf16": True, "fp16": False} if native_bf16() else {"bf16": False, "fp16": True}
    if mixed_precision == "no":
        return {"bf16": False, "fp16": False}
    return {"bf16": mixed_precision == "bf16", "fp16": mixed_precision == "fp16"}


F = TypeVar("F", bound=Callable[..., Any])


def gpu_function(duration: Callable[..., int]) -> Callable[[F], F]:
    """``spaces.GPU(duration=duration)`` on ZeroGPU, applied at import; nothing elsewhere.

    ``duration`` is called with the function's own arguments and returns this call's booking in seconds.
    """

    def decorate(function: F) -> F:
        if not on_zero_gpu():
            return function
        import spaces

        return spaces.GPU(duration=duration)(function)

    return decorate


# ------------------------------------------------------------------------------ training in slices
# Each call trains for a bounded time, saves a checkpoint and returns; the next call resumes it.
SLICE_OVERHEAD_SECONDS = 25  # per call: worker start, model load, resume, final save
FIRST_SLICE_SECONDS = 45  # the first call's training time, before a step has been measured
MIN_SLICE_SECONDS = 10
MAX_SLICE_SECONDS = 240  # shorter bookings wait less in ZeroGPU's queue and risk less when killed


def slice_booking(run_dir: str, seconds: float, token: str | bool | None = None, steps: int | None = None) -> int:
    """The GPU seconds to book for one ``jobs.train_slice_on_gpu`` call (same arguments): its training time plus
    the set-up and final save, as measured by the run's earlier calls (kept in its status file)."""
    return math.ceil(seconds + slice_overhead(run_dir))


def slice_overhead(run_dir: str) -> float:
    import json

    try:
        with open(os.path.join(run_dir, STATUS_FILE), encoding="utf-8") as handle:
            measured = float(json.load(handle).get("overhead_seconds") or 0.0)
    except (OSError, ValueError):
        measured = 0.0
    return max(SLICE_OVERHEAD_SECONDS, measured * 1.25)


def next_slice_seconds(
    remaining_steps: int,
    step_seconds: float | None,
    *,
    left: int | None = None,
    overhead: float = SLICE_OVERHEAD_SECONDS,
) -> float:
    """Training seconds for the next slice: what the remaining steps need by the measured step time (with
    room for evaluations), within the per-call bounds and within ``left``, the visitor's quota if known."""
    want = FIRST_SLICE_SECONDS if step_seconds is None else remaining_steps * step_seconds * 1.25 + 5
    want = min(MAX_SLICE_SECONDS, max(MIN_SLICE_SECONDS, want))
    if left is not None:
        want = min(want, left - overhead)
    return float(want)


@dataclass(frozen=True)
class GpuRefusal:
    """ZeroGPU did not run (or finish) a call; ``message`` says what the visitor can do."""

    kind: str  # "quota", "space_quota", "queue", "aborted", "duration", "unavailable"
    message: str
    left: int | None = None  # quota seconds the visitor has left, when ZeroGPU says
    resume_at: float | None = None  # epoch seconds when the quota allows another call


_QUOTA_LEFT = re.compile(r"\((\d+)s requested vs\. (\d+)s left\)")
_TRY_AGAIN = re.compile(r"Try again in (?:(\d+) days?, )?(\d+):(\d\d):(\d\d)")


def error_text(err: BaseException) -> str:
    """An exception's message; ``gr.Error`` (what ZeroGPU raises) prints as a repr otherwise."""
    message = getattr(err, "message", None)
    return str(message) if isinstance(message, str) and message else str(err)


# What spaces says when a call came without a visitor's X-IP-Token (an API client, an embedded page): ZeroGPU
# then counts the Space's own quota, tells no time to wait for, and nothing the visitor signs in to changes it.
_NO_IP_TOKEN = ("Space app has reached its GPU limit", "outside of examples")


def space_quota_message() -> str:
    space = os.environ.get("SPACE_ID") or "owner/space"
    return (
        "paused: this Space's own GPU quota is used up. The request reached ZeroGPU without a visitor's X-IP-Token "
        "(API clients and embedded pages send none), so ZeroGPU counted it against the Space, not against yours, "
        "and says no time when it frees up. To train on your own quota, call the Space with your Hugging Face "
        f'token (gradio_client: Client("{space}", token="hf_...")) or open it on huggingface.co, then press '
        "Resume (or call /resume): the run continues from its last checkpoint. Or train on your own hardware "
        "with `python -m trainer_core train` ('Show as CLI / YAML' gives the command)."
    )


def classify_gpu_error(err: BaseException, *, signed_in: bool, now: float | None = None) -> GpuRefusal | None:
    """Turn ZeroGPU's errors into a pause the visitor understands; None for any other error."""
    text = error_text(err)
    now = time.time() if now is None else now
    without_ip_token = any(marker in text for marker in _NO_IP_TOKEN)
    sign_in = "" if signed_in or without_ip_token else " Sign in for more GPU time."
    if _NO_IP_TOKEN[0] in text:
        return GpuRefusal("space_quota", space_quota_message())
    if "GPU task aborted" in text:
        return GpuRefusal(
            "aborted",
            "paused: the GPU call was stopped by the platform before it could save; the run keeps its last "
            "checkpoint. Press Resume to continue from there.",
        )
    if "requested GPU duration" in text and "larger than the maximum" in text:
        return GpuRefusal("duration", "paused: the GPU call asked for more time than ZeroGPU allows.")
    if "No GPU was available" in text:
        return GpuRefusal(
            "queue",
            "paused: no GPU became free in time (the Space is busy). Press Resume to try again." + sign_in,
        )
    if "quota" in text.lower() or "GPU limit" in text or "runs limit" in text:
        left = _QUOTA_LEFT.search(text)
        wait = _TRY_AGAIN.search(text)
        resume_at = None
        if wait:
            days, hours, minutes, seconds = (int(g) if g else 0 for g in wait.groups())
            resume_at = now + ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        when = time.strftime("%H:%M UTC", time.gmtime(resume_at)) if resume_at else "later"
        return GpuRefusal(
            "quota",
            f"paused: GPU quota used up, resumes at {when}." + sign_in,
            left=int(left.group(2)) if left else None,
            resume_at=resume_at,
        )
    if "ZeroGPU" in text or "No GPU" in text:
        return GpuRefusal("unavailable", f"paused: {text} Press Resume to try again.")
    return None
