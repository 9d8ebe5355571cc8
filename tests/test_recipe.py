"""The adaptive defaults: what they choose for tiny, small and base encoders and small and large data,
that every choice is reported (event, saved config, model card), and that given values are kept."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from tiny import sentiment_rows, tiny_train_config, write_csv

from trainer_core import recipe
from trainer_core.config import TrainConfig, TrainingConfig
from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE
from trainer_core.training import prepare_run, train

pytest_plugins = ["core_fixtures"]  # tiny_model, single_thread

# config.json of real encoders, as far as the recipe reads them (no weights needed).
MINILM = {"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6, "intermediate_size": 1536,
          "vocab_size": 30522, "max_position_embeddings": 512}  # fmt: skip
BERT_BASE = {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12, "intermediate_size": 3072,
             "vocab_size": 30522, "max_position_embeddings": 512}  # fmt: skip
DISTILBERT = {"model_type": "distilbert", "dim": 768, "n_layers": 6, "hidden_dim": 3072, "vocab_size": 30522,
              "max_position_embeddings": 512}  # fmt: skip
BERT_LARGE = {"model_type": "bert", "hidden_size": 1024, "num_hidden_layers": 24, "intermediate_size": 4096,
              "vocab_size": 30522, "max_position_embeddings": 512}  # fmt: skip
TINY = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "intermediate_size": 64, "vocab_size": 50,
        "max_position_embeddings": 128}  # fmt: skip


def unset() -> TrainingConfig:
    return TrainingConfig()


@pytest.mark.parametrize(
    ("config", "kind", "millions"),
    [(TINY, "tiny", 0.024), (MINILM, "small", 22.7), (DISTILBERT, "base", 66.4), (BERT_BASE, "base", 109.5),
     (BERT_LARGE, "large", 335.1)],
)  # fmt: skip
def test_model_size_is_estimated_from_the_config_alone(config, kind, millions):
    """``millions``: the parameter counts of the real models (transformers' AutoModel from these configs)."""
    size = recipe.model_size(config)
    assert size.kind == kind
    assert size.parameters / 1e6 == pytest.approx(millions, rel=0.06)


def choices_for(model_config, train_rows, eval_rows, **given):
    chosen = recipe.training_choices(TrainingConfig(**given), model_config, train_rows, eval_rows)
    return {c.key: c.value for c in chosen}, {c.key: c.reason for c in chosen}


def test_a_small_encoder_on_small_data():
    values, reasons = choices_for(MINILM, train_rows=1900, eval_rows=100)
    assert values == {
        "training.learning_rate": 1e-4,
        "training.epochs": 3.0,
        "training.batch_size": 32,
        "training.warmup_ratio": 0.1,
        "training.model_selection": "last",
    }
    assert "small encoder: 22.7M parameters" in reasons["training.learning_rate"]
    assert "100 eval rows are too few" in reasons["training.model_selection"]


def test_a_base_encoder_on_large_data():
    values, reasons = choices_for(BERT_BASE, train_rows=100_000, eval_rows=2000)
    assert values == {
        "training.learning_rate": 5e-5,
        "training.epochs": 2.0,
        "training.batch_size": 32,
        # 2 epochs x 3,125 steps = 6,250 steps: warm up over 500 of them, not 625.
        "training.warmup_ratio": 0.08,
        "training.model_selection": "best",
    }
    assert "base encoder: 109.5M parameters, 12 layers of width 768" in reasons["training.learning_rate"]


def test_a_tiny_model_on_a_few_hundred_rows():
    values, _ = choices_for(TINY, train_rows=190, eval_rows=10)
    assert values == {
        "training.learning_rate": 1e-4,
        "training.epochs": 5.0,
        "training.batch_size": 16,
        "training.warmup_ratio": 0.1,
        "training.model_selection": "last",
    }


def test_a_base_encoder_on_a_few_hundred_rows_gets_halved_batches():
    """570 rows x 3 epochs are 54 steps in batches of 32: too few (bench/RESULTS.md), so batches of 16."""
    values, reasons = choices_for(BERT_BASE, train_rows=570, eval_rows=30)
    assert (values["training.epochs"], values["training.batch_size"]) == (3.0, 16)
    assert "only 54 optimizer steps in batches of 32: batches of 16 give 108" in reasons["training.batch_size"]
    # Enough rows for 150 steps keep the usual batch; so does a run whose steps are given.
    assert choices_for(BERT_BASE, train_rows=1600, eval_rows=80)[0]["training.batch_size"] == 32
    assert choices_for(BERT_BASE, train_rows=1560, eval_rows=80)[0]["training.batch_size"] == 16
    assert choices_for(BERT_BASE, train_rows=570, eval_rows=30, max_steps=40)[0]["training.batch_size"] == 32
    # A user's epochs count: one pass over 1,900 rows is 60 steps.
    assert choices_for(MINILM, train_rows=1900, eval_rows=100, epochs=1.0)[0]["training.batch_size"] == 16


def test_a_large_encoder_gets_a_lower_rate_and_early_stopping_forces_selection():
    values, reasons = choices_for(BERT_LARGE, train_rows=20_000, eval_rows=500, early_stopping_patience=2)
    assert values["training.learning_rate"] == 2e-5
    assert values["training.model_selection"] == "best"
    assert "early stopping" in reasons["training.model_selection"]


def test_given_values_are_never_chosen():
    given = {"learning_rate": 3e-5, "epochs": 1.0, "batch_size": 8, "warmup_ratio": 0.0, "model_selection": "best"}
    values, _ = choices_for(MINILM, 1900, 100, **given)
    assert values == {}


@pytest.mark.parametrize(
    ("rows", "share"), [(2000, 0.05), (9999, 0.05), (10_000, 0.1), (50_000, 0.04), (400_000, 0.005)]
)
def test_the_hold_out_is_small_for_small_data_and_capped_for_large(rows, share):
    assert recipe.validation_share(rows).value == share


def test_unset_options_are_none_in_a_fresh_config():
    t = TrainingConfig()
    assert (t.learning_rate, t.epochs, t.batch_size, t.warmup_ratio) == (None,) * 4
    assert t.model_selection == "auto"
    assert TrainConfig().data.validation_size is None


# ---------------------------------------------------------------------------------- in a real run


@pytest.fixture
def reviews(tmp_path):
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(60, seed=3, string_labels=True))


