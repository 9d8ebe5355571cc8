"""Evaluate tab: score a model (one of the visitor's runs, or a Hub model) on a labelled split.

Shows a metrics table, the confusion matrix (a shaded table and a bar chart), per-class precision / recall
/ F1 and the misclassified examples; a second model can be scored on the same rows side by side. The
button is the named API endpoint ``evaluate``; its first output is the ``EvalReport`` as a dict.
"""

from __future__ import annotations

import inspect
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd

from trainer_core.errors import InputError, StudioError
from trainer_core.files import SUPPORTED_SUFFIXES, format_names
from trainer_core.tasks import PRESETS
from trainer_core.ui import charts, form, sources
from trainer_core.ui.common import (
    Header,
    bind,
    caller_identity,
    error_box,
    error_update,
    secret,
    user_message,
    with_signature,
)
from trainer_core.ui.context import AppContext

if TYPE_CHECKING:
    from trainer_core.evaluation import EvalReport

logger = logging.getLogger(__name__)
EVAL_OUTPUTS = (
    18  # error, reports A and B, status, A's metrics, confusion, chart, per class, errors, B's three, the boxes
    # of A's and B's confusion and per-class tables, the regression scatter plot, results
)

DEFAULT_MAX_ROWS = 500
MAX_ROWS_LIMIT = 20_000
DEFAULT_MODEL = PRESETS["sst2"].demo_model
DEFAULT_DATASET = f"{sources.EXAMPLE_PREFIX}sentiment"
TRAIN_SPLIT_NOTE = (
    "⚠️ This data has a single split, `train`. If the model was trained on the same file, part of these rows "
    "were seen in training and the scores are optimistic."
)
RUN_TRAIN_SPLIT_NOTE = (
    "⚠️ `{run}` was trained on this file: all but its held-out rows were seen in training, so these scores are "
    "optimistic. Choose the dataset **Your run's eval rows · {run_id}** to score it on rows it never saw."
)


@dataclass
class EvaluateTab:
    """What other tabs need from this one."""

    model: gr.Dropdown
    dataset: gr.Dropdown
    next_button: gr.Button


def hub_model_choices() -> list[tuple[str, str]]:
    """The public fine-tuned checkpoints of the presets, as dropdown choices."""
    return [
        (f"Hub: {preset.demo_model} ({preset.name})", preset.demo_model)
        for preset in PRESETS.values()
        if preset.demo_model
    ]


def visitor_runs(ctx: AppContext, visitor: str | None, profile: Any) -> tuple[str | None, list]:
    """The visitor's identity and runs; (None, []) before the page has set the visitor id."""
    try:
        identity = caller_identity(visitor, profile, None)
    except StudioError:
        return None, []
    return identity, ctx.jobs.list_runs(identity)


def run_choices(
    ctx: AppContext, visitor: str | None, profile: Any, extra: list[tuple[str, str]], *, include: str | None = None
) -> list:
    """Model choices: the visitor's ended runs that have a model. A failed or running run is not offered,
    even when it is the one picked in the Train tab (``include`` is kept for callers; it adds nothing)."""
    identity, runs = visitor_runs(ctx, visitor, profile)
    if identity is None:
        return list(extra)
    return sources.model_choices(runs, ctx.jobs, identity, extra)


def data_choices(ctx: AppContext, visitor: str | None, profile: Any) -> list:
    return sources.dataset_choices(visitor_runs(ctx, visitor, profile)[1])


def _display_model(choice: str | None, resolved: str) -> str:
    """What to call the model in the report: 'run:<id>' for a run (not its folder on the server)."""
    text = (choice or "").strip()
    return text if text.startswith(sources.RUN_PREFIX) else resolved


def _display_dataset(choice: str | None, upload: str | None, resolved: str) -> str:
    if upload:
        return Path(upload).name
    text = (choice or "").strip()
    if text.startswith((sources.RUN_PREFIX, sources.EXAMPLE_PREFIX, sources.PRESET_PREFIX)):
        return text
    return resolved


def _rows_limit(value: float | None) -> int:
    if value is None or value == "":
        return DEFAULT_MAX_ROWS
    rows = int(value)
    if rows < 1:
        return DEFAULT_MAX_ROWS
    return min(rows, MAX_ROWS_LIMIT)


