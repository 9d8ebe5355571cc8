"""Regression and multi-label runs, end to end on the tiny model: config, data, metrics, training, inference,
evaluation, the command line and the Hub (through the Hub double)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset, DatasetDict
from tiny import pair_score_rows, rating_rows, sentiment_rows, topic_rows, write_csv, write_jsonl

from trainer_core import data as data_lib
from trainer_core import task_types as kinds
from trainer_core.config import DataConfig, TrainConfig
from trainer_core.errors import InputError
from trainer_core.evaluation import evaluate_model
from trainer_core.inference import Predictor
from trainer_core.metrics import load_metric, primary_metric
from trainer_core.metrics import registry as metric_registry
from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE
from trainer_core.training import train

pytest_plugins = ["core_fixtures"]  # tiny_model, rating_run, topics_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


def raw(rows: list[dict]) -> DatasetDict:
    return DatasetDict({"train": Dataset.from_list(rows)})


def losses(events: list[dict]) -> list[float]:
    return [event["loss"] for event in events if event["type"] == "log"]


def went_down(values: list[float], factor: float = 0.5) -> bool:
    """The last five logged losses average below ``factor`` times the first three's."""
    return len(values) >= 8 and np.mean(values[-5:]) < factor * np.mean(values[:3])


# ------------------------------------------------------------------------------------------- config


def test_an_unknown_task_type_names_the_choices():
    with pytest.raises(
        InputError, match=r"task_type must be one of single_label, multi_label, regression .* 'ranking'"
    ):
        DataConfig(dataset="x.csv", task_type="ranking")
    assert DataConfig(dataset="x.csv", task_type="Multi-Label").task_type == "multi_label"
    assert DataConfig(dataset="x.csv", task_type="").task_type is None


def test_a_separator_is_for_multi_label_only():
    with pytest.raises(InputError, match="label_separator splits multi-label cells, and task_type is regression"):
        DataConfig(dataset="x.csv", task_type="regression", label_separator=";")
    assert DataConfig(dataset="x.csv", label_separator="").label_separator is None
    assert TrainConfig.from_dict({"data": {"task_type": "regression"}}).data.task_type == "regression"


# --------------------------------------------------------------------------------------------- data


def test_a_regression_on_text_labels_names_the_column_and_the_values():
    rows = [{"text": f"row {i}", "rating": ["good", "bad", "4.5"][i % 3]} for i in range(30)]
    with pytest.raises(InputError) as err:
        data_lib.prepare(DataConfig(dataset="x", label_column="rating", task_type="regression"), raw(rows))
    message = str(err.value)
    assert "label column 'rating'" in message and "20 of 30 rows" in message
    assert "'good'" in message and "'bad'" in message and "task_type single_label" in message


def test_regression_targets_become_floats_and_rows_without_one_are_dropped():
    rows = [{"text": f"row {i}", "rating": None if i == 3 else i / 4} for i in range(40)]
    prepared = data_lib.prepare(
        DataConfig(dataset="x", label_column="rating", task_type="regression", validation_size=0.2), raw(rows)
    )
    assert prepared.task_type == "regression" and prepared.label_names == ["rating"]
    assert prepared.train.features["label"].dtype == "float32"
    assert len(prepared.train) + len(prepared.eval) == 39
    assert [p.message for p in prepared.problems] == ["Dropped 1 training rows without a number."]
    same = [{"text": f"row {i}", "rating": 2.0} for i in range(10)]
    with pytest.raises(InputError, match=r"holds the same number \(2\) in every training row"):
        data_lib.prepare(DataConfig(dataset="x", label_column="rating", task_type="regression"), raw(same))


def test_fractional_labels_are_never_silently_a_regression_but_the_error_suggests_it():
    rows = [{"text": f"row {i}", "score": i * 0.37} for i in range(40)]
    with pytest.raises(InputError, match="40 classes for 40 rows") as err:
        data_lib.prepare(DataConfig(dataset="x", label_column="score"), raw(rows))
    assert "fractional numbers (0.37, 0.74, 1.11, ...)" in str(err.value)
    assert "task_type: regression" in str(err.value)
    preview = data_lib.preview(DataConfig(dataset="x", label_column="score"), raw=raw(rows))
    assert preview.task_type == "single_label"
    assert "suggest_regression" in [p.kind for p in preview.problems]


