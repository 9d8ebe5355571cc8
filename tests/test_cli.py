"""The command line, in-process through ``main`` and as a real ``python -m trainer_core`` process."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tiny import paraphrase_rows, sentiment_rows, write_csv

from trainer_core.cli import as_cli_command, build_parser, config_from_args, main
from trainer_core.config import TrainConfig
from trainer_core.rundir import TRAINED_CONFIG_FILE as CONFIG_FILE
from trainer_core.tasks import TASK_NAMES, resolve_config

pytest_plugins = ["core_fixtures"]  # tiny_model, tiny_tokenizer, sentiment_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def last_json(out: str) -> dict:
    lines = out.strip().splitlines()
    assert lines, "nothing on stdout"
    payload = json.loads(lines[-1])
    assert isinstance(payload, dict)
    return payload


def assert_clean_input_error(code: int, out: str, err: str, *needles: str) -> None:
    """Exit status 2, one paragraph on stderr starting with 'error:', no traceback, nothing on stdout."""
    assert code == 2, err
    assert out == ""
    message = err.strip()
    assert message.startswith("error: ")
    assert "\n" not in message, message
    assert "Traceback" not in err
    for needle in needles:
        assert needle in message, message


@pytest.fixture
def reviews(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(60, seed=4, string_labels=True, long_tail=True))


def train_flags(tiny_model: Path, dataset: Path, output_dir: Path) -> list[str]:
    return [
        "--model", tiny_model, "--dataset", dataset, "--output-dir", output_dir, "--max-length", "64",
        "--epochs", "1", "--batch-size", "8", "--learning-rate", "5e-3", "--logging-steps", "2", "--seed", "1",
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------- preview


def test_preview_json(capsys, reviews, tiny_model):
    code, out, err = run_cli(
        capsys, "preview", "--dataset", reviews, "--tokenizer", tiny_model, "--max-length", "16", "--json"
    )
    assert code == 0, err
    payload = last_json(out)
    assert {"splits", "features", "columns", "label_counts", "token_stats", "problems"} <= set(payload)
    assert payload["splits"] == {"train": 60}
    assert set(payload["features"]) == {"text", "label"}
    assert payload["columns"] == {"text": "text", "label": "label", "text_pair": None}
    assert payload["label_counts"] == {"negative": 30, "positive": 30}
    stats = payload["token_stats"]
    assert stats["max_length"] == 16
    assert stats["truncated"] > 0
    assert 0 < stats["truncated_share"] < 1
    assert stats["mean"] <= stats["p95"] <= stats["max"]
    assert "truncated" in [problem["kind"] for problem in payload["problems"]]


def test_preview_text(capsys, reviews):
    code, out, err = run_cli(capsys, "preview", "--dataset", reviews, "--rows", "2")
    assert code == 0, err
    assert "splits: train=60" in out
    assert "columns: text=text, label=label" in out
    assert "labels: negative=30, positive=30" in out


def test_preview_of_a_big_file_says_it_read_a_sample(capsys, tmp_path, monkeypatch):
    import trainer_core.files as files

    monkeypatch.setattr(files, "_SAMPLE_START", 16 * 1024)  # a small file that is still "big" to the preview
    path = write_csv(tmp_path / "big.csv", sentiment_rows(12_000, seed=5))
    code, out, err = run_cli(capsys, "preview", "--dataset", path, "--rows", "1")
    assert code == 0, err
    assert "splits: train=more than 5000" in out
    assert "only the first 5000 rows were read" in out


def test_preview_of_pairs_uses_the_preset_columns(capsys, tmp_path):
    path = write_csv(tmp_path / "pairs.csv", paraphrase_rows(10))
    code, out, err = run_cli(capsys, "preview", "--dataset", path, "--task", "mrpc", "--json")
    assert code == 0, err
    payload = last_json(out)
    assert payload["columns"] == {"text": "sentence1", "label": "label", "text_pair": "sentence2"}
    assert payload["label_counts"] == {"not_equivalent": 5, "equivalent": 5}


def test_preview_reports_a_wrong_column_name_as_a_problem(capsys, reviews):
    code, out, _ = run_cli(capsys, "preview", "--dataset", reviews, "--text-column", "body", "--json")
    assert code == 0
    problems = last_json(out)["problems"]
    assert problems[0]["kind"] == "columns"
    assert "Columns found: text, label" in problems[0]["message"]


# ------------------------------------------------------------------------------------------- errors


def test_missing_file(capsys, tmp_path):
    code, out, err = run_cli(capsys, "preview", "--dataset", tmp_path / "nope.csv", "--json")
    assert_clean_input_error(code, out, err, "File not found", "nope.csv")


def test_missing_file_when_training(capsys, tmp_path, tiny_model):
    code, out, err = run_cli(capsys, "train", *train_flags(tiny_model, tmp_path / "nope.csv", tmp_path / "out"))
    assert_clean_input_error(code, out, err, "File not found")


def test_missing_text_column_lists_the_columns(capsys, reviews, tiny_model, tmp_path):
    flags = train_flags(tiny_model, reviews, tmp_path / "out")
    code, out, err = run_cli(capsys, "train", *flags, "--text-column", "body", "--json")
    assert_clean_input_error(
        code, out, err, "The text column 'body' is not in the dataset", "Columns found: text, label"
    )


def test_no_text_column_lists_the_columns(capsys, tmp_path, tiny_model):
    path = write_csv(tmp_path / "numbers.csv", [{"a": i, "b": i * 2, "label": i % 2} for i in range(10)])
    code, out, err = run_cli(capsys, "train", *train_flags(tiny_model, path, tmp_path / "out"))
    assert_clean_input_error(code, out, err, "No text column found", "Columns found: a, b, label")


def test_ten_thousand_labels_with_two_rows_each_preview_and_train_agree(capsys, tmp_path):
    rows = [{"text": f"review {i}", "label": f"item-{i // 2}"} for i in range(20_000)]
    path = write_csv(tmp_path / "items.csv", rows)
    code, out, err = run_cli(capsys, "preview", "--dataset", path, "--json")
    assert code == 0, err
    (problem,) = [p for p in last_json(out)["problems"] if p["kind"] == "too_many_classes"]
    assert "training refuses it" in problem["message"]

    # A model that does not exist: the data is refused first, before any model is looked for.
    flags = train_flags(tmp_path / "no-model", path, tmp_path / "out")
    code, out, err = run_cli(capsys, "train", *flags)
    assert_clean_input_error(code, out, err, "has 10000 classes for 20000 rows", "Nothing was trained")
    assert not any((tmp_path / "out").rglob("*")), "nothing is written for a refused run"


def test_unknown_split_lists_the_splits(capsys, reviews):
    code, out, err = run_cli(capsys, "preview", "--dataset", reviews, "--split", "validation")
    assert_clean_input_error(code, out, err, "Split 'validation' does not exist", "Available splits: train")


def test_unknown_split_when_evaluating(capsys, sentiment_run):
    code, out, err = run_cli(
        capsys, "evaluate", "--model", sentiment_run.output_dir,
        "--dataset", sentiment_run.data_dir / "test.csv", "--split", "dev",
    )  # fmt: skip
    assert_clean_input_error(code, out, err, "Split 'dev' does not exist", "Available splits: train")


@pytest.mark.parametrize("command", ["preview", "train"])
def test_unknown_task_preset(capsys, reviews, command):
    code, out, err = run_cli(capsys, command, "--dataset", reviews, "--task", "sst5")
    assert_clean_input_error(code, out, err, "Unknown task preset 'sst5'", ", ".join(TASK_NAMES))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1", "learning_rate must be > 0"),
        ("0", "learning_rate must be > 0"),
        ("0.5", "far too high"),
        ("fast", "invalid float value"),
    ],
)
def test_bad_learning_rate(capsys, reviews, tmp_path, value, expected):
    code, out, err = run_cli(
        capsys, "train", "--dataset", reviews, "--output-dir", tmp_path / "out", "--learning-rate", value
    )
    assert_clean_input_error(code, out, err, expected)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--epochs", "inf"], "training.epochs must be a finite number, got inf"),
        (["--epochs", "nan"], "training.epochs must be a finite number, got nan"),
        (["--seed", "-5"], "seed must be between 0 and 2**32 - 1"),
        (["--seed", str(2**32)], "seed must be between 0 and 2**32 - 1"),
        (["--report-to", "wandbb"], "unknown tracker(s) wandbb"),
    ],
)
def test_bad_training_values_fail_before_any_preparation(capsys, tmp_path, flags, expected):
    # The dataset does not exist: the error names the option, so it came before any loading.
    missing = tmp_path / "nowhere.csv"
    code, out, err = run_cli(capsys, "train", "--dataset", missing, "--output-dir", tmp_path / "out", *flags)
    assert_clean_input_error(code, out, err, expected)
    assert "nowhere.csv" not in err
    assert not (tmp_path / "out").exists()


def test_a_tracker_that_is_not_installed_fails_before_any_preparation(capsys, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    code, out, err = run_cli(
        capsys, "train", "--dataset", tmp_path / "nowhere.csv", "--output-dir", tmp_path / "out", "--report-to", "wandb"
    )
    assert_clean_input_error(code, out, err, "report_to names wandb, which is not installed", "pip install wandb")
    assert not (tmp_path / "out").exists()


def test_a_yaml_string_for_a_number_names_the_field(capsys, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text('data:\n  dataset: d.csv\ntraining:\n  epochs: "three"\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "train", "--config", path)
    assert_clean_input_error(code, out, err, "training.epochs must be a number or empty, got 'three'")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--model", "m", "--dataset", "d.csv", "--batch-size", "0"], "--batch-size: must be at least 1"),
        (["evaluate", "--model", "m", "--dataset", "d.csv", "--max-rows", "0"], "--max-rows: must be at least 1"),
        (["preview", "--dataset", "d.csv", "--rows", "-3"], "--rows: must be at least 0"),
        (["preview", "--dataset", "d.csv", "--max-length", "4"], "--max-length: must be at least 8"),
        (["evaluate", "--model", "m", "--dataset", "d.csv", "--batch-size", "big"], "'big' is not a whole number"),
    ],
)
def test_bad_counts_are_usage_errors(capsys, argv, expected):
    code, out, err = run_cli(capsys, *argv)
    assert_clean_input_error(code, out, err, expected)


def test_bad_repo_id(capsys, reviews, tmp_path):
    code, out, err = run_cli(capsys, "train", "--dataset", reviews, "--push-to-hub", "bad repo")
    assert_clean_input_error(code, out, err, "'bad repo' is not a valid Hub repo id")


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--bogus", "1"],
        ["preview", "--dataset", "x.csv", "--learning-rate", "1e-5"],
        ["frobnicate"],
        [],
        ["predict", "--text", "hello"],
    ],
)
def test_usage_errors(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert_clean_input_error(code, out, err, "--help")


def test_empty_text_to_predict(capsys, sentiment_run):
    code, out, err = run_cli(capsys, "predict", "--model", sentiment_run.output_dir, "--text", "  ")
    assert_clean_input_error(code, out, err, "The text is empty")


def test_a_missing_config_file(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--config", tmp_path / "run.yaml")
    assert_clean_input_error(code, out, err, "does not exist")


def test_an_unknown_option_in_a_config_file(capsys, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  lr: 0.1\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "train", "--config", path)
    assert_clean_input_error(code, out, err, "Unknown option(s) in section 'training': lr", "learning_rate")


# --------------------------------------------------------------------------- config file and flags


def parse(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args([str(arg) for arg in argv]))


def test_flags_override_the_config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "task: sst2\n"
        "data:\n  dataset: reviews.csv\n  max_length: 64\n"
        "training:\n  epochs: 2\n  batch_size: 4\n  learning_rate: 0.001\n  report_to: [trackio]\n",
        encoding="utf-8",
    )
    config = parse(
        "train", "--config", path, "--epochs", "3", "--max-length", "32", "--report-to", "trackio,tensorboard"
    )
    assert config.task == "sst2"
    assert config.data.dataset == "reviews.csv"
    assert config.data.max_length == 32
    assert config.training.epochs == 3.0
    assert config.training.batch_size == 4
    assert config.training.learning_rate == 0.001
    assert config.training.report_to == ["trackio", "tensorboard"]
    assert parse("train", "--config", path, "--task", "custom").task == "custom"


def test_flag_types_follow_the_config_fields():
    config = parse(
        "train", "--dataset", "d.csv", "--epochs", "2", "--max-steps", "7", "--validation-size", "0.25",
        "--eval-steps", "5", "--hub-private", "--no-group-by-length", "--push-to-hub", "alice/model",
    )  # fmt: skip
    assert config.training.epochs == 2.0 and isinstance(config.training.epochs, float)
    assert config.training.max_steps == 7
    assert config.data.validation_size == 0.25
    assert config.training.eval_steps == 5
    assert config.hub.private is True and config.hub.repo_id == "alice/model"
    assert config.training.group_by_length is False


def test_the_printed_command_reproduces_the_config():
    config = resolve_config(parse("train", "--task", "mrpc", "--epochs", "2", "--batch-size", "8", "--hub-private"))
    config.training.report_to = ["trackio"]
    config.training.group_by_length = False
    command = shlex.split(as_cli_command(config))
    assert command[:4] == ["python", "-m", "trainer_core", "train"]
    assert parse(*command[3:]) == config


def _subcommands(parser) -> dict:
    import argparse

    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


@pytest.mark.parametrize("command", sorted(_subcommands(build_parser())))
def test_help_of_every_command_prints_and_exits_0(capsys, command):
    # argparse expands %-placeholders in help texts, so a "5%" in a config field's help crashed `train --help`.
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m trainer_core " + command)


# ------------------------------------------------------------------------------ train, evaluate, predict


def test_train_json_then_rerun_from_the_saved_config(capsys, reviews, tiny_model, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", *train_flags(tiny_model, reviews, out_dir), "--json")
    assert code == 0, err
    payload = last_json(out)
    assert out.strip().count("\n") == 0  # progress goes to stderr; stdout holds the JSON line only
    assert {"output_dir", "metrics", "train_samples_per_second", "pushed_repo"} <= set(payload)
    assert payload["output_dir"] == str(out_dir)
    assert payload["pushed_repo"] is None
    assert payload["train_samples_per_second"] > 0
    assert set(payload["metrics"]) >= {"accuracy", "f1"}
    assert payload["global_step"] == 8  # 57 training rows (5% of 60 held out) in batches of 8
    assert "step 2: loss" in err and "eval at step 8" in err
    assert (out_dir / "model.safetensors").is_file()

    saved = out_dir / CONFIG_FILE
    first_config = saved.read_text(encoding="utf-8")
    assert TrainConfig.from_yaml(saved).data.dataset == str(reviews)

    code, out, err = run_cli(capsys, "train", "--config", saved, "--json")
    assert code == 0, err
    again = last_json(out)
    assert again["output_dir"] == str(out_dir)
    assert again["global_step"] == payload["global_step"]
    assert "resuming" not in err  # the first run finished: a new run, not a resume
    assert saved.read_text(encoding="utf-8") == first_config


def test_train_text_output(capsys, reviews, tiny_model, tmp_path):
    flags = train_flags(tiny_model, reviews, tmp_path / "run")
    code, out, err = run_cli(capsys, "train", *flags, "--max-steps", "2")
    assert code == 0, err
    assert out.startswith(f"saved to {tmp_path / 'run'}; accuracy ")
    assert "data: 57 train rows, 3 eval rows" in err


def test_evaluate_json(capsys, sentiment_run):
    code, out, err = run_cli(
        capsys, "evaluate", "--model", sentiment_run.output_dir, "--dataset", sentiment_run.data_dir / "test.csv",
        "--max-rows", "50", "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = last_json(out)
    assert {"metrics", "label_names", "confusion_matrix"} <= set(payload)
    assert payload["label_names"] == ["negative", "positive"]
    assert payload["rows"] == 50
    assert sum(map(sum, payload["confusion_matrix"])) == 50
    assert payload["metrics"]["accuracy"] >= 0.9
    assert len(payload["errors"]) <= 20


def test_evaluate_text(capsys, sentiment_run):
    code, out, err = run_cli(
        capsys, "evaluate", "--model", sentiment_run.output_dir, "--dataset", sentiment_run.data_dir / "test.csv"
    )
    assert code == 0, err
    assert "accuracy: " in out
    assert "confusion matrix (rows: true, columns: predicted) negative, positive" in out


def test_predict_json(capsys, sentiment_run):
    code, out, err = run_cli(
        capsys, "predict", "--model", sentiment_run.output_dir, "--text", "a wonderful and lovely film", "--json"
    )
    assert code == 0, err
    payload = last_json(out)
    assert payload["label"] == "positive"
    assert set(payload["scores"]) == {"negative", "positive"}
    assert sum(payload["scores"].values()) == pytest.approx(1.0, abs=1e-5)


def test_predict_a_pair(capsys, tiny_model):
    code, out, err = run_cli(
        capsys, "predict", "--model", tiny_model, "--text", "cat dog", "--text-pair", "dog cat", "--json"
    )
    assert code == 0, err
    payload = last_json(out)
    assert payload["label"] in ("LABEL_0", "LABEL_1")
    assert sum(payload["scores"].values()) == pytest.approx(1.0, abs=1e-5)


def test_predict_text(capsys, sentiment_run):
    code, out, err = run_cli(capsys, "predict", "--model", sentiment_run.output_dir, "--text", "awful and boring")
    assert code == 0, err
    label, score = out.strip().split(" ")
    assert label == "negative"
    assert 0.5 <= float(score.strip("()")) <= 1.0


# --------------------------------------------------------------------------------- a real process


def python_m(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return subprocess.run(
        [sys.executable, "-m", "trainer_core", *map(str, argv)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_m_predict(sentiment_run, tmp_path):
    done = python_m(
        "predict", "--model", sentiment_run.output_dir, "--text", "a great and superb film", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["label"] == "positive"
    assert "Traceback" not in done.stderr
    assert "Loading weights" not in done.stderr  # library progress bars stay off without --verbose


def test_python_m_train_help(tmp_path):
    done = python_m("train", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--validation-size" in done.stdout and "Traceback" not in done.stderr
    assert "Default: 5% under 10,000 rows" in " ".join(done.stdout.split())  # as written, not a doubled %%


def test_python_m_input_error_has_no_traceback(tmp_path):
    done = python_m("train", "--dataset", tmp_path / "missing.csv", "--learning-rate", "-1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: Invalid training options: learning_rate must be > 0")
