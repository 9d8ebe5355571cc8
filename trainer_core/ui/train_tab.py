"""Step 2, Train: the form (``form.TRAIN_FORM``) becomes a ``TrainConfig``, a run in the job manager, and a live view.

Runs live in the ``JobManager`` (one directory per run), not in the browser: a follower reads the run's
events and streams curves, progress and log to the page. Closing the tab leaves the run going; reopening
the page lists the visitor's runs, follows a running one again and puts its settings back in the form.

Handlers are module-level functions of ``(ctx, ...)`` that return values keyed by output name
(``OUTPUTS``); ``build`` lays the tab out, binds them and returns a ``TrainTab`` handle.

UI events (undocumented endpoints): ``/ui_train``, ``/ui_attach``, ``/ui_stop``, ``/ui_resume``, ``/ui_runs``,
``/ui_retry_push``, ``/ui_config``. Public API: ``/train``, ``/follow``, ``/stop``, ``/resume``, ``/runs``, ``/push``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import inspect
import itertools
import json
import math
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from trainer_core import jobs as jobs_lib
from trainer_core.config import HubConfig, TrainConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.jobs import FileStopFlag, event_writer
from trainer_core.runtime import storage_persists
from trainer_core.tasks import CUSTOM, get_preset, preset_values
from trainer_core.ui import dataset_tab, form, plots, sources
from trainer_core.ui.common import (
    Header,
    bind,
    caller_identity,
    error_box,
    error_update,
    secret,
    user_error,
    user_message,
    with_parameters,
)
from trainer_core.ui.context import AppContext

POLL_SECONDS = 0.5
LOG_LINES = 200

# The streamed outputs, by name, in the order the UI event lists them.
OUTPUTS = (
    "error",
    "progress",
    "loss_plot",
    "score_plot",
    "log",
    "pushes",
    "result",
    "runs",
    "runs_table",
    "events",
    "start",
    "stop",
    "actions",
    "retry",
    "run_state",
    "resume",
    "loss_points",
    "score_points",
)


@dataclass
class TrainTab:
    """What other tabs need from this one."""

    runs: gr.Dropdown  # the run being followed ("run id")
    run_state: gr.State  # "<run id>:<state>" of the followed run: its change event fires when the run ends
    model: gr.Dropdown
    max_length: gr.Textbox  # empty: the config's default
    widgets: dict[str, gr.Component]  # form key -> widget
    evaluate_button: gr.Button  # shown when the followed run has a model
    demo_button: gr.Button
    next_button: gr.Button


def hardware_defaults(kind: str) -> dict[str, Any]:
    """Form defaults that suit the hardware: small and short on a CPU."""
    if kind == "cpu":
        return {"batch_size": 8, "epochs": 1.0}
    if kind == "mps":
        return {"batch_size": 16, "epochs": 2.0}
    return {"batch_size": 32, "epochs": 3.0}


# ------------------------------------------------------------------------------------------- the config


def build_config(
    ctx: AppContext, identity: str | None, data_values: dict[str, Any], form_values: dict[str, Any]
) -> TrainConfig:
    """The ``TrainConfig`` the Dataset tab and this form describe; InputError names the field at fault."""
    get_preset(data_values.get("task") or CUSTOM)  # an unknown preset name is an InputError
    data = dataset_tab.data_config(ctx, identity, data_values)
    task = dataset_tab.effective_task(data_values, data)
    model = (form_values.get("model") or "").strip()
    if not model:
        raise InputError("Model is empty: choose one, e.g. distilbert-base-uncased.")
    form_values = dict(form_values)
    form_values["model"] = sources.resolve_model(
        model, jobs=ctx.jobs, identity=lambda: identity or "", on_space=ctx.on_space
    )
    return form.build_config(form_values, data, task=task)


def describe_data(ctx: AppContext, values: dict[str, Any], preview: dict[str, Any] | None) -> str:
    """One line above Start: the dataset, columns and rows the run will train on."""
    try:
        data = dataset_tab.data_config(ctx, None, {**values, "source": values.get("source")})
    except StudioError:
        data = None
    name = dataset_tab.display_dataset(values)
    if not name:
        return "**Training data:** none chosen yet: pick one in **1 · Dataset**."
    parts = [f"**Training data:** `{name}`"]
    if values.get("source") == dataset_tab.SOURCE_HUB and values.get("dataset_config"):
        parts.append(f"config `{values['dataset_config']}`")
    parts.append(f"split `{(values.get('split') or 'train').strip()}`")
    columns = (preview or {}).get("columns") or {}
    same = preview and not preview.get("error") and _previewed(preview, name)

    def column(key: str) -> str | None:
        field, spec_key = form.DATA_BY_KEY[key], key.removesuffix("_column")
        chosen = (values.get(key) or "").strip() or (getattr(data, key, None) if data else None)
        if chosen:
            return f"{field.role} `{chosen}`"
        if same and columns.get(spec_key):
            return f"{field.role} `{columns[spec_key]}` (detected)"
        return None if field.optional else f"{field.role} detected when training starts"

    parts += [c for c in map(column, form.COLUMN_KEYS) if c]
    kind = (values.get("task_type") or "").strip() or (same and (preview or {}).get("task_type"))
    if kind and kind != "single_label":
        parts.append({"regression": "a regression", "multi_label": "multi-label"}.get(kind, kind))
    if same:
        rows = (preview.get("splits") or {}).get(preview.get("split"))
        if isinstance(rows, int):
            parts.append(f"{rows:,} rows")
        if preview.get("label_names"):
            parts.append("labels " + ", ".join(f"`{label}`" for label in preview["label_names"]))
    else:
        parts.append("press **Preview** in 1 · Dataset to see its rows")
    return " · ".join(parts) + "."


# ------------------------------------------------------------------------------------------- the plan (ZeroGPU)


_MODEL_CONFIGS: dict[tuple[str, str | None], dict[str, Any]] = {}


def _model_config(model: str, revision: str | None) -> dict[str, Any] | None:
    """A model's config.json (anonymous for a Hub id: the plan needs only its size); None when unreadable.
    Hub models are read once per process; a failure is not kept, so a Hub that was down is asked again."""
    local = Path(model)
    try:
        if local.is_dir():
            return json.loads((local / "config.json").read_text(encoding="utf-8"))
        if (model, revision) not in _MODEL_CONFIGS:
            from huggingface_hub import hf_hub_download

            from trainer_core import hub as hub_lib

            hub_lib.apply_timeouts()
            path = hf_hub_download(model, "config.json", revision=revision, token=False)
            _MODEL_CONFIGS[model, revision] = json.loads(Path(path).read_text(encoding="utf-8"))
        return _MODEL_CONFIGS[model, revision]
    except Exception:  # a private, gated or mistyped model: the plan says it assumed a base-size encoder
        return None


def _rows(config: TrainConfig, preview: dict[str, Any]) -> tuple[int, int, float | None] | None:
    """Training and eval rows and the mean token length the run will have, from the Dataset tab's preview."""
    from trainer_core import recipe

    splits = preview.get("splits") or {}
    rows = splits.get(config.data.train_split)
    if not isinstance(rows, int) or rows < 1:
        if not config.data.max_train_samples:  # a streamed Hub dataset: its size is unknown until read
            return None
        return config.data.max_train_samples, config.data.max_eval_samples or 0, _mean_tokens(preview)
    eval_rows = splits.get(config.data.eval_split) if config.data.eval_split else None
    if not isinstance(eval_rows, int):
        share = config.data.validation_size or recipe.validation_share(rows).value
        eval_rows = math.ceil(rows * share)
        rows -= eval_rows
    if config.data.max_train_samples:
        rows = min(rows, config.data.max_train_samples)
    if config.data.max_eval_samples:
        eval_rows = min(eval_rows, config.data.max_eval_samples)
    return rows, eval_rows, _mean_tokens(preview)


