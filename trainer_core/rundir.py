"""The run directory's format: the names of its files and the states a run can be in.

A run folder (``<root>/<owner-key>/<run-id>/``, see jobs.py) holds ``config.yaml``, ``events.jsonl``,
``status.json``, the ``STOP`` / ``RESUME`` flags and ``model/``, the Trainer's output folder, which holds
``results.json`` and ``trainer_studio.yaml`` beside the weights. Every core module that reads or writes these
names them from here; this module imports no other core module, so any of them can import it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# In the run folder.
RUN_CONFIG_FILE = "config.yaml"  # the config the visitor started the run with
EVENTS_FILE = "events.jsonl"  # one JSON event per line, appended as training goes
STATUS_FILE = "status.json"  # state, step, slice, pause: rewritten as the run goes
STOP_FILE = "STOP"  # present: the run was asked to stop (works across processes)
RESUME_FILE = "RESUME"  # present: a paused run was asked to go on now
MODEL_DIR = "model"  # the Trainer's output folder

# In the model folder (the Trainer's output folder, also a CLI run's --output-dir).
RESULTS_FILE = "results.json"  # the finished run's metrics and pushes
TRAINED_CONFIG_FILE = "trainer_studio.yaml"  # what a run trained with, detected columns included

# A run's states (status.json's "state").
ACTIVE_STATES = ("queued", "running", "stopping")
# Runs that can continue from their last checkpoint (the Resume button).
RESUMABLE_STATES = ("paused", "interrupted")


class FileStopFlag:
    """A stop flag that works across processes: set means the run directory holds a STOP file."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / STOP_FILE

    def set(self) -> None:
        self.path.touch()

    def is_set(self) -> bool:
        return self.path.exists()


def event_writer(run_dir: str | Path) -> Callable[[dict[str, Any]], None]:
    """An event sink that appends one JSON line per event to the run's events file.

    Paths inside the run's folder are written relative to it (``model/checkpoint-4``): the folder can move
    (a new disk, a restored backup) and whoever reads the events sees no server folder.
    """
    path = Path(run_dir) / EVENTS_FILE
    lock = threading.Lock()
    prefixes = sorted({str(Path(run_dir)), str(Path(run_dir).resolve())}, key=len, reverse=True)

    def write(event: dict[str, Any]) -> None:
        event = _relative_paths(event, prefixes)
        line = json.dumps({"time": round(time.time(), 3), **event}, default=str) + "\n"
        with lock, path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    return write


def _relative_paths(value: Any, prefixes: list[str]) -> Any:
    if isinstance(value, str):
        for prefix in prefixes:
            if value == prefix:
                return "."
            value = value.replace(prefix + os.sep, "")
        return value
    if isinstance(value, dict):
        return {key: _relative_paths(item, prefixes) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relative_paths(item, prefixes) for item in value]
    return value
