"""Dataset tab: choose a Hub dataset, an upload or a shipped example, and look at it before training.

The tab only gathers input into a ``DataConfig`` and shows what ``trainer_core.data.preview`` returns.
Its form components are offered to the other tabs through ``ctx.shared`` (see ``SHARED_KEYS``), and
``data_config_from_form`` turns their values into a ``DataConfig`` the same way for every tab.

API endpoints: ``/preview`` (see ``preview_dataset``) and ``/upload``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from trainer_core import data as data_lib
from trainer_core.config import DataConfig, field_help
from trainer_core.errors import InputError, StudioError
from trainer_core.files import SUPPORTED_SUFFIXES
from trainer_core.jobs import owner_key
from trainer_core.tasks import CUSTOM, PRESETS, get_preset, resolve_data
from trainer_core.ui import plots, uploads
from trainer_core.ui.context import EXAMPLES_DIR, AppContext, pick_token, visitor_identity

SOURCE_HUB = "Hub dataset"
SOURCE_UPLOAD = "Upload file"
SOURCE_EXAMPLE = "Example"
SOURCES = (SOURCE_HUB, SOURCE_UPLOAD, SOURCE_EXAMPLE)

MODEL_CHOICES = (
    "distilbert-base-uncased",
    "bert-base-uncased",
    "bert-base-cased",
    "bert-base-multilingual-cased",
    "roberta-base",
    "distilroberta-base",
    "google/electra-small-discriminator",
)
DEFAULT_MAX_LENGTH = 128
PREVIEW_ROWS = 20
AUTO = ""  # a column dropdown left on "auto": detected from the data

# Components this tab registers in ctx.shared, by key; the Train and Evaluate tabs read them.
SHARED_KEYS = (
    "dataset_source",  # Radio: SOURCES
    "dataset",  # Textbox: Hub dataset id (or, off a Space, a local path)
    "dataset_config",  # Textbox: Hub config (subset) name
    "split",  # Textbox: the split previewed and trained on
    "upload_name",  # Dropdown: a file in the visitor's own uploads folder
    "example",  # Dropdown: a shipped example file name
    "task",  # Dropdown: task preset name or "custom"
    "text_column",
    "text_pair_column",
    "label_column",  # Dropdowns: "" means detect
    "max_length",  # Number
    "tokenizer",  # Dropdown: model id whose tokenizer measures lengths
)


# ------------------------------------------------------------------------------- pure-ish helpers


def example_files() -> list[str]:
    """The example datasets shipped with the app (file names inside EXAMPLES_DIR)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def looks_like_local_path(value: str) -> bool:
    """Whether a dataset or model reference points at the server's disk rather than the Hub."""
    value = value.strip()
    return (
        value.startswith(("/", "~", ".", "\\"))
        or "\\" in value
        or ".." in value
        or ":" in value
        or Path(value).suffix.lower() in SUPPORTED_SUFFIXES
        or os.path.exists(value)
    )


def check_local_allowed(ctx: AppContext, value: str, what: str) -> str:
    """``value`` unchanged, unless it is a local path and the app runs on a Space (then InputError)."""
    value = (value or "").strip()
    if value and ctx.on_space and looks_like_local_path(value):
        raise InputError(
            f"Local paths cannot be used as the {what} on the hosted Space. Give a Hub id (owner/name)"
            + (" or upload the file in the Dataset tab." if what == "dataset" else ".")
        )
    return os.path.expanduser(value) if not ctx.on_space and value.startswith("~") else value


def check_model(ctx: AppContext, model: str | None) -> str:
    model = check_local_allowed(ctx, model or "", "model")
    if not model:
        raise InputError("Choose a model: a Hub id such as distilbert-base-uncased.")
    return model


def uploads_folder(ctx: AppContext, identity: str) -> Path:
    return ctx.uploads_root / owner_key(identity)


