"""The whole app in a real browser, as a person uses it: Dataset -> Train -> Evaluate -> Demo.

Upload the shipped sentiment example in the Dataset tab and preview it with the tiny model's tokenizer,
train the tiny model for a few steps (live curves, finished state), evaluate that run, and get a
prediction from it in the Demo tab. No console errors and no uncaught page errors anywhere on the way
(see ``is_ignored_console_error`` in chromium.py for the one kind that is tolerated). Screenshots of
each step land in tests/e2e/screenshots/.
"""

from __future__ import annotations

import json
import time

import pytest
import studio_flow as flow
from chromium import is_ignored_console_error

from trainer_core.examples import EXAMPLES
from trainer_core.jobs import MODEL_DIR, STATUS_FILE

pytestmark = pytest.mark.e2e

LABELS = ("negative", "positive")
MAX_STEPS = 30
EVAL_STEPS = 10


def test_dataset_train_evaluate_demo(page, studio_app, tiny_model):
    started = time.perf_counter()
    model = str(tiny_model)
    csv = EXAMPLES["sentiment"].path

    flow.open_app(page.page, studio_app.url)
    page.shot("00-loaded")

    flow.preview_upload(page.page, csv, model, labels=LABELS, rows=320)
    page.shot("01-dataset")

    run_id = flow.train(page.page, model, max_steps=MAX_STEPS, eval_steps=EVAL_STEPS, learning_rate=5e-3)
    page.shot("02-train")
    # What the page showed is what the server has: a finished run, with its model saved.
    (run_dir,) = studio_app.ctx.jobs.root.glob(f"*/{run_id}")
    assert json.loads((run_dir / STATUS_FILE).read_text())["state"] == "finished"
    assert (run_dir / MODEL_DIR / "config.json").is_file()

    flow.evaluate(page.page, run_id, labels=LABELS)
    page.shot("03-evaluate")

    flow.predict(page.page, run_id, "The film was great, a wonderful story and brilliant acting.", labels=LABELS)
    page.shot("04-demo")

    flow.expect_no_error_boxes(page.page)
    assert not page.problems(), "the browser reported errors:\n" + "\n".join(page.problems())
    print(f"browser flow: {time.perf_counter() - started:.1f} s; ignored: {page.ignored or 'nothing'}")


def test_a_three_step_run_draws_its_single_points(page, studio_app, tiny_model):
    """Max steps 3: one train loss, one eval loss, one score each. A line chart shows a lone point only under
    the mouse (empty grids before); the Train tab draws such series as points until each has two."""
    model = str(tiny_model)
    flow.open_app(page.page, studio_app.url)
    flow.preview_upload(page.page, EXAMPLES["sentiment"].path, model, labels=LABELS, rows=320)
    flow.start_training(page.page, model, max_steps=3, eval_steps=3, learning_rate=5e-3)
    page.shot("05-three-steps")
    flow.expect_points(flow.chart(page.page, "train-loss-points"), "eval", points=1)
    flow.expect_points(flow.chart(page.page, "train-metrics-points"), "Accuracy", points=1)
    flow.expect(page.page.locator("#train-loss")).to_be_hidden()
    assert not page.problems(), "the browser reported errors:\n" + "\n".join(page.problems())


def test_only_other_origins_failed_loads_are_ignored():
    """The console filter: a font or CDN file that cannot load offline is no app error; nothing else is."""
    app = "http://127.0.0.1:7860/"
    failed = "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
    assert is_ignored_console_error(failed, "https://fonts.googleapis.com/css2?family=Inter", app)
    assert not is_ignored_console_error(failed, "http://127.0.0.1:7860/gradio_api/file=x.js", app)
    assert not is_ignored_console_error(
        "Failed to load resource: the server responded with a status of 500", "http://127.0.0.1:7860/x", app
    )
    assert not is_ignored_console_error(failed, None, app)
    assert not is_ignored_console_error("TypeError: cannot read properties of undefined", "https://cdn.x/y.js", app)


def test_a_phone_wide_page_keeps_its_title_readable(browser, studio_app):
    """At 390 px the header stacks: the title gets the width, nothing overflows sideways."""
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        flow.open_app(page, studio_app.url)
        title = page.get_by_role("heading", name="Trainer Studio")
        box = title.bounding_box()
        assert box is not None and box["width"] >= 250, box
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than the screen"
        assert not errors, errors
    finally:
        page.close()
