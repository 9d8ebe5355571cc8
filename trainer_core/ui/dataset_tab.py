"""Step 1, Dataset: choose a Hub dataset, an upload or a shipped example, and look at it before training.

The tab gathers input into a ``DataConfig`` (``data_config``, the one resolver every tab uses, through
``sources.resolve_dataset``) and shows what ``trainer_core.data.preview`` returns. ``build`` returns a
``DatasetTab`` handle with the components the Train tab reads; ``build_app`` wires them.

UI events (undocumented endpoints): ``/ui_preview``, ``/ui_upload``. Public API: ``/preview``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from trainer_core.config import DEFAULT_MAX_LENGTH, DataConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.examples import EXAMPLES
from trainer_core.files import SUPPORTED_SUFFIXES
from trainer_core.jobs import owner_key
from trainer_core.tasks import CUSTOM, PRESETS, get_preset, preset_values, resolve_data
from trainer_core.ui import plots, sources, uploads
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
    with_signature,
)
from trainer_core.ui.context import AppContext
from trainer_core.ui.form import (
    API_DATA_KEYS,
    COLUMN_KEYS,
    DATA_BY_KEY,
    DATA_KEYS,
    FORM_BY_KEY,
    MODEL_CHOICES,
    data_parameters,
)

SOURCE_HUB = "Hub dataset"
SOURCE_UPLOAD = "Upload file"
SOURCE_EXAMPLE = "Example"
SOURCES = (SOURCE_HUB, SOURCE_UPLOAD, SOURCE_EXAMPLE)

PREVIEW_ROWS = 20
AUTO = ""  # a column dropdown left on "detect": the column is detected from the data each time
# Short names: a dropdown shows its value in one line (the field's help, in the info line, says the rest).
TASK_TYPE_CHOICES = [
    ("detect", AUTO),
    ("Single label", "single_label"),
    ("Multi-label", "multi_label"),
    ("Regression (a number)", "regression"),
]


@dataclass
class DatasetTab:
    """What other tabs need from this one."""

    inputs: dict[str, gr.Component]  # form.DATA_KEYS -> component
    tokenizer: gr.Dropdown
    max_length: gr.Textbox  # empty: the config's default
    preview: gr.JSON  # the last preview, for the Train tab's "what will be trained on"
    next_button: gr.Button


# ------------------------------------------------------------------------------------- pure-ish helpers


def example_files() -> list[str]:
    """The example datasets shipped with the app (file names)."""
    return sorted(example.path.name for example in EXAMPLES.values() if example.path.is_file())


def example_choices() -> list[tuple[str, str]]:
    return [(example.title, example.path.name) for example in EXAMPLES.values() if example.path.is_file()]


def example_key(example: str | None) -> str:
    """The EXAMPLES key of a shipped example, given its key or its file name."""
    for key, shipped in EXAMPLES.items():
        if example in (key, shipped.path.name):
            return key
    shown = ", ".join(example_files()) or "none are installed"
    raise InputError(f"Choose one of the example datasets ({shown}).")


def uploads_folder(ctx: AppContext, identity: str) -> Path:
    return ctx.uploads_root / owner_key(identity)


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def data_config(ctx: AppContext, identity: str | None, values: dict[str, Any]) -> DataConfig:
    """The ``DataConfig`` the dataset form describes (``values`` keyed by DATA_KEYS, plus max_length)."""
    source = values.get("source") or SOURCE_HUB
    upload = None
    if source == SOURCE_UPLOAD:
        if identity is None:
            raise InputError("Your session is not ready yet: reload the page and try again.")
        upload = str(uploads.upload_path(uploads_folder(ctx, identity), values.get("upload_name")))
        choice = ""
    elif source == SOURCE_EXAMPLE:
        choice = sources.EXAMPLE_PREFIX + example_key(values.get("example"))
    else:
        choice = (values.get("dataset") or "").strip()
        if not choice:
            raise InputError("Give a Hub dataset id (e.g. nyu-mll/glue), or upload a file, or pick an example.")
    cfg, _ = sources.resolve_dataset(
        choice,
        upload=upload,
        on_space=ctx.on_space,
        config=values.get("dataset_config") if source == SOURCE_HUB else None,
        **{key: _clean(values.get(key)) for key in COLUMN_KEYS},
    )
    cfg.train_split = _clean(values.get("split")) or "train"
    cfg.task_type = _clean(values.get("task_type"))
    # Kept as typed: a space is a separator of its own ("a b"); empty means the default rule.
    cfg.label_separator = values.get("label_separator") or None
    if "max_length" in values:
        try:
            cfg.max_length = FORM_BY_KEY["max_length"].parse(values["max_length"])
        except ValueError as err:
            raise InputError(f"{FORM_BY_KEY['max_length'].label} {err}") from None
    DataConfig(**vars(cfg))  # the config's own checks
    return cfg


def effective_task(values: dict[str, Any], data: DataConfig) -> str:
    """The preset applies only to its own Hub dataset; anything else is a custom run (its columns are
    the user's, never the preset's)."""
    preset = get_preset(values.get("task") or CUSTOM)
    if preset is None or values.get("source") != SOURCE_HUB or data.dataset != preset.dataset:
        return CUSTOM
    return preset.name


def display_dataset(values: dict[str, Any]) -> str:
    """How the dataset is named to a person: never the server's upload folder."""
    source = values.get("source")
    if source == SOURCE_UPLOAD:
        return values.get("upload_name") or "your_file.csv"
    if source == SOURCE_EXAMPLE:
        return f"trainer_core/examples/{values.get('example')}"
    return (values.get("dataset") or "").strip()


