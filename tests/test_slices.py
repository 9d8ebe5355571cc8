"""Runs trained as a sequence of GPU calls (ZeroGPU's shape), driven through the job manager on the CPU.

The GPU function is called in place here (no ``spaces``); tests/zerogpu runs the same under the real package.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest
from tiny import sentiment_rows, tiny_train_config, write_csv

from trainer_core import runtime
from trainer_core.jobs import JobManager, status_text, train_slice_on_gpu
from trainer_core.training import train

pytest_plugins = ["core_fixtures"]  # tiny_model, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


class GrError(Exception):
    """What ``spaces`` raises: a gr.Error, whose str() is the repr of its message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return repr(self.message)


def wait_for(jobs: JobManager, identity: str, run_id: str, states: tuple[str, ...], timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = jobs.info(identity, run_id)
        if info.state in states:
            return info
        time.sleep(0.1)
    raise AssertionError(f"run still {jobs.info(identity, run_id).state}")


def events_of(jobs: JobManager, identity: str, run_id: str) -> list[dict]:
    return jobs.events(identity, run_id)


@pytest.fixture
def config(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(60, string_labels=True))
    return tiny_train_config(tiny_model, data, tmp_path / "unused", max_steps=12, eval_steps=6, logging_steps=2)


def test_a_run_in_slices_ends_like_one_call(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "4")
    calls: list[tuple] = []

    def gpu(run_dir, seconds, token=None, steps=None):
        calls.append((seconds, steps, runtime.slice_booking(run_dir, seconds, token, steps)))
        return train_slice_on_gpu(run_dir, seconds, token, steps)

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    assert jobs.sliced
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("finished", "failed"))
    assert info.state == "finished", info.error
    assert info.step == 12
    events = events_of(jobs, "visitor", run_id)
    done = [e for e in events if e["type"] == "slice" and e["status"] == "done"]
    assert [e["step"] for e in done] == [4, 8, 12]
    assert [c[1] for c in calls] == [4, 4, 4]
    # The first booking is a guess; later ones come from the measured step time, and each books its own.
    assert calls[0][0] == runtime.FIRST_SLICE_SECONDS
    assert all(c[2] == round(c[0] + runtime.SLICE_OVERHEAD_SECONDS + 0.4999) for c in calls)
    assert [e["type"] for e in events].count("resume") == 2
    assert events[-1]["type"] == "done"

    # The same config trained in one call.
    run_dir = jobs.run_dir("visitor", run_id)
    single = dataclasses.replace(
        config, training=dataclasses.replace(config.training, output_dir=str(tmp_path / "one"))
    )
    single_events: list[dict] = []
    reference = train(single, on_event=single_events.append)
    assert reference.global_step == 12
    sliced_losses = {e["step"]: e["loss"] for e in events if e["type"] == "log"}
    single_losses = {e["step"]: e["loss"] for e in single_events if e["type"] == "log"}
    assert single_losses and sorted(sliced_losses) == sorted(single_losses)
    assert [sliced_losses[step] for step in sorted(single_losses)] == pytest.approx(
        [single_losses[step] for step in sorted(single_losses)], abs=1e-4
    )
    from safetensors.torch import load_file

    ours = load_file(str(run_dir / "model" / "model.safetensors"))
    theirs = load_file(str(tmp_path / "one" / "model.safetensors"))
    for name, tensor in theirs.items():
        assert ours[name].allclose(tensor, atol=1e-5), name


def test_a_quota_refusal_pauses_with_what_to_do(config, tmp_path):
    def gpu(run_dir, seconds, token=None, steps=None):
        raise GrError("You have exceeded your free ZeroGPU quota (70s requested vs. 12s left). Try again in 1:30:00. ")

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    before = time.time()
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("paused", "failed"))
    assert info.state == "paused", info.error
    text = status_text(info)
    expected = time.strftime("%H:%M UTC", time.gmtime(before + 5400))
    later = time.strftime("%H:%M UTC", time.gmtime(time.time() + 5400))
    assert text in (
        f"paused: GPU quota used up, resumes at {expected}. Sign in for more GPU time.",
        f"paused: GPU quota used up, resumes at {later}. Sign in for more GPU time.",
    )
    assert jobs.stop("visitor", run_id) is False  # paused is not active; the waiting thread sees STOP
    (jobs.run_dir("visitor", run_id) / "STOP").touch()