def evaluate(
    ctx: AppContext,
    visitor: str | None,
    token: str | None,
    model: str | None,
    dataset: str | None,
    dataset_config: str | None,
    split: str | None,
    text_column: str | None,
    text_pair_column: str | None,
    label_column: str | None,
    max_rows: float | None,
    compare: bool,
    compare_model: str | None,
    dataset_file: str | None,
    profile: gr.OAuthProfile | None = None,
    oauth_token: gr.OAuthToken | None = None,
    api_request: Any = None,  # the public API's request (its session is the caller); the page has a visitor
):
    """Score a model on a labelled split; the first output is the evaluation report (as a dict)."""
    from trainer_core.stack import load_stack

    load_stack()
    from trainer_core.evaluation import evaluate_model

    hf_token = secret(oauth_token, token, ctx)

    def identity() -> str:  # asked only when a run is named
        return caller_identity(visitor, profile, api_request)

    try:
        run_id = sources.run_id_of(model) if (model or "").strip().startswith(sources.RUN_PREFIX) else None
        if run_id and not (dataset or "").strip() and not dataset_file:
            dataset = sources.run_choice(run_id)  # a run is scored on the rows it held out unless told otherwise
        model_a = sources.resolve_model(model, jobs=ctx.jobs, identity=identity, on_space=ctx.on_space)
        model_b = None
        if compare:
            if not (compare_model or "").strip():
                raise InputError("Compare is ticked but no second model is chosen: pick model B.")
            model_b = sources.resolve_model(compare_model, jobs=ctx.jobs, identity=identity, on_space=ctx.on_space)
        rows = _rows_limit(max_rows)
        with tempfile.TemporaryDirectory(prefix="trainer-studio-eval-") as scratch:
            run_data = (dataset or "").strip().startswith(sources.RUN_PREFIX) and not dataset_file
            if run_data:
                # The rows the run was evaluated on while training, prepared again from its config.
                cfg, shown_split = sources.run_eval_data(
                    ctx.jobs, identity(), sources.run_id_of(dataset), scratch, hf_token
                )
                chosen_split = "train"
            else:
                cfg, implied_split = sources.resolve_dataset(
                    dataset,
                    upload=dataset_file,
                    on_space=ctx.on_space,
                    config=dataset_config,
                    text_column=text_column,
                    text_pair_column=text_pair_column,
                    label_column=label_column,
                )
                chosen_split = (split or "").strip() or implied_split
            for choice in (model, compare_model if compare else None):
                _check_run_kind(ctx, choice, identity, cfg)
            note = None if run_data else _seen_in_training_note(ctx, run_id, identity, cfg, chosen_split)
            started = time.perf_counter()
            report_a = evaluate_model(model_a, cfg, split=chosen_split, token=hf_token, max_rows=rows)
            seconds_a = time.perf_counter() - started
            report_b = seconds_b = None
            if model_b is not None:
                started = time.perf_counter()
                report_b = evaluate_model(model_b, cfg, split=report_a.split, token=hf_token, max_rows=rows)
                seconds_b = time.perf_counter() - started
    except Exception as err:
        return (error_update(user_message(err, hf_token, token)), *[gr.skip()] * (EVAL_OUTPUTS - 1))

    shown_dataset = _display_dataset(dataset, dataset_file, cfg.dataset)
    for report, choice, resolved in ((report_a, model, model_a), (report_b, compare_model, model_b)):
        if report is not None:
            report.model = _display_model(choice, resolved)
            report.dataset = shown_dataset
            if run_data:
                report.split = shown_split
    return _outputs(report_a, seconds_a, report_b, seconds_b, note if report_a.split == "train" else None)


def _seen_in_training_note(
    ctx: AppContext, run_id: str | None, identity: Callable[[], str], cfg: Any, split: str | None
) -> str | None:
    """The warning for scores on a single `train` split. For a run it is known whether it trained on the file:
    the note says so (and where its unseen rows are), or is left out."""
    if run_id is None:
        return TRAIN_SPLIT_NOTE
    try:
        trained = ctx.jobs.config(identity(), run_id).data
    except (StudioError, OSError):
        return TRAIN_SPLIT_NOTE
    same_file = Path(trained.dataset).expanduser().resolve() == Path(cfg.dataset).expanduser().resolve()
    if not same_file or trained.dataset_config != cfg.dataset_config or trained.train_split != (split or "train"):
        return None
    return RUN_TRAIN_SPLIT_NOTE.format(run=sources.run_choice(run_id), run_id=run_id)


