"""Predictions from a trained (or untrained tiny) classifier, and the predictor cache."""

from __future__ import annotations

import numpy as np
import pytest

from trainer_core import inference
from trainer_core.errors import InputError
from trainer_core.inference import Predictor, get_predictor, top_label

pytest_plugins = ["core_fixtures"]  # tiny_model, tiny_tokenizer, sentiment_run, single_thread

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def trained(sentiment_run):
    return Predictor(str(sentiment_run.output_dir), device="cpu")


@pytest.fixture(scope="module")
def untrained(tiny_model):
    return Predictor(str(tiny_model), device="cpu")


@pytest.fixture
def empty_cache():
    inference.clear_cache()
    yield
    inference.clear_cache()


def test_predict_gives_a_probability_per_label(trained):
    scores = trained.predict("a wonderful and brilliant film")
    assert set(scores) == {"negative", "positive"}
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= p <= 1.0 for p in scores.values())
    assert list(scores.values()) == sorted(scores.values(), reverse=True)
    assert top_label(scores) == "positive"
    assert top_label(trained.predict("boring and awful acting")) == "negative"


def test_label_names_come_from_the_saved_model(trained, untrained):
    assert trained.label_names == ["negative", "positive"]
    assert untrained.label_names == ["LABEL_0", "LABEL_1"]
    assert untrained.max_length == 128  # the model's positions, below the 512 default


def test_batch_predictions_keep_the_input_order(trained, sentiment_run):
    texts = [row["text"] for row in sentiment_run.test_rows[:40]]
    batched = trained.predict_proba(texts, batch_size=7)
    assert batched.shape == (40, 2)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([trained.predict_proba([text])[0] for text in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_pair_prediction_encodes_two_segments(untrained, tiny_model):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    scores = untrained.predict("cat dog red", "red dog cat")
    assert set(scores) == {"LABEL_0", "LABEL_1"}
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model).eval()
    with torch.inference_mode():
        logits = model(**tokenizer("cat dog red", "red dog cat", return_tensors="pt")).logits
    expected = torch.softmax(logits, dim=-1)[0].numpy()
    np.testing.assert_allclose(untrained.predict_proba(["cat dog red"], ["red dog cat"])[0], expected, atol=1e-5)


def test_pairs_in_a_batch_must_match_the_texts(untrained):
    with pytest.raises(InputError, match="Got 2 texts but 1 second texts"):
        untrained.predict_proba(["a", "b"], ["c"])


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_text_is_an_input_error(trained, text):
    with pytest.raises(InputError, match="The text is empty"):
        trained.predict(text)


def test_empty_second_text_is_an_input_error(untrained):
    with pytest.raises(InputError, match="The second text is empty"):
        untrained.predict("cat dog", "  ")


def test_a_text_longer_than_the_model_is_truncated(trained):
    scores = trained.predict(" ".join(["great"] + ["the movie"] * 400))
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_get_predictor_caches_the_loaded_model(sentiment_run, empty_cache):
    model = str(sentiment_run.output_dir)
    first = get_predictor(model)
    assert get_predictor(model) is first
    assert first.label_names == ["negative", "positive"]


def test_the_cache_key_separates_tokens(sentiment_run, empty_cache):
    model = str(sentiment_run.output_dir)
    anonymous = get_predictor(model)
    alice = get_predictor(model, token="hf_alice_token")
    bob = get_predictor(model, token="hf_bob_token")
    assert len({id(anonymous), id(alice), id(bob)}) == 3
    assert get_predictor(model, token="hf_alice_token") is alice
    assert get_predictor(model) is anonymous
    # The raw token is never part of the key.
    assert all("hf_alice_token" not in str(key) for key in inference._CACHE)


def test_the_cache_separates_revisions_and_models(sentiment_run, tiny_model, empty_cache):
    trained_model = get_predictor(str(sentiment_run.output_dir))
    base = get_predictor(str(tiny_model))
    assert trained_model is not base
    assert get_predictor(str(tiny_model)) is base


def test_the_cache_is_bounded_and_least_recently_used_goes_first(tiny_model, tmp_path, empty_cache, monkeypatch):
    monkeypatch.setattr(inference, "CACHE_SIZE", 2)
    keep = get_predictor(str(tiny_model), token="a")
    dropped = get_predictor(str(tiny_model), token="b")
    assert get_predictor(str(tiny_model), token="a") is keep  # a is now the most recent
    get_predictor(str(tiny_model), token="c")
    assert len(inference._CACHE) == 2
    assert get_predictor(str(tiny_model), token="a") is keep
    assert get_predictor(str(tiny_model), token="b") is not dropped


def test_a_missing_model_is_an_input_error(tmp_path, empty_cache):
    with pytest.raises(InputError):
        get_predictor(str(tmp_path / "no-model"))
    assert not inference._CACHE
