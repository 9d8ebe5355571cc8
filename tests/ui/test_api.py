"""The public API as a gradio_client user meets it: named arguments with defaults, no hand-made identity."""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from trainer_core.ui import form


@pytest.fixture
def client(studio, tmp_path):
    """A plain client (it sees only the documented endpoints), with its own session."""
    return Client(studio.demo.local_url, verbose=False, download_files=str(tmp_path))


def test_the_api_lists_only_clean_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/train", "/follow", "/stop", "/runs", "/preview", "/evaluate", "/predict"} <= set(endpoints)
    assert not [name for name in endpoints if name.startswith("/ui_")]
    train = {p["parameter_name"]: p for p in endpoints["/train"]["parameters"]}
    assert "visitor" not in train and "request" not in train
    # Every training option is a named parameter with the config's default.
    for f in form.TRAIN_FORM:
        assert f.key in train, f.key
        assert train[f.key]["parameter_has_default"], f.key
    from trainer_core.config import TrainingConfig

    assert train["learning_rate"]["parameter_default"] == TrainingConfig().learning_rate  # the config's (or auto)
    assert train["dataset"]["parameter_default"] == "example:sentiment"


def test_a_five_line_session_trains_follows_and_predicts(client, sentiment_csv, tiny_model):
    """The README's session: train with named options, follow the stream, predict with the run."""
    job = client.submit(dataset=str(sentiment_csv), model=str(tiny_model), max_steps=6, batch_size=8, api_name="/train")
    states = []
    for update in job:
        states.append(update["state"])
    scores = client.predict("a great film", model=f"run:{update['run_id']}", api_name="/predict")
    run_id = update["run_id"]

    assert states[-1] == "finished" and "running" in states
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    (listed,) = client.predict(api_name="/runs")
    assert listed["run_id"] == run_id and listed["state"] == "finished"
    assert listed["name"].startswith("bert on reviews.csv · ")
    # Following an ended run streams it once more, whole.
    events = [e for update in client.submit(run_id=run_id, api_name="/follow") for e in update["events"]]
    assert events[0]["type"] == "prepared" and events[-1]["type"] == "done"


def test_the_caller_is_its_session(client, studio, sentiment_csv, tiny_model):
    job = client.submit(dataset=str(sentiment_csv), model=str(tiny_model), max_steps=2, batch_size=8, api_name="/train")
    job.result(timeout=120)
    run_id = job.outputs()[-1]["run_id"]
    stranger = Client(studio.demo.local_url, verbose=False)
    assert stranger.predict(api_name="/runs") == []
    with pytest.raises(AppError, match="among your runs"):
        stranger.predict(run_id=run_id, api_name="/stop")
    with pytest.raises(AppError, match="among your runs"):
        stranger.predict("text", model=f"run:{run_id}", api_name="/predict")


def test_a_client_that_sends_another_clients_session_hash_sees_none_of_its_runs(
    client, studio, sentiment_csv, tiny_model
):
    # gradio_client picks its session hash and sends it with every call, so anyone can send someone else's.
    # Before, the caller was that hash: the second client listed, followed and stopped the first one's runs.
    job = client.submit(dataset=str(sentiment_csv), model=str(tiny_model), max_steps=2, batch_size=8, api_name="/train")
    job.result(timeout=120)
    run_id = job.outputs()[-1]["run_id"]
    impostor = Client(studio.demo.local_url, verbose=False)
    impostor.session_hash = client.session_hash

    assert impostor.predict(api_name="/runs") == []
    with pytest.raises(AppError, match="among your runs"):
        impostor.predict(run_id=run_id, api_name="/follow")
    with pytest.raises(AppError, match="among your runs"):
        impostor.predict(run_id=run_id, api_name="/stop")
    with pytest.raises(AppError, match="among your runs"):
        impostor.predict("text", model=f"run:{run_id}", api_name="/predict")
    # The owner, same session hash, still has its run.
    assert [listed["run_id"] for listed in client.predict(api_name="/runs")] == [run_id]


def test_bad_options_name_their_field(client, sentiment_csv, tiny_model):
    with pytest.raises(AppError, match=r"Batch size must be at least 1, got 0\."):
        client.predict(dataset=str(sentiment_csv), model=str(tiny_model), batch_size=0, api_name="/train")
    with pytest.raises(AppError, match=r"Warmup ratio must be at most 0\.9, got 0\.95\."):
        client.predict(dataset=str(sentiment_csv), model=str(tiny_model), warmup_ratio=0.95, api_name="/train")
    with pytest.raises(AppError, match=r"Max steps must be at most 10,000,000, got 1,000,000,000,000,000,000\."):
        client.predict(dataset=str(sentiment_csv), model=str(tiny_model), max_steps=10**18, api_name="/train")
    assert client.predict(api_name="/runs") == []


def test_a_whole_config_dict_and_a_preview(client, sentiment_csv, tiny_model):
    config = {
        "data": {"dataset": str(sentiment_csv), "max_length": 32},
        "model": {"model": str(tiny_model)},
        "training": {"max_steps": 2, "batch_size": 8},
    }
    job = client.submit(config=config, api_name="/train")
    job.result(timeout=120)
    assert job.outputs()[-1]["state"] == "finished"
    preview = client.predict(dataset="example:paraphrase", api_name="/preview")
    assert preview["columns"]["text_pair"] == "sentence2"


def test_a_run_on_detected_pair_columns_is_a_pair_model(client, paraphrase_csv, tiny_model):
    """sentence1 / sentence2 detected in the caller's own file (no column named): the run trained on pairs, so
    /predict takes two texts and refuses one, and /evaluate scores it on pairs only."""
    job = client.submit(
        dataset=str(paraphrase_csv), model=str(tiny_model), max_steps=2, batch_size=8, api_name="/train"
    )
    job.result(timeout=120)
    run = f"run:{job.outputs()[-1]['run_id']}"
    assert job.outputs()[-1]["state"] == "finished"

    scores = client.predict("cat dog ran", "dog cat ran", model=run, api_name="/predict")
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(AppError, match="trained on text pairs"):
        client.predict("cat dog ran", model=run, api_name="/predict")
    with pytest.raises(AppError, match=f"{run} was trained on text pairs"):
        client.predict(model=run, dataset="example:sentiment", api_name="/evaluate")
    paired = client.predict(model=run, dataset=str(paraphrase_csv), max_rows=10, api_name="/evaluate")
    assert paired["report"]["rows"] == 10


def test_evaluating_a_run_defaults_to_the_rows_it_held_out(client, sentiment_csv, tiny_model):
    """No dataset named: a run is scored on its own held-out rows, not on the example data."""
    job = client.submit(dataset=str(sentiment_csv), model=str(tiny_model), max_steps=2, batch_size=8, api_name="/train")
    job.result(timeout=120)
    run = f"run:{job.outputs()[-1]['run_id']}"
    report = client.predict(model=run, api_name="/evaluate")["report"]
    assert report["dataset"] == run
    assert report["split"] == "5% of 'train' held out (seed 42)"  # the share training held out (recipe)
    assert report["rows"] == 3  # 5% of the 48 rows (at least one per class), not the example's
    # A Hub model (or folder) named alone is still scored on the example data.
    assert client.predict(model=str(tiny_model), max_rows=7, api_name="/evaluate")["report"]["dataset"] == (
        "example:sentiment"
    )
