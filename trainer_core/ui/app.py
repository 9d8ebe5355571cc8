"""build_app(): the header and the four tabs, each a module that returns a small handle, wired here.

Dataset -> Train -> Evaluate -> Demo: each tab's "Next" button and the Train tab's "Evaluate this run" /
"Try it in the Demo" buttons move along the steps; the run followed in the Train tab becomes the model of
the Evaluate and Demo tabs when it has one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import gradio as gr

from trainer_core.ui import dataset_tab, demo_tab, evaluate_tab, train_tab
from trainer_core.ui.common import Header, bind
from trainer_core.ui.context import AppContext, ensure_visitor_id

TITLE = "Trainer Studio"
INTRO = (
    "Fine-tune a text classifier in your browser: look at a dataset, train a BERT-style encoder with the "
    "🤗 Trainer, evaluate it, try it, and share it on the Hub."
)
TABS = ("dataset", "train", "evaluate", "demo")

# A Hugging Face look: the Hub's yellow and the system font stack, which a Space shows without a download.
# Fonts are Font objects, not strings: gradio's launch analytics compare the theme with the built-in ones
# through Font.__eq__, which a plain string breaks.
THEME = gr.themes.Soft(
    primary_hue=gr.themes.colors.amber,
    secondary_hue=gr.themes.colors.orange,
    neutral_hue=gr.themes.colors.gray,
    font=[gr.themes.Font(name) for name in ("Source Sans Pro", "ui-sans-serif", "system-ui", "sans-serif")],
).set(button_primary_text_color="#1f2937")

CSS = """
#ts-header { align-items: center; gap: 12px; flex-wrap: wrap; }
#ts-header > div { min-width: 0; }
#ts-title h1 { margin: 0; font-size: 1.8rem; }
.ts-step { border-left: 4px solid #ffcc4d; padding-left: 10px; }
.ts-error { border: 1px solid #e45756; background: #fff4f2; border-radius: 8px; padding: 6px 12px; color: #8a1c12; }
/* gradio gives a Markdown's classes to its block and again to the text inside: the frame is the block's. */
.ts-step .ts-step, .ts-error .ts-error { border: 0; padding: 0; background: none; border-radius: 0; }
/* A dropdown's text stops before its arrow (the input ran under it), and a text too long ends in "…". */
.wrap-inner .secondary-wrap input { padding-right: 24px; text-overflow: ellipsis; }
/* Table cells break between words, never inside one: breaking anywhere let a column shrink to a letter. */
.table-wrap span.text.wrap { word-break: normal; overflow-wrap: break-word; }
/* A legend drawn beside its chart (plots.legend_html), shown while the chart is: gradio leaves a hidden
   component out of the page. */
.ts-legend { display: flex; flex-wrap: wrap; gap: 2px 12px; justify-content: center; font-size: 12px; }
.ts-legend-item { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.ts-legend-item i { display: inline-block; width: 14px; height: 3px; border-radius: 2px; }
.ts-legend-title { font-weight: 600; white-space: nowrap; }
#train-metrics-box { gap: 4px; }
#train-metrics-legend { display: none; }
#train-metrics-box:has(#train-metrics, #train-metrics-points) #train-metrics-legend { display: block; }
/* The log box shows its newest line: the textarea scrolls to the end on each update (see follow_log). */
@media (max-width: 480px) {
  #ts-header { flex-direction: column; align-items: stretch; }
  #ts-title h1 { font-size: 1.4rem; }
  .ts-step { font-size: 0.95rem; }
  /* The four steps on one line of a phone (they wrap to a second one rather than hide in a menu). */
  #ts-tabs .tab-container button { padding: 0 6px; font-size: 13px; }
}
"""

# Keep the log's newest line in view: scroll the textarea to its end whenever its value changes.
JS = """
() => {
  const follow = () => {
    const box = document.querySelector('#train-log textarea');
    if (box) box.scrollTop = box.scrollHeight;
  };
  new MutationObserver(follow).observe(document.body, {subtree: true, childList: true, characterData: true});
  document.addEventListener('input', follow, true);
  setInterval(follow, 1000);
}
"""


def launch_options() -> dict:
    """What ``demo.launch`` needs: the look (gradio 6 takes theme, css and js at launch), the limits on what a
    request may send (bodies read into memory, and uploads), the cookie that tells API callers apart
    (``caller``) and the ``/api/predict`` route."""
    from starlette.middleware import Middleware

    from trainer_core.files import DEFAULT_MAX_BYTES
    from trainer_core.runtime import on_space
    from trainer_core.ui.caller import CallerCookie
    from trainer_core.ui.predict_route import predict_routes
    from trainer_core.ui.request_limit import RequestSizeLimit

    return {
        "theme": THEME,
        "css": CSS,
        "js": JS,
        "max_file_size": DEFAULT_MAX_BYTES,
        # The plain JSON /api/predict beside Gradio's own routes (FastAPI takes extra routes at construction).
        "app_kwargs": {
            "middleware": [Middleware(RequestSizeLimit), Middleware(CallerCookie)],
            "routes": predict_routes(on_space=on_space()),
        },
    }


def _max_length_text(text: object) -> str:
    """One tab's max length box for the other's: both are text boxes, and empty means the config's default."""
    return "" if text is None else str(text).strip()


def _select(tab: str):
    return gr.Tabs(selected=tab)


def build_app(root: str | Path | None = None, *, train_fn=None, context: AppContext | None = None) -> gr.Blocks:
    """The whole app. ``root`` holds runs and uploads; ``train_fn`` replaces the training call in tests."""
    ctx = context or AppContext.create(root, train_fn=train_fn)
    demo = _build_in_a_loop(ctx)
    # Runs a previous process left paused (a restart, a Space's sleep) go on once this app serves, not before:
    # start-up stays quick and books no GPU.
    ctx.jobs.recover(ready=lambda: bool(demo.is_running))
    return demo


def _build_in_a_loop(ctx: AppContext) -> gr.Blocks:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return _build(ctx)

    # gradio makes each of its locks with `safe_get_lock`, which outside a running loop creates a new event loop
    # and drops the one before it, unclosed. The garbage collector then finalizes such a loop after its sockets
    # and prints "Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor" at start-up. Inside a
    # running loop gradio creates none; `asyncio.run` closes this one. Locks bind to a loop when first used.
    async def inside_a_loop() -> gr.Blocks:
        return _build(ctx)

    return asyncio.run(inside_a_loop())


def _build(ctx: AppContext) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as demo:
        visitor = gr.BrowserState(None, storage_key="trainer-studio-visitor", secret=ctx.browser_secret)
        with gr.Row(elem_id="ts-header", equal_height=False):
            with gr.Column(scale=3, min_width=240, elem_id="ts-title"):
                gr.Markdown(f"# {TITLE}\n{INTRO}")
            with gr.Column(scale=1, min_width=240):
                gr.Markdown(f"**Hardware:** {ctx.hardware.describe()}", elem_id="hardware")
                if ctx.on_space:
                    gr.LoginButton()
                token = gr.Textbox(
                    label="Hugging Face token (optional)",
                    type="password",
                    placeholder="hf_… for private data or pushing" if not ctx.on_space else "or sign in above",
                    elem_id="hf-token",
                )
        header = Header(visitor=visitor, token=token)
        # "wrap": tabs that do not fit go to a second line; gradio's default hides them in a "..." menu.
        with gr.Tabs(selected="dataset", overflow_behavior="wrap", elem_id="ts-tabs") as tabs:
            with gr.Tab("1 · Dataset", id="dataset"):
                data = dataset_tab.build(ctx, header)
            with gr.Tab("2 · Train", id="train"):
                train = train_tab.build(ctx, header, data)
            with gr.Tab("3 · Evaluate", id="evaluate"):
                evaluation = evaluate_tab.build(ctx, header)
            with gr.Tab("4 · Demo", id="demo"):
                trial = demo_tab.build(ctx, header)
        demo.load(ensure_visitor_id, visitor, visitor, api_visibility="private")
        _wire(ctx, header, tabs, data, train, evaluation, trial)
    # Many visitors: queued in order; one training per GPU is enforced by the job manager.
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


def _wire(
    ctx: AppContext,
    header: Header,
    tabs: gr.Tabs,
    data: dataset_tab.DatasetTab,
    train: train_tab.TrainTab,
    evaluation: evaluate_tab.EvaluateTab,
    trial: demo_tab.DemoTab,
) -> None:
    private = {"api_visibility": "private", "queue": False}
    # The tokenizer measured in the Dataset tab is the model trained in the Train tab, and the same max length.
    data.tokenizer.change(lambda v: v, data.tokenizer, train.model, **private)
    train.model.input(lambda v: v, train.model, data.tokenizer, **private)
    data.max_length.change(_max_length_text, data.max_length, train.max_length, **private)
    train.max_length.input(_max_length_text, train.max_length, data.max_length, **private)

    # The run followed in the Train tab becomes the model of Evaluate and Demo once it has a model: when it
    # is picked, and when it ends while followed.
    for trigger in (train.runs.change, train.run_state.change):
        trigger(
            bind(ctx, evaluate_tab.follow_run), [train.runs, header.visitor], [evaluation.model, evaluation.dataset],
            api_visibility="private",
        )  # fmt: skip
        trigger(
            bind(ctx, demo_tab.follow_run), [train.runs, header.visitor], [trial.model, trial.mode],
            api_visibility="private",
        )  # fmt: skip

    # Steps: Next buttons, and the finished run's actions.
    data.next_button.click(lambda: _select("train"), None, tabs, **private)
    train.next_button.click(lambda: _select("evaluate"), None, tabs, **private)
    evaluation.next_button.click(lambda: _select("demo"), None, tabs, **private)
    train.evaluate_button.click(
        bind(ctx, evaluate_tab.follow_run), [train.runs, header.visitor], [evaluation.model, evaluation.dataset],
        api_visibility="private",
    ).then(lambda: _select("evaluate"), None, tabs, **private)  # fmt: skip
    train.demo_button.click(
        bind(ctx, demo_tab.follow_run), [train.runs, header.visitor], [trial.model, trial.mode],
        api_visibility="private",
    ).then(lambda: _select("demo"), None, tabs, **private)  # fmt: skip
