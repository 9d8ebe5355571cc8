"""The Demo tab through its API: `/predict` and `/predict_batch` on the launched app, with a tiny local model."""

from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from ui_support import api_identity

from trainer_core.ui import demo_tab


def predict(studio, text, text_pair=None, model="", client=None) -> dict:
    return (client or studio.client).predict(text, text_pair, model, api_name="/predict")


def batch(studio, file, mode="sentiment", model="", visitor=None):
    """The page's event when a visitor (browser id) is given, else the public endpoint, which takes none."""
    if visitor is not None:
        return studio.client.predict(visitor, "", handle_file(str(file)), mode, model, api_name="/ui_predict_batch")
    return studio.client.predict(
        file=handle_file(str(file)), mode=mode, model=model, token="", api_name="/predict_batch"
    )


def predict_batch(studio, file, mode="sentiment", model="", visitor=None):
    error, path, status, preview = batch(studio, file, mode, model, visitor)
    assert error == {"__type__": "update", "visible": False, "value": ""}
    assert preview["visible"] is True
    return Path(path), status, preview["value"]


def batch_error(studio, file, mode="sentiment", model="", visitor=None) -> str:
    """The message in the batch error box; the previous file's results are cleared."""
    error, path, status, preview = batch(studio, file, mode, model, visitor)
    assert error["visible"] is True
    assert path is None and status == ""
    assert preview["visible"] is False and not (preview.get("value") or {}).get("data")
    return error["value"]


def test_predict_one_text_and_a_pair(studio, tiny_model):
    scores = predict(studio, "a great and wonderful film", model=str(tiny_model))
    assert set(scores) == {"LABEL_0", "LABEL_1"}
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert list(scores.values()) == sorted(scores.values(), reverse=True)

    pair = predict(studio, "the cat sat", "the cat sat at home", model=str(tiny_model))
    assert sum(pair.values()) == pytest.approx(1.0, abs=1e-5)
    # The pair is read as a pair, not as the first text alone.
    assert pair != predict(studio, "the cat sat", model=str(tiny_model))


def test_bad_input_is_an_error_and_the_app_still_answers(studio, tiny_model):
    with pytest.raises(AppError, match="neither a local model folder nor a Hub model id"):
        predict(studio, "some text", model="../../not/a/model")
    with pytest.raises(AppError, match="text is empty"):
        predict(studio, "   ", model=str(tiny_model))
    with pytest.raises(AppError, match="The text is empty"):
        predict(studio, "")  # said before the default checkpoint is fetched (it was "Hub unreachable")
    with pytest.raises(AppError, match="does not name a run"):
        predict(studio, "some text", model="run:nope")
    assert sum(predict(studio, "fine", model=str(tiny_model)).values()) == pytest.approx(1.0, abs=1e-5)


def test_default_models_are_the_public_checkpoints(studio, hub):
    """No model given: the mode's public checkpoint is asked for (here from the Hub double, which lacks it)."""
    assert demo_tab.DEFAULT_MODELS == {
        "sentiment": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "paraphrase": "google-bert/bert-base-cased-finetuned-mrpc",
    }
    with pytest.raises(AppError, match="distilbert/distilbert-base-uncased-finetuned-sst-2-english"):
        predict(studio, "one text")
    with pytest.raises(AppError, match="google-bert/bert-base-cased-finetuned-mrpc"):
        predict(studio, "one text", "and another")


def test_predict_with_a_run_of_ones_own(studio, tiny_model):
    """An API caller is its client (the cookie the app gave it): its runs are its own, no visitor id by hand."""
    from ui_support import ui_client

    jobs = studio.ctx.jobs
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    path = jobs.owner_dir(api_identity(studio.client)) / run_id
    path.mkdir(parents=True)
    (path / "status.json").write_text(json.dumps({"state": "finished", "created": time.time()}), encoding="utf-8")
    shutil.copytree(tiny_model, path / "model")

    scores = predict(studio, "good fun", model=f"run:{run_id}")
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    other = ui_client(studio.demo.local_url, verbose=False)
    with pytest.raises(AppError, match="among your runs"):
        predict(studio, "good fun", model=f"run:{run_id}", client=other)


