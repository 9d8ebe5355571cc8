"""TrainConfig: checks in __post_init__, YAML round trip, unknown sections and options."""

from __future__ import annotations

import math
import re
from typing import Literal

import pytest
import yaml

from trainer_core.config import DataConfig, HubConfig, ModelConfig, TrainConfig, TrainingConfig, field_help
from trainer_core.errors import InputError


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"learning_rate": 0.0}, "learning_rate must be > 0, got 0.0"),
        ({"learning_rate": -1e-5}, "learning_rate must be > 0"),
        ({"learning_rate": math.nan}, "training.learning_rate must be a finite number, got nan"),
        ({"learning_rate": math.inf}, "training.learning_rate must be a finite number, got inf"),
        ({"epochs": math.inf}, "training.epochs must be a finite number, got inf"),
        ({"seed": -5}, "seed must be between 0 and 2**32 - 1"),
        ({"seed": 2**32}, "seed must be between 0 and 2**32 - 1"),
        ({"epochs": "three"}, "training.epochs must be a number or empty, got 'three' (text)"),
        ({"batch_size": 2.5}, "training.batch_size must be a whole number or empty, got 2.5"),
        ({"batch_size": True}, "training.batch_size must be a whole number or empty, got True"),
        ({"eval_steps": "often"}, "training.eval_steps must be a whole number or empty, got 'often'"),
        ({"group_by_length": "maybe"}, "training.group_by_length must be true or false"),
        ({"report_to": ["wandb", 0.5]}, "training.report_to must be a list of text, got ['wandb', 0.5]"),
        ({"report_to": ["wandbb"]}, "unknown tracker(s) wandbb; known: azure_ml"),
        ({"learning_rate": 0.5}, "far too high"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"eval_batch_size": 0}, "eval_batch_size must be at least 1"),
        ({"epochs": -1.0}, "epochs must be > 0 (or give max_steps), got -1.0"),
        ({"epochs": 0.0}, "epochs must be > 0"),
        ({"max_steps": 0}, "max_steps must be a positive number of steps"),
        ({"max_steps": -5}, "max_steps must be a positive number of steps"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps must be at least 1"),
        ({"warmup_ratio": 1.0}, "warmup_ratio must be in [0, 1)"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ({"mixed_precision": "fp8"}, "mixed_precision must be one of auto, no, fp16, bf16"),
        ({"logging_steps": 0}, "logging_steps must be at least 1"),
        ({"eval_steps": 0}, "eval_steps must be at least 1"),
        ({"save_total_limit": 0}, "save_total_limit must be at least 1"),
        ({"early_stopping_patience": -1}, "early_stopping_patience must be at least 1 evaluation"),
    ],
)
def test_training_options_are_rejected_with_a_message(options, expected):
    with pytest.raises(InputError) as caught:
        TrainingConfig(**options)
    message = str(caught.value)
    assert message.startswith("Invalid training options: ")
    assert expected in message


def test_every_bad_training_option_is_reported_at_once():
    with pytest.raises(InputError) as caught:
        TrainingConfig(learning_rate=-1.0, batch_size=0, epochs=-2.0)
    message = str(caught.value)
    for part in ("learning_rate", "batch_size", "epochs"):
        assert part in message


def test_epochs_may_be_zero_when_max_steps_is_given():
    config = TrainingConfig(epochs=0.0, max_steps=10)
    assert config.max_steps == 10


def test_absurd_step_and_epoch_counts_are_refused_with_the_range():
    """max_steps 10**18 trained for ever off a Space ("about 248648514248867 h left"): refused up front."""
    with pytest.raises(InputError, match=r"max_steps must be at most 10,000,000 optimizer steps .*, got 10\*\*18"):
        TrainingConfig(max_steps=10**18)
    with pytest.raises(InputError, match=r"epochs must be at most 1,000, got 100000"):
        TrainingConfig(epochs=1e5)
    assert TrainingConfig(max_steps=10_000_000, epochs=1000.0).max_steps == 10_000_000


def test_report_to_given_as_a_string_becomes_a_list():
    assert TrainingConfig(report_to="trackio, tensorboard").report_to == ["trackio", "tensorboard"]
    assert TrainingConfig(report_to="none").report_to == []
    assert TrainingConfig(report_to=["none"]).report_to == []


