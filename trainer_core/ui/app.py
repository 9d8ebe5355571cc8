"""build_app(): the four tabs around one shared context."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from trainer_core.ui import dataset_tab, demo_tab, evaluate_tab, train_tab
from trainer_core.ui.context import AppContext, ensure_visitor_id

TITLE = "Trainer Studio"
INTRO = (
    "Fine-tune a text classifier in your browser: look at a dataset, train a BERT-style encoder with the "
    "🤗 Trainer, evaluate it, try it, and share it on the Hub."
)


def build_app(root: str | Path | None = None, *, train_fn=None, context: AppContext | None = None) -> gr.Blocks:
    """The whole app. ``root`` holds runs and uploads; ``train_fn`` replaces the training call in tests."""
    ctx = context or AppContext.create(root, train_fn=train_fn)
    with gr.Blocks(title=TITLE) as demo:
        visitor = gr.BrowserState(None, storage_key="trainer-studio-visitor", secret=ctx.browser_secret)
        ctx.shared["visitor"] = visitor
        with gr.Row():
            gr.Markdown(f"# {TITLE}\n{INTRO}")
            with gr.Column(scale=0, min_width=260):
                gr.Markdown(f"**Hardware:** {ctx.hardware.describe()}", elem_id="hardware")
                if ctx.on_space:
                    gr.LoginButton()
                ctx.shared["token"] = gr.Textbox(
                    label="Hugging Face token (optional)",
                    type="password",
                    placeholder="hf_… for private data or pushing" if not ctx.on_space else "or sign in above",
                    elem_id="hf-token",
                )
        with gr.Tabs():
            with gr.Tab("Dataset", id="dataset"):
                dataset_tab.render(ctx)
            with gr.Tab("Train", id="train"):
                train_tab.render(ctx)
            with gr.Tab("Evaluate", id="evaluate"):
                evaluate_tab.render(ctx)
            with gr.Tab("Demo", id="demo"):
                demo_tab.render(ctx)
        demo.load(ensure_visitor_id, visitor, visitor, api_visibility="private")
    # Many visitors: queued in order; one training per GPU is enforced by the job manager.
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo
