"""trainer_core.ui.form: the training form described once and read from the config dataclasses."""

from __future__ import annotations

import dataclasses

import pytest

from trainer_core.config import DataConfig, TrainConfig, TrainingConfig
from trainer_core.ui import form


def test_every_training_option_has_a_widget_or_a_reason_not_to():
    in_form = {(f.section, f.name) for f in form.TRAIN_FORM}
    for spec in dataclasses.fields(TrainingConfig):
        assert ("training", spec.name) in in_form or ("training", spec.name) in form.NOT_IN_FORM, spec.name
    assert not in_form & set(form.NOT_IN_FORM)
    assert len({f.key for f in form.TRAIN_FORM}) == len(form.TRAIN_FORM)


def test_an_undeclared_option_gets_a_label_from_its_name_under_more_options():
    declared = {(f.section, f.name) for f in form._DECLARED}
    extra = [f for f in form.TRAIN_FORM if (f.section, f.name) not in declared]
    for field in extra:
        assert field.group == form.MORE
        assert field.label == field.name.replace("_", " ").capitalize()


def test_kind_default_limits_and_help_come_from_the_dataclass():
    batch = form.FORM_BY_KEY["batch_size"]
    spec = next(s for s in dataclasses.fields(TrainingConfig) if s.name == "batch_size")
    assert batch.kind == "int" and batch.optional
    assert batch.default == spec.default
    assert batch.help == spec.metadata["help"]
    assert batch.minimum == 1
    assert "At least 1." in batch.info() and "Empty: the default." in batch.info()
    assert form.FORM_BY_KEY["group_by_length"].kind == "bool"
    assert form.FORM_BY_KEY["report_to"].kind == "list"


@pytest.mark.parametrize(
    ("key", "raw", "words"),
    [
        ("batch_size", "0", "must be at least 1, got 0"),
        ("batch_size", "2.5", "must be a whole number"),
        ("learning_rate", "fast", "must be a number, got 'fast'"),
        ("learning_rate", "inf", "must be a finite number"),
        ("seed", "", "is empty: give a number"),
        ("report_to", "wandb", "'wandb' is not one of trackio"),
    ],
)
def test_a_bad_value_is_refused_with_its_label_and_what_was_given(key, raw, words):
    field = form.FORM_BY_KEY[key]
    with pytest.raises(form.FormError) as caught:
        form.parse_form({key: raw})
    assert caught.value.fields == [field.label]
    assert str(caught.value).startswith(field.label)
    assert words in str(caught.value)


def test_every_field_at_fault_is_named_in_form_order():
    with pytest.raises(form.FormError) as caught:
        form.parse_form({"seed": "x", "epochs": "-1", "batch_size": "0"})
    order = [f.label for f in form.TRAIN_FORM]
    assert caught.value.fields == sorted(caught.value.fields, key=order.index)
    assert len(caught.value.fields) == 3


def test_an_empty_optional_number_means_the_default_and_a_missing_key_keeps_it():
    sections = form.parse_form({"batch_size": "", "epochs": "2"})
    assert sections["training"] == {"batch_size": None, "epochs": 2.0}
    config = form.build_config({"epochs": "2"}, DataConfig(dataset="reviews.csv"))
    assert config.training.epochs == 2
    assert config.training.seed == TrainConfig().training.seed


def test_a_config_put_back_in_the_form_builds_the_same_config(tmp_path):
    data = DataConfig(dataset=str(tmp_path / "reviews.csv"), text_column="review")
    values = {**form.form_defaults(), "epochs": 4, "batch_size": 8, "learning_rate": 3e-5, "repo_id": "me/model"}
    config = form.build_config(values, data)
    assert config.data.text_column == "review"
    again = form.build_config(form.form_values(config), data)
    assert again.to_dict() == config.to_dict()


# -- the dataset form


def test_the_dataset_form_names_each_column_once_and_fills_real_config_fields():
    from trainer_core.config import COLUMN_FIELDS

    config_fields = {spec.name for spec in dataclasses.fields(DataConfig)}
    assert len(set(form.DATA_KEYS)) == len(form.DATA_FORM)
    assert all(f.config in config_fields for f in form.DATA_FORM if f.config)
    assert form.COLUMN_KEYS == COLUMN_FIELDS
    assert [f.key for f in form.DATA_FORM if f.optional] == ["text_pair_column"]
    assert all(f.help for f in form.DATA_FORM if f.config)  # the widget's info is the config's help
    assert (
        "dataset", "dataset_config", "split", *COLUMN_FIELDS, "task", "task_type", "label_separator",
    ) == form.API_DATA_KEYS  # fmt: skip


def test_data_parameters_follow_the_declaration_with_per_endpoint_defaults():
    params = {p.name: p for p in form.data_parameters()}
    assert list(params) == list(form.API_DATA_KEYS)
    assert params["dataset"].default == "example:sentiment" and params["dataset"].annotation is str
    assert params["text_pair_column"].default is None and params["text_pair_column"].annotation == str | None
    split = form.data_parameters(("split",), split=None)[0]
    assert split.default is None and split.annotation == str | None


def test_every_public_endpoint_takes_the_declared_dataset_parameters():
    import inspect

    from trainer_core.ui import dataset_tab, evaluate_tab, train_tab
    from trainer_core.ui.common import bind

    train = [p.name for p in train_tab._api_parameters()]
    preview = list(inspect.signature(bind(None, dataset_tab.preview_api)).parameters)
    evaluate = list(inspect.signature(bind(None, evaluate_tab.evaluate_api)).parameters)
    assert train[: len(form.API_DATA_KEYS)] == list(form.API_DATA_KEYS)
    assert set(form.API_DATA_KEYS) <= set(preview)
    assert {"dataset", "dataset_config", "split", *form.COLUMN_KEYS} <= set(evaluate)