@pytest.mark.parametrize("max_length", [0, 7, -128])
def test_max_length_below_eight_is_rejected(max_length):
    with pytest.raises(InputError, match=f"max_length must be at least 8 tokens, got {max_length}"):
        DataConfig(dataset="data.csv", max_length=max_length)


@pytest.mark.parametrize("size", [0.0, 0.9, 1.5, -0.1])
def test_validation_size_out_of_range_is_rejected(size):
    with pytest.raises(InputError, match=r"validation_size must be between 0 and 0\.9"):
        DataConfig(validation_size=size)


@pytest.mark.parametrize("name", ["max_train_samples", "max_eval_samples"])
def test_sample_limits_must_be_positive(name):
    with pytest.raises(InputError, match=f"{name} must be a positive number of rows, got 0"):
        DataConfig(**{name: 0})


@pytest.mark.parametrize(
    "repo_id",
    [
        "bad repo",
        "user/name/extra",
        "user//name",
        "a--b",
        "a..b",
        "-leading",
        "user/" + "x" * 97,
        "émile/model",
        "alice/modèle",
    ],
)
def test_bad_repo_ids_are_rejected(repo_id):
    with pytest.raises(InputError) as caught:
        HubConfig(repo_id=repo_id)
    assert f"'{repo_id}' is not a valid Hub repo id" in str(caught.value)
    assert "user/name" in str(caught.value)


@pytest.mark.parametrize("repo_id", ["my-model", "alice/sst2-distilbert", "org_1/model.v2", "a" * 96])
def test_good_repo_ids_are_accepted(repo_id):
    assert HubConfig(repo_id=repo_id).repo_id == repo_id


def test_blank_repo_id_means_no_push():
    assert HubConfig(repo_id="  ").repo_id is None


def test_unknown_hub_strategy_is_rejected():
    with pytest.raises(InputError, match="hub strategy must be one of end, every_save, checkpoint, all_checkpoints"):
        HubConfig(strategy="sometimes")


def full_config() -> TrainConfig:
    return TrainConfig(
        task="mrpc",
        data=DataConfig(
            dataset="nyu-mll/glue",
            dataset_config="mrpc",
            text_column="sentence1",
            text_pair_column="sentence2",
            label_column="label",
            validation_size=0.2,
            max_train_samples=500,
            max_length=96,
        ),
        model=ModelConfig(model="bert-base-uncased", revision="main"),
        training=TrainingConfig(
            output_dir="outputs/mrpc",
            epochs=2.5,
            batch_size=8,
            learning_rate=2e-5,
            seed=7,
            mixed_precision="no",
            group_by_length=False,
            eval_steps=50,
            early_stopping_patience=3,
            report_to=["trackio"],
        ),
        hub=HubConfig(repo_id="alice/mrpc-bert", private=True, strategy="end"),
    )


def test_yaml_round_trip_is_equal(tmp_path):
    config = full_config()
    path = tmp_path / "run.yaml"
    config.save(path)
    loaded = TrainConfig.from_yaml(path)
    assert loaded == config
    assert isinstance(loaded.training.epochs, float)
    assert loaded.to_yaml() == config.to_yaml()


def test_default_config_round_trips(tmp_path):
    path = tmp_path / "defaults.yaml"
    TrainConfig().save(path)
    assert TrainConfig.from_yaml(path) == TrainConfig()


def test_yaml_is_readable_with_sections():
    raw = yaml.safe_load(full_config().to_yaml())
    assert list(raw) == ["task", "data", "model", "training", "hub", "chosen"]
    assert raw["training"]["learning_rate"] == 2e-5