def _check_run_kind(ctx: AppContext, choice: str | None, identity: Callable[[], str], cfg: Any) -> None:
    """Refuse to score a run on data of the other kind (pairs vs single texts), where it is known."""
    text = (choice or "").strip()
    if not text.startswith(sources.RUN_PREFIX):
        return
    pair = sources.run_is_pair(ctx.jobs, identity(), sources.run_id_of(text))
    if pair is None:
        return
    if pair and cfg.text_pair_column is None and cfg.text_column is not None:
        raise InputError(
            f"{text} was trained on text pairs, but this data has one text column ('{cfg.text_column}'): "
            "choose data with two text columns, or set the second text column."
        )
    if not pair and cfg.text_pair_column:
        raise InputError(
            f"{text} was trained on single texts, but this data has a second text column "
            f"('{cfg.text_pair_column}'): its scores would mean nothing. Choose single-text data, or a model "
            "trained on pairs."
        )


def _outputs(
    a: EvalReport, seconds_a: float, b: EvalReport | None, seconds_b: float | None, note: str | None = None
) -> tuple:
    lines = [charts.summary_markdown(a.to_dict(), name="A" if b else "", seconds=seconds_a)]
    if b is not None:
        lines.append(charts.summary_markdown(b.to_dict(), name="B", seconds=seconds_b))
    if note:
        lines.append(note)
    metrics = charts.metrics_frame(a.metrics, b.metrics if b else None, names=("A", "B") if b else ("score", "B"))
    mistakes = charts.errors_frame(a.errors, model="A" if b else None)
    if b is not None:
        mistakes = pd.concat([mistakes, charts.errors_frame(b.errors, model="B")], ignore_index=True)
    # Regression and multi-label reports have no confusion matrix; a regression has no classes either, but
    # a scatter plot of its predictions.
    classes = [r is not None and r.task_type == "single_label" for r in (a, b)]
    regression = [r for r in (a, b) if r is not None and r.task_type == "regression"]
    points = [charts.scatter_frame(r.points, model="A" if r is a else "B") for r in regression]
    return (
        error_update(None),
        a.to_dict(),
        b.to_dict() if b else None,
        "\n\n".join(lines),
        metrics,
        charts.confusion_styler(a.confusion_matrix, a.label_names) if classes[0] else None,
        charts.confusion_rows(a.confusion_matrix, a.label_names) if classes[0] else None,
        charts.per_class_frame(a.per_class),
        gr.update(value=mistakes, column_widths=charts.errors_column_widths(mistakes)),
        charts.confusion_styler(b.confusion_matrix, b.label_names) if classes[1] else None,
        charts.confusion_rows(b.confusion_matrix, b.label_names) if classes[1] else None,
        charts.per_class_frame(b.per_class) if b else None,
        gr.update(visible=classes[0]),
        gr.update(visible=a.task_type != "regression"),
        gr.update(visible=classes[1]),
        gr.update(visible=b is not None and b.task_type != "regression"),
        gr.update(value=pd.concat(points, ignore_index=True) if points else None, visible=bool(points)),
        gr.update(visible=True),
    )


def _model_results(name: str, suffix: str) -> tuple[gr.Dataframe, gr.BarPlot, gr.Dataframe, gr.Column, gr.Column]:
    """One model's confusion matrix (table and chart) and per-class scores, and the boxes that hide them for
    the task kinds that have none; ``name`` is A or B."""
    with gr.Column() as confusion_box:
        confusion, plot = _confusion(name, suffix)
    with gr.Column() as per_class_box:
        per_class = gr.Dataframe(
            label=f"Per class or label ({name})", interactive=False, elem_id=f"eval-per-class{suffix}"
        )
    return confusion, plot, per_class, confusion_box, per_class_box


def _confusion(name: str, suffix: str) -> tuple[gr.Dataframe, gr.BarPlot]:
    confusion = gr.Dataframe(
        label=f"Confusion matrix ({name}): count (share of the true class)",
        interactive=False,
        elem_id=f"eval-confusion{suffix}",
    )
    plot = gr.BarPlot(
        x="true",
        y="count",
        color="predicted",
        x_title="True label",
        y_title="Examples",
        color_title="Predicted",
        title=f"Predictions per true label ({name})",
        show_label=False,
        height=300,
        elem_id=f"eval-confusion-plot{suffix}",
    )
    return confusion, plot


