"""What a person does in Trainer Studio, tab by tab, as playwright steps with their checks.

Shared by tests/e2e/test_browser_flow.py and tests/e2e/take_screenshots.py (the README's screenshots).
Each step fills the form through the page as a person would (clicks, typing, a file chosen in the file
input), waits for what the page shows, and checks it with playwright's ``expect`` (bounded waits).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the browser test skips (see conftest.py); this module must still import
    expect = None

VISITOR_KEY = "trainer-studio-visitor"  # the gr.BrowserState storage key in app.py
LOAD_TIMEOUT = 60_000
PREVIEW_TIMEOUT = 60_000
TRAIN_TIMEOUT = 150_000
EVALUATE_TIMEOUT = 60_000
PREDICT_TIMEOUT = 30_000
ERROR_BOXES = ("#dataset-error", "#train-error", "#eval-error", "#demo-error")
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
RUN_NAME = re.compile(r"^\S+ on \S+ · ")  # model on data · start time


def chart(page: Any, elem_id: str) -> Any:
    """The rendered Vega chart of a gr.BarPlot / gr.LinePlot (absent while the plot is empty)."""
    return page.locator(f"#{elem_id} .vega-embed svg.marks")


def expect_line(svg: Any, series: str, *, points: int) -> None:
    """A rendered line chart whose ``series`` line goes through at least ``points`` points."""
    expect(svg).to_be_visible()
    line = svg.locator(f"g.mark-line path[aria-label*='{series}']")
    expect(line).to_have_count(1)
    # Vega draws a line as "M x,y L x,y L ...": one command per point. The chart redraws a moment after the
    # page shows the run's end, so wait (bounded) for the last points.
    deadline = time.monotonic() + 10
    while True:
        drawn = len(re.findall(r"[ML]", line.get_attribute("d") or ""))
        if drawn >= points or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert drawn >= points, f"the {series} line has {drawn} points, expected {points} or more"


def open_tab(page: Any, name: str) -> None:
    """Open a tab by its name (the tabs are numbered steps: "1 · Dataset", ...)."""
    tab = page.get_by_role("tab", name=re.compile(rf"^(\d · )?{name}$"))
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def set_dropdown(page: Any, elem_id: str, value: str) -> None:
    """Type a custom value into a gr.Dropdown (allow_custom_value) and confirm it with Enter."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    box.press("Enter")
    expect(box).to_have_value(value)


def set_number(locator: Any, value: float | int) -> None:
    # A form update still on its way (the Dataset tab fills the Train form after a preview) can overwrite
    # what was typed a moment before; a person would type it again, and so does this, a few times at most.
    for _ in range(3):
        locator.fill(str(value))
        locator.press("Tab")  # leave the box: the value is sent with the next event
        locator.page.wait_for_timeout(300)
        if locator.input_value() == str(value):
            return
    expect(locator).to_have_value(str(value))


def expect_no_error_boxes(page: Any) -> None:
    for box in ERROR_BOXES:
        expect(page.locator(box), f"{box} shows an error").to_be_hidden()