def test_string_and_integer_labels_stay_single_label():
    rows = sentiment_rows(20, string_labels=True)
    prepared = data_lib.prepare(DataConfig(dataset="x", validation_size=0.2), raw(rows))
    assert prepared.task_type == "single_label" and prepared.task_type_reason is None
    assert prepared.label_names == ["negative", "positive"]
    numbered = data_lib.prepare(DataConfig(dataset="x", validation_size=0.2), raw(sentiment_rows(20)))
    assert numbered.task_type == "single_label" and numbered.label_names == ["0", "1"]


def test_a_list_column_is_detected_as_multi_label():
    prepared = data_lib.prepare(DataConfig(dataset="x", validation_size=0.2), raw(topic_rows(40)))
    assert prepared.task_type == "multi_label"
    assert "holds a list of labels per row" in prepared.task_type_reason
    assert prepared.label_names == ["negative", "positive"]
    first = prepared.train[0]
    assert len(first["label"]) == 2 and set(first["label"]) <= {0.0, 1.0}
    with pytest.raises(InputError, match="holds a list of labels per row, and task_type is single_label"):
        data_lib.prepare(DataConfig(dataset="x", task_type="single_label"), raw(topic_rows(40)))


@pytest.mark.parametrize(
    ("cell", "separator", "expected"),
    [
        ("sports;politics", None, ["sports", "politics"]),
        ("a, b|c", None, ["a", "b", "c"]),
        ("news, local / weather", "/", ["news, local", "weather"]),
        ("", None, []),
        (None, None, []),
        (float("nan"), None, []),
        (["x", " y ", "x"], ";", ["x", "y"]),
    ],
)
def test_the_separator_rule(cell, separator, expected):
    assert kinds.split_labels(cell, separator) == expected


def test_separated_text_is_split_by_the_default_rule_or_the_given_separator(tmp_path):
    rows = [{"text": row["text"], "tags": ";".join(row["tags"])} for row in topic_rows(40)]
    prepared = data_lib.prepare(
        DataConfig(dataset="x", label_column="tags", task_type="multi_label", validation_size=0.2), raw(rows)
    )
    assert prepared.label_names == ["negative", "positive"]
    slashed = [{"text": f"row {i}", "tags": "a,1/b,2" if i % 2 else "b,2"} for i in range(20)]
    prepared = data_lib.prepare(
        DataConfig(dataset="x", label_column="tags", task_type="multi_label", label_separator="/"), raw(slashed)
    )
    assert prepared.label_names == ["a,1", "b,2"]
    # A separator alone says the cells hold several labels.
    detected = data_lib.prepare(DataConfig(dataset="x", label_column="tags", label_separator="/"), raw(slashed))
    assert detected.task_type == "multi_label" and "a label separator ('/') is given" in detected.task_type_reason


def test_multi_label_eval_labels_unknown_to_training_are_named():
    train_rows = [{"text": f"row {i}", "tags": ["a", "b"][: 1 + i % 2]} for i in range(20)]
    eval_rows = [{"text": "other", "tags": ["a", "zebra"]}]
    splits = DatasetDict({"train": Dataset.from_list(train_rows), "validation": Dataset.from_list(eval_rows)})
    with pytest.raises(InputError, match="validation split has labels never seen in the training split: zebra"):
        data_lib.prepare(DataConfig(dataset="x"), splits)


def test_free_text_split_into_many_labels_is_refused():
    rows = [{"text": f"row {i}", "tags": f"word{i}, other{i}"} for i in range(30)]
    with pytest.raises(InputError, match="has 60 different labels in 30 rows"):
        data_lib.prepare(DataConfig(dataset="x", label_column="tags", task_type="multi_label"), raw(rows))


def test_preview_shows_the_target_distribution_and_label_frequencies():
    ratings = data_lib.preview(
        DataConfig(dataset="x", label_column="rating", task_type="regression"), raw=raw(rating_rows(50))
    )
    stats = ratings.target_stats
    assert ratings.task_type == "regression" and ratings.label_counts == {}
    assert stats["count"] == 50 and stats["min"] <= stats["median"] <= stats["max"]
    assert sum(stats["histogram"]) == 50 and len(stats["bin_edges"]) == len(stats["histogram"]) + 1
    topics = data_lib.preview(DataConfig(dataset="x"), raw=raw(topic_rows(40)))
    assert topics.task_type == "multi_label" and topics.label_names == ["negative", "positive"]
    expected = {name: sum(name in row["tags"] for row in topic_rows(40)) for name in topics.label_names}
    assert topics.label_counts == expected
    assert topics.target_stats["rows_without_labels"] == sum(not row["tags"] for row in topic_rows(40))


