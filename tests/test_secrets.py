"""A Hub token must appear nowhere: not in logs, events, run files, pushed files, cards or messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hub_double import ALICE_TOKEN
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core.cli import main
from trainer_core.config import DataConfig, HubConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.jobs import JobManager


def _files_containing(root: Path, secret: bytes) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and secret in path.read_bytes()]


@pytest.fixture
def tiny_setup(tmp_path):
    model = make_tiny_model(tmp_path / "tiny-bert")
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(60, string_labels=True))
    return model, data


def test_token_never_leaks_from_a_pushed_run(hub, tiny_setup, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    model, data = tiny_setup
    jobs = JobManager(tmp_path / "runs")
    config = TrainConfig(
        data=DataConfig(dataset=str(data), max_length=32),
        model=ModelConfig(model=str(model)),
        training=TrainingConfig(max_steps=4, eval_steps=2, batch_size=8, learning_rate=1e-3),
        hub=HubConfig(repo_id="alice/secret-test"),
    )
    hub.fail_next("commit", status=500, times=1)  # a failure message passes through the error paths too

    run_id = jobs.start("visitor-1", config, token=ALICE_TOKEN)
    info = jobs.wait("visitor-1", run_id, timeout=300)

    assert info.state == "finished", info.error
    secret = ALICE_TOKEN.encode()
    assert _files_containing(tmp_path / "runs", secret) == []
    pushed = hub.files("alice/secret-test")
    assert "last-checkpoint/training_args.bin" in pushed or "training_args.bin" in pushed
    assert [name for name, content in pushed.items() if secret in content] == []
    assert ALICE_TOKEN not in caplog.text
    captured = capsys.readouterr()
    assert ALICE_TOKEN not in captured.out + captured.err
    events = jobs.events("visitor-1", run_id)
    assert ALICE_TOKEN not in repr(events)


def test_token_never_leaks_into_cli_errors(hub, tiny_setup, tmp_path, capsys, monkeypatch):
    model, data = tiny_setup
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    hub.fail_all("commit", status=503)
    monkeypatch.setattr("trainer_core.hub.time.sleep", lambda seconds: None)

    code = main(
        ["train", "--model", str(model), "--dataset", str(data), "--output-dir", str(tmp_path / "out"),
         "--max-steps", "2", "--batch-size", "8", "--max-length", "32", "--push-to-hub", "alice/leaky"]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert code == 1
    assert ALICE_TOKEN not in captured.out + captured.err
    assert _files_containing(tmp_path / "out", ALICE_TOKEN.encode()) == []
