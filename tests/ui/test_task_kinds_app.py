"""Regression and multi-label runs in the app, through gradio_client as an API user and as the page:
Dataset preview, /train, /predict, /evaluate, the Demo, /predict_batch and POST /api/predict."""

from __future__ import annotations

import pandas as pd
import pytest
from gradio_client import Client
from starlette.applications import Starlette
from starlette.testclient import TestClient
from test_dataset_tab import preview
from test_demo_tab import predict_batch
from test_evaluate_tab import evaluate_ok
from tiny import rating_rows, topic_rows, write_csv, write_jsonl

from trainer_core import inference
from trainer_core.ui import demo_tab
from trainer_core.ui.predict_route import PATH, predict_routes

SMALL = {"max_steps": 12, "batch_size": 8, "learning_rate": 5e-3, "max_length": 32, "warmup_ratio": 0.0}


@pytest.fixture
def client(studio, tmp_path):
    return Client(studio.demo.local_url, verbose=False, download_files=str(tmp_path))


@pytest.fixture
def ratings_csv(tmp_path):
    return write_csv(tmp_path / "ratings.csv", rating_rows(60))


@pytest.fixture
def topics_jsonl(tmp_path):
    return write_jsonl(tmp_path / "topics.jsonl", topic_rows(60))


def train(client, **options) -> dict:
    job = client.submit(**options, api_name="/train")
    updates = list(job)
    assert updates[-1]["state"] == "finished", [e for u in updates for e in u["events"] if e["type"] == "error"]
    return {"run_id": updates[-1]["run_id"], "events": [e for u in updates for e in u["events"]]}


def test_the_dataset_tab_previews_a_regression_target_and_multi_label_frequencies(
    studio, visitor, ratings_csv, topics_jsonl
):
    out = preview(
        studio, visitor=visitor, source="Hub dataset", dataset=str(ratings_csv), tokenizer="", label_column="rating",
        task_type="regression",
    )  # fmt: skip
    info = out["json"]
    assert info["task_type"] == "regression" and info["target_stats"]["count"] == 60
    bars = out["label_plot"]["data"]
    assert len(bars) == len(info["target_stats"]["histogram"]) and sum(row[1] for row in bars) == 60
    assert "Task kind: **regression**" in out["summary"] and "Target `rating`: 60 values" in out["summary"]

    out = preview(studio, visitor=visitor, source="Hub dataset", dataset=str(topics_jsonl), tokenizer="")
    info = out["json"]
    assert info["task_type"] == "multi_label" and info["label_names"] == ["negative", "positive"]
    assert {row[0]: row[1] for row in out["label_plot"]["data"]} == info["label_counts"]
    assert "Task kind: **multi-label**" in out["summary"]

    out = preview(
        studio, visitor=visitor, source="Hub dataset", dataset=str(topics_jsonl), tokenizer="", task_type="regression"
    )
    assert "needs a number in the label column 'tags'" in out["problems"]


def test_a_regression_trains_predicts_and_evaluates_through_the_api(studio, client, ratings_csv, tiny_model):
    run = train(client, dataset=str(ratings_csv), model=str(tiny_model), label_column="rating", task_type="regression",
                **SMALL)  # fmt: skip
    prepared = next(e for e in run["events"] if e["type"] == "prepared")
    assert prepared["task_type"] == "regression" and prepared["labels"] == ["rating"]
    done = run["events"][-1]["result"]
    assert done["task_type"] == "regression" and {"mse", "pearson", "r2"} <= set(done["metrics"])

    answer = client.predict("a great film", model=f"run:{run['run_id']}", api_name="/predict")
    assert list(answer) == ["score"] and isinstance(answer["score"], float)

    reports = client.predict(model=f"run:{run['run_id']}", dataset=str(ratings_csv), label_column="rating",
                             api_name="/evaluate")  # fmt: skip
    report = reports["report"]
    assert report["task_type"] == "regression" and len(report["points"]) == 60
    assert {"mse", "mae", "pearson", "spearman", "r2"} <= set(report["metrics"])


