"""The heavy libraries are imported once, by one thread, whichever entry point of the app comes first.

Concurrent first imports race (trainer_core/stack.py): the Demo's background preload and a visitor's first
run once failed with "module 'transformers' has no attribute 'PreTrainedTokenizerBase'". Each check runs in a
fresh interpreter, where nothing is imported yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path

    from trainer_core import stack
    from trainer_core.config import DataConfig
    from trainer_core.ui import demo_tab

    assert "transformers" not in sys.modules and not stack.is_loaded()
    csv = Path(sys.argv[1])
    csv.write_text("text,label\\n" + "".join(f"row {i} is fine,{i % 2}\\n" for i in range(40)), encoding="utf-8")
    errors = []

    def preload():
        try:
            demo_tab.get_predictor(sys.argv[2])
        except Exception as err:  # a missing model is fine here; an import race is not
            if "has no attribute" in str(err):
                errors.append(repr(err))

    def first_run():
        try:
            from trainer_core import data

            data.load_raw(DataConfig(dataset=str(csv)))
        except Exception as err:
            errors.append(repr(err))

    threads = [threading.Thread(target=preload), threading.Thread(target=first_run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stack.is_loaded()
    print("errors:", errors)
    sys.exit(1 if errors else 0)
    """
)


def test_a_preload_and_a_first_run_at_once_load_the_stack_once(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "rows.csv"), str(tmp_path / "no-model")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def test_every_threaded_entry_point_loads_the_stack_first():
    """The places where a thread starts heavy work: a run's worker, the Demo's predictor, preview, evaluate."""
    sources = {
        "trainer_core/jobs.py": "def _run(",
        "trainer_core/ui/demo_tab.py": "def get_predictor(",
        "trainer_core/ui/dataset_tab.py": "def _preview(",
        "trainer_core/ui/evaluate_tab.py": "def evaluate(",
    }
    for path, signature in sources.items():
        text = (REPO_ROOT / path).read_text(encoding="utf-8")
        body = text[text.index(signature) :]
        body = body[: body.index("\ndef ", 1)] if "\ndef " in body[1:] else body
        assert "load_stack()" in body, path
