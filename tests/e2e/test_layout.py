"""How the page is laid out, measured in Chromium at a desktop width (1400 px) and a phone's (390 px).

What a browser walk found wrong, each as a measurement (see layout.py): an error callout framed twice, a
chart's legend or caption cut off, dropdown text running under the arrow, table headings broken inside a
word ("lab" / "el"), Start training pushed ~3,000 px down when More options opens, and the Evaluate and
Demo tabs hidden behind gradio's "..." menu on a phone.
"""

from __future__ import annotations

import pytest
import studio_flow as flow
from layout import (
    NARROW,
    WIDE,
    cut_chart_parts,
    cut_dropdowns,
    frames,
    more_tabs_shown,
    resize,
    split_words,
    tab_buttons,
)

from trainer_core.examples import EXAMPLES

pytestmark = pytest.mark.e2e

LABELS = ("negative", "positive")
TABS = ("Dataset", "Train", "Evaluate", "Demo")
CHARTS = {
    "Dataset": ("dataset-labels", "dataset-token-lengths"),
    "Train": ("train-loss", "train-metrics"),
    "Evaluate": ("eval-confusion-plot",),
}
TABLES = {
    "Dataset": ("dataset-rows",),
    "Train": ("train-runs-table",),
    "Evaluate": ("eval-metrics", "eval-confusion", "eval-per-class", "eval-errors"),
}
WIDTHS = pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1400px", "390px"])


@pytest.fixture(scope="module")
def walked(browser, studio_app, tiny_model):
    """One page that went through the whole flow, so every chart and table has something in it."""
    page = browser.new_page()
    try:
        page.set_viewport_size(WIDE)
        flow.open_app(page, studio_app.url)
        flow.preview_upload(page, EXAMPLES["sentiment"].path, str(tiny_model), labels=LABELS, rows=320)
        run_id = flow.train(page, str(tiny_model), max_steps=20, eval_steps=10, learning_rate=5e-3)
        flow.evaluate(page, run_id, labels=LABELS)
        yield page
    finally:
        page.close()


def test_an_error_callout_is_framed_once(page, studio_app):
    """gradio puts a component's classes on its block and again on the Markdown inside it: styled as a
    callout both times, the error showed a box in a box, and each step's banner a double bar."""
    view = page.page
    view.set_viewport_size(WIDE)
    flow.open_app(view, studio_app.url)
    view.locator("#dataset-source").get_by_text("Upload file", exact=True).click()
    view.locator("#dataset-preview").click()  # no file chosen yet
    callout = view.locator("#dataset-error")
    flow.expect(callout).to_contain_text("No uploaded file chosen", timeout=flow.PREVIEW_TIMEOUT)
    assert len(frames(callout)) == 1, f"the error callout is framed by {frames(callout)}"
    banner = view.locator(".block.ts-step").filter(visible=True)
    flow.expect(banner).to_have_count(1)
    assert len(frames(banner)) == 1, f"the step banner is drawn by {frames(banner)}"


# How far below the form's first field Start training may be: about a screen on a desktop, and on a phone,
# where the fields stack, about a screen and two thirds.
START_WITHIN = pytest.mark.parametrize(("viewport", "within"), [(WIDE, 1000), (NARROW, 1400)], ids=["1400px", "390px"])


@START_WITHIN
def test_start_training_stays_in_view_when_more_options_opens(page, studio_app, viewport, within):
    """More options holds ~20 fields; Start training came after them, about 3,000 px down once it was open.
    Now it does not move when they open, and it comes right after the seven main fields and the Hub fields."""
    view = page.page
    view.set_viewport_size(viewport)
    flow.open_app(view, studio_app.url)
    flow.open_tab(view, "Train")

    def below_form_top() -> float:
        """Once the layout has settled: fields and fonts still arriving move Start by themselves, which is
        not what is measured (a busy machine once saw 93 px of it)."""
        readings: list[float] = []
        while len(readings) < 3 or len({round(r) for r in readings[-3:]}) > 1:
            assert len(readings) < 60, f"the form kept moving: {readings[-5:]}"
            box = view.locator("#train-start").bounding_box()["y"] - view.locator("#train-model").bounding_box()["y"]
            readings.append(box)
            view.wait_for_timeout(150)
        return readings[-1]

    closed = below_form_top()
    view.get_by_text("More options", exact=True).click()
    flow.expect(view.locator("#train-warmup-ratio")).to_be_visible()
    opened = below_form_top()
    assert abs(opened - closed) < 2, f"Start training moved {opened - closed:.0f} px when More options opened"
    assert opened < within, f"Start training is {opened:.0f} px below the form's first field"