def test_a_quota_that_fits_a_shorter_slice_is_used(config, tmp_path):
    seconds_asked: list[float] = []

    def gpu(run_dir, seconds, token=None, steps=None):
        seconds_asked.append(seconds)
        if len(seconds_asked) == 1:
            raise GrError("You have exceeded your ZeroGPU quota (70s requested vs. 50s left). Try again in 0:10:00. ")
        return train_slice_on_gpu(run_dir, seconds, token, steps)

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start("visitor", config, token="hf_visitor")
    info = wait_for(jobs, "visitor", run_id, ("finished", "failed", "paused"))
    assert info.state == "finished", info.error
    assert seconds_asked[:2] == [runtime.FIRST_SLICE_SECONDS, 50 - runtime.SLICE_OVERHEAD_SECONDS]


def test_a_killed_call_pauses_and_resume_loses_at_most_that_slice(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "4")
    calls = {"n": 0}

    def gpu(run_dir, seconds, token=None, steps=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise GrError("GPU task aborted")
        return train_slice_on_gpu(run_dir, seconds, token, steps)

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("paused", "failed", "finished"))
    assert info.state == "paused"
    assert info.step == 8
    assert "Press Resume" in status_text(info)
    assert jobs.resume("visitor", run_id) is True
    info = wait_for(jobs, "visitor", run_id, ("finished", "failed"))
    assert info.state == "finished", info.error
    assert info.step == 12
    events = events_of(jobs, "visitor", run_id)
    resumed = [e["checkpoint"] for e in events if e["type"] == "resume"]
    assert Path(resumed[-1]).name == "checkpoint-8"


def test_an_error_inside_the_gpu_call_keeps_its_message(config, tmp_path):
    def gpu(run_dir, seconds, token=None, steps=None):
        # What a worker returns when training raises: the message as data, never only a class name.
        prepared = Path(run_dir) / "prepared" / "train"
        for arrow in prepared.glob("*.arrow"):
            arrow.write_bytes(b"broken")
        return train_slice_on_gpu(run_dir, seconds, token, steps)

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("failed", "finished"))
    assert info.state == "failed"
    assert info.error.startswith("Unexpected ")
    assert len(info.error) > len("Unexpected ArrowInvalid: ")


def test_a_bad_column_fails_on_the_cpu_with_its_message(tiny_model, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(40))
    config = tiny_train_config(tiny_model, data, tmp_path / "unused", max_steps=4)
    config.data.label_column = "verdict"
    calls: list = []
    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=lambda *a: calls.append(a))
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("failed", "finished"))
    assert info.state == "failed"
    assert "verdict" in info.error and "label" in info.error
    assert calls == []  # no GPU booked for input that cannot train


def test_slice_seconds_follow_the_measured_step_time_and_the_quota():
    assert runtime.next_slice_seconds(1000, None) == runtime.FIRST_SLICE_SECONDS
    assert runtime.next_slice_seconds(100, 0.2) == pytest.approx(100 * 0.2 * 1.25 + 5)
    assert runtime.next_slice_seconds(100_000, 0.2) == runtime.MAX_SLICE_SECONDS
    assert runtime.next_slice_seconds(1, 0.01) == runtime.MIN_SLICE_SECONDS
    assert runtime.next_slice_seconds(100_000, 0.2, left=60) == 60 - runtime.SLICE_OVERHEAD_SECONDS


