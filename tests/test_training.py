"""Fine-tuning the tiny model for real: learning, saved artefacts, events, stopping, resuming, checks."""

from __future__ import annotations

import json
import math
import shutil
import threading
from pathlib import Path

import pytest
from tiny import paraphrase_rows, sentiment_rows, tiny_train_config, write_csv

from trainer_core.config import TrainConfig
from trainer_core.errors import InputError
from trainer_core.inference import Predictor
from trainer_core.rundir import RESULTS_FILE
from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE
from trainer_core.tasks import resolve_config
from trainer_core.training import _resumable_checkpoint, train

pytest_plugins = ["core_fixtures"]  # tiny_model, tiny_tokenizer, sentiment_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


def types(events: list[dict]) -> list[str]:
    return [event["type"] for event in events]


def checkpoints(directory: Path) -> list[int]:
    return sorted(int(path.name.split("-")[1]) for path in Path(directory).glob("checkpoint-*"))


# -------------------------------------------------------------------------------------- learning


def test_the_model_learns_the_signal(sentiment_run):
    run = sentiment_run
    predictor = Predictor(str(run.output_dir), device="cpu")
    probs = predictor.predict_proba([row["text"] for row in run.test_rows])
    predicted = [predictor.label_names[i] for i in probs.argmax(axis=1)]
    accuracy = sum(p == row["label"] for p, row in zip(predicted, run.test_rows, strict=True)) / len(run.test_rows)
    assert accuracy >= 0.9, f"held-out accuracy {accuracy:.3f}"
    assert run.result.metrics["accuracy"] >= 0.9

    losses = [event["loss"] for event in run.events if event["type"] == "log"]
    assert len(losses) >= 5
    assert losses[0] == pytest.approx(0.693, abs=0.05)  # chance level for two classes
    assert losses[-1] < losses[0] / 2, losses


