"""Training runs as directories that outlive a browser tab.

Each run lives in ``<root>/<owner-key>/<run-id>/`` with ``config.yaml``, ``events.jsonl`` (one JSON
event per line, appended as training goes), ``status.json`` and ``model/`` (the Trainer's output dir).
An owner only ever reaches runs under their own key: the key is a hash of the visitor's identity, and
run ids are checked against a strict pattern, so no id can point outside its folder.

Runs execute in worker threads. On a dedicated GPU a semaphore lets one train at a time while the
others wait in order (with a visible queue position). On ZeroGPU the platform lends a GPU per call, so
several visitors' runs go at once, each as a sequence of slices (see ``run_in_slices``): prepared on
the CPU, trained by GPU calls that each resume the last checkpoint, pushed from the CPU at the end.
Tokens stay in memory, in the worker's arguments; they are never written to disk.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_core import limits, runtime
from trainer_core.config import TrainConfig
from trainer_core.errors import InputError, StudioError
from trainer_core.rundir import (
    ACTIVE_STATES,
    EVENTS_FILE,
    MODEL_DIR,
    RESULTS_FILE,
    RESUMABLE_STATES,
    RESUME_FILE,
    RUN_CONFIG_FILE,
    STATUS_FILE,
    FileStopFlag,
    event_writer,
)

RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
# Concurrent runs on ZeroGPU: the platform schedules the GPUs, this only bounds the app's own threads.
ZERO_GPU_CONCURRENT_RUNS = 16

# (config, run_dir, token) -> TrainResult. Plain picklable arguments: on ZeroGPU the call runs in a
# forked worker, which talks back only through the run directory (events file, stop file).
TrainFunction = Callable[[TrainConfig, str, "str | None"], Any]


def execute_run(config: TrainConfig, run_dir: str, token: str | None) -> Any:
    """Train one run, reporting through its directory. The unit of work handed to a GPU worker."""
    from trainer_core.training import train

    return train(config, on_event=event_writer(run_dir), stop=FileStopFlag(run_dir), token=token)


# Decorated here, at import, so that the Space's start-up check finds it (jobs is imported by the app's
# context); runtime knows the booking, this module knows what a slice runs.
@runtime.gpu_function(runtime.slice_booking)
def train_slice_on_gpu(
    run_dir: str, seconds: float, token: str | bool | None = None, steps: int | None = None
) -> dict[str, Any]:
    """One slice of a prepared run on the GPU; returns ``training.train_slice``'s plain summary.

    Errors come back as data (``state == "failed"``): an exception raised in ZeroGPU's worker reaches
    the caller as its class name only.
    """
    from trainer_core.training import train_slice

    return train_slice(
        run_dir, seconds, token=token, steps=steps, on_event=event_writer(run_dir), stop=FileStopFlag(run_dir)
    )


def owner_key(identity: str) -> str:
    """A folder name for a visitor: a hash, so identities are neither exposed nor able to escape."""
    if not identity:
        raise InputError("No visitor identity: reload the page.")
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]


def new_visitor_id() -> str:
    return secrets.token_urlsafe(24)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Caller:
    """What a visitor's latest request brought, kept in memory only (never on disk): their Hub token (and when it
    expires: an OAuth sign-in lasts 8 hours), and the request's context, which on ZeroGPU carries the X-IP-Token
    that books GPU time on their own quota. A run that lasts for days reads the latest of these at each GPU call
    and at its final push, so it never relies on what the first request brought."""

    token: str | bool | None = None
    token_expires_at: float | None = None
    context: contextvars.Context | None = None


@dataclass
class RunInfo:
    run_id: str
    state: str
    created: float
    model: str
    dataset: str
    task: str
    repo_id: str | None
    step: int = 0
    total_steps: int = 0
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    error: str | None = None
    queue_position: int | None = None
    slice: int = 0  # the current (or last) GPU call of a run trained in slices
    waiting_for_gpu: bool = False
    pause: dict[str, Any] | None = None  # {"kind", "message", "resume_at"} of a paused run

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        return f"{self.run_id} · {self.state} · {Path(self.model).name} on {Path(self.dataset).name} · {when}"


class JobManager:
    """Starts, stops, lists and reads runs, each visitor only their own."""

    def __init__(
        self,
        root: str | Path,
        *,
        concurrent: int | None = None,
        train_fn: TrainFunction | None = None,
        sliced: bool | None = None,
        slice_fn: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        from trainer_core.runtime import on_zero_gpu

        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # In slices (ZeroGPU by default): each GPU call is booked on its own, so runs need not queue here.
        self.sliced = on_zero_gpu() if sliced is None else sliced
        if concurrent is None:
            concurrent = ZERO_GPU_CONCURRENT_RUNS if self.sliced else 1
        self._slots = threading.Semaphore(concurrent)
        # On ZeroGPU a run on the CPU (use_cpu) trains in the Space's own process: one at a time shares it best.
        self._cpu_slots = threading.Semaphore(1) if self.sliced else self._slots
        self._slice_fn = slice_fn
        # Re-entrant: status writes happen both alone and inside larger critical sections.
        self._lock = threading.RLock()
        self._threads: dict[str, threading.Thread] = {}
        self._queue: list[str] = []
        self._train_fn = train_fn
        self._callers: dict[str, Caller] = {}  # owner key -> what their latest request brought

    # ------------------------------------------------------------------ paths and ownership
    def owner_dir(self, identity: str) -> Path:
        return self.root / owner_key(identity)

    def run_dir(self, identity: str, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise InputError(f"'{run_id}' is not a run id.")
        path = self.owner_dir(identity) / run_id
        if not (path / STATUS_FILE).is_file():
            raise InputError(f"No run '{run_id}' among your runs.")
        return path

    def model_dir(self, identity: str, run_id: str) -> Path:
        return self.run_dir(identity, run_id) / MODEL_DIR

    # ------------------------------------------------------------------ who is asking
    def remember(
        self,
        identity: str,
        *,
        token: str | bool | None = None,
        token_expires_at: float | None = None,
        ip_token: bool = True,
    ) -> Caller:
        """Keep what this request of ``identity`` brought for their runs: a token replaces the one kept (none keeps
        it), and the request's context replaces the one kept when it carries an X-IP-Token (or none is kept)."""
        key = owner_key(identity)
        with self._lock:
            current = self._callers.get(key) or Caller()
            if token:
                current = dataclasses.replace(current, token=token, token_expires_at=token_expires_at)
            elif current.token is None:
                current = dataclasses.replace(current, token=token)
            if ip_token or current.context is None:
                current = dataclasses.replace(current, context=contextvars.copy_context())
            self._callers[key] = current
            return current

    def caller(self, path: Path) -> Caller:
        return self._callers.get(path.parent.name) or Caller()

    def wake(
        self,
        identity: str,
        *,
        token: str | bool | None = None,
        token_expires_at: float | None = None,
        ip_token: bool = True,
    ) -> list[str]:
        """The visitor is back (a page load, a click, an API call): their runs take this request's token and
        context from now on, and a paused run whose time has come while nothing waited for it resumes now: one
        found paused after a restart, one the Space's own quota stopped (when this request carries the visitor's
        X-IP-Token, so their own quota can take over), or one whose quota wait has passed. Returns the run ids."""
        infos = self.list_runs(identity)
        if not infos:
            return []  # nothing of theirs to lend it to: keep no request of a visitor without runs
        self.remember(identity, token=token, token_expires_at=token_expires_at, ip_token=ip_token)
        resumed = []
        now = time.time()
        for info in infos:
            if info.state != "paused" or not info.pause:
                continue
            thread = self._threads.get(str(self.owner_dir(identity) / info.run_id))
            if thread is not None and thread.is_alive():
                continue  # waiting for its time already, and it will book with this request's context
            kind, resume_at = info.pause.get("kind"), info.pause.get("resume_at")
            due = kind == "restart" or (kind == "space_quota" and ip_token) or (resume_at and resume_at <= now)
            if due and self.resume(identity, info.run_id, token=token, token_expires_at=token_expires_at):
                resumed.append(info.run_id)
        return resumed

    # ------------------------------------------------------------------ lifecycle
    def start(
        self,
        identity: str,
        config: TrainConfig,
        *,
        token: str | bool | None = None,
        token_expires_at: float | None = None,
    ) -> str:
        """Create the run directory and queue the run; returns its id at once."""
        owner = self.owner_dir(identity)
        owner.mkdir(parents=True, exist_ok=True)
        self.remember(identity, token=token, token_expires_at=token_expires_at)
        with self._lock:
            active = [info for info in self.list_runs(identity) if info.state in ACTIVE_STATES]
            if active:
                raise InputError(
                    f"You already have a run in progress ({active[0].run_id}, {active[0].state}). "
                    "Stop it or wait for it to finish before starting another."
                )
            self.clean_up(owner)
            run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            path = owner / run_id
            path.mkdir()
            config = limits.admit(config, path, active_states=ACTIVE_STATES)
            config = dataclasses.replace(
                config, training=dataclasses.replace(config.training, output_dir=str(path / MODEL_DIR))
            )
            config.save(path / RUN_CONFIG_FILE)
            (path / EVENTS_FILE).touch()
            self._set_status(
                path,
                state="queued",
                created=time.time(),
                model=config.model.model,
                dataset=Path(config.data.dataset).name if os.path.isabs(config.data.dataset) else config.data.dataset,
                task=config.task,
                repo_id=config.hub.repo_id,
            )
            thread = self._launch(path, config, token)
        thread.start()
        return run_id

    def _launch(self, path: Path, config: TrainConfig, token: str | bool | None, **wait: Any) -> threading.Thread:
        self._queue.append(str(path))
        # The worker runs in a copy of the caller's context: on ZeroGPU that carries the visitor's request,
        # so the GPU time is booked to the visitor's quota (X-IP-Token) and not to the Space's.
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(self._run, path, config, token), kwargs=wait, name=f"run-{path.name}",
            daemon=True,
        )  # fmt: skip
        self._threads[str(path)] = thread
        return thread

    def resume(
        self,
        identity: str,
        run_id: str,
        *,
        token: str | bool | None = None,
        token_expires_at: float | None = None,
    ) -> bool:
        """Continue a paused or interrupted run from its last checkpoint. False if it is not resumable."""
        path = self.run_dir(identity, run_id)
        self.remember(identity, token=token, token_expires_at=token_expires_at)
        with self._lock:
            info = self._info(path)
            if info.state not in RESUMABLE_STATES:
                return False
            thread = self._threads.get(str(path))
            if thread is not None and thread.is_alive() and (info.pause or {}).get("resume_at"):
                (path / RESUME_FILE).touch()  # a run waiting for its quota: go now
                # Running from now on, so whoever follows it (the /resume stream) follows it to its end.
                self._set_status(path, state="running", pause=None)
                event_writer(path)({"type": "resume_requested"})
                return True
        if thread is not None:
            thread.join(timeout=30)  # a run that just paused is still leaving its thread
        with self._lock:
            if self._info(path).state not in RESUMABLE_STATES:
                return False
            FileStopFlag(path).path.unlink(missing_ok=True)
            self._set_status(path, state="queued", pause=None, error=None)
            event_writer(path)({"type": "resume_requested"})
            thread = self._launch(path, self.config(identity, run_id), token)
        thread.start()
        return True

    def stop(self, identity: str, run_id: str) -> bool:
        """Ask a run to stop after its current step. Safe to call twice; False if it is not active."""
        path = self.run_dir(identity, run_id)
        with self._lock:
            info = self._info(path)
            if info.state not in ACTIVE_STATES:
                return False
            stop = FileStopFlag(path)
            if not stop.is_set():
                stop.set()
                if info.state == "running":
                    self._set_status(path, state="stopping")
        return True

    def wait(self, identity: str, run_id: str, timeout: float | None = None) -> RunInfo:
        thread = self._threads.get(str(self.run_dir(identity, run_id)))
        if thread is not None:
            thread.join(timeout)
        return self.info(identity, run_id)

    def _run(
        self,
        path: Path,
        config: TrainConfig,
        token: str | bool | None,
        *,
        wait_until: float | None = None,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        on_event = event_writer(path)
        try:
            if wait_until is not None and not _wait_to_resume(path, wait_until, ready):
                return
            from trainer_core.stack import load_stack

            load_stack()  # never concurrently with the Demo's preload or a visitor's preview (trainer_core/stack.py)
            in_slices = self.sliced and self._train_fn is None and not config.training.use_cpu
            with self._slots if in_slices or not self.sliced else self._cpu_slots:
                with self._lock:
                    self._queue.remove(str(path))
                    if FileStopFlag(path).is_set():
                        self._set_status(path, state="stopped", ended=time.time())
                        on_event({"type": "stopped", "reason": "stopped before it started"})
                        return
                    self._set_status(path, state="running", started=time.time())
                if in_slices:
                    run_in_slices(path, config, token, set_status=self._locked_status, slice_fn=self._slice_fn,
                                  caller=lambda: self.caller(path))  # fmt: skip
                    return
                train = self._train_fn or _default_train
                result = train(config, str(path), token)
            with self._lock:
                self._set_status(
                    path,
                    state="stopped" if result.stopped else "finished",
                    step=result.global_step,
                    metrics=result.metrics,
                    pushed_repo=result.pushed_repo,
                    push_errors=result.push_errors,
                    ended=time.time(),
                )
        except StudioError as err:
            self._fail(path, on_event, disk_full_message(str(err)), token)
        except Exception as err:  # the worker must record every failure, or the run looks alive forever
            self._fail(path, on_event, disk_full_message(f"Unexpected {type(err).__name__}: {err}"), token)
        finally:
            with self._lock:
                if str(path) in self._queue:
                    self._queue.remove(str(path))

    def _fail(
        self, path: Path, on_event: Callable[[dict[str, Any]], None], message: str, token: str | bool | None
    ) -> None:
        from trainer_core.hub import redact

        for each in (token, self.caller(path).token):
            message = redact(message, each if isinstance(each, str) else None)
        on_event({"type": "error", "message": message})
        with self._lock:
            self._set_status(path, state="failed", error=message, ended=time.time())

    def recover(self, ready: Callable[[], bool] | None = None) -> list[str]:
        """Pick up the runs a previous process of the app left behind (a restart, a Space's sleep), at start-up.

        Only for runs trained in slices, whose run directory holds everything between two GPU calls. A run that
        was going when the process ended is paused at its last checkpoint and continues at once; a run paused
        for its quota continues when its time comes. Both wait first for ``ready()`` (the app serving), so
        start-up books no GPU. Until the visitor comes back (``wake``) a run has neither their token (on a
        Space it reads the Hub anonymously, never with the Space's own) nor their X-IP-Token. Returns the ids.
        """
        from trainer_core.runtime import on_space

        if not self.sliced:
            return []
        found, threads = [], []
        now = time.time()
        for owner in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(owner.iterdir()):
                if not RUN_ID_PATTERN.match(path.name) or str(path) in self._threads:
                    continue
                try:
                    status = json.loads((path / STATUS_FILE).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                state, pause = status.get("state"), status.get("pause") or {}
                if state not in ACTIVE_STATES and (state != "paused" or not pause.get("resume_at")):
                    continue  # ended, or paused until the visitor presses Resume
                try:
                    config = TrainConfig.from_yaml(path / RUN_CONFIG_FILE)
                except (OSError, ValueError, StudioError):
                    continue
                if state in ACTIVE_STATES:
                    step = int(status.get("step") or 0)
                    pause = {
                        "kind": "restart",
                        "message": f"paused: the Space restarted while this run was going; it continues by itself "
                        f"from its last checkpoint (step {step}).",
                        "resume_at": now,
                    }
                    self._set_status(path, state="paused", pause=pause)
                    event_writer(path)({"type": "paused", "step": step, "total_steps": int(status.get("total_steps")
                                        or 0), "reason": "restart", "message": pause["message"]})  # fmt: skip
                token = False if on_space() else None  # never the Space's own HF_TOKEN for a visitor's run
                with self._lock:
                    threads.append(self._launch(path, config, token, wait_until=pause["resume_at"], ready=ready))
                limits.watch_run(path, limits.current_limits())
                found.append(path.name)
        for thread in threads:
            thread.start()
        return found

    def clean_up(self, owner: Path | None = None, *, now: float | None = None) -> list[str]:
        """Apply the retention rule (``retention_policy``): remove every visitor's runs older than the age limit,
        then, for ``owner``, checkpoints and then whole runs, oldest first, until their runs fit the size limit.
        Runs in progress (and paused runs still waiting in their thread) are never touched. Returns what went."""
        max_age_days, max_bytes = retention_policy()
        now = time.time() if now is None else now
        removed: list[str] = []
        with self._lock:
            owners = [p for p in self.root.iterdir() if p.is_dir()] if max_age_days is not None else []
            for owner_path in owners:
                for path, status in self._idle_runs(owner_path):
                    if now - float(status.get("ended") or status.get("created") or now) > max_age_days * 86400:
                        shutil.rmtree(path, ignore_errors=True)
                        removed.append(path.name)
            if max_bytes is None or owner is None or not owner.is_dir():
                return removed
            total = _size(owner)
            idle = self._idle_runs(owner)
            # A paused or interrupted run continues from its checkpoints, so it keeps them, and it goes only after
            # every ended run has.
            ended = [(path, status) for path, status in idle if status.get("state") not in RESUMABLE_STATES]
            resumable = [(path, status) for path, status in idle if status.get("state") in RESUMABLE_STATES]
            idle = ended + resumable
            # Checkpoints first (the final models stay usable), then whole runs.
            for path, _status in ended:
                for checkpoint in sorted(path.glob(f"{MODEL_DIR}/checkpoint-*")):
                    if total <= max_bytes:
                        return removed
                    size = _size(checkpoint)
                    shutil.rmtree(checkpoint, ignore_errors=True)
                    total -= size
                    removed.append(f"{path.name}/{checkpoint.name}")
            for path, _status in idle:
                if total <= max_bytes:
                    break
                size = _size(path)
                shutil.rmtree(path, ignore_errors=True)
                total -= size
                removed.append(path.name)
        return removed

    def _idle_runs(self, owner: Path) -> list[tuple[Path, dict[str, Any]]]:
        """An owner's runs that nothing is working on, oldest first."""
        out = []
        for path in owner.iterdir():
            status_path = path / STATUS_FILE
            if not RUN_ID_PATTERN.match(path.name) or not status_path.is_file():
                continue
            thread = self._threads.get(str(path))
            if thread is not None and thread.is_alive():
                continue
            try:
                status = json.loads(status_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if status.get("state") in ACTIVE_STATES and thread is not None:
                continue
            out.append((path, status))
        return sorted(out, key=lambda item: float(item[1].get("created") or 0.0))

    def _locked_status(self, path: Path, **changes: Any) -> None:
        with self._lock:
            self._set_status(path, **changes)

    def _set_status(self, path: Path, **changes: Any) -> None:
        status_path = path / STATUS_FILE
        with self._lock:
            current = json.loads(status_path.read_text(encoding="utf-8")) if status_path.is_file() else {}
            current.update(changes)
            _write_json_atomic(status_path, current)

    # ------------------------------------------------------------------ reading
    def info(self, identity: str, run_id: str) -> RunInfo:
        path = self.run_dir(identity, run_id)
        return self._info(path)

    def _info(self, path: Path) -> RunInfo:
        status = json.loads((path / STATUS_FILE).read_text(encoding="utf-8"))
        state = status.get("state", "unknown")
        if state in ACTIVE_STATES and str(path) not in self._threads:
            # Left active by a process that died (restart, kill): it will not progress any more.
            state = "interrupted"
        position = None
        if state == "queued" and str(path) in self._queue:
            position = self._queue.index(str(path)) + 1
        step, total = status.get("step", 0), status.get("total_steps", 0)
        waiting = False
        for event in reversed(self._recent_events(path)):
            if event["type"] == "slice" and event.get("status") == "waiting":
                waiting = state == "running"  # nothing trained since this call was asked for
                step, total = event.get("step", step), event.get("total_steps", total)
                break
            if event["type"] == "progress":
                step, total = event["step"], event["total_steps"]
                break
            if event["type"] == "train_begin":
                total = event["total_steps"]
                break
        return RunInfo(
            run_id=path.name,
            state=state,
            created=status.get("created", 0.0),
            model=status.get("model", ""),
            dataset=status.get("dataset", ""),
            task=status.get("task", ""),
            repo_id=status.get("repo_id"),
            step=step,
            total_steps=total,
            metrics=status.get("metrics") or {},
            error=status.get("error"),
            queue_position=position,
            slice=status.get("slice", 0),
            waiting_for_gpu=waiting,
            pause=status.get("pause") if state == "paused" else None,
        )

    def list_runs(self, identity: str) -> list[RunInfo]:
        owner = self.owner_dir(identity)
        if not owner.is_dir():
            return []
        runs = [self._info(p) for p in owner.iterdir() if RUN_ID_PATTERN.match(p.name) and (p / STATUS_FILE).is_file()]
        return sorted(runs, key=lambda r: r.created, reverse=True)

    def events(self, identity: str, run_id: str, since: int = 0) -> list[dict[str, Any]]:
        """Events from line ``since`` on (0-based), so a poller asks only for what is new."""
        return self._read_events(self.run_dir(identity, run_id), since)

    @staticmethod
    def _recent_events(path: Path, tail_bytes: int = 65_536) -> list[dict[str, Any]]:
        """The events in the last ``tail_bytes`` of a run's file: enough to find its latest progress
        (written every second while training) without reading hours of events for every listing."""
        events_path = path / EVENTS_FILE
        if not events_path.is_file():
            return []
        with events_path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - tail_bytes))
            chunk = handle.read().decode("utf-8", errors="replace")
        lines = chunk.split("\n")
        if size > tail_bytes:
            lines = lines[1:]  # the first line is cut
        return [json.loads(line) for line in lines[:-1] if line.strip()]

    @staticmethod
    def _read_events(path: Path, since: int) -> list[dict[str, Any]]:
        events_path = path / EVENTS_FILE
        if not events_path.is_file():
            return []
        out = []
        with events_path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                if number < since:
                    continue
                if not line.endswith("\n"):
                    break  # a line still being written
                out.append(json.loads(line))
        return out

    def config(self, identity: str, run_id: str) -> TrainConfig:
        return TrainConfig.from_yaml(self.run_dir(identity, run_id) / RUN_CONFIG_FILE)


def _default_train(config: TrainConfig, run_dir: str, token: str | None) -> Any:
    return execute_run(config, run_dir, token)


# ------------------------------------------------------------------------------------ storage
RETENTION_ENV = ("STUDIO_RUN_MAX_AGE_DAYS", "STUDIO_MAX_VISITOR_GB")
SPACE_RETENTION = (7.0, 5.0)  # days a run is kept; GB of runs per visitor (a BERT-base run is about 3 GB)


def retention_policy(environ: dict[str, str] | None = None) -> tuple[float | None, int | None]:
    """(max age in days, max bytes per visitor). On a Space the defaults above apply, elsewhere none;
    each variable of ``RETENTION_ENV`` changes its limit, and ``0``/``none``/``off`` removes it."""
    from trainer_core.runtime import on_space

    environ = os.environ if environ is None else environ
    values: list[float | None] = []
    for name, default in zip(RETENTION_ENV, SPACE_RETENTION, strict=True):
        raw = environ.get(name)
        if raw is None:
            values.append(default if on_space() else None)
            continue
        raw = raw.strip().lower()
        if raw in ("", "0", "none", "off"):
            values.append(None)
            continue
        try:
            number = float(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r} is not a number: give days (age) or GB (size), or 'off'.") from None
        values.append(number if number > 0 else None)
    age, gigabytes = values
    return age, int(gigabytes * 1024**3) if gigabytes is not None else None


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we looked
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def disk_full_message(message: str) -> str:
    """A run that ran out of disk says so plainly, and what to do."""
    if "No space left on device" not in message and "Errno 28" not in message:
        return message
    return (
        "The disk is full (no space left on device), so the run could not save. Its last complete checkpoint is "
        "kept: delete some of your older runs, then Resume it. A Space owner can add persistent storage or "
        "lower STUDIO_MAX_VISITOR_GB / STUDIO_RUN_MAX_AGE_DAYS so old runs are removed sooner."
    )


# ------------------------------------------------------------------------------------ slices
MAX_QUOTA_WAIT_SECONDS = 24 * 3600
_IN_PROCESS_TRAINING = threading.Lock()


def run_in_slices(
    path: Path,
    config: TrainConfig,
    token: str | bool | None,
    *,
    set_status: Callable[..., None],
    slice_fn: Callable[..., dict[str, Any]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    caller: Callable[[], Caller] | None = None,
) -> str:
    """Prepare on the CPU, train in GPU calls until done, push from the CPU; returns the final state.

    A refused or killed call pauses the run with its last checkpoint: a quota refusal waits until
    ZeroGPU says the quota allows another call (or a Resume), the others wait for Resume. ``caller()`` is
    what the visitor's latest request brought (``Caller``): each GPU call is booked in its context and takes
    its token, and so does the final push, which waits as "pending" when that token cannot push any more.
    """
    from trainer_core.training import prepare_slices

    call = slice_fn or train_slice_on_gpu
    # Steps per call, to cut runs into slices deterministically in tests and benchmarks; time decides otherwise.
    slice_steps = (
        int(os.environ["TRAINER_STUDIO_SLICE_STEPS"]) if os.environ.get("TRAINER_STUDIO_SLICE_STEPS") else None
    )
    on_event = event_writer(path)
    stop = FileStopFlag(path)

    def latest() -> Caller:
        current = caller() if caller is not None else None
        if current is None or not current.token:
            return Caller(token, None, current.context if current is not None else None)
        return current

    meta = prepare_slices(config, path, token=latest().token, on_event=on_event)
    total = int(meta["total_steps"])
    status = json.loads((path / STATUS_FILE).read_text(encoding="utf-8"))
    done_slices, step = int(status.get("slice", 0)), int(status.get("step", 0))
    step_seconds: float | None = status.get("step_seconds")
    left: int | None = None
    while True:
        if stop.is_set():
            from trainer_core.training import finish_stopped_slices

            stopped = finish_stopped_slices(path)
            on_event({"type": "stopped", "reason": "stopped between two GPU calls; its best checkpoint is the model"})
            if stopped is not None:
                on_event({"type": "done", "result": stopped.to_dict()})
            set_status(path, state="stopped", ended=time.time(), step=stopped.global_step if stopped else step,
                       metrics=stopped.metrics if stopped else {})  # fmt: skip
            return "stopped"
        overhead = runtime.slice_overhead(str(path))
        seconds = runtime.next_slice_seconds(total - step, step_seconds, left=left, overhead=overhead)
        number = done_slices + 1
        set_status(path, state="running", slice=number, pause=None, total_steps=total)
        on_event({"type": "slice", "slice": number, "status": "waiting", "seconds": round(seconds, 1),
                  "step": step, "total_steps": total})  # fmt: skip
        current = latest()
        # Off ZeroGPU the call trains in this process, where accelerate's state is one per process: two
        # Trainers set up at once (two recovered runs resuming together) break each other, so one at a time.
        # On ZeroGPU each call runs in a worker process of its own.
        in_process = _IN_PROCESS_TRAINING if not runtime.on_zero_gpu() else contextlib.nullcontext()
        try:
            with in_process:
                if current.context is not None:  # booked on the quota of the visitor's latest request
                    summary = current.context.copy().run(call, str(path), seconds, current.token, slice_steps)
                else:
                    summary = call(str(path), seconds, current.token, slice_steps)
        except Exception as err:
            refusal = runtime.classify_gpu_error(err, signed_in=bool(current.token))
            if refusal is None:
                raise
            if refusal.kind == "quota" and refusal.left is not None and left is None:
                fits = runtime.next_slice_seconds(total - step, step_seconds, left=refusal.left, overhead=overhead)
                if fits >= runtime.MIN_SLICE_SECONDS:
                    left = refusal.left  # book what the visitor has left and try once more
                    continue
            if refusal.kind == "duration" and left is None:
                left = runtime.MIN_SLICE_SECONDS + runtime.SLICE_OVERHEAD_SECONDS
                continue
            pause = {"kind": refusal.kind, "message": refusal.message, "resume_at": refusal.resume_at}
            set_status(path, state="paused", pause=pause, step=step)
            on_event({"type": "paused", "step": step, "total_steps": total, "reason": refusal.kind,
                      "message": refusal.message})  # fmt: skip
            if not _wait_for_quota(path, refusal.resume_at, sleep):
                return "paused"
            left = None
            continue
        if summary["state"] == "failed":
            raise StudioError(summary["error"])
        done_slices, step, left = number, int(summary["step"]), None
        step_seconds = summary.get("step_seconds") or step_seconds
        overhead_seen = max(float(summary.get("overhead_seconds") or 0.0), _status_value(path, "overhead_seconds"))
        set_status(path, slice=number, step=step, step_seconds=step_seconds, overhead_seconds=overhead_seen)
        on_event({"type": "slice", "slice": number, "status": "done", "step": step, "total_steps": total,
                  "seconds": summary["seconds"], "steps": summary["steps"]})  # fmt: skip
        if summary["state"] == "paused":
            continue
        break

    output_dir = Path(config.training.output_dir)
    result = json.loads((output_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    repo_id = meta.get("repo_id")
    if repo_id:
        from trainer_core import hub as hub_lib

        # Days may have passed since the run started: push with the visitor's latest token, and only if it can.
        current = latest()
        problem = hub_lib.push_token_problem(repo_id, current.token, expires_at=current.token_expires_at)
        push_token = current.token if isinstance(current.token, str) else None
        if problem is not None:
            message = hub_lib.pending_push_message(repo_id, problem)
            result["push_pending"] = {"repo_id": repo_id, "message": message}
            on_event({"type": "push", "status": "pending", "step": step, "final": True, "repo_id": repo_id,
                      "message": message})  # fmt: skip
        else:
            try:
                hub_lib.push_folder(output_dir, repo_id, push_token, private=config.hub.private)
                result["pushed_repo"] = repo_id
                on_event({"type": "push", "status": "done", "step": step, "final": True, "repo_id": repo_id})
            except Exception as err:
                message = hub_lib.describe_push_error(err, push_token)
                result.setdefault("push_errors", []).append(message)
                on_event({"type": "push", "status": "failed", "step": step, "final": True, "error": message})
        (output_dir / RESULTS_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    on_event({"type": "done", "result": result})
    state = "stopped" if result.get("stopped") else "finished"
    set_status(path, state=state, step=result["global_step"], metrics=result["metrics"],
               pushed_repo=result.get("pushed_repo"), push_errors=result.get("push_errors", []),
               ended=time.time())  # fmt: skip
    return state


def _status_value(path: Path, key: str) -> float:
    status = json.loads((path / STATUS_FILE).read_text(encoding="utf-8"))
    return float(status.get(key) or 0.0)


def _wait_to_resume(path: Path, resume_at: float, ready: Callable[[], bool] | None) -> bool:
    """A run found at start-up: wait until the app serves (``ready``), then until its time (or a Resume)."""
    while ready is not None and not ready():
        if FileStopFlag(path).is_set() or (path / RESUME_FILE).exists():
            break
        time.sleep(0.5)
    return _wait_for_quota(path, resume_at, time.sleep)


def _wait_for_quota(path: Path, resume_at: float | None, sleep: Callable[[float], None]) -> bool:
    """Wait until ``resume_at`` (or a Resume); False when there is nothing to wait for or Stop is pressed."""
    if resume_at is None or resume_at - time.time() > MAX_QUOTA_WAIT_SECONDS:
        return False
    resume_flag, stop = path / RESUME_FILE, FileStopFlag(path)
    while time.time() < resume_at and not resume_flag.exists():
        if stop.is_set():
            return True  # the loop records the stop
        sleep(min(5.0, max(0.0, resume_at - time.time())))
    resume_flag.unlink(missing_ok=True)
    return True


def status_text(info: RunInfo) -> str | None:
    """What a sliced run is doing, in words for the visitor; None where the plain state says it all."""
    if info.state == "paused" and info.pause:
        return str(info.pause.get("message") or "paused: press Resume to continue.")
    if info.state == "running" and info.slice:
        steps = f"step {info.step} / {info.total_steps}" if info.total_steps else f"step {info.step}"
        if info.waiting_for_gpu:
            return f"slice {info.slice}, waiting for a GPU ({steps} done)"
        return f"slice {info.slice}, training: {steps}"
    return None
