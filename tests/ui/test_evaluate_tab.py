"""The Evaluate tab through its API: `/evaluate` on the launched app, with a tiny local model."""

from __future__ import annotations

import json
import secrets
import shutil
import time

import pytest
from gradio_client import handle_file
from tiny import tiny_train_config

from trainer_core.examples import EXAMPLES

OUTPUTS = (
    "error",
    "report",
    "report_b",
    "status",
    "metrics",
    "confusion",
    "confusion_plot",
    "per_class",
    "errors",
    "confusion_b",
    "confusion_plot_b",
    "per_class_b",
    "scatter",
)
METRICS = {"accuracy", "f1", "precision", "recall", "matthews_correlation"}


@pytest.fixture(scope="module")
def one_class_model(tiny_model, tmp_path_factory):
    """The tiny model made to answer LABEL_0 for every text: each LABEL_1 row is a mistake, so the
    misclassified-examples table is never empty (a random tiny model may make none)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tmp_path_factory.mktemp("one-class") / "bert"
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([5.0, -5.0]))
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(path)
    return path


def evaluate(studio, **inputs) -> dict:
    arguments = {
        "visitor": None,
        "token": "",
        "model": "",
        "dataset": "",
        "dataset_config": "",
        "split": "",
        "text_column": "",
        "text_pair_column": "",
        "label_column": "",
        "max_rows": 500,
        "compare": False,
        "compare_model": None,
        "dataset_file": None,
    } | inputs
    result = studio.client.predict(**arguments, api_name="/ui_evaluate")
    assert len(result) == len(OUTPUTS)
    out = dict(zip(OUTPUTS, result, strict=True))
    # The misclassified examples come as an update that carries their column widths: the table is its value.
    if isinstance(out["errors"], dict) and "value" in out["errors"]:
        out["errors"] = out["errors"]["value"]
    return out


def evaluate_ok(studio, **inputs) -> dict:
    out = evaluate(studio, **inputs)
    assert out["error"] == {"__type__": "update", "visible": False, "value": ""}
    return out


def evaluate_error(studio, **inputs) -> str:
    """The message in the tab's error box; every other output is left as it was."""
    out = evaluate(studio, **inputs)
    assert out["error"]["visible"] is True
    assert all(out[name] == {"__type__": "update"} for name in OUTPUTS[1:])
    return out["error"]["value"]


def make_run(studio, visitor: str, tiny_model, data=None) -> str:
    """A finished run of ``visitor`` whose model is the tiny model, filed as the job manager files it."""
    jobs = studio.ctx.jobs
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    path = jobs.owner_dir(studio.identity(visitor)) / run_id
    path.mkdir(parents=True)
    (path / "status.json").write_text(
        json.dumps({"state": "finished", "created": time.time(), "model": "tiny", "dataset": "reviews.csv"}),
        encoding="utf-8",
    )
    shutil.copytree(tiny_model, path / "model")
    if data is not None:
        config = tiny_train_config(tiny_model, data, path / "model")
        config.save(path / "config.yaml")
        # What training writes next to the model: the columns it trained on, detected ones included.
        config.data.text_column, config.data.label_column = "text", "label"
        config.save(path / "model" / "trainer_studio.yaml")
    return run_id


def test_evaluate_tiny_model_on_a_csv(studio, one_class_model, sentiment_csv):
    out = evaluate_ok(studio, model=str(one_class_model), dataset=str(sentiment_csv))
    report = out["report"]
    assert set(report["metrics"]) == METRICS
    assert all(0.0 <= report["metrics"][k] <= 1.0 for k in METRICS - {"matthews_correlation"})
    assert report["split"] == "train" and report["rows"] == 48
    assert report["label_names"] == ["LABEL_0", "LABEL_1"]
    matrix = report["confusion_matrix"]
    assert len(matrix) == 2 and all(len(row) == 2 for row in matrix)
    assert sum(map(sum, matrix)) == 48
    assert [row["support"] for row in report["per_class"]] == [sum(row) for row in matrix]
    assert out["report_b"] is None

    assert "48 rows" in out["status"] and "reviews.csv" in out["status"]
    assert "single split" in out["status"]  # the optimistic-scores note for a train-only file
    assert out["metrics"]["headers"] == ["metric", "score"]
    assert [row[0] for row in out["metrics"]["data"]][:2] == ["Accuracy", "F1"]
    assert out["confusion"]["headers"][1:] == ["LABEL_0", "LABEL_1"]
    assert [row[1:] for row in out["confusion"]["data"]] == matrix
    shown = out["confusion"]["metadata"]["display_value"]
    assert shown[0][1].startswith(f"{matrix[0][0]} (")
    assert len(out["confusion_plot"]["data"]) == 4
    assert out["per_class"]["headers"] == ["label", "precision", "recall", "f1", "support"]
    wrong = sum(matrix[i][j] for i in range(2) for j in range(2) if i != j)
    assert len(out["errors"]["data"]) == len(report["errors"]) == wrong == matrix[1][0] > 0
    assert out["errors"]["headers"] == ["true label", "predicted", "confidence", "text"]
    assert out["confusion_b"] is None or not out["confusion_b"].get("data")


