"""Demo tab: class probabilities for one text (sentiment) or two texts (paraphrase), and batch predictions.

By default each mode uses a well-known public fine-tuned checkpoint, so the tab works the moment the Space
starts; any of the visitor's runs or any Hub model can be chosen instead. Predictions go through
``get_predictor`` (loaded once, cached). Named API endpoints: ``predict`` (text, text_pair, model) ->
{label: probability}, and ``predict_batch`` (a table file) -> a CSV with the predictions.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from trainer_core.errors import InputError, StudioError
from trainer_core.files import SUPPORTED_SUFFIXES, format_names
from trainer_core.tasks import PRESETS
from trainer_core.textlimits import check_prediction_texts
from trainer_core.ui import charts, sources
from trainer_core.ui.common import (
    Header,
    bind,
    caller_identity,
    error_box,
    error_update,
    secret,
    user_error,
    user_message,
)
from trainer_core.ui.context import AppContext
from trainer_core.ui.evaluate_tab import run_choices


def get_predictor(*args: Any, **kwargs: Any) -> Any:
    """``inference.get_predictor``, imported on first use: torch and transformers stay out of start-up."""
    from trainer_core.stack import load_stack

    load_stack()  # the background preload and visitors' first calls must not import the stack concurrently
    from trainer_core.inference import get_predictor as load

    return load(*args, **kwargs)


logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
PARAPHRASE = "paraphrase"
MODES = [("Sentiment: one text", SENTIMENT), ("Paraphrase: two texts", PARAPHRASE)]
DEFAULT_CHOICE = "default"
# Public fine-tuned checkpoints with safetensors weights on their main branch (our loader refuses pickles).
DEFAULT_MODELS = {SENTIMENT: PRESETS["sst2"].demo_model, PARAPHRASE: PRESETS["mrpc"].demo_model}
# The paraphrase checkpoint names its classes LABEL_0 / LABEL_1 (0 = not a paraphrase, as in GLUE MRPC).
DEFAULT_ALIASES = {
    SENTIMENT: {},
    PARAPHRASE: {"LABEL_0": "not paraphrase", "LABEL_1": "paraphrase"},
}
BATCH_MAX_ROWS = 5_000
BATCH_MAX_BYTES = 20 * 1024 * 1024
BATCH_KEEP_SECONDS = 3_600
PREVIEW_ROWS = 20
# Predictions of one model by concurrent callers are gathered into shared forward passes by the Predictor;
# Gradio must let that many callers in at once for it to gather them (its default group limit is 4).
PREDICT_CONCURRENCY = 32

SENTIMENT_EXAMPLES = [
    ["The staff were friendly and the pasta was the best I've had in years."],
    ["The battery died after two days and support never answered my emails."],
    ["A slow start, but the last hour is gripping and the ending is perfect."],
    ["It looks nice, but it stopped working after a week. Not worth the price."],
]
PARAPHRASE_EXAMPLES = [
    ["The meeting has been moved to Thursday.", "We rescheduled the meeting for Thursday."],
    ["The price of coffee rose by 5 percent last month.", "Coffee got 5 percent cheaper last month."],
    [
        "The company plans to hire 50 new engineers this year.",
        "This year the firm intends to add 50 engineers to its staff.",
    ],
    ["Maria bought a used bike on Monday.", "Maria sold her old bike on Monday."],
]

_batch_dirs: list[tuple[float, Path]] = []
_batch_lock = threading.Lock()


def batch_dir() -> Path:
    """A fresh folder for one request's output file; folders older than an hour are removed."""
    now = time.time()
    with _batch_lock:
        while _batch_dirs and now - _batch_dirs[0][0] > BATCH_KEEP_SECONDS:
            _, old = _batch_dirs.pop(0)
            shutil.rmtree(old, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix="trainer-studio-batch-"))
        _batch_dirs.append((now, folder))
    return folder


def default_model(mode: str | None, text_pair: str | None = None) -> str:
    if mode not in DEFAULT_MODELS:
        mode = PARAPHRASE if text_pair else SENTIMENT
    return DEFAULT_MODELS[mode]


def aliases_for(model: str) -> dict[str, str]:
    for mode, name in DEFAULT_MODELS.items():
        if model == name:
            return DEFAULT_ALIASES[mode]
    return {}


@dataclass
class DemoTab:
    """What other tabs need from this one."""

    model: gr.Dropdown
    mode: gr.Radio


