"""Faults during training: out of memory, unwritable output, flaky pushes."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
from hub_double import ALICE_TOKEN
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core.cli import main
from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.errors import InputError
from trainer_core.training import train


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny-bert")


@pytest.fixture
def reviews(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(60))


def _config(model: Path, data: Path, out: Path, **training) -> TrainConfig:
    options = {"max_steps": 4, "batch_size": 16, "learning_rate": 1e-3, "output_dir": str(out), **training}
    return TrainConfig(
        data=DataConfig(dataset=str(data), max_length=32), model=ModelConfig(model=str(model)),
        training=TrainingConfig(**options),
    )  # fmt: skip


def test_out_of_memory_retries_with_a_smaller_batch_and_same_effective_batch(
    tiny_model, reviews, tmp_path, monkeypatch
):
    from transformers import BertForSequenceClassification

    real_forward = BertForSequenceClassification.forward

    @functools.wraps(real_forward)  # the Trainer keeps the columns the forward signature names
    def forward_that_fits_four_rows(self, input_ids=None, **kwargs):
        if self.training and input_ids is not None and input_ids.shape[0] > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, input_ids=input_ids, **kwargs)

    monkeypatch.setattr(BertForSequenceClassification, "forward", forward_that_fits_four_rows)
    events = []

    result = train(_config(tiny_model, reviews, tmp_path / "out"), on_event=events.append)

    retries = [e for e in events if e["type"] == "oom_retry"]
    assert [(e["batch_size"], e["gradient_accumulation_steps"]) for e in retries] == [(8, 2), (4, 4)]
    assert result.global_step == 4
    saved = TrainConfig.from_yaml(tmp_path / "out" / "trainer_studio.yaml")
    assert (saved.training.batch_size, saved.training.gradient_accumulation_steps) == (4, 4)


def test_out_of_memory_at_batch_one_says_what_to_change(tiny_model, reviews, tmp_path, monkeypatch, capsys):
    from transformers import BertForSequenceClassification

    @functools.wraps(BertForSequenceClassification.forward)
    def always_out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(BertForSequenceClassification, "forward", always_out_of_memory)
    code = main(["train", "--model", str(tiny_model), "--dataset", str(reviews), "--output-dir",
                 str(tmp_path / "out"), "--max-steps", "2", "--batch-size", "1"])  # fmt: skip
    captured = capsys.readouterr()
    err = captured.err
    assert code == 1, captured
    assert "Out of GPU memory" in err and "--max-length" in err
    assert "Traceback" not in err


def test_unwritable_output_dir_fails_before_training(tiny_model, reviews, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(InputError, match="Cannot write to the output directory"):
        train(_config(tiny_model, reviews, blocker / "out"))


def test_checkpoint_push_dropped_connection_is_reported_and_run_finishes(
    hub, tiny_model, reviews, tmp_path, monkeypatch
):
    events = []
    hub.fail_next("commit", mode="drop", times=1)
    config = _config(tiny_model, reviews, tmp_path / "out", max_steps=4, eval_steps=2)
    config.hub.repo_id = "alice/dropped"

    result = train(config, on_event=events.append, token=ALICE_TOKEN)

    pushes = [e for e in events if e["type"] == "push" and e["status"] in ("done", "failed")]
    assert any(e["status"] == "failed" for e in pushes), pushes
    assert pushes[-1] == {**pushes[-1], "status": "done", "final": True}
    assert result.pushed_repo == "alice/dropped"
    assert result.push_errors, "the failed checkpoint push stays on record"
    assert "model.safetensors" in hub.files("alice/dropped")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["pushed_repo"] == "alice/dropped"