def form_for_data(ctx: AppContext, identity: str, data: DataConfig, task: str) -> dict[str, Any]:
    """The dataset form's values that describe ``data`` (a followed run's data, put back in the form)."""
    path = Path(data.dataset)
    # Each field that fills the config gets its value back (empty, AUTO: "detect" or "none"); the dataset
    # itself, and a Hub dataset's config, go back below, by source.
    values: dict[str, Any] = {
        f.key: getattr(data, f.config) or AUTO for f in DATA_BY_KEY.values() if f.config and f.key != "dataset"
    }
    values |= {"task": task, "dataset_config": ""}
    example = next((e for e in EXAMPLES.values() if e.path == path), None)
    if example is not None:
        return values | {"source": SOURCE_EXAMPLE, "example": example.path.name}
    if path.parent == uploads_folder(ctx, identity):
        return values | {"source": SOURCE_UPLOAD, "upload_name": path.name}
    return values | {"source": SOURCE_HUB, "dataset": data.dataset, "dataset_config": data.dataset_config or ""}


def column_update(columns: list[str], detected: str | None, chosen: str | None, *, none_label: str):
    """A column dropdown after a preview: it stays on "detect" (showing what was detected) unless the
    person picked a column; a detected name never becomes a choice that sticks to the next dataset."""
    detect = f"{none_label} → {detected}" if detected else none_label
    value = chosen if chosen in columns else AUTO
    return gr.update(choices=[(detect, AUTO), *[(c, c) for c in columns]], value=value)


# ----------------------------------------------------------------------------------------------- handlers