def model_kind(ctx: AppContext, choice: str | None, identity: Callable[[], str]) -> str | None:
    """PARAPHRASE for a model trained on text pairs, SENTIMENT for single texts, None when it cannot be told
    (a Hub model that is not one of ours)."""
    text = (choice or "").strip()
    known = known_kind(text)
    if known is not None:
        return known
    if text.startswith(sources.RUN_PREFIX):
        try:
            pair = sources.run_is_pair(ctx.jobs, identity(), sources.run_id_of(text))
        except StudioError:
            return None
        return None if pair is None else PARAPHRASE if pair else SENTIMENT
    return None


def known_kind(model: str | None) -> str | None:
    """The kind of a default or preset checkpoint, None for any other model."""
    text = (model or "").strip()
    for mode, name in DEFAULT_MODELS.items():
        if text == name:
            return mode
    for preset in PRESETS.values():
        if text and text == preset.demo_model:
            return PARAPHRASE if preset.is_pair else SENTIMENT
    return None


def check_kind(kind: str | None, pair: str | None) -> None:
    """Refuse a pair for a single-text model and a single text for a pair model, with the way out."""
    if kind == SENTIMENT and pair:
        raise InputError(
            "This model was trained on single texts, but two texts were given: use Sentiment mode "
            "(one text), or pick a model trained on pairs."
        )
    if kind == PARAPHRASE and not pair:
        raise InputError(
            "This model was trained on text pairs: give the second text too (Paraphrase mode), or pick a "
            "model trained on single texts."
        )


def _model_for(ctx: AppContext, choice: str | None, mode: str | None, text_pair: str | None, identity) -> str:
    text = (choice or "").strip()
    if not text or text == DEFAULT_CHOICE:
        return default_model(mode, text_pair)
    return sources.resolve_model(text, jobs=ctx.jobs, identity=identity, on_space=ctx.on_space)


def _shown(choice: str | None, resolved: str) -> str:
    """How to name the model to the visitor: 'run:<id>' for a run, not its folder on the server."""
    text = (choice or "").strip()
    return text if text.startswith(sources.RUN_PREFIX) else resolved


def _clean_pair(mode: str | None, text_pair: str | None) -> str | None:
    if mode == SENTIMENT:
        return None
    if text_pair is None:
        return None
    return str(text_pair)


def _warm_default_models() -> None:
    """Load the default checkpoints in the background so the first visitor does not wait for the download."""
    for name in DEFAULT_MODELS.values():
        try:
            get_predictor(name)
        except StudioError as err:  # the first prediction will show the same message to the visitor
            logger.warning("Could not preload %s: %s", name, err)


def predict_ui(
    ctx: AppContext,
    text: str | None,
    text_pair: str | None,
    mode: str | None,
    choice: str | None,
    visitor: str | None,
    token: str | None,
    profile: gr.OAuthProfile | None = None,
    oauth_token: gr.OAuthToken | None = None,
):
    """The page's Predict: the error callout, the class probabilities and which model answered."""
    hf_token = secret(oauth_token, token, ctx)
    pair = _clean_pair(mode, text_pair)
    try:

        def identity() -> str:
            return caller_identity(visitor, profile, None)

        if mode == PARAPHRASE and not (pair or "").strip():
            raise InputError("Paraphrase mode compares two texts: fill in the second text too.")
        check_prediction_texts(text, pair)  # before any model is fetched
        choice_kind = model_kind(ctx, choice, identity) if (choice or "").strip() not in ("", DEFAULT_CHOICE) else None
        if choice_kind is not None and choice_kind != (mode or SENTIMENT):
            check_kind(choice_kind, pair)
        name = _model_for(ctx, choice, mode, pair, identity)
        started = time.perf_counter()
        predictor = get_predictor(name, token=hf_token)
        scores = predictor.predict(text or "", pair)
        seconds = time.perf_counter() - started
    except Exception as err:
        # The previous text's probabilities go: beside the error they would read as this text's.
        return error_update(user_message(err, hf_token, token)), None, ""
    shown = f"Model: `{_shown(choice, name)}` · {seconds:.2f} s"
    value, note = shown_prediction(predictor, scores, aliases_for(name))
    return error_update(None), value, shown + note


