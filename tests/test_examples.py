"""The example datasets shipped in trainer_core/examples/ load with the library and can be regenerated."""

from __future__ import annotations

from collections import Counter

import pytest

from trainer_core import data as data_lib
from trainer_core.config import DataConfig
from trainer_core.examples import EXAMPLES, EXAMPLES_DIR, make_examples


@pytest.mark.parametrize(
    ("name", "columns", "labels", "rows"),
    [
        ("sentiment", ("text", None), ["negative", "positive"], make_examples.SENTIMENT_ROWS),
        ("paraphrase", ("sentence1", "sentence2"), ["different", "paraphrase"], make_examples.PARAPHRASE_ROWS),
    ],
)
def test_example_loads_with_detected_columns_and_balanced_labels(name, columns, labels, rows):
    example = EXAMPLES[name]
    assert example.path.is_file()
    raw = data_lib.load_raw(DataConfig(dataset=str(example.path)))
    assert list(raw) == ["train"]
    table = raw["train"]
    assert len(table) == rows >= 200

    spec = data_lib.detect_columns(table.features)
    assert (spec.text, spec.text_pair) == columns
    assert spec.label == "label"
    assert (example.text_column, example.text_pair_column, example.label_column) == (
        spec.text,
        spec.text_pair,
        spec.label,
    )

    names, mapping = data_lib.label_names_of(table, spec.label)
    assert names == labels
    encoded, dropped = data_lib.encode_labels(table, spec.label, names, mapping, "train")
    assert dropped == 0
    counts = Counter(encoded[data_lib.LABEL])
    assert set(counts) == {0, 1}
    assert counts[0] == counts[1] == rows // 2

    kept, empty = data_lib.drop_empty_texts(encoded, spec)
    assert empty == 0 and len(kept) == rows
    for column in spec.text_columns:
        assert all(text.strip() == text and len(text) >= 10 for text in table[column])


def test_examples_have_no_duplicate_rows_and_some_long_reviews():
    sentiment = data_lib.load_local(EXAMPLES["sentiment"].path)["train"]
    assert len(set(sentiment["text"])) == len(sentiment)
    assert sum(len(text.split()) >= 40 for text in sentiment["text"]) >= 10
    pairs = data_lib.load_local(EXAMPLES["paraphrase"].path)["train"]
    assert len(set(zip(pairs["sentence1"], pairs["sentence2"], strict=True))) == len(pairs)
    assert all(a != b for a, b in zip(pairs["sentence1"], pairs["sentence2"], strict=True))


def test_prepare_holds_out_a_stratified_eval_split():
    example = EXAMPLES["paraphrase"]
    cfg = DataConfig(dataset=str(example.path))
    prepared = data_lib.prepare(cfg, data_lib.load_raw(cfg))
    assert prepared.columns.text_pair == "sentence2"
    assert set(prepared.eval["label"]) == {0, 1}
    assert len(prepared.train) + len(prepared.eval) == make_examples.PARAPHRASE_ROWS


def test_script_regenerates_the_shipped_files_byte_for_byte(tmp_path):
    written = make_examples.write_examples(tmp_path)
    assert [p.name for p in written] == ["sentiment.csv", "paraphrase.csv"]
    for path in written:
        assert path.read_bytes() == (EXAMPLES_DIR / path.name).read_bytes(), (
            f"{path.name} differs from the shipped file: run python -m trainer_core.examples.make_examples"
        )


def test_examples_readme_states_license_and_how_to_regenerate():
    text = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert "License" in text and "make_examples" in text
