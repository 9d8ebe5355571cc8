"""Fifty visitors predicting at once, through Gradio's API and the plain route: every call answers, none fails."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_concurrency import run


def test_fifty_concurrent_predict_callers_all_succeed_on_both_apis():
    results = run(clients=50, requests=2, kinds=("http", "plain", "plain-async"))
    assert [r["client"] for r in results] == ["http", "plain", "plain-async"]
    for result in results:
        assert result["errors"] == 0, result["error_samples"]
        assert result["completed"] == 100