def test_the_evaluate_tab_shows_a_scatter_and_the_largest_errors_for_a_regression(studio, tiny_model, ratings_csv):
    from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
    from trainer_core.training import train as train_model

    out_dir = ratings_csv.parent / "model"
    config = TrainConfig(
        data=DataConfig(dataset=str(ratings_csv), label_column="rating", task_type="regression", max_length=32),
        model=ModelConfig(model=str(tiny_model)),
        training=TrainingConfig(output_dir=str(out_dir), max_steps=8, batch_size=8, learning_rate=5e-3),
    )
    train_model(config)
    out = evaluate_ok(studio, model=str(out_dir), dataset=str(ratings_csv), label_column="rating")
    assert out["report"]["task_type"] == "regression"
    assert out["confusion"] is None or not out["confusion"].get("data")
    assert len(out["scatter"]["value"]["data"]) == 60 and out["scatter"]["visible"] is True
    assert out["errors"]["headers"] == ["true label", "predicted", "error", "text"]
    errors = [abs(row[2]) for row in out["errors"]["data"]]
    assert errors == sorted(errors, reverse=True)
    assert "A regression of `rating`" in out["status"]


def test_a_multi_label_run_trains_predicts_and_evaluates_in_the_app(studio, client, topics_jsonl, tiny_model):
    run = train(client, dataset=str(topics_jsonl), model=str(tiny_model), **SMALL)
    done = run["events"][-1]["result"]
    assert done["task_type"] == "multi_label" and set(done["thresholds"]) == {"negative", "positive"}

    answer = client.predict("a lovely film", model=f"run:{run['run_id']}", api_name="/predict")
    assert set(answer) == {"labels", "scores", "thresholds"}
    assert answer["thresholds"] == done["thresholds"]
    assert answer["labels"] == [n for n, p in answer["scores"].items() if p >= answer["thresholds"][n]]

    reports = client.predict(model=f"run:{run['run_id']}", dataset=str(topics_jsonl), api_name="/evaluate")
    report = reports["report"]
    assert report["task_type"] == "multi_label" and report["thresholds"] == done["thresholds"]
    assert [row["label"] for row in report["per_class"]] == ["negative", "positive"]
    # The rows that run held out, read back as lists of labels.
    held_out = client.predict(model=f"run:{run['run_id']}", dataset=f"run:{run['run_id']}", api_name="/evaluate")
    prepared = next(e for e in run["events"] if e["type"] == "prepared")
    assert held_out["report"]["task_type"] == "multi_label"
    assert held_out["report"]["rows"] == prepared["eval_rows"] < 60


def test_the_evaluate_tab_shows_per_label_scores_and_thresholds(studio, tiny_model, topics_jsonl):
    from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
    from trainer_core.training import train as train_model

    out_dir = topics_jsonl.parent / "model"
    config = TrainConfig(
        data=DataConfig(dataset=str(topics_jsonl), max_length=32),
        model=ModelConfig(model=str(tiny_model)),
        training=TrainingConfig(output_dir=str(out_dir), max_steps=8, batch_size=8, learning_rate=5e-3),
    )
    result = train_model(config)
    out = evaluate_ok(studio, model=str(out_dir), dataset=str(topics_jsonl))
    assert out["per_class"]["headers"] == ["label", "precision", "recall", "f1", "support", "threshold"]
    assert [row[5] for row in out["per_class"]["data"]] == [result.thresholds[n] for n in ("negative", "positive")]
    assert out["errors"]["headers"] == ["true label", "predicted", "missed", "extra", "confidence", "text"]
    assert out["scatter"]["visible"] is False
    assert "Multi-label" in out["status"]


