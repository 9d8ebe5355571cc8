"""Loading, column detection, label encoding, splitting, preview and tokenization of datasets."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from tiny import paraphrase_rows, sentiment_rows, write_csv

from trainer_core import data as data_lib
from trainer_core.config import DataConfig
from trainer_core.errors import InputError
from trainer_core.tasks import get_preset

pytest_plugins = ["core_fixtures"]  # tiny_model, tiny_tokenizer, sentiment_run, single_thread


def table(**columns) -> Dataset:
    return Dataset.from_dict(columns)


def raw_of(**splits: Dataset) -> DatasetDict:
    return DatasetDict(splits)


def features(**kinds: str) -> Features:
    return Features({name: Value(dtype) for name, dtype in kinds.items()})


def prepare(raw: DatasetDict, **options):
    seed = options.pop("seed", 42)
    preset = options.pop("preset", None)
    return data_lib.prepare(DataConfig(dataset="memory", **options), raw, preset=preset, seed=seed)


# ------------------------------------------------------------------------------ column detection


@pytest.mark.parametrize("text", ["text", "sentence", "document", "review", "Review"])
@pytest.mark.parametrize("label", ["label", "labels", "sentiment"])
def test_text_and_label_columns_are_detected(text, label):
    spec = data_lib.detect_columns(features(id="int64", **{text: "string", label: "int64"}))
    assert (spec.text, spec.text_pair, spec.label) == (text, None, label)


def test_sentence_pairs_are_detected():
    spec = data_lib.detect_columns(features(idx="int32", sentence1="string", sentence2="string", label="int64"))
    assert (spec.text, spec.text_pair, spec.label) == ("sentence1", "sentence2", "label")
    assert spec.text_columns == ["sentence1", "sentence2"]


def test_a_lone_string_column_is_the_text():
    spec = data_lib.detect_columns(features(tweet_body="string", label="int64"))
    assert spec.text == "tweet_body"


def test_a_class_label_column_is_the_label_whatever_its_name():
    feats = Features({"text": Value("string"), "verdict": ClassLabel(names=["no", "yes"])})
    assert data_lib.detect_columns(feats).label == "verdict"


def test_missing_text_column_lists_the_columns_found():
    with pytest.raises(InputError) as caught:
        data_lib.detect_columns(features(a="string", b="string", label="int64"))
    message = str(caught.value)
    assert "No text column found" in message
    assert "Columns found: a, b, label" in message
    assert "--text-column" in message


def test_named_column_that_does_not_exist_lists_the_columns_found():
    with pytest.raises(InputError) as caught:
        data_lib.detect_columns(features(review="string", stars="int64"), text="body")
    assert "The text column 'body' is not in the dataset. Columns found: review, stars" in str(caught.value)


def test_missing_label_column_lists_the_columns_found():
    with pytest.raises(InputError) as caught:
        data_lib.detect_columns(features(text="string", score_a="float32"))
    assert "No label column found. Columns found: text, score_a" in str(caught.value)


def test_text_column_that_is_not_text_is_rejected():
    with pytest.raises(InputError, match="The text column 'text' holds values of type int64, not text"):
        data_lib.detect_columns(features(text="int64", label="int64"))


def test_preset_columns_are_used_when_present():
    spec = data_lib.detect_columns(
        features(idx="int32", sentence1="string", sentence2="string", label="int64"), preset=get_preset("mrpc")
    )
    assert (spec.text, spec.text_pair) == ("sentence1", "sentence2")


# -------------------------------------------------------------------------------------- labels


def test_string_labels_are_encoded_with_sorted_names():
    raw = raw_of(
        train=table(text=[f"text {i}" for i in range(12)], label=["pos", "neg", "neutral", "pos"] * 3),
        validation=table(text=["a", "b", "c"], label=["neutral", "pos", "neg"]),
    )
    prepared = prepare(raw)
    assert prepared.label_names == ["neg", "neutral", "pos"]
    assert prepared.train.features["label"] == ClassLabel(names=["neg", "neutral", "pos"])
    assert prepared.train["label"] == [2, 0, 1, 2] * 3
    assert prepared.eval["label"] == [1, 2, 0]
    assert prepared.eval_source == "validation"


def test_string_labels_are_stripped_before_encoding():
    raw = raw_of(train=table(text=["a", "b", "c", "d"], label=["pos ", " neg", "pos", "neg"]))
    prepared = prepare(raw, validation_size=0.5)
    assert prepared.label_names == ["neg", "pos"]


def test_integer_labels_keep_their_ids():
    raw = raw_of(
        train=table(text=[f"t{i}" for i in range(9)], label=[0, 1, 2] * 3),
        validation=table(text=["x", "y"], label=[2, 0]),
    )
    prepared = prepare(raw)
    assert prepared.label_names == ["0", "1", "2"]
    assert prepared.train["label"] == [0, 1, 2] * 3
    assert prepared.eval["label"] == [2, 0]


def test_integer_labels_take_the_preset_names():
    raw = raw_of(
        train=table(sentence=["good", "bad", "fine", "awful"], label=[1, 0, 1, 0]),
        validation=table(sentence=["ok", "meh"], label=[1, 0]),
    )
    prepared = prepare(raw, preset=get_preset("sst2"))
    assert prepared.label_names == ["negative", "positive"]


def test_class_label_names_are_kept():
    feats = Features({"text": Value("string"), "label": ClassLabel(names=["sad", "happy"])})
    train = Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [0, 1, 1, 0]}, features=feats)
    valid = Dataset.from_dict({"text": ["e", "f"], "label": [1, 0]}, features=feats)
    prepared = prepare(raw_of(train=train, validation=valid))
    assert prepared.label_names == ["sad", "happy"]
    assert prepared.train["label"] == [0, 1, 1, 0]


def test_non_contiguous_integer_labels_are_remapped():
    stars = [1, 2, 3, 4, 5] * 4
    raw = raw_of(
        train=table(review=[f"review {i}" for i in range(20)], stars=stars),
        test=table(review=["one", "five"], stars=[1, 5]),
    )
    prepared = prepare(raw)
    assert prepared.label_names == ["1", "2", "3", "4", "5"]
    assert sorted(set(prepared.train["label"])) == [0, 1, 2, 3, 4]
    assert prepared.train["label"][:5] == [0, 1, 2, 3, 4]
    assert prepared.eval["label"] == [0, 4]
    assert prepared.eval_source == "test"


def test_eval_labels_never_seen_in_train_are_named():
    raw = raw_of(
        train=table(text=["a", "b", "c", "d"], label=["pos", "neg", "pos", "neg"]),
        validation=table(text=["e", "f", "g"], label=["pos", "mixed", "unsure"]),
    )
    with pytest.raises(InputError) as caught:
        prepare(raw)
    message = str(caught.value)
    assert "The validation split has labels never seen in the training split: mixed, unsure" in message
    assert "Known labels: neg, pos" in message


def test_eval_integer_labels_outside_train_are_named():
    raw = raw_of(
        train=table(text=["a", "b", "c", "d"], stars=[1, 2, 1, 2]),
        validation=table(text=["e", "f"], stars=[2, 7]),
    )
    with pytest.raises(InputError, match="labels never seen in the training split: 7"):
        prepare(raw)


def test_a_single_class_is_rejected():
    raw = raw_of(train=table(text=["a", "b", "c", "d"], label=["pos"] * 4))
    with pytest.raises(InputError) as caught:
        prepare(raw)
    assert "single class (pos)" in str(caught.value)
    assert "at least two classes" in str(caught.value)


def test_rows_without_a_label_are_dropped_and_counted():
    raw = raw_of(
        train=table(text=["a", "b", "c", "d", "e", "f"], label=["pos", None, "neg", "pos", " ", "neg"]),
        validation=table(text=["x", "y"], label=["pos", "neg"]),
    )
    prepared = prepare(raw)
    assert len(prepared.train) == 4
    assert [(p.kind, p.count) for p in prepared.problems] == [("missing_label", 2)]


# ---------------------------------------------------------------------------------- cleaning


def test_empty_texts_are_dropped_and_counted():
    raw = raw_of(
        train=table(text=["good", "", "bad", "   ", None, "fine", "awful", "nice"], label=[1, 0, 0, 1, 0, 1, 0, 1]),
        validation=table(text=["ok", "", "meh"], label=[1, 0, 0]),
    )
    prepared = prepare(raw)
    assert prepared.train["text"] == ["good", "bad", "fine", "awful", "nice"]
    assert prepared.eval["text"] == ["ok", "meh"]
    problems = {(p.kind, p.count) for p in prepared.problems}
    assert problems == {("empty_text", 3), ("empty_text", 1)}
    assert all("empty" in p.message for p in prepared.problems)


def test_a_pair_with_one_empty_side_is_dropped():
    rows = paraphrase_rows(8)
    rows[2]["sentence2"] = ""
    raw = raw_of(train=Dataset.from_list(rows))
    prepared = prepare(raw, validation_size=0.25)
    assert len(prepared.train) + len(prepared.eval) == 7
    assert prepared.columns.text_pair == "sentence2"


def test_prepared_splits_keep_only_the_used_columns():
    raw = raw_of(train=table(id=list(range(8)), text=[f"t{i}" for i in range(8)], label=[0, 1] * 4, note=["x"] * 8))
    prepared = prepare(raw)
    assert prepared.train.column_names == ["text", "label"]
    assert prepared.eval.column_names == ["text", "label"]


# ----------------------------------------------------------------------------- eval split choice


def test_without_validation_split_a_stratified_slice_is_held_out():
    rows = sentiment_rows(60, seed=3)
    raw = raw_of(train=Dataset.from_list(rows))
    prepared = prepare(raw, validation_size=0.2, seed=5)
    assert len(prepared.train) == 48 and len(prepared.eval) == 12
    assert Counter(prepared.train["label"]) == {0: 24, 1: 24}
    assert Counter(prepared.eval["label"]) == {0: 6, 1: 6}
    assert prepared.eval_source == "20% of 'train' held out (seed 5)"

    again = prepare(raw, validation_size=0.2, seed=5)
    assert again.eval["text"] == prepared.eval["text"]
    other = prepare(raw, validation_size=0.2, seed=6)
    assert other.eval["text"] != prepared.eval["text"]


def test_an_unbalanced_minority_class_appears_in_both_parts():
    labels = [1] * 4 + [0] * 36
    raw = raw_of(train=table(text=[f"text {i}" for i in range(40)], label=labels))
    prepared = prepare(raw, validation_size=0.25, seed=0)
    assert set(prepared.train["label"]) == {0, 1}
    assert set(prepared.eval["label"]) == {0, 1}


def test_glue_style_unlabelled_test_split_is_skipped():
    raw = raw_of(
        train=table(sentence=[f"s{i}" for i in range(10)], label=[0, 1] * 5),
        test=table(sentence=["t1", "t2", "t3"], label=[-1, -1, -1]),
    )
    prepared = prepare(raw, validation_size=0.2)
    assert prepared.eval_source.startswith("20% of 'train' held out")
    assert len(prepared.eval) == 2


def test_validation_is_preferred_over_test():
    raw = raw_of(
        train=table(text=[f"s{i}" for i in range(6)], label=[0, 1] * 3),
        test=table(text=["t"], label=[1]),
        validation=table(text=["v1", "v2"], label=[0, 1]),
    )
    assert prepare(raw).eval_source == "validation"


def test_labelled_rows_of_a_partly_labelled_eval_split_are_kept():
    raw = raw_of(
        train=table(text=[f"s{i}" for i in range(6)], label=[0, 1] * 3),
        validation=table(text=["v1", "v2", "v3"], label=[0, -1, 1]),
    )
    prepared = prepare(raw)
    assert prepared.eval["text"] == ["v1", "v3"]
    assert ("missing_label", 1) in [(p.kind, p.count) for p in prepared.problems]


def test_unknown_eval_split_lists_the_splits():
    raw = raw_of(train=table(text=["a", "b"], label=[0, 1]), test=table(text=["c"], label=[0]))
    with pytest.raises(InputError, match=r"Split 'dev' does not exist in 'memory'\. Available splits: train, test\."):
        prepare(raw, eval_split="dev")


def test_unknown_train_split_lists_the_splits():
    raw = raw_of(train=table(text=["a", "b"], label=[0, 1]))
    with pytest.raises(InputError, match=r"Split 'training' does not exist in 'memory'\. Available splits: train\."):
        prepare(raw, train_split="training")


def test_sample_limits_are_seeded():
    raw = raw_of(train=Dataset.from_list(sentiment_rows(100)))
    first = prepare(raw, max_train_samples=20, max_eval_samples=5)
    second = prepare(raw, max_train_samples=20, max_eval_samples=5)
    assert (len(first.train), len(first.eval)) == (20, 5)
    assert first.train["text"] == second.train["text"]


# ------------------------------------------------------------------------------------ local files


def test_local_csv_loads_as_a_train_split(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", sentiment_rows(20, string_labels=True))
    raw = data_lib.load_raw(DataConfig(dataset=str(path)))
    assert list(raw) == ["train"]
    prepared = data_lib.prepare(DataConfig(dataset=str(path)), raw)
    assert prepared.label_names == ["negative", "positive"]


def test_local_csv_with_blank_labels_reads_integers(tmp_path):
    rows = sentiment_rows(10)
    rows[3]["label"] = None  # pandas reads the column as float with a NaN
    path = write_csv(tmp_path / "gaps.csv", rows)
    cfg = DataConfig(dataset=str(path), validation_size=0.3)
    prepared = data_lib.prepare(cfg, data_lib.load_raw(cfg))
    assert prepared.label_names == ["0", "1"]
    assert len(prepared.train) + len(prepared.eval) == 9


def test_local_json_lines_with_pairs(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in paraphrase_rows(10)), encoding="utf-8")
    cfg = DataConfig(dataset=str(path), validation_size=0.2)
    prepared = data_lib.prepare(cfg, data_lib.load_raw(cfg))
    assert (prepared.columns.text, prepared.columns.text_pair) == ("sentence1", "sentence2")


def test_local_json_array(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(sentiment_rows(10, string_labels=True)), encoding="utf-8")
    raw = data_lib.load_raw(DataConfig(dataset=str(path)))
    assert raw["train"].num_rows == 10


def test_missing_local_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="File not found"):
        data_lib.load_raw(DataConfig(dataset=str(tmp_path / "nope.csv")))


def test_no_dataset_is_an_input_error():
    with pytest.raises(InputError, match="No dataset given"):
        data_lib.load_raw(DataConfig())


# ------------------------------------------------------------------------------------- preview


def preview_rows() -> list[dict]:
    rows = sentiment_rows(40, seed=1, string_labels=True, long_tail=True)
    rows.append({"text": "", "label": "positive"})
    rows.append(dict(rows[0]))
    return rows


def test_preview_reports_splits_features_columns_labels_and_problems(tiny_tokenizer):
    rows = preview_rows()
    raw = raw_of(train=Dataset.from_list(rows), test=Dataset.from_list(sentiment_rows(5, string_labels=True)))
    result = data_lib.preview(DataConfig(dataset="memory", max_length=16), tokenizer=tiny_tokenizer, raw=raw, rows=3)

    assert result.split == "train"
    assert result.splits == {"train": 42, "test": 5}
    assert set(result.features) == {"text", "label"}
    assert result.columns.text == "text" and result.columns.label == "label"
    assert result.label_names == ["negative", "positive"]
    expected = Counter(row["label"] for row in rows)
    assert result.label_counts == dict(expected)
    assert len(result.rows) == 3 and result.rows_scanned == 42

    lengths = [len(tiny_tokenizer(row["text"])["input_ids"]) for row in rows if row["text"]]
    stats = result.token_stats
    assert stats.rows == len(lengths) == 41
    assert stats.max == max(lengths)
    assert stats.mean == pytest.approx(sum(lengths) / len(lengths), abs=0.01)
    assert stats.max_length == 16
    truncated = sum(length > 16 for length in lengths)
    assert truncated > 0
    assert stats.truncated == truncated
    assert stats.truncated_share == pytest.approx(truncated / len(lengths), abs=1e-4)
    assert min(lengths) <= stats.p95 <= stats.max
    assert sum(stats.histogram) == stats.rows

    problems = {p.kind: p for p in result.problems}
    assert problems["empty_text"].count == 1
    assert problems["duplicates"].count == 1
    assert problems["truncated"].count == truncated
    assert "max_length=16" in problems["truncated"].message

    as_dict = result.to_dict()
    json.dumps(as_dict)  # plain data, ready for --json
    assert as_dict["token_stats"]["truncated"] == truncated


def test_preview_without_max_length_uses_the_default(tiny_tokenizer):
    raw = raw_of(train=Dataset.from_list(sentiment_rows(10)))
    result = data_lib.preview(DataConfig(dataset="memory"), tokenizer=tiny_tokenizer, raw=raw)
    assert result.token_stats.max_length == 256
    assert result.token_stats.truncated == 0


def test_preview_of_a_pair_dataset_measures_both_texts(tiny_tokenizer):
    rows = paraphrase_rows(6)
    raw = raw_of(train=Dataset.from_list(rows))
    result = data_lib.preview(DataConfig(dataset="memory", max_length=64), tokenizer=tiny_tokenizer, raw=raw)
    assert result.columns.text_pair == "sentence2"
    assert result.token_stats.max == 4 + 4 + 3  # [CLS] a [SEP] b [SEP]


def test_preview_of_a_split_without_labels_counts_them_as_a_problem():
    raw = raw_of(
        train=table(sentence=["a", "b"], label=[0, 1]),
        test=table(sentence=["c", "d", "e"], label=[-1, -1, -1]),
    )
    result = data_lib.preview(DataConfig(dataset="memory", max_length=32), split="test", raw=raw)
    assert result.split == "test"
    assert result.token_stats is None
    kinds = {p.kind: p.count for p in result.problems}
    assert kinds["unknown_label"] == 3


def test_preview_reports_column_problems_instead_of_failing():
    raw = raw_of(train=table(a=[1, 2], b=[3, 4]))
    result = data_lib.preview(DataConfig(dataset="memory"), raw=raw)
    assert result.columns is None
    assert result.problems[0].kind == "columns"
    assert "Columns found: a, b" in result.problems[0].message


def test_preview_flags_a_single_class():
    raw = raw_of(train=table(text=["a", "b", "c"], label=["x", "x", "x"]))
    kinds = [p.kind for p in data_lib.preview(DataConfig(dataset="memory"), raw=raw).problems]
    assert "single_class" in kinds


def test_preview_of_an_unknown_split_lists_the_splits():
    raw = raw_of(train=table(text=["a"], label=[0]), validation=table(text=["b"], label=[1]))
    with pytest.raises(InputError, match="Available splits: train, validation"):
        data_lib.preview(DataConfig(dataset="memory"), split="test", raw=raw)


def test_preview_of_a_local_file_shows_its_name(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", sentiment_rows(4))
    result = data_lib.preview(DataConfig(dataset=str(path)))
    assert result.dataset == "reviews.csv"
    assert result.splits == {"train": 4}


# -------------------------------------------------------------------------------- tokenization


def test_tokenize_records_lengths_and_truncates(tiny_tokenizer):
    rows = sentiment_rows(12, seed=2, long_tail=True)
    prepared = prepare(raw_of(train=Dataset.from_list(rows)), validation_size=0.25)
    tokenized = data_lib.tokenize(prepared.train, tiny_tokenizer, prepared.columns, max_length=12)
    assert set(tokenized.column_names) == {"label", "input_ids", "token_type_ids", "attention_mask", "length"}
    for row in tokenized:
        assert row["length"] == len(row["input_ids"]) <= 12
        assert row["input_ids"][0] == tiny_tokenizer.cls_token_id
        assert row["input_ids"][-1] == tiny_tokenizer.sep_token_id
    assert tokenized["label"] == prepared.train["label"]


def test_tokenize_encodes_pairs_with_two_segments(tiny_tokenizer):
    prepared = prepare(raw_of(train=Dataset.from_list(paraphrase_rows(8))), validation_size=0.25)
    tokenized = data_lib.tokenize(prepared.train, tiny_tokenizer, prepared.columns, max_length=64)
    row = tokenized[0]
    assert row["input_ids"].count(tiny_tokenizer.sep_token_id) == 2
    assert set(row["token_type_ids"]) == {0, 1}
    first_sep = row["input_ids"].index(tiny_tokenizer.sep_token_id)
    assert row["token_type_ids"][: first_sep + 1] == [0] * (first_sep + 1)
    assert row["token_type_ids"][first_sep + 1 :] == [1] * (len(row["input_ids"]) - first_sep - 1)
    assert row["length"] == len(row["input_ids"]) == 11


def test_a_small_dataset_still_holds_out_every_class():
    # 10% of 8 rows is one row, too few for two classes: the held-out slice grows to one row per class.
    raw = raw_of(train=table(text=[f"t{i}" for i in range(8)], label=[0, 1] * 4))
    prepared = prepare(raw)
    assert sorted(prepared.eval["label"]) == [0, 1]
    assert sorted(set(prepared.train["label"])) == [0, 1]
    assert len(prepared.train) == 6


def test_a_large_validation_share_of_few_rows_leaves_training_rows():
    raw = raw_of(train=table(text=["a", "b", "c", "d"], label=[0, 1, 0, 1]))
    prepared = prepare(raw, validation_size=0.89)
    assert len(prepared.train) >= 1 and len(prepared.eval) >= 1


# ------------------------------------------------------------------ preview and training agree


def test_negative_integer_labels_are_dropped_by_preview_and_training_alike():
    # {-1, 0, 1, 5}: 5 makes the ids non-contiguous, so the labels are re-encoded; -1 still means "no label".
    labels = [-1, 0, 1, 5] * 6
    raw = raw_of(train=table(text=[f"text {i}" for i in range(len(labels))], label=labels))

    shown = data_lib.preview(DataConfig(dataset="memory"), raw=raw)
    assert shown.label_names == ["0", "1", "5"]
    assert shown.label_counts == {"0": 6, "1": 6, "5": 6}
    (dropped,) = [p for p in shown.problems if p.kind == "unknown_label"]
    assert dropped.count == 6
    assert "training drops them" in dropped.message

    prepared = prepare(raw, validation_size=0.2)
    assert prepared.label_names == ["0", "1", "5"]
    assert len(prepared.train) + len(prepared.eval) == 18
    (problem,) = [p for p in prepared.problems if p.kind == "missing_label"]
    assert problem.count == dropped.count
    assert "-1" in problem.message


def test_negative_labels_in_an_eval_split_are_dropped_not_unknown():
    raw = raw_of(
        train=table(text=[f"t{i}" for i in range(9)], label=[0, 1, 5] * 3),
        validation=table(text=["x", "y", "z"], label=[5, -1, 0]),
    )
    prepared = prepare(raw)
    assert [prepared.label_names[i] for i in prepared.eval["label"]] == ["5", "0"]


def test_label_names_that_look_negative_are_kept_as_names():
    raw = raw_of(train=table(text=[f"t{i}" for i in range(6)], label=["-1", "up", "-1", "up", "-1", "up"]))
    prepared = prepare(raw, validation_size=0.3)
    assert prepared.label_names == ["-1", "up"]
    assert len(prepared.train) + len(prepared.eval) == 6


def test_a_thousand_labels_with_one_row_each_are_refused_before_training():
    raw = raw_of(train=table(text=[f"text {i}" for i in range(1000)], label=[f"id-{i}" for i in range(1000)]))
    with pytest.raises(InputError) as caught:
        prepare(raw)
    message = str(caught.value)
    assert "has 1000 classes for 1000 rows (1000 classes have a single row, 0 have two)" in message
    assert "not an id or free text" in message

    shown = data_lib.preview(DataConfig(dataset="memory"), raw=raw)
    (problem,) = [p for p in shown.problems if p.kind == "too_many_classes"]
    assert "1000 classes for 1000 rows" in problem.message


def test_ten_thousand_labels_with_two_rows_each_are_refused_by_training_as_the_preview_says():
    # Before, training let an average of two rows per class through, while the preview, scanning the first
    # 5,000 rows, said "Training refuses this": one rule, read the same way by both, now refuses it.
    labels = [f"item-{i // 2}" for i in range(20_000)]
    raw = raw_of(train=table(text=[f"review {i} of {label}" for i, label in enumerate(labels)], label=labels))
    with pytest.raises(InputError) as caught:
        prepare(raw)
    message = str(caught.value)
    assert "has 10000 classes for 20000 rows (0 classes have a single row, 10000 have two)" in message
    assert "Nothing was trained" in message

    shown = data_lib.preview(DataConfig(dataset="memory"), raw=raw)
    (problem,) = [p for p in shown.problems if p.kind == "too_many_classes"]
    assert "In the 5000 rows scanned" in problem.message and "training refuses" in problem.message


def test_the_preview_of_a_partial_scan_does_not_promise_a_refusal():
    # 1,000 classes of 10 rows each, shuffled: the 300 rows scanned look like an id column, the whole split does
    # not, and training accepts it; the preview says what it saw and what training would do with the whole split.
    import random

    labels = [f"c{i % 1000}" for i in range(10_000)]
    random.Random(0).shuffle(labels)
    raw = raw_of(train=table(text=[f"text {i}" for i in range(len(labels))], label=labels))
    assert len(prepare(raw, validation_size=0.1).label_names) == 1000

    shown = data_lib.preview(DataConfig(dataset="memory"), raw=raw, scan_rows=300)
    (problem,) = [p for p in shown.problems if p.kind == "too_many_classes"]
    assert problem.message.startswith("In the 300 rows scanned (of 10000)")
    assert "Training refuses this" not in problem.message
    assert "If the whole split holds as few rows per class, training refuses it." in problem.message


def test_a_few_rare_classes_are_a_warning_not_an_error():
    labels = ["a"] * 10 + ["b"] * 10 + ["c"]
    raw = raw_of(
        train=table(text=[f"t{i}" for i in range(len(labels))], label=labels),
        validation=table(text=["x", "y"], label=["a", "b"]),
    )
    prepared = prepare(raw)
    (problem,) = [p for p in prepared.problems if p.kind == "rare_classes"]
    assert problem.count == 1
    assert "(c)" in problem.message
    shown = data_lib.preview(DataConfig(dataset="memory"), raw=raw)
    assert [p.kind for p in shown.problems if p.kind == "rare_classes"] == ["rare_classes"]


# ----------------------------------------------------------------------- bounded tokenizer work


class LengthGuard:
    """Wraps a tokenizer and refuses any text longer than ``limit`` characters, so a test of the cut
    fails at once on code that hands a huge text to the tokenizer (instead of using gigabytes)."""

    def __init__(self, tokenizer, limit: int) -> None:
        self.tokenizer, self.limit, self.longest = tokenizer, limit, 0

    def __call__(self, texts, pairs=None, **kwargs):
        for text in [*texts, *(pairs or [])]:
            self.longest = max(self.longest, len(text))
            assert len(text) <= self.limit, f"the tokenizer got a text of {len(text):,} characters"
        return self.tokenizer(texts, pairs, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def long_pairs(n: int, words: int) -> list[dict]:
    return [{"sentence1": "good film " * words, "sentence2": "bad plot " * words, "label": i % 2} for i in range(n)]


def test_cut_text_keeps_short_texts_and_non_strings():
    assert data_lib.cut_text("short", 16) == "short"
    assert data_lib.cut_text(None, 16) is None
    assert data_lib.cut_text("x" * 10_000, 16) == "x" * (16 * data_lib.CHARS_PER_TOKEN)


def test_ten_long_pairs_are_cut_before_tokenization(tiny_tokenizer):
    # 10 pairs of 200,000 words each: uncut, pair truncation took 6.8 GB (huggingface/tokenizers#2035).
    prepared = prepare(raw_of(train=Dataset.from_list(long_pairs(10, 100_000))), validation_size=0.2)
    guard = LengthGuard(tiny_tokenizer, limit=32 * data_lib.CHARS_PER_TOKEN)
    tokenized = data_lib.tokenize(prepared.train, guard, prepared.columns, max_length=32)
    assert guard.longest == 32 * data_lib.CHARS_PER_TOKEN
    assert len(tokenized) == len(prepared.train)
    assert all(length == 32 for length in tokenized["length"])


def test_the_cut_does_not_change_what_truncation_keeps(tiny_tokenizer):
    rows = long_pairs(4, 500)  # 5,000 characters per text: well past the cut at max_length 16
    prepared = prepare(raw_of(train=Dataset.from_list(rows)), validation_size=0.25)
    tokenized = data_lib.tokenize(prepared.train, tiny_tokenizer, prepared.columns, max_length=16)
    uncut = tiny_tokenizer(
        list(prepared.train["sentence1"]), list(prepared.train["sentence2"]), truncation=True, max_length=16
    )["input_ids"]
    assert tokenized["input_ids"] == uncut


def test_preview_measures_cut_texts_and_still_counts_them_as_truncated(tiny_tokenizer):
    rows = long_pairs(6, 50_000)
    raw = raw_of(train=Dataset.from_list(rows))
    limit = data_lib.PREVIEW_MEASURED_TOKENS * data_lib.CHARS_PER_TOKEN
    guard = LengthGuard(tiny_tokenizer, limit=limit)
    shown = data_lib.preview(DataConfig(dataset="memory", max_length=64), tokenizer=guard, raw=raw)
    assert guard.longest == limit
    assert shown.token_stats.truncated == 6
    assert shown.token_stats.max > 64


@pytest.mark.slow
def test_training_on_ten_long_pairs_stays_within_memory(tiny_model, tmp_path):
    """A separate process trains on 10 pairs of 200,000 words and reports its peak RSS."""
    import subprocess
    import sys

    dataset = write_csv(tmp_path / "pairs.csv", long_pairs(10, 100_000))
    script = f"""
