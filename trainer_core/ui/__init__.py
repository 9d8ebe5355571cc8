"""The Gradio app. Nothing outside this package (and app.py) imports gradio."""

from trainer_core.ui.app import build_app, launch_options

__all__ = ["build_app", "launch_options"]
