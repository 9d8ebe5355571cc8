"""The Dataset tab through its API: `/upload` and `/preview` on the launched app."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gradio_client import handle_file

from trainer_core.errors import InputError
from trainer_core.jobs import owner_key
from trainer_core.ui import dataset_tab
from trainer_core.ui.uploads import store_upload

PREVIEW_OUTPUTS = (
    "error",
    "summary",
    "rows",
    "text_column",
    "text_pair_column",
    "label_column",
    "label_plot",
    "token_plot",
    "problems",
    "json",
    "upload_file",
    "upload_name",
)


def value(output):
    """An output's value: updates (e.g. a dropdown's new choices) carry it under 'value'."""
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def preview(studio, **kwargs):
    values = studio.client.predict(**kwargs, api_name="/ui_preview")
    out = {name: value(output) for name, output in zip(PREVIEW_OUTPUTS, values, strict=True)}
    out["updates"] = dict(zip(PREVIEW_OUTPUTS, values, strict=True))
    return out


def detect_label(update) -> str:
    """The label of a column dropdown's "detect" choice, which names the detected column."""
    return next(label for label, choice in update["choices"] if choice == "")


def test_preview_of_an_uploaded_csv(studio, visitor, sentiment_csv, tiny_model):
    out = preview(
        studio,
        visitor=visitor,
        source="Upload file",
        upload_file=handle_file(str(sentiment_csv)),
        tokenizer=str(tiny_model),
        max_length=16,
    )
    info = out["json"]
    assert "error" not in info
    assert info["dataset"] == "reviews.csv"
    assert info["splits"] == {"train": 48}
    assert info["columns"] == {"text": "text", "label": "label", "text_pair": None}
    assert info["label_names"] == ["negative", "positive"]
    assert info["label_counts"] == {"negative": 24, "positive": 24}
    stats = info["token_stats"]
    assert stats["rows"] == 48 and stats["max_length"] == 16
    assert stats["truncated"] > 0 and sum(stats["histogram"]) == 48
    assert any(p["kind"] == "truncated" for p in info["problems"])
    # What the page shows.
    assert "train" in out["summary"] and "48" in out["summary"]
    assert out["rows"]["headers"] == ["text", "label"] and len(out["rows"]["data"]) == 20
    # The dropdowns stay on "detect" and show what was detected (a detected name never sticks).
    assert out["text_column"] == "" and out["label_column"] == ""
    assert detect_label(out["updates"]["text_column"]) == "(detect) → text"
    assert detect_label(out["updates"]["label_column"]) == "(detect) → label"
    assert "truncated" in out["problems"]
    assert out["upload_name"] == "reviews.csv"
    # The file went to this visitor's own folder, under its sanitized name.
    stored = studio.ctx.uploads_root / owner_key(studio.identity(visitor)) / "reviews.csv"
    assert stored.read_bytes() == sentiment_csv.read_bytes()


def test_upload_then_preview_by_name_and_column_override(studio, visitor, paraphrase_csv, tiny_model):
    _error, _file, name, source = map(
        value, studio.client.predict(visitor=visitor, file=handle_file(str(paraphrase_csv)), api_name="/ui_upload")
    )
    assert name == "pairs.csv" and source == "Upload file"
    out = preview(studio, visitor=visitor, source="Upload file", upload_name=name, tokenizer=str(tiny_model))
    assert out["json"]["columns"] == {"text": "sentence1", "text_pair": "sentence2", "label": "label"}
    assert detect_label(out["updates"]["text_pair_column"]) == "(detect / none) → sentence2"
    # Overriding the detected columns: a single-text view of the same file.
    out = preview(
        studio,
        visitor=visitor,
        source="Upload file",
        upload_name=name,
        tokenizer="",
        text_column="sentence2",
        text_pair_column="",
        label_column="label",
    )
    assert out["json"]["columns"] == {"text": "sentence2", "text_pair": None, "label": "label"}
    assert out["json"]["token_stats"] is None


def test_preview_of_a_shipped_example(studio, visitor, tiny_model):
    out = preview(studio, visitor=visitor, source="Example", example="paraphrase.csv", tokenizer=str(tiny_model))
    info = out["json"]
    assert "error" not in info, info
    assert info["columns"]["text_pair"] == "sentence2"
    assert sum(info["label_counts"].values()) == info["splits"]["train"] >= 100


