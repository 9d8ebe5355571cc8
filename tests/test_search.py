"""``--search N``: optuna trials through ``Trainer.hyperparameter_search`` on a tiny model, end to end."""

from __future__ import annotations

import threading

import pytest
import yaml
from tiny import sentiment_rows, tiny_train_config, write_csv

from trainer_core.cli import build_parser, config_from_args
from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE
from trainer_core.training import train

pytest_plugins = ["core_fixtures"]  # tiny_model, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def reviews(tmp_path):
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(60, seed=4, string_labels=True))


def test_the_search_runs_its_trials_and_trains_the_best(tiny_model, reviews, tmp_path):
    config = tiny_train_config(tiny_model, reviews, tmp_path / "run", max_steps=3, search_trials=3)
    events = []
    result = train(config, on_event=events.append)

    trials = [e for e in events if e["type"] == "search_trial"]
    assert [e["trial"] for e in trials] == [0, 1, 2]
    assert all(set(e["params"]) == {"learning_rate", "num_train_epochs", "per_device_train_batch_size"} for e in trials)
    done = next(e for e in events if e["type"] == "search_done")
    assert [t["state"] for t in done["trials"]] == ["complete"] * 3
    best = max(done["trials"], key=lambda t: t["objective"])
    assert done["best"] == best["params"]
    kinds = [e["type"] for e in events]
    assert kinds.index("search_done") < kinds.index("train_begin")  # the real run comes after the search

    saved = yaml.safe_load((tmp_path / "run" / CONFIG_FILE).read_text(encoding="utf-8"))
    assert saved["training"]["learning_rate"] == pytest.approx(best["params"]["learning_rate"])
    assert saved["training"]["batch_size"] == best["params"]["per_device_train_batch_size"]
    assert saved["chosen"]["training.learning_rate"].startswith("search: best of 3 trial(s) by f1")
    assert result.global_step == 3
    assert not (tmp_path / "run" / "search").exists()  # trials leave no checkpoints behind

    card = (tmp_path / "run" / "README.md").read_text(encoding="utf-8")
    assert "## Hyperparameter search" in card
    assert "3 trial(s)" in card
    for trial in done["trials"]:
        assert f"| {trial['number']} | learning_rate=" in card


def test_a_stop_during_the_search_ends_it(tiny_model, reviews, tmp_path):
    stop = threading.Event()
    config = tiny_train_config(tiny_model, reviews, tmp_path / "run", max_steps=3, search_trials=5)
    events = []

    def on_event(event):
        events.append(event)
        if event["type"] == "search_trial":
            stop.set()

    train(config, on_event=on_event, stop=stop)
    done = next(e for e in events if e["type"] == "search_done")
    assert done["stopped"] is True
    assert len([e for e in events if e["type"] == "search_trial"]) == 1


def test_the_cli_flag_sets_the_trials():
    args = build_parser().parse_args(["train", "--dataset", "x.csv", "--search", "4", "--search-time-budget", "60"])
    config = config_from_args(args)
    assert (config.training.search_trials, config.training.search_time_budget) == (4, 60.0)