@pytest.fixture(scope="module")
def kind_models(tiny_model, tmp_path_factory):
    """A regression and a multi-label model of the tiny BERT, trained a few steps each (local folders)."""
    from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
    from trainer_core.training import train as train_model

    root = tmp_path_factory.mktemp("kinds")
    models = {}
    for kind, path, label in (
        ("regression", write_csv(root / "ratings.csv", rating_rows(40)), "rating"),
        ("multi_label", write_jsonl(root / "topics.jsonl", topic_rows(40)), None),
    ):
        config = TrainConfig(
            data=DataConfig(dataset=str(path), label_column=label, task_type=kind, max_length=32),
            model=ModelConfig(model=str(tiny_model)),
            training=TrainingConfig(output_dir=str(root / kind), max_steps=4, batch_size=8, learning_rate=5e-3),
        )
        models[kind] = train_model(config).output_dir
    return models


def test_the_demo_shows_the_score_or_each_labels_probability(studio, kind_models):
    error, value, shown = demo_tab.predict_ui(studio.ctx, "a great film", None, "sentiment", kind_models["regression"],
                                              None, "")  # fmt: skip
    assert error["visible"] is False
    assert value.startswith("rating: ") and float(value.split(": ")[1]) == pytest.approx(
        inference.get_predictor(kind_models["regression"]).predict("a great film")["rating"], abs=1e-3
    )
    assert "regression: the predicted number" in shown

    error, value, shown = demo_tab.predict_ui(studio.ctx, "a great film", None, "sentiment", kind_models["multi_label"],
                                              None, "")  # fmt: skip
    predictor = inference.get_predictor(kind_models["multi_label"])
    assert value == pytest.approx(predictor.predict("a great film"))
    over = predictor.answer(predictor.predict("a great film"))["labels"]
    assert f"over their thresholds: {', '.join(f'**{n}**' for n in over) or 'none'}" in shown


def test_batch_predictions_of_a_regression_and_a_multi_label_model(studio, kind_models, tmp_path):
    source = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["a great film", "", "boring and dull"]}).to_csv(source, index=False)
    path, _, _ = predict_batch(studio, source, model=kind_models["regression"])
    result = pd.read_csv(path, keep_default_na=False)
    assert list(result.columns) == ["text", "predicted_score"]
    predictor = inference.get_predictor(kind_models["regression"])
    assert float(result.loc[0, "predicted_score"]) == pytest.approx(predictor.predict("a great film")["rating"], 1e-4)
    assert result.loc[1, "predicted_score"] == ""  # the empty text

    path, _, _ = predict_batch(studio, source, model=kind_models["multi_label"])
    result = pd.read_csv(path, keep_default_na=False)
    assert list(result.columns) == ["text", "predicted_labels", "prob_negative", "prob_positive"]
    predictor = inference.get_predictor(kind_models["multi_label"])
    expected = predictor.answer(predictor.predict("a great film"))["labels"]
    assert result.loc[0, "predicted_labels"] == "; ".join(n for n in predictor.label_names if n in expected)


def test_the_json_route_answers_a_score_or_the_labels_over_their_thresholds(kind_models):
    inference.clear_cache()
    with TestClient(Starlette(routes=predict_routes(on_space=False))) as route:
        body = route.post(PATH, json={"text": "a great film", "model": kind_models["regression"]}).json()
        assert set(body) == {"model", "score"} and isinstance(body["score"], float)
        body = route.post(PATH, json={"text": "a great film", "model": kind_models["multi_label"]}).json()
        assert set(body) == {"model", "labels", "scores", "thresholds"}
        assert set(body["scores"]) == {"negative", "positive"}
    inference.clear_cache()


def test_the_train_api_refuses_a_regression_on_text_labels_naming_the_column(client, tiny_model, tmp_path):
    from gradio_client.exceptions import AppError
    from tiny import sentiment_rows

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20, string_labels=True))
    job = client.submit(
        dataset=str(data), model=str(tiny_model), task_type="regression", max_steps=2, api_name="/train"
    )
    updates = list(job)
    errors = [e["message"] for u in updates for e in u["events"] if e["type"] == "error"]
    assert updates[-1]["state"] == "failed"
    assert len(errors) == 1 and "label column 'label'" in errors[0] and "'negative'" in errors[0]
    with pytest.raises(AppError, match="task_type must be one of single_label, multi_label, regression"):
        client.predict(dataset=str(data), model=str(tiny_model), task_type="ranking", api_name="/train")