def shown_prediction(predictor: Any, scores: dict[str, float], aliases: dict[str, str]) -> tuple[Any, str]:
    """What the probabilities box shows for a model's kind, and a note for the status line.

    A regression shows its number (as the box's heading); a multi-label model each label's own probability
    and, in the note, the labels over their thresholds; a classifier its class probabilities.
    """
    answer = predictor.answer(scores)
    if "score" in answer:
        return f"{next(iter(scores))}: {answer['score']:.4g}", " · regression: the predicted number"
    value = charts.label_output(scores, aliases)
    if "labels" in answer:
        over = ", ".join(f"**{aliases.get(n, n)}**" for n in answer["labels"]) or "none"
        return value, f" · multi-label: each label's own probability; over their thresholds: {over}"
    return value, ""


def predict(
    ctx: AppContext,
    text: str,
    text_pair: str | None = None,
    model: str | None = None,
    profile: gr.OAuthProfile | None = None,
    oauth_token: gr.OAuthToken | None = None,
    request: gr.Request = None,
) -> dict:
    """Class probabilities for a text, or a pair of texts when text_pair is given.

    model: 'run:<run id>' (one of your runs, from the same client session), a Hub model id, or empty for
    the default public checkpoint (sentiment for one text, paraphrase for two). Off a Space, a local model
    folder works too. A pair given to a model trained on single texts (or the reverse) is refused.
    A regression model answers {"score": number}; a multi-label one {"labels": [over their thresholds],
    "scores": {label: probability}, "thresholds": {label: threshold}}.
    """
    hf_token = secret(oauth_token, None, ctx)
    pair = text_pair if text_pair not in (None, "") else None
    try:

        def identity() -> str:
            return caller_identity(None, profile, request)

        check_prediction_texts(text, pair)  # before any model is fetched
        if (model or "").strip() not in ("", DEFAULT_CHOICE):
            check_kind(model_kind(ctx, model, identity), pair)
        name = _model_for(ctx, model, None, pair, identity)
        predictor = get_predictor(name, token=hf_token)
        scores = predictor.predict(text or "", pair)
    except Exception as err:
        raise user_error(err, hf_token) from err
    if getattr(predictor, "task_type", "single_label") != "single_label":
        return predictor.answer(scores)  # {"score": ...}, or {"labels", "scores", "thresholds"}
    return charts.label_output(scores, aliases_for(name))


def predict_batch(
    ctx: AppContext,
    visitor: str | None,
    token: str | None,
    file: str | None,
    mode: str | None,
    model: str | None,
    profile: gr.OAuthProfile | None = None,
    oauth_token: gr.OAuthToken | None = None,
    request: gr.Request | None = None,
):
    """Predict every row of a table file; the CSV with the predictions, a status line and the first rows."""
    from trainer_core.files import read_table

    hf_token = secret(oauth_token, token, ctx)
    try:
        if not file:
            raise InputError("Upload a file of texts first.")
        pair_mode = mode == PARAPHRASE
        frame = read_table(file, max_bytes=BATCH_MAX_BYTES)
        frame.columns = [str(c) for c in frame.columns]
        if len(frame) == 0:
            raise InputError(f"{Path(file).name} has no rows.")
        if len(frame) > BATCH_MAX_ROWS:
            raise InputError(
                f"{Path(file).name} has {len(frame):,} rows; the demo predicts at most {BATCH_MAX_ROWS:,}. "
                "Split the file, or use `python -m trainer_core predict` on your machine."
            )
        text_col, pair_col = charts.batch_columns(frame, pair=pair_mode)
        texts = charts.batch_texts(frame, text_col)
        pairs = charts.batch_texts(frame, pair_col) if pair_col else None
        keep = [bool(t) and (pairs is None or bool(pairs[i])) for i, t in enumerate(texts)]

        def identity() -> str:
            return caller_identity(visitor, profile, request)

        name = _model_for(ctx, model, mode, None, identity)
        predictor = get_predictor(name, token=hf_token)
        labels = [aliases_for(name).get(label, label) for label in predictor.label_names]
        probs = np.zeros((len(frame), len(labels)))
        rows = [i for i, ok in enumerate(keep) if ok]
        started = time.perf_counter()
        if rows:
            probs[rows] = predictor.predict_proba(
                [texts[i] for i in rows], [pairs[i] for i in rows] if pairs is not None else None
            )
        seconds = time.perf_counter() - started
        result = charts.predictions_frame(
            frame, probs, labels, predicted=keep, task_type=predictor.task_type, thresholds=predictor.thresholds
        )
        path = charts.write_predictions_csv(result, batch_dir(), Path(file).name)
    except Exception as err:
        # The previous file's results go: an error shown beside them would read as theirs.
        return error_update(user_message(err, hf_token, token)), None, "", gr.update(value=None, visible=False)
    skipped = len(frame) - len(rows)
    note = f" {skipped} rows with an empty text were left without a prediction." if skipped else ""
    status = f"Predicted {len(rows):,} rows with `{_shown(model, name)}` in {seconds:.1f} s.{note}"
    added = [c for c in result.columns if c not in frame.columns]
    preview = result[[*added, *frame.columns]].head(PREVIEW_ROWS)  # the predictions first, in view
    return error_update(None), str(path), status, gr.update(value=preview, visible=True)


