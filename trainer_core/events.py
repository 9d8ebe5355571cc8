"""The training events, typed once: what ``training.train`` (and the job runner) write to a run's
``events.jsonl`` and what the CLI, the app's run view and the tests read back.

Each event is a ``TypedDict`` (a plain, JSON-ready dict at run time, so the file format is unchanged) whose
``type`` names it. ``EVENT_TYPES`` maps that name to its class; ``check_event`` says what is wrong with a
dict that claims to be an event (the tests run every event of a real run through it).
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] from evaluated annotations.
import typing
from typing import Any, Literal, NotRequired, TypedDict


class PreparedEvent(TypedDict):
    type: Literal["prepared"]
    train_rows: int
    eval_rows: int
    labels: list[str]  # the class names; for a regression, the target column alone
    eval_source: str
    problems: list[dict[str, Any]]
    task_type: NotRequired[str]  # single_label, multi_label or regression (trainer_core.task_types)


class ResumeEvent(TypedDict):
    type: Literal["resume"]
    checkpoint: str


class TrainBeginEvent(TypedDict):
    type: Literal["train_begin"]
    total_steps: int
    epochs: float  # under max_steps: the passes over the training rows those steps begin
    max_steps: NotRequired[bool]  # the steps were given, and override epochs


class ProgressEvent(TypedDict):
    type: Literal["progress"]
    step: int
    total_steps: int
    epoch: float
    elapsed_s: float
    remaining_s: float | None


class LogEvent(TypedDict):
    type: Literal["log"]
    step: int
    loss: float
    learning_rate: NotRequired[float | None]
    epoch: NotRequired[float | None]
    grad_norm: NotRequired[float | None]


class EvalEvent(TypedDict):
    type: Literal["eval"]
    step: int
    epoch: NotRequired[float | None]
    metrics: dict[str, float]  # the declared scores (metrics.registry) plus loss, runtime, ...


class CheckpointEvent(TypedDict):
    type: Literal["checkpoint"]
    step: int
    path: str


class PushEvent(TypedDict):
    """One push's status; "pending": the final push waits for a token that can push (``message`` says why)."""

    type: Literal["push"]
    status: Literal["queued", "started", "done", "failed", "pending"]
    step: NotRequired[int]
    final: NotRequired[bool]
    retry: NotRequired[bool]
    with_step: NotRequired[int]
    repo_id: NotRequired[str]
    error: NotRequired[str]
    message: NotRequired[str]


class StoppingEvent(TypedDict):
    type: Literal["stopping"]
    step: int


class StoppedEvent(TypedDict):
    type: Literal["stopped"]
    reason: str


class PausingEvent(TypedDict):
    type: Literal["pausing"]
    step: int
    reason: str


class PausedEvent(TypedDict):
    type: Literal["paused"]
    step: int
    total_steps: int
    reason: str
    checkpoint: NotRequired[str | None]
    message: NotRequired[str]


class ResumeRequestedEvent(TypedDict):
    type: Literal["resume_requested"]


class SliceEvent(TypedDict):
    """One GPU call of a run trained in slices (ZeroGPU): booked ("waiting"), then "done"."""

    type: Literal["slice"]
    slice: int
    status: Literal["waiting", "done"]
    step: int
    total_steps: int
    seconds: float
    steps: NotRequired[int]


class OomRetryEvent(TypedDict):
    type: Literal["oom_retry"]
    batch_size: int
    gradient_accumulation_steps: int


class LimitEvent(TypedDict):
    type: Literal["limit"]
    limit: str
    step: int
    message: str


class DoneEvent(TypedDict):
    type: Literal["done"]
    result: dict[str, Any]  # TrainResult.to_dict()


class ErrorEvent(TypedDict):
    type: Literal["error"]
    message: str


class RecipeEvent(TypedDict):
    """The defaults chosen for this run (trainer_core.recipe) and the GPU speed settings, each with its reason."""

    type: Literal["recipe"]
    model: str
    choices: list[dict[str, Any]]  # recipe.Choice.to_dict(): option, value, reason
    speed: list[str]


class SearchBeginEvent(TypedDict):
    type: Literal["search_begin"]
    trials: int
    time_budget_s: float | None
    metric: str
    eval_rows: int


class SearchTrialEvent(TypedDict):
    type: Literal["search_trial"]
    trial: int
    params: dict[str, Any]
    objective: float
    metric: str
    seconds: float


class SearchDoneEvent(TypedDict):
    type: Literal["search_done"]
    metric: str
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    best_objective: float | None
    seconds: float
    stopped: bool
    notes: list[str]


Event = (
    PreparedEvent
    | ResumeEvent
    | TrainBeginEvent
    | ProgressEvent
    | LogEvent
    | EvalEvent
    | CheckpointEvent
    | PushEvent
    | StoppingEvent
    | StoppedEvent
    | PausingEvent
    | PausedEvent
    | ResumeRequestedEvent
    | SliceEvent
    | OomRetryEvent
    | LimitEvent
    | DoneEvent
    | ErrorEvent
    | RecipeEvent
    | SearchBeginEvent
    | SearchTrialEvent
    | SearchDoneEvent
)
EVENT_TYPES: dict[str, type] = {
    typing.get_args(typing.get_type_hints(cls)["type"])[0]: cls for cls in typing.get_args(Event)
}


def check_event(event: dict[str, Any]) -> list[str]:
    """What is wrong with ``event`` as its declared type: unknown type, missing or unexpected keys."""
    cls = EVENT_TYPES.get(event.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return [f"unknown event type {event.get('type')!r}"]
    problems = [f"{event['type']}: missing {key!r}" for key in cls.__required_keys__ if key not in event]
    known = cls.__required_keys__ | cls.__optional_keys__
    problems += [f"{event['type']}: unexpected {key!r}" for key in event if key not in known]
    return problems
