"""Trainer Studio on a ZeroGPU Space, under the real ``spaces`` package and a stand-in device API.

The app starts once, in its own process, and trains for real on the CPU; the whole module takes under a
minute here, so it runs by default: the Space is where most users meet the product.
"""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from zerogpu_support import (
    PRIVATE_MODEL,
    PUBLIC_MODEL,
    SLICE_STEPS,
    assert_same_weights_as_one_call,
    events_of,
    ip_token,
    options,
    run_dir,
    stream,
)


def test_the_start_up_report_is_sent(space, device_api):
    assert device_api.startup_reports == 1


def test_a_run_in_three_slices_finishes_like_one_call(space, device_api, tmp_path):
    visitor = secrets.token_hex(8)
    before = len(device_api.bookings)
    client = space.client(visitor)
    items = stream(client.submit(**options(), api_name="/train"))
    assert items[-1]["state"] == "finished", items[-1]
    run = run_dir(space, client, items[-1]["run_id"])
    bookings = device_api.bookings[before:]
    assert len(bookings) >= 3  # slices of 4 steps (a slow machine may cut some earlier, by time)
    assert all(b.token == ip_token(visitor) for b in bookings)  # booked to the visitor's quota
    assert all(b.released and not b.failed for b in bookings)
    assert bookings[0].duration > bookings[1].duration  # the first is a guess; later ones are measured
    assert [e["type"] for e in events_of(items)].count("done") == 1
    assert str(space.home) not in (run / "events.jsonl").read_text(encoding="utf-8")  # paths relative to the run
    assert_same_weights_as_one_call(run, tmp_path)


def test_start_up_and_a_run_leave_no_traceback_in_the_log(space):
    # gradio made (and dropped) an event loop for each lock it created while the app was built; collected in a
    # cycle, each printed "Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor" at start-up.
    log = space.log.read_text(encoding="utf-8", errors="replace")
    assert "Running on local URL" in log
    assert "Traceback" not in log and "Exception ignored" not in log, log[-3000:]


def test_a_quota_refusal_pauses_with_what_to_do(space, device_api):
    visitor = secrets.token_hex(8)
    device_api.refuse_next("quota", left=3, wait=3600)
    items = stream(space.client(visitor).submit(**options(), api_name="/train"))
    assert items[-1]["state"] == "paused", items[-1]
    paused = [e for e in events_of(items) if e["type"] == "paused"]
    assert len(paused) == 1
    assert paused[0]["message"].startswith("paused: GPU quota used up, resumes at")
    assert "Sign in for more GPU time" in paused[0]["message"]


def test_without_an_ip_token_the_pause_names_the_spaces_quota(space, device_api):
    visitor = secrets.token_hex(8)
    device_api.refuse_next("quota", left=0, wait=3600)
    items = stream(space.client(visitor, x_ip_token=False).submit(**options(), api_name="/train"))
    assert items[-1]["state"] == "paused", items[-1]
    message = [e for e in events_of(items) if e["type"] == "paused"][-1]["message"]
    assert "later" not in message and "Sign in for more GPU time" not in message, message
    assert "this Space's own GPU quota" in message and "X-IP-Token" in message
    assert 'Client("alice/trainer-studio", token=' in message


def test_resume_during_a_quota_wait_follows_the_run_to_its_end(space, device_api):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    device_api.refuse_next("quota", left=0, wait=3600)
    items = stream(client.submit(**options(), api_name="/train"))
    assert items[-1]["state"] == "paused", items[-1]
    items = stream(client.submit(run_id=items[-1]["run_id"], api_name="/resume"))
    assert items[-1]["state"] == "finished", items[-1]  # the stream used to end at once, "paused"
    assert [e["type"] for e in events_of(items)].count("done") == 1


def test_a_push_whose_token_died_during_a_quota_wait_waits_for_a_fresh_token(space, device_api, hub_server):
    import json

    visitor, short_lived, fresh = secrets.token_hex(8), "hf_alice_sign_in_of_8_hours", "hf_alice_signed_in_again"
    hub_server.add_token("alice", short_lived, write=True)
    client = space.client(visitor)
    device_api.pass_next()
    device_api.refuse_next("quota", left=0, wait=3)
    items = stream(client.submit(**options(repo_id="alice/zerogpu-push", token=short_lived), api_name="/train"))
    assert items[-1]["state"] == "paused", items[-1]
    hub_server.revoke_token(short_lived)  # the sign-in ended while the run waited for the visitor's quota
    run = run_dir(space, client, items[-1]["run_id"])
    deadline = time.monotonic() + 240
    while json.loads((run / "status.json").read_text())["state"] not in ("finished", "failed"):
        assert time.monotonic() < deadline, "the run did not go on by itself"
        time.sleep(0.25)
    lines = (run / "events.jsonl").read_text(encoding="utf-8")
    pushes = [e for e in map(json.loads, lines.splitlines()) if e["type"] == "push"]
    assert [p["status"] for p in pushes] == ["pending"], pushes
    assert "refused the token" in pushes[0]["message"] and "Sign in again" in pushes[0]["message"]
    # The repo was created (and its write access checked) before the data was read; no model reached it.
    assert "model.safetensors" not in hub_server.files("alice/zerogpu-push")

    hub_server.add_token("alice", fresh, write=True)
    answer = client.predict(run_id=run.name, token=fresh, api_name="/push")
    assert answer["pushed"] is True and answer["repo_id"] == "alice/zerogpu-push", answer
    assert "model.safetensors" in hub_server.files("alice/zerogpu-push")
    written = [
        p.read_text(errors="replace")
        for p in run.rglob("*")
        if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")
    ]
    assert written and not [text for text in written if short_lived in text or fresh in text]
    assert short_lived not in space.log.read_text(errors="replace") and fresh not in space.log.read_text(
        errors="replace"
    )