def preview_dataset(
    ctx: AppContext,
    visitor: str | None,
    token: str | None = None,
    upload_file: str | None = None,
    tokenizer: str | None = None,
    max_length: str | float | None = None,
    oauth_token: gr.OAuthToken | None = None,
    profile: gr.OAuthProfile | None = None,
    request: gr.Request | None = None,
    **data_values: Any,
):
    """Preview for the page: summary, rows, column choices, charts, problems and the preview as JSON.

    ``data_values``: the dataset form's values, keyed by ``form.DATA_KEYS``.
    """
    hf_token = secret(oauth_token, token, ctx)
    uploads_update: Any = gr.skip()
    values = {key: data_values.get(key) for key in DATA_KEYS} | {"max_length": max_length}
    source = values["source"]
    try:
        identity = caller_identity(visitor, profile, None) if source == SOURCE_UPLOAD else None
        if source == SOURCE_UPLOAD and upload_file:
            folder = uploads_folder(ctx, identity)
            values["upload_name"] = uploads.store_upload(upload_file, folder)
            uploads_update = gr.update(choices=uploads.list_uploads(folder), value=values["upload_name"])
        info, warnings = _preview(ctx, values, tokenizer, hf_token, identity)
    except Exception as err:
        message = user_message(err, hf_token, token)
        return (
            error_update(message),
            "No preview: fix the problem shown under **Preview** and try again.",
            gr.update(value=None, visible=False),
            gr.skip(),
            gr.skip(),
            gr.skip(),
            gr.update(value=None, visible=False),
            gr.update(value=None, visible=False),
            "",
            {"error": message},
            None if source == SOURCE_UPLOAD else gr.skip(),
            uploads_update,
        )
    names = plots.column_choices(info)
    spec = info.get("columns") or {}
    column_problem = next((p["message"] for p in info["problems"] if p["kind"] == "columns"), None)
    labels = plots.label_frame(info)
    histogram = plots.token_histogram_frame(info)
    rows = plots.rows_frame(info)
    return (
        error_update(column_problem),
        plots.preview_summary(info),
        gr.update(value=rows, column_widths=plots.column_widths(rows), visible=True),
        *(
            column_update(
                names, spec.get(key.removesuffix("_column")), values[key], none_label=DATA_BY_KEY[key].detect_label
            )
            for key in COLUMN_KEYS
        ),
        # No `sort` here: in gradio 6.31 a sort sent with the value leaves the chart one update behind.
        # The charts are built with sort=None, which keeps the rows' own order (labels, then bins).
        gr.update(value=labels, visible=len(labels) > 0),
        # No caption: the summary above says it, and under the chart's fixed height a caption is cut off.
        gr.update(value=histogram if len(histogram) else None, visible=len(histogram) > 0),
        plots.problems_markdown(info, warnings),
        info,
        None if source == SOURCE_UPLOAD else gr.skip(),
        uploads_update,
    )


def _preview(
    ctx: AppContext, values: dict[str, Any], tokenizer: str | None, token: str | None, identity: str | None
) -> tuple[dict[str, Any], list[str]]:
    from trainer_core.stack import load_stack

    load_stack()
    from trainer_core import data as data_lib

    cfg = data_config(ctx, identity, values)
    task = effective_task(values, cfg)
    preset = get_preset(task)
    cfg = resolve_data(cfg, preset)
    warnings: list[str] = []
    tok = None
    if tokenizer and str(tokenizer).strip():
        from trainer_core.modeling import load_tokenizer

        try:
            name = sources.resolve_model(
                tokenizer, jobs=ctx.jobs, identity=lambda: identity or "", on_space=ctx.on_space
            )
            tok = load_tokenizer(name, token)
        except StudioError as err:
            warnings.append(f"Token lengths not measured: {err}")
    result = data_lib.preview(cfg, split=cfg.train_split, rows=PREVIEW_ROWS, tokenizer=tok, preset=preset, token=token)
    info = result.to_dict()
    if warnings:
        info["warnings"] = warnings
    return info, warnings


def _preview_api(ctx: AppContext, **params: Any) -> dict:
    """A dataset's splits, rows, columns, label counts, token lengths and problems (as JSON).

    dataset: 'example:sentiment', 'example:paraphrase', 'preset:sst2' (any preset), a Hub dataset id, or (off
    a Space) a local file. task_type: single_label, multi_label or regression (empty: detected);
    label_separator: for multi-label text cells (empty: split at ',', ';' and '|').
    """
    token = params["token"]
    hf_token = secret(params["oauth_token"], token, ctx)
    try:
        dataset, split = params["dataset"], params["split"]
        values = {key: params[key] for key in API_DATA_KEYS} | {
            "source": SOURCE_HUB,
            "max_length": params["max_length"],
        }
        if dataset.startswith(sources.EXAMPLE_PREFIX):
            values |= {"source": SOURCE_EXAMPLE, "example": dataset[len(sources.EXAMPLE_PREFIX) :]}
        elif dataset.startswith(sources.PRESET_PREFIX):
            preset = get_preset(dataset[len(sources.PRESET_PREFIX) :])
            filled = preset_values(preset)
            values |= {"dataset": filled["dataset"], "task": preset.name, "split": split or filled["train_split"]}
        info, _ = _preview(ctx, values, params["tokenizer"], hf_token, None)
    except Exception as err:
        raise user_error(err, hf_token, token) from err
    return info


