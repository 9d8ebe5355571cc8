"""train tab."""

from __future__ import annotations

import gradio as gr

from trainer_core.ui.context import AppContext


def render(ctx: AppContext) -> None:
    gr.Markdown("Coming soon.")
