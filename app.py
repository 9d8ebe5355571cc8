"""Hugging Face Space entry point: `python app.py` runs the same app locally."""

# spaces must be imported before anything initialises CUDA; off ZeroGPU its decorator is a no-op.
import spaces  # noqa: F401

from trainer_core.ui import build_app, launch_options

demo = build_app()

if __name__ == "__main__":
    demo.launch(**launch_options())
