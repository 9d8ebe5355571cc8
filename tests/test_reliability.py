"""Faults: a killed run resumes, half-written checkpoints are ignored, unsafe or missing models are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core.cli import main


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny-bert")


def _train_command(model: Path, data: Path, out: Path) -> list[str]:
    return [
        "train", "--model", str(model), "--dataset", str(data), "--output-dir", str(out), "--max-steps", "120",
        "--eval-steps", "20", "--batch-size", "8", "--max-length", "32", "--learning-rate", "1e-3", "--json",
    ]  # fmt: skip


def test_killed_run_resumes_from_last_complete_checkpoint(tiny_model, tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(120))
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "trainer_core", *_train_command(tiny_model, data, out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 240
    try:
        while not (out / "checkpoint-20" / "trainer_state.json").is_file():
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not (out / "results.json").exists(), "killed before it finished"
    complete = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*") if (p / "trainer_state.json").is_file())
    # A save cut off by the kill: weights written, trainer state not. It must not be taken for a checkpoint.
    torn = out / "checkpoint-9999"
    torn.mkdir()
    (torn / "model.safetensors").write_bytes(b"partial")

    assert main(_train_command(tiny_model, data, out)) == 0

    captured = capsys.readouterr()
    assert f"resuming from {out / f'checkpoint-{complete}'}" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["global_step"] == 120


def test_model_needing_remote_code_is_refused(hub, tmp_path, capsys):
    config = {"model_type": "bert", "architectures": ["CustomModel"], "auto_map": {"AutoModel": "modeling.Custom"}}
    hub.upload("alice/custom-code", {"config.json": json.dumps(config), "modeling.py": "raise SystemExit('ran')"})

    code = main(["predict", "--model", "alice/custom-code", "--text", "hello"])

    err = capsys.readouterr().err
    assert code == 2
    assert "custom code" in err and "never" in err


def test_unknown_model_id_says_so(hub, capsys):
    code = main(["predict", "--model", "alice/no-such-model", "--text", "hello"])
    err = capsys.readouterr().err
    assert code == 2
    assert "alice/no-such-model" in err and "not found" in err
    assert "Traceback" not in err


def test_model_without_safetensors_is_refused(hub, tiny_model, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    state = load_file(tiny_model / "model.safetensors")
    pickled = tmp_path / "pytorch_model.bin"
    torch.save(state, pickled)
    files = {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.name != "model.safetensors"}
    files["pytorch_model.bin"] = pickled.read_bytes()
    hub.upload("alice/pickled", files)

    code = main(["predict", "--model", "alice/pickled", "--text", "good movie"])

    err = capsys.readouterr().err
    assert code == 2
    assert "safetensors" in err


def test_unknown_hub_dataset_says_what_to_check(hub, capsys):
    code = main(["preview", "--dataset", "alice/no-such-dataset"])
    err = capsys.readouterr().err
    assert code == 2
    assert "alice/no-such-dataset" in err and "not found" in err


def test_unknown_dataset_config_lists_the_available_ones(hub, capsys):
    hub.create_repo("alice/two-configs", repo_type="dataset")
    readme = (
        "---\nconfigs:\n- config_name: first\n  data_files: first.csv\n"
        "- config_name: second\n  data_files: second.csv\n---\n"
    )
    hub.upload(
        "alice/two-configs",
        {"README.md": readme, "first.csv": "text,label\na,0\nb,1\n", "second.csv": "text,label\nc,0\nd,1\n"},
        repo_type="dataset",
    )

    code = main(["preview", "--dataset", "alice/two-configs", "--dataset-config", "thrid"])

    err = capsys.readouterr().err
    assert code == 2
    assert "first" in err and "second" in err


def test_no_network_says_what_works_offline(fast_hub_retries, tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", closed)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", closed + "/{repo_id}/resolve/{revision}/{filename}"
    )

    code = main(["predict", "--model", "alice/anything", "--text", "hello"])

    err = capsys.readouterr().err
    assert code == 2
    assert "Cannot reach the Hugging Face Hub" in err
    assert "local" in err


def test_hub_dataset_preview_streams_a_sample_and_reads_split_sizes(hub, capsys):
    import io

    import pandas as pd

    frame = pd.DataFrame({"text": [f"review number {i}" for i in range(300)], "label": [i % 2 for i in range(300)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    hub.create_repo("alice/reviews", repo_type="dataset")
    hub.upload(
        "alice/reviews",
        {"data/train-00000.parquet": buffer.getvalue(), "data/test-00000.parquet": buffer.getvalue()},
        repo_type="dataset",
    )

    assert main(["preview", "--dataset", "alice/reviews", "--rows", "3", "--json"]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["splits"]) == {"train", "test"}
    assert len(result["rows"]) == 3
    assert result["columns"] == {"text": "text", "label": "label", "text_pair": None}
    assert result["label_counts"] == {"0": 150, "1": 150}

    assert main(["preview", "--dataset", "alice/reviews", "--split", "validation"]) == 2
    assert "Available splits: train, test" in capsys.readouterr().err