def test_batch_sentiment_csv_gives_a_csv_with_predictions(studio, tiny_model, tmp_path):
    source = tmp_path / "my texts.csv"
    pd.DataFrame(
        {"id": [1, 2, 3, 4], "text": ["a great film", "", "boring and dull", "lovely acting"], "note": list("abcd")}
    ).to_csv(source, index=False)
    path, status, preview = predict_batch(studio, source, model=str(tiny_model))
    assert path.name == "my_texts-predictions.csv"
    result = pd.read_csv(path, keep_default_na=False)
    assert list(result.columns) == ["id", "text", "note", "predicted_label", "prob_LABEL_0", "prob_LABEL_1"]
    assert result["id"].tolist() == [1, 2, 3, 4]
    predicted = result[result["text"] != ""]
    assert set(predicted["predicted_label"]) <= {"LABEL_0", "LABEL_1"}
    sums = predicted["prob_LABEL_0"].astype(float) + predicted["prob_LABEL_1"].astype(float)
    assert sums.tolist() == pytest.approx([1.0] * 3, abs=1e-4)
    assert result.loc[1, "predicted_label"] == "" and result.loc[1, "prob_LABEL_0"] == ""  # the empty text
    assert "Predicted 3 rows" in status and "1 rows with an empty text" in status
    assert preview["headers"] == ["predicted_label", "prob_LABEL_0", "prob_LABEL_1", "id", "text", "note"]
    assert len(preview["data"]) == 4

    # Every request writes to a folder of its own on the server.
    before = {folder for _, folder in demo_tab._batch_dirs}
    again, _, _ = predict_batch(studio, source, model=str(tiny_model))
    assert again.read_bytes() == path.read_bytes()
    new = {folder for _, folder in demo_tab._batch_dirs} - before
    assert len(new) == 1 and next(iter(new)).name.startswith("trainer-studio-batch-")


def test_batch_paraphrase_needs_two_text_columns(studio, tiny_model, paraphrase_csv, sentiment_csv):
    path, status, _ = predict_batch(studio, paraphrase_csv, mode="paraphrase", model=str(tiny_model))
    result = pd.read_csv(path)
    assert list(result.columns) == [
        "sentence1",
        "sentence2",
        "label",
        "predicted_label",
        "prob_LABEL_0",
        "prob_LABEL_1",
    ]
    assert len(result) == 40
    assert "Predicted 40 rows" in status
    assert "Columns found: text, label" in batch_error(studio, sentiment_csv, mode="paraphrase", model=str(tiny_model))


def test_batch_refuses_bad_files(studio, tiny_model, tmp_path, monkeypatch):
    no_text = tmp_path / "numbers.csv"
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(no_text, index=False)
    assert "No text column found" in batch_error(studio, no_text, model=str(tiny_model))
    picture = tmp_path / "picture.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert "picture.csv is not" in batch_error(studio, picture, model=str(tiny_model))
    monkeypatch.setattr(demo_tab, "BATCH_MAX_ROWS", 3)
    many = tmp_path / "many.csv"
    pd.DataFrame({"text": ["good"] * 5}).to_csv(many, index=False)
    assert "at most 3" in batch_error(studio, many, model=str(tiny_model))
    assert (
        "Upload a file"
        in studio.client.predict(file=None, mode="sentiment", token="", api_name="/predict_batch")[0]["value"]
    )