@pytest.mark.parametrize(
    ("message", "kind", "signed_in", "expected", "sign_in"),
    [
        ("GPU task aborted", "aborted", False, "Press Resume", False),
        (
            "No GPU was available after 60s. Create a free account to get a higher priority",
            "queue",
            False,
            "Sign in",
            True,
        ),
        (
            "You have exceeded your Pro ZeroGPU quota (60s requested vs. 0s left). Try again in 1 day, 2:00:00. ",
            "quota",
            True,
            "resumes at",
            False,
        ),
        (
            "You have exceeded your ZeroGPU quota (60s requested vs. 0s left). Try again in 0:10:00. ",
            "quota",
            False,
            "resumes at",
            True,
        ),
        ("The requested GPU duration (900s) is larger than the maximum allowed", "duration", False, "more time", False),
        # What spaces raises for a call without an X-IP-Token (an API client, an embed): no visitor to blame, no
        # time to wait for, and signing in to the page would not change that call's quota.
        (
            "Space app has reached its GPU limit. Try re-running outside of examples if it happened after clicking one",
            "space_quota",
            False,
            "this Space's own GPU quota",
            False,
        ),
        (
            "No GPU was available after 60s. Try re-running outside of examples if it happened after clicking one",
            "queue",
            False,
            "Press Resume",
            False,
        ),
    ],
)
def test_zerogpu_errors_become_what_the_visitor_can_do(message, kind, signed_in, expected, sign_in):
    refusal = runtime.classify_gpu_error(GrError(message), signed_in=signed_in, now=0.0)
    assert refusal is not None
    assert refusal.kind == kind
    assert expected in refusal.message
    assert ("Sign in" in refusal.message) is sign_in
    assert "later" not in refusal.message and "examples" not in refusal.message
    assert runtime.classify_gpu_error(ValueError("a bug"), signed_in=False) is None


def test_a_pause_on_the_spaces_quota_says_what_limits_it_and_what_to_do(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "alice/trainer-studio")
    refusal = runtime.classify_gpu_error(
        GrError("Space app has reached its GPU limit. Try re-running outside of examples if it happened after "
                "clicking one"), signed_in=True)  # fmt: skip
    assert refusal.resume_at is None
    message = refusal.message
    assert "X-IP-Token" in message and "not against yours" in message  # what limits it, and that it is not them
    assert 'Client("alice/trainer-studio", token=' in message  # what to do: their own quota through the API
    assert "Resume" in message and "python -m trainer_core train" in message


def test_quota_wait_is_read_from_the_message():
    refusal = runtime.classify_gpu_error(
        GrError("You have exceeded your ZeroGPU quota (60s requested vs. 7s left). Try again in 1 day, 2:03:04. "),
        signed_in=True,
        now=1000.0,
    )
    assert refusal.left == 7
    assert refusal.resume_at == 1000.0 + 26 * 3600 + 3 * 60 + 4