import resource
from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
from trainer_core.training import train
config = TrainConfig(
    data=DataConfig(dataset={str(dataset)!r}, max_length=32, validation_size=0.2),
    model=ModelConfig(model={str(tiny_model)!r}),
    training=TrainingConfig(output_dir={str(tmp_path / "out")!r}, max_steps=2, batch_size=4, learning_rate=1e-3),
)
train(config)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    peak_mib = int(done.stdout.strip().splitlines()[-1])
    assert peak_mib < 2048, f"peak RSS {peak_mib} MiB"


def test_preview_of_a_big_local_file_reads_only_the_scanned_rows(tmp_path, monkeypatch):
    import trainer_core.files as files

    monkeypatch.setattr(files, "_SAMPLE_START", 16 * 1024)  # the file stays small; the prefix smaller still
    rows = sentiment_rows(20_000, seed=3)
    path = write_csv(tmp_path / "big.csv", rows)
    read = []
    real = files._parse_text
    monkeypatch.setattr(files, "_parse_text", lambda data, *a: read.append(len(data)) or real(data, *a))

    shown = data_lib.preview(DataConfig(dataset=str(path)), scan_rows=200, rows=3)
    assert shown.splits == {"train": None}  # not counted: that would mean reading the whole file
    assert shown.rows_scanned == 200
    assert sum(shown.label_counts.values()) == 200
    assert shown.rows[0]["text"] == rows[0]["text"]
    assert max(read) < path.stat().st_size / 10


