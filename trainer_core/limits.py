"""Limits a Space owner sets on each visitor's runs: rows, steps, epochs, wall time and stored runs.

A public Space is shared: one visitor asking for ``max_steps=10**18`` would hold the training slot for
as long as the process lives. On a Space (``SPACE_ID`` / ``SYSTEM=spaces``) the defaults below apply;
off a Space there are none. Each limit has an environment variable that changes it; ``0``, ``none``,
``off`` or an empty value removes it::

    STUDIO_MAX_ROWS          training rows per run (a seeded random subset is used above it)   20000
    STUDIO_MAX_STEPS         optimizer steps per run                                             2000
    STUDIO_MAX_EPOCHS        epochs per run                                                        10
    STUDIO_MAX_RUN_MINUTES   minutes one run spends training (queued or paused time not counted)  30
    STUDIO_MAX_STORED_RUNS   runs kept per visitor (the oldest finished ones are removed)          10

A run asking for more than a limit is refused before anything starts, with a message that names the
limit, its variable and the way around it (clone the Space and change the variable, or train on your
own machine). Limits that only show during a run (steps of an epoch-based run, wall time) stop it
cleanly through its stop flag, keeping a checkpoint, and say so in its events.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_core.config import TrainConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.rundir import ACTIVE_STATES, EVENTS_FILE, RESUMABLE_STATES, STATUS_FILE, STOP_FILE
from trainer_core.runtime import on_space


@dataclass(frozen=True)
class Limits:
    """Per-visitor caps; ``None`` means no cap."""

    max_rows: int | None = None
    max_steps: int | None = None
    max_epochs: float | None = None
    max_run_minutes: float | None = None
    max_stored_runs: int | None = None

    @property
    def any(self) -> bool:
        return any(value is not None for value in dataclasses.astuple(self))


SPACE_DEFAULTS = Limits(max_rows=20_000, max_steps=2_000, max_epochs=10, max_run_minutes=30, max_stored_runs=10)
NO_LIMITS = Limits()

ENV_VARS = {
    "max_rows": "STUDIO_MAX_ROWS",
    "max_steps": "STUDIO_MAX_STEPS",
    "max_epochs": "STUDIO_MAX_EPOCHS",
    "max_run_minutes": "STUDIO_MAX_RUN_MINUTES",
    "max_stored_runs": "STUDIO_MAX_STORED_RUNS",
}
_OFF = ("", "0", "none", "off", "no", "unlimited")

WAY_OUT = (
    "To run without this limit, duplicate (clone) this Space and set {env} in its settings (0 removes it), "
    "or train on your own machine with `python -m trainer_core train` ('Show as CLI / YAML' gives the command)."
)


def current_limits(environ: Mapping[str, str] | None = None) -> Limits:
    """The limits in force: the Space defaults on a Space, none elsewhere, each changed by its variable."""
    environ = os.environ if environ is None else environ
    base = SPACE_DEFAULTS if _on_space(environ) else NO_LIMITS
    values: dict[str, Any] = {}
    for name, env in ENV_VARS.items():
        if env not in environ:
            continue
        raw = environ[env].strip().lower()
        if raw in _OFF:
            values[name] = None
            continue
        kind = float if name in ("max_epochs", "max_run_minutes") else int
        try:
            value = kind(raw)
        except ValueError:
            raise StudioError(
                f"{env}={environ[env]!r} is not a {'number' if kind is float else 'whole number'}: the Space owner "
                "must fix it in the Space's settings (0 removes the limit)."
            ) from None
        values[name] = value if value > 0 else None
    return dataclasses.replace(base, **values)


def _on_space(environ: Mapping[str, str]) -> bool:
    if environ is os.environ:
        return on_space()
    return bool(environ.get("SPACE_ID")) or environ.get("SYSTEM") == "spaces"


def _refuse(what: str, asked: Any, limit: Any, name: str) -> InputError:
    return InputError(
        f"Refused: this run asks for {what} {asked}, over this Space's limit of {limit} per run "
        f"({ENV_VARS[name]}). Lower it to {limit} or less. " + WAY_OUT.format(env=ENV_VARS[name])
    )


def check_config(config: TrainConfig, limits: Limits) -> TrainConfig:
    """``config`` within ``limits``: refused (InputError) where it asks for more; row caps filled in
    where it asks for no cap, so a huge dataset trains on a seeded subset."""
    t, d = config.training, config.data
    steps = t.max_steps if t.max_steps is not None else -1  # None: chosen later ("auto"), never unbounded
    if limits.max_steps is not None and steps > limits.max_steps:
        raise _refuse("max_steps", t.max_steps, limits.max_steps, "max_steps")
    # max_steps > 0 overrides epochs, so epochs only count for an epoch-based run.
    if limits.max_epochs is not None and steps <= 0 and t.epochs is not None and t.epochs > limits.max_epochs:
        raise _refuse("epochs", f"{t.epochs:g}", f"{limits.max_epochs:g}", "max_epochs")
    if limits.max_rows is not None:
        for field, value in (("max_train_samples", d.max_train_samples), ("max_eval_samples", d.max_eval_samples)):
            if value is not None and value > limits.max_rows:
                raise _refuse(field, value, limits.max_rows, "max_rows")
        d = dataclasses.replace(
            d,
            max_train_samples=d.max_train_samples or limits.max_rows,
            max_eval_samples=d.max_eval_samples or limits.max_rows,
        )
        config = dataclasses.replace(config, data=d)
    return config


def make_room(
    owner_dir: Path, limits: Limits, *, active_states: tuple[str, ...], keep: Path | None = None
) -> list[str]:
    """Remove the visitor's oldest inactive runs so a new one stays within ``max_stored_runs``.

    Returns the removed run ids. Active runs are never removed; if they alone fill the quota the start
    is refused.
    """
    if limits.max_stored_runs is None or not owner_dir.is_dir():
        return []
    runs = []
    for path in owner_dir.iterdir():
        status_path = path / STATUS_FILE
        if path == keep or not status_path.is_file():
            continue
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = {}
        runs.append((status.get("created", 0.0), status.get("state"), path))
    runs.sort(key=lambda run: (run[0] or 0.0, run[2].name))
    excess = len(runs) + 1 - limits.max_stored_runs
    removable = [path for _, state, path in runs if state not in active_states]
    if excess > len(removable):
        env = ENV_VARS["max_stored_runs"]
        raise InputError(
            f"Refused: you have {len(runs)} runs stored and this Space keeps at most {limits.max_stored_runs} per "
            f"visitor ({env}); the active ones cannot be removed. Wait for them to finish. " + WAY_OUT.format(env=env)
        )
    removed = []
    for path in removable[: max(0, excess)]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


POLL_S = 1.0
"""How often a watched run's directory is read."""


