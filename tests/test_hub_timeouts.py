"""Every Hub call gives up with a clear error when the Hub accepts a request and never answers, or answers
so slowly that it never finishes.

The hub double's ``mode="hang"`` holds each matching request open (30 s here, so that code without a
time-out fails the test instead of hanging the suite); its ``mode="drip"`` sends the answer a byte at a time,
so that no single read waits long; ``TRAINER_STUDIO_HUB_TIMEOUT=1`` makes the client give up after a second.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from hub_double import ALICE_TOKEN
from tiny import make_tiny_model, sentiment_rows, write_csv

from trainer_core import hub as hub_lib
from trainer_core.cli import main
from trainer_core.errors import HubError, PushError

HANG = 30.0


@pytest.fixture(autouse=True)
def short_hub_timeout(monkeypatch):
    monkeypatch.setenv(hub_lib.TIMEOUT_ENV, "1")
    hub_lib.apply_timeouts()
    yield
    monkeypatch.delenv(hub_lib.TIMEOUT_ENV)
    hub_lib.apply_timeouts()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny-bert")


def test_whoami_hangs(hub):
    hub.fail_all("whoami", mode="hang", delay=HANG)
    with pytest.raises(HubError, match=r"did not answer the token check \(whoami\) within 1 s"):
        hub_lib.check_write_access("alice/model", ALICE_TOKEN)


@pytest.mark.parametrize("endpoint", ["create_repo", "preupload", "commit"])
def test_push_folder_hangs(hub, tiny_model, endpoint):
    hub.fail_all(endpoint, mode="hang", delay=HANG)
    with pytest.raises(PushError, match="no answer from the Hub within 1 s") as caught:
        hub_lib.push_folder(tiny_model, "alice/hung", ALICE_TOKEN, backoff=0)
    assert str(tiny_model) not in str(caught.value)


def finishes_within(seconds: float, action) -> BaseException | None:
    """Run ``action`` in a thread; fail the test if it still runs after ``seconds``; return what it raised."""
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as err:  # the caller's assertions say which
            outcome.append(err)

    caller = threading.Thread(target=attempt, daemon=True)
    caller.start()
    caller.join(seconds)
    assert outcome, f"still waiting after {seconds} s for a Hub that drips its answer"
    return outcome[0]


# huggingface_hub itself makes 6 attempts at a preupload that timed out; the others are asked once.
@pytest.mark.parametrize(("endpoint", "attempts"), [("whoami", 1), ("create_repo", 1), ("preupload", 6), ("commit", 1)])
def test_a_hub_that_drips_its_answer_fails_the_push_at_the_deadline(hub, tiny_model, endpoint, attempts):
    # A byte every 0.3 s: each read gets a byte long before the 1 s time-out, so only a deadline on the
    # whole request ends it (before, push waited for the answer's few hundred bytes: minutes). The commit
    # sends the weights first: what it uploaded does not buy its answer more time.
    hub.fail_all(endpoint, mode="drip", delay=0.3)

    def push() -> None:
        hub_lib.check_write_access("alice/dripped", ALICE_TOKEN)
        hub_lib.push_folder(tiny_model, "alice/dripped", ALICE_TOKEN, backoff=0)

    start = time.monotonic()
    error = finishes_within(attempts + 5, push)
    assert time.monotonic() - start < attempts * 1.0 + 2.0
    assert isinstance(error, (HubError, PushError)), repr(error)
    message = str(error)
    assert "within 1 s" in message and hub.url in message and hub_lib.TIMEOUT_ENV in message, message
    assert ALICE_TOKEN not in message and str(tiny_model) not in message


def test_a_big_answer_at_a_steady_pace_is_not_cut_by_the_deadline(hub):
    # 48 KiB at 16 KiB every 0.5 s: 1.5 s in all, over the 1 s deadline, but data keeps coming: each byte
    # received extends the deadline, so a large download or upload at any usable speed still finishes.
    from huggingface_hub import hf_hub_download

    hub.upload("alice/big", {"weights.bin": b"w" * 48 * 1024})
    hub.fail_all("resolve", mode="drip", delay=0.5, drip_bytes=16 * 1024, method="GET")
    path = Path(hf_hub_download("alice/big", "weights.bin", token=ALICE_TOKEN))
    assert path.stat().st_size == 48 * 1024


def test_train_with_push_when_repo_creation_hangs(hub, tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40, string_labels=True))
    hub.fail_all("create_repo", mode="hang", delay=HANG)
    args = ["train", "--model", str(tiny_model), "--dataset", str(data), "--output-dir", str(tmp_path / "run"),
            "--max-steps", "2", "--batch-size", "8", "--max-length", "16", "--push-to-hub", "alice/hung"]  # fmt: skip

    assert main(args) == 1
    err = capsys.readouterr().err
    assert "did not answer when creating the repo within 1 s" in err
    assert "unexpected" not in err


@pytest.mark.slow
def test_download_hangs(hub, tiny_model):
    """A model and a dataset on the Hub whose file downloads hang: loading fails, it does not wait forever."""
    from huggingface_hub import HfApi

    from trainer_core import data as data_lib
    from trainer_core.config import DataConfig
    from trainer_core.errors import StudioError
    from trainer_core.modeling import load_tokenizer

    api = HfApi()
    api.create_repo("alice/tiny", token=ALICE_TOKEN)
    api.upload_folder(repo_id="alice/tiny", folder_path=str(tiny_model), token=ALICE_TOKEN)
    api.create_repo("alice/reviews", repo_type="dataset", token=ALICE_TOKEN)
    rows = "text,label\n" + "\n".join(f"row {i},{i % 2}" for i in range(8)) + "\n"
    api.upload_file(path_or_fileobj=rows.encode(), path_in_repo="train.csv", repo_id="alice/reviews",
                    repo_type="dataset", token=ALICE_TOKEN)  # fmt: skip
    hub.fail_all("resolve", mode="hang", delay=HANG)

    outcome: dict[str, BaseException | None] = {}

    def attempt(name, action):
        try:
            action()
            outcome[name] = None
        except BaseException as err:  # the assertion below says which
            outcome[name] = err

    jobs = [
        threading.Thread(target=attempt, args=("model", lambda: load_tokenizer("alice/tiny", ALICE_TOKEN))),
        threading.Thread(
            target=attempt,
            args=("dataset", lambda: data_lib.load_raw(DataConfig(dataset="alice/reviews"), ALICE_TOKEN)),
        ),
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(HANG - 5)
    assert outcome.keys() == {"model", "dataset"}, "a download still waits on a hung Hub"
    for name, error in outcome.items():
        assert isinstance(error, StudioError), (name, repr(error))
        assert "Hub" in str(error), (name, str(error))
    assert json.dumps({k: str(v) for k, v in outcome.items()}).count(ALICE_TOKEN) == 0