def test_status_file_keeps_no_token(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "6")
    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=train_slice_on_gpu)
    run_id = jobs.start("visitor", config, token="hf_secret_visitor_token")
    wait_for(jobs, "visitor", run_id, ("finished", "failed"))
    run_dir = jobs.run_dir("visitor", run_id)
    written = [p for p in run_dir.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")]
    assert written
    leaks = [p for p in written if "hf_secret_visitor_token" in p.read_text(encoding="utf-8", errors="replace")]
    assert not leaks
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"


def test_an_anonymous_visitor_can_book_the_first_slice(tmp_path):
    """About 120 s of daily quota for an anonymous visitor: the first call must ask for less (it used to ask
    for 182 s for the 320-row example, which ZeroGPU refuses outright)."""
    assert runtime.slice_booking(str(tmp_path), runtime.next_slice_seconds(30, None)) <= 120 - 30


# --------------------------------------------------------------------------------------- storage


def fake_run(owner: Path, run_id: str, *, created: float, state: str = "finished", sizes=(2000, 1000)) -> Path:
    path = owner / run_id
    (path / "model" / "checkpoint-10").mkdir(parents=True)
    (path / "model" / "checkpoint-10" / "model.safetensors").write_bytes(b"x" * sizes[0])
    (path / "model" / "model.safetensors").write_bytes(b"x" * sizes[1])
    (path / "status.json").write_text(json.dumps({"state": state, "created": created}), encoding="utf-8")
    return path


def test_old_runs_and_a_visitors_excess_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_RUN_MAX_AGE_DAYS", "2")
    monkeypatch.setenv("STUDIO_MAX_VISITOR_GB", str(7500 / 1024**3))
    jobs = JobManager(tmp_path / "runs", sliced=False)
    now = time.time()
    mine, theirs = jobs.owner_dir("visitor"), jobs.owner_dir("someone-else")
    ancient = fake_run(theirs, "20260101-000000-aaaaaa", created=now - 3 * 86400)
    recent_other = fake_run(theirs, "20260101-000000-bbbbbb", created=now - 3600)
    older = fake_run(mine, "20260101-000000-cccccc", created=now - 7200)
    newer = fake_run(mine, "20260101-000000-dddddd", created=now - 60)
    running = fake_run(mine, "20260101-000000-eeeeee", created=now - 30, state="paused")
    jobs._threads[str(running)] = threading.Thread(target=time.sleep, args=(0.5,))
    jobs._threads[str(running)].start()

    removed = jobs.clean_up(mine, now=now)

    assert not ancient.exists()  # past the age limit, whoever owns it
    assert recent_other.exists()
    assert removed[:1] == [ancient.name]
    # Over the size limit: the oldest idle run's checkpoints go first, its final model stays.
    assert not (older / "model" / "checkpoint-10").exists()
    assert (older / "model" / "model.safetensors").is_file()
    assert (newer / "model" / "checkpoint-10").is_dir()
    assert (running / "model" / "checkpoint-10").is_dir()  # a run still in its thread is never touched


def test_a_paused_run_keeps_the_checkpoints_it_resumes_from(tmp_path, monkeypatch):
    """Over the size limit, ended runs give up their checkpoints and then themselves before a paused run does."""
    monkeypatch.setenv("STUDIO_MAX_VISITOR_GB", str(4000 / 1024**3))
    jobs = JobManager(tmp_path / "runs", sliced=False)
    now = time.time()
    mine = jobs.owner_dir("visitor")
    paused = fake_run(mine, "20260101-000000-aaaaaa", created=now - 7200, state="paused")  # oldest, no thread
    (paused / "model" / "model.safetensors").unlink()  # a paused run has checkpoints only
    finished = fake_run(mine, "20260101-000000-bbbbbb", created=now - 60, sizes=(2000, 1500))

    removed = jobs.clean_up(mine, now=now)

    assert (paused / "model" / "checkpoint-10" / "model.safetensors").is_file()
    assert removed == [f"{finished.name}/checkpoint-10"]
    assert jobs.info("visitor", paused.name).state == "paused"


def test_off_a_space_nothing_is_removed_unless_asked(monkeypatch):
    from trainer_core.jobs import retention_policy

    for name in ("SPACE_ID", "SYSTEM", "STUDIO_RUN_MAX_AGE_DAYS", "STUDIO_MAX_VISITOR_GB"):
        monkeypatch.delenv(name, raising=False)
    assert retention_policy() == (None, None)
    monkeypatch.setenv("SPACE_ID", "owner/space")
    assert retention_policy() == (7.0, 5 * 1024**3)
    monkeypatch.setenv("STUDIO_MAX_VISITOR_GB", "off")
    assert retention_policy() == (7.0, None)


def test_a_full_disk_says_what_to_do():
    from trainer_core.jobs import disk_full_message

    message = disk_full_message("Unexpected OSError: [Errno 28] No space left on device: '/data/x'")
    assert message.startswith("The disk is full")
    assert "Resume" in message and "/data/x" not in message
    assert disk_full_message("another problem") == "another problem"


def test_stop_between_two_calls_keeps_the_best_checkpoint_as_the_model(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "6")
    calls = {"n": 0}

    def gpu(run_dir, seconds, token=None, steps=None):
        calls["n"] += 1
        summary = train_slice_on_gpu(run_dir, seconds, token, steps)
        (Path(run_dir) / "STOP").touch()  # Stop pressed while the next call waits for a GPU
        return summary

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("stopped", "failed", "finished"))
    assert info.state == "stopped", info.error
    assert calls["n"] == 1
    model = jobs.model_dir("visitor", run_id)
    from trainer_core.inference import Predictor

    predictor = Predictor(str(model), device="cpu")
    assert predictor.label_names == ["negative", "positive"]
    assert json.loads((model / "results.json").read_text())["stopped"] is True


