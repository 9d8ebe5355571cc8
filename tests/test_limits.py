"""Limits a Space owner sets: defaults on a Space, none elsewhere, variables to change them, and a
refused run that says which limit and how to run without it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from trainer_core import limits as limits_lib
from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.jobs import JobManager, event_writer
from trainer_core.limits import NO_LIMITS, SPACE_DEFAULTS, Limits, check_config, current_limits
from trainer_core.rundir import STOP_FILE

SPACE = {"SPACE_ID": "owner/trainer-studio", "SYSTEM": "spaces"}


@pytest.fixture
def on_a_space(monkeypatch):
    for name in limits_lib.ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in SPACE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def off_a_space(monkeypatch):
    for name in [*limits_lib.ENV_VARS.values(), *SPACE]:
        monkeypatch.delenv(name, raising=False)


def config(**training) -> TrainConfig:
    return TrainConfig(
        data=DataConfig(dataset="reviews.csv"),
        model=ModelConfig(model="tiny"),
        training=TrainingConfig(**{"learning_rate": 1e-3, **training}),
    )


# ---------------------------------------------------------------------------------- which limits


def test_no_limits_off_a_space():
    assert current_limits({}) == NO_LIMITS
    assert not NO_LIMITS.any


def test_defaults_on_a_public_space():
    limits = current_limits(SPACE)
    assert limits == SPACE_DEFAULTS
    assert all(value is not None for value in (limits.max_rows, limits.max_steps, limits.max_epochs))
    assert limits.max_run_minutes is not None and limits.max_stored_runs is not None


def test_variables_change_or_remove_each_limit():
    env = {
        **SPACE,
        "STUDIO_MAX_ROWS": "500",
        "STUDIO_MAX_STEPS": "0",
        "STUDIO_MAX_EPOCHS": "2.5",
        "STUDIO_MAX_RUN_MINUTES": "none",
        "STUDIO_MAX_STORED_RUNS": "3",
    }
    assert current_limits(env) == Limits(max_rows=500, max_epochs=2.5, max_stored_runs=3)
    assert current_limits({"STUDIO_MAX_STEPS": "100"}) == Limits(max_steps=100)  # also off a Space


def test_a_bad_variable_names_itself():
    with pytest.raises(StudioError, match=r"STUDIO_MAX_STEPS='lots' is not a whole number"):
        current_limits({"STUDIO_MAX_STEPS": "lots"})


# ------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("training", "data", "limit", "env"),
    [
        (
            {"max_steps": 5_000_000},  # within the config's own limit (10,000,000), far over the Space's
            {},
            "max_steps 5000000, over this Space's limit of 2000",
            "STUDIO_MAX_STEPS",
        ),
        ({"epochs": 1000.0}, {}, "epochs 1000, over this Space's limit of 10", "STUDIO_MAX_EPOCHS"),
        (
            {},
            {"max_train_samples": 10**6},
            "max_train_samples 1000000, over this Space's limit of 20000",
            "STUDIO_MAX_ROWS",
        ),
    ],
)
def test_a_run_over_a_limit_is_refused_with_the_limit_and_the_way_out(training, data, limit, env):
    run = config(**training)
    for name, value in data.items():
        setattr(run.data, name, value)
    with pytest.raises(InputError) as caught:
        check_config(run, SPACE_DEFAULTS)
    message = str(caught.value)
    assert limit in message
    assert f"({env})" in message
    assert "duplicate (clone) this Space" in message
    assert "python -m trainer_core train" in message


def test_epochs_do_not_count_when_max_steps_is_given():
    run = check_config(config(epochs=1000.0, max_steps=100), SPACE_DEFAULTS)
    assert run.training.max_steps == 100


def test_rows_are_capped_where_the_run_asks_for_all():
    run = check_config(config(), Limits(max_rows=300))
    assert (run.data.max_train_samples, run.data.max_eval_samples) == (300, 300)
    assert check_config(config(), NO_LIMITS).data.max_train_samples is None


# --------------------------------------------------------------------------------- through jobs


@dataclass
class FakeResult:
    stopped: bool = False
    global_step: int = 0
    metrics: dict = field(default_factory=dict)
    pushed_repo: str | None = None
    push_errors: list = field(default_factory=list)


def stepping_train(config, run_dir, token):
    """Reports a step every 20 ms until the run's stop flag is set (or 2,000 steps)."""
    emit = event_writer(run_dir)
    for step in range(1, 2001):
        emit({"type": "progress", "step": step, "total_steps": 2000})
        if (Path(run_dir) / STOP_FILE).exists():
            return FakeResult(stopped=True, global_step=step)
        time.sleep(0.02)
    return FakeResult(global_step=2000)


def instant_train(config, run_dir, token):
    return FakeResult(global_step=1)


def test_jobs_refuse_a_run_over_the_limit_and_leave_nothing(on_a_space, tmp_path):
    jobs = JobManager(tmp_path / "runs", train_fn=instant_train)
    with pytest.raises(InputError, match=r"max_steps 5000000, over this Space's limit"):
        jobs.start("visitor", config(max_steps=5_000_000))
    assert jobs.list_runs("visitor") == []
    assert list(jobs.owner_dir("visitor").iterdir()) == []


