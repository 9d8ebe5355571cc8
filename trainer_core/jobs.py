"""Training runs as directories that outlive a browser tab.

Each run lives in ``<root>/<owner-key>/<run-id>/`` with ``config.yaml``, ``events.jsonl`` (one JSON
event per line, appended as training goes), ``status.json`` and ``model/`` (the Trainer's output dir).
An owner only ever reaches runs under their own key: the key is a hash of the visitor's identity, and
run ids are checked against a strict pattern, so no id can point outside its folder.

Runs execute in worker threads; a semaphore lets one train at a time per GPU while the others wait
in order. Tokens stay in memory, in the worker's arguments; they are never written to disk.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_core import limits
from trainer_core.config import TrainConfig
from trainer_core.errors import InputError, StudioError

RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
MODEL_DIR = "model"
EVENTS_FILE = "events.jsonl"
STATUS_FILE = "status.json"
CONFIG_FILE = "config.yaml"
STOP_FILE = "STOP"
ACTIVE_STATES = ("queued", "running", "stopping")

# (config, run_dir, token) -> TrainResult. Plain picklable arguments: on ZeroGPU the call runs in a
# forked worker, which talks back only through the run directory (events file, stop file).
TrainFunction = Callable[[TrainConfig, str, "str | None"], Any]


class FileStopFlag:
    """A stop flag that works across processes: set means the run directory holds a STOP file."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / STOP_FILE

    def set(self) -> None:
        self.path.touch()

    def is_set(self) -> bool:
        return self.path.exists()


def event_writer(run_dir: str | Path) -> Callable[[dict[str, Any]], None]:
    """An event sink that appends one JSON line per event to the run's events file."""
    path = Path(run_dir) / EVENTS_FILE
    lock = threading.Lock()

    def write(event: dict[str, Any]) -> None:
        line = json.dumps({"time": round(time.time(), 3), **event}, default=str) + "\n"
        with lock, path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    return write


def execute_run(config: TrainConfig, run_dir: str, token: str | None) -> Any:
    """Train one run, reporting through its directory. The unit of work handed to a GPU worker."""
    from trainer_core.training import train

    return train(config, on_event=event_writer(run_dir), stop=FileStopFlag(run_dir), token=token)


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

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        return f"{self.run_id} · {self.state} · {Path(self.model).name} on {Path(self.dataset).name} · {when}"


class JobManager:
    """Starts, stops, lists and reads runs, each visitor only their own."""

    def __init__(self, root: str | Path, *, concurrent: int = 1, train_fn: TrainFunction | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._slots = threading.Semaphore(concurrent)
        # Re-entrant: status writes happen both alone and inside larger critical sections.
        self._lock = threading.RLock()
        self._threads: dict[str, threading.Thread] = {}
        self._queue: list[str] = []
        self._train_fn = train_fn

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

    # ------------------------------------------------------------------ lifecycle
    def start(self, identity: str, config: TrainConfig, *, token: str | None = None) -> str:
        """Create the run directory and queue the run; returns its id at once."""
        owner = self.owner_dir(identity)
        owner.mkdir(parents=True, exist_ok=True)
        with self._lock:
            active = [info for info in self.list_runs(identity) if info.state in ACTIVE_STATES]
            if active:
                raise InputError(
                    f"You already have a run in progress ({active[0].run_id}, {active[0].state}). "
                    "Stop it or wait for it to finish before starting another."
                )
            run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            path = owner / run_id
            path.mkdir()
            config = limits.admit(config, path, active_states=ACTIVE_STATES)
            config = dataclasses.replace(
                config, training=dataclasses.replace(config.training, output_dir=str(path / MODEL_DIR))
            )
            config.save(path / CONFIG_FILE)
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
            self._queue.append(str(path))
            # The worker runs in a copy of the caller's context: on ZeroGPU that carries the visitor's request,
            # so the GPU time is booked to the visitor's quota and not to the Space's.
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run, args=(self._run, path, config, token), name=f"run-{run_id}", daemon=True
            )
            self._threads[str(path)] = thread
        thread.start()
        return run_id

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

    def _run(self, path: Path, config: TrainConfig, token: str | None) -> None:
        on_event = event_writer(path)
        try:
            with self._slots:
                with self._lock:
                    self._queue.remove(str(path))
                    if FileStopFlag(path).is_set():
                        self._set_status(path, state="stopped", ended=time.time())
                        on_event({"type": "stopped", "reason": "stopped before it started"})
                        return
                    self._set_status(path, state="running", started=time.time())
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
            self._fail(path, on_event, str(err), token)
        except Exception as err:  # the worker must record every failure, or the run looks alive forever
            self._fail(path, on_event, f"Unexpected {type(err).__name__}: {err}", token)
        finally:
            with self._lock:
                if str(path) in self._queue:
                    self._queue.remove(str(path))

    def _fail(self, path: Path, on_event: Callable[[dict[str, Any]], None], message: str, token: str | None) -> None:
        from trainer_core.hub import redact

        message = redact(message, token)
        on_event({"type": "error", "message": message})
        with self._lock:
            self._set_status(path, state="failed", error=message, ended=time.time())

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
        step, total = status.get("step", 0), 0
        for event in reversed(self._recent_events(path)):
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
        return TrainConfig.from_yaml(self.run_dir(identity, run_id) / CONFIG_FILE)


def _default_train(config: TrainConfig, run_dir: str, token: str | None) -> Any:
    from trainer_core.runtime import run_on_gpu

    return run_on_gpu(execute_run, config, run_dir, token)
