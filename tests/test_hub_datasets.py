"""Every preset's Hub dataset, as a tiny synthetic copy on the hub double, loads, previews, trains and evaluates.

The copies (tests/hub_datasets.py) keep each real repo's layout: configs in the card, parquet shards,
GLUE's unlabelled test split, IMDB's unsupervised split, NSMC's data only on ``refs/convert/parquet``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hub_datasets import PUBLISHERS
from tiny import make_tiny_model

from trainer_core import data as data_lib
from trainer_core.cli import main
from trainer_core.config import DataConfig
from trainer_core.tasks import get_preset, resolve_data

PRESETS = list(PUBLISHERS)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("models")
    return {n: make_tiny_model(root / f"tiny-{n}", num_labels=n) for n in (2, 5)}


@pytest.mark.parametrize("task", PRESETS)
def test_load_raw_reads_the_preset_from_the_hub(hub, task):
    preset = get_preset(task)
    PUBLISHERS[task](hub)

    raw = data_lib.load_raw(resolve_data(DataConfig(), preset))

    assert preset.train_split in raw and preset.eval_split in raw
    columns = [preset.text_column, preset.label_column] + ([preset.text_pair_column] if preset.is_pair else [])
    assert set(columns) <= set(raw[preset.train_split].column_names)
    assert len(raw[preset.train_split].features[preset.label_column].names) == len(preset.label_names)


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _dataset_flags(task: str) -> list[str]:
    preset = get_preset(task)
    flags = ["--dataset", preset.dataset]
    if preset.dataset_config:
        flags += ["--dataset-config", preset.dataset_config]
    if preset.dataset_revision:
        flags += ["--dataset-revision", preset.dataset_revision]
    return flags


@pytest.mark.parametrize(
    "task", [task if task == "sst2" else pytest.param(task, marks=pytest.mark.slow) for task in PRESETS]
)
def test_preset_trains_and_evaluates_end_to_end(hub, tiny_models, tmp_path, capsys, task):
    preset = get_preset(task)
    PUBLISHERS[task](hub)
    model = tiny_models[len(preset.label_names)]
    out = tmp_path / "run"

    code = main(["train", "--task", task, "--model", str(model), "--output-dir", str(out), "--max-steps", "6",
                 "--batch-size", "8", "--learning-rate", "5e-3", "--max-length", "32", "--json"])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    trained = _last_json(capsys.readouterr().out)
    assert trained["global_step"] == 6
    assert 0.0 <= trained["metrics"]["accuracy"] <= 1.0
    saved = (out / "trainer_studio.yaml").read_text()
    assert preset.dataset in saved and (preset.dataset_revision or "") in saved
    labels = json.loads((out / "config.json").read_text())["id2label"]
    raw = data_lib.load_raw(resolve_data(DataConfig(), preset))
    assert list(labels.values()) == raw[preset.train_split].features[preset.label_column].names

    code = main(["evaluate", "--model", str(out), *_dataset_flags(task), "--split", preset.eval_split, "--json"])

    assert code == 0, capsys.readouterr().err
    report = _last_json(capsys.readouterr().out)
    assert report["rows"] == len(raw[preset.eval_split]) > 0
    assert report["label_names"] == list(labels.values())
    assert sum(map(sum, report["confusion_matrix"])) == report["rows"]


@pytest.mark.parametrize("task", ["sst2", "nsmc"])
def test_preview_of_a_hub_dataset(hub, capsys, task):
    preset = get_preset(task)
    PUBLISHERS[task](hub)

    assert main(["preview", *_dataset_flags(task), "--task", task, "--rows", "3", "--json"]) == 0

    shown = _last_json(capsys.readouterr().out)
    assert {"train", preset.eval_split} <= set(shown["splits"])
    # GLUE's card states its split sizes; NSMC's parquet branch has no card, so its sizes are unknown up front.
    assert shown["splits"]["train"] == (48 if task == "sst2" else None)
    assert shown["columns"]["text"] == preset.text_column and shown["columns"]["label"] == preset.label_column
    assert len(shown["rows"]) == 3
    assert not shown["problems"], shown["problems"]
