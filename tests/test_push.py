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
    # The run's record follows the retry.
    retried = json.loads((out / "results.json").read_text())
    assert retried["pushed_repo"] == "alice/flaky" and retried["push_errors"] == []


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


@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        # A write token of a member with the "read" role in the organization: whoami says so, no request is made.
        ("org_read_role", ["'alice' has the read role in 'team'", "Ask an admin", "'alice/model'"]),
        # A fine-grained token without write access to the namespace, as the Hub answers it.
        ("scope", ["HTTP 403", "fine-grained", "https://huggingface.co/settings/tokens", "'alice/model'"]),
        ("revoked", ["HTTP 401", "rejected"]),
        # The repo exists (creation passes over the 403), but this token may not write to it.
        ("existing_repo_scope", ["refused to write to the repo", "HTTP 403", "fine-grained", "'alice/model'"]),
    ],
)
def test_a_refused_repo_creation_is_found_before_the_data_is_read(
    hub, tiny_model, tmp_path, capsys, monkeypatch, refusal, expected
):
    # Before, the repo was first created in the Trainer's constructor: after loading and preparing the data
    # and the model, the run failed with "unexpected HfHubHTTPError".
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    if refusal == "org_read_role":
        hub.add_user("alice", read_orgs=["team"])
    else:
        hub.add_user("alice", orgs=["team"])
    if refusal == "scope":
        hub.fail_all("create_repo", status=403, message="This fine-grained token lacks write access to 'team'")
    elif refusal == "revoked":
        hub.fail_all("create_repo", status=401, message="Invalid credentials in Authorization header")
    elif refusal == "existing_repo_scope":
        hub.create_repo("team/model")
        hub.fail_all("auth_check", status=403, message="This fine-grained token cannot write to team/model")
    out = tmp_path / "run"
    missing = tmp_path / "not-read-yet.csv"  # the access error comes first, so the data was never looked at

    code = main(_train_args(tiny_model, missing, out, "team/model"))

    err = capsys.readouterr().err
    assert code == 2, err
    for needle in expected:
        assert needle in err, err
    assert "'team/model'" in err
    assert "unexpected" not in err and "not-read-yet" not in err and "Traceback" not in err
    assert ALICE_TOKEN not in err
    assert not out.exists()
    assert [r.status for r in hub.requests_to("create_repo")] == {
        "org_read_role": [],
        "scope": [403],
        "revoked": [401],
        "existing_repo_scope": [409],
    }[refusal]


def test_a_token_refused_between_preparation_and_training_is_a_clear_error(
    hub, tiny_model, sentiment_csv, tmp_path, monkeypatch
):
    # The repo was created while preparing; the Trainer creates it again and now gets 403 (token scope changed).
    from tiny import tiny_train_config

    from trainer_core.config import HubConfig
    from trainer_core.errors import HubAccessError
    from trainer_core.training import prepare_run, train

    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    config = tiny_train_config(tiny_model, sentiment_csv, tmp_path / "run", max_steps=2)
    config.hub = HubConfig(repo_id="alice/later")
    run = prepare_run(config)
    assert hub.repo_exists("alice/later")
    hub.delete_repo("alice/later")  # removed meanwhile: huggingface_hub passes over a 403 for a repo that exists
    hub.fail_all("create_repo", status=403, message="This token may no longer write to alice")
    with pytest.raises(HubAccessError) as caught:
        train(config, prepared=run)
    message = str(caught.value)
    assert "refused to create the repo 'alice/later'" in message and "This token may no longer write" in message
    assert ALICE_TOKEN not in message


