"""The Train tab through its API: `/train` streams a run's events, `/stop`, `/runs`, `/attach`, `/config`."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from gradio_client import handle_file

from trainer_core.jobs import MODEL_DIR
from trainer_core.ui.plots import public_event
from trainer_core.ui.train_tab import OUTPUTS

TRAIN_OUTPUTS = OUTPUTS  # the streamed outputs' names, in order


def value(output):
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def named(outputs, names=TRAIN_OUTPUTS):
    # The stream also carries the Dataset and Train forms (restored from a followed run) after these.
    return {name: value(output) for name, output in zip(names, outputs, strict=False)}


def form(csv, model, **overrides):
    """A small run on a local CSV with the tiny model (local paths are fine off a Space)."""
    values = {
        "source": "Hub dataset",
        "dataset": str(csv),
        "model": str(model),
        "max_steps": 12,
        "batch_size": 8,
        "learning_rate": 5e-4,
        "max_length": 32,
        "eval_steps": 6,
        "warmup_ratio": 0.0,
    }
    return values | overrides


def streamed_events(job) -> list[dict]:
    events = []
    for outputs in job.outputs():
        payload = named(outputs)["events"]
        if isinstance(payload, dict):
            events += payload.get("events") or []
    return events


def test_train_streams_events_to_completion(studio, visitor, sentiment_csv, tiny_model):
    job = studio.client.submit(visitor=visitor, **form(sentiment_csv, tiny_model), api_name="/ui_train")
    job.result(timeout=240)
    outputs = [named(o) for o in job.outputs()]
    events = streamed_events(job)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "prepared" and kinds[-1] == "done", kinds
    assert "train_begin" in kinds and "checkpoint" in kinds
    losses = [e for e in events if e["type"] == "log"]
    assert losses and all(e["loss"] > 0 for e in losses)
    assert any(e["type"] == "eval" and "accuracy" in e["metrics"] for e in events)
    # Every event is streamed exactly once, in order.
    run_id = outputs[-1]["events"]["run_id"]
    on_disk = studio.ctx.jobs.events(studio.identity(visitor), run_id)
    assert events == [public_event(e) for e in on_disk]
    assert not any("path" in e or "output_dir" in e.get("result", {}) for e in events)
    last = outputs[-1]
    assert last["events"]["state"] == "finished" and last["events"]["step"] == 12
    assert last["runs"] == run_id
    assert "Finished: step 12 / 12" in last["progress"]
    assert last["loss_plot"]["data"] and last["score_plot"]["data"]
    assert outputs[0]["loss_plot"] is None  # nothing to draw before the first log
    assert "The run finished" in last["result"] and "| Accuracy |" in last["result"]  # titles from the metric registry
    assert "step 12" in last["log"]
    info = studio.ctx.jobs.info(studio.identity(visitor), run_id)
    assert info.state == "finished" and info.step == 12
    # A second start while nothing runs is fine; the run can be followed again after the fact.
    attached = studio.client.submit(visitor=visitor, run_id=run_id, api_name="/ui_attach")
    attached.result(timeout=30)
    assert [e["type"] for e in streamed_events(attached)] == kinds


def test_stopped_training_keeps_its_checkpoint(studio, visitor, sentiment_csv, tiny_model):
    job = studio.client.submit(
        visitor=visitor, **form(sentiment_csv, tiny_model, max_steps=5000, eval_steps=None), api_name="/ui_train"
    )
    identity = studio.identity(visitor)
    run_id = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = studio.ctx.jobs.list_runs(identity)
        if runs and any(e["type"] == "progress" for e in studio.ctx.jobs.events(identity, runs[0].run_id)):
            run_id = runs[0].run_id
            break
        time.sleep(0.2)
    assert run_id, "the run never reported progress"
    # Pressing Start again while it runs starts nothing.
    refused = studio.client.predict(visitor=visitor, **form(sentiment_csv, tiny_model), api_name="/ui_train")
    assert "already have a run in progress" in named(refused)["events"]["error"]
    assert len(studio.ctx.jobs.list_runs(identity)) == 1

    error, answer = studio.client.predict(visitor=visitor, run_id=run_id, api_name="/ui_stop")
    assert answer == {"stopped": True, "run_id": run_id}
    job.result(timeout=120)
    events = streamed_events(job)
    kinds = [e["type"] for e in events]
    assert "stopping" in kinds and kinds[-1] == "done"
    assert events[-1]["result"]["stopped"] is True
    info = studio.ctx.jobs.info(identity, run_id)
    assert info.state == "stopped" and 0 < info.step < 5000
    model_dir = studio.ctx.jobs.model_dir(identity, run_id)
    assert model_dir.name == MODEL_DIR
    checkpoints = sorted(model_dir.glob("checkpoint-*"))
    assert checkpoints and (checkpoints[-1] / "model.safetensors").is_file()
    assert "Stopped at step" in named(job.outputs()[-1])["progress"]
    # Stopping again is a visible no-op.
    error, answer = studio.client.predict(visitor=visitor, run_id=run_id, api_name="/ui_stop")
    assert answer["stopped"] is False and "not running" in value(error)


def test_visitors_see_only_their_own_runs(studio, visitor, sentiment_csv, tiny_model):
    job = studio.client.submit(visitor=visitor, **form(sentiment_csv, tiny_model, max_steps=4), api_name="/ui_train")
    job.result(timeout=240)
    run_id = streamed_events(job) and named(job.outputs()[-1])["events"]["run_id"]

    _dropdown, table, _error = studio.client.predict(visitor=visitor, selected=None, api_name="/ui_runs")
    assert [row[0] for row in value(table)["data"]] == [run_id]
    _dropdown, table, _error = studio.client.predict(visitor="another-visitor", selected=None, api_name="/ui_runs")
    assert value(table)["data"] == [] or value(table)["data"] == [[""] * 7]

    # Someone else can neither follow, stop nor push it, even knowing its id.
    attached = studio.client.submit(visitor="another-visitor", run_id=run_id, api_name="/ui_attach")
    attached.result(timeout=30)
    assert f"No run '{run_id}' among your runs" in named(attached.outputs()[-1])["events"]["error"]
    _error, answer = studio.client.predict(visitor="another-visitor", run_id=run_id, api_name="/ui_stop")
    assert "among your runs" in answer["error"]
    _notice, answer = studio.client.predict(
        visitor="another-visitor", run_id=run_id, repo_id="me/model", api_name="/ui_retry_push"
    )
    assert answer["pushed"] is False and "among your runs" in answer["error"]


def test_bad_options_start_nothing(studio, visitor, sentiment_csv, tiny_model):
    for overrides, message in (
        ({"learning_rate": 0.5}, "far too high"),
        ({"epochs": 0, "max_steps": -1}, "epochs must be > 0"),
        ({"repo_id": "bad repo id!"}, "not a valid Hub repo id"),
        ({"repo_id": "my-model"}, "needs a Hub token"),
        ({"source": "Upload file", "upload_name": "nothing.csv"}, "No upload called"),
    ):
        outputs = named(
            studio.client.predict(visitor=visitor, **form(sentiment_csv, tiny_model, **overrides), api_name="/ui_train")
        )
        assert message in outputs["events"]["error"], (overrides, outputs["events"])
        assert message in outputs["error"]
    assert studio.ctx.jobs.list_runs(studio.identity(visitor)) == []


def test_a_session_without_visitor_id_starts_nothing(studio, sentiment_csv, tiny_model):
    outputs = named(studio.client.predict(visitor=None, **form(sentiment_csv, tiny_model), api_name="/ui_train"))
    assert "reload the page" in outputs["events"]["error"]


def test_show_as_cli_and_yaml(studio, visitor, paraphrase_csv):
    studio.client.predict(visitor=visitor, file=handle_file(str(paraphrase_csv)), api_name="/ui_upload")
    error, cli, config_yaml = studio.client.predict(
        visitor=visitor,
        source="Upload file",
        upload_name="pairs.csv",
        model="bert-base-uncased",
        epochs=2,
        max_steps=-1,
        batch_size=16,
        learning_rate=2e-5,
        max_length=128,
        repo_id="pairs-model",
        private=True,
        report_to=["trackio"],
        api_name="/ui_config",
    )
    assert value(error) == ""
    assert cli.startswith("python -m trainer_core train")
    for part in ("--model bert-base-uncased", "--dataset pairs.csv", "--epochs 2", "--batch-size 16",
                 "--push-to-hub pairs-model", "--report-to trackio"):  # fmt: skip
        assert part in cli
    config = yaml.safe_load(config_yaml)
    assert config["data"]["dataset"] == "pairs.csv"  # never the server's upload folder
    assert config["hub"] == {"repo_id": "pairs-model", "private": True, "strategy": "checkpoint"}
    assert config["training"]["report_to"] == ["trackio"]


def test_push_failures_show_and_retry_push_works(studio, hub, visitor, sentiment_csv, tiny_model):
    alice_token = hub.token_for("alice", write=True)
    hub.fail_all("commit", status=500)
    job = studio.client.submit(
        visitor=visitor,
        token=alice_token,
        **form(sentiment_csv, tiny_model, max_steps=6, eval_steps=3, repo_id="flaky"),
        api_name="/ui_train",
    )
    job.result(timeout=240)
    outputs = [named(o) for o in job.outputs()]
    events = streamed_events(job)
    pushes = [e for e in events if e["type"] == "push"]
    assert any(e["status"] == "failed" and "500" in e["error"] for e in pushes), pushes
    assert any(e.get("final") and e["status"] == "failed" for e in pushes)
    last = outputs[-1]
    assert last["events"]["state"] == "finished"
    assert "❌ failed" in last["pushes"] and "Retry push" in last["pushes"]
    assert "Push failed" in last["result"]
    assert alice_token not in json.dumps(outputs, default=str)
    assert "model.safetensors" not in hub.files("alice/flaky")

    assert last["result"].count("Push failed") == 1, last["result"]

    # A retry that fails too names no folder of the server.
    run_id = last["events"]["run_id"]
    run_dir = str(studio.ctx.jobs.run_dir(studio.identity(visitor), run_id))
    notice, answer = studio.client.predict(
        visitor=visitor, token=alice_token, run_id=run_id, repo_id="", api_name="/ui_retry_push"
    )
    assert answer["pushed"] is False and "500" in answer["error"], answer
    assert run_dir not in value(notice) + answer["error"] and "trainer_core push" not in answer["error"]

    hub.heal()
    notice, answer = studio.client.predict(
        visitor=visitor, token=alice_token, run_id=run_id, repo_id="", api_name="/ui_retry_push"
    )
    assert answer["pushed"] is True and answer["repo_id"] == "alice/flaky", answer
    assert "✅" in value(notice)
    assert "model.safetensors" in hub.files("alice/flaky")
    assert alice_token not in value(notice) + json.dumps(answer)
    # The run's push status follows the retry: the final model now shows done, and the result no failure.
    attached = studio.client.submit(visitor=visitor, run_id=run_id, api_name="/ui_attach")
    attached.result(timeout=60)
    shown = named(attached.outputs()[-1])
    assert "final model: ✅ done" in shown["pushes"], shown["pushes"]
    assert "Push failed" not in shown["result"] and "alice/flaky" in shown["result"]

    # Without a token, retrying says how to get one.
    notice, answer = studio.client.predict(visitor=visitor, run_id=run_id, repo_id="", api_name="/ui_retry_push")
    assert answer["pushed"] is False and "token" in answer["error"]


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_second_visitor_waits_in_the_queue_and_sees_its_position(studio, sentiment_csv, tiny_model):
    jobs = studio.ctx.jobs
    first, second = "queue-first", "queue-second"
    job_a = studio.client.submit(
        visitor=first, **form(sentiment_csv, tiny_model, max_steps=5000, eval_steps=None), api_name="/ui_train"
    )
    run_a = wait_for(lambda: [r for r in jobs.list_runs(studio.identity(first)) if r.state == "running"])[0].run_id
    job_b = studio.client.submit(visitor=second, **form(sentiment_csv, tiny_model), api_name="/ui_train")
    wait_for(lambda: any(named(o)["events"] and named(o)["events"].get("state") == "queued" for o in job_b.outputs()))
    queued = next(named(o) for o in job_b.outputs() if (named(o)["events"] or {}).get("state") == "queued")
    assert "Queued (position 1 in the queue)" in queued["progress"]
    run_b = queued["events"]["run_id"]
    assert jobs.info(studio.identity(second), run_b).queue_position == 1

    # A queued run can be stopped before it starts; then the first one.
    assert studio.client.predict(visitor=second, run_id=run_b, api_name="/ui_stop")[1]["stopped"] is True
    assert studio.client.predict(visitor=first, run_id=run_a, api_name="/ui_stop")[1]["stopped"] is True
    job_a.result(timeout=120)
    job_b.result(timeout=120)
    assert jobs.info(studio.identity(first), run_a).state == "stopped"
    assert jobs.info(studio.identity(second), run_b).state == "stopped"
    assert [e["type"] for e in streamed_events(job_b)] == ["stopped"]
    assert "Stopped before it started." in named(job_b.outputs()[-1])["progress"]


def test_a_run_that_fails_while_preparing_reports_why(studio, visitor, sentiment_csv, tmp_path):
    (tmp_path / "no-model").mkdir()  # a folder, so the form takes it; no model in it, so preparing fails
    job = studio.client.submit(visitor=visitor, **form(sentiment_csv, tmp_path / "no-model"), api_name="/ui_train")
    job.result(timeout=120)
    events = streamed_events(job)
    assert [e["type"] for e in events] == ["error"]
    assert "Could not load model" in events[0]["message"]
    last = named(job.outputs()[-1])
    assert last["events"]["state"] == "failed"
    assert last["progress"].count("Failed:") == 1 and "Could not load model" in last["result"]


# ------------------------------------------------------------------------- the form, described once


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"batch_size": 0}, "Batch size must be at least 1, got 0."),
        ({"epochs": -1}, "Epochs must be at least 0, got -1."),
        ({"max_length": 4}, "Max length (tokens) must be at least 8, got 4."),
        ({"seed": 1.5}, "Seed must be a whole number, got 1.5."),
        ({"weight_decay": -0.1}, "Weight decay must be at least 0, got -0.1."),
    ],
)
def test_out_of_range_numbers_name_their_field(studio, visitor, sentiment_csv, tiny_model, overrides, field):
    outputs = named(
        studio.client.predict(visitor=visitor, **form(sentiment_csv, tiny_model, **overrides), api_name="/ui_train")
    )
    assert field in outputs["error"] and outputs["error"].startswith("⚠️")
    assert studio.ctx.jobs.list_runs(studio.identity(visitor)) == []


def test_a_preset_does_not_apply_to_another_dataset(studio, visitor, sentiment_csv, tiny_model):
    """sst2's columns (sentence, label) must not stick when the Hub dataset is the person's own file."""
    error, _cli, config_yaml = studio.client.predict(
        visitor=visitor, **form(sentiment_csv, tiny_model, task="sst2"), api_name="/ui_config"
    )
    assert value(error) == ""
    config = yaml.safe_load(config_yaml)
    assert config["task"] == "custom" and config["data"]["text_column"] is None


def test_a_chart_with_a_lone_point_is_shown_as_points_until_each_series_has_two():
    import pandas as pd

    from trainer_core.ui.train_tab import _chart_updates

    one_eval = pd.DataFrame(
        [{"step": 1, "loss": 0.7, "split": "train"}, {"step": 3, "loss": 0.6, "split": "train"},
         {"step": 3, "loss": 0.65, "split": "eval"}]
    )  # fmt: skip
    updates = _chart_updates("loss", one_eval, "split", "loss")
    assert updates["loss_points"]["visible"] is True and updates["loss_points"]["value"] is one_eval
    assert updates["loss_plot"]["visible"] is False
    two_evals = pd.concat([one_eval, pd.DataFrame([{"step": 6, "loss": 0.5, "split": "eval"}])])
    updates = _chart_updates("loss", two_evals, "split", "loss")
    assert updates["loss_plot"]["visible"] is True and updates["loss_points"]["visible"] is False
    hidden = _chart_updates("score", None, "metric", "value")
    assert hidden["score_plot"]["visible"] is False and hidden["score_points"]["visible"] is False


def test_the_train_tab_says_what_it_will_train_on(tmp_path):
    """Above Start: the dataset, split, columns, rows and labels the run will use (it never said before)."""
    from trainer_core.ui import dataset_tab
    from trainer_core.ui.context import AppContext
    from trainer_core.ui.train_tab import describe_data

    ctx = AppContext.create(tmp_path)
    values = {"source": dataset_tab.SOURCE_EXAMPLE, "example": "paraphrase.csv", "split": "train"}
    preview = {
        "dataset": "paraphrase.csv",
        "split": "train",
        "splits": {"train": 240},
        "columns": {"text": "sentence1", "text_pair": "sentence2", "label": "label"},
        "label_names": ["different", "paraphrase"],
    }
    line = describe_data(ctx, values, preview)
    assert "`trainer_core/examples/paraphrase.csv`" in line and "split `train`" in line
    assert "second text `sentence2`" in line and "240 rows" in line
    assert "labels `different`, `paraphrase`" in line
    chosen = describe_data(ctx, {**values, "label_column": "label"}, None)
    assert "label `label`" in chosen and "press **Preview**" in chosen
    assert "none chosen yet" in describe_data(ctx, {"source": dataset_tab.SOURCE_HUB, "dataset": ""}, None)


def test_on_zerogpu_the_train_tab_says_what_a_run_needs_and_offers_what_fits(tmp_path, tiny_model):
    """Before Start: steps, GPU seconds, calls and days of the visitor's quota; options that fit set the form."""
    import dataclasses as dc

    from trainer_core import plan
    from trainer_core.runtime import Hardware
    from trainer_core.ui import dataset_tab, form
    from trainer_core.ui.context import AppContext
    from trainer_core.ui.train_tab import NO_PLAN, plan_apply, plan_ui

    ctx = dc.replace(AppContext.create(tmp_path), hardware=Hardware("zerogpu", "ZeroGPU", 1, True))
    data = {key: None for key in dataset_tab.DATA_KEYS} | {
        "source": dataset_tab.SOURCE_EXAMPLE, "example": "sentiment.csv", "split": "train"}  # fmt: skip
    values = form.form_defaults({"model": str(tiny_model), "max_length": 32})
    preview = {"dataset": "sentiment.csv", "split": "train", "splits": {"train": 320}, "token_stats": {"mean": 11.5}}
    text, choices, apply = plan_ui(ctx, "visitor", preview, data, values, None)
    assert "**What this run needs:**" in text and "fits in one GPU call" in text, text
    assert "not signed in: about 2 minutes of GPU a day" in text
    assert choices["visible"] is False and apply["visible"] is False
    assert plan_ui(ctx, "visitor", None, data, values, None)[0] == NO_PLAN  # nothing counted yet: it says how

    # A base-size encoder for 2,000 steps: more than a day of an anonymous visitor's quota.
    base = tmp_path / "bert-base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12,
                                                  "intermediate_size": 3072}))  # fmt: skip
    big = values | {"model": str(base), "max_steps": 2000, "batch_size": 32, "max_length": 128}
    text, choices, apply = plan_ui(ctx, "visitor", preview | {"token_stats": {"mean": 120}}, data, big, None)
    assert "days of your GPU quota" in text and "**What fits instead:**" in text, text
    assert "python -m trainer_core train" in text and "--max-steps 2000" in text  # the exact command
    assert choices["visible"] is True and apply["visible"] is True
    offered = dict((label, change) for label, change in choices["choices"])
    steps = next(change for label, change in offered.items() if label.startswith("Max steps"))
    assert 0 < plan_apply(steps)["max_steps"] < 2000
    assert any(plan_apply(change) == {"model": name} for change in offered.values() for name, _ in plan.SMALLER_MODELS)
