"""Training events and metrics are declared once: writer, readers and the metric module agree."""

from __future__ import annotations

import pytest

from trainer_core import events
from trainer_core.metrics import (
    compute_classification_metrics,
    compute_multi_label_metrics,
    compute_regression_metrics,
)
from trainer_core.metrics import registry as metric_registry

pytest_plugins = ["core_fixtures"]  # tiny_model, sentiment_run


def test_every_event_of_a_real_run_is_a_declared_event(sentiment_run):
    kinds = {event["type"] for event in sentiment_run.events}
    assert {"prepared", "train_begin", "progress", "log", "eval", "checkpoint", "done"} <= kinds
    problems = [problem for event in sentiment_run.events for problem in events.check_event(event)]
    assert problems == []


def test_check_event_names_what_is_wrong():
    assert events.check_event({"type": "log", "step": 1}) == ["log: missing 'loss'"]
    assert events.check_event({"type": "log", "step": 1, "loss": 0.5, "lr": 1e-5}) == ["log: unexpected 'lr'"]
    assert events.check_event({"type": "nope"}) == ["unknown event type 'nope'"]
    assert set(events.EVENT_TYPES) >= {"prepared", "push", "done", "error", "limit", "stopped"}


def test_each_metric_module_computes_exactly_the_declared_metrics():
    """A metric computed but not declared (or declared but not computed) fails here, not silently; one module
    per task kind, each with its own metrics, in the declared order."""
    import numpy as np

    computed = {
        "single_label": compute_classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], 2),
        "regression": compute_regression_metrics([0.5, 1.0, 2.0], [0.0, 1.5, 2.5]),
        "multi_label": compute_multi_label_metrics(np.array([[1, 0], [0, 1]]), np.array([[1, 1], [0, 1]])),
    }
    assert set(computed) == set(metric_registry.BY_TASK)
    for task_type, metrics in computed.items():
        assert list(metrics) == list(metric_registry.names_for(task_type)), task_type
    declared = [name for task_type in computed for name in metric_registry.names_for(task_type)]
    assert sorted(declared) == sorted(metric_registry.SCORE_NAMES)  # every name once, none left over


def test_readers_take_names_and_titles_from_the_registry(monkeypatch):
    """A new metric is one edit in the registry: the run view's curves and the tables pick it up."""
    from trainer_core.ui import charts, plots

    extra = metric_registry.Metric("balanced_accuracy", "Balanced accuracy")
    monkeypatch.setattr(metric_registry, "METRICS", (*metric_registry.METRICS, extra))
    monkeypatch.setattr(metric_registry, "BY_NAME", {m.name: m for m in metric_registry.METRICS})
    monkeypatch.setattr(metric_registry, "SCORE_NAMES", tuple(metric_registry.BY_NAME))
    monkeypatch.setattr(plots, "SCORE_METRICS", metric_registry.SCORE_NAMES)
    view = plots.RunView()
    view.add([{"type": "eval", "step": 5, "metrics": {"balanced_accuracy": 0.7, "loss": 0.4}}])
    assert view.score_frame()["metric"].tolist() == ["Balanced accuracy"]
    assert metric_registry.scores({"balanced_accuracy": 0.7, "runtime": 3}) == {"balanced_accuracy": 0.7}
    assert charts.metrics_frame({"accuracy": 0.5})["metric"].tolist() == ["Accuracy"]
    assert metric_registry.higher_is_better("f1") and metric_registry.title("loss") == "loss"


@pytest.mark.parametrize("name", metric_registry.SCORE_NAMES)
def test_every_declared_metric_has_a_title_and_a_direction(name):
    metric = metric_registry.BY_NAME[name]
    assert metric.title and isinstance(metric.higher_is_better, bool)