def example_choices() -> list[tuple[str, str]]:
    """(title, file name) of each shipped example, for the picker."""
    from trainer_core.examples import EXAMPLES

    titles = {example.path.name: example.title for example in EXAMPLES.values()}
    return [(titles.get(name, name), name) for name in example_files()]


def _example_path(example: str | None) -> Path:
    from trainer_core.examples import EXAMPLES

    names = example_files()
    if example in EXAMPLES and EXAMPLES[example].path.name in names:  # the example's name also works
        example = EXAMPLES[example].path.name
    if not example or example not in names:
        shown = ", ".join(names) or "none are installed"
        raise InputError(f"Choose one of the example datasets ({shown}).")
    return EXAMPLES_DIR / example


def resolve_dataset(
    ctx: AppContext,
    visitor: str | None,
    username: str | None,
    source: str,
    dataset: str,
    upload_name: str,
    example: str,
) -> str:
    """What ``DataConfig.dataset`` should be: a Hub id, or a path to an upload of this visitor or an example."""
    if source == SOURCE_UPLOAD:
        identity = visitor_identity(visitor, username)
        return str(uploads.upload_path(uploads_folder(ctx, identity), upload_name))
    if source == SOURCE_EXAMPLE:
        return str(_example_path(example))
    dataset = check_local_allowed(ctx, dataset or "", "dataset")
    if not dataset:
        raise InputError("Give a Hub dataset id (e.g. nyu-mll/glue), or upload a file, or pick an example.")
    return dataset


def display_dataset(source: str, dataset: str, upload_name: str, example: str) -> str:
    """How the dataset is named in a shown command line: never the server's upload folder."""
    if source == SOURCE_UPLOAD:
        return upload_name or "your_file.csv"
    if source == SOURCE_EXAMPLE:
        return f"trainer_core/examples/{example}"
    return (dataset or "").strip()


def _column(value: Any) -> str | None:
    value = (value or "").strip() if isinstance(value, str) else value
    return value or None


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"'{value}' is not a number.") from None
    if number != int(number):
        raise InputError(f"'{value}' is not a whole number.")
    return int(number)


def data_config_from_form(
    ctx: AppContext,
    visitor: str | None,
    username: str | None,
    *,
    source: str,
    dataset: str,
    dataset_config: str,
    split: str,
    upload_name: str,
    example: str,
    text_column: str,
    text_pair_column: str,
    label_column: str,
    max_length: Any,
) -> DataConfig:
    """The ``DataConfig`` the Dataset tab's form describes (for the Train and Evaluate tabs too)."""
    return DataConfig(
        dataset=resolve_dataset(ctx, visitor, username, source, dataset, upload_name, example),
        dataset_config=(dataset_config or "").strip() or None if source == SOURCE_HUB else None,
        train_split=(split or "").strip() or "train",
        text_column=_column(text_column),
        text_pair_column=_column(text_pair_column),
        label_column=_column(label_column),
        max_length=_int_or_none(max_length),
    )


def error_update(message: str | None) -> dict[str, Any]:
    """The error box: shown with ``message``, hidden when None."""
    if not message:
        return gr.update(value="", visible=False)
    return gr.update(value=f"⚠️ {message}", visible=True)


def _token_of(oauth_token: gr.OAuthToken | None) -> str | None:
    return oauth_token.token if oauth_token is not None else None


def _column_update(columns: list[str], value: str | None, *, none_label: str) -> dict[str, Any]:
    choices = [(none_label, AUTO), *[(c, c) for c in columns]]
    return gr.update(choices=choices, value=value or AUTO)


# ------------------------------------------------------------------------------------------- the tab