def test_every_tab_is_shown_on_a_phone(page, studio_app):
    """At 390 px gradio put the tabs that did not fit in a "..." menu: Evaluate and Demo were out of sight."""
    view = page.page
    view.set_viewport_size(NARROW)
    flow.open_app(view, studio_app.url)
    tabs = tab_buttons(view)
    for name in TABS:
        found = [t for t in tabs if t["name"].endswith(name)]
        assert found and found[0]["shown"] and found[0]["inside"], f"the {name} tab is not in view: {tabs}"
    assert not more_tabs_shown(view), "a '...' menu of tabs is shown"
    flow.open_tab(view, "Demo")  # and a click on it works


@WIDTHS
def test_dropdown_text_is_not_cut(page, studio_app, viewport):
    """Each tab's dropdowns as the page opens: the choice shown fits its box, clear of the arrow. On a phone
    a choice longer than the box (a Hub id, an example's title) ends in an ellipsis instead, still clear of
    the arrow; the model ids of the Dataset and Train tabs fit."""
    view = page.page
    view.set_viewport_size(viewport)
    flow.open_app(view, studio_app.url)
    narrow = viewport is NARROW
    cut = []
    for name in TABS:
        flow.open_tab(view, name)
        view.wait_for_timeout(300)
        cut += [f"{name} tab: {c}" for c in cut_dropdowns(view.locator("body"), ellipsis_ok=narrow)]
        if narrow and name in ("Dataset", "Train"):
            model = view.locator("#dataset-tokenizer" if name == "Dataset" else "#train-model")
            cut += [f"{name} tab: {c}" for c in cut_dropdowns(model)]
    assert not cut, f"at {viewport['width']} px:\n" + "\n".join(cut)


@WIDTHS
def test_chart_legends_and_captions_are_not_cut(walked, viewport):
    """The eval-metrics legend ran past its chart (Matthews correlation was cut to "Mat"), and the token
    histogram's caption was drawn below the chart's fixed height, where it is clipped."""
    resize(walked, viewport)
    cut = []
    for tab, charts in CHARTS.items():
        flow.open_tab(walked, tab)
        walked.wait_for_timeout(800)
        for elem_id in charts:
            chart = walked.locator(f"#{elem_id}")
            flow.expect(chart.locator("svg.marks")).to_be_visible()
            cut += [f"#{elem_id}: {c}" for c in cut_chart_parts(chart)]
    assert not cut, f"at {viewport['width']} px:\n" + "\n".join(cut)


@WIDTHS
def test_table_words_are_not_split(walked, viewport):
    """Short columns were squeezed until their heading broke inside a word ("lab" / "el", "confide" / "nce"),
    and so did the labels under it."""
    resize(walked, viewport)
    split = []
    for tab, tables in TABLES.items():
        flow.open_tab(walked, tab)
        walked.wait_for_timeout(500)
        for elem_id in tables:
            table = walked.locator(f"#{elem_id}")
            flow.expect(table.locator("th").first).to_be_visible()
            split += [f"#{elem_id}: {s}" for s in split_words(table)]
    assert not split, f"at {viewport['width']} px:\n" + "\n".join(split)


def test_misclassified_examples_fit_their_box(walked):
    """Sized by its content, the table of misclassified examples gave the text column the whole width and
    the three short columns more: on a desktop the texts ran off the table's right edge."""
    resize(walked, WIDE)
    flow.open_tab(walked, "Evaluate")
    box = walked.locator("#eval-errors .virtual-table-viewport")
    flow.expect(box).to_be_visible()
    walked.wait_for_timeout(500)
    inner, shown = box.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert inner <= shown + 1, f"the misclassified examples are {inner} px wide in a {shown} px box"