def build(ctx: AppContext, header: Header) -> EvaluateTab:
    visitor = header.visitor
    token_box = header.token
    extra_models = hub_model_choices()
    local_hint = "" if ctx.on_space else ", or a local model folder"

    gr.Markdown(
        "**Step 3 of 4 · Evaluate.** Score a model on a labelled split: metrics, confusion matrix, per-class scores and the examples it "
        "gets wrong. Tick **Compare** to score a second model on the same rows.",
        elem_classes=["ts-step"],
    )
    with gr.Row():
        with gr.Column():
            # The model has the column's width (a Hub id is long); the refresh button sits under it.
            model = gr.Dropdown(
                choices=extra_models,
                value=DEFAULT_MODEL,
                allow_custom_value=True,
                label="Model",
                info=f"One of your runs, or a Hub model id (owner/name){local_hint}.",
                elem_id="eval-model",
            )
            with gr.Row():
                compare = gr.Checkbox(label="Compare with a second model", value=False, elem_id="eval-compare", scale=4)
                refresh = gr.Button("↻ Runs", size="sm", scale=1, min_width=80, elem_id="eval-refresh")
            compare_model = gr.Dropdown(
                choices=extra_models,
                value=None,
                allow_custom_value=True,
                label="Second model (B)",
                info="Scored on exactly the same rows as the first (A).",
                visible=False,
                elem_id="eval-compare-model",
            )
        with gr.Column():
            dataset = gr.Dropdown(
                choices=sources.dataset_choices(),
                value=DEFAULT_DATASET,
                allow_custom_value=True,
                label="Dataset",
                info="An example, a task preset, or a Hub dataset id (owner/name)"
                + ("" if ctx.on_space else f", or a local {format_names()} file")
                + ".",
                elem_id="eval-dataset",
            )
            dataset_file = gr.File(
                label="…or upload a labelled file (used instead of the dataset above)",
                file_types=list(SUPPORTED_SUFFIXES),
                type="filepath",
                elem_id="eval-file",
            )
            with gr.Row():
                dataset_config = gr.Textbox(label="Config", placeholder="e.g. sst2 for nyu-mll/glue", scale=1)
                split = gr.Textbox(
                    label="Split", placeholder="auto: validation or test if labelled, else train", scale=1
                )
            with gr.Accordion("Columns and size", open=False):
                with gr.Row():
                    columns = [
                        gr.Textbox(label=field.label, placeholder="detected (pairs)" if field.optional else "detected")
                        for field in map(form.DATA_BY_KEY.get, form.COLUMN_KEYS)
                    ]
                max_rows = gr.Number(  # no minimum/maximum: the handler keeps it in 1..MAX_ROWS_LIMIT
                    value=DEFAULT_MAX_ROWS,
                    precision=0,
                    label="Rows to score (at most)",
                    info=f"A random sample (always the same one) when the split is larger; up to {MAX_ROWS_LIMIT:,}.",
                )
    with gr.Row():
        run = gr.Button("Evaluate", variant="primary", elem_id="eval-run")
        next_button = gr.Button("Next: Demo →", elem_id="eval-next")
    error_callout = error_box("eval-error")
    status = gr.Markdown(elem_id="eval-status")
    # No empty tables or chart frames before the first result: the results appear with it.
    with gr.Column(visible=False, elem_id="eval-results") as results:
        metrics_table = gr.Dataframe(label="Metrics", interactive=False, elem_id="eval-metrics")
        scatter = gr.ScatterPlot(
            x="true", y="predicted", color="model", x_title="True value", y_title="Predicted value",
            title="Regression: predicted against true (one point per row)", height=340, visible=False,
            elem_id="eval-scatter",
        )  # fmt: skip
        with gr.Row():
            with gr.Column():
                confusion, confusion_plot, per_class, confusion_box, per_class_box = _model_results("A", "")
            with gr.Column(visible=False) as compare_column:
                confusion_b, confusion_plot_b, per_class_b, confusion_box_b, per_class_box_b = _model_results("B", "-b")
        errors = gr.Dataframe(
            label="Mistakes: misclassified rows, most confident first (a regression: largest errors first)",
            interactive=False,
            wrap=True,
            elem_id="eval-errors",
        )
    with gr.Accordion("Report (JSON)", open=False):
        report_json = gr.JSON(label="A")
        report_json_b = gr.JSON(label="B")

    eval_outputs = [
        error_callout,
        report_json,
        report_json_b,
        status,
        metrics_table,
        confusion,
        confusion_plot,
        per_class,
        errors,
        confusion_b,
        confusion_plot_b,
        per_class_b,
        confusion_box,
        per_class_box,
        confusion_box_b,
        per_class_box_b,
        scatter,
        results,
    ]

    run.click(
        bind(ctx, evaluate),
        inputs=[
            visitor,
            token_box,
            model,
            dataset,
            dataset_config,
            split,
            *columns,
            max_rows,
            compare,
            compare_model,
            dataset_file,
        ],
        outputs=eval_outputs,
        api_name="ui_evaluate",
        api_visibility="undocumented",
        concurrency_id="evaluate",
        concurrency_limit=2,
    )

    model.input(bind(ctx, dataset_for_model), [model, visitor], dataset, api_visibility="private")
    compare.change(
        lambda on: (gr.update(visible=on), gr.update(visible=on)),
        inputs=compare,
        outputs=[compare_model, compare_column],
        api_visibility="private",
        queue=False,
    )

    for trigger in (refresh.click, visitor.change):
        trigger(
            bind(ctx, refresh_runs), inputs=visitor, outputs=[model, compare_model, dataset], api_visibility="private"
        )
    gr.api(bind(ctx, evaluate_api), api_name="evaluate", concurrency_id="evaluate", concurrency_limit=2)
    return EvaluateTab(model=model, dataset=dataset, next_button=next_button)