def _parameter(name: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=annotation)


# /preview's parameters, in their historical order (callers may pass them by position).
preview_api = with_signature(
    _preview_api,
    [
        *data_parameters(API_DATA_KEYS[: API_DATA_KEYS.index("task") + 1], split=None),
        _parameter("tokenizer", str | None),
        _parameter("max_length", int | None),
        _parameter("token", str | None),
        *data_parameters(API_DATA_KEYS[API_DATA_KEYS.index("task") + 1 :]),
        _parameter("oauth_token", gr.OAuthToken | None),
    ],
    returns=dict,
)


def upload(ctx: AppContext, visitor: str | None, file: str | None, profile: gr.OAuthProfile | None = None):
    """Keep an uploaded table in your own uploads folder; returns its stored name."""
    if not file:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    try:
        folder = uploads_folder(ctx, caller_identity(visitor, profile, None))
        name = uploads.store_upload(file, folder)
    except StudioError as err:
        return error_update(str(err)), None, gr.skip(), gr.skip()
    return error_update(None), None, gr.update(choices=uploads.list_uploads(folder), value=name), SOURCE_UPLOAD


def refresh_uploads(ctx: AppContext, visitor: str | None, current: str | None, profile: gr.OAuthProfile | None = None):
    if not visitor and profile is None:
        return gr.skip()
    names = uploads.list_uploads(uploads_folder(ctx, caller_identity(visitor, profile, None)))
    return gr.update(choices=names, value=current if current in names else (names[0] if names else None))


def show_source(chosen: str):
    return (
        gr.update(visible=chosen == SOURCE_HUB),
        gr.update(visible=chosen == SOURCE_UPLOAD),
        gr.update(visible=chosen == SOURCE_EXAMPLE),
    )


def apply_preset(name: str):
    """A preset fills the source, dataset, config, split, tokenizer and max length; columns go back to detect."""
    preset = get_preset(name)
    detect = (AUTO,) * len(COLUMN_KEYS)
    if preset is None:
        return (gr.skip(),) * 5 + detect + (gr.skip(), error_update(None))
    filled = preset_values(preset)
    return (
        SOURCE_HUB,
        filled["dataset"],
        filled["dataset_config"] or "",
        filled["train_split"],
        filled["model"],
        *detect,
        str(filled["max_length"]),
        error_update(None),
    )


def leave_preset(task: str | None, max_length: Any, dataset_config: str | None):
    """A different dataset (another source, Hub id, example or upload): no preset applies to it, its columns
    are detected again, and what a preset filled goes back to its default (max length: the config's, config:
    none). A max length or config the person typed after choosing the preset is theirs and stays."""
    try:
        preset = get_preset(task or CUSTOM)
    except InputError:
        preset = None
    length = config = gr.skip()
    if preset is not None:
        filled = preset_values(preset)
        if str(max_length if max_length is not None else "").strip() == str(filled["max_length"]):
            length = ""
        if filled["dataset_config"] and (dataset_config or "").strip() == filled["dataset_config"]:
            config = ""
    return CUSTOM, *(AUTO,) * len(COLUMN_KEYS), length, config


# ------------------------------------------------------------------------------------------------- layout


