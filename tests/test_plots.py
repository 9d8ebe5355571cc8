"""Pure helpers of the Dataset and Train tabs (trainer_core.ui.plots): no gradio, no server."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from trainer_core.errors import InputError
from trainer_core.ui import plots, uploads
from trainer_core.ui.plots import RunView

T0 = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))


def ev(kind, **fields):
    return {"time": T0, "type": kind, **fields}


RUN = [
    ev("prepared", train_rows=90, eval_rows=10, labels=["neg", "pos"], eval_source="validation", problems=[]),
    ev("train_begin", total_steps=20, epochs=2.0),
    ev("progress", step=1, total_steps=20, epoch=0.1, elapsed_s=2.0, remaining_s=38.0),
    ev("log", step=1, epoch=0.1, loss=0.70, learning_rate=3e-5),
    ev("progress", step=10, total_steps=20, epoch=1.0, elapsed_s=20.0, remaining_s=20.0),
    ev("log", step=10, epoch=1.0, loss=0.50, learning_rate=1.5e-5),
    ev("eval", step=10, epoch=1.0, metrics={"loss": 0.55, "accuracy": 0.8, "f1": 0.75, "runtime": 1.2}),
    ev("checkpoint", step=10, path="/srv/runs/abc/20260101-000000-abcdef/model/checkpoint-10"),
    ev("push", status="started", step=10),
    ev("push", status="done", step=10),
]
DONE = ev(
    "done",
    result={
        "output_dir": "/srv/runs/abc/run/model",
        "metrics": {"accuracy": 0.85, "f1": 0.8, "loss": 0.4, "runtime": 3.2, "samples_per_second": 101.5},
        "global_step": 20,
        "stopped": False,
        "best_checkpoint": "/srv/runs/abc/run/model/checkpoint-20",
        "pushed_repo": "alice/model",
        "push_errors": [],
    },
)


# ------------------------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "?"),
        (float("nan"), "?"),
        (-1, "?"),
        ("x", "?"),
        (0, "0 s"),
        (44.6, "45 s"),
        (59.4, "59 s"),
        (60, "1 min 00 s"),
        (185, "3 min 05 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (3720, "1 h 02 min"),
        (90000, "25 h 00 min"),
    ],
)
def test_format_duration(seconds, text):
    assert plots.format_duration(seconds) == text


# ------------------------------------------------------------------------------------- run view


def test_run_view_folds_events_into_curves_progress_and_log():
    view = RunView()
    view.add(RUN)
    assert view.count == len(RUN)
    loss = view.loss_frame()
    assert loss.to_dict("records") == [
        {"step": 1, "loss": 0.70, "split": "train"},
        {"step": 10, "loss": 0.50, "split": "train"},
        {"step": 10, "loss": 0.55, "split": "eval"},
    ]
    scores = view.score_frame()
    assert sorted(scores["metric"]) == ["Accuracy", "F1"]  # runtime and loss are not scores; titles from the registry
    assert set(scores["step"]) == {10}
    assert view.total_steps == 20 and view.step == 10
    text = view.progress_text("running")
    assert text == "Training: step 10 / 20 · epoch 1.00 · 20 s elapsed · about 20 s left"
    assert view.progress_fraction("running") == 0.5
    html = view.progress_html("running")
    assert '<progress value="50" max="100"' in html and "step 10 / 20" in html
    log = view.log_text()
    assert "data ready: 90 training rows, 10 eval rows (validation); labels: neg, pos" in log
    assert "step 10: loss 0.5000, learning rate 1.50e-05" in log
    assert "eval at step 10: Accuracy 0.8000, F1 0.7500, eval loss 0.5500" in log
    assert "checkpoint saved at step 10 (checkpoint-10)" in log
    assert "/srv" not in log
    assert all(line.startswith(time.strftime("%H:%M:%S", time.localtime(T0))) for line in log.splitlines())
    assert "progress" not in log
    assert view.push_markdown() == "**Pushes to the Hub**\n- checkpoint at step 10: ✅ done"


def test_run_view_can_be_fed_in_pieces():
    whole, pieces = RunView(), RunView()
    whole.add(RUN)
    for event in RUN:
        pieces.add([event])
    assert whole.loss_frame().equals(pieces.loss_frame())
    assert whole.log_text() == pieces.log_text() and whole.count == pieces.count


def test_empty_run_view():
    view = RunView()
    assert list(view.loss_frame().columns) == ["step", "loss", "split"] and view.loss_frame().empty
    assert list(view.score_frame().columns) == ["step", "value", "metric"]
    assert view.progress_text("running") == "Preparing: loading the data and the model…"
    assert view.progress_fraction("running") == 0.0
    assert view.push_markdown() == "" and view.result_markdown("running") == ""
    assert view.log_text() == ""


def test_queued_runs_show_their_position():
    view = RunView()
    assert view.progress_text("queued", 3) == "Queued (position 3 in the queue): it starts when the GPU is free."
    assert "in the queue" in view.progress_text("queued")


def test_finished_run():
    view = RunView()
    view.add([*RUN, DONE])
    assert view.progress_text("finished") == "Finished: step 20 / 20."
    assert view.progress_fraction("finished") == 1.0
    result = view.result_markdown("finished")
    assert "**The run finished** after 20 steps." in result
    assert "| Accuracy | 0.8500 |" in result and "| F1 | 0.8000 |" in result
    assert "[alice/model](https://huggingface.co/alice/model)" in result
    # Display names, and the eval loss; run time and throughput are not scores.
    assert "finished at step 20: Accuracy 0.8500, F1 0.8000, eval loss 0.4000" in view.log_text()
    assert "runtime" not in view.log_text() and "samples_per_second" not in view.log_text()


def test_stopped_run():
    view = RunView()
    stopped = {**DONE["result"], "stopped": True, "global_step": 12, "pushed_repo": None}
    view.add([*RUN, ev("stopping", step=12), ev("done", result=stopped)])
    assert view.stop_requested
    assert view.progress_text("stopped") == "Stopped at step 12 / 20; the last checkpoint is kept."
    assert "stopped early" in view.result_markdown("stopped")
    assert "stop requested: stopping after step 12" in view.log_text()


def test_run_stopped_while_queued():
    view = RunView()
    view.add([ev("stopped", reason="stopped before it started")])
    assert view.progress_text("stopped") == "Stopped before it started."
    assert "stopped: stopped before it started" in view.log_text()


def test_stopping_run_says_so():
    view = RunView()
    view.add([*RUN, ev("stopping", step=11)])
    assert view.progress_text("running").startswith("Stopping after this step: step 10 / 20")


def test_failed_run_and_failed_pushes():
    view = RunView()
    view.add(
        [
            *RUN,
            ev("push", status="started", step=20),
            ev("push", status="failed", step=20, error="HTTP 500: boom"),
            ev("push", status="failed", step=20, final=True, error="HTTP 500: boom"),
            ev("error", message="Out of GPU memory with batch size 32."),
        ]
    )
    assert view.progress_text("failed") == "Failed: Out of GPU memory with batch size 32."
    assert view.result_markdown("failed") == "**The run failed.** Out of GPU memory with batch size 32."
    pushes = view.push_markdown()
    assert "- checkpoint at step 20: ❌ failed — HTTP 500: boom" in pushes
    assert "- final model: ❌ failed — HTTP 500: boom" in pushes
    assert "Retry push" in pushes
    assert "push of the final model: failed (HTTP 500: boom)" in view.log_text()
    assert "error: Out of GPU memory" in view.log_text()


def test_other_states():
    view = RunView()
    view.add(RUN)
    assert view.progress_text("interrupted").startswith("Interrupted at step 10 / 20")
    assert view.progress_text("idle") == "Idle"
    assert view.progress_html("idle").count("<progress") == 1


def test_log_keeps_the_last_lines():
    view = RunView()
    view.add([ev("log", step=i, loss=1.0 / (i + 1)) for i in range(300)])
    lines = view.log_text(last=50).splitlines()
    assert len(lines) == 50 and "step 299:" in lines[-1]


def test_unknown_and_odd_events_do_not_break_the_view():
    view = RunView()
    view.add([{"type": "mystery"}, ev("log", step=1), ev("eval", step=1, metrics={}), {"no_type": True}])
    assert view.loss_frame().empty and view.score_frame().empty
    assert view.count == 4
    assert "eval at step 1: no metrics" in view.log_text()


def test_html_in_messages_is_escaped():
    view = RunView()
    view.add([ev("error", message="<script>alert(1)</script>")])
    assert "<script>" not in view.progress_html("failed")


def test_public_event_hides_server_paths():
    checkpoint = plots.public_event(RUN[7])
    assert checkpoint == {"time": T0, "type": "checkpoint", "step": 10, "checkpoint": "checkpoint-10"}
    done = plots.public_event(DONE)
    assert "output_dir" not in done["result"] and done["result"]["best_checkpoint"] == "checkpoint-20"
    assert DONE["result"]["output_dir"]  # the original is left alone
    resume = plots.public_event(ev("resume", checkpoint="/srv/x/checkpoint-4"))
    assert resume["checkpoint"] == "checkpoint-4"
    assert plots.public_event(RUN[3]) == RUN[3]


def test_runs_frame():
    info = SimpleNamespace(
        run_id="20260102-030405-abcdef",
        state="finished",
        model="/models/tiny-bert",
        dataset="reviews.csv",
        step=20,
        total_steps=20,
        metrics={"accuracy": 0.9, "loss": 0.3},
        created=T0,
    )
    frame = plots.runs_frame([info])
    assert frame.to_dict("records") == [
        {
            "run": "20260102-030405-abcdef",
            "state": "finished",
            "model": "tiny-bert",
            "dataset": "reviews.csv",
            "steps": "20/20",
            "metrics": "accuracy 0.9000",
            "started": "2026-01-02 03:04",
        }
    ]
    assert plots.runs_frame([]).empty and plots.runs_frame([]).columns[0] == "run"


# ------------------------------------------------------------------------------------- dataset preview

PREVIEW = {
    "dataset": "reviews.csv",
    "dataset_config": None,
    "split": "train",
    "splits": {"train": 1200, "test": 300},
    "features": {"text": "string", "label": "string"},
    "columns": {"text": "text", "label": "label", "text_pair": None},
    "label_names": ["negative", "positive"],
    "label_counts": {"negative": 700, "positive": 500},
    "rows": [{"text": "good", "label": "positive"}, {"text": "bad", "label": "negative"}],
    "rows_scanned": 1200,
    "token_stats": {
        "rows": 1200,
        "mean": 20.5,
        "p95": 60,
        "max": 90,
        "max_length": 64,
        "truncated": 36,
        "truncated_share": 0.03,
        "histogram": [600, 500, 64, 36],
        "bin_edges": [3, 25, 47, 69, 90],
    },
    "problems": [{"kind": "duplicates", "message": "4 rows repeat the text of an earlier row.", "count": 4}],
}


def test_preview_frames():
    assert plots.rows_frame(PREVIEW).to_dict("records") == PREVIEW["rows"]
    assert plots.label_frame(PREVIEW).to_dict("records") == [
        {"label": "negative", "rows": 700},
        {"label": "positive", "rows": 500},
    ]
    histogram = plots.token_histogram_frame(PREVIEW)
    assert histogram.to_dict("records") == [
        {"tokens": "3–25", "rows": 600, "fits": "fits"},
        {"tokens": "25–47", "rows": 500, "fits": "fits"},
        {"tokens": "47–69", "rows": 64, "fits": "truncated"},
        {"tokens": "69–90", "rows": 36, "fits": "truncated"},
    ]
    assert plots.histogram_bins(PREVIEW) == ["3–25", "25–47", "47–69", "69–90"]
    assert plots.column_choices(PREVIEW) == ["text", "label"]


def test_preview_texts():
    summary = plots.preview_summary(PREVIEW)
    assert "**reviews.csv** — splits: `train` 1,200 rows, `test` 300 rows" in summary
    assert "Detected columns: text `text`, label `label`." in summary
    assert "3.0% of 1200 texts are longer than max_length=64 tokens" in summary
    assert plots.problems_markdown(PREVIEW) == ("**Problems found**\n\n- 4 rows repeat the text of an earlier row.")
    assert "- tokenizer missing" in plots.problems_markdown(PREVIEW, ["tokenizer missing"])
    clean = {**PREVIEW, "problems": []}
    assert plots.problems_markdown(clean) == "No problems found in the 1,200 rows scanned."


def test_preview_of_a_pair_dataset_without_labels_or_lengths():
    preview = {
        **PREVIEW,
        "dataset": "nyu-mll/glue",
        "dataset_config": "mrpc",
        "columns": {"text": "sentence1", "text_pair": "sentence2", "label": None},
        "label_counts": {},
        "label_names": [],
        "token_stats": None,
        "rows": [{"sentence1": "a", "sentence2": {"nested": 1}}],
    }
    summary = plots.preview_summary(preview)
    assert "config `mrpc`" in summary
    assert "text pair `sentence2`" in summary and "label: none found" in summary
    assert plots.label_frame(preview).empty
    assert plots.token_histogram_frame(preview).empty
    assert plots.truncation_caption(preview) == "Choose a tokenizer to see token lengths."
    assert plots.rows_frame(preview).iloc[0]["sentence2"] == "{'nested': 1}"
    assert list(plots.rows_frame({**preview, "rows": []}).columns) == list(preview["features"])


# -------------------------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("reviews.csv", "reviews.csv"),
        ("Reviews 2024 (final).CSV", "Reviews_2024_final.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\windows\\data.tsv", "data.tsv"),
        ("/abs/path/data.jsonl", "data.jsonl"),
        (".hidden.parquet", "hidden.parquet"),
        ("...csv", "upload.csv"),
        ("리뷰 데이터.xlsx", "리뷰_데이터.xlsx"),
        ("a\x00b.json", "ab.json"),
        ("x" * 300 + ".csv", "x" * 80 + ".csv"),
        ("$(rm -rf ~);.csv", "rm_-rf.csv"),
        ("ﬁle.txt", "file.txt"),  # NFKC
    ],
)
def test_sanitize_upload_name(name, safe):
    assert uploads.sanitize_upload_name(name) == safe


@pytest.mark.parametrize("name", ["model.bin", "archive.zip", "noextension", "", None, "data.csv.exe", "../"])
def test_sanitize_upload_name_refuses_unreadable_types(name):
    with pytest.raises(InputError, match="Cannot use a file"):
        uploads.sanitize_upload_name(name)


def test_store_and_find_uploads(tmp_path):
    source = tmp_path / "incoming" / "My Reviews.CSV"
    source.parent.mkdir()
    source.write_text("text,label\ngood,1\n", encoding="utf-8")
    folder = tmp_path / "uploads" / "visitor"
    name = uploads.store_upload(source, folder)
    assert name == "My_Reviews.csv"
    assert (folder / name).read_text(encoding="utf-8") == "text,label\ngood,1\n"
    assert uploads.upload_path(folder, name) == folder / name
    # The browser's name wins over the temp file's name, and cannot leave the folder.
    assert uploads.store_upload(source, folder, "../../evil.csv") == "evil.csv"
    assert (folder / "evil.csv").is_file() and not (tmp_path / "evil.csv").exists()
    assert set(uploads.list_uploads(folder)) == {"My_Reviews.csv", "evil.csv"}
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_upload_path_refuses_names_that_are_not_stored_uploads(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("x\n")
    for name in ("../secret.csv", "missing.csv", "/etc/passwd", "", None, "  "):
        with pytest.raises(InputError):
            uploads.upload_path(folder, name)


def test_uploads_are_capped_per_visitor(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOADS_PER_VISITOR", 3)
    source = tmp_path / "data.csv"
    source.write_text("text,label\na,1\n")
    folder = tmp_path / "uploads"
    for i in range(5):
        uploads.store_upload(source, folder, f"file{i}.csv")
        os.utime(folder / f"file{i}.csv", (T0 + i, T0 + i))
    assert uploads.list_uploads(folder) == ["file4.csv", "file3.csv", "file2.csv"]


def test_store_upload_refuses_missing_and_huge_files(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="did not arrive"):
        uploads.store_upload(tmp_path / "gone.csv", tmp_path / "uploads")
    big = tmp_path / "big.csv"
    big.write_text("text,label\n" + "x,1\n" * 100)
    monkeypatch.setattr(uploads, "DEFAULT_MAX_BYTES", 100)
    with pytest.raises(InputError, match="limited to"):
        uploads.store_upload(big, tmp_path / "uploads")
    assert uploads.list_uploads(tmp_path / "uploads") == []
    assert uploads.list_uploads(tmp_path / "nowhere") == []


def test_column_widths_leave_room_for_short_columns():
    import pandas as pd

    frame = pd.DataFrame({"text": ["a long review " * 10] * 3, "label": ["positive", "negative", "positive"]})
    widths = plots.column_widths(frame)
    text_width, label_width = (float(w.rstrip("%")) for w in widths)
    assert text_width > label_width >= 5
    assert abs(text_width + label_width - 100) <= 1
    assert plots.column_widths(pd.DataFrame()) == []


def test_column_widths_keep_each_longest_word_whole_on_a_phone():
    """A share of 14% was 45 px on a phone: the heading "label" and the labels broke inside the word."""
    import pandas as pd

    def phone_px(frame):
        return [float(w.rstrip("%")) / 100 * plots.PHONE_TABLE_PX for w in plots.column_widths(frame)]

    frame = pd.DataFrame({"text": ["a long review of a product " * 8] * 4, "label": ["negative", "positive"] * 2})
    text_px, label_px = phone_px(frame)
    assert label_px >= len("negative") * plots.CHAR_PX + plots.CELL_EXTRA_PX - 2  # rounding to whole percent
    assert text_px > label_px

    # More columns than a phone has room for share it by what they need, still 100% in all.
    wide = pd.DataFrame({f"column_{i}": ["somewhat_long_value"] for i in range(6)})
    assert abs(sum(float(w.rstrip("%")) for w in plots.column_widths(wide)) - 100) <= 3


def test_metric_legend_names_each_metric_in_its_curve_colour():
    colors = plots.metric_colors("single_label")
    assert list(colors) == ["Accuracy", "F1", "Precision", "Recall", "Matthews correlation"]
    for kind in ("single_label", "multi_label", "regression"):  # a run's curves never share a colour
        assert len(set(plots.metric_colors(kind).values())) == len(plots.metric_colors(kind))
    every = plots.metric_colors()
    assert {**colors, **plots.metric_colors("regression")}.items() <= every.items()
    legend = plots.metric_legend_html()
    assert legend.count('class="ts-legend-item"') == len(every)
    assert f'<i style="background:{colors["F1"]}"></i>F1' in legend
    assert "Classification:" in legend and "Regression:" in legend and "Multi-label:" in legend
    assert "&lt;b&gt;" in plots.legend_html({"<b>": "#000"})  # a name is text, never markup


def test_a_series_with_one_point_is_found_so_it_can_be_drawn_as_points():
    """gradio's line chart shows a lone point only under the mouse: max steps 3 gave empty grids."""
    view = RunView()
    view.add(RUN)
    assert plots.has_lone_point(view.loss_frame(), "split", "loss")  # one eval loss so far
    assert plots.has_lone_point(view.score_frame(), "metric", "value")
    view.add([{"time": T0 + 30, "type": "eval", "step": 20, "epoch": 2.0, "metrics": {"loss": 0.5, "accuracy": 0.9}}])
    view.add([{"time": T0 + 31, "type": "log", "step": 20, "epoch": 2.0, "loss": 0.45}])
    assert not plots.has_lone_point(view.loss_frame(), "split", "loss")
    only_train = RunView()
    only_train.add([e for e in RUN if e["type"] != "eval"])
    # The eval series is a blank placeholder row (no value): not a point, so the line chart is kept.
    assert not plots.has_lone_point(only_train.loss_frame(), "split", "loss")