def test_a_sliced_run_reports_one_done_one_checkpoint_per_save_and_no_server_paths(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "4")
    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=train_slice_on_gpu)
    run_id = jobs.start("visitor", config)
    info = wait_for(jobs, "visitor", run_id, ("finished", "failed"))
    assert info.state == "finished", info.error
    events = events_of(jobs, "visitor", run_id)
    assert [e["type"] for e in events].count("done") == 1
    assert events[-1]["type"] == "done"
    saves = [e["step"] for e in events if e["type"] == "checkpoint"]
    assert len(saves) == len(set(saves)), saves  # a pause mid-epoch saved the same step twice
    # Paths in the events file are relative to the run's folder: it can move (a new disk, a restored backup)
    # and no server folder is shown to anyone reading the events.
    text = (jobs.run_dir("visitor", run_id) / "events.jsonl").read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    resumed = [e["checkpoint"] for e in events if e["type"] == "resume"]
    assert resumed == ["model/checkpoint-4", "model/checkpoint-8"]
    assert {e["path"] for e in events if e["type"] == "checkpoint"} >= {"model/checkpoint-4", "model/checkpoint-12"}
    done = events[-1]["result"]
    assert done["output_dir"] == "model" and done["best_checkpoint"].startswith("model/checkpoint-")


# --------------------------------------------------------------------------------------- the final push, days later


def _push_config(config, repo: str):
    return dataclasses.replace(config, hub=dataclasses.replace(config.hub, repo_id=repo))


def test_a_sign_in_that_expired_before_the_end_keeps_the_push_pending_until_retry(config, tmp_path, hub, monkeypatch):
    from hub_double import ALICE_TOKEN

    from trainer_core.ui.context import AppContext
    from trainer_core.ui.train_tab import retry_push

    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "6")
    identity = "browser:visitor"

    def gpu(run_dir, seconds, token=None, steps=None):
        summary = train_slice_on_gpu(run_dir, seconds, token, steps)
        # The run outlives the visitor's 8-hour sign-in (it paused for days): the token it holds has expired.
        jobs.remember(identity, token=ALICE_TOKEN, token_expires_at=time.time() - 5)
        return summary

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start(identity, _push_config(config, "alice/slow-run"), token=ALICE_TOKEN,
                        token_expires_at=time.time() + 8 * 3600)  # fmt: skip
    info = wait_for(jobs, identity, run_id, ("finished", "failed"))
    assert info.state == "finished", info.error
    pushes = [e for e in events_of(jobs, identity, run_id) if e["type"] == "push"]
    assert [p["status"] for p in pushes] == ["pending"]
    message = pushes[0]["message"]
    assert "not pushed to alice/slow-run yet" in message and "sign-in expired" in message
    assert "Sign in again" in message and "Retry push" in message
    # Nothing was sent with a dead token: the repo, created and checked before the data was read, holds no model.
    assert "model.safetensors" not in hub.files("alice/slow-run")
    model = jobs.model_dir(identity, run_id)
    assert (model / "model.safetensors").is_file()  # the model is kept, pushable later
    assert json.loads((model / "results.json").read_text())["push_pending"]["repo_id"] == "alice/slow-run"
    written = [
        p for p in jobs.run_dir(identity, run_id).rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")
    ]
    assert written and not [p for p in written if ALICE_TOKEN in p.read_text(encoding="utf-8", errors="replace")]

    # Signed in again: Retry push sends it with the fresh token.
    fresh = "hf_alice_signed_in_again"
    hub.add_token("alice", fresh, write=True)
    ctx = AppContext(jobs, tmp_path / "uploads", runtime.Hardware("cpu", "CPU", 1, False), False, "secret")
    note, answer = retry_push(ctx, "visitor", fresh, run_id)
    assert note.startswith("✅ Pushed")
    assert answer["pushed"] is True, answer
    assert "model.safetensors" in hub.files("alice/slow-run")
    assert "push_pending" not in json.loads((model / "results.json").read_text())