def test_preview_of_a_local_path_off_a_space(studio, visitor, sentiment_csv):
    out = preview(studio, visitor=visitor, source="Hub dataset", dataset=str(sentiment_csv), tokenizer="")
    assert out["json"]["splits"] == {"train": 48}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "Hub dataset", "dataset": "/no/such/file.csv"}, "File not found"),
        ({"source": "Upload file", "upload_name": "never-uploaded.csv"}, "No upload called"),
        ({"source": "Upload file", "upload_name": "../../etc/passwd.csv"}, "No upload called"),
        ({"source": "Example", "example": "../../README.md"}, "example datasets"),
        ({"source": "Hub dataset", "dataset": ""}, "Give a Hub dataset id"),
        ({"source": "Example", "example": "sentiment.csv", "split": "validation"}, "Split 'validation'"),
    ],
)
def test_bad_input_shows_an_error_and_the_app_keeps_answering(studio, visitor, kwargs, message):
    out = preview(studio, visitor=visitor, tokenizer="", **kwargs)
    assert message in out["json"]["error"]
    assert message in out["error"]
    assert out["error"].startswith("⚠️")
    # The next request is served normally.
    again = preview(studio, visitor=visitor, source="Example", example="sentiment.csv", tokenizer="")
    assert "error" not in again["json"] and again["error"] == ""


def test_a_bad_column_is_reported(studio, visitor, sentiment_csv):
    out = preview(
        studio, visitor=visitor, source="Hub dataset", dataset=str(sentiment_csv), tokenizer="", label_column="stars"
    )
    assert "The label column 'stars' is not in the dataset" in out["error"]
    assert out["json"]["columns"] is None
    assert any(p["kind"] == "columns" for p in out["json"]["problems"])


def test_an_unloadable_tokenizer_is_a_warning_not_an_error(studio, visitor, tmp_path):
    out = preview(studio, visitor=visitor, source="Example", example="sentiment.csv", tokenizer=str(tmp_path / "none"))
    assert "error" not in out["json"]
    assert out["json"]["token_stats"] is None
    assert "Token lengths not measured" in out["problems"]


def test_uploads_are_private_to_their_visitor(studio, visitor, sentiment_csv):
    studio.client.predict(visitor=visitor, file=handle_file(str(sentiment_csv)), api_name="/ui_upload")
    other = preview(studio, visitor="someone-else", source="Upload file", upload_name="reviews.csv", tokenizer="")
    assert "No upload called 'reviews.csv'" in other["json"]["error"]


def test_a_session_without_visitor_id_cannot_upload(studio, sentiment_csv):
    error, *_ = studio.client.predict(visitor=None, file=handle_file(str(sentiment_csv)), api_name="/ui_upload")
    assert "reload the page" in value(error)


# ----------------------------------------------------------------- where data may come from (no server)


def fake_ctx(tmp_path, on_space):
    from trainer_core.jobs import JobManager

    return SimpleNamespace(on_space=on_space, uploads_root=tmp_path / "uploads", jobs=JobManager(tmp_path / "runs"))


def data(ctx, identity=None, **values):
    return dataset_tab.data_config(ctx, identity, values)


def test_on_a_space_local_paths_are_refused(tmp_path, sentiment_csv):
    space, local = fake_ctx(tmp_path, True), fake_ctx(tmp_path, False)
    for path in (str(sentiment_csv), "/etc/passwd", "~/x.csv", "../data"):
        with pytest.raises(InputError, match="not a Hub dataset id"):
            data(space, source=dataset_tab.SOURCE_HUB, dataset=path)
    assert data(space, source=dataset_tab.SOURCE_HUB, dataset=" nyu-mll/glue ").dataset == "nyu-mll/glue"
    # Off a Space the same path is fine, and examples work everywhere.
    assert data(local, source=dataset_tab.SOURCE_HUB, dataset=str(sentiment_csv)).dataset == str(sentiment_csv)
    example = data(space, source=dataset_tab.SOURCE_EXAMPLE, example="sentiment.csv")
    assert example.dataset.endswith("sentiment.csv") and example.text_column == "text"
    assert data(space, source=dataset_tab.SOURCE_EXAMPLE, example="paraphrase").text_pair_column == "sentence2"
    with pytest.raises(InputError, match="example datasets"):
        data(space, source=dataset_tab.SOURCE_EXAMPLE, example="../../README.md")


def test_a_preset_applies_only_to_its_own_dataset(tmp_path, sentiment_csv):
    local = fake_ctx(tmp_path, False)
    values = {"source": dataset_tab.SOURCE_HUB, "task": "sst2"}
    own = data(local, **values, dataset=str(sentiment_csv))
    assert dataset_tab.effective_task(values, own) == "custom"
    glue = data(local, **values, dataset="nyu-mll/glue", dataset_config="sst2")
    assert dataset_tab.effective_task(values, glue) == "sst2"
    example = {"source": dataset_tab.SOURCE_EXAMPLE, "example": "sentiment.csv", "task": "sst2"}
    assert dataset_tab.effective_task(example, data(local, **example)) == "custom"