def predict_batch_api(
    ctx: AppContext,
    file: str | None,
    mode: str | None = SENTIMENT,
    model: str | None = "",
    token: str | None = "",
    profile: gr.OAuthProfile | None = None,
    oauth_token: gr.OAuthToken | None = None,
    request: gr.Request = None,
):
    """The public ``/predict_batch``: the caller is its client session (or sign-in), as for ``/predict``."""
    return predict_batch(ctx, None, token, file, mode, model, profile, oauth_token, request)


def switch_mode(chosen: str):
    pair = chosen == PARAPHRASE
    return (
        gr.update(visible=pair),
        gr.update(visible=not pair),
        gr.update(visible=pair),
        gr.update(value=None),
        error_update(None),
    )


def default_choices() -> list[tuple[str, str]]:
    # Short: the two ids do not fit in the box (they are named in its info line).
    return [("Default for the mode", DEFAULT_CHOICE)]


def refresh_runs(ctx: AppContext, visitor: str | None, profile: gr.OAuthProfile | None = None):
    return gr.update(choices=run_choices(ctx, visitor, profile, default_choices()))


def mode_for_model(ctx: AppContext, choice: str | None, visitor: str | None, profile: gr.OAuthProfile | None = None):
    """A model chosen here sets the mode it was trained for (unchanged when that cannot be told)."""
    kind = model_kind(ctx, choice, lambda: caller_identity(visitor, profile, None))
    return kind if kind is not None else gr.skip()


def follow_run(ctx: AppContext, value: Any, visitor: str | None, profile: gr.OAuthProfile | None = None):
    """The run picked in the Train tab becomes the demo's model, in the mode it was trained for."""
    try:
        run_id = sources.run_id_of(value)
    except StudioError:
        run_id = None
    choices = run_choices(ctx, visitor, profile, default_choices())
    wanted = sources.run_choice(run_id) if run_id else None
    if not wanted or all(v != wanted for _, v in choices):
        return gr.update(choices=choices), gr.skip()
    return gr.update(choices=choices, value=wanted), mode_for_model(ctx, wanted, visitor, profile)


