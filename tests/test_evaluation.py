"""evaluate_model on a trained run: metrics, confusion matrix, per-class scores and the worst errors."""

from __future__ import annotations

import json

import pytest
from tiny import sentiment_rows, write_csv

from trainer_core import inference
from trainer_core.config import DataConfig
from trainer_core.errors import InputError
from trainer_core.evaluation import evaluate_model
from trainer_core.inference import Predictor

pytest_plugins = ["core_fixtures"]  # tiny_model, tiny_tokenizer, sentiment_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(autouse=True)
def fresh_predictors():
    inference.clear_cache()
    yield
    inference.clear_cache()


def flipped(rows: list[dict], every: int) -> list[dict]:
    """The rows with the label of every ``every``-th row swapped: those are sure to be predicted 'wrong'."""
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        if i % every == 0:
            row["label"] = "negative" if row["label"] == "positive" else "positive"
        out.append(row)
    return out


def test_report_on_a_held_out_file(sentiment_run):
    model = str(sentiment_run.output_dir)
    report = evaluate_model(model, DataConfig(dataset=str(sentiment_run.data_dir / "test.csv")))

    assert report.model == model
    assert report.split == "train"  # a local file has one split
    assert report.rows == len(sentiment_run.test_rows) == 200
    assert report.label_names == ["negative", "positive"]
    assert report.metrics["accuracy"] >= 0.9
    assert set(report.metrics) == {"accuracy", "f1", "precision", "recall", "matthews_correlation"}

    matrix = report.confusion_matrix
    assert len(matrix) == 2 and all(len(row) == 2 for row in matrix)
    assert sum(map(sum, matrix)) == 200
    assert [sum(row) for row in matrix] == [100, 100]  # rows are the true classes
    correct = matrix[0][0] + matrix[1][1]
    assert report.metrics["accuracy"] == pytest.approx(correct / 200)

    assert [c["label"] for c in report.per_class] == ["negative", "positive"]
    assert [c["support"] for c in report.per_class] == [100, 100]
    assert all(0.0 <= c[key] <= 1.0 for c in report.per_class for key in ("precision", "recall", "f1"))
    assert len(report.errors) == 200 - correct
    json.dumps(report.to_dict())


def test_errors_are_the_misclassified_rows_most_confident_first(sentiment_run, tmp_path):
    rows = flipped(sentiment_run.test_rows[:60], every=3)  # 20 labels made wrong on purpose
    path = write_csv(tmp_path / "noisy.csv", rows)
    report = evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path)))

    predictor = Predictor(str(sentiment_run.output_dir), device="cpu")
    probs = predictor.predict_proba([row["text"] for row in rows])
    wrong = [
        (row["text"], row["label"], predictor.label_names[p.argmax()], round(float(p.max()), 4))
        for row, p in zip(rows, probs, strict=True)
        if predictor.label_names[p.argmax()] != row["label"]
    ]
    assert len(wrong) >= 18  # the flipped rows, give or take a mistake of the model
    assert len(report.errors) == len(wrong)
    confidences = [error["confidence"] for error in report.errors]
    assert confidences == sorted(confidences, reverse=True)
    assert sorted((e["text"], e["label"], e["predicted"]) for e in report.errors) == sorted(w[:3] for w in wrong)
    for error in report.errors:
        assert set(error) == {"text", "label", "predicted", "confidence"}
        assert error["label"] != error["predicted"]
        assert error["confidence"] >= 0.5
    off_diagonal = report.confusion_matrix[0][1] + report.confusion_matrix[1][0]
    assert off_diagonal == len(report.errors)

    capped = evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path)), max_errors=5)
    assert capped.errors == report.errors[:5]


