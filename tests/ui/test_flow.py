"""The flow a person meets, handler by handler (no browser): what is offered, what is refused, and how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_core.jobs import JobManager
from trainer_core.ui import sources
from trainer_core.ui.context import AppContext
from trainer_core.ui.evaluate_tab import run_choices

RUN_OK = "20260101-120000-abc123"
RUN_FAILED = "20260101-130000-def456"
RUN_RUNNING = "20260101-140000-aaa111"


def _run(jobs: JobManager, identity: str, run_id: str, state: str, **status) -> Path:
    path = jobs.owner_dir(identity) / run_id
    (path / "model").mkdir(parents=True)
    (path / "model" / "config.json").write_text("{}", encoding="utf-8")
    payload = {"state": state, "created": 1_767_268_800.0, **status}
    (path / "status.json").write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.fixture
def ctx(tmp_path) -> AppContext:
    return AppContext.create(tmp_path / "studio")


def test_only_ended_runs_with_a_model_are_offered_as_models(ctx):
    identity = "browser:me"
    _run(ctx.jobs, identity, RUN_OK, "finished", model="/x/runs/bert-tiny", dataset="/data/reviews.csv")
    _run(ctx.jobs, identity, RUN_FAILED, "failed")  # a half-written checkpoint must not be offered
    choices = run_choices(ctx, "me", None, [("Hub: x", "x")], include=RUN_FAILED)
    assert [value for _, value in choices] == [f"run:{RUN_OK}", "x"]


def test_run_names_say_model_data_and_time(ctx):
    _run(ctx.jobs, "browser:me", RUN_OK, "finished", model="/x/runs/bert-tiny/model", dataset="/data/reviews.csv")
    (info,) = ctx.jobs.list_runs("browser:me")
    label = sources.run_label(info)
    assert label.startswith("bert-tiny on reviews.csv · ")
    assert RUN_OK not in label


def test_the_loss_chart_knows_both_series_from_its_first_point():
    from trainer_core.ui.plots import RunView

    view = RunView()
    view.add([{"type": "log", "step": 10, "loss": 0.7}])
    frame = view.loss_frame()
    # The browser fixes the colour domain from the first frame: eval must be in it before its first point.
    assert set(frame["split"]) == {"train", "eval"}
    assert frame[frame["split"] == "eval"]["loss"].isna().all()
    view.add([{"type": "eval", "step": 10, "metrics": {"loss": 0.6}}])
    assert frame.dtypes["loss"] == "float64"
    assert view.loss_frame().dropna()["split"].tolist() == ["train", "eval"]


def test_dataset_charts_are_sorted_once_at_construction(studio, visitor):
    """gradio 6.31 draws a BarPlot one update behind when `sort` comes with the value."""
    from trainer_core.ui.dataset_tab import SOURCE_EXAMPLE

    outputs = studio.client.predict(
        visitor=visitor, source=SOURCE_EXAMPLE, example="paraphrase.csv", tokenizer="", api_name="/ui_preview"
    )
    label_update, histogram_update = outputs[6], outputs[7]
    assert "sort" not in label_update and "sort" not in histogram_update
    assert [row[0] for row in label_update["value"]["data"]] == ["0", "1"]