# ------------------------------------------------------------------------------------------ metrics


def test_the_regression_module_known_answer():
    result = load_metric("regression").compute(predictions=[1.0, 2.0, 3.0, 5.0], references=[1.0, 2.0, 4.0, 4.0])
    assert list(result) == ["mse", "rmse", "mae", "pearson", "spearman", "r2"]
    assert result["mse"] == pytest.approx(0.5) and result["mae"] == pytest.approx(0.5)
    assert result["rmse"] == pytest.approx(0.5**0.5)
    assert result["r2"] == pytest.approx(1 - 2 / 6.75)
    assert result["pearson"] == pytest.approx(np.corrcoef([1, 2, 3, 5], [1, 2, 4, 4])[0, 1])
    flat = load_metric("regression").compute(predictions=[1.0, 1.0], references=[1.0, 2.0])
    assert flat["pearson"] == 0.0 and flat["spearman"] == 0.0


def test_the_multi_label_module_known_answer():
    result = load_metric("multi_label").compute(predictions=[[1, 0, 1], [0, 1, 0]], references=[[1, 0, 0], [0, 1, 0]])
    # TP 2, FP 1, FN 0 over all decisions; per label F1: 1, 1, 0.
    expected = {"micro_f1": 0.8, "macro_f1": 2 / 3, "micro_precision": 2 / 3, "micro_recall": 1.0}
    assert result == pytest.approx(expected | {"exact_match": 0.5, "hamming_loss": 1 / 6})


def test_the_primary_metrics_and_their_direction():
    assert primary_metric(1, "regression") == "mse" and not metric_registry.higher_is_better("mse")
    assert primary_metric(3, "multi_label") == "micro_f1" and metric_registry.higher_is_better("micro_f1")
    assert primary_metric(2) == "f1" and primary_metric(3) == "accuracy"


def test_thresholds_are_tuned_per_label_for_f1():
    probs = np.array([[0.9, 0.3], [0.35, 0.2], [0.8, 0.25], [0.1, 0.1]])
    truth = np.array([[1, 1], [1, 0], [1, 1], [0, 0]])
    thresholds = kinds.tune_thresholds(probs, truth)
    # Label 0: 0.35 takes all three positives and nothing else; label 1: 0.25 separates 0.3 / 0.25 from 0.2.
    assert thresholds[0] == 0.35 and thresholds[1] == 0.25
    assert kinds.apply_thresholds(probs, thresholds).tolist() == truth.tolist()
    assert kinds.tune_thresholds(probs, np.zeros_like(truth)) == [0.5, 0.5]  # no positive: keep 0.5


# ---------------------------------------------------------------------------------------- training


