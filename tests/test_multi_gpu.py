"""Data-parallel training as README documents it, on CPU: `torchrun --nproc_per_node 2` and `accelerate launch`
with two processes (gloo). The run finishes, only rank 0 reports, writes results and pushes, and the metrics
match a single process with the same global batch (16 = 2 x 8).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hub_double import ALICE_TOKEN
from tiny import make_tiny_model, sentiment_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ddp")
    model = make_tiny_model(root / "tiny-bert")
    # Without dropout the processes' different random streams cannot change the result: the runs are comparable.
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))
    return model, write_csv(root / "reviews.csv", sentiment_rows(200))


def _train(launcher: list[str], model: Path, data: Path, out: Path, batch: int, repo: str) -> tuple[dict, str]:
    args = ["-m", "trainer_core", "train", "--model", str(model), "--dataset", str(data), "--output-dir", str(out),
            "--epochs", "3", "--batch-size", str(batch), "--learning-rate", "5e-3", "--max-length", "32",
            "--no-group-by-length", "--push-to-hub", repo, "--json"]  # fmt: skip
    env = {**os.environ, "HF_TOKEN": ALICE_TOKEN, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*launcher, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) == 1, f"only rank 0 prints the result, got {len(results)}"
    return json.loads(results[0]), done.stderr


def _first_loss(log: str) -> float:
    return float(re.search(r"^step 1: loss ([0-9.]+)", log, re.MULTILINE).group(1))


@pytest.mark.parametrize(
    "launcher",
    [
        pytest.param([str(BIN / "torchrun"), "--nproc_per_node", "2"], id="torchrun"),
        # --multi_gpu starts the processes (on a machine without GPUs they train on CPU with gloo); --cpu would
        # start a single one.
        pytest.param([str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2"], id="accelerate"),
    ],
)
def test_two_processes_match_one_with_the_same_global_batch(hub, setup, tmp_path, launcher):
    model, data = setup
    single, single_log = _train([sys.executable], model, data, tmp_path / "single", 16, "alice/single")

    parallel, log = _train(launcher, model, data, tmp_path / "ddp", 8, "alice/ddp")

    assert (parallel["global_step"], single["global_step"]) == (36, 36)  # 3 epochs of 180 training rows, 16 per step
    for name in ("accuracy", "f1"):
        assert parallel["metrics"][name] == pytest.approx(single["metrics"][name], abs=0.05), name
    assert parallel["metrics"]["accuracy"] > 0.9, "both runs learn the task"
    # The same 16 rows make the first step, with the loss averaged (not summed) over the processes.
    assert _first_loss(log) == pytest.approx(_first_loss(single_log), abs=1e-3)
    # Rank 0 alone reports each event, writes the results and pushes each save once.
    assert log.count("step 1: loss") == 1
    assert json.loads((tmp_path / "ddp" / "results.json").read_text())["global_step"] == parallel["global_step"]
    assert parallel["pushed_repo"] == "alice/ddp" and parallel["push_errors"] == []
    commits = hub.commits("alice/ddp")
    assert commits.count("End of training") == 1
    saves = [c for c in commits if c.startswith("Training in progress") and not c.endswith("checkpoint")]
    assert len(saves) == len(set(saves)) == 3, commits


def test_two_processes_share_out_token_batches(hub, setup, tmp_path):
    """Batches of varying size under torchrun: accelerate deals each process every other batch of the same cut,
    so both take as many steps (no process waits for a gradient the other never sends) and the run learns."""
    model, data = setup
    args = ["-m", "trainer_core", "train", "--model", str(model), "--dataset", str(data), "--output-dir",
            str(tmp_path / "ddp"), "--epochs", "3", "--batch-size", "8", "--learning-rate", "5e-3", "--max-length",
            "32", "--token-batches", "--json"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    launcher = [str(BIN / "torchrun"), "--nproc_per_node", "2"]
    done = subprocess.run([*launcher, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert result["global_step"] == 36  # 180 training rows: 23 batches of 8 rows' worth, 12 a process, 3 epochs
    assert result["metrics"]["accuracy"] > 0.9