def test_integer_labels_map_to_the_model_classes_by_id(sentiment_run, tmp_path):
    rows = [{"text": row["text"], "label": int(row["label"] == "positive")} for row in sentiment_run.test_rows[:50]]
    path = write_csv(tmp_path / "ints.csv", rows)
    report = evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path)))
    assert report.label_names == ["negative", "positive"]
    assert report.metrics["accuracy"] >= 0.9
    # Nothing checks that the numbering is the model's: the report says how the numbers were read.
    assert report.notes == [
        "The data's labels are numbers; they were read as the model's classes in order (0 = negative, 1 = positive)."
    ]


def test_label_names_match_whatever_their_case(sentiment_run, tmp_path):
    rows = [{"text": row["text"], "label": row["label"].upper()} for row in sentiment_run.test_rows[:50]]
    path = write_csv(tmp_path / "upper.csv", rows)
    report = evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path)))
    assert report.metrics["accuracy"] >= 0.9
    assert report.notes == []  # matched by name


def test_labels_the_model_does_not_know_are_an_error(sentiment_run, tmp_path):
    rows = [
        {"text": row["text"], "label": "cat" if i % 2 else "dog"} for i, row in enumerate(sentiment_run.test_rows[:10])
    ]
    path = write_csv(tmp_path / "animals.csv", rows)
    with pytest.raises(InputError) as caught:
        evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path)))
    message = str(caught.value)
    assert "(cat, dog)" in message
    assert "(negative, positive)" in message
    assert "do not match the model's labels" in message


def test_an_untrained_model_with_generic_labels_is_evaluated_by_id(tiny_model, tmp_path):
    path = write_csv(tmp_path / "ints.csv", sentiment_rows(30))
    report = evaluate_model(str(tiny_model), DataConfig(dataset=str(path)))
    assert report.label_names == ["LABEL_0", "LABEL_1"]
    assert sum(map(sum, report.confusion_matrix)) == 30


def test_max_rows_and_a_predictor_instance(sentiment_run):
    predictor = Predictor(str(sentiment_run.output_dir), device="cpu")
    report = evaluate_model(predictor, DataConfig(dataset=str(sentiment_run.data_dir / "test.csv")), max_rows=25)
    assert report.rows == 25
    assert sum(map(sum, report.confusion_matrix)) == 25


def test_an_unknown_split_lists_the_splits(sentiment_run):
    with pytest.raises(InputError, match=r"Split 'validation' does not exist .* Available splits: train"):
        evaluate_model(
            str(sentiment_run.output_dir),
            DataConfig(dataset=str(sentiment_run.data_dir / "test.csv")),
            split="validation",
        )


def test_a_missing_text_column_lists_the_columns(sentiment_run, tmp_path):
    path = write_csv(tmp_path / "odd.csv", [{"words": "a good film", "label": "positive"}] * 3)
    with pytest.raises(InputError, match=r"The text column 'body' is not in the dataset\. Columns found: words, label"):
        evaluate_model(str(sentiment_run.output_dir), DataConfig(dataset=str(path), text_column="body"))


def test_huge_texts_are_cut_before_tokenization_and_in_the_report(sentiment_run, tmp_path, monkeypatch):
    from trainer_core.data import CHARS_PER_TOKEN

    predictor = Predictor(str(sentiment_run.output_dir), device="cpu")
    seen: list[int] = []
    tokenizer = predictor.tokenizer

    def recording(texts, pairs=None, **kwargs):
        seen.extend(len(t) for t in texts)
        return tokenizer(texts, pairs, **kwargs)

    monkeypatch.setattr(predictor, "tokenizer", recording)
    huge = "boring awful " + "the movie " * 3_000  # 30,000 characters, labelled the wrong way round
    rows = [{"text": huge, "label": "positive"}, *sentiment_run.test_rows[:20]]
    report = evaluate_model(predictor, DataConfig(dataset=str(write_csv(tmp_path / "huge.csv", rows))))

    limit = predictor.max_length * CHARS_PER_TOKEN
    assert max(seen) == limit
    mistake = next(e for e in report.errors if e["text"].startswith("boring awful"))
    assert len(mistake["text"]) == limit