def auto_config(tiny_model, dataset, output_dir, **training):
    config = tiny_train_config(tiny_model, dataset, output_dir, validation_size=None, **training)
    # tiny_train_config fixes the recipe's options; unset the ones under test.
    for name in ("learning_rate", "epochs", "batch_size", "warmup_ratio"):
        if name not in training:
            setattr(config.training, name, None)
    if "model_selection" not in training:
        config.training.model_selection = "auto"
    return config


def test_prepare_run_fills_unset_options_and_keeps_given_ones(tiny_model, reviews, tmp_path):
    config = auto_config(tiny_model, reviews, tmp_path / "run", learning_rate=5e-3)
    run = prepare_run(config)
    t = run.config.training
    assert t.learning_rate == 5e-3  # given
    assert (t.epochs, t.batch_size, t.warmup_ratio, t.model_selection) == (5.0, 16, 0.1, "last")
    assert run.config.data.validation_size == 0.05
    assert len(run.data.train) == 57 and len(run.data.eval) == 3
    assert "training.learning_rate" not in run.config.chosen
    assert set(run.config.chosen) == {
        "data.validation_size", "training.epochs", "training.batch_size", "training.warmup_ratio",
        "training.model_selection",
    }  # fmt: skip
    assert config.training.epochs is None  # the caller's config is not changed


def test_a_given_eval_split_is_not_reported_as_a_hold_out(tiny_model, tmp_path):
    train_csv = write_csv(tmp_path / "train.csv", sentiment_rows(40, seed=1))
    write_csv(tmp_path / "validation.csv", sentiment_rows(20, seed=2))
    config = auto_config(tiny_model, train_csv, tmp_path / "run")
    config.data.dataset = str(tmp_path)
    run = prepare_run(config)
    assert run.data.eval_source == "validation"
    assert "data.validation_size" not in run.config.chosen


@pytest.mark.usefixtures("single_thread")
def test_choices_are_in_the_events_the_saved_config_and_the_card(tiny_model, reviews, tmp_path):
    config = auto_config(tiny_model, reviews, tmp_path / "run", learning_rate=5e-3, max_steps=4)
    events = []
    result = train(config, on_event=events.append)

    recipe_events = [e for e in events if e["type"] == "recipe"]
    assert len(recipe_events) == 1
    types = [e["type"] for e in events]
    assert types.index("recipe") < types.index("train_begin")
    shown = {c["option"]: c for c in recipe_events[0]["choices"]}
    assert shown["training.batch_size"]["value"] == 32  # the steps are given: no reason to halve the batch
    assert "57 training rows and 4 steps given" in shown["training.batch_size"]["reason"]
    assert "training.learning_rate" not in shown
    assert recipe_events[0]["model"].startswith("tiny encoder")
    from trainer_core.ui.plots import describe_event  # the app's run log shows the same lines

    log = describe_event(recipe_events[0])
    assert "defaults chosen for tiny encoder" in log
    assert f"training.batch_size = 32: {shown['training.batch_size']['reason']}" in log

    saved = yaml.safe_load((tmp_path / "run" / CONFIG_FILE).read_text(encoding="utf-8"))
    assert saved["training"]["batch_size"] == 32 and saved["training"]["learning_rate"] == 5e-3
    assert saved["training"]["model_selection"] == "last"
    assert saved["chosen"]["training.batch_size"] == shown["training.batch_size"]["reason"]
    # The saved file repeats the run: loading it chooses nothing new.
    again = prepare_run(TrainConfig.from_yaml(tmp_path / "run" / CONFIG_FILE))
    assert again.choices == [] and again.config.training == dataclasses.replace(
        config.training, epochs=None, batch_size=32, warmup_ratio=0.1, model_selection="last"
    )  # epochs stays unset: max_steps bounds the run

    card = (tmp_path / "run" / "README.md").read_text(encoding="utf-8")
    assert "## How the settings were chosen" in card
    assert shown["training.model_selection"]["reason"] in card
    assert result.best_checkpoint is None or result.global_step == 4