def test_jobs_off_a_space_have_no_caps(off_a_space, tmp_path):
    seen = []

    def record(config, run_dir, token):
        seen.append(config)
        return FakeResult()

    jobs = JobManager(tmp_path / "runs", train_fn=record)
    run_id = jobs.start("visitor", config(max_steps=10**6))
    assert jobs.wait("visitor", run_id, timeout=120).state == "finished"
    assert seen[0].training.max_steps == 10**6 and seen[0].data.max_train_samples is None


def test_jobs_train_on_capped_rows_on_a_space(on_a_space, tmp_path):
    seen = []

    def record(config, run_dir, token):
        seen.append(config)
        return FakeResult()

    jobs = JobManager(tmp_path / "runs", train_fn=record)
    run_id = jobs.start("visitor", config())
    assert jobs.wait("visitor", run_id, timeout=30).state == "finished"
    assert seen[0].data.max_train_samples == SPACE_DEFAULTS.max_rows
    assert jobs.config("visitor", run_id).data.max_train_samples == SPACE_DEFAULTS.max_rows


def test_stored_runs_keep_the_newest(on_a_space, monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_MAX_STORED_RUNS", "2")
    jobs = JobManager(tmp_path / "runs", train_fn=instant_train)
    ids = []
    for _ in range(3):
        ids.append(jobs.start("visitor", config()))
        jobs.wait("visitor", ids[-1], timeout=30)
        time.sleep(0.01)  # distinct creation times
    assert sorted(r.run_id for r in jobs.list_runs("visitor")) == sorted(ids[1:])
    (note,) = [e for e in jobs.events("visitor", ids[2]) if e["type"] == "limit"]
    assert f"Removed your oldest run(s) {ids[0]}: this Space keeps at most 2 runs per visitor" in note["message"]


def test_stored_runs_that_are_all_active_refuse_a_new_one(on_a_space, monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_MAX_STORED_RUNS", "1")
    release = threading.Event()

    def waiting(config, run_dir, token):
        release.wait(30)
        return FakeResult()

    jobs = JobManager(tmp_path / "runs", concurrent=2, train_fn=waiting)
    first = jobs.start("visitor", config())
    try:
        # Another visitor's runs do not count against this one.
        other = jobs.start("someone else", config())
        owner = jobs.owner_dir("visitor")
        (owner / "20990101-000000-abcdef").mkdir()
        (owner / "20990101-000000-abcdef" / "status.json").write_text(json.dumps({"state": "running"}))
        with pytest.raises(InputError, match=r"this Space keeps at most 1 per visitor \(STUDIO_MAX_STORED_RUNS\)"):
            limits_lib.make_room(owner, Limits(max_stored_runs=1), active_states=("queued", "running"))
    finally:
        release.set()
    assert jobs.wait("visitor", first, timeout=30).state == "finished"
    assert jobs.wait("someone else", other, timeout=30).state == "finished"


@pytest.mark.parametrize(
    ("variable", "value", "limit"),
    [("STUDIO_MAX_STEPS", "5", "max_steps"), ("STUDIO_MAX_RUN_MINUTES", "0.005", "max_run_minutes")],
)
def test_a_run_is_stopped_at_a_limit_that_shows_only_while_it_trains(
    on_a_space, monkeypatch, tmp_path, variable, value, limit
):
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(limits_lib, "POLL_S", 0.05)
    jobs = JobManager(tmp_path / "runs", train_fn=stepping_train)
    run_id = jobs.start("visitor", config())  # epoch-based: its step count is not known at start
    info = jobs.wait("visitor", run_id, timeout=60)
    assert info.state == "stopped"
    (event,) = [e for e in jobs.events("visitor", run_id) if e["type"] == "limit"]
    assert event["limit"] == limit
    assert variable in event["message"] and "duplicate (clone) this Space" in event["message"]
    assert info.step < 2000
    from trainer_core.ui.plots import describe_event  # the Train tab's log shows it

    assert event["message"] in describe_event(event)


def test_time_paused_does_not_count_and_the_run_is_watched_after_its_resume(tmp_path):
    """A sliced run paused for GPU quota (or waiting for Resume) keeps its remaining training time."""
    from trainer_core.jobs import STATUS_FILE

    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def state(value: str) -> None:
        (run_dir / STATUS_FILE).write_text(json.dumps({"state": value, "started": time.time() - 3600}))

    state("running")  # started an hour ago (queued and paused since): only time seen running counts
    watcher = limits_lib.watch_run(run_dir, Limits(max_run_minutes=0.5 / 60), poll_s=0.02)
    time.sleep(0.25)
    state("paused")
    time.sleep(0.6)  # paused longer than the whole limit
    assert not (run_dir / STOP_FILE).exists()
    state("running")
    deadline = time.monotonic() + 5
    while not (run_dir / STOP_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (run_dir / STOP_FILE).exists()
    (event,) = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert event["limit"] == "max_run_minutes"
    state("stopped")
    watcher.join(timeout=5)
    assert not watcher.is_alive()