def refresh_runs(ctx: AppContext, visitor: str | None, profile: gr.OAuthProfile | None = None):
    choices = run_choices(ctx, visitor, profile, hub_model_choices())
    return (
        gr.update(choices=choices),
        gr.update(choices=choices),
        gr.update(choices=data_choices(ctx, visitor, profile)),
    )


def follow_run(ctx: AppContext, value: Any, visitor: str | None, profile: gr.OAuthProfile | None = None):
    """The run picked in the Train tab becomes model A here, scored on the rows it was evaluated on
    (when it has a model: a failed or running run is not offered)."""
    try:
        run_id = sources.run_id_of(value)
    except StudioError:
        run_id = None
    choices = run_choices(ctx, visitor, profile, hub_model_choices())
    datasets = data_choices(ctx, visitor, profile)
    wanted = sources.run_choice(run_id) if run_id else None
    if wanted and any(v == wanted for _, v in choices):
        return gr.update(choices=choices, value=wanted), gr.update(choices=datasets, value=wanted)
    return gr.update(choices=choices), gr.update(choices=datasets)


def dataset_for_model(ctx: AppContext, choice: Any, visitor: str | None, profile: gr.OAuthProfile | None = None):
    """A run chosen as the model here brings its own held-out rows as the dataset; another model changes nothing."""
    try:
        run_id = sources.run_id_of(choice) if str(choice or "").strip().startswith(sources.RUN_PREFIX) else None
    except StudioError:
        run_id = None
    if run_id is None:
        return gr.skip()
    return gr.update(choices=data_choices(ctx, visitor, profile), value=sources.run_choice(run_id))


def _evaluate_api(ctx: AppContext, **params: Any) -> dict:
    """Score a model on a labelled split: {"report": ..., "report_b": ... or None}.

    model: 'run:<run id>' (one of your runs), a Hub model id, or (off a Space) a local folder.
    dataset: 'run:<run id>' (the rows that run held out), 'example:sentiment', 'preset:sst2', a Hub id, ...
    Empty: a run's own held-out rows, else example:sentiment.
    """
    model, dataset, compare_model = params["model"], params["dataset"], params["compare_model"]
    if not (dataset or "").strip() and not (model or "").strip().startswith(sources.RUN_PREFIX):
        dataset = DEFAULT_DATASET
    out = evaluate(
        ctx, None, params["token"], model, dataset, params["dataset_config"], params["split"],
        *(params[key] for key in form.COLUMN_KEYS), params["max_rows"], bool(compare_model), compare_model, None,
        params["profile"], params["oauth_token"], params["request"],
    )  # fmt: skip
    error = out[0]
    if isinstance(error, dict) and error.get("visible"):
        raise gr.Error(str(error.get("value", "")).removeprefix("⚠️ "), duration=None)
    return {"report": out[1], "report_b": out[2]}


def _parameter(name: str, default: Any, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


# /evaluate's parameters, in their historical order (callers may pass them by position).
evaluate_api = with_signature(
    _evaluate_api,
    [
        _parameter("model", DEFAULT_MODEL, str),
        *form.data_parameters(("dataset", "dataset_config", "split", *form.COLUMN_KEYS), dataset=None, split=None),
        _parameter("max_rows", DEFAULT_MAX_ROWS, int),
        _parameter("compare_model", None, str | None),
        _parameter("token", None, str | None),
        _parameter("profile", None, gr.OAuthProfile | None),
        _parameter("oauth_token", None, gr.OAuthToken | None),
        _parameter("request", None, gr.Request),
    ],
    returns=dict,
)