def test_compare_two_models_on_the_same_rows(studio, one_class_model, tmp_path, paraphrase_csv):
    other = shutil.copytree(one_class_model, tmp_path / "copy")
    out = evaluate_ok(
        studio,
        model=str(one_class_model),
        dataset=str(paraphrase_csv),
        compare=True,
        compare_model=str(other),
        max_rows=30,
    )
    a, b = out["report"], out["report_b"]
    assert a["rows"] == b["rows"] == 30 and a["split"] == b["split"]
    assert a["confusion_matrix"] == b["confusion_matrix"]  # same weights, same rows
    assert out["metrics"]["headers"] == ["metric", "A", "B", "Δ (B − A)"]
    assert all(row[3] == 0 for row in out["metrics"]["data"])
    assert out["confusion_b"]["headers"][1:] == b["label_names"]
    assert len(out["per_class_b"]["data"]) == 2
    assert out["errors"]["headers"] == ["model", "true label", "predicted", "confidence", "text", "text_pair"]
    assert {row[0] for row in out["errors"]["data"]} == {"A", "B"}


def test_compare_without_a_second_model_is_an_error(studio, tiny_model, sentiment_csv):
    message = evaluate_error(studio, model=str(tiny_model), dataset=str(sentiment_csv), compare=True, compare_model="")
    assert "second model" in message


def test_shipped_example_and_uploaded_file(studio, tiny_model, one_class_model, sentiment_csv):
    out = evaluate_ok(studio, model=str(one_class_model), dataset="example:paraphrase", max_rows=20)
    assert out["report"]["dataset"] == "example:paraphrase"
    assert out["report"]["rows"] == 20
    assert out["report"]["errors"], "the one-class model gets every row of the other class wrong"
    assert "text_pair" in out["report"]["errors"][0]

    out = evaluate_ok(
        studio, model=str(tiny_model), dataset="example:paraphrase", dataset_file=handle_file(str(sentiment_csv))
    )
    assert out["report"]["dataset"] == "reviews.csv"  # the upload wins, shown by its name
    assert out["report"]["rows"] == 48


def test_column_overrides_and_unknown_column(studio, tiny_model, tmp_path):
    csv = tmp_path / "odd.csv"
    path = EXAMPLES["sentiment"].path
    csv.write_text(path.read_text(encoding="utf-8").replace("text,label", "review_body,verdict", 1), encoding="utf-8")
    out = evaluate_ok(
        studio, model=str(tiny_model), dataset=str(csv), text_column="review_body", label_column="verdict", max_rows=25
    )
    assert out["report"]["rows"] == 25
    message = evaluate_error(studio, model=str(tiny_model), dataset=str(csv), text_column="missing")
    assert "Columns found: review_body, verdict" in message


def test_bad_model_id_is_an_error_and_the_app_still_answers(studio, tiny_model, sentiment_csv, tmp_path):
    data = str(sentiment_csv)
    message = evaluate_error(studio, model="not a/model/id", dataset=data)
    assert "neither a local model folder nor a Hub model id" in message
    assert "No model chosen" in evaluate_error(studio, model="", dataset=data)
    empty = tmp_path / "empty-model"
    empty.mkdir()
    assert "empty-model" in evaluate_error(studio, model=str(empty), dataset=data)
    assert "Split 'test' does not exist" in evaluate_error(studio, model=str(tiny_model), dataset=data, split="test")
    out = evaluate_ok(studio, model=str(tiny_model), dataset=data, max_rows=10)
    assert out["report"]["rows"] == 10


def test_a_run_is_evaluated_only_by_its_owner(studio, tiny_model, sentiment_csv, visitor):
    run_id = make_run(studio, visitor, tiny_model)
    data = str(sentiment_csv)
    out = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset=data, max_rows=12)
    assert out["report"]["model"] == f"run:{run_id}"  # not the run's folder on the server
    assert str(studio.ctx.jobs.root) not in json.dumps(out["report"])

    message = evaluate_error(studio, visitor="someone-else", model=f"run:{run_id}", dataset=data)
    assert f"No run '{run_id}' among your runs" in message
    assert "reload the page" in evaluate_error(studio, visitor=None, model=f"run:{run_id}", dataset=data)
    assert "does not name a run" in evaluate_error(studio, visitor=visitor, model="run:../../etc", dataset=data)