def test_a_model_is_used_for_the_kind_it_was_trained_for(studio, tiny_model, sentiment_csv, paraphrase_csv):
    """A single-text model given two texts (or a pair model given one) is refused, saying what to do."""
    from tiny import tiny_train_config

    sentiment = demo_tab.DEFAULT_MODELS["sentiment"]
    with pytest.raises(AppError, match="trained on single texts, but two texts were given"):
        predict(studio, "one text", "and another", model=sentiment)
    with pytest.raises(AppError, match="trained on text pairs"):
        predict(studio, "one text", model=demo_tab.DEFAULT_MODELS["paraphrase"])

    jobs = studio.ctx.jobs
    runs = {}
    for name, data in (("single", sentiment_csv), ("pair", paraphrase_csv)):
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        path = jobs.owner_dir(api_identity(studio.client)) / run_id
        path.mkdir(parents=True)
        (path / "status.json").write_text(json.dumps({"state": "finished", "created": time.time()}), "utf-8")
        shutil.copytree(tiny_model, path / "model")
        config = tiny_train_config(tiny_model, data, path / "model")
        if name == "pair":
            config.data.text_column, config.data.text_pair_column = "sentence1", "sentence2"
        config.save(path / "config.yaml")
        # What training writes next to the model: the columns it trained on, detected ones included.
        config.data.text_column = config.data.text_column or "text"
        config.save(path / "model" / "trainer_studio.yaml")
        runs[name] = f"run:{run_id}"
    with pytest.raises(AppError, match="trained on single texts"):
        predict(studio, "a", "b", model=runs["single"])
    with pytest.raises(AppError, match="trained on text pairs"):
        predict(studio, "a", model=runs["pair"])
    assert sum(predict(studio, "a", "b", model=runs["pair"]).values()) == pytest.approx(1.0, abs=1e-5)
    # In the page, choosing the run sets the mode it was trained for.
    identity = lambda: api_identity(studio.client)  # noqa: E731
    assert demo_tab.model_kind(studio.ctx, runs["pair"], identity) == demo_tab.PARAPHRASE
    assert demo_tab.model_kind(studio.ctx, runs["single"], identity) == demo_tab.SENTIMENT


def test_the_public_batch_endpoint_takes_no_visitor_value(studio):
    """Like every documented endpoint, `/predict_batch` knows its caller by the client's session."""
    from gradio_client import Client

    public = Client(studio.demo.local_url, verbose=False)
    parameters = [p["parameter_name"] for p in public.view_api(return_format="dict")["named_endpoints"]["/predict_batch"]["parameters"]]  # fmt: skip
    assert parameters == ["file", "mode", "model", "token"]


def test_a_run_on_an_uploaded_pair_file_is_a_pair_model_in_the_demo(studio, visitor, tiny_model, paraphrase_csv):
    """The page's own path: an upload whose two text columns were detected (the column fields left on detect)
    trains a pair model; the Demo switches to Paraphrase for it and takes two texts."""
    studio.client.predict(visitor=visitor, file=handle_file(str(paraphrase_csv)), api_name="/ui_upload")
    job = studio.client.submit(
        visitor=visitor, source="Upload file", upload_name="pairs.csv", model=str(tiny_model), max_steps=2,
        batch_size=8, max_length=32, api_name="/ui_train",
    )  # fmt: skip
    job.result(timeout=120)
    (info,) = studio.ctx.jobs.list_runs(studio.identity(visitor))
    assert info.state == "finished"
    run = f"run:{info.run_id}"
    assert demo_tab.mode_for_model(studio.ctx, run, visitor) == demo_tab.PARAPHRASE
    error, scores, _ = demo_tab.predict_ui(
        studio.ctx, "cat dog ran", "dog ran cat", demo_tab.PARAPHRASE, run, visitor, ""
    )
    assert error["visible"] is False and sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    error, _, _ = demo_tab.predict_ui(studio.ctx, "cat dog ran", None, demo_tab.SENTIMENT, run, visitor, "")
    assert "trained on text pairs" in error["value"]


def test_an_error_in_the_demo_clears_the_previous_probabilities(studio, visitor, tiny_model):
    """The probabilities beside an error would read as the answer to the text that failed."""
    ok = demo_tab.predict_ui(studio.ctx, "a great film", None, demo_tab.SENTIMENT, str(tiny_model), visitor, "")
    assert ok[0]["visible"] is False and ok[1]
    error, probabilities, used = demo_tab.predict_ui(studio.ctx, "  ", None, demo_tab.SENTIMENT, "", visitor, "")
    assert "The text is empty" in error["value"]  # before the default model is fetched
    assert probabilities is None and used == ""
