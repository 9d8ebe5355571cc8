"""The flow a person meets, handler by handler (no browser): what is offered, what is refused, and how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_core.jobs import JobManager
from trainer_core.ui import sources
from trainer_core.ui.context import AppContext
from trainer_core.ui.evaluate_tab import run_choices

RUN_OK = "20260101-120000-abc123"
RUN_FAILED = "20260101-130000-def456"
RUN_RUNNING = "20260101-140000-aaa111"


def _run(jobs: JobManager, identity: str, run_id: str, state: str, **status) -> Path:
    path = jobs.owner_dir(identity) / run_id
    (path / "model").mkdir(parents=True)
    (path / "model" / "config.json").write_text("{}", encoding="utf-8")
    payload = {"state": state, "created": 1_767_268_800.0, **status}
    (path / "status.json").write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.fixture
def ctx(tmp_path) -> AppContext:
    return AppContext.create(tmp_path / "studio")


def test_only_ended_runs_with_a_model_are_offered_as_models(ctx):
    identity = "browser:me"
    _run(ctx.jobs, identity, RUN_OK, "finished", model="/x/runs/bert-tiny", dataset="/data/reviews.csv")
    _run(ctx.jobs, identity, RUN_FAILED, "failed")  # a half-written checkpoint must not be offered
    choices = run_choices(ctx, "me", None, [("Hub: x", "x")], include=RUN_FAILED)
    assert [value for _, value in choices] == [f"run:{RUN_OK}", "x"]


def test_run_names_say_model_data_and_time(ctx):
    _run(ctx.jobs, "browser:me", RUN_OK, "finished", model="/x/runs/bert-tiny/model", dataset="/data/reviews.csv")
    (info,) = ctx.jobs.list_runs("browser:me")
    label = sources.run_label(info)
    assert label.startswith("bert-tiny on reviews.csv · ")
    assert RUN_OK not in label


def test_the_loss_chart_knows_both_series_from_its_first_point():
    from trainer_core.ui.plots import RunView

    view = RunView()
    view.add([{"type": "log", "step": 10, "loss": 0.7}])
    frame = view.loss_frame()
    # The browser fixes the colour domain from the first frame: eval must be in it before its first point.
    assert set(frame["split"]) == {"train", "eval"}
    assert frame[frame["split"] == "eval"]["loss"].isna().all()
    view.add([{"type": "eval", "step": 10, "metrics": {"loss": 0.6}}])
    assert frame.dtypes["loss"] == "float64"
    assert view.loss_frame().dropna()["split"].tolist() == ["train", "eval"]


def test_dataset_charts_are_sorted_once_at_construction(studio, visitor):
    """gradio 6.31 draws a BarPlot one update behind when `sort` comes with the value."""
    from trainer_core.ui.dataset_tab import SOURCE_EXAMPLE

    outputs = studio.client.predict(
        visitor=visitor, source=SOURCE_EXAMPLE, example="paraphrase.csv", tokenizer="", api_name="/ui_preview"
    )
    label_update, histogram_update = outputs[6], outputs[7]
    assert "sort" not in label_update and "sort" not in histogram_update
    assert [row[0] for row in label_update["value"]["data"]] == ["different", "paraphrase"]  # names, not ids


def test_every_training_option_has_a_widget_and_a_flag():
    """Adding a TrainingConfig field is one edit: the form and the CLI pick it up from the dataclass."""
    import dataclasses

    from trainer_core.cli import TRAIN_FLAGS
    from trainer_core.config import SECTIONS
    from trainer_core.ui import form

    in_form = {(f.section, f.name) for f in form.TRAIN_FORM}
    flagged = {(flag.section, flag.name) for flag in TRAIN_FLAGS.values()}
    for section in ("training", "hub"):
        for spec in dataclasses.fields(SECTIONS[section]):
            key = (section, spec.name)
            assert key in in_form or key in form.NOT_IN_FORM, f"{key} has no widget"
            assert key in flagged, f"{key} has no CLI flag"
    assert all(f.help for f in form.TRAIN_FORM), "every widget shows its config field's help"


def test_a_new_training_field_gets_a_widget_a_check_and_a_flag(monkeypatch):
    """A field added to the config (here a test-local subclass) needs nothing else to reach form and CLI."""
    import dataclasses

    from trainer_core import cli, config
    from trainer_core.config import DataConfig
    from trainer_core.ui import form

    @dataclasses.dataclass
    class WithBudget(config.TrainingConfig):
        time_budget_s: int | None = dataclasses.field(
            default=None, metadata={"help": "Stop after this many seconds.", "minimum": 10}
        )

    monkeypatch.setitem(config.SECTIONS, "training", WithBudget)
    fields = {f.key: f for f in form._train_form()}
    budget = fields["time_budget_s"]
    assert budget.group == form.MORE and budget.label == "Time budget s" and budget.kind == "int"
    assert "Stop after this many seconds. At least 10." in budget.info()
    monkeypatch.setattr(form, "TRAIN_FORM", tuple(fields.values()))
    with pytest.raises(form.FormError, match="Time budget s must be at least 10, got 5"):
        form.build_config({"time_budget_s": 5}, DataConfig(dataset="x.csv"))
    assert form.build_config({"time_budget_s": 60}, DataConfig(dataset="x.csv")).training.time_budget_s == 60
    flags = cli.generate_flags()
    assert flags["--time-budget-s"].kind == "int" and "Stop after this many seconds." in flags["--time-budget-s"].help


def test_an_optional_number_left_empty_is_the_default_and_zero_is_checked():
    from trainer_core.config import DataConfig
    from trainer_core.ui import form

    config = form.build_config({"eval_steps": None, "max_train_samples": ""}, DataConfig(dataset="x.csv"))
    assert config.training.eval_steps is None and config.data.max_train_samples is None
    with pytest.raises(form.FormError, match=r"Eval steps must be at least 1, got 0\."):
        form.build_config({"eval_steps": 0}, DataConfig(dataset="x.csv"))


def test_serving_the_first_page_imports_no_training_stack(tmp_path):
    """Start-up stays close to an empty Gradio app's: torch, transformers, datasets wait for first use
    (bench/bench_startup.py measures the time; this checks the cause)."""
    import subprocess
    import sys

    code = (
        "import sys, spaces\n"
        "from trainer_core.ui import build_app\n"
        f"build_app({str(tmp_path)!r})\n"
        "print('loaded:' + ','.join(m for m in ('torch', 'transformers', 'datasets', 'evaluate', 'sklearn') if m in sys.modules))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("SPACE_ID", "SYSTEM", "SPACES_ZERO_GPU")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True)
    assert "loaded:\n" in out.stdout, out.stdout


def test_stop_on_a_queued_run_shows_at_once():
    """The run stays queued until a slot frees; the page says at once that it will not start."""
    from types import SimpleNamespace

    from trainer_core.ui import plots, train_tab

    queued = SimpleNamespace(run_id=RUN_OK, state="queued", queue_position=2)
    before = train_tab.view_updates(queued, plots.RunView(), [], stop_set=False)
    after = train_tab.view_updates(queued, plots.RunView(), [], stop_set=True)
    assert "position 2 in the queue" in before["progress"]
    assert "will not start" in after["progress"]
    assert before["stop"]["visible"] is True and after["stop"]["visible"] is False
    assert after["actions"]["visible"] is False and after["retry"]["visible"] is False


def test_a_run_can_be_renamed_and_deleted_by_its_owner_only(ctx, monkeypatch):
    import dataclasses

    from trainer_core.errors import InputError
    from trainer_core.ui import train_tab

    _run(ctx.jobs, "browser:me", RUN_OK, "finished", model="/x/bert-tiny", dataset="/d/reviews.csv")
    _run(ctx.jobs, "browser:me", RUN_RUNNING, "queued")
    error, dropdown, _table = train_tab.rename_ui(ctx, "me", RUN_OK, "  my   first run ")
    assert error["visible"] is False
    assert ("my first run", RUN_OK) in dropdown["choices"]
    assert [label for label, _ in run_choices(ctx, "me", None, [])] == ["my first run"]
    # An empty name goes back to model, data and time; a long one is refused, naming the field.
    _e, dropdown, _t = train_tab.rename_ui(ctx, "me", RUN_OK, "")
    assert any(label.startswith("bert-tiny on reviews.csv · ") for label, _ in dropdown["choices"])
    assert "Run name: at most 80 characters" in train_tab.rename_ui(ctx, "me", RUN_OK, "x" * 81)[0]["value"]
    # Another visitor can neither rename nor delete it; an active run must stop first.
    assert "among your runs" in train_tab.rename_ui(ctx, "someone-else", RUN_OK, "mine now")[0]["value"]
    assert "among your runs" in train_tab.delete_ui(ctx, "someone-else", RUN_OK)[0]["value"]
    info = ctx.jobs.info
    with monkeypatch.context() as patch:  # the run's worker is alive (a test has none)
        patch.setattr(ctx.jobs, "info", lambda *a: dataclasses.replace(info(*a), state="running"))
        assert "stop it first" in train_tab.delete_ui(ctx, "me", RUN_RUNNING)[0]["value"]
    error, dropdown, *_ = train_tab.delete_ui(ctx, "me", RUN_OK)
    assert error["visible"] is False and [v for _, v in dropdown["choices"]] == [RUN_RUNNING]
    with pytest.raises(InputError):
        ctx.jobs.info("browser:me", RUN_OK)


def test_options_left_on_auto_stay_auto():
    """A field whose config default is None (auto) is left to the config when the form leaves it empty."""
    from trainer_core.config import DataConfig
    from trainer_core.ui import form

    auto = [f for f in form.TRAIN_FORM if f.optional and f.default is None]
    assert auto, "the config has optional fields"
    config = form.build_config(form.form_defaults({"model": "m"}), DataConfig(dataset="x.csv"))
    for f in auto:
        assert getattr(getattr(config, f.section), f.name) is None, f.key


def test_max_length_typed_in_the_train_tab_reaches_the_dataset_tab():
    from trainer_core.ui import app

    assert app._max_length_text(" 64 ") == "64" and app._max_length_text(128) == "128"
    assert app._max_length_text("") == "" and app._max_length_text(None) == ""  # empty: the default, in both tabs


def test_max_length_has_one_default_for_the_page_the_api_and_the_cli(studio, sentiment_csv, tiny_model):
    """One owner, the config's field: the page's boxes, /train and the CLI all leave it to the same default, so a
    page run and a CLI run on the same file train at the same length."""
    from gradio_client import Client

    from trainer_core import cli, config, tasks
    from trainer_core.ui import form, train_tab

    assert config.DataConfig().max_length is None  # None: the preset's, else DEFAULT_MAX_LENGTH
    assert form.FORM_BY_KEY["max_length"].default is None
    assert cli.TRAIN_FLAGS["--max-length"].default is None
    assert tasks.DEFAULT_MAX_LENGTH is config.DEFAULT_MAX_LENGTH
    props = {c["props"].get("elem_id"): c["props"] for c in studio.demo.config["components"] if "props" in c}
    assert props["dataset-max-length"]["value"] in ("", None) and props["train-max-length"]["value"] in ("", None)
    endpoint = Client(studio.demo.local_url, verbose=False).view_api(print_info=False, return_format="dict")
    (parameter,) = [
        p for p in endpoint["named_endpoints"]["/train"]["parameters"] if p["parameter_name"] == "max_length"
    ]
    assert parameter["parameter_default"] is None

    values = {
        "source": "Hub dataset",
        "dataset": str(sentiment_csv),
        "max_length": props["dataset-max-length"]["value"],
    }
    page = train_tab.build_config(
        studio.ctx,
        None,
        values,
        form.form_defaults({"model": str(tiny_model), "max_length": props["train-max-length"]["value"]}),
    )
    args = cli.build_parser().parse_args(["train", "--dataset", str(sentiment_csv), "--model", str(tiny_model)])
    command_line = cli.config_from_args(args)
    assert page.data.max_length is None and command_line.data.max_length is None
    resolved = {tasks.resolve_config(c).data.max_length for c in (page, command_line)}
    assert resolved == {config.DEFAULT_MAX_LENGTH}
