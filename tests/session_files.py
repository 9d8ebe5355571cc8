"""The test session's one folder for files written outside tmp_path.

A module of its own (imported by the root conftest before anything else writes) so that tests can import it
by name: ``conftest`` is not importable by name when several test folders have one.
"""

from __future__ import annotations

import os
import tempfile

# Everything the session writes outside tmp_path (the Hub cache, gradio's uploads, the app's batch files, the
# temp files of libraries and of the CLI subprocesses, which inherit TMPDIR) goes under one folder, removed
# when the session ends (pytest_unconfigure in tests/conftest.py).
SESSION_TMP = tempfile.mkdtemp(prefix="trainer-studio-tests-")
os.environ["TMPDIR"] = SESSION_TMP
tempfile.tempdir = SESSION_TMP
os.environ["GRADIO_TEMP_DIR"] = os.path.join(SESSION_TMP, "gradio")
HF_HOME = tempfile.mkdtemp(prefix="hf-home-", dir=SESSION_TMP)
_SESSION_PID = os.getpid()