def _mean_tokens(preview: dict[str, Any]) -> float | None:
    mean = (preview.get("token_stats") or {}).get("mean")
    return float(mean) if isinstance(mean, (int, float)) else None


def run_plan(ctx: AppContext, config: TrainConfig, preview: dict[str, Any] | None, *, signed_in: bool) -> Any:
    """What ``config`` will need on ZeroGPU (``trainer_core.plan``), or None without a preview of its data."""
    from trainer_core import limits
    from trainer_core import plan as plan_lib

    caps = limits.current_limits()
    config = limits.check_config(config, caps)  # the Space's row cap applies to the run as it will to the plan
    counted = _rows(config, preview or {})
    if counted is None:
        return None
    train_rows, eval_rows, mean = counted
    model_config = _model_config(config.model.model, config.model.revision)
    t = config.training
    result = plan_lib.plan_run(
        model_config or {},
        train_rows=train_rows,
        eval_rows=eval_rows,
        mean_tokens=mean,
        max_length=config.data.max_length or 128,
        batch_size=t.batch_size,
        epochs=t.epochs,
        max_steps=t.max_steps,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        eval_steps=t.eval_steps,
        quota_seconds=plan_lib.SIGNED_IN_QUOTA_SECONDS if signed_in else plan_lib.ANONYMOUS_QUOTA_SECONDS,
        use_cpu=t.use_cpu,
        cpu_cores=os.cpu_count() or 1,
        max_run_minutes=caps.max_run_minutes,
    )
    if model_config is None:
        note = f"size of {config.model.model} unknown (config.json unreadable): taken as a base-size encoder"
        result = dataclasses.replace(
            result, estimate=dataclasses.replace(result.estimate, notes=(*result.estimate.notes, note))
        )
    return result


def plan_markdown(result: Any, command: str) -> str:
    from trainer_core import plan as plan_lib

    text = plan_lib.describe(result)
    if any(option.kind == "own_hardware" for option in result.options):
        text += f"\n\n```bash\n{command}\n```"
    return text


# The options the plan reads, and those an offered option may change.
PLAN_KEYS = ("model", "epochs", "max_steps", "batch_size", "max_length", "gradient_accumulation_steps", "eval_steps",
             "max_train_samples", "use_cpu")  # fmt: skip
APPLY_KEYS = ("model", "max_steps", "max_train_samples", "use_cpu")


def _shown(key: str, value: Any) -> Any:
    """A value as its widget takes it: the optional numbers are text boxes."""
    return str(value) if form.FORM_BY_KEY[key].optional and form.FORM_BY_KEY[key].kind in ("int", "float") else value


NO_PLAN = "Press **Preview** in 1 · Dataset to see here what this run will need of your GPU quota."


def plan_ui(
    ctx: AppContext, visitor: str | None, preview: Any, data_values: dict[str, Any], form_values: dict[str, Any],
    profile: gr.OAuthProfile | None,
) -> tuple[str, Any, Any]:  # fmt: skip
    """The Train tab's plan line and the choices that fit (``plan_apply`` sets one in the form)."""
    from trainer_core.cli import as_cli_command

    hidden = (gr.update(choices=[], value=None, visible=False), gr.update(visible=False))
    try:
        identity = caller_identity(visitor, profile, None) if visitor or profile else None
        config = build_config(ctx, identity, data_values, form_values)
        name = dataset_tab.display_dataset(data_values)
        same = isinstance(preview, dict) and not preview.get("error") and _previewed(preview, name)
        result = run_plan(ctx, config, preview if same else None, signed_in=profile is not None)
    except StudioError:
        return "", *hidden
    if result is None:
        return NO_PLAN, *hidden
    config.data.dataset = name
    choices = [(option.text, json.dumps(option.change)) for option in result.options if option.change]
    if not choices:
        return plan_markdown(result, as_cli_command(config)), *hidden
    return (
        plan_markdown(result, as_cli_command(config)),
        gr.update(choices=choices, value=None, visible=True),
        gr.update(visible=True),
    )


def plan_apply(choice: str | None) -> dict[str, Any]:
    """The form values an offered option changes (by form key)."""
    if not choice:
        return {}
    change = json.loads(choice)
    return {key: value for key, value in change.items() if key in form.FORM_BY_KEY}


def _previewed(preview: dict[str, Any], name: str) -> bool:
    shown = str(preview.get("dataset") or "")
    return bool(shown) and (shown == name or name.endswith("/" + shown) or shown.endswith(name.split("/")[-1]))


# ------------------------------------------------------------------------------------------- following


class Followers:
    """A page follows one run at a time: a newer follower (Start, picking a run) ends the older one."""

    def __init__(self) -> None:
        self._current: dict[str, int] = {}
        self._tickets = itertools.count(1)

    def take(self, session: str | None) -> tuple[str, int]:
        key, ticket = session or "", next(self._tickets)
        self._current[key] = ticket
        return key, ticket

    def holds(self, key: str, ticket: int) -> bool:
        return self._current.get(key) == ticket

    def release(self, key: str, ticket: int) -> None:
        if self._current.get(key) == ticket:
            del self._current[key]


def runs_update(ctx: AppContext, identity: str, selected: str | None) -> tuple[Any, Any]:
    infos = ctx.jobs.list_runs(identity)
    choices = [(sources.run_name(ctx.jobs, identity, info), info.run_id) for info in infos]  # state: progress line
    return gr.update(choices=choices, value=selected), plots.runs_frame(infos)


LOSS_COLORS = {"train": "#4c78a8", "eval": "#f58518"}


def _step_chart(
    kind: type, y: str, color: str, title: str, elem_id: str, color_map: dict | None = None, *, legend: bool = True
) -> Any:
    return kind(
        None,
        x="step",
        y=y,
        color=color,
        color_map=color_map,
        colors_in_legend=None if legend else [],
        x_axis_format="d",
        title=title,
        height=280,
        visible=False,
        elem_id=elem_id,
    )


