"""Pausing and resuming a run: slices, time budgets, signals, and another run's output dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny import paraphrase_rows, sentiment_rows, tiny_train_config, write_csv

from trainer_core.config import TrainConfig
from trainer_core.errors import InputError
from trainer_core.rundir import RESULTS_FILE
from trainer_core.training import SliceLimits, train

pytest_plugins = ["core_fixtures"]  # tiny_model, sentiment_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")

ROOT = Path(__file__).resolve().parent.parent


def weights(directory: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    import torch

    left, right = weights(a), weights(b)
    assert left.keys() == right.keys()
    for name in left:
        assert torch.allclose(left[name], right[name], atol=1e-5), name


def losses(events: list[dict]) -> dict[int, float]:
    return {event["step"]: event["loss"] for event in events if event["type"] == "log"}


def test_a_run_cut_into_slices_ends_like_an_unsliced_one(tiny_model, sentiment_run, tmp_path):
    """Same data and options as the uninterrupted ``sentiment_run`` (92 steps, an eval every 23), cut every
    30 steps: the cuts fall between tied evaluations, so the tie-break state must survive a checkpoint."""
    config = tiny_train_config(tiny_model, sentiment_run.data_dir / "reviews.csv", tmp_path / "out")
    results, events = [], []
    for _ in range(10):
        result = train(config, on_event=events.append, limits=SliceLimits(steps=30))
        results.append(result)
        if not result.paused:
            break
    assert [r.paused for r in results] == [True, True, True, False]
    assert [r.global_step for r in results] == [30, 60, 90, 92]
    assert [e["type"] for e in events].count("resume") == 3
    assert sum(e["type"] == "paused" for e in events) == 3

    final, reference = results[-1], sentiment_run.result
    assert final.global_step == reference.global_step
    sliced, unsliced = losses(events), losses(sentiment_run.events)
    assert set(unsliced) <= set(sliced)
    for step, loss in unsliced.items():
        assert sliced[step] == pytest.approx(loss, abs=1e-4), step
    assert Path(final.best_checkpoint).name == Path(reference.best_checkpoint).name
    assert final.metrics == pytest.approx(reference.metrics)
    assert_same_weights(Path(final.output_dir), sentiment_run.output_dir)


def test_token_batches_resumed_mid_epoch_train_as_one_run(tiny_model, tmp_path):
    """Batches of varying size, and cuts that fall inside epochs (23 steps an epoch, a cut every 10)."""
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(200, seed=2, long_tail=True))
    options = {"token_batches": True, "epochs": 2.0, "model_selection": "last"}
    whole_events: list[dict] = []
    whole = train(tiny_train_config(tiny_model, data, tmp_path / "whole", **options), on_event=whole_events.append)

    config = tiny_train_config(tiny_model, data, tmp_path / "sliced", **options)
    events: list[dict] = []
    result = train(config, on_event=events.append, limits=SliceLimits(steps=10))
    while result.paused:
        result = train(config, on_event=events.append, limits=SliceLimits(steps=10))

    assert result.global_step == whole.global_step == 46
    assert [e["type"] for e in events].count("resume") == 4
    sliced, unsliced = losses(events), losses(whole_events)
    for step, loss in unsliced.items():
        assert sliced[step] == pytest.approx(loss, abs=1e-4), step
    assert_same_weights(tmp_path / "sliced", tmp_path / "whole")


def test_a_paused_run_leaves_no_results_and_resumes(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0)
    first = train(config, limits=SliceLimits(seconds=0.0))  # a budget spent before the first step ends
    assert first.paused and first.pause_reason == "time_budget"
    assert first.global_step == 1
    assert not (tmp_path / "out" / RESULTS_FILE).exists()
    assert (tmp_path / "out" / "checkpoint-1" / "trainer_state.json").is_file()

    second = train(config)
    assert not second.paused
    assert second.global_step == 10
    assert (tmp_path / "out" / RESULTS_FILE).is_file()


def test_a_run_paused_before_an_option_existed_resumes_after_the_upgrade(tiny_model, tmp_path):
    from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0)
    train(config, limits=SliceLimits(steps=3))
    saved = tmp_path / "out" / CONFIG_FILE
    older = [line for line in saved.read_text().splitlines() if not line.strip().startswith("token_batches:")]
    assert len(older) < len(saved.read_text().splitlines())
    saved.write_text("\n".join(older) + "\n")  # as an older version wrote it, without the option

    events: list[dict] = []
    result = train(config, on_event=events.append)
    assert [Path(e["checkpoint"]).name for e in events if e["type"] == "resume"] == ["checkpoint-3"]
    assert not result.paused and result.global_step == 10


def test_the_saved_config_records_the_columns_trained_on(tiny_model, tmp_path):
    """Detected columns are written in the run's config, so the model tells whether it reads pairs."""
    from trainer_core.config import trained_config
    from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE

    data = write_csv(tmp_path / "pairs.csv", paraphrase_rows(30))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", max_steps=2, save_total_limit=1)
    assert config.data.text_column is None and config.data.text_pair_column is None  # left to detection
    train(config)
    saved = TrainConfig.from_yaml(tmp_path / "out" / CONFIG_FILE).data
    assert (saved.text_column, saved.text_pair_column, saved.label_column) == ("sentence1", "sentence2", "label")
    assert trained_config(tmp_path / "out").data == saved
    assert trained_config(tmp_path / "out" / "checkpoint-2").data == saved  # a checkpoint reads its run's
    assert trained_config(tmp_path) is None