def test_push_without_any_token_says_how_to_get_one(hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    code = main(_train_args(tiny_model, sentiment_csv, tmp_path / "run", "alice/model"))
    assert code == 2
    assert "HF_TOKEN" in capsys.readouterr().err


# -- push status is the truth (RELIABILITY: "push status lies", "no time-out when the Hub hangs") --------------------


@pytest.fixture
def short_hub_timeout(monkeypatch):
    """Hub requests give up after 1 s; the client of later tests gets the default time-out back."""
    from trainer_core import hub as hub_lib

    monkeypatch.setenv(hub_lib.TIMEOUT_ENV, "1")
    hub_lib.apply_timeouts()
    yield 1
    monkeypatch.delenv(hub_lib.TIMEOUT_ENV)
    hub_lib.apply_timeouts()


def _record_events(monkeypatch) -> list[dict]:
    """The training events the CLI prints, kept for assertions (the CLI's own printing still runs)."""
    from trainer_core import cli

    events: list[dict] = []
    printer = cli._print_event

    def record(event: dict) -> None:
        events.append(event)
        printer(event)

    monkeypatch.setattr(cli, "_print_event", record)
    return events


def _saves_args(model: Path, data: Path, out: Path, repo: str) -> list[str]:
    args = _train_args(model, data, out, repo)
    args[args.index("--max-steps") + 1] = "20"
    args[args.index("--eval-steps") + 1] = "5"
    return args


def _terminal_pushes(events: list[dict]) -> dict[object, list[str]]:
    """Each save's (and the final model's) push outcomes, in order."""
    outcomes: dict[object, list[str]] = {}
    for event in events:
        if event["type"] == "push" and event["status"] in ("done", "failed"):
            outcomes.setdefault("final" if event.get("final") else event["step"], []).append(event["status"])
    return outcomes


def test_each_save_push_ends_once_when_every_commit_is_refused(
    hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch
):
    from trainer_core.ui.plots import RunView

    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    monkeypatch.setattr("trainer_core.hub.time.sleep", lambda seconds: None)
    events = _record_events(monkeypatch)
    hub.fail_all("commit", status=403, message="Forbidden: this repo is locked")
    out = tmp_path / "run"

    assert main(_saves_args(tiny_model, sentiment_csv, out, "alice/locked")) == 1

    saves = [event["step"] for event in events if event["type"] == "checkpoint"]
    assert saves == [5, 10, 15, 20]
    assert _terminal_pushes(events) == {
        5: ["failed"],
        10: ["failed"],
        15: ["failed"],
        20: ["failed"],
        "final": ["failed"],
    }
    started = {
        event["step"] for event in events if event["type"] == "push" and event["status"] in ("started", "queued")
    }
    assert started >= set(saves), "every save's push is announced before it ends"

    err = capsys.readouterr().err
    assert err.count("push of the checkpoint of step 5 failed") == 1
    assert err.count("push of the final model failed") == 1
    assert "push at step" not in err

    result = json.loads((out / "results.json").read_text())
    assert len(result["push_errors"]) == len(set(result["push_errors"])) == 1
    assert "5, 10, 15, 20" in result["push_errors"][0] and "final model" in result["push_errors"][0]
    view = RunView()
    view.add(events)
    assert "uploading" not in view.push_markdown() and "waiting" not in view.push_markdown()
    assert view.result_markdown("finished").count("Push failed") == 1
    assert str(tmp_path) not in view.result_markdown("finished") + view.push_markdown()


def test_later_checkpoints_are_pushed_once_a_hung_push_times_out(
    hub, tiny_model, sentiment_csv, tmp_path, capsys, monkeypatch, short_hub_timeout
):
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    events = _record_events(monkeypatch)
    # The first commit (step 5's model) hangs; on today's code that push is never resolved and blocks the rest.
    hub.fail_next("commit", mode="hang", delay=30)
    out = tmp_path / "run"

    assert main(_saves_args(tiny_model, sentiment_csv, out, "alice/stuck")) == 0

    outcomes = _terminal_pushes(events)
    assert outcomes[5] == ["failed"]
    assert all(len(outcomes[step]) == 1 for step in (10, 15, 20)), outcomes
    assert outcomes[20] == ["done"] and outcomes["final"] == ["done"]
    failed = next(e for e in events if e["type"] == "push" and e.get("step") == 5 and e["status"] == "failed")
    assert "no answer from the Hub within 1 s" in failed["error"]
    state = json.loads(hub.files("alice/stuck")["last-checkpoint/trainer_state.json"])
    assert state["global_step"] == 20, "the Hub's last checkpoint follows training after a stuck push"
    assert "push of the checkpoint of step 5 failed" in capsys.readouterr().err
