"""Pushing to the Hub through the local Hub double: real HfApi, real Trainer, real from_pretrained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hub_double import ALICE_TOKEN, BOB_TOKEN
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core.cli import main


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny-bert")


@pytest.fixture
def sentiment_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(80, string_labels=True))


def _train_args(model: Path, data: Path, out: Path, repo: str) -> list[str]:
    return [
        "train", "--model", str(model), "--dataset", str(data), "--output-dir", str(out),
        "--max-steps", "6", "--batch-size", "16", "--learning-rate", "1e-3", "--max-length", "32",
        "--eval-steps", "3", "--push-to-hub", repo, "--json",
    ]  # fmt: skip


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_train_pushes_checkpoints_and_final_model_that_loads_back(
    hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    out = tmp_path / "run"

    assert main(_train_args(tiny_model, sentiment_csv, out, "tiny-sentiment")) == 0

    result = _last_json(capsys.readouterr().out)
    assert result["pushed_repo"] == "alice/tiny-sentiment"
    assert result["push_errors"] == []
    files = hub.files("alice/tiny-sentiment")
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "trainer_studio.yaml"} <= set(files)
    assert any(name.startswith("last-checkpoint/") for name in files), "checkpoint pushes carry a resumable state"
    assert not any(name.startswith("checkpoint-") for name in files)
    assert any("Training in progress" in message for message in hub.commits("alice/tiny-sentiment"))

    card = files["README.md"].decode()
    assert "model-index" in card and "base_model" in card
    assert "negative" in card and "positive" in card
    assert 'pipeline("text-classification", model="alice/tiny-sentiment")' in card

    from transformers import pipeline

    classifier = pipeline("text-classification", model="alice/tiny-sentiment")
    assert classifier("good great movie")[0]["label"] in ("negative", "positive")


def test_failed_pushes_are_reported_and_local_output_is_kept(
    hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    monkeypatch.setattr("trainer_core.hub.time.sleep", lambda seconds: None)
    out = tmp_path / "run"
    hub.fail_all("commit", status=500)

    code = main(_train_args(tiny_model, sentiment_csv, out, "alice/flaky"))

    captured = capsys.readouterr()
    assert code == 1
    result = _last_json(captured.out)
    assert result["pushed_repo"] is None
    assert result["push_errors"], "the failures must be reported, not swallowed"
    assert "500" in " ".join(result["push_errors"])
    assert "push" in captured.err and "failed" in captured.err
    assert (out / "model.safetensors").is_file()
    assert (out / "results.json").is_file()
    assert "model.safetensors" not in hub.files("alice/flaky")

    hub.heal()
    assert main(["push", str(out), "--repo", "alice/flaky", "--json"]) == 0
    assert "model.safetensors" in hub.files("alice/flaky")


@pytest.mark.parametrize(
    ("token", "repo", "expected"),
    [
        (BOB_TOKEN, "bob/model", "read-only"),
        (ALICE_TOKEN, "someone-else/model", "cannot write to the namespace 'someone-else'"),
        ("hf_not_a_real_token", "alice/model", "rejected"),
    ],
)
def test_access_problems_are_found_before_training(
    hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch, token, repo, expected
):
    monkeypatch.setenv("HF_TOKEN", token)
    out = tmp_path / "run"

    code = main(_train_args(tiny_model, sentiment_csv, out, repo))

    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert token not in err
    assert not out.exists(), "nothing is trained or written before access is confirmed"
    assert hub.requests_to("commit") == []


def test_push_without_any_token_says_how_to_get_one(hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    code = main(_train_args(tiny_model, sentiment_csv, tmp_path / "run", "alice/model"))
    assert code == 2
    assert "HF_TOKEN" in capsys.readouterr().err
