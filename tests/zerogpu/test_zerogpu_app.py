"""Trainer Studio on a ZeroGPU Space, under the real ``spaces`` package and a stand-in device API.

Slow: the app starts in its own process (about half a minute here) and trains for real, on the CPU.
"""

from __future__ import annotations

import dataclasses
import html
import re
import secrets
import threading
import time
from pathlib import Path

import pytest
from conftest import PRIVATE_MODEL, PUBLIC_MODEL, SLICE_STEPS, ip_token

from trainer_core.config import TrainConfig
from trainer_core.jobs import owner_key

pytestmark = pytest.mark.slow

OUTPUTS = ("error", "progress", "loss_plot", "score_plot", "log", "pushes", "result", "runs", "runs_table", "events")


def value(output):
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def named(outputs) -> dict:
    return {name: value(output) for name, output in zip(OUTPUTS, outputs, strict=True)}


def form(**overrides) -> dict:
    """The shipped example dataset and a tiny model from the Hub (double), 12 steps: three slices of 4."""
    values = {
        "source": "Example",
        "example": "sentiment.csv",
        "model": PUBLIC_MODEL,
        "max_steps": 12,
        "batch_size": 8,
        "learning_rate": 5e-3,
        "max_length": 32,
        "eval_steps": 6,
        "warmup_ratio": 0.0,
    }
    return values | overrides


def stream(job, timeout: float = 300) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not job.done():
        assert time.monotonic() < deadline, "the stream did not end"
        time.sleep(0.2)
    return [named(outputs) for outputs in job.outputs()]


def run_dir(space, visitor: str, run_id: str) -> Path:
    return space.home / "runs" / owner_key(f"browser:{visitor}") / run_id


def run_id_of(items: list[dict]) -> str:
    ids = [
        item["events"]["run_id"] for item in items if isinstance(item["events"], dict) and item["events"].get("run_id")
    ]
    assert ids, items[-1]
    return ids[-1]


def progress_text(item: dict) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", item["progress"] or ""))


def test_the_start_up_report_is_sent(space, device_api):
    assert device_api.startup_reports == 1


def test_a_run_in_three_slices_finishes_like_one_call(space, device_api, tmp_path):
    visitor = secrets.token_hex(8)
    before = len(device_api.bookings)
    items = stream(space.client(visitor).submit(visitor=visitor, **form(), api_name="/train"))
    assert items[-1]["events"]["state"] == "finished", items[-1]
    run = run_dir(space, visitor, run_id_of(items))
    bookings = device_api.bookings[before:]
    assert len(bookings) >= 3  # slices of 4 steps (a slow machine may cut some earlier, by time)
    assert all(b.token == ip_token(visitor) for b in bookings)  # booked to the visitor's quota
    assert all(b.released and not b.failed for b in bookings)
    assert bookings[0].duration > bookings[1].duration  # the first is a guess; later ones are measured

    from safetensors.torch import load_file

    from trainer_core.training import train

    config = TrainConfig.from_yaml(run / "prepared" / "config.yaml")
    config = dataclasses.replace(config, training=dataclasses.replace(config.training, output_dir=str(tmp_path)))
    reference = train(config)
    assert reference.global_step == 12
    ours, theirs = load_file(str(run / "model" / "model.safetensors")), load_file(str(tmp_path / "model.safetensors"))
    for name, tensor in theirs.items():
        assert ours[name].allclose(tensor, atol=1e-5), name


def test_a_quota_refusal_pauses_with_what_to_do(space, device_api):
    visitor = secrets.token_hex(8)
    device_api.refuse_next("quota", left=3, wait=3600)
    items = stream(space.client(visitor).submit(visitor=visitor, **form(), api_name="/train"))
    last = items[-1]
    assert last["events"]["state"] == "paused", last
    text = progress_text(last)
    assert "paused: GPU quota used up, resumes at" in text
    assert "Sign in for more GPU time" in text


def test_a_killed_slice_pauses_and_resume_loses_at_most_that_slice(space, device_api):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    before = len(device_api.bookings)
    killer = threading.Thread(target=_kill_third_call, args=(device_api, before), daemon=True)
    killer.start()
    items = stream(client.submit(visitor=visitor, **form(), api_name="/train"))
    killer.join(timeout=5)
    last = items[-1]
    assert last["events"]["state"] == "paused", last
    assert "Press Resume" in progress_text(last)
    assert device_api.bookings[before + 2].killed
    run_id = run_id_of(items)
    items = stream(client.submit(visitor=visitor, run_id=run_id, api_name="/resume"))
    assert items[-1]["events"]["state"] == "finished", items[-1]
    events = [e for item in items if isinstance(item["events"], dict) for e in item["events"].get("events", [])]
    resumed = [e["checkpoint"] for e in events if e["type"] == "resume"]
    assert resumed[-1] == f"checkpoint-{2 * SLICE_STEPS}"  # only the killed slice's steps were redone


def _kill_third_call(device_api, before: int) -> None:
    """Arm a kill for the run's third GPU call once its second has started, half a second into the third."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        second = device_api.bookings[before + 1] if len(device_api.bookings) > before + 1 else None
        if second is not None and second.allowed is not None:
            break
        time.sleep(0.02)
    device_api.kill_next(0.5)


def test_demo_predicts_in_the_main_process(space):
    visitor = secrets.token_hex(8)
    scores = space.client(visitor).predict(text="a wonderful film", model=PUBLIC_MODEL, api_name="/predict")
    assert isinstance(scores, dict)


def test_a_visitor_without_a_token_never_uses_the_spaces_token(space):
    visitor = secrets.token_hex(8)
    with pytest.raises(Exception, match=r"(?i)not found|private|gated|access") as err:
        space.client(visitor).predict(text="a wonderful film", model=PRIVATE_MODEL, api_name="/predict")
    assert "hf_alice" not in str(err.value)


def test_a_bad_column_keeps_its_message(space):
    visitor = secrets.token_hex(8)
    items = stream(space.client(visitor).submit(visitor=visitor, **form(label_column="verdict"), api_name="/train"))
    text = " ".join(str(item["error"] or "") + " " + str(item["result"] or "") for item in items)
    assert "verdict" in text, items[-1]
    assert "InputError" not in text


def test_two_visitors_train_at_the_same_time(space, device_api):
    barrier = device_api.hold_schedules_until(2, timeout=120)
    try:
        jobs = []
        for _ in range(2):
            visitor = secrets.token_hex(8)
            jobs.append(space.client(visitor).submit(visitor=visitor, **form(max_steps=4), api_name="/train"))
        results = [stream(job) for job in jobs]
    finally:
        device_api.barrier = None
    assert not barrier.broken, "the second visitor's GPU call never came while the first one waited"
    assert [items[-1]["events"]["state"] for items in results] == ["finished", "finished"]