def open_app(page: Any, url: str) -> None:
    """Load the page and wait until it is usable: the visitor id is stored and the Dataset form is shown."""
    page.goto(url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
    expect(page.get_by_role("heading", name="Trainer Studio")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(page.locator("#dataset-preview")).to_be_visible(timeout=LOAD_TIMEOUT)
    # The page's load event gives this browser its (encrypted) visitor id; uploads and runs are filed under it.
    page.wait_for_function(f"() => localStorage.getItem({VISITOR_KEY!r}) !== null", timeout=LOAD_TIMEOUT)
    expect(page.locator("#hardware")).to_contain_text("Hardware")


def preview_upload(page: Any, csv: Path, tokenizer: str, *, labels: tuple[str, ...], rows: int) -> None:
    """Dataset tab: upload ``csv``, measure it with ``tokenizer``, Preview, and see what the page shows."""
    open_tab(page, "Dataset")
    page.locator("#dataset-source").get_by_text("Upload file", exact=True).click()
    page.locator("#dataset-upload input[type=file]").set_input_files(str(csv))
    # The upload is kept in this visitor's uploads and chosen as the data.
    expect(page.locator("#dataset-upload-name input")).to_have_value(csv.name, timeout=PREVIEW_TIMEOUT)
    expect(page.locator("#dataset-source input[value='Upload file']")).to_be_checked()
    set_dropdown(page, "dataset-tokenizer", tokenizer)
    page.locator("#dataset-preview").click()

    summary = page.locator("#dataset-summary")
    expect(summary).to_contain_text(f"{rows} rows", timeout=PREVIEW_TIMEOUT)
    expect(summary).to_contain_text(csv.name)
    expect(summary).to_contain_text("Labels: " + ", ".join(labels))
    expect(summary).to_contain_text("get truncated")  # the token-length line, measured with the tokenizer
    expect(page.locator("#dataset-problems")).not_to_be_empty()
    expect(page.locator("#dataset-error")).to_be_hidden()
    # The column pickers stay on "detect" and name the detected columns (a detected name never sticks).
    expect(page.locator("#dataset-text-column input")).to_have_value("(detect) → text")
    expect(page.locator("#dataset-label-column input")).to_have_value("(detect) → label")
    # Label distribution: one bar per label, named on the x axis.
    label_chart = chart(page, "dataset-labels")
    expect(label_chart).to_be_visible()
    for label in labels:
        expect(label_chart.locator("text", has_text=re.compile(f"^{label}$"))).to_have_count(1)
    expect(label_chart.locator("g.mark-rect path")).to_have_count(len(labels))
    # Token-length histogram: some bars.
    token_chart = chart(page, "dataset-token-lengths")
    expect(token_chart).to_be_visible()
    expect(token_chart.locator("g.mark-rect path").first).to_be_visible()
    # A table of rows with both columns.
    table = page.locator("#dataset-rows")
    for column in ("text", "label"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_attached()
    expect(table.get_by_role("gridcell", name=labels[0], exact=True).first).to_be_visible()


def expect_points(svg: Any, series: str, *, points: int) -> None:
    """A rendered point chart that draws at least ``points`` points of ``series``."""
    expect(svg).to_be_visible()
    expect(svg.locator(f"g.mark-symbol path[aria-label*='{series}']").nth(points - 1)).to_be_attached()


def start_training(
    page: Any,
    model: str,
    *,
    max_steps: int,
    eval_steps: int,
    learning_rate: float | None = None,
    warmup_ratio: float | None = None,
) -> Any:
    """Train tab: start a short run of ``model`` on the previewed data and wait until it has finished."""
    open_tab(page, "Train")
    model_box = page.locator("#train-model input")
    # The model follows the tokenizer chosen in the Dataset tab; set it anyway, as a person could.
    if model_box.input_value() != model:
        set_dropdown(page, "train-model", model)
    set_number(page.locator("#train-max-steps input"), max_steps)
    if learning_rate is not None:
        set_number(visible(page.get_by_label("Learning rate")), learning_rate)
    page.get_by_text("More options", exact=True).click()
    if warmup_ratio is not None:
        set_number(page.locator("#train-warmup-ratio").locator("input, textarea").first, warmup_ratio)
    set_number(visible(page.get_by_label("Eval steps")), eval_steps)
    page.locator("#train-start").click()

    progress = page.locator("#train-progress")
    # The run shows up under "Your runs" at once, named by model, data and time, and the progress bar moves.
    expect(page.locator("#train-runs input")).to_have_value(RUN_NAME, timeout=PREVIEW_TIMEOUT)
    expect(progress).to_contain_text(
        re.compile(rf"Finished: step {max_steps} / {max_steps}|Failed: .*"), timeout=TRAIN_TIMEOUT
    )
    expect(progress, "the run failed").to_contain_text(f"Finished: step {max_steps} / {max_steps}")
    return progress


def train(
    page: Any,
    model: str,
    *,
    max_steps: int,
    eval_steps: int,
    learning_rate: float | None = None,
    warmup_ratio: float | None = None,
) -> str:
    """Train tab: a short run of ``model`` on the previewed data; waits for the finished state. Returns the run id."""
    progress = start_training(
        page, model, max_steps=max_steps, eval_steps=eval_steps, learning_rate=learning_rate, warmup_ratio=warmup_ratio
    )
    expect(progress.locator(".ts-progress")).to_have_attribute("data-state", "finished")
    expect(page.locator("#train-error")).to_be_hidden()

    # The loss curves (train: a point every 10 steps, the logging interval; eval: every eval_steps), drawn
    # live, without a reload, and the eval-metric curves.
    expect_line(chart(page, "train-loss"), "train", points=max_steps // 10)
    expect_line(chart(page, "train-loss"), "eval", points=max_steps // eval_steps)
    expect_line(chart(page, "train-metrics"), "Accuracy", points=max_steps // eval_steps)
    expect(page.locator("#train-result")).not_to_be_empty()
    # The log box shows its newest line (scrolled to the end), not its first ones.
    log = page.locator("#train-log textarea")
    expect(log).to_have_value(re.compile(r"finished at step"))
    page.wait_for_function(
        "() => { const box = document.querySelector('#train-log textarea');"
        " return box && box.scrollHeight > box.clientHeight && box.scrollTop + box.clientHeight >= box.scrollHeight - 4; }",
        timeout=10_000,
    )
    expect(page.locator("#train-start")).to_be_enabled()
    # The finished run offers the next steps.
    expect(page.locator("#train-evaluate")).to_be_visible()
    expect(page.locator("#train-demo")).to_be_visible()
    expect(page.locator("#train-stop")).to_be_hidden()
    expect(page.locator("#train-retry-push")).to_be_hidden()
    page.get_by_text("Your runs as a table", exact=True).click()
    run_id = RUN_ID.search(page.locator("#train-runs-table").inner_text())
    assert run_id, "no run id in the runs table"
    return run_id.group(0)


def evaluate(page: Any, run_id: str, *, labels: tuple[str, ...]) -> None:
    """Evaluate tab: the run just trained (picked for you) on the rows held out from it."""
    open_tab(page, "Evaluate")
    # Choosing the run in the Train tab made it model A here, with the rows it was evaluated on as data.
    expect(page.locator("#eval-model input")).to_have_value(RUN_NAME)
    expect(page.locator("#eval-dataset input")).to_have_value(re.compile(run_id))
    page.locator("#eval-run").click()

    status = page.locator("#eval-status")
    expect(status).not_to_be_empty(timeout=EVALUATE_TIMEOUT)
    expect(page.locator("#eval-error")).to_be_hidden()
    metrics = page.locator("#eval-metrics")
    for name in ("Accuracy", "F1", "Precision", "Recall"):
        expect(metrics).to_contain_text(name)
    confusion = page.locator("#eval-confusion")
    for label in labels:
        expect(confusion).to_contain_text(label)
    confusion_chart = chart(page, "eval-confusion-plot")
    expect(confusion_chart).to_be_visible()
    bars = confusion_chart.locator("g.mark-rect path")
    expect(bars).to_have_count(len(labels) ** 2)  # one bar per (true, predicted) pair
    described = bars.evaluate_all("bars => bars.map(bar => bar.getAttribute('aria-label'))")
    counted = sum(int(m.group(1)) for d in described if (m := re.search(r"Examples: (\d+)", d or "")))
    assert counted > 0, f"the confusion chart shows no examples: {described}"
    for label in labels:
        expect(page.locator("#eval-per-class")).to_contain_text(label)


def predict(page: Any, run_id: str, text: str, *, labels: tuple[str, ...]) -> None:
    """Demo tab, reached with the Train tab's "Try it in the Demo": the run just trained gives class
    probabilities for ``text``."""
    open_tab(page, "Train")
    page.locator("#train-demo").click()
    expect(page.get_by_role("tab", name=re.compile("Demo$"))).to_have_attribute("aria-selected", "true")
    expect(page.locator("#demo-model input")).to_have_value(RUN_NAME)
    expect(page.locator("#demo-mode input[value='sentiment']")).to_be_checked()
    page.locator("#demo-text textarea").fill(text)
    page.locator("#demo-predict").click()

    result = page.locator("#demo-label")
    expect(page.locator("#demo-status")).to_contain_text(f"run:{run_id}", timeout=PREDICT_TIMEOUT)
    expect(page.locator("#demo-error")).to_be_hidden()
    for label in labels:
        expect(result).to_contain_text(label)
    expect(result).to_contain_text(re.compile(r"\d+(\.\d+)?%"))  # each class with its probability


def visible(locator: Any) -> Any:
    """The one visible match (a label can repeat in a hidden tab)."""
    return locator.filter(visible=True)