def build(ctx: AppContext, header: Header) -> DemoTab:
    if ctx.on_space:
        threading.Thread(target=_warm_default_models, name="warm-demo-models", daemon=True).start()
    visitor = header.visitor
    token_box = header.token
    local_hint = "" if ctx.on_space else ", or a local model folder"

    gr.Markdown(
        "**Step 4 of 4 · Demo.** Try a classifier. **Sentiment** takes one text; **Paraphrase** takes two and "
        "says whether they mean the same. The default models are public checkpoints fine-tuned on SST-2 and "
        "MRPC; pick one of your runs or type any Hub model id to use it instead.",
        elem_classes=["ts-step"],
    )
    with gr.Row():
        mode = gr.Radio(MODES, value=SENTIMENT, label="Mode", elem_id="demo-mode", scale=1)
        with gr.Row(scale=2):
            model = gr.Dropdown(
                choices=default_choices(),
                value=DEFAULT_CHOICE,
                allow_custom_value=True,
                label="Model",
                info=f"The default for the mode ({DEFAULT_MODELS[SENTIMENT]} for sentiment, "
                f"{DEFAULT_MODELS[PARAPHRASE]} for paraphrase), one of your runs, or a Hub model id "
                f"(owner/name){local_hint}.",
                elem_id="demo-model",
                scale=5,
            )
            refresh = gr.Button("↻ Runs", size="sm", scale=1, min_width=80, elem_id="demo-refresh")
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Text", lines=3, placeholder="Type a review…", elem_id="demo-text")
            # The column, not the textbox, is shown and hidden: clicking an example restores the
            # textbox's own properties as they were built, which would hide it again.
            with gr.Column(visible=False) as pair_box:
                text_pair = gr.Textbox(
                    label="Second text",
                    lines=3,
                    placeholder="Type a sentence to compare with the first…",
                    elem_id="demo-text-pair",
                )
            predict_button = gr.Button("Predict", variant="primary", elem_id="demo-predict")
            errors = error_box("demo-error")
            with gr.Column(visible=True) as sentiment_examples_box:
                sentiment_examples = gr.Examples(SENTIMENT_EXAMPLES, inputs=[text], label="Examples: click one")
            with gr.Column(visible=False) as paraphrase_examples_box:
                paraphrase_examples = gr.Examples(
                    PARAPHRASE_EXAMPLES, inputs=[text, text_pair], label="Examples: click one"
                )
        with gr.Column():
            probabilities = gr.Label(label="Class probabilities", num_top_classes=10, elem_id="demo-label")
            used = gr.Markdown(elem_id="demo-status")

    with gr.Accordion("Batch: predict a file of texts", open=False):
        gr.Markdown(
            f"Upload a {format_names()} file with a `text` column (sentiment) or `sentence1` "
            f"and `sentence2` columns (paraphrase), at most {BATCH_MAX_ROWS:,} rows. You get the same table back "
            "with the predicted label and one probability column per label."
        )
        with gr.Row():
            batch_file = gr.File(
                label="Texts",
                file_types=list(SUPPORTED_SUFFIXES),
                type="filepath",
                elem_id="demo-batch-file",
            )
            batch_result = gr.File(label="Predictions (CSV)", interactive=False, elem_id="demo-batch-result")
        batch_button = gr.Button("Predict the file", elem_id="demo-batch-run")
        batch_error = error_box("demo-batch-error")
        batch_status = gr.Markdown(elem_id="demo-batch-status")
        batch_preview = gr.Dataframe(
            label=f"First {PREVIEW_ROWS} rows",
            interactive=False,
            wrap=True,
            visible=False,  # no empty placeholder table before a file has been predicted
            elem_id="demo-batch-preview",
        )

    predict_inputs = [text, text_pair, mode, model, visitor, token_box]
    predict_outputs = [errors, probabilities, used]
    handler = bind(ctx, predict_ui)
    # Gradio lets the lowest limit of the group apply, so every event of the group names it.
    gathered = {"concurrency_id": "predict", "concurrency_limit": PREDICT_CONCURRENCY}
    predict_button.click(handler, predict_inputs, predict_outputs, api_visibility="private", **gathered)
    text.submit(handler, predict_inputs, predict_outputs, api_visibility="private", **gathered)
    for examples in (sentiment_examples, paraphrase_examples):
        examples.load_input_event.then(handler, predict_inputs, predict_outputs, api_visibility="private", **gathered)
    gr.api(bind(ctx, predict), api_name="predict", **gathered)

    batch_outputs = [batch_error, batch_result, batch_status, batch_preview]
    batch_button.click(
        bind(ctx, predict_batch),
        [visitor, token_box, batch_file, mode, model],
        batch_outputs,
        api_name="ui_predict_batch",
        api_visibility="undocumented",
        concurrency_id="evaluate",
        concurrency_limit=2,
    )
    # The public endpoint takes no visitor value: an invisible trigger carries it, so its file input is a real
    # upload (gr.api has none) and the page's own event keeps the browser's identity.
    batch_api = gr.Button(visible=False, elem_id="demo-batch-api")
    batch_api.click(
        bind(ctx, predict_batch_api),
        [batch_file, mode, model, token_box],
        batch_outputs,
        api_name="predict_batch",
        api_description="Predict every row of a table file; returns a CSV with the predictions.",
        concurrency_id="evaluate",
        concurrency_limit=2,
    )
    mode.change(
        switch_mode,
        mode,
        [pair_box, sentiment_examples_box, paraphrase_examples_box, probabilities, errors],
        api_visibility="private",
        queue=False,
    )
    model.input(bind(ctx, mode_for_model), [model, visitor], mode, api_visibility="private")
    for trigger in (refresh.click, visitor.change):
        trigger(bind(ctx, refresh_runs), inputs=visitor, outputs=model, api_visibility="private")
    return DemoTab(model=model, mode=mode)
