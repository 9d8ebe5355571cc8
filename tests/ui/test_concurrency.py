"""Fifty visitors predicting at once on the Demo tab's endpoint: every call answers, none fails."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_concurrency import run


def test_fifty_concurrent_predict_callers_all_succeed():
    result = run(clients=50, requests=2)
    assert result["errors"] == 0, result["error_samples"]
    assert result["completed"] == 100
