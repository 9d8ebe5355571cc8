"""Fixtures shared by the trainer_core test modules: a tiny model and one trained run per session.

Test modules load this plugin with ``pytest_plugins = ["core_fixtures"]`` (tests/conftest.py belongs to
the Hub double). Results are also cached at module level, so they are built once per session whatever
way the fixtures are reached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tiny import make_tiny_model, sentiment_rows, tiny_train_config, write_csv

_CACHE: dict[str, Any] = {}


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread. The tiny model's matrices are too small to split, and on a busy 2-core
    machine two OpenMP threads spin waiting for each other: one thread is 10x faster there."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Use with ``pytestmark = pytest.mark.usefixtures("single_thread")`` in modules that train."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A saved 2-layer BERT with 2 labels (LABEL_0, LABEL_1) and 128 positions. Do not write into it."""
    if "tiny_model" not in _CACHE:
        _CACHE["tiny_model"] = make_tiny_model(tmp_path_factory.mktemp("tiny-model"))
    return _CACHE["tiny_model"]


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    if "tiny_tokenizer" not in _CACHE:
        from transformers import AutoTokenizer

        _CACHE["tiny_tokenizer"] = AutoTokenizer.from_pretrained(tiny_model)
    return _CACHE["tiny_tokenizer"]


@dataclass
class Run:
    config: Any  # the TrainConfig given to train()
    result: Any  # the TrainResult
    events: list[dict[str, Any]]
    output_dir: Path
    data_dir: Path
    test_rows: list[dict[str, Any]]  # rows never seen in training, same distribution


@pytest.fixture(scope="session")
def sentiment_run(tiny_model, tmp_path_factory) -> Run:
    """One training run of the tiny model on string-labelled sentiment reviews (no validation split).

    Treat it as read-only: copy ``output_dir`` before writing to it.
    """
    if "sentiment_run" not in _CACHE:
        from trainer_core.training import train

        root = tmp_path_factory.mktemp("sentiment-run")
        data_dir = root / "data"
        data_dir.mkdir()
        dataset = write_csv(data_dir / "reviews.csv", sentiment_rows(200, seed=0, string_labels=True))
        test_rows = sentiment_rows(200, seed=99, string_labels=True)
        write_csv(data_dir / "test.csv", test_rows)
        config = tiny_train_config(tiny_model, dataset, root / "out")
        events: list[dict[str, Any]] = []
        with one_torch_thread():
            result = train(config, on_event=events.append)
        _CACHE["sentiment_run"] = Run(config, result, events, Path(result.output_dir), data_dir, test_rows)
    return _CACHE["sentiment_run"]


def _kind_run(key: str, tiny_model: Path, tmp_path_factory, rows: list[dict], test_rows: list[dict], name: str,
              **data: Any) -> Run:  # fmt: skip
    """One training run of another task kind (cached for the session); ``data`` sets DataConfig fields."""
    if key not in _CACHE:
        from tiny import write_jsonl

        from trainer_core.training import train

        root = tmp_path_factory.mktemp(key)
        data_dir = root / "data"
        data_dir.mkdir()
        dataset = write_jsonl(data_dir / name, rows)
        write_jsonl(data_dir / ("test-" + name), test_rows)
        config = tiny_train_config(tiny_model, dataset, root / "out", epochs=8.0)
        for field_name, value in data.items():
            setattr(config.data, field_name, value)
        events: list[dict[str, Any]] = []
        with one_torch_thread():
            result = train(config, on_event=events.append)
        _CACHE[key] = Run(config, result, events, Path(result.output_dir), data_dir, test_rows)
    return _CACHE[key]


@pytest.fixture(scope="session")
def rating_run(tiny_model, tmp_path_factory) -> Run:
    """A regression of the tiny model on fractional review ratings (tiny.rating_rows), column ``rating``."""
    from tiny import rating_rows

    return _kind_run("rating_run", tiny_model, tmp_path_factory, rating_rows(200), rating_rows(60, seed=99),
                     "ratings.jsonl", task_type="regression")  # fmt: skip


@pytest.fixture(scope="session")
def topics_run(tiny_model, tmp_path_factory) -> Run:
    """A multi-label run of the tiny model on lists of topics (tiny.topic_rows), detected from the list column."""
    from tiny import topic_rows

    return _kind_run("topics_run", tiny_model, tmp_path_factory, topic_rows(200), topic_rows(60, seed=99),
                     "topics.jsonl")  # fmt: skip