def _chart_updates(name: str, frame: Any, series: str, value: str) -> dict[str, Any]:
    """The line chart, or its points twin while a series has a single point (a line chart would hide it)."""
    if frame is None:
        return {f"{name}_plot": gr.update(visible=False), f"{name}_points": gr.update(visible=False)}
    lone = plots.has_lone_point(frame, series, value)
    # Both charts always get the data: the browser's chart keeps what it first drew (its series), so the
    # hidden one must not first draw a run half-way through when it is shown.
    line = gr.update(value=frame, visible=not lone, **plots.axis_limits(frame, value, points=False))
    points = gr.update(value=frame, visible=lone, **plots.axis_limits(frame, value, points=True))
    return {f"{name}_plot": line, f"{name}_points": points}


def token_expiry(oauth_token: gr.OAuthToken | None) -> float | None:
    """When the visitor's sign-in ends (an OAuth token lasts 8 hours); None for a typed token."""
    expires_at = getattr(oauth_token, "expires_at", None) if oauth_token is not None else None
    return float(expires_at) if isinstance(expires_at, (int, float)) else None


def has_ip_token(request: gr.Request | None) -> bool:
    """Whether the request carries ZeroGPU's X-IP-Token (the Hub adds it for a visitor; API clients lack it)."""
    headers = getattr(request, "headers", None) if request is not None else None
    try:
        return bool(headers and headers.get("x-ip-token"))
    except AttributeError:
        return False


def wake(ctx: AppContext, identity: str, token: str | bool | None, oauth_token: Any, request: Any) -> None:
    """The visitor is here: their runs take this request's token and context (``JobManager.wake``)."""
    ctx.jobs.wake(identity, token=token, token_expires_at=token_expiry(oauth_token), ip_token=has_ip_token(request))


def view_updates(info: Any, view: plots.RunView, new: list[dict[str, Any]], stop_set: bool) -> dict[str, Any]:
    active = info.state in plots.ACTIVE_STATES
    ended_with_model = info.state in sources.MODEL_STATES
    failed_push = any(e.get("status") in ("failed", "pending") for e in view.pushes.values())
    progress = _progress_html(view, info)
    if info.state == "queued" and stop_set:
        progress = plots.RunView().progress_html(plots.STOPPING_QUEUED)
    return {
        "progress": progress,
        **_chart_updates("loss", view.loss_frame() if view.loss else None, "split", "loss"),
        **_chart_updates("score", view.score_frame() if view.scores else None, "metric", "value"),
        "log": view.log_text(LOG_LINES),
        "pushes": view.push_markdown(),
        "result": view.result_markdown(info.state),
        "events": {
            "run_id": info.run_id,
            "state": info.state,
            "step": view.step,
            "events": [plots.public_event(e) for e in new],
        },
        "start": gr.update(interactive=not active),
        "stop": gr.update(visible=active and not stop_set),
        "resume": gr.update(visible=info.state in ("paused", "interrupted")),
        "actions": gr.update(visible=ended_with_model),
        "retry": gr.update(visible=not active and failed_push),
        "run_state": f"{info.run_id}:{info.state}",
    }


def _progress_html(view: plots.RunView, info: Any) -> str:
    """The progress bar; a run trained in slices (ZeroGPU) says which slice, and whether it waits or is paused."""
    note = jobs_lib.status_text(info)
    if note is None:
        return view.progress_html(info.state, info.queue_position)
    fraction = info.step / info.total_steps if info.total_steps else 0.0
    return (
        f'<div class="ts-progress" data-state="{html.escape(info.state)}">'
        f'<progress value="{round(fraction * 100)}" max="100" style="width:100%"></progress>'
        f"<div>{html.escape(note)}</div></div>"
    )


async def resume(
    ctx: AppContext, followers: Followers, identity: str, run_id: str | None, token: str | bool | None,
    session: str | None, token_expires_at: float | None = None,
) -> AsyncIterator[dict[str, Any]]:  # fmt: skip
    """Continue a paused (or interrupted) run from its last checkpoint, then follow it."""
    if not run_id:
        raise InputError("No run selected: choose one under 'Your runs'.")
    if not ctx.jobs.resume(identity, run_id, token=token, token_expires_at=token_expires_at):
        state = ctx.jobs.info(identity, run_id).state
        raise InputError(f"Run {run_id} is {state}: only a paused or interrupted run can be resumed.")
    yield {"error": error_update(None)}
    async for updates in follow(ctx, followers, identity, run_id, session):
        yield updates


async def resume_api(
    ctx: AppContext,
    followers: Followers,
    run_id: str,
    token: str | None = None,
    oauth_token: gr.OAuthToken | None = None,
    profile: gr.OAuthProfile | None = None,
    request: gr.Request = None,
) -> AsyncIterator[dict]:
    """Resume one of your paused runs from its last checkpoint and stream it like /train."""
    hf_token = secret(oauth_token, token, ctx)
    try:
        identity = caller_identity(None, profile, request)
        session = getattr(request, "session_hash", None)
        async for updates in resume(ctx, followers, identity, run_id, hf_token, session, token_expiry(oauth_token)):
            if "events" in updates:
                yield updates["events"]
    except StudioError as err:
        raise user_error(err, hf_token, token) from err


async def follow(
    ctx: AppContext, followers: Followers, identity: str, run_id: str, session: str | None
) -> AsyncIterator[dict[str, Any]]:
    """Stream a run's view until it has ended; a finished run streams once."""
    # Per caller and session: a session hash is the client's choice, so alone it would let a stranger who
    # sends the same one end this stream.
    key, ticket = followers.take(f"{identity}|{session or ''}")
    view = plots.RunView()
    last: tuple[Any, ...] | None = None
    try:
        while followers.holds(key, ticket):
            info = ctx.jobs.info(identity, run_id)  # state first: once ended, every event is on disk
            new = ctx.jobs.events(identity, run_id, since=view.count)
            view.add(new)
            stop_set = FileStopFlag(ctx.jobs.run_dir(identity, run_id)).is_set()
            ended = info.state not in plots.ACTIVE_STATES
            state_key = (info.state, info.queue_position, stop_set)
            if new or state_key != last or ended:
                updates = view_updates(info, view, new, stop_set)
                if ended or state_key != last:
                    updates["runs"], updates["runs_table"] = runs_update(ctx, identity, run_id)
                yield updates
            last = state_key
            if ended:
                return
            await asyncio.sleep(POLL_SECONDS)
    finally:
        followers.release(key, ticket)


def restore_form(ctx: AppContext, identity: str, run_id: str) -> dict[str, Any]:
    """A followed run's settings, keyed by data and form keys, to put back in the Dataset and Train forms."""
    try:
        config = ctx.jobs.config(identity, run_id)
    except (StudioError, OSError):
        return {}
    values = dataset_tab.form_for_data(ctx, identity, config.data, config.task)
    return values | form.form_values(config)


# ------------------------------------------------------------------------------------------- handlers