def test_short_runs_get_whole_step_ticks_and_points_a_margin():
    import pandas as pd

    frame = pd.DataFrame([{"step": 1, "loss": 0.7, "split": "train"}, {"step": 3, "loss": 0.6, "split": "eval"}])
    line = plots.axis_limits(frame, "loss", points=False)
    assert line == {"x_lim": [1.0, 11.0]}  # a span of 2 would tick at half steps
    points = plots.axis_limits(frame, "loss", points=True)
    assert points["x_lim"] == [0.0, 10.0]
    low, high = points["y_lim"]
    assert low < 0.6 and high > 0.7  # no point sits on the edge, where it is drawn cut in half
    long = pd.DataFrame({"step": range(0, 500, 10), "loss": 0.5, "split": "train"})
    # Always a value: an update without one keeps the previous limit, and the chart hides rows beyond it.
    assert plots.axis_limits(long, "loss", points=False) == {"x_lim": [0.0, 490.0]}


def test_two_values_at_one_step_are_still_a_lone_point():
    """The last periodic eval and the final evaluation share a step: as a line that is a line of no length."""
    import pandas as pd

    frame = pd.DataFrame(
        [{"step": 3, "value": 0.5, "metric": "Accuracy"}, {"step": 3, "value": 0.5, "metric": "Accuracy"}]
    )
    assert plots.has_lone_point(frame, "metric", "value")


