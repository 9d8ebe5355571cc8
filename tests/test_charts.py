"""Pure UI helpers: report tables and chart rows (ui/charts.py), model and dataset choices (ui/sources.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainer_core.errors import InputError
from trainer_core.examples import EXAMPLES
from trainer_core.jobs import JobManager
from trainer_core.ui import charts, sources

LABELS = ["negative", "positive"]
MATRIX = [[8, 2], [1, 9]]


# ------------------------------------------------------------------------------------------- charts


def test_metrics_frame_orders_known_metrics_and_compares():
    a = {"f1": 0.8, "accuracy": 0.9, "matthews_correlation": 0.61234567, "custom": 1.0}
    single = charts.metrics_frame(a, names=("score", "B"))
    assert single.columns.tolist() == ["metric", "score"]
    assert single["metric"].tolist() == ["Accuracy", "F1", "Matthews correlation", "custom"]
    assert single.loc[2, "score"] == 0.6123

    both = charts.metrics_frame(a, {"accuracy": 0.95, "f1": 0.7, "recall": 0.5})
    assert both.columns.tolist() == ["metric", "A", "B", charts.DELTA]
    rows = {row["metric"]: row for row in both.to_dict("records")}
    assert rows["Accuracy"][charts.DELTA] == pytest.approx(0.05)
    assert rows["F1"][charts.DELTA] == pytest.approx(-0.1)
    assert rows["custom"]["B"] is None and rows["custom"][charts.DELTA] is None
    assert rows["Recall"]["A"] is None  # only B has it


def test_confusion_frame_and_rows():
    frame = charts.confusion_frame(MATRIX, LABELS)
    assert frame.columns.tolist() == [charts.CORNER, *LABELS]
    assert frame[charts.CORNER].tolist() == LABELS
    assert frame[LABELS].to_numpy().tolist() == MATRIX

    rows = charts.confusion_rows(MATRIX, LABELS)
    assert rows.columns.tolist() == ["true", "predicted", "count", "share"]
    assert len(rows) == 4 and rows["count"].sum() == 20
    first = rows.iloc[1].to_dict()
    assert first == {"true": "negative", "predicted": "positive", "count": 2, "share": 0.2}

    with pytest.raises(ValueError, match="2x2"):
        charts.confusion_frame([[1, 2, 3]], LABELS)


def test_row_shares_handle_an_empty_class():
    shares = charts.row_shares([[3, 1], [0, 0]])
    assert shares.tolist() == [[0.75, 0.25], [0.0, 0.0]]


def test_confusion_styler_shades_diagonal_green_and_mistakes_red():
    styler = charts.confusion_styler(MATRIX, LABELS)
    html = styler.to_html()
    assert "8 (80%)" in html and "2 (20%)" in html and "9 (90%)" in html
    assert styler.data[LABELS].to_numpy().tolist() == MATRIX  # the numbers stay numbers

    def rgb(style: str) -> tuple[int, int, int]:
        color = style.split("background-color: #")[1][:6]
        return int(color[:2], 16), int(color[2:4], 16), int(color[4:], 16)

    correct, wrong = charts.cell_style(0.8, True), charts.cell_style(0.2, False)
    r, g, b = rgb(correct)
    assert g > r and g > b and "color: #ffffff" in correct  # dark green, light text
    r, g, b = rgb(wrong)
    assert r > g and r > b and "color: #111111" in wrong  # light red, dark text
    assert sum(rgb(charts.cell_style(0.9, False))) < sum(rgb(wrong))  # more mistakes, darker
    assert charts.cell_style(0.0, False) == ""


def test_confusion_styler_in_a_gradio_dataframe():
    gr = pytest.importorskip("gradio")
    data = gr.Dataframe(interactive=False).postprocess(charts.confusion_styler(MATRIX, LABELS))
    assert data.headers == [charts.CORNER, *LABELS]
    assert data.metadata["display_value"][1] == ["positive", "1 (10%)", "9 (90%)"]
    assert "background-color" in data.metadata["styling"][0][1]


def test_per_class_and_errors_frames():
    per_class = charts.per_class_frame(
        [{"label": "a", "precision": 0.123456, "recall": 1.0, "f1": 0.2, "support": 3.0}]
    )
    assert per_class.to_dict("records") == [{"label": "a", "precision": 0.1235, "recall": 1.0, "f1": 0.2, "support": 3}]

    errors = [{"text": "x", "label": "a", "predicted": "b", "confidence": 0.91234}]
    frame = charts.errors_frame(errors)
    assert frame.columns.tolist() == ["true label", "predicted", "confidence", "text"]
    assert frame.iloc[0]["confidence"] == 0.9123
    pairs = charts.errors_frame([{**errors[0], "text_pair": "y"}], model="B")
    assert pairs.columns.tolist() == ["model", "true label", "predicted", "confidence", "text", "text_pair"]
    assert charts.errors_frame([], pair=True).columns.tolist()[-2:] == ["text", "text_pair"]


def test_errors_table_gives_its_text_columns_a_share():
    """Left to the table, the text column took its whole width beside the short columns: texts ran off it."""
    single = charts.errors_frame([{"text": "x", "label": "a", "predicted": "b", "confidence": 0.9}])
    assert charts.errors_column_widths(single) == ["auto", "auto", "auto", "70%"]
    pairs = charts.errors_frame([{"text": "x", "text_pair": "y", "label": "a", "predicted": "b", "confidence": 0.9}])
    assert charts.errors_column_widths(pairs) == ["auto", "auto", "auto", "35%", "35%"]


def test_summary_markdown():
    report = {
        "model": "m",
        "dataset": "/some/dir/reviews.csv",
        "split": "train",
        "rows": 20,
        "label_names": LABELS,
        "metrics": {"accuracy": 0.85, "f1": 0.8571},
    }
    text = charts.summary_markdown(report, name="A", seconds=1.234)
    assert text.startswith("**A** `m` on 20 rows of split `train` of `reviews.csv` in 1.2 s")
    assert "Accuracy **0.8500**" in text and "class 'positive'" in text
    assert "macro" in charts.summary_markdown({**report, "label_names": ["a", "b", "c"]})


def test_label_output_sorts_and_renames():
    out = charts.label_output({"LABEL_0": 0.25, "LABEL_1": np.float32(0.75)}, {"LABEL_1": "paraphrase"})
    assert out == {"paraphrase": 0.75, "LABEL_0": 0.25}
    assert all(type(v) is float for v in out.values())
    json.dumps(out)


def test_batch_columns():
    assert charts.batch_columns(pd.DataFrame({"Text": ["a"], "id": [1]}), pair=False) == ("Text", None)
    assert charts.batch_columns(pd.DataFrame({"review": ["a"]}), pair=False) == ("review", None)
    assert charts.batch_columns(pd.DataFrame({"id": [1], "body_of_it": ["a"]}), pair=False) == ("body_of_it", None)
    frame = pd.DataFrame({"sentence1": ["a"], "sentence2": ["b"], "label": [1]})
    assert charts.batch_columns(frame, pair=True) == ("sentence1", "sentence2")
    assert charts.batch_columns(pd.DataFrame({"question1": ["a"], "question2": ["b"]}), pair=True) == (
        "question1",
        "question2",
    )
    with pytest.raises(InputError, match="Columns found: sentence1, other, label"):
        charts.batch_columns(frame.rename(columns={"sentence2": "other"}), pair=True)
    with pytest.raises(InputError, match=r"No text column found.*Columns found: a, b"):
        charts.batch_columns(pd.DataFrame({"a": ["x"], "b": ["y"]}), pair=False)


def test_batch_texts_turns_missing_cells_into_empty_strings():
    frame = pd.DataFrame({"text": ["  hi ", None, math.nan, 3]})
    assert charts.batch_texts(frame, "text") == ["hi", "", "", "3"]


def test_predictions_frame_and_csv(tmp_path):
    frame = pd.DataFrame({"text": ["a", "", "c"], "predicted_label": ["x", "y", "z"]})
    probs = np.array([[0.9, 0.1], [0.0, 0.0], [0.3, 0.7]])
    out = charts.predictions_frame(frame, probs, ["not paraphrase", "paraphrase"], predicted=[True, False, True])
    assert out.columns.tolist() == [
        "text",
        "predicted_label",
        "predicted_label_2",
        "prob_not_paraphrase",
        "prob_paraphrase",
    ]
    assert out["predicted_label"].tolist() == ["x", "y", "z"]  # the upload's own column is kept
    assert out["predicted_label_2"].tolist() == ["not paraphrase", "", "paraphrase"]
    assert out["prob_paraphrase"].tolist()[0] == 0.1 and out["prob_paraphrase"].isna().tolist()[1]

    path = charts.write_predictions_csv(out, tmp_path, "../../etc/my file.csv")
    assert path == tmp_path / "my_file-predictions.csv"
    back = pd.read_csv(path)
    assert back.columns.tolist() == out.columns.tolist() and len(back) == 3

    with pytest.raises(ValueError, match="shape"):
        charts.predictions_frame(frame, probs[:2], ["a", "b"])


# ------------------------------------------------------------------------------------------ sources


@pytest.fixture
def jobs(tmp_path) -> JobManager:
    return JobManager(tmp_path / "runs")


def _run(jobs: JobManager, identity: str, run_id: str, *, with_model: bool = True):
    path = jobs.owner_dir(identity) / run_id
    (path / "model").mkdir(parents=True)
    (path / "status.json").write_text(json.dumps({"state": "finished", "created": 1.0}), encoding="utf-8")
    if with_model:
        (path / "model" / "config.json").write_text("{}", encoding="utf-8")
    return path


RUN = "20260101-120000-abc123"


def test_run_id_of():
    assert sources.run_id_of(f"run:{RUN}") == RUN
    assert sources.run_id_of(f"{RUN} · finished · bert on x.csv") == RUN
    assert sources.run_id_of("distilbert-base-uncased") is None
    assert sources.run_id_of(None) is None
    with pytest.raises(InputError, match="does not name a run"):
        sources.run_id_of("run:../../secret")


def test_resolve_model_runs_belong_to_their_owner(jobs):
    _run(jobs, "browser:me", RUN)
    resolved = sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=True)
    assert resolved == str(jobs.model_dir("browser:me", RUN))
    with pytest.raises(InputError, match="among your runs"):
        sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:other", on_space=True)


def test_resolve_model_falls_back_to_the_latest_checkpoint(jobs):
    path = _run(jobs, "browser:me", RUN, with_model=False)
    with pytest.raises(InputError, match="no saved model yet"):
        sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=False)
    for step in (5, 12, 9):
        (path / "model" / f"checkpoint-{step}").mkdir()
        (path / "model" / f"checkpoint-{step}" / "config.json").write_text("{}", encoding="utf-8")
    resolved = sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=False)
    assert resolved.endswith("checkpoint-12")


def test_resolve_model_identity_is_needed_only_for_runs(jobs):
    def no_identity():
        raise AssertionError("identity asked for a Hub model")

    assert sources.resolve_model("owner/name", jobs=jobs, identity=no_identity, on_space=True) == "owner/name"
    assert sources.resolve_model("", jobs=jobs, identity=no_identity, on_space=True, default="d/m") == "d/m"
    with pytest.raises(InputError, match="No model chosen"):
        sources.resolve_model(" ", jobs=jobs, identity=no_identity, on_space=True)


@pytest.mark.parametrize("value", ["/etc", "~/models", "../runs", "./model", "a/b/c", "a\\b", "x y"])
def test_resolve_model_refuses_paths_on_a_space(jobs, value):
    with pytest.raises(InputError, match="not a Hub model id"):
        sources.resolve_model(value, jobs=jobs, identity=lambda: "browser:me", on_space=True)


def test_resolve_model_refuses_an_existing_local_folder_named_like_a_hub_id(jobs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner" / "name").mkdir(parents=True)
    with pytest.raises(InputError, match="not a Hub model id"):
        sources.resolve_model("owner/name", jobs=jobs, identity=lambda: "browser:me", on_space=True)
    # Off a Space a local folder is fine.
    assert sources.resolve_model("owner/name", jobs=jobs, identity=lambda: "x", on_space=False) == str(
        tmp_path / "owner" / "name"
    )


def test_model_choices_list_only_runs_with_a_model(jobs):
    _run(jobs, "browser:me", RUN)
    _run(jobs, "browser:me", "20260101-130000-def456", with_model=False)
    runs = jobs.list_runs("browser:me")
    choices = sources.model_choices(runs, jobs, "browser:me", [("Hub: x", "x")])
    assert [value for _, value in choices] == [f"run:{RUN}", "x"]
    assert choices[0][0].startswith("? on ? · ")


def test_resolve_dataset_examples_presets_uploads_and_paths(tmp_path):
    cfg, split = sources.resolve_dataset("example:paraphrase", on_space=True, label_column=" ")
    assert cfg.dataset == str(EXAMPLES["paraphrase"].path) and split == "train"
    assert (cfg.text_column, cfg.text_pair_column, cfg.label_column) == ("sentence1", "sentence2", "label")

    cfg, split = sources.resolve_dataset("preset:sst2", on_space=True, text_column="other")
    assert (cfg.dataset, cfg.dataset_config, split) == ("nyu-mll/glue", "sst2", "validation")
    assert cfg.text_column == "other" and cfg.label_column == "label"

    cfg, split = sources.resolve_dataset("example:sentiment", upload="/tmp/gradio/x/up.csv", on_space=True)
    assert cfg.dataset == "/tmp/gradio/x/up.csv" and split == "train"

    cfg, split = sources.resolve_dataset("owner/data", on_space=True, config="c")
    assert (cfg.dataset, cfg.dataset_config, split) == ("owner/data", "c", None)

    local = tmp_path / "mine.csv"
    local.write_text("text,label\na,b\n", encoding="utf-8")
    cfg, split = sources.resolve_dataset(str(local), on_space=False)
    assert cfg.dataset == str(local) and split == "train"
    with pytest.raises(InputError, match="not a Hub dataset id"):
        sources.resolve_dataset(str(local), on_space=True)
    with pytest.raises(InputError, match="Unknown example"):
        sources.resolve_dataset("example:nope", on_space=True)
    with pytest.raises(InputError, match="No dataset chosen"):
        sources.resolve_dataset("", on_space=False)
    with pytest.raises(InputError, match="not a data file"):
        sources.resolve_dataset(str(tmp_path), on_space=False)


def test_dataset_choices_cover_runs_examples_and_presets(jobs):
    values = [value for _, value in sources.dataset_choices()]
    assert values[:2] == ["example:sentiment", "example:paraphrase"]
    assert "preset:mrpc" in values and "preset:sst2" in values
    _run(jobs, "browser:me", RUN, with_model=False)  # a run's data is there whatever became of its model
    choices = sources.dataset_choices(jobs.list_runs("browser:me"))
    assert choices[0][1] == f"run:{RUN}" and "eval rows" in choices[0][0]


def test_the_summary_shows_how_numbered_labels_were_read():
    report = {"model": "m", "rows": 2, "split": "train", "dataset": "d.csv", "metrics": {"accuracy": 1.0},
              "label_names": ["negative", "positive"], "notes": ["The data's labels are numbers; they were read ..."]}  # fmt: skip
    assert "⚠️ The data's labels are numbers" in charts.summary_markdown(report)