# ---------------------------------------------------------------------------------- GPU speed flags


def test_a_cpu_run_gets_no_speed_flags_and_unchanged_arguments(tiny_model, reviews, tmp_path):
    from trainer_core.training import Accelerator, build_training_arguments, gpu_speed_flags

    assert gpu_speed_flags(Accelerator(cuda=False, cpus=16)) == ({}, [])
    run = prepare_run(auto_config(tiny_model, reviews, tmp_path / "run"))
    args = build_training_arguments(run.config, 57, "f1", None, None, Accelerator(cuda=False, cpus=16))
    from transformers import TrainingArguments

    stock = TrainingArguments(output_dir=str(tmp_path / "stock"))
    assert (args.optim, args.tf32) == (stock.optim, stock.tf32)  # the stock choices, untouched
    assert args.dataloader_num_workers == 0


@pytest.mark.parametrize(
    ("accelerator", "expected"),
    [
        # An A100 / H100 (Ampere or newer) with 16 CPUs.
        ({"cuda": True, "capability": (8, 0), "cpus": 16},
         {"optim": "adamw_torch_fused", "tf32": True, "dataloader_num_workers": 4,
          "dataloader_persistent_workers": True}),
        # A T4 (Turing): no TF32 tensor cores; 2 CPUs leave one worker.
        ({"cuda": True, "capability": (7, 5), "cpus": 2},
         {"optim": "adamw_torch_fused", "dataloader_num_workers": 1, "dataloader_persistent_workers": True}),
        # ZeroGPU: a forked worker, no dataloader processes.
        ({"cuda": True, "capability": (9, 0), "cpus": 8, "zero_gpu": True},
         {"optim": "adamw_torch_fused", "tf32": True}),
    ],
)  # fmt: skip
def test_gpu_speed_flags_follow_the_hardware(accelerator, expected):
    from trainer_core.training import Accelerator, gpu_speed_flags

    flags, reasons = gpu_speed_flags(Accelerator(**accelerator))
    assert flags == expected
    assert len(reasons) == len({"optim", "tf32", "dataloader_num_workers"} & set(flags))


def test_bert_style_models_load_with_sdpa_attention(tiny_model):
    from trainer_core.modeling import load_model

    model = load_model(str(tiny_model), ["a", "b"])
    assert model.config._attn_implementation == "sdpa"


@pytest.mark.usefixtures("single_thread")
def test_max_steps_overrides_epochs_and_the_log_says_so_once(tiny_model, reviews, tmp_path):
    """No "epochs = 5" chosen beside max_steps, and the training line says how many passes the steps make."""
    from trainer_core.ui.plots import RunView

    config = auto_config(tiny_model, reviews, tmp_path / "run", learning_rate=5e-3, max_steps=6, batch_size=8)
    events = []
    train(config, on_event=events.append)
    (chosen,) = [e for e in events if e["type"] == "recipe"]
    assert "training.epochs" not in {c["option"] for c in chosen["choices"]}
    (begin,) = [e for e in events if e["type"] == "train_begin"]
    assert begin["total_steps"] == 6 and begin["max_steps"] is True and begin["epochs"] == 1  # 57 rows: 8 batches
    view = RunView()
    view.add(events)
    log = view.log_text()
    assert "training: 6 steps (max_steps, which overrides epochs: 1 pass over the training rows)" in log
    assert log.count("overrides epochs") == 1 and "epochs =" not in log
    assert yaml.safe_load((tmp_path / "run" / CONFIG_FILE).read_text(encoding="utf-8"))["training"]["epochs"] is None


def test_the_warm_up_share_gives_the_steps_it_names():
    """500 warm-up steps of 10 million was a share of 0.0 (rounded to 4 places): no warm-up at all."""
    for steps in (6_000, 60_000, 3_000_000, 10_000_000):
        choice = recipe.warmup(steps)
        assert "warm up over 500 steps" in choice.reason
        assert choice.value * steps == pytest.approx(500, rel=0.05), steps
    assert recipe.warmup(60_000).value == 0.0083  # unchanged where 4 places were close enough


def test_epochs_that_make_an_absurd_number_of_steps_are_refused(tiny_model, reviews, tmp_path, monkeypatch):
    from trainer_core import config as config_lib
    from trainer_core.errors import InputError

    monkeypatch.setattr(config_lib, "MAX_STEPS", 1_000)
    config = auto_config(tiny_model, reviews, tmp_path / "run", epochs=1000.0, batch_size=1)
    with pytest.raises(InputError, match=r"epochs 1000 over 57 training rows in batches of 1 make 57,000 optimizer "
                       r"steps, more than the 1,000 a run may take"):  # fmt: skip
        prepare_run(config)