def render(ctx: AppContext) -> None:
    examples = example_files()
    default_example = "sentiment.csv" if "sentiment.csv" in examples else (examples[0] if examples else None)
    default_source = SOURCE_EXAMPLE if examples else SOURCE_HUB
    visitor = ctx.shared["visitor"]
    typed_token = ctx.shared["token"]

    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            task = gr.Dropdown(
                [("Custom: your own columns", CUSTOM)] + [(p.title, p.name) for p in PRESETS.values()],
                value=CUSTOM,
                label="Task preset",
                info="A preset fills the dataset, columns, model and max length in one click.",
                elem_id="dataset-task",
            )
            source = gr.Radio(list(SOURCES), value=default_source, label="Data source", elem_id="dataset-source")
            with gr.Group(visible=default_source == SOURCE_HUB) as hub_group:
                dataset = gr.Textbox(
                    "",
                    label="Hub dataset id" + ("" if ctx.on_space else " (or a local file path)"),
                    placeholder="nyu-mll/glue",
                    info=field_help(DataConfig, "dataset") if not ctx.on_space else "A Hub dataset id: owner/name.",
                    elem_id="dataset-id",
                )
                dataset_config = gr.Textbox(
                    "", label="Config (subset)", info=field_help(DataConfig, "dataset_config"), elem_id="dataset-config"
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
                    label="Your uploads",
                    info="Only you see the files you upload.",
                    allow_custom_value=True,
                    elem_id="dataset-upload-name",
                )
            with gr.Group(visible=default_source == SOURCE_EXAMPLE) as example_group:
                example = gr.Dropdown(
                    example_choices(),
                    value=default_example,
                    label="Example dataset",
                    info="Small datasets written for this project: they work without the Hub.",
                    allow_custom_value=True,
                    elem_id="dataset-example",
                )
            split = gr.Textbox(value="train", label="Split", info="The split shown here and trained on.")
            with gr.Row():
                tokenizer = gr.Dropdown(
                    list(MODEL_CHOICES),
                    value=MODEL_CHOICES[0],
                    label="Tokenizer (model)",
                    info="Token lengths are measured with this model's tokenizer.",
                    allow_custom_value=True,
                    elem_id="dataset-tokenizer",
                )
                max_length = gr.Number(
                    value=DEFAULT_MAX_LENGTH,
                    label="Max length (tokens)",
                    precision=0,
                    minimum=8,
                    info=field_help(DataConfig, "max_length"),
                    elem_id="dataset-max-length",
                )
            with gr.Row():
                text_column = gr.Dropdown(
                    [("(detect)", AUTO)],
                    value=AUTO,
                    label="Text column",
                    allow_custom_value=True,
                    elem_id="dataset-text-column",
                )
                text_pair_column = gr.Dropdown(
                    [("(detect / none)", AUTO)],
                    value=AUTO,
                    label="Second text column",
                    allow_custom_value=True,
                    elem_id="dataset-text-pair-column",
                )
                label_column = gr.Dropdown(
                    [("(detect)", AUTO)],
                    value=AUTO,
                    label="Label column",
                    allow_custom_value=True,
                    elem_id="dataset-label-column",
                )
            preview_button = gr.Button("Preview", variant="primary", elem_id="dataset-preview")
            error_box = gr.Markdown(visible=False, elem_id="dataset-error", elem_classes=["ts-error"])
        with gr.Column(scale=3, min_width=360):
            summary = gr.Markdown("Choose a dataset and press **Preview**.", elem_id="dataset-summary")
            problems = gr.Markdown(elem_id="dataset-problems")
            with gr.Row():
                label_plot = gr.BarPlot(
                    None,
                    x="label",
                    y="rows",
                    title="Label distribution",
                    y_lim=[0, None],
                    height=260,
                    elem_id="dataset-labels",
                )
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
                    elem_id="dataset-token-lengths",
                )
            rows_table = gr.Dataframe(
                label="Rows", interactive=False, wrap=True, max_height=420, max_chars=200, elem_id="dataset-rows"
            )
            with gr.Accordion("Preview as JSON", open=False):
                preview_json = gr.JSON(label="Preview", elem_id="dataset-json")

    ctx.shared.update(
        dataset_source=source,
        dataset=dataset,
        dataset_config=dataset_config,
        split=split,
        upload_name=upload_name,
        example=example,
        task=task,
        text_column=text_column,
        text_pair_column=text_pair_column,
        label_column=label_column,
        max_length=max_length,
        tokenizer=tokenizer,
        dataset_error=error_box,
    )
    columns = [text_column, text_pair_column, label_column]

    # -- choosing where the data comes from
    def show_source(chosen: str):
        return (
            gr.update(visible=chosen == SOURCE_HUB),
            gr.update(visible=chosen == SOURCE_UPLOAD),
            gr.update(visible=chosen == SOURCE_EXAMPLE),
        )

    source.change(show_source, source, [hub_group, upload_group, example_group], api_visibility="private", queue=False)

    def new_data(*_: Any):
        """A different dataset: its columns are detected again."""
        return AUTO, AUTO, AUTO

    for trigger in (source.input, dataset.input, example.input, upload_name.input):
        trigger(new_data, None, columns, api_visibility="private", queue=False)
    source.input(lambda _: CUSTOM, source, task, api_visibility="private", queue=False)

    def apply_preset(name: str):
        preset = get_preset(name)
        if preset is None:
            return (gr.skip(),) * 5 + (AUTO, AUTO, AUTO, gr.skip(), gr.skip())
        return (
            SOURCE_HUB,
            preset.dataset,
            preset.dataset_config or "",
            preset.train_split,
            preset.model,
            preset.text_column,
            preset.text_pair_column or AUTO,
            preset.label_column,
            preset.max_length,
            error_update(None),
        )

    task.input(
        apply_preset,
        task,
        [source, dataset, dataset_config, split, tokenizer, *columns, max_length, error_box],
        api_visibility="private",
        queue=False,
    )

    # -- uploads
    def on_upload(visitor: str | None, file: str | None, profile: gr.OAuthProfile | None):
        """Keep an uploaded table in your own uploads folder; returns its stored name."""
        if not file:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            identity = visitor_identity(visitor, profile.username if profile else None)
            folder = uploads_folder(ctx, identity)
            name = uploads.store_upload(file, folder)
        except StudioError as err:
            return error_update(str(err)), None, gr.skip(), gr.skip()
        return (
            error_update(None),
            None,
            gr.update(choices=uploads.list_uploads(folder), value=name),
            SOURCE_UPLOAD,
        )

    upload_file.upload(
        on_upload,
        [visitor, upload_file],
        [error_box, upload_file, upload_name, source],
        api_name="upload",
    ).then(lambda: (AUTO, AUTO, AUTO, CUSTOM), None, [*columns, task], api_visibility="private", queue=False)

    def refresh_uploads(visitor_id: str | None, current: str | None, profile: gr.OAuthProfile | None):
        if not visitor_id and profile is None:
            return gr.skip()
        names = uploads.list_uploads(
            uploads_folder(ctx, visitor_identity(visitor_id, profile.username if profile else None))
        )
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    upload_name.focus(refresh_uploads, [visitor, upload_name], upload_name, api_visibility="private")
    gr.context.Context.root_block.load(refresh_uploads, [visitor, upload_name], upload_name, api_visibility="private")

    # -- the preview
    def preview_dataset(
        visitor: str | None,
        token: str | None = None,
        source: str | None = None,
        dataset: str | None = None,
        dataset_config: str | None = None,
        split: str | None = None,
        upload_file: str | None = None,
        upload_name: str | None = None,
        example: str | None = None,
        task: str | None = None,
        tokenizer: str | None = None,
        max_length: float | None = None,
        text_column: str | None = None,
        text_pair_column: str | None = None,
        label_column: str | None = None,
        oauth_token: gr.OAuthToken | None = None,
        profile: gr.OAuthProfile | None = None,
    ):
        """Preview a dataset: splits, rows, columns, label counts, token lengths and problems.

        Returns the same values the page shows; the JSON output is ``DatasetPreview.to_dict()``
        (or ``{"error": message}``).
        """
        username = profile.username if profile else None
        secret = pick_token(_token_of(oauth_token), token, on_space=ctx.on_space)
        uploads_update: Any = gr.skip()
        try:
            if source == SOURCE_UPLOAD and upload_file:
                folder = uploads_folder(ctx, visitor_identity(visitor, username))
                upload_name = uploads.store_upload(upload_file, folder)
                uploads_update = gr.update(choices=uploads.list_uploads(folder), value=upload_name)
            preset = get_preset(task or CUSTOM)
            cfg = data_config_from_form(
                ctx,
                visitor,
                username,
                source=source,
                dataset=dataset,
                dataset_config=dataset_config,
                split=split,
                upload_name=upload_name or "",
                example=example or "",
                text_column=text_column or "",
                text_pair_column=text_pair_column or "",
                label_column=label_column or "",
                max_length=max_length,
            )
            cfg = resolve_data(cfg, preset if source == SOURCE_HUB else None)
            warnings: list[str] = []
            tok = None
            if tokenizer and str(tokenizer).strip():
                from trainer_core.modeling import load_tokenizer

                try:
                    tok = load_tokenizer(check_model(ctx, tokenizer), secret)
                except StudioError as err:
                    warnings.append(f"Token lengths not measured: {err}")
            result = data_lib.preview(
                cfg, split=cfg.train_split, rows=PREVIEW_ROWS, tokenizer=tok, preset=preset, token=secret
            )
        except StudioError as err:
            message = _redact(str(err), secret)
            return (
                error_update(message),
                "No preview: fix the problem shown under **Preview** and try again.",
                pd.DataFrame(),
                gr.skip(),
                gr.skip(),
                gr.skip(),
                None,
                None,
                "",
                {"error": message},
                None if source == SOURCE_UPLOAD else gr.skip(),
                uploads_update,
            )
        info = result.to_dict()
        if warnings:
            info["warnings"] = warnings
        names = plots.column_choices(info)
        spec = info.get("columns")
        column_problem = next((p["message"] for p in info["problems"] if p["kind"] == "columns"), None)
        if spec:
            text_u = _column_update(names, spec["text"], none_label="(detect)")
            pair_u = _column_update(names, spec.get("text_pair"), none_label="(none)")
            label_u = _column_update(names, spec.get("label"), none_label="(detect)")
        else:
            text_u = gr.update(choices=[("(detect)", AUTO), *[(c, c) for c in names]])
            pair_u = gr.update(choices=[("(none)", AUTO), *[(c, c) for c in names]])
            label_u = gr.update(choices=[("(detect)", AUTO), *[(c, c) for c in names]])
        labels = plots.label_frame(info)
        histogram = plots.token_histogram_frame(info)
        rows = plots.rows_frame(info)
        return (
            error_update(column_problem),
            plots.preview_summary(info),
            gr.update(value=rows, column_widths=plots.column_widths(rows)),
            text_u,
            pair_u,
            label_u,
            # No `sort` here: in gradio 6.31 a sort sent with the value leaves the chart one update behind.
            # The charts are built with sort=None, which keeps the rows' own order (labels, then bins).
            gr.update(value=labels),
            gr.update(value=histogram if len(histogram) else None, caption=plots.truncation_caption(info)),
            plots.problems_markdown(info, warnings),
            info,
            None if source == SOURCE_UPLOAD else gr.skip(),
            uploads_update,
        )

    preview_button.click(
        preview_dataset,
        [
            visitor,
            typed_token,
            source,
            dataset,
            dataset_config,
            split,
            upload_file,
            upload_name,
            example,
            task,
            tokenizer,
            max_length,
            text_column,
            text_pair_column,
            label_column,
        ],
        [
            error_box,
            summary,
            rows_table,
            text_column,
            text_pair_column,
            label_column,
            label_plot,
            token_plot,
            problems,
            preview_json,
            upload_file,
            upload_name,
        ],
        api_name="preview",
    )


def _redact(message: str, token: str | None) -> str:
    from trainer_core.hub import redact

    return redact(message, token)