async def start(
    ctx: AppContext,
    followers: Followers,
    identity: str,
    config: TrainConfig,
    token: str | None,
    session: str | None,
    token_expires_at: float | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Start a run for ``identity`` and follow it: the first item is the new run in the runs list."""
    if config.hub.repo_id and not token:
        raise InputError(
            f"Push to Hub repo: pushing to '{config.hub.repo_id}' needs a Hub token with write access: "
            + ("sign in with Hugging Face above." if ctx.on_space else "paste one above or set HF_TOKEN.")
        )
    run_id = ctx.jobs.start(identity, config, token=token, token_expires_at=token_expires_at)
    first = {"error": error_update(None)}
    first["runs"], first["runs_table"] = runs_update(ctx, identity, run_id)
    yield first
    async for updates in follow(ctx, followers, identity, run_id, session):
        yield updates


async def train_ui(
    ctx: AppContext,
    followers: Followers,
    visitor: str | None,
    token: str | None,
    data_values: dict[str, Any],
    form_values: dict[str, Any],
    oauth_token: gr.OAuthToken | None,
    profile: gr.OAuthProfile | None,
    request: gr.Request | None,
) -> AsyncIterator[dict[str, Any]]:
    """Start training from the page's forms; a refused start yields ``{"error": message}`` and runs nothing."""
    hf_token = secret(oauth_token, token, ctx)
    try:
        identity = caller_identity(visitor, profile, None)
        config = build_config(ctx, identity, data_values, form_values)
        session = getattr(request, "session_hash", None)
        async for updates in start(ctx, followers, identity, config, hf_token, session, token_expiry(oauth_token)):
            yield updates
    except StudioError as err:
        message = user_message(err, hf_token, token)
        yield {"error": error_update(message), "events": {"error": message}}


async def attach(
    ctx: AppContext,
    followers: Followers,
    visitor: str | None,
    run_id: str | None,
    profile: gr.OAuthProfile | None,
    request: gr.Request | None,
) -> AsyncIterator[dict[str, Any]]:
    """Follow one of your runs: its settings go back in the form, then its events stream until it ends."""
    yield {"error": error_update(None)}  # a generator that yields nothing clears every output
    if not run_id:
        return
    try:
        identity = caller_identity(visitor, profile, None)
        ctx.jobs.info(identity, run_id)
    except StudioError as err:
        yield {"error": error_update(str(err)), "events": {"error": str(err)}}
        return
    wake(ctx, identity, None, None, request)
    yield {"restore": restore_form(ctx, identity, run_id)}
    async for updates in follow(ctx, followers, identity, run_id, getattr(request, "session_hash", None)):
        yield updates


async def on_load(
    ctx: AppContext,
    followers: Followers,
    visitor: str | None,
    profile: gr.OAuthProfile | None,
    request: gr.Request | None,
    oauth_token: gr.OAuthToken | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """On page load: list the visitor's runs and follow a running one (or the newest). The visitor's first
    visit after a restart (or after their quota came back) resumes their paused runs (``wake``)."""
    yield {"error": gr.skip()}
    if not visitor and profile is None:
        return
    identity = caller_identity(visitor, profile, None)
    wake(ctx, identity, secret(oauth_token, None, ctx), oauth_token, request)
    infos = ctx.jobs.list_runs(identity)
    if not infos:
        return
    chosen = next((info for info in infos if info.state in plots.ACTIVE_STATES), infos[0])
    updates: dict[str, Any] = {"restore": restore_form(ctx, identity, chosen.run_id)}
    updates["runs"], updates["runs_table"] = runs_update(ctx, identity, chosen.run_id)
    yield updates
    async for updates in follow(ctx, followers, identity, chosen.run_id, getattr(request, "session_hash", None)):
        yield updates


def list_runs(ctx: AppContext, visitor: str | None, selected: str | None, profile: gr.OAuthProfile | None = None):
    """Your runs: the dropdown and a table (run, state, model, dataset, steps, metrics, started)."""
    try:
        identity = caller_identity(visitor, profile, None)
    except StudioError as err:
        return gr.skip(), plots.runs_frame([]), error_update(str(err))
    dropdown, table = runs_update(ctx, identity, selected)
    return dropdown, table, error_update(None)


def stop_run(ctx: AppContext, identity: str, run_id: str | None) -> dict[str, Any]:
    """Ask a run to stop after its current step (a queued one will not start); it keeps its last checkpoint."""
    if not run_id:
        raise InputError("No run selected: choose one under 'Your runs'.")
    if not ctx.jobs.stop(identity, run_id):
        raise InputError(f"Run {run_id} is not running ({ctx.jobs.info(identity, run_id).state}).")
    return {"stopped": True, "run_id": run_id}


def stop_ui(ctx: AppContext, visitor: str | None, run_id: str | None, profile: gr.OAuthProfile | None = None):
    try:
        answer = stop_run(ctx, caller_identity(visitor, profile, None), run_id)
    except StudioError as err:
        return error_update(str(err)), {"stopped": False, "run_id": run_id, "error": str(err)}, gr.skip()
    return error_update(None), answer, gr.update(visible=False)


def rename_ui(
    ctx: AppContext, visitor: str | None, run_id: str | None, name: str | None, profile: gr.OAuthProfile | None = None
):
    """Rename the run shown under 'Your runs' (an empty name: model, data and time again)."""
    try:
        if not run_id:
            raise InputError("No run selected: choose one under 'Your runs'.")
        identity = caller_identity(visitor, profile, None)
        sources.rename_run(ctx.jobs, identity, run_id, name)
    except StudioError as err:
        return error_update(str(err)), gr.skip(), gr.skip()
    dropdown, table = runs_update(ctx, identity, run_id)
    return error_update(None), dropdown, table


def delete_ui(ctx: AppContext, visitor: str | None, run_id: str | None, profile: gr.OAuthProfile | None = None):
    """Delete the run shown under 'Your runs' with its model; the view goes back to idle."""
    try:
        if not run_id:
            raise InputError("No run selected: choose one under 'Your runs'.")
        identity = caller_identity(visitor, profile, None)
        sources.delete_run(ctx.jobs, identity, run_id)
    except StudioError as err:
        return (error_update(str(err)), *[gr.skip()] * 8)
    dropdown, table = runs_update(ctx, identity, None)
    idle = plots.RunView()
    return (
        error_update(None),
        dropdown,
        table,
        idle.progress_html("idle"),
        gr.update(value=None, visible=False),
        gr.update(value=None, visible=False),
        gr.update(value=None, visible=False),
        gr.update(value=None, visible=False),
        gr.update(visible=False),
    )


def retry_push(
    ctx: AppContext,
    visitor: str | None,
    token: str | None = None,
    run_id: str | None = None,
    repo_id: str | None = None,
    private: bool | None = None,
    oauth_token: gr.OAuthToken | None = None,
    profile: gr.OAuthProfile | None = None,
    request: gr.Request = None,
):
    """Push a finished (or stopped) run's model to the Hub again (after a failed or a pending push)."""
    from trainer_core import hub as hub_lib

    hf_token = secret(oauth_token, token, ctx)
    try:
        if not run_id:
            raise InputError("No run selected: choose one under 'Your runs'.")
        identity = caller_identity(visitor, profile, request)
        info = ctx.jobs.info(identity, run_id)
        if info.state not in sources.MODEL_STATES:
            raise InputError(f"Run {run_id} is {info.state}: only a finished or stopped run can be pushed.")
        target = (repo_id or "").strip() or info.repo_id
        if not target:
            raise InputError("Push to Hub repo is empty: give the repo to push to (name or user/name).")
        HubConfig(repo_id=target)  # checks the id's form
        model_dir = ctx.jobs.model_dir(identity, run_id)
        if not (model_dir / "config.json").is_file():
            raise InputError(f"Run {run_id} has no saved model to push.")
        full = hub_lib.check_write_access(target, hf_token)
        # The run's push status is the truth: the retry's outcome replaces the final model's.
        record = event_writer(ctx.jobs.run_dir(identity, run_id))
        try:
            url = hub_lib.push_folder(model_dir, full, hf_token, private=bool(private))
        except StudioError as err:
            record({"type": "push", "status": "failed", "final": True, "retry": True,
                    "error": user_message(err, hf_token, token)})  # fmt: skip
            raise
        record({"type": "push", "status": "done", "final": True, "retry": True, "repo_id": full})
        hub_lib.record_push(model_dir, full)
    except StudioError as err:
        message = user_message(err, hf_token, token)
        return f"❌ Push failed: {message}", {"pushed": False, "error": message}
    return f"✅ Pushed {run_id} to [{full}](https://huggingface.co/{full}).", {
        "pushed": True,
        "repo_id": full,
        "url": url,
    }


def push_api(
    ctx: AppContext,
    run_id: str,
    repo_id: str | None = None,
    private: bool = False,
    token: str | None = None,
    oauth_token: gr.OAuthToken | None = None,
    profile: gr.OAuthProfile | None = None,
    request: gr.Request = None,
) -> dict:
    """Push one of your finished runs to the Hub, again after a failed or pending push (repo: the run's own)."""
    _note, answer = retry_push(ctx, None, token, run_id, repo_id, private, oauth_token, profile, request)
    if not answer.get("pushed"):
        raise gr.Error(answer.get("error") or "The push failed.", duration=None)
    return answer


def show_as_cli(
    ctx: AppContext, visitor: str | None, data_values: dict[str, Any], form_values: dict[str, Any], profile: Any
):
    """The current form as a `python -m trainer_core train` command and as YAML."""
    from trainer_core.cli import as_cli_command

    try:
        identity = caller_identity(visitor, profile, None)
        config = build_config(ctx, identity, data_values, form_values)
    except StudioError as err:
        return error_update(str(err)), gr.skip(), gr.skip(), gr.skip()
    config.data.dataset = dataset_tab.display_dataset(data_values)
    return error_update(None), as_cli_command(config), config.to_yaml(), gr.update(open=True)


# ------------------------------------------------------------------------------------------- public API


def _api_parameters() -> list[inspect.Parameter]:
    """/train's parameters: the dataset, then every form field with its config default, then extras."""
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = form.data_parameters()
    defaults = form.form_defaults({"model": form.MODEL_CHOICES[0]})
    params += [
        inspect.Parameter(f.key, keyword, default=defaults[f.key], annotation=f.python_type) for f in form.TRAIN_FORM
    ]
    params += [
        inspect.Parameter("config", keyword, default=None, annotation=dict | None),
        inspect.Parameter("token", keyword, default=None, annotation=str | None),
        inspect.Parameter("oauth_token", keyword, default=None, annotation=gr.OAuthToken | None),
        inspect.Parameter("profile", keyword, default=None, annotation=gr.OAuthProfile | None),
        inspect.Parameter("request", keyword, default=None, annotation=gr.Request),
    ]
    return params


def api_config(ctx: AppContext, identity: str, values: dict[str, Any]) -> TrainConfig:
    """The config of an API call: a whole ``config`` dict (as in a YAML file), or named options."""
    whole = values.pop("config", None)
    if whole:
        return TrainConfig.from_dict(whole)
    dataset = (values.pop("dataset") or "").strip()
    data_values = {
        "source": dataset_tab.SOURCE_HUB,
        "dataset": dataset,
        **{key: values.pop(key, None) for key in dataset_tab.DATA_KEYS if key not in ("source", "dataset")},
    }
    if dataset.startswith(sources.EXAMPLE_PREFIX):
        data_values |= {"source": dataset_tab.SOURCE_EXAMPLE, "example": dataset[len(sources.EXAMPLE_PREFIX) :]}
    elif dataset.startswith(sources.PRESET_PREFIX):
        preset = get_preset(dataset[len(sources.PRESET_PREFIX) :])
        filled = preset_values(preset)
        data_values |= {"dataset": filled["dataset"], "dataset_config": filled["dataset_config"], "task": preset.name}
    return build_config(ctx, identity, data_values, values)


def make_train_api(ctx: AppContext, followers: Followers):
    async def train(**values: Any) -> AsyncIterator[dict]:
        """Train a model and stream the run: each item is {"run_id", "state", "step", "events": [new]}.

        dataset: 'example:sentiment', 'example:paraphrase', 'preset:sst2' (any preset), a Hub dataset id,
        or (off a Space) a local file. task_type: single_label, multi_label or regression (empty: detected);
        label_separator: between the labels of a multi-label text cell. Every training option has the config's
        default; or give one `config` dict with the sections of a YAML config file. You are identified by the
        cookie the app gives your client (or your Hugging Face sign-in): /follow, /stop and /runs see the runs of
        the same client.
        """
        request, profile, oauth_token = values.pop("request"), values.pop("profile"), values.pop("oauth_token")
        typed = values.pop("token")
        hf_token = secret(oauth_token, typed, ctx)
        try:
            identity = caller_identity(None, profile, request)
            config = api_config(ctx, identity, values)
            # Keyed by the caller's session too: with None, two streams of one caller would end each other.
            session = getattr(request, "session_hash", None)
            async for updates in start(ctx, followers, identity, config, hf_token, session, token_expiry(oauth_token)):
                if "events" in updates:
                    yield updates["events"]
        except StudioError as err:
            raise user_error(err, hf_token, typed) from err

    return with_parameters(train, _api_parameters(), returns=dict)


def make_plan_api(ctx: AppContext):
    def plan(**values: Any) -> dict:
        """What a run with these options will need on ZeroGPU before you start it (as for /train): optimizer steps,
        GPU seconds, GPU calls and days of your daily quota, and what fits today instead. Off ZeroGPU:
        {"plan": null}. The dataset is read (as /preview does) to count its rows and token lengths."""
        from trainer_core.cli import as_cli_command

        request, profile, oauth_token = values.pop("request"), values.pop("profile"), values.pop("oauth_token")
        typed = values.pop("token")
        hf_token = secret(oauth_token, typed, ctx)
        dataset = values.get("dataset")
        try:
            identity = caller_identity(None, profile, request)
            config = api_config(ctx, identity, values)
            if ctx.hardware.kind != "zerogpu":
                return {"plan": None, "text": "Not on ZeroGPU: runs here use no GPU quota.", "command": None}
            preview = _preview_of(config, hf_token)
            # A Hugging Face token (or sign-in) tells ZeroGPU whose quota to count: a signed-in visitor's.
            result = run_plan(ctx, config, preview, signed_in=profile is not None or bool(hf_token))
        except StudioError as err:
            raise user_error(err, hf_token, typed) from err
        if result is None:
            return {"plan": None, "text": "The dataset's number of rows is unknown (a streamed Hub dataset): set "
                    "max_train_samples to plan the run.", "command": None}  # fmt: skip
        config.data.dataset = dataset or config.data.dataset
        command = as_cli_command(config)
        return {"plan": result.to_dict(), "text": plan_markdown(result, command), "command": command}

    return with_parameters(plan, _api_parameters(), returns=dict)


def _preview_of(config: TrainConfig, token: str | bool | None) -> dict[str, Any]:
    """The rows and token lengths of a run's data, as the Dataset tab's preview counts them."""
    from trainer_core.stack import load_stack

    load_stack()
    from trainer_core import data as data_lib
    from trainer_core.modeling import load_tokenizer
    from trainer_core.tasks import resolve_data

    preset = get_preset(config.task)
    cfg = resolve_data(config.data, preset)
    try:
        tokenizer = load_tokenizer(config.model.model, token, config.model.revision)
    except StudioError:
        tokenizer = None  # lengths then unknown: the plan says it took every row at max_length
    result = data_lib.preview(cfg, split=cfg.train_split, rows=dataset_tab.PREVIEW_ROWS, tokenizer=tokenizer,
                              preset=preset, token=token)  # fmt: skip
    return result.to_dict()


async def follow_api(
    ctx: AppContext,
    followers: Followers,
    run_id: str,
    profile: gr.OAuthProfile | None = None,
    request: gr.Request = None,
) -> AsyncIterator[dict]:
    """Stream one of your runs (all its events, then new ones) until it ends."""
    try:
        identity = caller_identity(None, profile, request)
        ctx.jobs.info(identity, run_id)
    except StudioError as err:
        raise user_error(err) from err
    wake(ctx, identity, None, None, request)
    async for updates in follow(ctx, followers, identity, run_id, None):
        yield updates["events"]


def stop_api(ctx: AppContext, run_id: str, profile: gr.OAuthProfile | None = None, request: gr.Request = None) -> dict:
    """Stop one of your runs after its current step (it keeps its last checkpoint)."""
    try:
        return stop_run(ctx, caller_identity(None, profile, request), run_id)
    except StudioError as err:
        raise user_error(err) from err


def runs_api(ctx: AppContext, profile: gr.OAuthProfile | None = None, request: gr.Request = None) -> list:
    """Your runs, newest first: id, state, model, dataset, steps and final metrics."""
    try:
        identity = caller_identity(None, profile, request)
    except StudioError as err:
        raise user_error(err) from err
    wake(ctx, identity, None, None, request)
    return [
        {
            "run_id": info.run_id,
            "name": sources.run_name(ctx.jobs, identity, info),
            "state": info.state,
            "model": sources.short_name(info.model),
            "dataset": sources.short_name(info.dataset),
            "step": info.step,
            "total_steps": info.total_steps,
            "metrics": info.metrics,
            "error": info.error,
        }
        for info in ctx.jobs.list_runs(identity)
    ]


# ------------------------------------------------------------------------------------------- layout


def _widget(f: form.FormField, value: Any) -> gr.Component:
    """The widget for one form field, from its kind, limits and choices. Numbers carry no `minimum=`:
    gradio would refuse an out-of-range value with a message that names no field; the form does it."""
    common = {"label": f.label, "info": f.info(), "elem_id": f"train-{f.key.replace('_', '-')}"}
    if f.kind == "bool":
        return gr.Checkbox(value=bool(value), **common)
    if f.kind == "list":
        return gr.Dropdown(list(f.allowed), value=list(value or []), multiselect=True, **common)
    if f.allowed:
        auto = [("auto", "")] if f.optional else []  # None in the config: its own (automatic) choice
        return gr.Dropdown(auto + [(c, c) for c in f.allowed], value=value or "", **common)
    if f.suggestions:
        return gr.Dropdown(list(f.suggestions), value=value or f.suggestions[0], allow_custom_value=True, **common)
    if f.kind in ("int", "float"):
        if f.optional:
            # A text box, because a gr.Number cannot stay empty (it shows and sends 0): left empty, the config
            # decides (None: its default or "auto"); anything typed is checked by the form, naming the field.
            return gr.Textbox(value="" if value is None else str(value), placeholder="auto", max_lines=1, **common)
        if f.kind == "float" and f.minimum == 0 and f.maximum is not None and 0.5 <= f.maximum <= 1:
            # A share (warmup): the page's slider cannot leave its range; API callers get the form's check.
            return gr.Slider(f.minimum, f.maximum, value=value, step=0.01, **common)
        # No precision=0 for whole numbers either: gradio would round 1.5 to 2 without a word.
        return gr.Number(value=value, **common)
    return gr.Textbox(value=value or "", **common)


def _pairs(fields: list[form.FormField]) -> list[list[form.FormField]]:
    return [fields[i : i + 2] for i in range(0, len(fields), 2)]


def build(ctx: AppContext, header: Header, data: dataset_tab.DatasetTab) -> TrainTab:
    # Hardware defaults fill only options that have no automatic choice of their own (None = auto).
    by_hardware = {k: v for k, v in hardware_defaults(ctx.hardware.kind).items() if not form.FORM_BY_KEY[k].optional}
    defaults = form.form_defaults(by_hardware)
    followers = Followers()

    gr.Markdown(
        "**Step 2 of 4 · Train.** Check the data line below, choose a model and press **Start training**. "
        "The run goes on if you close the page; come back to follow it.",
        elem_classes=["ts-step"],
    )
    if not ctx.hardware.is_gpu:
        sizes = ", ".join(
            f"{form.FORM_BY_KEY[k].label.lower()} {defaults[k]:g}" for k in ("batch_size", "epochs") if defaults[k]
        )
        gr.Markdown(
            "**Running on CPU.** Training works but is slow: "
            + (f"the defaults here are small ({sizes}); " if sizes else "options left empty are chosen for it; ")
            + "keep the dataset small or set max steps.",
            elem_id="train-cpu-notice",
        )
    else:
        gr.Markdown(f"Training on **{ctx.hardware.describe()}**.", elem_id="train-hardware")
    if ctx.on_space and not storage_persists(ctx.jobs.root):
        gr.Markdown(
            "**This Space has no persistent storage:** your runs, their checkpoints and paused runs are lost when "
            "it restarts or goes to sleep (after a while without visitors). Push a finished model to the Hub to "
            "keep it. The Space's owner can add persistent storage in its Settings: runs then live in `/data` "
            "and paused runs continue after a restart.",
            elem_id="train-storage-notice",
        )
    data_line = gr.Markdown(elem_id="train-data")
    on_zero_gpu = ctx.hardware.kind == "zerogpu"
    if on_zero_gpu:  # what the run will need of the visitor's GPU quota, and what fits instead
        plan_line = gr.Markdown(NO_PLAN, elem_id="train-plan")
        with gr.Row():
            fit_choice = gr.Radio([], label="Make it fit", visible=False, elem_id="train-fit", scale=4)
            fit_apply = gr.Button("Apply to the form", visible=False, elem_id="train-fit-apply", scale=1)

    widgets: dict[str, gr.Component] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            # The model on a row of its own: a Hub id needs the width. Start comes before More options, so
            # opening those ~20 fields never pushes it out of sight; they are laid out two by two.
            main = [f for f in form.TRAIN_FORM if f.group == form.MAIN]
            hub = [f for f in form.TRAIN_FORM if f.group == form.HUB]
            for fields in [main[:1], *_pairs(main[1:]), *_pairs(hub)]:
                with gr.Row():
                    for f in fields:
                        widgets[f.key] = _widget(f, defaults[f.key])
            with gr.Row():
                start_button = gr.Button("Start training", variant="primary", elem_id="train-start")
                stop_button = gr.Button("Stop", variant="stop", visible=False, elem_id="train-stop")
                resume_button = gr.Button("Resume", visible=False, elem_id="train-resume")
                show_config = gr.Button("Show as CLI / YAML", elem_id="train-show-config")
            errors = error_box("train-error")
            notice = gr.Markdown(elem_id="train-notice")
            with gr.Accordion("More options", open=False):
                for fields in _pairs([f for f in form.TRAIN_FORM if f.group == form.MORE]):
                    with gr.Row():
                        for f in fields:
                            widgets[f.key] = _widget(f, defaults[f.key])
            with gr.Accordion("Command line and YAML", open=False) as config_panel:
                cli_code = gr.Code(language="shell", label="CLI", interactive=False, elem_id="train-cli")
                yaml_code = gr.Code(language="yaml", label="config.yaml", interactive=False, elem_id="train-yaml")
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                runs = gr.Dropdown(
                    [],
                    value=None,
                    label="Your runs",
                    info="Pick one to follow it or see its curves. Runs go on when you close the page.",
                    elem_id="train-runs",
                    allow_custom_value=True,  # API callers name a run by id; ownership is checked per call
                    scale=4,
                )
                refresh = gr.Button("Refresh", scale=1, min_width=80, elem_id="train-refresh")
            with gr.Accordion("Rename or delete this run", open=False), gr.Row():
                run_name_box = gr.Textbox(
                    label="Run name",
                    placeholder="e.g. reviews, lr 3e-5",
                    info="Empty: model, data and start time.",
                    scale=3,
                    elem_id="train-run-name",
                )
                rename_button = gr.Button("Rename", scale=1, min_width=80, elem_id="train-rename")
                delete_button = gr.Button(
                    "Delete run", variant="stop", size="sm", scale=1, min_width=80, elem_id="train-delete"
                )
            progress = gr.HTML(plots.RunView().progress_html("idle"), elem_id="train-progress")
            with gr.Row(visible=False) as actions:
                # Wide enough for their labels on one line: the row wraps instead of each button's text.
                evaluate_button = gr.Button(
                    "Evaluate this run →", variant="primary", min_width=200, elem_id="train-evaluate"
                )
                demo_button = gr.Button("Try it in the Demo →", min_width=200, elem_id="train-demo")
                push_button = gr.Button("Push to the Hub", min_width=200, elem_id="train-push")
            with gr.Row():
                # Each chart twice: as lines, and as points while a series has one point (a line chart hides it).
                with gr.Column(min_width=260):
                    loss_plot, loss_points = (
                        _step_chart(kind, "loss", "split", "Loss", "train-loss" + suffix, LOSS_COLORS)
                        for kind, suffix in ((gr.LinePlot, ""), (gr.ScatterPlot, "-points"))
                    )
                # The metrics' legend is HTML under the chart: the chart's own is one line, wider than the chart
                # at its usual width. CSS shows it only while one of the two charts is on the page.
                with gr.Column(min_width=260, elem_id="train-metrics-box"):
                    colors = plots.metric_colors()
                    score_plot, score_points = (
                        _step_chart(
                            kind, "value", "metric", "Eval metrics", f"train-metrics{suffix}", colors, legend=False
                        )
                        for kind, suffix in ((gr.LinePlot, ""), (gr.ScatterPlot, "-points"))
                    )
                    gr.HTML(plots.metric_legend_html(), elem_id="train-metrics-legend")
            result_md = gr.Markdown(elem_id="train-result")
            pushes_md = gr.Markdown(elem_id="train-pushes")
            retry = gr.Button("Retry push", size="sm", visible=False, elem_id="train-retry-push")
            log = gr.Textbox(
                label="Log", lines=10, max_lines=10, interactive=False, autoscroll=True, elem_id="train-log"
            )
            next_button = gr.Button("Next: Evaluate →", elem_id="train-next")
            with gr.Accordion("Your runs as a table", open=False):
                runs_table = gr.Dataframe(
                    plots.runs_frame([]), interactive=False, label="Runs", elem_id="train-runs-table"
                )
            with gr.Accordion("Raw events", open=False):
                events_json = gr.JSON(label="Events", elem_id="train-events")

    run_state = gr.State("")
    components = {
        "run_state": run_state,
        "error": errors,
        "progress": progress,
        "loss_plot": loss_plot,
        "score_plot": score_plot,
        "loss_points": loss_points,
        "score_points": score_points,
        "log": log,
        "pushes": pushes_md,
        "result": result_md,
        "runs": runs,
        "runs_table": runs_table,
        "events": events_json,
        "start": start_button,
        "stop": stop_button,
        "resume": resume_button,
        "actions": actions,
        "retry": retry,
    }
    data_inputs = [data.inputs[key] for key in dataset_tab.DATA_KEYS]
    form_keys = [f.key for f in form.TRAIN_FORM]
    form_inputs = [widgets[key] for key in form_keys]
    restorable = {**data.inputs, **widgets}
    stream_outputs = [components[name] for name in OUTPUTS] + list(restorable.values())

    def to_components(updates: dict[str, Any]) -> dict[Any, Any]:
        out = {components[name]: value for name, value in updates.items() if name in components}
        for key, value in (updates.get("restore") or {}).items():
            if key in restorable:
                out[restorable[key]] = value
        return out

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    specials = [
        inspect.Parameter("oauth_token", keyword, default=None, annotation=gr.OAuthToken | None),
        inspect.Parameter("profile", keyword, default=None, annotation=gr.OAuthProfile | None),
        inspect.Parameter("request", keyword, default=None, annotation=gr.Request),
    ]
    form_params = [
        inspect.Parameter("visitor", keyword, default=None, annotation=str | None),
        inspect.Parameter("token", keyword, default=None, annotation=str | None),
        *[inspect.Parameter(key, keyword, default=None, annotation=Any) for key in dataset_tab.DATA_KEYS],
        *[inspect.Parameter(key, keyword, default=None, annotation=Any) for key in form_keys],
    ]

    def split_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        data_values = {key: values[key] for key in dataset_tab.DATA_KEYS}
        form_values = {key: values[key] for key in form_keys}
        return data_values, form_values

    async def train_event(**values: Any):
        data_values, form_values = split_values(values)
        async for updates in train_ui(
            ctx, followers, values["visitor"], values["token"], data_values, form_values,
            values["oauth_token"], values["profile"], values["request"],
        ):  # fmt: skip
            yield to_components(updates)

    def config_event(**values: Any):
        data_values, form_values = split_values(values)
        return show_as_cli(ctx, values["visitor"], data_values, form_values, values["profile"])

    async def attach_event(
        visitor: str | None, run_id: str | None, profile: gr.OAuthProfile | None, request: gr.Request
    ):
        async for updates in attach(ctx, followers, visitor, run_id, profile, request):
            yield to_components(updates)

    async def resume_event(
        visitor: str | None,
        token: str | None,
        run_id: str | None,
        oauth_token: gr.OAuthToken | None,
        profile: gr.OAuthProfile | None,
        request: gr.Request,
    ):
        hf_token = secret(oauth_token, token, ctx)
        try:
            identity = caller_identity(visitor, profile, None)
            session = getattr(request, "session_hash", None)
            async for updates in resume(ctx, followers, identity, run_id, hf_token, session, token_expiry(oauth_token)):
                yield to_components(updates)
        except StudioError as err:
            message = user_message(err, hf_token, token)
            yield to_components({"error": error_update(message), "events": {"error": message}})

    async def load_event(
        visitor: str | None, profile: gr.OAuthProfile | None, request: gr.Request, oauth_token: gr.OAuthToken | None
    ):
        async for updates in on_load(ctx, followers, visitor, profile, request, oauth_token):
            yield to_components(updates)

    start_button.click(
        with_parameters(train_event, form_params + specials),
        [header.visitor, header.token, *data_inputs, *form_inputs],
        stream_outputs,
        api_name="ui_train",
        api_visibility="undocumented",
        concurrency_limit=None,
        show_progress="hidden",
    )
    runs.input(
        attach_event,
        [header.visitor, runs],
        stream_outputs,
        api_name="ui_attach",
        api_visibility="undocumented",
        concurrency_limit=None,
        show_progress="hidden",
    )
    gr.context.Context.root_block.load(
        load_event,
        [header.visitor],
        stream_outputs,
        api_visibility="private",
        concurrency_limit=None,
        show_progress="hidden",
    )
    refresh.click(
        bind(ctx, list_runs),
        [header.visitor, runs],
        [runs, runs_table, errors],
        api_name="ui_runs",
        api_visibility="undocumented",
    )
    stop_button.click(
        bind(ctx, stop_ui),
        [header.visitor, runs],
        [errors, events_json, stop_button],
        api_name="ui_stop",
        api_visibility="undocumented",
        concurrency_limit=None,
    )
    resume_button.click(
        resume_event,
        [header.visitor, header.token, runs],
        stream_outputs,
        api_name="ui_resume",
        api_visibility="undocumented",
        concurrency_limit=None,
        show_progress="hidden",
    )
    rename_button.click(
        bind(ctx, rename_ui), [header.visitor, runs, run_name_box], [errors, runs, runs_table], api_visibility="private"
    )
    delete_button.click(
        bind(ctx, delete_ui),
        [header.visitor, runs],
        [errors, runs, runs_table, progress, loss_plot, score_plot, loss_points, score_points, actions],
        api_visibility="private",
    )
    retry_inputs = [header.visitor, header.token, runs, widgets["repo_id"], widgets["private"]]
    for button in (retry, push_button):
        button.click(
            bind(ctx, retry_push),
            retry_inputs,
            [notice, events_json],
            api_name="ui_retry_push" if button is retry else None,
            api_visibility="undocumented" if button is retry else "private",
        )
    show_config.click(
        with_parameters(config_event, form_params + specials[1:2]),
        [header.visitor, header.token, *data_inputs, *form_inputs],
        [errors, cli_code, yaml_code, config_panel],
        api_name="ui_config",
        api_visibility="undocumented",
    )

    # What will be trained on, kept in step with the Dataset tab.
    def data_event(preview: Any, *values: Any) -> str:
        return describe_data(ctx, dict(zip(dataset_tab.DATA_KEYS, values, strict=True)), preview)

    describe_inputs = [data.preview, *data_inputs]
    for component in describe_inputs:
        component.change(data_event, describe_inputs, data_line, api_visibility="private", queue=False)
    gr.context.Context.root_block.load(data_event, describe_inputs, data_line, api_visibility="private", queue=False)

    if on_zero_gpu:

        def plan_event(**values: Any):
            data_values, form_values = split_values(values)
            return plan_ui(ctx, values["visitor"], values["preview"], data_values, form_values, values["profile"])

        plan_params = [
            form_params[0],
            inspect.Parameter("preview", keyword, default=None, annotation=Any),
            *form_params[2:],
            specials[1],
        ]
        plan_handler = with_parameters(plan_event, plan_params)
        plan_inputs = [header.visitor, data.preview, *data_inputs, *form_inputs]
        plan_outputs = [plan_line, fit_choice, fit_apply]
        for component in (data.preview, *(widgets[key] for key in PLAN_KEYS)):
            component.change(plan_handler, plan_inputs, plan_outputs, api_visibility="private",
                             trigger_mode="always_last", show_progress="hidden")  # fmt: skip
        gr.context.Context.root_block.load(plan_handler, plan_inputs, plan_outputs, api_visibility="private")
        applied = [widgets[key] for key in APPLY_KEYS]

        def apply_event(choice: str | None):
            return {widgets[key]: _shown(key, value) for key, value in plan_apply(choice).items() if key in APPLY_KEYS}

        fit_apply.click(apply_event, fit_choice, applied, api_visibility="private")

    gr.api(make_train_api(ctx, followers), api_name="train", concurrency_limit=None)
    gr.api(make_plan_api(ctx), api_name="plan", concurrency_limit=None)
    gr.api(bind_followers(ctx, followers, follow_api), api_name="follow", concurrency_limit=None)
    gr.api(bind(ctx, stop_api), api_name="stop", concurrency_limit=None)
    gr.api(bind_followers(ctx, followers, resume_api), api_name="resume", concurrency_limit=None)
    gr.api(bind(ctx, runs_api), api_name="runs")
    gr.api(bind(ctx, push_api), api_name="push")

    return TrainTab(
        runs=runs,
        run_state=run_state,
        model=widgets["model"],
        max_length=widgets["max_length"],
        widgets=widgets,
        evaluate_button=evaluate_button,
        demo_button=demo_button,
        next_button=next_button,
    )


def bind_followers(ctx: AppContext, followers: Followers, fn: Any) -> Any:
    """``fn(ctx, followers, ...)`` as a gradio handler (see ``common.bind``)."""
    params = list(inspect.signature(fn).parameters.values())[2:]

    async def handler(*args: Any) -> AsyncIterator[dict]:
        async for item in fn(ctx, followers, *args):
            yield item

    handler.__name__ = fn.__name__.removesuffix("_api")
    handler.__doc__ = fn.__doc__
    handler.__signature__ = inspect.Signature(params, return_annotation=dict)
    handler.__annotations__ = {p.name: p.annotation for p in params} | {"return": dict}
    return handler
