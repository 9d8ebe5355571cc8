"""The quality bench's corpus split, its title/article pair task and its paired tables (no downloads)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_quality  # noqa: E402
import quality_data  # noqa: E402


def test_selection_and_held_out_corpora_are_disjoint_and_cover_every_corpus():
    assert set(quality_data.SELECTION).isdisjoint(quality_data.HELD_OUT)
    assert set(quality_data.SELECTION) | set(quality_data.HELD_OUT) == set(quality_data.CORPORA)
    assert {"tweets2", "tweets3"} == set(quality_data.SELECTION)
    opts = bench_quality.parse_args(["--tasks", "held-out", "--variants", "epochs=1,learning_rate=5e-5"])
    assert opts.tasks == list(quality_data.HELD_OUT)
    assert opts.variants == [{"epochs": 1, "learning_rate": 5e-5}]
    assert opts.task_rows["bbc5"] == (1200, 1000)


def test_title_pairs_give_each_article_its_title_and_a_same_topic_stranger():
    articles = [{"topic": t, "title": f"{t} title {i}", "body": f"{t} body {i}"} for i, t in enumerate("aabbbc")]
    rows = quality_data._title_pairs(articles, random.Random(0))
    assert len(rows) == 12
    by_body = {a["body"]: a for a in articles}
    by_title = {a["title"]: a for a in articles}
    belongs = [r for r in rows if r["label"] == "belongs"]
    strangers = [r for r in rows if r["label"] != "belongs"]
    assert all(r["text"] == by_body[r["text_pair"]]["title"] for r in belongs)
    assert all(by_title[r["text"]] is not by_body[r["text_pair"]] for r in strangers)
    # A hard negative: same topic where the topic has a second article ("c" has none).
    assert all(
        by_title[r["text"]]["topic"] == by_body[r["text_pair"]]["topic"] or by_body[r["text_pair"]]["topic"] == "c"
        for r in strangers
    )
    assert sum(r["label"] == "belongs" for r in rows) == 6


def _record(task, method, seed, accuracy, cpu, variant=None):
    record = {"encoder": "minilm", "task": task, "seed": seed, "method": method, "train_rows": 2000,
              "test_rows": 1000, "accuracy": accuracy, "macro_f1": accuracy, "wall_s": cpu, "cpu_s": cpu}  # fmt: skip
    return {**record, "variant": variant} if variant else record


def test_the_summary_pairs_seeds_against_the_plain_recipe_per_corpus_and_per_group(tmp_path):
    records = [
        _record("tweets3", "plain", 0, 0.80, 100), _record("tweets3", "ours", 0, 0.82, 50),
        _record("tweets3", "plain", 1, 0.70, 100), _record("tweets3", "ours", 1, 0.74, 50),
        _record("nyt3", "plain", 0, 0.60, 100), _record("nyt3", "ours", 0, 0.59, 200),
        _record("nyt3", "ours", 0, 0.65, 100, variant="epochs=1"),
        _record("nyt3", "ours", 5, 0.99, 100),  # no plain run on seed 5: not paired
    ]  # fmt: skip
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    table = bench_quality.summarise(path)
    assert "| ours | minilm | tweets3 | 2 | +0.030 ± 0.010 | +0.030 ± 0.010 | 0.50 |" in table
    assert "| ours | minilm | nyt3 | 1 | -0.010 | -0.010 | 2.00 |" in table
    assert "| ours[epochs=1] | minilm | nyt3 | 1 | +0.050 | +0.050 | 1.00 |" in table
    assert "| **ours** | minilm | **selection: 1 corpora** | 2 |" in table
    assert "| **ours** | minilm | **held-out: 1 corpora** | 1 | -0.010 |" in table
    # Variants are also set against ours on the same seeds.
    assert "| ours[epochs=1] | minilm | nyt3 | 1 | +0.060 | +0.060 | 0.50 |" in table


def test_cpu_ratios_pair_only_runs_of_the_same_session(tmp_path):
    old = {"reused_from": "bench/results/quality.jsonl"}
    records = [
        _record("tweets3", "plain", 1, 0.70, 50), {**_record("tweets3", "ours", 1, 0.80, 150), **old},
        _record("tweets3", "plain", 0, 0.70, 50), _record("tweets3", "ours", 0, 0.80, 100),
        {**_record("tweets3", "course", 0, 0.78, 400), **old}, {**_record("tweets3", "ours", 2, 0.80, 150), **old},
        {**_record("tweets3", "course", 2, 0.78, 300), **old},
    ]  # fmt: skip
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    table = bench_quality.summarise(path)
    assert "| ours | minilm | tweets3 | 2 | +0.100 ± 0.000 | +0.100 ± 0.000 | 2.00 |" in table  # seed 0 only
    assert "| ours | minilm | tweets3 | 2 | +0.020 ± 0.000 | +0.020 ± 0.000 | 0.50 |" in table  # seed 2 only