def test_uploads_resolve_inside_the_visitors_folder_only(tmp_path, sentiment_csv):
    ctx = fake_ctx(tmp_path, True)
    mine = dataset_tab.uploads_folder(ctx, "browser:me")
    name = store_upload(sentiment_csv, mine)
    upload = {"source": dataset_tab.SOURCE_UPLOAD, "upload_name": name}
    assert data(ctx, "browser:me", **upload).dataset == str(mine / name)
    with pytest.raises(InputError, match="No upload called"):
        data(ctx, "browser:someone-else", **upload)
    # Signed in, a visitor's files are filed under their Hub name instead.
    with pytest.raises(InputError, match="No upload called"):
        data(ctx, "hf:alice", **upload)
    with pytest.raises(InputError, match="reload the page"):
        data(ctx, None, **upload)


def test_a_followed_runs_data_goes_back_in_the_form(tmp_path, sentiment_csv):
    ctx = fake_ctx(tmp_path, False)
    mine = dataset_tab.uploads_folder(ctx, "browser:me")
    name = store_upload(sentiment_csv, mine)
    for values in (
        {"source": dataset_tab.SOURCE_UPLOAD, "upload_name": name, "label_column": "label"},
        {"source": dataset_tab.SOURCE_EXAMPLE, "example": "paraphrase.csv"},
        {"source": dataset_tab.SOURCE_HUB, "dataset": "owner/data", "dataset_config": "c", "split": "other"},
    ):
        cfg = data(ctx, "browser:me", **values)
        back = dataset_tab.form_for_data(ctx, "browser:me", cfg, "custom")
        assert {k: v for k, v in back.items() if k in values} == values
        assert data(ctx, "browser:me", **back) == cfg


def test_leaving_a_preset_for_ones_own_file_resets_what_the_preset_filled(studio, visitor, sentiment_csv, tiny_model):
    """IMDB's max length (512) and columns must not reach a run on the person's own file."""
    from gradio_client import handle_file

    from trainer_core.tasks import resolve_config
    from trainer_core.ui import form, train_tab

    filled = dict(
        zip(
            ("source", "dataset", "dataset_config", "split", "tokenizer", "text_column", "text_pair_column",
             "label_column", "max_length"),
            dataset_tab.apply_preset("imdb")[:9],
            strict=True,
        )
    )  # fmt: skip
    assert filled["max_length"] == "512"
    # The person picks "Upload file" (or types another dataset, or picks an example) and uploads a file.
    task, text, pair, label, max_length, config = dataset_tab.leave_preset("imdb", filled["max_length"], "")
    assert (task, text, pair, label, max_length) == ("custom", "", "", "", "")
    assert config == {"__type__": "update"}  # IMDB has no config to take back
    stored = studio.client.predict(visitor=visitor, file=handle_file(str(sentiment_csv)), api_name="/ui_upload")[2]
    values = {"source": "Upload file", "upload_name": stored["value"], "task": task, "text_column": text,
              "text_pair_column": pair, "label_column": label}  # fmt: skip
    form_values = form.form_defaults({"model": str(tiny_model), "max_length": max_length})
    run = resolve_config(train_tab.build_config(studio.ctx, studio.identity(visitor), values, form_values))
    assert run.task == "custom" and run.data.max_length == 256 and run.data.label_column is None

    # A max length the person typed after choosing the preset is theirs, and stays; so does a config of theirs.
    kept = dataset_tab.leave_preset("sst2", "300", "other")
    assert kept[4] == {"__type__": "update"} and kept[5] == {"__type__": "update"}
    assert dataset_tab.leave_preset("sst2", "66", "sst2")[4:] == ("", "")
    # Without a preset only the columns go back to detect.
    assert dataset_tab.leave_preset("custom", "300", "x")[1:4] == ("", "", "")


def test_every_way_of_leaving_a_preset_runs_the_reset(studio):
    components = {c["id"]: c.get("props", {}).get("elem_id") for c in studio.demo.config["components"]}
    dependencies = studio.demo.config["dependencies"]
    resets = ["dataset-task", "dataset-text-column", "dataset-text-pair-column", "dataset-label-column",
              "dataset-max-length", "dataset-config"]  # fmt: skip
    by_id = {d["id"]: d for d in dependencies}

    def triggers(d):
        if d.get("trigger_after") is not None:  # a .then() step: the trigger of the event it follows
            return triggers(by_id[d["trigger_after"]])
        return [(components.get(t[0]), t[1]) for t in d["targets"]]

    wired = {tuple(triggers(d)) for d in dependencies if [components.get(o) for o in d["outputs"]] == resets}
    for trigger in (("dataset-source", "input"), ("dataset-id", "input"), ("dataset-example", "change"),
                    ("dataset-upload-name", "change"), ("dataset-upload", "upload")):  # fmt: skip
        assert (trigger,) in wired, trigger
