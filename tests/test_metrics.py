"""The bundled classification metric: known answers, offline loading, Trainer glue."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from transformers import EvalPrediction

from trainer_core.metrics import (
    METRIC_PATH,
    build_compute_metrics,
    load_classification_metric,
    primary_metric,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
KEYS = {"accuracy", "f1", "precision", "recall", "matthews_correlation"}


@pytest.fixture(scope="module")
def metric():
    return load_classification_metric()


def test_metric_script_is_named_like_its_folder():
    assert METRIC_PATH.is_file()
    assert METRIC_PATH.stem == METRIC_PATH.parent.name == "classification"


def test_load_is_cached(metric):
    assert load_classification_metric() is metric
    assert metric.name == "classification"
    assert set(metric.features) == {"predictions", "references"}


def test_binary_known_answer(metric):
    # TP=2 (items 0 and 3), TN=1 (item 1), FP=1 (item 2), FN=0.
    result = metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], num_labels=2)
    assert set(result) == KEYS
    assert all(type(value) is float for value in result.values())
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(1.0)
    assert result["f1"] == pytest.approx(0.8)
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 2 / sqrt(3*2*2*1)
    assert result["matthews_correlation"] == pytest.approx(2 / math.sqrt(12))


def test_binary_pos_label(metric):
    # Class 0 as the positive class: predicted once (correct), present twice.
    result = metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], num_labels=2, pos_label=0)
    assert result["precision"] == pytest.approx(1.0)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(2 / 3)


def test_binary_inferred_from_data(metric):
    with_labels = metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], labels=[0, 1])
    inferred = metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1])
    assert inferred == with_labels


def test_multiclass_macro_known_answer(metric):
    predictions = [0, 1, 2, 2, 1, 0]
    references = [0, 1, 2, 1, 1, 2]
    # Per class (precision, recall, f1): 0 -> (1/2, 1, 2/3); 1 -> (1, 2/3, 4/5); 2 -> (1/2, 1/2, 1/2).
    result = metric.compute(predictions=predictions, references=references, num_labels=3)
    assert set(result) == KEYS
    assert all(type(value) is float for value in result.values())
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["precision"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert result["recall"] == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    assert result["f1"] == pytest.approx((2 / 3 + 4 / 5 + 1 / 2) / 3)
    # Multi-class MCC from the confusion matrix: row sums t=[1,3,2], column sums p=[2,2,2], 4 correct of 6.
    assert result["matthews_correlation"] == pytest.approx((4 * 6 - 12) / math.sqrt((36 - 12) * (36 - 14)))


def test_multiclass_counts_a_class_missing_from_the_data(metric):
    predictions = [0, 1, 2, 2, 1, 0]
    references = [0, 1, 2, 1, 1, 2]
    result = metric.compute(predictions=predictions, references=references, labels=[0, 1, 2, 3])
    assert result["precision"] == pytest.approx((1 / 2 + 1 + 1 / 2 + 0) / 4)
    assert result["f1"] == pytest.approx((2 / 3 + 4 / 5 + 1 / 2 + 0) / 4)
    assert result["accuracy"] == pytest.approx(4 / 6)


def test_degenerate_inputs_give_zeros_without_warnings(metric):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        never_positive = metric.compute(predictions=[0, 0, 0], references=[0, 1, 0], num_labels=2)
        one_class = metric.compute(predictions=[1, 1], references=[1, 1], num_labels=2)
    assert never_positive["f1"] == 0.0
    assert never_positive["precision"] == 0.0
    assert never_positive["accuracy"] == pytest.approx(2 / 3)
    assert one_class["accuracy"] == 1.0
    assert one_class["matthews_correlation"] == 0.0


def test_bad_average_is_refused(metric):
    with pytest.raises(ValueError, match="average"):
        metric.compute(predictions=[0, 1], references=[0, 1], average="samples")


def test_primary_metric():
    assert primary_metric(2) == "f1"
    assert primary_metric(3) == "accuracy"
    assert primary_metric(20) == "accuracy"


def test_compute_metrics_takes_logits_tuple():
    compute_metrics = build_compute_metrics(2)
    logits = np.array([[0.1, 0.9], [2.0, -1.0], [0.0, 3.0], [-1.0, 1.0]], dtype=np.float32)
    hidden = np.zeros((4, 3, 5), dtype=np.float32)
    labels = np.array([1, 0, 0, 1])
    from_tuple = compute_metrics(EvalPrediction(predictions=(logits, hidden), label_ids=labels))
    from_array = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert from_tuple == from_array
    assert from_tuple["accuracy"] == pytest.approx(0.75)
    assert from_tuple["f1"] == pytest.approx(0.8)
    assert all(type(value) is float for value in from_tuple.values())


def test_compute_metrics_multiclass_uses_all_labels():
    compute_metrics = build_compute_metrics(4)
    predictions = [0, 1, 2, 2, 1, 0]
    logits = np.eye(4, dtype=np.float32)[predictions]
    labels = np.array([0, 1, 2, 1, 1, 2])
    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert result["precision"] == pytest.approx(0.5)  # class 3 counts, with 0
    assert result["accuracy"] == pytest.approx(4 / 6)


def test_compute_metrics_needs_two_labels():
    with pytest.raises(ValueError, match="at least 2 labels"):
        build_compute_metrics(1)


def test_loads_without_network(monkeypatch):
    """A local evaluate script is read from disk: no socket is opened, whatever HF_HUB_OFFLINE says."""

    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    fresh = load_classification_metric.__wrapped__()  # bypass the functools.cache
    result = fresh.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], num_labels=2)
    assert result["f1"] == pytest.approx(0.8)


_OFFLINE_SCRIPT = """
import json, socket

def _no_network(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = _no_network
socket.socket.connect_ex = _no_network
socket.create_connection = _no_network
socket.getaddrinfo = _no_network

from trainer_core.metrics import load_classification_metric

metric = load_classification_metric()
print(json.dumps(metric.compute(predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], num_labels=2)))
"""


@pytest.mark.slow  # a fresh interpreter imports evaluate (and transformers): about 10 s
def test_loads_offline_in_fresh_interpreter(tmp_path):
    """HF_HUB_OFFLINE is read when huggingface_hub is imported, so this runs in a fresh interpreter."""
    before = sorted(p.name for p in METRIC_PATH.parent.iterdir())
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_METRICS_CACHE": str(tmp_path / "metrics"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("HF_EVALUATE_OFFLINE", None)
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["f1"] == pytest.approx(0.8)
    # evaluate imports a copy from its modules cache and leaves the package folder alone.
    assert list((tmp_path / "modules").rglob("classification.py"))
    assert sorted(p.name for p in METRIC_PATH.parent.iterdir()) == before
