"""Runs as directories: one visitor's runs are theirs alone, and double clicks leave one consistent run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.errors import InputError
from trainer_core.jobs import JobManager, execute_run
from trainer_core.rundir import STOP_FILE


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs")
    model = make_tiny_model(root / "tiny-bert")
    data = write_csv(root / "reviews.csv", sentiment_rows(60))
    return model, data


def _config(model: Path, data: Path, max_steps: int = 4) -> TrainConfig:
    return TrainConfig(
        data=DataConfig(dataset=str(data), max_length=32),
        model=ModelConfig(model=str(model)),
        training=TrainingConfig(max_steps=max_steps, eval_steps=2, batch_size=8, learning_rate=1e-3),
    )


def test_two_visitors_train_at_once_are_queued_and_both_finish(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs", concurrent=1)
    first = jobs.start("visitor-a", _config(model, data))
    second = jobs.start("visitor-b", _config(model, data))

    assert jobs.wait("visitor-a", first, timeout=300).state == "finished"
    assert jobs.wait("visitor-b", second, timeout=300).state == "finished"
    assert [r.run_id for r in jobs.list_runs("visitor-a")] == [first]
    assert [r.run_id for r in jobs.list_runs("visitor-b")] == [second]
    for visitor, other in (("visitor-a", second), ("visitor-b", first)):
        for action in (jobs.info, jobs.events, jobs.stop, jobs.model_dir):
            with pytest.raises(InputError, match="No run"):
                action(visitor, other)
    assert (jobs.model_dir("visitor-a", first) / "model.safetensors").is_file()


def test_queued_run_shows_its_position(setup, tmp_path):
    model, data = setup
    release = threading.Event()

    def slow_train(config, run_dir, token):
        release.wait(60)
        return execute_run(config, run_dir, token)

    jobs = JobManager(tmp_path / "runs", concurrent=1, train_fn=slow_train)
    first = jobs.start("visitor-a", _config(model, data))
    # The first run holds the one slot before the second asks: two runs started at the same instant take it
    # in whichever order their threads get there.
    deadline = time.monotonic() + 60
    while jobs.info("visitor-a", first).state != "running":
        assert time.monotonic() < deadline, "the first run never started"
        time.sleep(0.05)
    second = jobs.start("visitor-b", _config(model, data))
    try:
        info = jobs.info("visitor-b", second)
        assert info.state == "queued" and info.queue_position == 1
    finally:
        release.set()
    assert jobs.wait("visitor-a", first, timeout=300).state == "finished"
    assert jobs.wait("visitor-b", second, timeout=300).state == "finished"


def test_start_twice_gives_one_run_and_stop_twice_is_harmless(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs")
    run_id = jobs.start("visitor", _config(model, data, max_steps=400))
    with pytest.raises(InputError, match="already have a run in progress"):
        jobs.start("visitor", _config(model, data))

    # Stop as soon as training has begun (or while still queued): twice, like an impatient double click.
    assert jobs.stop("visitor", run_id) is True
    jobs.stop("visitor", run_id)
    info = jobs.wait("visitor", run_id, timeout=300)

    assert info.state == "stopped"
    assert len(jobs.list_runs("visitor")) == 1
    assert jobs.stop("visitor", run_id) is False
    assert (jobs.run_dir("visitor", run_id) / STOP_FILE).exists()


def test_stopped_run_keeps_a_checkpoint_at_its_last_step(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs")
    run_id = jobs.start("visitor", _config(model, data, max_steps=400))
    run_dir = jobs.run_dir("visitor", run_id)
    while not any(e["type"] == "progress" for e in jobs.events("visitor", run_id)):
        assert jobs.info("visitor", run_id).state in ("queued", "running"), jobs.info("visitor", run_id).error
        threading.Event().wait(0.05)
    jobs.stop("visitor", run_id)
    info = jobs.wait("visitor", run_id, timeout=300)

    assert info.state == "stopped"
    events = jobs.events("visitor", run_id)
    stop_step = next(e["step"] for e in events if e["type"] == "stopping")
    assert stop_step < 400
    assert (run_dir / "model" / f"checkpoint-{stop_step}" / "model.safetensors").is_file()
    assert events[-1]["type"] == "done"


@pytest.mark.parametrize("run_id", ["../other", "..", "20240101-000000-abcdef/../../x", "/etc/passwd", ""])
def test_run_ids_cannot_escape_the_visitors_folder(tmp_path, run_id):
    jobs = JobManager(tmp_path / "runs")
    with pytest.raises(InputError):
        jobs.run_dir("visitor", run_id)


def test_visitor_folder_is_a_hash_not_the_identity(tmp_path):
    jobs = JobManager(tmp_path / "runs")
    folder = jobs.owner_dir("../../etc")
    assert folder.parent == jobs.root
    assert ".." not in folder.name


def test_run_left_active_by_a_dead_process_shows_as_interrupted(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs")
    run_id = jobs.start("visitor", _config(model, data))
    jobs.wait("visitor", run_id, timeout=300)
    status = jobs.run_dir("visitor", run_id) / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "state": "running"}))

    restarted = JobManager(tmp_path / "runs")

    assert restarted.info("visitor", run_id).state == "interrupted"
    fresh = restarted.start("visitor", _config(model, data))  # an interrupted run does not block a new one
    assert restarted.wait("visitor", fresh, timeout=300).state == "finished"


def test_run_listing_finds_the_latest_progress_in_a_long_events_file(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs")
    run_id = jobs.start("visitor", _config(model, data))
    jobs.wait("visitor", run_id, timeout=300)
    events = jobs.run_dir("visitor", run_id) / "events.jsonl"
    filler = "".join(
        json.dumps({"type": "log", "step": i, "loss": 0.5, "padding": "x" * 200}) + "\n" for i in range(2000)
    )
    original = events.read_text()
    events.write_text(original.replace('{"time"', filler + '{"time"', 1))

    info = jobs.info("visitor", run_id)

    assert events.stat().st_size > 200_000
    assert (info.step, info.total_steps) == (4, 4)


def test_the_events_file_holds_no_server_path(setup, tmp_path):
    model, data = setup
    jobs = JobManager(tmp_path / "runs")
    run_id = jobs.start("visitor", _config(model, data))
    assert jobs.wait("visitor", run_id, timeout=300).state == "finished"
    text = (jobs.run_dir("visitor", run_id) / "events.jsonl").read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    events = jobs.events("visitor", run_id)
    assert [e["type"] for e in events].count("done") == 1
    assert all(not e["path"].startswith("/") for e in events if e["type"] == "checkpoint")