def test_a_fresh_token_brought_during_the_run_is_the_one_that_pushes(config, tmp_path, hub, monkeypatch):
    from hub_double import ALICE_TOKEN

    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "6")
    fresh = "hf_alice_signed_in_again"
    hub.add_token("alice", fresh, write=True)

    def gpu(run_dir, seconds, token=None, steps=None):
        summary = train_slice_on_gpu(run_dir, seconds, token, steps)
        hub.revoke_token(ALICE_TOKEN)  # the token the run started with is dead by the end ...
        jobs.wake("visitor", token=fresh, token_expires_at=time.time() + 8 * 3600)  # ... but the visitor came back
        return summary

    jobs = JobManager(tmp_path / "runs", sliced=True, slice_fn=gpu)
    run_id = jobs.start("visitor", _push_config(config, "alice/long-run"), token=ALICE_TOKEN)
    info = wait_for(jobs, "visitor", run_id, ("finished", "failed"))
    assert info.state == "finished", info.error
    pushes = [e for e in events_of(jobs, "visitor", run_id) if e["type"] == "push"]
    assert [p["status"] for p in pushes] == ["done"], pushes
    assert "model.safetensors" in hub.files("alice/long-run")


# --------------------------------------------------------------------------------------- a new process


def test_a_new_process_picks_up_paused_and_cut_runs_once_the_app_serves(config, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_STUDIO_SLICE_STEPS", "4")
    calls = {"n": 0}

    def second_refused(run_dir, seconds, token=None, steps=None):
        calls["n"] += 1
        if calls["n"] in (2, 4):
            raise GrError("You have exceeded your ZeroGPU quota (60s requested vs. 0s left). Try again in 1:00:00. ")
        return train_slice_on_gpu(run_dir, seconds, token, steps)

    before = JobManager(tmp_path / "runs", sliced=True, slice_fn=second_refused)
    waiting = before.start("visitor-a", config)
    assert wait_for(before, "visitor-a", waiting, ("paused", "failed")).state == "paused"
    cut = before.start("visitor-b", config)
    assert wait_for(before, "visitor-b", cut, ("paused", "failed")).state == "paused"
    # The process ends: one run had an hour still to wait (now almost over), the other was mid-slice.
    for visitor, run_id, changes in (("visitor-a", waiting, {}), ("visitor-b", cut, {"state": "running"})):
        status_path = before.run_dir(visitor, run_id) / "status.json"
        status = json.loads(status_path.read_text())
        status["pause"]["resume_at"] = time.time() + 0.5
        status_path.write_text(json.dumps(status | changes))

    serving = threading.Event()
    after = JobManager(tmp_path / "runs", sliced=True, slice_fn=train_slice_on_gpu)
    assert sorted(after.recover(ready=serving.is_set)) == sorted([waiting, cut])
    time.sleep(1.5)
    assert [after.info(v, r).state for v, r in (("visitor-a", waiting), ("visitor-b", cut))] == ["paused", "paused"]
    assert after.info("visitor-b", cut).pause["kind"] == "restart"  # not before the app serves
    serving.set()
    for visitor, run_id in (("visitor-a", waiting), ("visitor-b", cut)):
        info = wait_for(after, visitor, run_id, ("finished", "failed"))
        assert info.state == "finished" and info.step == 12, info.error
        events = events_of(after, visitor, run_id)
        assert [e["checkpoint"] for e in events if e["type"] == "resume"][-2:] == ["model/checkpoint-4",
                                                                                 "model/checkpoint-8"]  # fmt: skip
        assert [e["type"] for e in events].count("done") == 1
    restart = [e for e in events_of(after, "visitor-b", cut) if e["type"] == "paused" and e["reason"] == "restart"]
    assert len(restart) == 1 and "continues by itself from its last checkpoint (step 4)" in restart[0]["message"]
    # Off ZeroGPU nothing is picked up: a run cut there shows as interrupted and waits for Resume.
    assert JobManager(tmp_path / "runs", sliced=False).recover() == []