def test_plan_says_what_a_run_needs_before_it_starts(space, hub_server):
    import json

    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    small = client.predict(**options(), api_name="/plan")
    assert small["plan"]["estimate"]["slices"] == 1 and small["plan"]["fits_today"] is True, small
    assert "fits in one GPU call" in small["text"]
    # A base-size encoder's config is all the plan reads of a model.
    shape = {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12, "intermediate_size": 3072}
    hub_server.upload("alice/bert-base-shape", {"config.json": json.dumps(shape).encode()})
    big = client.predict(**options(model="alice/bert-base-shape", max_steps=2000, batch_size=128, max_length=128),
                         api_name="/plan")  # fmt: skip
    estimate = big["plan"]["estimate"]
    assert estimate["steps"] == 2000 and estimate["days"] > 1 and big["plan"]["fits_today"] is False, big["text"]
    kinds = {option["kind"] for option in big["plan"]["options"]}
    assert {"steps", "model", "own_hardware"} <= kinds
    assert big["command"].startswith("python -m trainer_core train") and "--max-steps 2000" in big["command"]


def test_a_run_on_the_spaces_cpu_books_no_gpu(space, device_api):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    before = len(device_api.bookings)
    items = stream(client.submit(**options(max_steps=6, use_cpu=True), api_name="/train"))
    assert items[-1]["state"] == "finished", items[-1]
    assert len(device_api.bookings) == before  # none of the visitor's GPU quota spent
    run = run_dir(space, client, items[-1]["run_id"])
    assert (run / "model" / "model.safetensors").is_file()
    assert not [e for e in events_of(items) if e["type"] == "slice"]


def test_a_killed_slice_pauses_and_resume_loses_at_most_that_slice(space, device_api):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    before = len(device_api.bookings)
    killer = threading.Thread(target=_kill_third_call, args=(device_api, before), daemon=True)
    killer.start()
    items = stream(client.submit(**options(), api_name="/train"))
    killer.join(timeout=5)
    assert items[-1]["state"] == "paused", items[-1]
    paused = [e for e in events_of(items) if e["type"] == "paused"]
    assert "Press Resume" in paused[-1]["message"]
    assert device_api.bookings[before + 2].killed
    items = stream(client.submit(run_id=items[-1]["run_id"], api_name="/resume"))
    assert items[-1]["state"] == "finished", items[-1]
    resumed = [e["checkpoint"] for e in events_of(items) if e["type"] == "resume"]
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
    assert set(scores) >= {"LABEL_0", "LABEL_1"} or len(scores) >= 2, scores
    assert isinstance(scores, dict)


def test_a_visitor_without_a_token_never_uses_the_spaces_token(space):
    visitor = secrets.token_hex(8)
    with pytest.raises(Exception, match=r"(?i)not found|private|gated|access") as err:
        space.client(visitor).predict(text="a wonderful film", model=PRIVATE_MODEL, api_name="/predict")
    assert "hf_alice" not in str(err.value)


def test_the_plain_predict_route_answers_on_the_space(space):
    import httpx

    answer = httpx.post(
        f"{space.url}api/predict", json={"text": "a wonderful film", "model": PUBLIC_MODEL}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    assert abs(sum(answer.json()["scores"].values()) - 1) < 1e-4
    # A visitor without a token reads the Hub anonymously here too, and a server folder is not a model id.
    private = httpx.post(f"{space.url}api/predict", json={"text": "hi", "model": PRIVATE_MODEL}, timeout=120)
    assert private.status_code in (400, 502) and "hf_alice" not in private.text
    folder = httpx.post(f"{space.url}api/predict", json={"text": "hi", "model": str(space.home)}, timeout=120)
    assert folder.status_code == 400 and "not a Hub model id" in folder.json()["error"]


def test_a_bad_column_keeps_its_message(space):
    visitor = secrets.token_hex(8)
    items = stream(space.client(visitor).submit(**options(label_column="verdict"), api_name="/train"))
    assert items[-1]["state"] == "failed", items[-1]
    errors = [e["message"] for e in events_of(items) if e["type"] == "error"]
    assert len(errors) == 1
    assert "verdict" in errors[0] and "text" in errors[0]  # names the column asked for and those found
    assert "InputError" not in errors[0]


def test_two_visitors_train_at_the_same_time(space, device_api):
    barrier = device_api.hold_schedules_until(2, timeout=120)
    try:
        jobs = []
        for _ in range(2):
            visitor = secrets.token_hex(8)
            jobs.append(space.client(visitor).submit(**options(max_steps=4), api_name="/train"))
        results = [stream(job) for job in jobs]
    finally:
        device_api.barrier = None
    assert not barrier.broken, "the second visitor's GPU call never came while the first one waited"
    assert [items[-1]["state"] for items in results] == ["finished", "finished"]