def test_a_run_without_a_saved_model_says_so(studio, tiny_model, sentiment_csv, visitor):
    run_id = make_run(studio, visitor, tiny_model)
    model_dir = studio.ctx.jobs.model_dir(studio.identity(visitor), run_id)
    shutil.rmtree(model_dir)
    model_dir.mkdir()
    data = str(sentiment_csv)
    assert "has no saved model yet" in evaluate_error(studio, visitor=visitor, model=f"run:{run_id}", dataset=data)
    # A run stopped before its final save is evaluated from its latest checkpoint.
    shutil.copytree(tiny_model, model_dir / "checkpoint-4")
    out = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset=data, max_rows=8)
    assert out["report"]["rows"] == 8


def test_a_run_is_scored_on_the_rows_it_held_out(studio, tiny_model, sentiment_csv, visitor):
    from trainer_core import data as data_lib
    from trainer_core.config import DataConfig

    run_id = make_run(studio, visitor, tiny_model, data=sentiment_csv)
    out = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset=f"run:{run_id}")
    report = out["report"]
    held_out = data_lib.prepare(
        DataConfig(dataset=str(sentiment_csv)), data_lib.load_raw(DataConfig(dataset=str(sentiment_csv))), seed=0
    ).eval
    assert report["rows"] == len(held_out) == 5  # 10% of 48 rows, rounded up
    assert report["split"] == "10% of 'train' held out (seed 0)"
    assert report["dataset"] == f"run:{run_id}"
    assert "single split" not in out["status"]
    assert {row["text"] for row in report["errors"]} <= set(held_out["text"])  # no training row
    assert f"No run '{run_id}'" in evaluate_error(
        studio, visitor="someone-else", model=str(tiny_model), dataset=f"run:{run_id}"
    )


def test_a_single_text_run_is_not_scored_on_pairs(studio, tiny_model, sentiment_csv, visitor):
    run_id = make_run(studio, visitor, tiny_model, data=sentiment_csv)
    message = evaluate_error(studio, visitor=visitor, model=f"run:{run_id}", dataset="example:paraphrase")
    assert f"run:{run_id} was trained on single texts" in message and "sentence2" in message


def test_results_appear_with_the_first_result(studio, one_class_model, sentiment_csv):
    """No empty tables or chart frames before anything was scored (the page's result column is hidden)."""
    from trainer_core.ui import evaluate_tab

    (column,) = [c for c in studio.demo.config["components"] if c.get("props", {}).get("elem_id") == "eval-results"]
    assert column["props"]["visible"] is False
    out = evaluate_tab.evaluate(
        studio.ctx, None, "", str(one_class_model), str(sentiment_csv), "", "", "", "", "", 20, False, None, None
    )
    assert len(out) == evaluate_tab.EVAL_OUTPUTS and out[-1] == {"__type__": "update", "visible": True}
    failed = evaluate_tab.evaluate(
        studio.ctx, None, "", "", str(sentiment_csv), "", "", "", "", "", 20, False, None, None
    )
    assert failed[0]["visible"] is True and len(failed) == evaluate_tab.EVAL_OUTPUTS


def test_choosing_a_run_selects_the_rows_it_held_out(studio, tiny_model, sentiment_csv, visitor):
    """Picking a run as the model in Evaluate makes its own held-out rows the dataset (not the example data)."""
    from trainer_core.ui import evaluate_tab

    run_id = make_run(studio, visitor, tiny_model, data=sentiment_csv)
    update = evaluate_tab.dataset_for_model(studio.ctx, f"run:{run_id}", visitor)
    assert update["value"] == f"run:{run_id}"
    assert f"run:{run_id}" in [choice for _, choice in update["choices"]]
    assert evaluate_tab.dataset_for_model(studio.ctx, str(tiny_model), visitor) == {"__type__": "update"}
    # The page runs it when the model is chosen.
    components = {c["id"]: c.get("props", {}).get("elem_id") for c in studio.demo.config["components"]}
    wired = [
        [components.get(o) for o in d["outputs"]]
        for d in studio.demo.config["dependencies"]
        if [(components.get(t[0]), t[1]) for t in d["targets"]] == [("eval-model", "input")]
    ]
    assert ["eval-dataset"] in wired

    # No dataset given: a run is scored on its held-out rows, without the "seen in training" note.
    out = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset="")
    assert out["report"]["dataset"] == f"run:{run_id}"
    assert out["report"]["split"] == "10% of 'train' held out (seed 0)"
    assert "single split" not in out["status"] and "optimistic" not in out["status"]


def test_the_seen_in_training_note_is_about_the_runs_own_file(studio, tiny_model, sentiment_csv, visitor):
    run_id = make_run(studio, visitor, tiny_model, data=sentiment_csv)
    other = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset="example:sentiment", max_rows=10)
    assert "optimistic" not in other["status"]  # the run never saw these rows
    own = evaluate_ok(studio, visitor=visitor, model=f"run:{run_id}", dataset=str(sentiment_csv))
    assert f"run:{run_id}` was trained on this file" in own["status"] and "optimistic" in own["status"]
    assert f"Your run's eval rows · {run_id}" in own["status"]
