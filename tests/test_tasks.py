"""Task presets and how they fill a config."""

from __future__ import annotations

import pytest

from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.errors import InputError
from trainer_core.tasks import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_MODEL,
    PRESETS,
    TASK_NAMES,
    get_preset,
    resolve_config,
    resolve_data,
)


def test_every_preset_is_listed_with_custom():
    assert set(TASK_NAMES) == {*PRESETS, "custom"}
    assert {"sst2", "mrpc", "imdb", "nsmc", "yelp_review_full"} <= set(PRESETS)


@pytest.mark.parametrize("name", ["custom", "", None])
def test_custom_has_no_preset(name):
    assert get_preset(name) is None


@pytest.mark.parametrize(
    ("name", "key"), [("SST2", "sst2"), ("yelp", "yelp_review_full"), ("yelp-review-full", "yelp_review_full")]
)
def test_preset_names_are_forgiving(name, key):
    assert get_preset(name) is PRESETS[key]


def test_mrpc_is_a_pair_task_on_glue():
    mrpc = get_preset("mrpc")
    assert mrpc.is_pair
    assert (mrpc.dataset, mrpc.dataset_config) == ("nyu-mll/glue", "mrpc")
    assert (mrpc.text_column, mrpc.text_pair_column, mrpc.label_column) == ("sentence1", "sentence2", "label")
    assert mrpc.label_names == ("not_equivalent", "equivalent")
    assert mrpc.metric_for_best_model == "f1"
    assert mrpc.reference["accuracy"] > 0.8


def test_sst2_is_a_single_text_task():
    sst2 = get_preset("sst2")
    assert not sst2.is_pair
    assert (sst2.dataset, sst2.dataset_config, sst2.text_column) == ("nyu-mll/glue", "sst2", "sentence")


def test_nsmc_uses_the_parquet_conversion():
    nsmc = get_preset("nsmc")
    assert nsmc.dataset == "e9t/nsmc"
    assert nsmc.dataset_revision == "refs/convert/parquet"
    assert nsmc.text_column == "document"
    assert nsmc.eval_split == "test"
    assert nsmc.language == "ko"


def test_yelp_is_five_class_and_picks_by_accuracy():
    yelp = get_preset("yelp_review_full")
    assert len(yelp.label_names) == 5
    assert yelp.metric_for_best_model == "accuracy"


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(InputError) as caught:
        get_preset("sst5")
    message = str(caught.value)
    assert "Unknown task preset 'sst5'" in message
    for name in TASK_NAMES:
        assert name in message


def test_preset_fills_everything_for_its_own_dataset():
    resolved = resolve_config(TrainConfig(task="mrpc"))
    assert resolved.task == "mrpc"
    data = resolved.data
    assert (data.dataset, data.dataset_config, data.eval_split) == ("nyu-mll/glue", "mrpc", "validation")
    assert (data.text_column, data.text_pair_column, data.label_column) == ("sentence1", "sentence2", "label")
    assert data.max_length == 128
    assert resolved.model.model == "bert-base-uncased"


def test_preset_fills_the_revision_for_its_own_dataset():
    resolved = resolve_config(TrainConfig(task="nsmc", data=DataConfig(dataset="e9t/nsmc")))
    assert resolved.data.dataset_revision == "refs/convert/parquet"
    assert resolved.data.text_column == "document"


def test_preset_leaves_columns_open_for_another_dataset():
    resolved = resolve_config(TrainConfig(task="mrpc", data=DataConfig(dataset="my_pairs.csv")))
    data = resolved.data
    assert data.dataset == "my_pairs.csv"
    assert data.dataset_config is None
    assert data.dataset_revision is None
    assert data.eval_split is None
    assert (data.text_column, data.text_pair_column, data.label_column) == (None, None, None)
    # The preset's model and length are still sensible defaults for the same kind of task.
    assert resolved.model.model == "bert-base-uncased"
    assert data.max_length == 128


def test_explicit_values_win_over_the_preset():
    config = TrainConfig(
        task="sst2",
        data=DataConfig(text_column="review", eval_split="test", max_length=32),
        model=ModelConfig(model="my/model"),
    )
    resolved = resolve_config(config)
    assert resolved.data.text_column == "review"
    assert resolved.data.eval_split == "test"
    assert resolved.data.max_length == 32
    assert resolved.model.model == "my/model"


def test_custom_gets_the_global_defaults():
    resolved = resolve_config(TrainConfig(data=DataConfig(dataset="x.csv")))
    assert resolved.task == "custom"
    assert resolved.model.model == DEFAULT_MODEL
    assert resolved.data.max_length == DEFAULT_MAX_LENGTH
    assert resolved.data.text_column is None


def test_preset_aliases_resolve_to_the_canonical_name():
    assert resolve_config(TrainConfig(task="yelp")).task == "yelp_review_full"


def test_resolve_config_does_not_change_its_input():
    config = TrainConfig(task="sst2", training=TrainingConfig(report_to=["trackio"]))
    before = config.to_dict()
    resolved = resolve_config(config)
    resolved.training.report_to.append("tensorboard")
    resolved.hub.private = True
    assert config.to_dict() == before


def test_resolve_data_without_preset_only_sets_the_length():
    data = DataConfig(dataset="x.csv")
    resolved = resolve_data(data, None)
    assert resolved.max_length == DEFAULT_MAX_LENGTH
    assert resolved.text_column is None


def test_preset_values_is_what_resolve_data_fills():
    from trainer_core.tasks import preset_values

    mrpc = get_preset("mrpc")
    filled = preset_values(mrpc)
    resolved = resolve_data(DataConfig(), mrpc)
    config_fields = {name: value for name, value in filled.items() if name not in ("model", "train_split")}
    assert {name: getattr(resolved, name) for name in config_fields} == config_fields
    assert filled["model"] == mrpc.model and filled["text_pair_column"] == "sentence2"
    # On another dataset only the dataset-independent values apply (max length), never its columns.
    other = resolve_data(DataConfig(dataset="owner/other"), mrpc)
    assert other.text_pair_column is None and other.dataset_config is None and other.max_length == mrpc.max_length
