"""Hostile input sizes against the running app (issue 10, case 1): memory stays bounded, others still answer.

Two 1.2M-character texts sent to `/predict` once pushed the app past 20 GB (the tokenizer's pair truncation
grows quadratically) and got it killed. The app runs here in its own process, as on a Space; a watchdog
reads its resident memory every 20 ms and kills it at the ceiling, so a regression fails this test instead
of exhausting the machine.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_concurrency import HttpCaller, start_server
from tiny import make_tiny_model

from trainer_core.textlimits import MAX_REQUEST_CHARS

# The app with the tiny model loaded sits near 0.6 GB; the ceiling leaves room for Gradio's request handling
# and a 5 MB batch file, and is a twentieth of what the uncut pair took.
RSS_CEILING_MB = 1_200
HUGE = 1_200_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class Watchdog(threading.Thread):
    """Keeps the peak resident memory of a process; kills it past the ceiling."""

    def __init__(self, process, ceiling_mb: float) -> None:
        super().__init__(daemon=True)
        self.process, self.ceiling_mb = process, ceiling_mb
        self.peak_mb = 0.0
        self.killed = False
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.process.poll() is None:
            try:
                self.peak_mb = max(self.peak_mb, rss_mb(self.process.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            if self.peak_mb > self.ceiling_mb:
                self.killed = True
                self.process.kill()
                return
            time.sleep(0.02)


def words(n_chars: int, seed: int) -> str:
    vocabulary = ["cat", "dog", "red", "the", "movie", "was", "good", "park"]
    text = " ".join(vocabulary[(i * 7 + seed) % len(vocabulary)] for i in range(n_chars // 4 + 1))
    return text[:n_chars]


@pytest.mark.slow
def test_huge_texts_keep_the_app_within_its_memory_ceiling_and_others_answer(tmp_path):
    from gradio_client import Client, handle_file

    model = str(make_tiny_model(tmp_path / "model"))
    batch_file = tmp_path / "pairs.csv"
    pd.DataFrame({"sentence1": [words(HUGE, 1), "the cat sat"], "sentence2": [words(HUGE, 2), "the dog sat"]}).to_csv(
        batch_file, index=False
    )

    server, url = start_server(tmp_path / "app")
    watchdog = Watchdog(server, RSS_CEILING_MB)
    try:
        caller = HttpCaller(url)
        caller.predict("warm up", None, model)
        idle_mb = rss_mb(server.pid)
        watchdog.start()

        outcomes: dict[str, object] = {}

        def attempt(name, call):
            try:
                outcomes[name] = call()
            except Exception as err:
                outcomes[name] = err

        hostile = [
            ("huge pair", lambda: HttpCaller(url).predict(words(HUGE, 1), words(HUGE, 2), model)),
            (
                "pair under the limit",
                lambda: HttpCaller(url).predict(words(MAX_REQUEST_CHARS, 3), words(MAX_REQUEST_CHARS, 4), model),
            ),
            (
                "batch of huge pairs",
                lambda: Client(url, verbose=False, download_files=str(tmp_path / "downloads")).predict(
                    file=handle_file(str(batch_file)),
                    mode="paraphrase",
                    model=model,
                    token="",
                    api_name="/predict_batch",
                ),
            ),
        ]
        threads = [threading.Thread(target=attempt, args=item) for item in hostile]
        for thread in threads:
            thread.start()
        # Other visitors keep asking while the hostile requests are in the app.
        answered = 0
        while any(thread.is_alive() for thread in threads) or answered < 5:
            try:
                scores = caller.predict("a good movie", None, model)
            except Exception:
                assert not watchdog.killed, f"the app passed {RSS_CEILING_MB} MB and was stopped"
                raise
            assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
            answered += 1
            assert answered < 2_000, "the hostile requests never finished"
        for thread in threads:
            thread.join(timeout=120)
    finally:
        watchdog.done.set()
        server.kill()
        server.wait(timeout=30)

    print(f"app RSS: {idle_mb:.0f} MB idle, {watchdog.peak_mb:.0f} MB peak (ceiling {RSS_CEILING_MB} MB)")
    assert not watchdog.killed, f"the app passed {RSS_CEILING_MB} MB (idle it used {idle_mb:.0f} MB)"
    assert watchdog.peak_mb < RSS_CEILING_MB
    refused = outcomes["huge pair"]
    assert isinstance(refused, RuntimeError), refused
    assert "1,200,000 characters; the limit is 100,000" in str(refused)
    under = outcomes["pair under the limit"]
    assert isinstance(under, dict) and sum(under.values()) == pytest.approx(1.0, abs=1e-4), under
    error, result_csv, status, _preview = outcomes["batch of huge pairs"]
    assert error["visible"] is False, error
    predictions = pd.read_csv(result_csv)
    assert len(predictions) == 2 and predictions["predicted_label"].notna().all(), status
