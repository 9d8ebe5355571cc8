"""trainer_core.ui.sources: what a model or dataset choice names (run:, example:, preset:, a Hub id, a local
path off a Space), checked before anything is loaded, and which runs have a model or trained on pairs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from trainer_core.config import TRAINED_CONFIG_FILE, DataConfig, TrainConfig
from trainer_core.errors import InputError
from trainer_core.examples import EXAMPLES
from trainer_core.jobs import JobManager
from trainer_core.rundir import RUN_CONFIG_FILE
from trainer_core.tasks import PRESETS
from trainer_core.ui import sources


@pytest.fixture
def jobs(tmp_path) -> JobManager:
    return JobManager(tmp_path / "runs")


def _run(jobs: JobManager, identity: str, run_id: str, *, with_model: bool = True):
    path = jobs.owner_dir(identity) / run_id
    (path / "model").mkdir(parents=True)
    (path / "status.json").write_text(json.dumps({"state": "finished", "created": 1.0}), encoding="utf-8")
    if with_model:
        (path / "model" / "config.json").write_text("{}", encoding="utf-8")
    return path


RUN = "20260101-120000-abc123"


def test_run_id_of():
    assert sources.run_id_of(f"run:{RUN}") == RUN
    assert sources.run_id_of(f"{RUN} · finished · bert on x.csv") == RUN
    assert sources.run_id_of("distilbert-base-uncased") is None
    assert sources.run_id_of(None) is None
    with pytest.raises(InputError, match="does not name a run"):
        sources.run_id_of("run:../../secret")


def test_resolve_model_runs_belong_to_their_owner(jobs):
    _run(jobs, "browser:me", RUN)
    resolved = sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=True)
    assert resolved == str(jobs.model_dir("browser:me", RUN))
    with pytest.raises(InputError, match="among your runs"):
        sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:other", on_space=True)


def test_resolve_model_falls_back_to_the_latest_checkpoint(jobs):
    path = _run(jobs, "browser:me", RUN, with_model=False)
    with pytest.raises(InputError, match="no saved model yet"):
        sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=False)
    for step in (5, 12, 9):
        (path / "model" / f"checkpoint-{step}").mkdir()
        (path / "model" / f"checkpoint-{step}" / "config.json").write_text("{}", encoding="utf-8")
    resolved = sources.resolve_model(f"run:{RUN}", jobs=jobs, identity=lambda: "browser:me", on_space=False)
    assert resolved.endswith("checkpoint-12")


def test_resolve_model_identity_is_needed_only_for_runs(jobs):
    def no_identity():
        raise AssertionError("identity asked for a Hub model")

    assert sources.resolve_model("owner/name", jobs=jobs, identity=no_identity, on_space=True) == "owner/name"
    assert sources.resolve_model("", jobs=jobs, identity=no_identity, on_space=True, default="d/m") == "d/m"
    with pytest.raises(InputError, match="No model chosen"):
        sources.resolve_model(" ", jobs=jobs, identity=no_identity, on_space=True)


@pytest.mark.parametrize("value", ["/etc", "~/models", "../runs", "./model", "a/b/c", "a\\b", "x y"])
def test_resolve_model_refuses_paths_on_a_space(jobs, value):
    with pytest.raises(InputError, match="not a Hub model id"):
        sources.resolve_model(value, jobs=jobs, identity=lambda: "browser:me", on_space=True)


def test_resolve_model_refuses_an_existing_local_folder_named_like_a_hub_id(jobs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner" / "name").mkdir(parents=True)
    with pytest.raises(InputError, match="not a Hub model id"):
        sources.resolve_model("owner/name", jobs=jobs, identity=lambda: "browser:me", on_space=True)
    # Off a Space a local folder is fine.
    assert sources.resolve_model("owner/name", jobs=jobs, identity=lambda: "x", on_space=False) == str(
        tmp_path / "owner" / "name"
    )


def test_model_choices_list_only_runs_with_a_model(jobs):
    _run(jobs, "browser:me", RUN)
    _run(jobs, "browser:me", "20260101-130000-def456", with_model=False)
    runs = jobs.list_runs("browser:me")
    choices = sources.model_choices(runs, jobs, "browser:me", [("Hub: x", "x")])
    assert [value for _, value in choices] == [f"run:{RUN}", "x"]
    assert choices[0][0].startswith("? on ? · ")


def test_resolve_dataset_examples_presets_uploads_and_paths(tmp_path):
    cfg, split = sources.resolve_dataset("example:paraphrase", on_space=True, label_column=" ")
    assert cfg.dataset == str(EXAMPLES["paraphrase"].path) and split == "train"
    assert (cfg.text_column, cfg.text_pair_column, cfg.label_column) == ("sentence1", "sentence2", "label")

    cfg, split = sources.resolve_dataset("preset:sst2", on_space=True, text_column="other")
    assert (cfg.dataset, cfg.dataset_config, split) == ("nyu-mll/glue", "sst2", "validation")
    assert cfg.text_column == "other" and cfg.label_column == "label"

    cfg, split = sources.resolve_dataset("example:sentiment", upload="/tmp/gradio/x/up.csv", on_space=True)
    assert cfg.dataset == "/tmp/gradio/x/up.csv" and split == "train"

    cfg, split = sources.resolve_dataset("owner/data", on_space=True, config="c")
    assert (cfg.dataset, cfg.dataset_config, split) == ("owner/data", "c", None)

    local = tmp_path / "mine.csv"
    local.write_text("text,label\na,b\n", encoding="utf-8")
    cfg, split = sources.resolve_dataset(str(local), on_space=False)
    assert cfg.dataset == str(local) and split == "train"
    with pytest.raises(InputError, match="not a Hub dataset id"):
        sources.resolve_dataset(str(local), on_space=True)
    with pytest.raises(InputError, match="Unknown example"):
        sources.resolve_dataset("example:nope", on_space=True)
    with pytest.raises(InputError, match="No dataset chosen"):
        sources.resolve_dataset("", on_space=False)
    with pytest.raises(InputError, match="not a data file"):
        sources.resolve_dataset(str(tmp_path), on_space=False)


def test_dataset_choices_cover_runs_examples_and_presets(jobs):
    values = [value for _, value in sources.dataset_choices()]
    assert values[:2] == ["example:sentiment", "example:paraphrase"]
    assert "preset:mrpc" in values and "preset:sst2" in values
    _run(jobs, "browser:me", RUN, with_model=False)  # a run's data is there whatever became of its model
    choices = sources.dataset_choices(jobs.list_runs("browser:me"))
    assert choices[0][1] == f"run:{RUN}" and "eval rows" in choices[0][0]


# ---------------------------------------------------------------------------------- preset: and example:


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_choice_brings_its_dataset_config_revision_columns_and_eval_split(name):
    preset = PRESETS[name]
    cfg, split = sources.resolve_dataset(f"preset:{name}", on_space=True)
    assert (cfg.dataset, cfg.dataset_config, cfg.dataset_revision) == (
        preset.dataset, preset.dataset_config, preset.dataset_revision,
    )  # fmt: skip
    assert (cfg.text_column, cfg.text_pair_column, cfg.label_column) == (
        preset.text_column, preset.text_pair_column, preset.label_column,
    )  # fmt: skip
    assert cfg.eval_split == split == preset.eval_split


def test_a_preset_choice_keeps_what_the_person_named():
    cfg, _ = sources.resolve_dataset(
        "preset:mrpc", on_space=True, config="other", text_pair_column=" b ", label_column=""
    )
    assert cfg.dataset_config == "other" and cfg.text_pair_column == "b"
    assert cfg.text_column == "sentence1" and cfg.label_column == "label"  # an empty name keeps the preset's
    with pytest.raises(InputError, match="Unknown task preset 'nope'"):
        sources.resolve_dataset("preset:nope", on_space=True)
    with pytest.raises(InputError, match="Choose a preset by name"):
        sources.resolve_dataset("preset:custom", on_space=True)


def test_an_unknown_column_argument_is_a_programming_error():
    with pytest.raises(TypeError, match="text_colum"):
        sources.resolve_dataset("owner/data", on_space=True, text_colum="x")


def test_an_example_choice_lists_the_examples_when_unknown():
    for name, example in EXAMPLES.items():
        cfg, split = sources.resolve_dataset(f"example:{name}", on_space=True)
        assert cfg.dataset == str(example.path) and split == "train"
        assert cfg.text_pair_column == example.text_pair_column
    with pytest.raises(InputError, match="Examples: sentiment, paraphrase"):
        sources.resolve_dataset("example:../../README.md", on_space=True)


# ------------------------------------------------------------------------------------ Hub ids and paths


@pytest.mark.parametrize("value", ["nyu-mll/glue", "imdb", "Owner_1/data.set-2", " owner/name "])
def test_hub_ids_are_accepted_on_a_space_as_they_are(value):
    cfg, split = sources.resolve_dataset(value, on_space=True)
    assert cfg.dataset == value.strip() and split is None


@pytest.mark.parametrize(
    "value", ["/etc/passwd", "~/data.csv", "../data.csv", "./data.csv", "a/b/c.csv", "a\\b.csv", "two words", "-x/y"]
)
def test_local_paths_and_odd_names_are_refused_on_a_space(value):
    with pytest.raises(InputError, match=r"not a Hub dataset id\. On the Space"):
        sources.resolve_dataset(value, on_space=True)


def test_an_existing_file_named_like_a_hub_id_is_still_refused_on_a_space(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner").mkdir()
    (tmp_path / "owner" / "data").write_text("text,label\na,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a Hub dataset id"):
        sources.resolve_dataset("owner/data", on_space=True)
    cfg, _ = sources.resolve_dataset("owner/data", on_space=False)  # off a Space it is the file
    assert cfg.dataset == str(tmp_path / "owner" / "data")


def test_off_a_space_a_missing_file_says_so(tmp_path):
    with pytest.raises(InputError, match=r"File not found: '.*missing\.csv'"):
        sources.resolve_dataset(str(tmp_path / "missing.csv"), on_space=False)


def test_short_names_never_show_a_server_folder():
    assert sources.short_name("/srv/data/runs/owner/20260101-120000-abc123/model") == "20260101-120000-abc123"
    assert sources.short_name("/srv/runs/x/model/checkpoint-40") == "x"
    assert sources.short_name("nyu-mll/glue") == "glue"
    assert sources.short_name(None) == "?"


# ------------------------------------------------------------------------------------------ run_is_pair


def _run_with_config(jobs: JobManager, identity: str, config: TrainConfig, trained: TrainConfig | None = None):
    path = _run(jobs, identity, RUN)
    config.save(path / RUN_CONFIG_FILE)
    if trained is not None:
        trained.save(path / "model" / TRAINED_CONFIG_FILE)
    return path


@pytest.mark.parametrize(
    ("form", "trained", "expected"),
    [
        # The columns it trained on (detected ones included) decide.
        (DataConfig(dataset="up.csv"), DataConfig(dataset="up.csv", text_column="s1", text_pair_column="s2"), True),
        (DataConfig(dataset="up.csv", text_pair_column="s2"), DataConfig(dataset="up.csv", text_column="s1"), False),
        # Not recorded yet: the form's columns, else nothing is known.
        (DataConfig(dataset="up.csv", text_pair_column="s2"), None, True),
        (DataConfig(dataset="up.csv", text_column="text"), None, False),
        (DataConfig(dataset="up.csv"), None, None),
    ],
)
def test_run_is_pair_reads_the_trained_columns_then_the_form(jobs, form, trained, expected):
    _run_with_config(jobs, "browser:me", TrainConfig(data=form), trained and TrainConfig(data=trained))
    assert sources.run_is_pair(jobs, "browser:me", RUN) is expected


@pytest.mark.parametrize(("task", "expected"), [("mrpc", True), ("sst2", False)])
def test_run_is_pair_knows_a_presets_kind(jobs, task, expected):
    _run_with_config(jobs, "browser:me", TrainConfig(task=task))
    assert sources.run_is_pair(jobs, "browser:me", RUN) is expected


def test_run_is_pair_does_not_tell_about_another_visitors_run(jobs):
    _run_with_config(jobs, "browser:me", TrainConfig(task="mrpc"))
    assert sources.run_is_pair(jobs, "browser:other", RUN) is None


# ---------------------------------------------------------------------- Evaluate's dataset_for_model


def test_a_run_chosen_as_the_model_brings_its_held_out_rows(tmp_path):
    from trainer_core.ui.evaluate_tab import dataset_for_model

    jobs = JobManager(tmp_path / "runs")
    ctx = SimpleNamespace(jobs=jobs, on_space=False)
    _run(jobs, "browser:me", RUN)
    update = dataset_for_model(ctx, f"run:{RUN}", "me")
    assert update["value"] == f"run:{RUN}"
    assert [value for _, value in update["choices"]][:1] == [f"run:{RUN}"]
    # Another model (a Hub id, a bad run choice, nothing) leaves the dataset as it is.
    for choice in ("owner/model", "run:../../x", None):
        assert dataset_for_model(ctx, choice, "me") == {"__type__": "update"}