def test_string_labels_become_the_model_labels(sentiment_run):
    from transformers import pipeline

    config = json.loads((sentiment_run.output_dir / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["label2id"] == {"negative": 0, "positive": 1}
    assert sentiment_run.result.label_names == ["negative", "positive"]

    classifier = pipeline("text-classification", model=str(sentiment_run.output_dir), device="cpu")
    answers = classifier(["a great and wonderful film", "the plot was awful and boring"])
    assert [answer["label"] for answer in answers] == ["positive", "negative"]


# ---------------------------------------------------------------------------------------- events


def test_events_arrive_in_order(sentiment_run):
    events = sentiment_run.events
    kinds = types(events)
    assert kinds[0] == "prepared"
    assert kinds[1] == "train_begin"
    assert kinds[-1] == "done"
    assert kinds.count("done") == 1
    assert {"progress", "log", "eval", "checkpoint"} <= set(kinds)

    prepared = events[0]
    assert prepared["labels"] == ["negative", "positive"]
    assert (prepared["train_rows"], prepared["eval_rows"]) == (180, 20)
    assert "held out" in prepared["eval_source"]

    begin = events[1]
    training = sentiment_run.config.training
    epochs = int(training.epochs)
    steps_per_epoch = math.ceil(180 / training.batch_size)
    assert begin["total_steps"] == sentiment_run.result.global_step == epochs * steps_per_epoch

    # Steps never go back, and the first event of each kind comes in the order of a run.
    steps = [event["step"] for event in events if "step" in event]
    assert steps == sorted(steps)
    first = {kind: kinds.index(kind) for kind in ("train_begin", "progress", "log", "eval", "checkpoint", "done")}
    assert first["train_begin"] < first["progress"] < first["eval"] < first["checkpoint"] < first["done"]
    assert first["log"] < first["eval"]

    # One evaluation per epoch, each followed by its checkpoint; then the final evaluation of the best model.
    evals = [event for event in events if event["type"] == "eval"]
    assert [event["step"] for event in evals[:-1]] == [steps_per_epoch * epoch for epoch in range(1, epochs + 1)]
    assert [event["epoch"] for event in evals[:-1]] == [float(epoch) for epoch in range(1, epochs + 1)]
    for event in evals[:-1]:
        following = events[events.index(event) + 1]
        assert following["type"] == "checkpoint" and following["step"] == event["step"]
        assert following["path"].endswith(f"checkpoint-{event['step']}")
        assert {"accuracy", "f1", "loss"} <= set(event["metrics"])
    assert kinds[-2] == "eval"

    progress = [event for event in events if event["type"] == "progress"]
    assert progress[-1]["step"] == progress[-1]["total_steps"]
    assert all(event["step"] <= event["total_steps"] for event in progress)

    done = events[-1]["result"]
    assert done == sentiment_run.result.to_dict()
    json.dumps(events)  # events are plain data


def test_the_run_writes_its_config_results_and_card(sentiment_run):
    out = sentiment_run.output_dir
    saved = TrainConfig.from_yaml(out / CONFIG_FILE)
    expected = resolve_config(sentiment_run.config)
    expected.data.text_column, expected.data.label_column = "text", "label"  # detected, and recorded as trained on
    assert saved == expected
    assert saved.task == "custom" and saved.data.max_length == 64

    results = json.loads((out / RESULTS_FILE).read_text(encoding="utf-8"))
    assert results == sentiment_run.result.to_dict()
    assert results["stopped"] is False
    assert results["pushed_repo"] is None
    assert results["global_step"] == sentiment_run.result.global_step
    assert set(results["metrics"]) == {"accuracy", "f1", "precision", "recall", "matthews_correlation"}

    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| 0 | negative |" in card
    assert "| 1 | positive |" in card
    assert "pipeline_tag: text-classification" in card
    assert "| accuracy |" in card
    assert 'classifier("I loved this film!")' in card

    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (out / name).is_file(), name
    assert not list(out.glob("*.bin")) or all(p.name == "training_args.bin" for p in out.glob("*.bin"))
    assert len(checkpoints(out)) <= sentiment_run.config.training.save_total_limit
    assert sentiment_run.result.best_checkpoint is not None
    assert Path(sentiment_run.result.best_checkpoint).is_dir()


def test_stdout_stays_clean(tiny_model, tmp_path, capfd):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    train(tiny_train_config(tiny_model, data, tmp_path / "out", epochs=1.0, logging_steps=1))
    assert capfd.readouterr().out == ""


# -------------------------------------------------------------------------------------- stopping


def stop_after(step: int) -> tuple[threading.Event, list[dict], callable]:
    stop = threading.Event()
    events: list[dict] = []

    def sink(event: dict) -> None:
        events.append(event)
        if event["type"] == "log" and event["step"] >= step:
            stop.set()

    return stop, events, sink


def test_a_stop_request_ends_the_run_within_a_step_with_a_checkpoint(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(160))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=3.0, logging_steps=1)
    stop, events, sink = stop_after(3)

    result = train(config, on_event=sink, stop=stop)

    assert result.stopped is True
    assert result.global_step in (3, 4)
    assert "stopping" in types(events)
    assert max(event["step"] for event in events if event["type"] in ("log", "progress")) <= result.global_step
    assert result.global_step in checkpoints(tmp_path / "out")
    state = json.loads((tmp_path / "out" / f"checkpoint-{result.global_step}" / "trainer_state.json").read_text())
    assert state["global_step"] == result.global_step
    assert types(events)[-1] == "done"
    assert events[-1]["result"]["stopped"] is True
    saved = json.loads((tmp_path / "out" / RESULTS_FILE).read_text(encoding="utf-8"))
    assert saved["stopped"] is True
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_an_interrupted_run_resumes_to_the_same_step(tiny_model, sentiment_run, tmp_path):
    # Same data and options as the uninterrupted sentiment_run, in another directory.
    data = sentiment_run.data_dir / "reviews.csv"
    config = tiny_train_config(tiny_model, data, tmp_path / "out")
    stop, _, sink = stop_after(5)
    first = train(config, on_event=sink, stop=stop)
    assert first.stopped
    interrupted_at = first.global_step
    # A run killed mid-way leaves checkpoints but no results file.
    (tmp_path / "out" / RESULTS_FILE).unlink()

    events: list[dict] = []
    resumed = train(config, on_event=events.append)

    resume = [event for event in events if event["type"] == "resume"]
    assert len(resume) == 1
    assert resume[0]["checkpoint"] == str(tmp_path / "out" / f"checkpoint-{interrupted_at}")
    trained_steps = [event["step"] for event in events if event["type"] in ("log", "progress")]
    assert min(trained_steps) == interrupted_at + 1
    assert resumed.stopped is False
    assert resumed.global_step == sentiment_run.result.global_step
    assert resumed.metrics["accuracy"] >= 0.9


def test_a_finished_run_is_not_resumed(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", max_steps=2, epochs=1.0)
    train(config)
    events: list[dict] = []
    again = train(config, on_event=events.append)
    assert "resume" not in types(events)
    assert again.global_step == 2


def fake_checkpoint(directory: Path, step: int, *, state: bool = True, weights: bool = True) -> Path:
    path = directory / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if state:
        (path / "trainer_state.json").write_text("{}", encoding="utf-8")
    if weights:
        (path / "model.safetensors").write_bytes(b"weights")
    return path


def test_resumable_checkpoint_rules(tmp_path):
    config = tiny_train_config(Path("model"), Path("data.csv"), tmp_path)
    assert _resumable_checkpoint(tmp_path, config) is None  # nothing there

    fake_checkpoint(tmp_path, 10)
    fake_checkpoint(tmp_path, 20)
    fake_checkpoint(tmp_path, 30, state=False)  # cut off mid-save
    fake_checkpoint(tmp_path, 40, weights=False)
    assert _resumable_checkpoint(tmp_path, config) is None  # no saved config: not our run

    config.save(tmp_path / CONFIG_FILE)
    assert _resumable_checkpoint(tmp_path, config) == str(tmp_path / "checkpoint-20")

    other = tiny_train_config(Path("model"), Path("data.csv"), tmp_path, learning_rate=1e-3)
    assert _resumable_checkpoint(tmp_path, other) is None  # another config

    (tmp_path / RESULTS_FILE).write_text("{}", encoding="utf-8")
    assert _resumable_checkpoint(tmp_path, config) is None  # finished


# ---------------------------------------------------------------------------------- other shapes


def test_sentence_pairs_train(tiny_model, tmp_path):
    data = write_csv(tmp_path / "pairs.csv", paraphrase_rows(64))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0)
    events: list[dict] = []
    result = train(config, on_event=events.append)

    assert events[0]["labels"] == ["0", "1"]
    assert result.global_step == 2 * math.ceil(57 / config.training.batch_size)  # 7 of 64 rows held out
    assert set(result.metrics) >= {"accuracy", "f1"}
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert '"text_pair": "A second sentence."' in card

    predictor = Predictor(str(tmp_path / "out"), device="cpu")
    scores = predictor.predict("cat dog red blue", "blue red dog cat")
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_max_steps_shorter_than_an_epoch_still_evaluates_and_saves(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(100))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", max_steps=3)
    events: list[dict] = []
    result = train(config, on_event=events.append)
    assert result.global_step == 3
    assert next(event["step"] for event in events if event["type"] == "eval") == 3
    assert [event["step"] for event in events if event["type"] == "checkpoint"] == [3]
    assert result.metrics


def test_non_contiguous_integer_labels_train_and_keep_their_names(tiny_model, tmp_path):
    rows = sentiment_rows(48)
    for row in rows:
        row["stars"] = 5 if row.pop("label") else 1
    data = write_csv(tmp_path / "stars.csv", rows)
    result = train(tiny_train_config(tiny_model, data, tmp_path / "out", epochs=1.0))
    assert result.label_names == ["1", "5"]
    config = json.loads((tmp_path / "out" / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "1", "1": "5"}


# ------------------------------------------------------------------------------- checks up front


def collect() -> tuple[list[dict], callable]:
    events: list[dict] = []
    return events, events.append


def test_max_length_above_the_model_limit_fails_before_training(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", max_length=256)
    events, sink = collect()
    with pytest.raises(InputError) as caught:
        train(config, on_event=sink)
    message = str(caught.value)
    assert "max_length 256 is above what" in message
    assert "(128 tokens)" in message
    assert "--max-length 128" in message
    assert events == []
    assert checkpoints(tmp_path / "out") == []


def test_the_default_max_length_is_fitted_to_the_model(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", max_steps=1)
    config.data.max_length = None  # the custom default (256) is above the tiny model's 128 positions
    result = train(config)
    assert result.global_step == 1
    assert TrainConfig.from_yaml(tmp_path / "out" / CONFIG_FILE).data.max_length == 128


def test_an_unwritable_output_dir_fails_before_training(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20))
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    config = tiny_train_config(tiny_model, data, blocker / "out")
    events, sink = collect()
    with pytest.raises(InputError) as caught:
        train(config, on_event=sink)
    assert f"Cannot write to the output directory '{blocker / 'out'}'" in str(caught.value)
    assert "--output-dir" in str(caught.value)
    assert events == []


def test_bad_data_fails_before_training(tiny_model, tmp_path):
    data = write_csv(tmp_path / "one_class.csv", [{"text": f"good film {i}", "label": "positive"} for i in range(10)])
    events, sink = collect()
    with pytest.raises(InputError, match="single class"):
        train(tiny_train_config(tiny_model, data, tmp_path / "out"), on_event=sink)
    assert events == []


def test_a_missing_model_directory_is_an_input_error(tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20))
    config = tiny_train_config(tmp_path / "no-such-model", data, tmp_path / "out")
    events, sink = collect()
    with pytest.raises(InputError) as caught:
        train(config, on_event=sink)
    message = str(caught.value)
    assert "no-such-model" in message
    assert "not found" in message or "does not exist" in message
    assert "Repo id must be" not in message  # huggingface_hub's wording for ids, not for a missing folder
    assert events == []


def test_a_model_that_needs_remote_code_is_refused(tiny_model, tmp_path):
    model = tmp_path / "remote"
    shutil.copytree(tiny_model, model)
    config_path = model / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    config_path.write_text(json.dumps(config), encoding="utf-8")
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(20))
    with pytest.raises(InputError, match="custom code"):
        train(tiny_train_config(model, data, tmp_path / "out"))


def test_a_tie_on_the_metric_goes_to_the_checkpoint_with_the_lower_loss(sentiment_run):
    evals = [e for e in sentiment_run.events if e["type"] == "eval"][:-1]  # the last one re-scores the best model
    top = max(e["metrics"]["f1"] for e in evals)
    tied = [e for e in evals if e["metrics"]["f1"] == top]
    assert len(tied) >= 2, "this run's small eval set should tie on F1; the test needs a tie to mean anything"
    lowest_loss = min(tied, key=lambda e: e["metrics"]["loss"])
    assert sentiment_run.result.best_checkpoint.endswith(f"checkpoint-{lowest_loss['step']}")