def test_a_regression_learns_the_ratings(rating_run):
    result = rating_run.result
    assert result.task_type == "regression" and result.label_names == ["rating"]
    assert list(result.metrics) == list(metric_registry.names_for("regression"))
    assert went_down(losses(rating_run.events)), losses(rating_run.events)
    assert result.metrics["pearson"] > 0.8, result.metrics
    config = json.loads((rating_run.output_dir / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "regression" and config["id2label"] == {"0": "rating"}
    assert next(e for e in rating_run.events if e["type"] == "prepared")["task_type"] == "regression"


def test_a_multi_label_run_learns_and_stores_its_thresholds(topics_run):
    result = topics_run.result
    assert result.task_type == "multi_label" and result.label_names == ["negative", "positive"]
    assert list(result.metrics) == list(metric_registry.names_for("multi_label"))
    # From ln 2 (chance for each label); a sigmoid per label learns more slowly than one softmax on this model.
    assert went_down(losses(topics_run.events), 0.8), losses(topics_run.events)
    assert result.metrics["micro_f1"] > 0.8, result.metrics  # predicting every label scores about 0.73 here
    config = json.loads((topics_run.output_dir / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    assert config[kinds.THRESHOLDS_KEY] == result.thresholds
    assert set(result.thresholds) == set(result.label_names) and all(0 < t < 1 for t in result.thresholds.values())
    saved = TrainConfig.from_yaml(topics_run.output_dir / CONFIG_FILE)
    assert saved.data.task_type == "multi_label"  # detected, and written so a rerun reads the data the same way
    assert "data.task_type" in saved.chosen
    # The tuned thresholds score the eval split at least as well as 0.5 for every label.
    plain = [e for e in topics_run.events if e["type"] == "eval"][-1]["metrics"]
    assert result.metrics["micro_f1"] >= plain["micro_f1"] - 1e-9


def test_a_pair_regression_learns(tiny_model, tmp_path):
    dataset = write_csv(tmp_path / "pairs.csv", pair_score_rows(200))
    from tiny import tiny_train_config

    config = tiny_train_config(tiny_model, dataset, tmp_path / "out")
    config.data.task_type, config.data.label_column = "regression", "score"
    events: list[dict] = []
    result = train(config, on_event=events.append)
    assert result.task_type == "regression" and result.label_names == ["score"]
    assert went_down(losses(events)), losses(events)
    assert result.metrics["pearson"] > 0.5, result.metrics
    predictor = Predictor(result.output_dir, device="cpu")
    with pytest.raises(InputError, match="second text"):
        predictor.predict("good", "")
    assert set(predictor.answer(predictor.predict("great great", "superb"))) == {"score"}


def test_a_multi_label_run_from_separated_text(tiny_model, tmp_path):
    rows = [{"text": row["text"], "tags": " / ".join(row["tags"])} for row in topic_rows(120)]
    dataset = write_csv(tmp_path / "topics.csv", rows)
    from tiny import tiny_train_config

    config = tiny_train_config(tiny_model, dataset, tmp_path / "out", max_steps=10)
    config.data.task_type, config.data.label_separator = "multi_label", "/"
    result = train(config)
    assert result.label_names == ["negative", "positive"]


# --------------------------------------------------------------------------------------- inference


def test_a_regression_model_predicts_a_number(rating_run):
    predictor = Predictor(str(rating_run.output_dir), device="cpu")
    assert predictor.task_type == "regression"
    good, bad = (predictor.predict(text) for text in ("great superb wonderful film", "awful terrible boring film"))
    assert list(good) == ["rating"] and good["rating"] > bad["rating"]
    assert predictor.answer(good) == {"score": good["rating"]}
    values = predictor.predict_proba(["great film", "bad film"])
    assert values.shape == (2, 1)


def test_a_multi_label_model_gives_each_label_its_probability_and_applies_its_thresholds(topics_run, tmp_path):
    import shutil

    predictor = Predictor(str(topics_run.output_dir), device="cpu")
    assert predictor.task_type == "multi_label"
    assert predictor.thresholds == [topics_run.result.thresholds[n] for n in predictor.label_names]
    scores = predictor.predict("a great film, awful acting")
    assert set(scores) == {"negative", "positive"}
    assert all(0 <= p <= 1 for p in scores.values()) and sum(scores.values()) != pytest.approx(1.0)
    answer = predictor.answer(scores)
    assert set(answer) == {"labels", "scores", "thresholds"}
    assert answer["labels"] == [n for n, p in scores.items() if p >= answer["thresholds"][n]]

    # Inference reads the thresholds from config.json: moving one moves the answer.
    copy = Path(shutil.copytree(topics_run.output_dir, tmp_path / "copy"))
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    config[kinds.THRESHOLDS_KEY] = dict.fromkeys(predictor.label_names, 0.99)
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    strict = Predictor(str(copy), device="cpu")
    assert strict.answer(strict.predict("a great film, awful acting"))["labels"] == [
        n for n, p in scores.items() if p >= 0.99
    ]


# -------------------------------------------------------------------------------------- evaluation


def test_evaluating_a_regression_gives_its_metrics_points_and_largest_errors(rating_run):
    data = DataConfig(dataset=str(rating_run.data_dir / "test-ratings.jsonl"), label_column="rating")
    report = evaluate_model(str(rating_run.output_dir), data)
    assert report.task_type == "regression" and report.rows == 60
    assert list(report.metrics) == list(metric_registry.names_for("regression"))
    assert report.confusion_matrix == [] and report.per_class == []
    assert len(report.points) == 60 and set(report.points[0]) == {"true", "predicted"}
    sizes = [abs(row["error"]) for row in report.errors]
    assert sizes == sorted(sizes, reverse=True)
    assert report.errors[0]["error"] == pytest.approx(report.errors[0]["predicted"] - report.errors[0]["label"], 1e-3)


def test_evaluating_a_multi_label_model_gives_per_label_scores_thresholds_and_wrong_rows(topics_run):
    data = DataConfig(dataset=str(topics_run.data_dir / "test-topics.jsonl"))
    report = evaluate_model(str(topics_run.output_dir), data)
    assert report.task_type == "multi_label" and report.thresholds == topics_run.result.thresholds
    assert list(report.metrics) == list(metric_registry.names_for("multi_label"))
    assert [row["label"] for row in report.per_class] == ["negative", "positive"]
    assert all({"precision", "recall", "f1", "support", "threshold"} <= set(row) for row in report.per_class)
    for row in report.errors:
        assert row["missed"] or row["extra"]


def test_evaluating_on_labels_the_model_does_not_know_names_them(topics_run, tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"text": "a good film", "tags": ["positive", "weather"]}] * 3)
    with pytest.raises(InputError, match="labels the model does not know: weather"):
        evaluate_model(str(topics_run.output_dir), DataConfig(dataset=str(path)))


# ----------------------------------------------------------------------------------- command line


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    from trainer_core.cli import main

    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_the_cli_trains_predicts_and_evaluates_a_regression(capsys, tiny_model, tmp_path):
    dataset = write_csv(tmp_path / "ratings.csv", rating_rows(80))
    code, out, err = run_cli(
        capsys, "train", "--model", tiny_model, "--dataset", dataset, "--output-dir", tmp_path / "out",
        "--task-type", "regression", "--label-column", "rating", "--max-steps", "8", "--batch-size", "8",
        "--learning-rate", "5e-3", "--max-length", "32", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert set(last_json(out)["metrics"]) == set(metric_registry.names_for("regression"))
    assert "target: rating (regression)" in err

    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "out", "--text", "a great film", "--json")
    assert code == 0, err
    answer = last_json(out)
    assert list(answer) == ["score"] and isinstance(answer["score"], float)

    code, out, err = run_cli(
        capsys, "evaluate", "--model", tmp_path / "out", "--dataset", dataset, "--label-column", "rating", "--json"
    )
    assert code == 0, err
    report = last_json(out)
    assert report["task_type"] == "regression" and "points" not in report and report["errors"]
    code, out, _ = run_cli(
        capsys, "evaluate", "--model", tmp_path / "out", "--dataset", dataset, "--label-column", "rating"
    )
    assert "largest errors (true -> predicted)" in out and "mse: " in out


def test_the_cli_refuses_a_regression_on_text_labels_before_training(capsys, tiny_model, tmp_path):
    dataset = write_csv(tmp_path / "reviews.csv", sentiment_rows(20, string_labels=True))
    code, out, err = run_cli(
        capsys, "train", "--model", tiny_model, "--dataset", dataset, "--output-dir", tmp_path / "out",
        "--task-type", "regression", "--max-steps", "2",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "label column 'label'" in err and "'negative'" in err and "'positive'" in err
    assert not (tmp_path / "out" / "config.json").exists()


def test_the_cli_previews_and_predicts_multi_label(capsys, topics_run):
    dataset = topics_run.data_dir / "topics.jsonl"
    code, out, err = run_cli(capsys, "preview", "--dataset", dataset)
    assert code == 0, err
    assert "task type: multi_label" in out and "labels per row: mean" in out
    code, out, err = run_cli(capsys, "preview", "--dataset", dataset, "--task-type", "regression", "--json")
    assert code == 0 and "needs a number in the label column 'tags'" in out

    code, out, err = run_cli(capsys, "predict", "--model", topics_run.output_dir, "--text", "a lovely film", "--json")
    assert code == 0, err
    answer = last_json(out)
    assert set(answer) == {"labels", "scores", "thresholds"}
    assert answer["thresholds"] == topics_run.result.thresholds


def test_the_preview_shows_the_target_of_a_regression(capsys, rating_run):
    dataset = rating_run.data_dir / "ratings.jsonl"
    code, out, err = run_cli(
        capsys, "preview", "--dataset", dataset, "--label-column", "rating", "--task-type", "regression"
    )
    assert code == 0, err
    assert "task type: regression" in out and "target: 200 values, mean" in out


# ------------------------------------------------------------------------------------------- the Hub


def test_a_regression_and_a_multi_label_model_are_pushed_with_cards_and_load_back(
    hub, tiny_model, tmp_path, capsys, monkeypatch
):
    from hub_double import ALICE_TOKEN
    from transformers import AutoConfig, AutoModelForSequenceClassification, pipeline

    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    ratings = write_csv(tmp_path / "ratings.csv", rating_rows(60))
    topics = write_jsonl(tmp_path / "topics.jsonl", topic_rows(60))
    common = ["--model", tiny_model, "--max-steps", "6", "--batch-size", "8", "--learning-rate", "5e-3",
              "--max-length", "32", "--json"]  # fmt: skip
    code, out, err = run_cli(capsys, "train", "--dataset", ratings, "--output-dir", tmp_path / "r", "--task-type",
                             "regression", "--label-column", "rating", "--push-to-hub", "tiny-ratings", *common)  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli(capsys, "train", "--dataset", topics, "--output-dir", tmp_path / "m",
                             "--push-to-hub", "tiny-topics", *common)  # fmt: skip
    assert code == 0, err
    assert last_json(out)["pushed_repo"] == "alice/tiny-topics"

    card = hub.files("alice/tiny-ratings")["README.md"].decode()
    assert "text-regression" in card and "predicts the number in `rating`" in card
    assert "mse" in card and "pearson" in card
    model = AutoModelForSequenceClassification.from_pretrained("alice/tiny-ratings")
    assert model.config.problem_type == "regression" and model.config.num_labels == 1
    regressor = pipeline("text-classification", model="alice/tiny-ratings")
    assert isinstance(regressor("a great film")[0]["score"], float)

    card = hub.files("alice/tiny-topics")["README.md"].decode()
    assert "multi-label-classification" in card and "| threshold |" in card and "micro_f1" in card
    config = AutoConfig.from_pretrained("alice/tiny-topics")
    assert config.problem_type == "multi_label_classification"
    assert set(config.label_thresholds) == {"negative", "positive"}
    # The card's usage code, as written there.
    classifier = pipeline("text-classification", model="alice/tiny-topics", top_k=None)
    scores = classifier("I loved this film!")[0]
    thresholds = classifier.model.config.label_thresholds
    labels = [s["label"] for s in scores if s["score"] >= thresholds[s["label"]]]
    assert {s["label"] for s in scores} == {"negative", "positive"} and set(labels) <= {"negative", "positive"}
    assert 'scores = classifier("I loved this film!")[0]' in card


# ------------------------------------------------------------------------------ ZeroGPU's slices


@pytest.mark.parametrize("kind", ["multi_label", "regression"])
def test_a_run_of_another_kind_trains_in_slices(kind, tiny_model, tmp_path, monkeypatch):
    """On ZeroGPU a run is prepared on the CPU, then trained by GPU calls that each resume the last one:
    the kind and the thresholds travel through the prepared run, not through memory."""
    import time

    from tiny import tiny_train_config

    from trainer_core.jobs import JobManager, train_slice_on_gpu

    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "4")
    if kind == "regression":
        dataset, label = write_csv(tmp_path / "ratings.csv", rating_rows(60)), "rating"
    else:
        dataset, label = write_jsonl(tmp_path / "topics.jsonl", topic_rows(60)), None
    config = tiny_train_config(tiny_model, dataset, tmp_path / "unused", max_steps=12, eval_steps=6)
    config.data.label_column = label
    config.data.task_type = kind if kind == "regression" else None

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=train_slice_on_gpu)
    run_id = jobs.start("visitor", config)
    deadline = time.monotonic() + 300
    while jobs.info("visitor", run_id).state not in ("finished", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    info = jobs.info("visitor", run_id)
    assert info.state == "finished", info.error
    assert info.step == 12 and set(info.metrics) == set(metric_registry.names_for(kind))
    saved = json.loads((jobs.run_dir("visitor", run_id) / "model" / "config.json").read_text(encoding="utf-8"))
    assert saved["problem_type"] == kinds.PROBLEM_TYPES[kind]
    assert (kinds.THRESHOLDS_KEY in saved) == (kind == "multi_label")
    done = jobs.events("visitor", run_id)[-1]["result"]
    assert done["task_type"] == kind


def test_the_search_of_a_regression_keeps_the_lowest_error(tiny_model, tmp_path):
    from tiny import tiny_train_config

    dataset = write_csv(tmp_path / "ratings.csv", rating_rows(60))
    config = tiny_train_config(tiny_model, dataset, tmp_path / "run", max_steps=3, search_trials=3)
    config.data.task_type, config.data.label_column = "regression", "rating"
    events: list[dict] = []
    train(config, on_event=events.append)
    done = next(e for e in events if e["type"] == "search_done")
    assert done["metric"] == "mse" and len(done["trials"]) == 3
    best = min(done["trials"], key=lambda t: t["objective"])  # an error: lower is better
    assert done["best"] == best["params"] and done["best_objective"] == pytest.approx(best["objective"])
