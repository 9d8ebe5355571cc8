"""Pure UI helpers: report tables and chart rows (ui/charts.py); ui/sources.py is tested in tests/ui/test_sources.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainer_core.errors import InputError
from trainer_core.ui import charts

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


def test_the_summary_shows_how_numbered_labels_were_read():
    report = {"model": "m", "rows": 2, "split": "train", "dataset": "d.csv", "metrics": {"accuracy": 1.0},
              "label_names": ["negative", "positive"], "notes": ["The data's labels are numbers; they were read ..."]}  # fmt: skip
    assert "⚠️ The data's labels are numbers" in charts.summary_markdown(report)