def build(ctx: AppContext, header: Header) -> DatasetTab:
    examples = example_files()
    default_example = "sentiment.csv" if "sentiment.csv" in examples else (examples[0] if examples else None)
    default_source = SOURCE_EXAMPLE if examples else SOURCE_HUB

    gr.Markdown(
        "**Step 1 of 4 · Dataset.** Pick an example, a preset, a Hub dataset or your own file, and press "
        "**Preview** to check its columns, labels and lengths. Then go on to **Train**.",
        elem_classes=["ts-step"],
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            task = gr.Dropdown(
                [("Custom: your own columns", CUSTOM)] + [(p.title, p.name) for p in PRESETS.values()],
                value=CUSTOM,
                label=DATA_BY_KEY["task"].label,
                info="A preset fills the dataset, columns, model and max length in one click.",
                elem_id="dataset-task",
            )
            source = gr.Radio(
                list(SOURCES), value=default_source, label=DATA_BY_KEY["source"].label, elem_id="dataset-source"
            )
            with gr.Group(visible=default_source == SOURCE_HUB) as hub_group:
                dataset = gr.Textbox(
                    "",
                    label=DATA_BY_KEY["dataset"].label + ("" if ctx.on_space else " (or a local file path)"),
                    placeholder="nyu-mll/glue",
                    info=DATA_BY_KEY["dataset"].help if not ctx.on_space else "A Hub dataset id: owner/name.",
                    elem_id="dataset-id",
                )
                dataset_config = gr.Textbox(
                    "",
                    label=DATA_BY_KEY["dataset_config"].label,
                    info=DATA_BY_KEY["dataset_config"].help,
                    elem_id="dataset-config",
                )
            with gr.Group(visible=default_source == SOURCE_UPLOAD) as upload_group:
                upload_file = gr.File(
                    label="Upload a table",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                    elem_id="dataset-upload",
                )
                upload_name = gr.Dropdown(
                    [],
                    value=None,
                    label=DATA_BY_KEY["upload_name"].label,
                    info="Only you see the files you upload.",
                    allow_custom_value=True,
                    elem_id="dataset-upload-name",
                )
            with gr.Group(visible=default_source == SOURCE_EXAMPLE) as example_group:
                example = gr.Dropdown(
                    example_choices(),
                    value=default_example,
                    label=DATA_BY_KEY["example"].label,
                    info="Small datasets written for this project: they work without the Hub.",
                    allow_custom_value=True,
                    elem_id="dataset-example",
                )
            split = gr.Textbox(
                value="train", label=DATA_BY_KEY["split"].label, info="The split shown here and trained on."
            )
            # One per row: a model id needs the width of the column (side by side, it ran under the arrow).
            tokenizer = gr.Dropdown(
                list(MODEL_CHOICES),
                value=MODEL_CHOICES[0],
                label="Tokenizer (model)",
                info="Token lengths are measured with this model's tokenizer.",
                allow_custom_value=True,
                elem_id="dataset-tokenizer",
            )
            # A text box like the Train tab's: empty is the config's default (a gr.Number cannot stay
            # empty), and anything typed is checked by the form, naming the field.
            max_length = gr.Textbox(
                value="",
                label=FORM_BY_KEY["max_length"].label,
                placeholder=f"auto: {DEFAULT_MAX_LENGTH}, or the preset's",
                max_lines=1,
                info=FORM_BY_KEY["max_length"].info(),
                elem_id="dataset-max-length",
            )
            with gr.Row():
                columns = [
                    gr.Dropdown(
                        [(DATA_BY_KEY[key].detect_label, AUTO)],
                        value=AUTO,
                        label=DATA_BY_KEY[key].label,
                        allow_custom_value=True,
                        min_width=200,
                        elem_id="dataset-" + key.replace("_", "-"),
                    )
                    for key in COLUMN_KEYS
                ]
            with gr.Row():
                task_type = gr.Dropdown(
                    TASK_TYPE_CHOICES, value=AUTO, label=DATA_BY_KEY["task_type"].label, info=DATA_BY_KEY["task_type"].help,
                    min_width=200, elem_id="dataset-task-type",
                )  # fmt: skip
                label_separator = gr.Textbox(
                    "", label=DATA_BY_KEY["label_separator"].label, placeholder=", ; or |", max_lines=1,
                    info=DATA_BY_KEY["label_separator"].help, min_width=200, elem_id="dataset-label-separator",
                )  # fmt: skip
            with gr.Row():
                preview_button = gr.Button("Preview", variant="primary", elem_id="dataset-preview")
                next_button = gr.Button("Next: Train →", elem_id="dataset-next")
            errors = error_box("dataset-error")
        with gr.Column(scale=3, min_width=300):
            summary = gr.Markdown("Choose a dataset and press **Preview**.", elem_id="dataset-summary")
            problems = gr.Markdown(elem_id="dataset-problems")
            with gr.Row():
                # sort=None keeps the rows' order; see preview_dataset for why it is never updated.
                label_plot = gr.BarPlot(
                    None, x="label", y="rows", title="Label distribution", y_lim=[0, None], height=260,
                    visible=False, elem_id="dataset-labels",
                )  # fmt: skip
                token_plot = gr.BarPlot(
                    None,
                    x="tokens",
                    y="rows",
                    color="fits",
                    color_map={"fits": "#4c78a8", "truncated": "#e45756"},
                    title="Token lengths",
                    x_label_angle=-45,
                    y_lim=[0, None],
                    height=260,
                    visible=False,
                    elem_id="dataset-token-lengths",
                )
            rows_table = gr.Dataframe(
                label="Rows", interactive=False, wrap=True, max_height=420, max_chars=200, visible=False,
                elem_id="dataset-rows",
            )  # fmt: skip
            with gr.Accordion("Preview as JSON", open=False):
                preview_json = gr.JSON(label="Preview", elem_id="dataset-json")

    preset_filled = [task, *columns, max_length, dataset_config]
    source.change(show_source, source, [hub_group, upload_group, example_group], api_visibility="private", queue=False)
    for trigger in (source.input, dataset.input, example.change, upload_name.change):
        trigger(leave_preset, [task, max_length, dataset_config], preset_filled, api_visibility="private", queue=False)
    task.input(
        apply_preset,
        task,
        [source, dataset, dataset_config, split, tokenizer, *columns, max_length, errors],
        api_visibility="private",
        queue=False,
    )
    upload_file.upload(
        bind(ctx, upload),
        [header.visitor, upload_file],
        [errors, upload_file, upload_name, source],
        api_name="ui_upload",
        api_visibility="undocumented",
    ).then(leave_preset, [task, max_length, dataset_config], preset_filled, api_visibility="private", queue=False)
    upload_name.focus(bind(ctx, refresh_uploads), [header.visitor, upload_name], upload_name, api_visibility="private")
    gr.context.Context.root_block.load(
        bind(ctx, refresh_uploads), [header.visitor, upload_name], upload_name, api_visibility="private"
    )
    widgets = {"source": source, "dataset": dataset, "dataset_config": dataset_config, "split": split,
               "upload_name": upload_name, "example": example, "task": task, "task_type": task_type,
               "label_separator": label_separator, **dict(zip(COLUMN_KEYS, columns, strict=True))}  # fmt: skip
    inputs = {key: widgets[key] for key in DATA_KEYS}
    preview_inputs = {"visitor": header.visitor, "token": header.token, "upload_file": upload_file,
                      "tokenizer": tokenizer, "max_length": max_length, **inputs}  # fmt: skip
    preview_params = [_parameter(name, Any) for name in preview_inputs] + [
        _parameter("oauth_token", gr.OAuthToken | None),
        _parameter("profile", gr.OAuthProfile | None),
        _parameter("request", gr.Request | None),
    ]

    def preview_event(**values: Any):
        return preview_dataset(ctx, **values)

    preview_button.click(
        with_parameters(preview_event, preview_params),
        list(preview_inputs.values()),
        [
            errors,
            summary,
            rows_table,
            *columns,
            label_plot,
            token_plot,
            problems,
            preview_json,
            upload_file,
            upload_name,
        ],
        api_name="ui_preview",
        api_visibility="undocumented",
    )
    gr.api(bind(ctx, preview_api), api_name="preview")
    return DatasetTab(
        inputs=inputs, tokenizer=tokenizer, max_length=max_length, preview=preview_json, next_button=next_button
    )