def test_a_regression_preview_charts_rows_per_range_of_the_target():
    stats = {"histogram": [4, 0, 6], "bin_edges": [0.31, 0.68, 1.05, 1.42], "count": 10}
    frame = plots.label_frame({"task_type": "regression", "target_stats": stats, "label_counts": {}})
    assert frame["label"].tolist() == ["0.3", "0.7", "1.1"]  # where each range starts, to the bins' digits
    assert frame["rows"].tolist() == [4, 0, 6]
    wide = {"histogram": [1, 2], "bin_edges": [1000.0, 1250.0, 1500.0]}
    assert plots.label_frame({"task_type": "regression", "target_stats": wide})["label"].tolist() == ["1000", "1250"]


def test_a_pending_push_says_why_and_a_retry_clears_it():
    message = (
        "The model is trained and kept here, but not pushed to alice/model yet: your sign-in expired. Sign in again"
    )
    pending = {**DONE["result"], "pushed_repo": None, "push_pending": {"repo_id": "alice/model", "message": message}}
    view = RunView()
    view.add([*RUN, ev("push", status="pending", step=20, final=True, repo_id="alice/model", message=message),
              ev("done", result=pending)])  # fmt: skip
    assert f"- final model: ⏸ not pushed yet — {message}" in view.push_markdown()
    assert "Retry push" in view.push_markdown()
    result = view.result_markdown("finished")
    assert f"Not pushed yet: {message}" in result and "Pushed to" not in result
    assert f"push of the final model: pending ({message})" in view.log_text()
    view.add([ev("push", status="done", final=True, retry=True, repo_id="alice/model")])
    result = view.result_markdown("finished")
    assert "Pushed to [alice/model]" in result and "Not pushed yet" not in result