def watch_run(run_dir: str | Path, limits: Limits, *, poll_s: float | None = None) -> threading.Thread | None:
    """Stop a run cleanly (its STOP file) once it passes the step or wall-time limit.

    Reads only the run directory, so it works whatever process trains (a ZeroGPU worker included).
    Wall time is the time the run spends running: not queued, not paused (a paused run is watched on through
    its Resume). Steps are checked from its progress events, written about every second, so a run stops
    within a few steps of the limit.
    """
    if limits.max_steps is None and limits.max_run_minutes is None:
        return None
    run_dir = Path(run_dir)
    thread = threading.Thread(
        target=_watch,
        args=(run_dir, limits, POLL_S if poll_s is None else poll_s),
        name=f"limits-{run_dir.name}",
        daemon=True,
    )
    thread.start()
    return thread


def _watch(run_dir: Path, limits: Limits, poll_s: float) -> None:
    status_path = run_dir / STATUS_FILE
    running_seconds = 0.0
    last = time.monotonic()
    while True:
        time.sleep(poll_s)
        now = time.monotonic()
        # Counted between two polls seen running; a pause (waiting for GPU quota, or for the visitor's Resume) is
        # not counted, and a long gap (a suspended process) counts as one poll at most.
        elapsed, last = min(now - last, 3 * poll_s), now
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if not run_dir.is_dir():
                return
            continue
        state = status.get("state")
        if state not in (*ACTIVE_STATES, *RESUMABLE_STATES):
            return
        if state != "running" or (run_dir / STOP_FILE).exists():
            continue
        running_seconds += elapsed
        reason = None
        if limits.max_run_minutes is not None and running_seconds / 60 >= limits.max_run_minutes:
            reason = ("max_run_minutes", f"{limits.max_run_minutes:g} minutes of training")
        step = _latest_step(run_dir)
        if reason is None and limits.max_steps is not None and step >= limits.max_steps:
            reason = ("max_steps", f"{limits.max_steps} optimizer steps")
        if reason is not None:
            name, what = reason
            _append_event(
                run_dir,
                {
                    "type": "limit",
                    "limit": name,
                    "step": step,
                    "message": f"Stopped at this Space's limit of {what} per run ({ENV_VARS[name]}); the last "
                    "checkpoint is kept. " + WAY_OUT.format(env=ENV_VARS[name]),
                },
            )
            (run_dir / STOP_FILE).touch()
            return


def _latest_step(run_dir: Path, tail_bytes: int = 16_384) -> int:
    path = run_dir / EVENTS_FILE
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - tail_bytes))
            lines = handle.read().decode("utf-8", errors="replace").split("\n")
    except OSError:
        return 0
    for line in reversed(lines[1:] if size > tail_bytes else lines):
        if '"progress"' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "progress":
            return int(event.get("step", 0))
    return 0


def _append_event(run_dir: Path, event: dict[str, Any]) -> None:
    line = json.dumps({"time": round(time.time(), 3), **event}) + "\n"
    # One write in append mode: the line lands whole after whatever the trainer has written.
    with (run_dir / EVENTS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(line)


def admit(config: TrainConfig, run_dir: str | Path, *, active_states: tuple[str, ...]) -> TrainConfig:
    """The one check when a run is created in ``run_dir`` (a new, empty folder among the visitor's runs).

    Refuses (InputError, after removing the empty ``run_dir``) or caps ``config``, makes room among the
    visitor's stored runs, and watches the run for the limits that only show while it trains.
    """
    limits = current_limits()
    if not limits.any:
        return config
    run_dir = Path(run_dir)
    try:
        config = check_config(config, limits)
        removed = make_room(run_dir.parent, limits, active_states=active_states, keep=run_dir)
    except InputError:
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise
    if removed:
        env = ENV_VARS["max_stored_runs"]
        _append_event(
            run_dir,
            {
                "type": "limit",
                "limit": "max_stored_runs",
                "message": f"Removed your oldest run(s) {', '.join(removed)}: this Space keeps at most "
                f"{limits.max_stored_runs} runs per visitor ({env}). " + WAY_OUT.format(env=env),
            },
        )
    watch_run(run_dir, limits)
    return config
