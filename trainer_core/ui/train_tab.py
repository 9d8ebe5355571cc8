"""Train tab: a form that becomes a ``TrainConfig``, a run in the job manager, and a live view of it.

Runs live in the ``JobManager`` (threads, one directory per run), not in the browser: a poller reads
the run's events and streams curves, progress and log to the page. Closing the tab leaves the run
going; reopening the page lists the visitor's runs and follows a running one again.

API endpoints: ``/train`` (streams), ``/stop``, ``/runs``, ``/attach`` (streams), ``/retry_push``,
``/config``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from trainer_core.cli import as_cli_command
from trainer_core.config import DataConfig, HubConfig, ModelConfig, TrainConfig, TrainingConfig, field_help
from trainer_core.errors import InputError, StudioError
from trainer_core.hub import redact
from trainer_core.jobs import event_writer
from trainer_core.tasks import CUSTOM, get_preset
from trainer_core.ui import plots
from trainer_core.ui.context import AppContext, pick_token, visitor_identity
from trainer_core.ui.dataset_tab import (
    MODEL_CHOICES,
    SOURCE_HUB,
    check_model,
    data_config_from_form,
    display_dataset,
    error_update,
)

POLL_SECONDS = 0.5
LOG_LINES = 200
TRACKIO = "trackio"


def hardware_defaults(kind: str) -> dict[str, Any]:
    """Form defaults that suit the hardware: small and short on a CPU."""
    if kind == "cpu":
        return {"batch_size": 8, "epochs": 1.0}
    if kind == "mps":
        return {"batch_size": 16, "epochs": 2.0}
    return {"batch_size": 32, "epochs": 3.0}


def _secret(oauth_token: gr.OAuthToken | None, typed: str | None, on_space: bool) -> str | None:
    return pick_token(oauth_token.token if oauth_token is not None else None, typed, on_space=on_space)


def _safe(message: str, *tokens: str | None) -> str:
    for token in tokens:
        message = redact(message, (token or "").strip() or None)
    return message


def _number(value: Any, name: str, kind: type = float) -> Any:
    if value is None or value == "":
        raise InputError(f"{name} is empty: give a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got '{value}'.") from None
    if kind is int:
        if number != int(number):
            raise InputError(f"{name} must be a whole number, got {value}.")
        return int(number)
    return number


def build_config(
    ctx: AppContext,
    visitor: str | None,
    username: str | None,
    form: dict[str, Any],
    *,
    for_display: bool = False,
) -> TrainConfig:
    """The ``TrainConfig`` the form describes; InputError says what is wrong with it."""
    task = form.get("task") or CUSTOM
    get_preset(task)  # an unknown preset name is an InputError
    data = data_config_from_form(
        ctx,
        visitor,
        username,
        source=form["source"],
        dataset=form["dataset"],
        dataset_config=form["dataset_config"],
        split=form["split"],
        upload_name=form["upload_name"],
        example=form["example"],
        text_column=form["text_column"],
        text_pair_column=form["text_pair_column"],
        label_column=form["label_column"],
        max_length=form["max_length"],
    )
    if for_display:
        data.dataset = display_dataset(form["source"], form["dataset"], form["upload_name"], form["example"])
    eval_steps = _number(form.get("eval_steps") or 0, "Eval steps", int)
    training = TrainingConfig(
        epochs=_number(form["epochs"], "Epochs"),
        max_steps=_number(form["max_steps"], "Max steps", int),
        batch_size=_number(form["batch_size"], "Batch size", int),
        eval_batch_size=max(_number(form["batch_size"], "Batch size", int), 1) * 2,
        learning_rate=_number(form["learning_rate"], "Learning rate"),
        weight_decay=_number(form["weight_decay"], "Weight decay"),
        warmup_ratio=_number(form["warmup_ratio"], "Warmup ratio"),
        seed=_number(form["seed"], "Seed", int),
        eval_steps=eval_steps if eval_steps > 0 else None,
        report_to=[TRACKIO] if form.get("report_trackio") else [],
    )
    if training.max_steps == 0:
        training.max_steps = -1
    hub = HubConfig(repo_id=(form.get("repo_id") or "").strip() or None, private=bool(form.get("private")))
    model = ModelConfig(model=check_model(ctx, form.get("model")))
    # A preset applies only to its own Hub dataset; on another dataset the run is a custom one.
    if form["source"] != SOURCE_HUB and task != CUSTOM:
        task = CUSTOM
    return TrainConfig(task=task, data=data, model=model, training=training, hub=hub)


FORM_KEYS = (
    "source",
    "dataset",
    "dataset_config",
    "split",
    "upload_name",
    "example",
    "task",
    "text_column",
    "text_pair_column",
    "label_column",
    "model",
    "epochs",
    "max_steps",
    "batch_size",
    "learning_rate",
    "max_length",
    "seed",
    "warmup_ratio",
    "weight_decay",
    "eval_steps",
    "report_trackio",
    "repo_id",
    "private",
)


def render(ctx: AppContext) -> None:
    shared = ctx.shared
    visitor = shared["visitor"]
    typed_token = shared["token"]
    defaults = hardware_defaults(ctx.hardware.kind)
    root = gr.context.Context.root_block

    if not ctx.hardware.is_gpu:
        gr.Markdown(
            "**Running on CPU.** Training works but is slow: the defaults here are small (batch size "
            f"{defaults['batch_size']}, {defaults['epochs']:g} epoch); keep the dataset small or set max steps.",
            elem_id="train-cpu-notice",
        )
    else:
        gr.Markdown(f"Training on **{ctx.hardware.describe()}**.", elem_id="train-hardware")

    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            model = gr.Dropdown(
                list(MODEL_CHOICES),
                value=MODEL_CHOICES[0],
                label="Model",
                info=field_help(ModelConfig, "model")
                if not ctx.on_space
                else "A Hub model id, e.g. bert-base-uncased.",
                allow_custom_value=True,
                elem_id="train-model",
            )
            with gr.Row():
                epochs = gr.Number(
                    defaults["epochs"], label="Epochs", minimum=0, info=field_help(TrainingConfig, "epochs")
                )
                max_steps = gr.Number(
                    -1, label="Max steps", precision=0, info=field_help(TrainingConfig, "max_steps") + " -1: no limit.",
                    elem_id="train-max-steps",
                )  # fmt: skip
            with gr.Row():
                batch_size = gr.Number(
                    defaults["batch_size"], label="Batch size", precision=0, minimum=1,
                    info=field_help(TrainingConfig, "batch_size"),
                )  # fmt: skip
                learning_rate = gr.Number(
                    3e-5, label="Learning rate", minimum=0, info=field_help(TrainingConfig, "learning_rate")
                )
            with gr.Row():
                max_length = gr.Number(
                    shared["max_length"].value, label="Max length (tokens)", precision=0, minimum=8,
                    info=field_help(DataConfig, "max_length"), elem_id="train-max-length",
                )  # fmt: skip
                seed = gr.Number(42, label="Seed", precision=0, info=field_help(TrainingConfig, "seed"))
            with gr.Accordion("More options", open=False):
                with gr.Row():
                    warmup_ratio = gr.Slider(
                        0,
                        0.5,
                        value=0.1,
                        step=0.01,
                        label="Warmup ratio",
                        info=field_help(TrainingConfig, "warmup_ratio"),
                    )
                    weight_decay = gr.Number(
                        0.01, label="Weight decay", minimum=0, info=field_help(TrainingConfig, "weight_decay")
                    )
                with gr.Row():
                    eval_steps = gr.Number(
                        0, label="Eval steps", precision=0, minimum=0,
                        info=field_help(TrainingConfig, "eval_steps") + " 0: every epoch.",
                    )  # fmt: skip
                    report_trackio = gr.Checkbox(
                        False,
                        label="Log metrics to trackio",
                        info=field_help(TrainingConfig, "report_to") + " Local by default.",
                    )
            with gr.Row():
                repo_id = gr.Textbox(
                    "",
                    label="Push to Hub repo (optional)",
                    placeholder="my-classifier or user/my-classifier",
                    info=field_help(HubConfig, "repo_id"),
                    elem_id="train-repo-id",
                )
                private = gr.Checkbox(False, label="Private repo", info=field_help(HubConfig, "private"))
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="train-start")
                stop = gr.Button("Stop", variant="stop", elem_id="train-stop")
                show_config = gr.Button("Show as CLI / YAML", elem_id="train-show-config")
            error_box = gr.Markdown(visible=False, elem_id="train-error", elem_classes=["ts-error"])
            notice = gr.Markdown(elem_id="train-notice")
            with gr.Accordion("Command line and YAML", open=False) as config_panel:
                cli_code = gr.Code(language="shell", label="CLI", interactive=False, elem_id="train-cli")
                yaml_code = gr.Code(language="yaml", label="config.yaml", interactive=False, elem_id="train-yaml")
        with gr.Column(scale=3, min_width=360):
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
            progress = gr.HTML(plots.RunView().progress_html("idle"), elem_id="train-progress")
            with gr.Row():
                loss_plot = gr.LinePlot(
                    None,
                    x="step",
                    y="loss",
                    color="split",
                    color_map={"train": "#4c78a8", "eval": "#f58518"},
                    x_axis_format="d",
                    title="Loss",
                    height=280,
                    elem_id="train-loss",
                )
                score_plot = gr.LinePlot(
                    None,
                    x="step",
                    y="value",
                    color="metric",
                    x_axis_format="d",
                    title="Eval metrics",
                    height=280,
                    elem_id="train-metrics",
                )
            result_md = gr.Markdown(elem_id="train-result")
            pushes_md = gr.Markdown(elem_id="train-pushes")
            retry = gr.Button("Retry push", size="sm", elem_id="train-retry-push")
            log = gr.Textbox(
                label="Log", lines=10, max_lines=10, interactive=False, autoscroll=True, elem_id="train-log"
            )
            with gr.Accordion("Your runs as a table", open=False):
                runs_table = gr.Dataframe(
                    plots.runs_frame([]), interactive=False, label="Runs", elem_id="train-runs-table"
                )
            with gr.Accordion("Raw events", open=False):
                events_json = gr.JSON(label="Events", elem_id="train-events")

    shared["run_id"] = runs
    shared["model"] = model

    # Keep the Dataset tab's tokenizer and max length in step with the model and max length here.
    shared["tokenizer"].change(lambda v: v, shared["tokenizer"], model, api_visibility="private", queue=False)
    model.input(lambda v: v, model, shared["tokenizer"], api_visibility="private", queue=False)
    shared["max_length"].change(lambda v: v, shared["max_length"], max_length, api_visibility="private", queue=False)
    max_length.input(lambda v: v, max_length, shared["max_length"], api_visibility="private", queue=False)

    form_inputs = [
        shared["dataset_source"],
        shared["dataset"],
        shared["dataset_config"],
        shared["split"],
        shared["upload_name"],
        shared["example"],
        shared["task"],
        shared["text_column"],
        shared["text_pair_column"],
        shared["label_column"],
        model,
        epochs,
        max_steps,
        batch_size,
        learning_rate,
        max_length,
        seed,
        warmup_ratio,
        weight_decay,
        eval_steps,
        report_trackio,
        repo_id,
        private,
    ]
    stream_outputs = [
        error_box,
        progress,
        loss_plot,
        score_plot,
        log,
        pushes_md,
        result_md,
        runs,
        runs_table,
        events_json,
        start,
    ]

    # ------------------------------------------------------------------ helpers over the job manager
    def runs_update(identity: str, selected: str | None) -> tuple[Any, Any]:
        infos = ctx.jobs.list_runs(identity)
        choices = [(info.label, info.run_id) for info in infos]
        return gr.update(choices=choices, value=selected), plots.runs_frame(infos)

    def view_updates(info: Any, view: plots.RunView, new: list[dict[str, Any]]) -> dict[Any, Any]:
        active = info.state in plots.ACTIVE_STATES
        return {
            progress: view.progress_html(info.state, info.queue_position),
            loss_plot: view.loss_frame() if view.loss else None,
            score_plot: view.score_frame() if view.scores else None,
            log: view.log_text(LOG_LINES),
            pushes_md: view.push_markdown(),
            result_md: view.result_markdown(info.state),
            events_json: {
                "run_id": info.run_id,
                "state": info.state,
                "step": view.step,
                "events": [plots.public_event(e) for e in new],
            },
            start: gr.update(interactive=not active),
        }

    followers: dict[str, int] = {}  # page session -> ticket of the one follower it may run
    tickets = itertools.count(1)

    async def follow(identity: str, run_id: str, session: str | None) -> AsyncIterator[dict[Any, Any]]:
        """Stream a run's view until it has ended; a finished run streams once.

        A page follows one run at a time: a newer follower (Start, picking a run) ends the older one.
        """
        key_session = session or ""
        ticket = next(tickets)
        followers[key_session] = ticket
        try:
            async for updates in _follow(identity, run_id, lambda: followers.get(key_session) == ticket):
                yield updates
        finally:
            if followers.get(key_session) == ticket:
                del followers[key_session]

    async def _follow(identity: str, run_id: str, current: Any) -> AsyncIterator[dict[Any, Any]]:
        view = plots.RunView()
        last: tuple[Any, ...] | None = None
        while current():
            info = ctx.jobs.info(identity, run_id)  # state first: once ended, every event is on disk
            new = ctx.jobs.events(identity, run_id, since=view.count)
            view.add(new)
            ended = info.state not in plots.ACTIVE_STATES
            key = (info.state, info.queue_position)
            if new or key != last or ended:
                updates = view_updates(info, view, new)
                if ended or key != last:
                    updates[runs], updates[runs_table] = runs_update(identity, run_id)
                yield updates
            last = key
            if ended:
                return
            await asyncio.sleep(POLL_SECONDS)

    # ------------------------------------------------------------------ handlers
    async def train(
        visitor: str | None,
        token: str | None = None,
        source: str | None = None,
        dataset: str | None = None,
        dataset_config: str | None = None,
        split: str | None = None,
        upload_name: str | None = None,
        example: str | None = None,
        task: str | None = None,
        text_column: str | None = None,
        text_pair_column: str | None = None,
        label_column: str | None = None,
        model: str | None = None,
        epochs: float | None = None,
        max_steps: float | None = None,
        batch_size: float | None = None,
        learning_rate: float | None = None,
        max_length: float | None = None,
        seed: float | None = None,
        warmup_ratio: float | None = None,
        weight_decay: float | None = None,
        eval_steps: float | None = None,
        report_trackio: bool | None = None,
        repo_id: str | None = None,
        private: bool | None = None,
        oauth_token: gr.OAuthToken | None = None,
        profile: gr.OAuthProfile | None = None,
        request: gr.Request | None = None,
    ) -> AsyncIterator[dict[Any, Any]]:
        """Start a training run and stream its events until it ends.

        Every streamed item carries a JSON ``{"run_id", "state", "step", "events": [new events]}``; a
        refused start yields ``{"error": message}`` and nothing runs.
        """
        values = locals()
        form = {key: values[key] for key in FORM_KEYS}
        secret = _secret(oauth_token, token, ctx.on_space)
        username = profile.username if profile else None
        try:
            identity = visitor_identity(visitor, username)
            config = build_config(ctx, visitor, username, form)
            if config.hub.repo_id and not secret:
                raise InputError(
                    f"Pushing to '{config.hub.repo_id}' needs a Hub token with write access: "
                    + ("sign in with Hugging Face above." if ctx.on_space else "paste one above or set HF_TOKEN.")
                )
            run_id = ctx.jobs.start(identity, config, token=secret)
        except StudioError as err:
            message = _safe(str(err), secret, token)
            yield {error_box: error_update(message), events_json: {"error": message}}
            return
        first = {error_box: error_update(None)}
        first[runs], first[runs_table] = runs_update(identity, run_id)
        yield first
        async for updates in follow(identity, run_id, getattr(request, "session_hash", None)):
            yield updates

    async def attach(visitor: str | None, run_id: str | None, profile: gr.OAuthProfile | None, request: gr.Request):
        """Follow one of your runs: stream its events (all of them, then new ones) until it ends."""
        # A generator must yield at least once: one that yields nothing clears every output.
        yield {error_box: error_update(None)}
        if not run_id:
            return
        try:
            identity = visitor_identity(visitor, profile.username if profile else None)
            ctx.jobs.info(identity, run_id)
        except StudioError as err:
            yield {error_box: error_update(str(err)), events_json: {"error": str(err)}}
            return
        async for updates in follow(identity, run_id, getattr(request, "session_hash", None)):
            yield updates

    async def on_load(visitor: str | None, profile: gr.OAuthProfile | None, request: gr.Request):
        """On page load: list the visitor's runs and follow a running one."""
        yield {error_box: gr.skip()}  # at least one yield: a generator that yields nothing clears its outputs
        if not visitor and profile is None:
            return
        identity = visitor_identity(visitor, profile.username if profile else None)
        infos = ctx.jobs.list_runs(identity)
        active = next((info for info in infos if info.state in plots.ACTIVE_STATES), None)
        if active is None:
            dropdown, table = runs_update(identity, infos[0].run_id if infos else None)
            yield {runs: dropdown, runs_table: table}
            if infos:
                async for updates in follow(identity, infos[0].run_id, getattr(request, "session_hash", None)):
                    yield updates
            return
        async for updates in follow(identity, active.run_id, getattr(request, "session_hash", None)):
            yield updates

    def list_runs(visitor: str | None, selected: str | None, profile: gr.OAuthProfile | None):
        """Your runs: the dropdown and a table (run, state, model, dataset, steps, metrics, started)."""
        try:
            identity = visitor_identity(visitor, profile.username if profile else None)
        except StudioError as err:
            return gr.skip(), plots.runs_frame([]), error_update(str(err))
        dropdown, table = runs_update(identity, selected)
        return dropdown, table, error_update(None)

    def stop_run(visitor: str | None, run_id: str | None, profile: gr.OAuthProfile | None):
        """Ask a run to stop after its current step; it keeps its last checkpoint."""
        if not run_id:
            message = "No run selected: choose one under 'Your runs'."
            return error_update(message), {"stopped": False, "error": message}
        try:
            identity = visitor_identity(visitor, profile.username if profile else None)
            stopping = ctx.jobs.stop(identity, run_id)
        except StudioError as err:
            return error_update(str(err)), {"stopped": False, "run_id": run_id, "error": str(err)}
        if not stopping:
            message = f"Run {run_id} is not running ({ctx.jobs.info(identity, run_id).state})."
            return error_update(message), {"stopped": False, "run_id": run_id, "error": message}
        return error_update(None), {"stopped": True, "run_id": run_id}

    def retry_push(
        visitor: str | None,
        token: str | None = None,
        run_id: str | None = None,
        repo_id: str | None = None,
        private: bool | None = None,
        oauth_token: gr.OAuthToken | None = None,
        profile: gr.OAuthProfile | None = None,
    ):
        """Push a finished (or stopped) run's model to the Hub again."""
        from trainer_core import hub as hub_lib

        secret = _secret(oauth_token, token, ctx.on_space)
        try:
            if not run_id:
                raise InputError("No run selected: choose one under 'Your runs'.")
            identity = visitor_identity(visitor, profile.username if profile else None)
            info = ctx.jobs.info(identity, run_id)
            if info.state not in ("finished", "stopped"):
                raise InputError(f"Run {run_id} is {info.state}: only a finished or stopped run can be pushed.")
            target = (repo_id or "").strip() or info.repo_id
            if not target:
                raise InputError("Give the Hub repo to push to (name or user/name).")
            HubConfig(repo_id=target)  # checks the id's form
            model_dir = ctx.jobs.model_dir(identity, run_id)
            if not (model_dir / "config.json").is_file():
                raise InputError(f"Run {run_id} has no saved model to push.")
            full = hub_lib.check_write_access(target, secret)
            # The run's push status is the truth: the retry's outcome replaces the final model's.
            record = event_writer(ctx.jobs.run_dir(identity, run_id))
            try:
                url = hub_lib.push_folder(model_dir, full, secret, private=bool(private))
            except StudioError as err:
                record({"type": "push", "status": "failed", "final": True, "retry": True,
                        "error": _safe(str(err), secret, token)})  # fmt: skip
                raise
            record({"type": "push", "status": "done", "final": True, "retry": True, "repo_id": full})
        except StudioError as err:
            message = _safe(str(err), secret, token)
            return f"❌ Push failed: {message}", {"pushed": False, "error": message}
        return f"✅ Pushed {run_id} to [{full}](https://huggingface.co/{full}).", {
            "pushed": True,
            "repo_id": full,
            "url": url,
        }

    def show_as_cli(
        visitor: str | None,
        source: str | None = None,
        dataset: str | None = None,
        dataset_config: str | None = None,
        split: str | None = None,
        upload_name: str | None = None,
        example: str | None = None,
        task: str | None = None,
        text_column: str | None = None,
        text_pair_column: str | None = None,
        label_column: str | None = None,
        model: str | None = None,
        epochs: float | None = None,
        max_steps: float | None = None,
        batch_size: float | None = None,
        learning_rate: float | None = None,
        max_length: float | None = None,
        seed: float | None = None,
        warmup_ratio: float | None = None,
        weight_decay: float | None = None,
        eval_steps: float | None = None,
        report_trackio: bool | None = None,
        repo_id: str | None = None,
        private: bool | None = None,
        profile: gr.OAuthProfile | None = None,
    ):
        """The current form as a `python -m trainer_core train` command and as YAML."""
        values = locals()
        form = {key: values[key] for key in FORM_KEYS}
        try:
            config = build_config(ctx, visitor, profile.username if profile else None, form, for_display=True)
        except StudioError as err:
            return error_update(str(err)), gr.skip(), gr.skip(), gr.skip()
        return error_update(None), as_cli_command(config), config.to_yaml(), gr.update(open=True)

    # ------------------------------------------------------------------ wiring
    start.click(
        train,
        [visitor, typed_token, *form_inputs],
        stream_outputs,
        api_name="train",
        concurrency_limit=None,
        show_progress="hidden",
    )
    runs.input(
        attach, [visitor, runs], stream_outputs, api_name="attach", concurrency_limit=None, show_progress="hidden"
    )
    root.load(
        on_load, [visitor], stream_outputs, api_visibility="private", concurrency_limit=None, show_progress="hidden"
    )

    refresh.click(list_runs, [visitor, runs], [runs, runs_table, error_box], api_name="runs")
    stop.click(stop_run, [visitor, runs], [error_box, events_json], api_name="stop", concurrency_limit=None)
    retry.click(
        retry_push, [visitor, typed_token, runs, repo_id, private], [notice, events_json], api_name="retry_push"
    )
    show_config.click(
        show_as_cli,
        [visitor, *form_inputs],
        [error_box, cli_code, yaml_code, config_panel],
        api_name="config",
    )