def test_preview_of_a_small_local_file_counts_its_rows(tmp_path):
    path = write_csv(tmp_path / "small.csv", sentiment_rows(30))
    assert data_lib.preview(DataConfig(dataset=str(path)), scan_rows=200).splits == {"train": 30}


def test_a_huge_max_length_does_not_lift_the_preview_cut(tiny_tokenizer):
    raw = raw_of(train=Dataset.from_list(long_pairs(2, 200_000)))
    limit = 8 * data_lib.PREVIEW_MEASURED_TOKENS * data_lib.CHARS_PER_TOKEN
    guard = LengthGuard(tiny_tokenizer, limit=limit)
    data_lib.preview(DataConfig(dataset="memory", max_length=10**9), tokenizer=guard, raw=raw)
    assert guard.longest == limit


def test_evaluation_cuts_long_pairs_before_the_tokenizer(tiny_model, tmp_path):
    from trainer_core.evaluation import evaluate_model
    from trainer_core.inference import Predictor

    predictor = Predictor(str(tiny_model), device="cpu")
    predictor.tokenizer = LengthGuard(predictor.tokenizer, limit=predictor.max_length * data_lib.CHARS_PER_TOKEN)
    path = write_csv(tmp_path / "pairs.csv", long_pairs(4, 50_000))
    report = evaluate_model(predictor, DataConfig(dataset=str(path)))
    assert report.rows == 4
    assert predictor.tokenizer.longest == predictor.max_length * data_lib.CHARS_PER_TOKEN
