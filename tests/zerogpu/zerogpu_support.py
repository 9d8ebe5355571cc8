"""Names and helpers the ZeroGPU tests and their fixtures share (a module of its own: ``conftest`` is not importable by
name when several test folders have one)."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from pathlib import Path

from trainer_core.jobs import owner_key

PUBLIC_MODEL = "alice/tiny-bert"
PRIVATE_MODEL = "alice/secret-bert"
SLICE_STEPS = 4


def ip_token(visitor: str) -> str:
    """A JWT-shaped X-IP-Token (spaces reads its payload, the stand-in only records it)."""
    payload = base64.urlsafe_b64encode(json.dumps({"user": visitor}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


def options(**overrides) -> dict:
    """The shipped example dataset and a tiny model from the Hub (double), 12 steps: three slices of 4."""
    values = {
        "dataset": "example:sentiment",
        "model": PUBLIC_MODEL,
        "max_steps": 12,
        "batch_size": 8,
        "learning_rate": 5e-3,
        "max_length": 32,
        "eval_steps": 6,
        "warmup_ratio": 0.0,
        "model_selection": "best",  # the API's declared default for it is '' (refused), so name it
    }
    return values | overrides


def stream(job, timeout: float = 300) -> list[dict]:
    """The items of a streamed /train or /resume call: ``{"run_id", "state", "step", "events"}``."""
    deadline = time.monotonic() + timeout
    while not job.done():
        assert time.monotonic() < deadline, "the stream did not end"
        time.sleep(0.2)
    items = list(job.outputs())
    if not items:
        job.result()  # raises the app's error, with its message
    return items


def events_of(items: list[dict]) -> list[dict]:
    return [event for item in items for event in item.get("events") or []]


def run_dir(space, client, run_id: str) -> Path:
    from trainer_core.ui.caller import COOKIE, identity_of

    return space.home / "runs" / owner_key(identity_of(client.cookies[COOKIE])) / run_id


def assert_same_weights_as_one_call(run: Path, scratch: Path) -> None:
    """The run's final weights equal those of its prepared config trained in one call, in ``scratch``."""
    from safetensors.torch import load_file

    from trainer_core.config import TrainConfig
    from trainer_core.training import train

    config = TrainConfig.from_yaml(run / "prepared" / "config.yaml")
    config = dataclasses.replace(config, training=dataclasses.replace(config.training, output_dir=str(scratch)))
    reference = train(config)
    assert reference.global_step == 12
    ours, theirs = load_file(str(run / "model" / "model.safetensors")), load_file(str(scratch / "model.safetensors"))
    for name, tensor in theirs.items():
        assert ours[name].allclose(tensor, atol=1e-5), name