def test_a_run_paused_before_columns_were_recorded_resumes(tiny_model, tmp_path):
    from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0)
    train(config, limits=SliceLimits(steps=3))
    saved = tmp_path / "out" / CONFIG_FILE
    older = yaml.safe_load(saved.read_text())
    older["data"].update(text_column=None, text_pair_column=None, label_column=None)
    saved.write_text(yaml.safe_dump(older))  # as an older version wrote it: detected columns left empty

    events: list[dict] = []
    result = train(config, on_event=events.append)
    assert [Path(e["checkpoint"]).name for e in events if e["type"] == "resume"] == ["checkpoint-3"]
    assert not result.paused and result.global_step == 10


def test_another_config_in_the_same_output_dir_is_refused(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0)
    train(config, limits=SliceLimits(steps=3))
    before = sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*"))
    assert before == ["checkpoint-3"]

    other = tiny_train_config(tiny_model, data, tmp_path / "out", epochs=2.0, learning_rate=1e-3)
    with pytest.raises(InputError, match=r"already holds another run: 1 checkpoint\(s\) \(checkpoint-3\)") as err:
        train(other)
    assert "--output-dir" in str(err.value)
    assert sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*")) == before


# ---------------------------------------------------------------------------------------------- CLI


def cli(*args: str, **kwargs) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "trainer_core", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def train_args(tiny_model: Path, data: Path, out: Path) -> list[str]:
    return ["train", "--model", str(tiny_model), "--dataset", str(data), "--output-dir", str(out),
            "--epochs", "3", "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "64", "--json"]  # fmt: skip


@pytest.mark.slow
def test_cli_time_budget_pauses_with_status_3_and_a_rerun_finishes(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(80))
    args = [*train_args(tiny_model, data, tmp_path / "out"), "--time-budget", "0"]
    first = cli(*args)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 3, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["state"] == "paused"
    assert last["global_step"] == 1
    assert "rerun" in last["message"].lower()

    second = cli(*train_args(tiny_model, data, tmp_path / "out"))
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["state"] == "finished"
    assert last["global_step"] == 27  # 72 train rows, batch 8, 3 epochs


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_a_checkpoint_before_exiting(tiny_model, tmp_path, signum):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(400))
    process = cli(*train_args(tiny_model, data, tmp_path / "out"), "--logging-steps", "1")
    for line in process.stderr:  # progress goes to stderr, the JSON result to stdout
        if line.startswith("step "):
            break
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 3, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["state"] == "paused"
    step = last["global_step"]
    assert (tmp_path / "out" / f"checkpoint-{step}" / "trainer_state.json").is_file()
    assert not (tmp_path / "out" / RESULTS_FILE).exists()