def test_partial_yaml_fills_defaults(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("task: sst2\ntraining:\n  epochs: 1\n", encoding="utf-8")
    config = TrainConfig.from_yaml(path)
    assert config.task == "sst2"
    assert config.training.epochs == 1
    assert config.training.batch_size == TrainingConfig().batch_size
    assert config.data == DataConfig()


def test_unknown_section_names_the_valid_ones():
    with pytest.raises(InputError) as caught:
        TrainConfig.from_dict({"trainer": {"epochs": 1}})
    message = str(caught.value)
    assert "Unknown config section(s): trainer" in message
    assert "Valid sections: task, data, model, training, hub" in message


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(InputError) as caught:
        TrainConfig.from_dict({"training": {"epochs": 1, "lr": 1e-5}})
    message = str(caught.value)
    assert "Unknown option(s) in section 'training': lr" in message
    assert "learning_rate" in message and "batch_size" in message


def test_a_section_that_is_not_a_mapping_is_rejected():
    with pytest.raises(InputError, match="Config section 'data' must be a mapping, got list"):
        TrainConfig.from_dict({"data": ["a.csv"]})


def test_a_bad_value_in_yaml_fails_with_the_field_check(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  learning_rate: -0.001\n", encoding="utf-8")
    with pytest.raises(InputError, match="learning_rate must be > 0"):
        TrainConfig.from_yaml(path)


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("training: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="is not valid YAML"):
        TrainConfig.from_yaml(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(InputError, match="must be a mapping"):
        TrainConfig.from_yaml(scalar)


def test_field_help_is_available_for_flags():
    assert "learning rate" in field_help(TrainingConfig, "learning_rate").lower()
    with pytest.raises(KeyError):
        field_help(TrainingConfig, "nope")


def test_a_yaml_string_where_a_number_is_expected_names_the_field(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text('training:\n  epochs: "three"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        TrainConfig.from_yaml(path)
    assert "training.epochs must be a number or empty, got 'three' (text)" in str(caught.value)
    assert "not supported between" not in str(caught.value)


def test_yaml_numbers_that_pyyaml_reads_as_text_are_converted(tmp_path):
    # YAML 1.1 has no float without a dot: `3e-5` arrives as the string '3e-5'.
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  learning_rate: 3e-5\n  batch_size: '16'\n  epochs: 2\n", encoding="utf-8")
    config = TrainConfig.from_yaml(path)
    assert config.training.learning_rate == 3e-5
    assert config.training.batch_size == 16
    assert isinstance(config.training.epochs, float)


@pytest.mark.parametrize(
    ("section", "options", "expected"),
    [
        (DataConfig, {"max_length": "long"}, "Invalid data options: data.max_length must be a whole number or empty"),
        (DataConfig, {"validation_size": "a tenth"}, "data.validation_size must be a number"),
        (DataConfig, {"dataset": 0.5}, "data.dataset must be text, got 0.5 (float)"),
        (ModelConfig, {"model": ["bert"]}, "model.model must be text"),
        (HubConfig, {"private": "sometimes"}, "hub.private must be true or false"),
    ],
)
def test_every_section_checks_its_field_types(section, options, expected):
    with pytest.raises(InputError, match=re.escape(expected)):
        section(**options)


def test_the_type_check_covers_new_fields_from_their_annotations():
    from dataclasses import dataclass

    from trainer_core.config import field_problems

    @dataclass
    class Extra:
        patience: int | None = None
        ratio: float = 0.5
        names: list[str] | None = None
        precision: Literal["auto", "no"] = "auto"

    value = Extra(patience="2", ratio="x", names=["a", 0.5], precision="fp8")
    problems = field_problems(value, "extra")
    assert value.patience == 2
    assert problems == [
        "extra.ratio must be a number, got 'x' (text)",
        "extra.names must be a list of text or empty, got ['a', 0.5] (list)",
        "extra.precision must be one of auto, no, got 'fp8' (text)",
    ]


def test_a_config_name_that_yaml_reads_as_a_number_stays_text():
    assert DataConfig(dataset="d", dataset_config=2019).dataset_config == "2019"


def test_whole_numbers_sent_as_floats_become_ints():
    config = TrainingConfig(batch_size=16.0, seed=7.0, max_steps=-1.0)
    assert (config.batch_size, config.seed, config.max_steps) == (16, 7, -1)
    assert all(type(v) is int for v in (config.batch_size, config.seed, config.max_steps))


def test_a_tracker_that_is_not_installed_is_named_with_the_fix(monkeypatch):
    import importlib.util

    from trainer_core.config import check_trackers_installed

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(InputError, match=r"report_to names wandb, which is not installed.*pip install wandb"):
        check_trackers_installed(["trackio", "wandb"])
    check_trackers_installed(["trackio"])


def test_use_cpu_refuses_a_gpu_only_precision():
    assert TrainingConfig(use_cpu=True).mixed_precision == "auto"
    with pytest.raises(InputError, match="mixed_precision fp16 needs a GPU and use_cpu is on"):
        TrainingConfig(use_cpu=True, mixed_precision="fp16")
