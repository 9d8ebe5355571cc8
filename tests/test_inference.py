"""Predictions from a trained (or untrained tiny) classifier, and the predictor cache."""

from __future__ import annotations

import numpy as np
import pytest

from trainer_core import inference
from trainer_core.data import CHARS_PER_TOKEN, cut_text
from trainer_core.errors import InputError
from trainer_core.inference import Predictor, get_predictor, top_label
from trainer_core.textlimits import MAX_REQUEST_CHARS

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
    assert untrained.max_length == 128  # the model's positions, below the default


def test_a_model_reads_as_many_tokens_as_it_was_trained_on_else_the_one_default(trained, tmp_path):
    """The max length a run trained with (its trainer_studio.yaml), else the config's default, at most the
    model's positions: a model trained at 64 tokens is not read at 512."""
    from tiny import make_tiny_model

    from trainer_core.config import DEFAULT_MAX_LENGTH

    assert trained.max_length == 64  # tiny_train_config's max_length
    wide = Predictor(str(make_tiny_model(tmp_path / "wide", max_positions=1024)), device="cpu")
    assert wide.max_length == DEFAULT_MAX_LENGTH == 256


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


# ------------------------------------------------------------------ bounded input (issue 10, case 1)


def max_chars(max_length: int) -> int:
    return max_length * CHARS_PER_TOKEN


class RecordingTokenizer:
    """The predictor's tokenizer, noting the longest string it is handed."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.longest = 0

    def __call__(self, texts, pairs=None, **kwargs):
        for group in (texts, pairs or []):
            for text in [group] if isinstance(group, str) else group:
                self.longest = max(self.longest, len(text))
        return self.tokenizer(texts, pairs, **kwargs)


def test_texts_are_cut_to_what_the_model_reads_before_tokenization(untrained, monkeypatch):
    recorder = RecordingTokenizer(untrained.tokenizer)
    monkeypatch.setattr(untrained, "tokenizer", recorder)
    # Long enough to show the cut, short enough that an uncut pair does not eat the machine's memory.
    long = "cat dog " * 2_500  # 20,000 characters
    limit = max_chars(untrained.max_length)
    assert limit < 10_000

    probs = untrained.predict_proba([long, "red cat"], [long, long])  # batch and evaluate path
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert recorder.longest == limit

    recorder.longest = 0
    untrained.predict(long, long)  # demo and CLI path
    assert recorder.longest == limit


def test_the_cut_keeps_every_token_the_model_would_read(tiny_tokenizer):
    words = ["cat", "dog", "the", "movie", "was", "good"]
    first = " ".join(words[i % 6] for i in range(1_500))  # about 6,000 characters
    second = " ".join(words[(i * 5) % 6] for i in range(900))
    short = "the red cat sat at home"

    def encode(a, b=None, max_length=128):
        return tiny_tokenizer(a, b, truncation=True, max_length=max_length)

    for max_length in (16, 128):
        cut_first, cut_second = cut_text(first, max_length), cut_text(second, max_length)
        assert len(cut_first) == max_chars(max_length) < len(first)
        assert encode(cut_first, None, max_length) == encode(first, None, max_length)
        # A pair with one long side (a question and a document): exactly the tokens of the uncut pair.
        assert encode(cut_first, short, max_length) == encode(first, short, max_length)
        assert encode(short, cut_first, max_length) == encode(short, first, max_length)
        # Both sides long: each keeps about half of max_length either way. The tokenizer gives an odd
        # token to the longer side, which the cut can change, so the split may move by one token.
        cut, whole = encode(cut_first, cut_second, max_length), encode(first, second, max_length)
        assert len(cut["input_ids"]) == len(whole["input_ids"]) == max_length
        assert abs(sum(cut["token_type_ids"]) - sum(whole["token_type_ids"])) <= 1
        assert cut_text(short, max_length) == short
    assert [cut_text(t, 16) for t in ["a" * 5_000, None, "b"]] == ["a" * max_chars(16), None, "b"]


def test_a_text_over_the_request_limit_is_refused_with_the_sizes(untrained):
    too_long = "cat " * (MAX_REQUEST_CHARS // 4) + "x"
    with pytest.raises(InputError, match=r"The text has 100,001 characters; the limit is 100,000\..*send the start"):
        untrained.predict(too_long)
    with pytest.raises(InputError, match=r"The second text has 100,001 characters"):
        untrained.predict("cat", too_long)


# ------------------------------------------------------------------ concurrent callers share passes (case 9)


def test_concurrent_callers_are_answered_from_shared_forward_passes(trained, sentiment_run):
    """While the first caller's pass runs, the others queue; the next pass serves all of them at once."""
    import threading
    import time

    texts = [row["text"] for row in sentiment_run.test_rows[:12]]
    alone = [trained.predict(text) for text in texts]
    passes: list[int] = []

    def hold_first_pass(module, args, kwargs):
        passes.append(int(kwargs["input_ids"].shape[0]))
        if len(passes) == 1:  # keep the first pass busy until every other caller is waiting
            deadline = time.monotonic() + 20
            while len(getattr(trained, "_queue", [])) < len(texts) - 1 and time.monotonic() < deadline:
                time.sleep(0.01)

    handle = trained.model.register_forward_pre_hook(hold_first_pass, with_kwargs=True)
    answers: dict[int, dict] = {}
    try:
        threads = [
            threading.Thread(target=lambda i=i: answers.__setitem__(i, trained.predict(texts[i])))
            for i in range(len(texts))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        handle.remove()
    assert passes == [1, len(texts) - 1]
    assert sorted(answers) == list(range(len(texts)))
    for i, scores in answers.items():
        assert scores == pytest.approx(alone[i], abs=1e-5)


def test_one_callers_failure_does_not_fail_the_others_in_its_batch(untrained, monkeypatch):
    real = untrained.predict_proba

    def refuse_poison(texts, pairs=None, **kwargs):
        if "poison" in texts:
            raise InputError("poisoned")
        return real(texts, pairs, **kwargs)

    monkeypatch.setattr(untrained, "predict_proba", refuse_poison)
    from trainer_core.inference import _Pending

    batch = [_Pending("cat dog", None), _Pending("poison", None), _Pending("red", None)]
    untrained._run_gathered(batch)
    assert [p.done for p in batch] == [True, True, True]
    assert isinstance(batch[1].error, InputError)
    assert batch[0].error is None and batch[2].error is None
    np.testing.assert_allclose(batch[0].row, real(["cat dog"])[0], atol=1e-5)


def _count_passes(predictor) -> tuple[list[int], object]:
    passes: list[int] = []
    handle = predictor.model.register_forward_pre_hook(
        lambda module, args, kwargs: passes.append(int(kwargs["input_ids"].shape[0])), with_kwargs=True
    )
    return passes, handle


def test_async_callers_waiting_together_share_one_forward_pass(trained, sentiment_run):
    """The HTTP route's path: callers on an event loop are gathered without a thread each."""
    import asyncio

    texts = [row["text"] for row in sentiment_run.test_rows[:12]]
    alone = [trained.predict(text) for text in texts]
    passes, handle = _count_passes(trained)

    async def everyone():
        return await asyncio.gather(*(trained.predict_async(text) for text in texts))

    try:
        answers = asyncio.run(everyone())
    finally:
        handle.remove()
    assert passes == [len(texts)]
    for got, expected in zip(answers, alone, strict=True):
        assert got == pytest.approx(expected, abs=1e-5)
        assert list(got) == list(expected)  # highest first, as predict()


def test_async_callers_past_the_waiting_cap_are_told_to_retry(untrained, monkeypatch):
    import asyncio

    from trainer_core.errors import Busy

    monkeypatch.setattr(inference, "MAX_WAITING", 3)

    async def five():
        return await asyncio.gather(*(untrained.predict_async("cat dog") for _ in range(5)), return_exceptions=True)

    results = asyncio.run(five())
    assert [isinstance(r, dict) for r in results] == [True, True, True, False, False]
    assert all(isinstance(r, Busy) and "retry" in str(r) for r in results[3:])


def test_an_async_caller_that_gave_up_is_left_out_of_the_pass(untrained):
    import asyncio

    passes, handle = _count_passes(untrained)

    async def one_leaves():
        tasks = [asyncio.create_task(untrained.predict_async(text)) for text in ("cat", "dog", "red")]
        await asyncio.sleep(0)  # each has queued its text; the pass has not started
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(one_leaves())
    finally:
        handle.remove()
    assert isinstance(results[1], asyncio.CancelledError)
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert passes == [2]


def test_async_input_errors_are_raised_before_queueing(untrained):
    import asyncio

    with pytest.raises(InputError, match="empty"):
        asyncio.run(untrained.predict_async("   "))
    with pytest.raises(InputError, match="characters"):
        asyncio.run(untrained.predict_async("a" * (MAX_REQUEST_CHARS + 1)))


# ------------------------------------------------------------------ int8 option


def test_int8_quantization_is_offered_on_cpu_and_agrees_with_float(trained, sentiment_run):
    import torch

    quantized = Predictor(str(sentiment_run.output_dir), device="cpu", quantize=True)
    assert quantized.quantized and not trained.quantized
    from torch.ao.nn.quantized.dynamic import Linear as Int8Linear

    assert isinstance(quantized.model.classifier, Int8Linear)
    assert not any(type(m) is torch.nn.Linear for m in quantized.model.modules())
    texts = [row["text"] for row in sentiment_run.test_rows[:40]]
    fp32, int8 = trained.predict_proba(texts), quantized.predict_proba(texts)
    np.testing.assert_allclose(int8.sum(axis=1), 1.0, atol=1e-5)
    assert (fp32.argmax(axis=1) == int8.argmax(axis=1)).mean() >= 0.95


def test_int8_quantization_is_refused_off_the_cpu(tiny_model):
    with pytest.raises(InputError, match=r"int8 quantization runs on the CPU only.*'cuda'"):
        Predictor(str(tiny_model), device="cuda", quantize=True)


def test_the_cache_keeps_float_and_int8_apart(tiny_model, empty_cache):
    assert get_predictor(str(tiny_model)) is not get_predictor(str(tiny_model), quantize=True)
    assert get_predictor(str(tiny_model), quantize=True).quantized


def test_callers_of_a_cold_model_wait_for_one_load_and_share_it(tiny_model, empty_cache, monkeypatch):
    import threading

    loads: list[str] = []

    class CountingPredictor(Predictor):
        def __init__(self, model, **kwargs):
            loads.append(model)
            super().__init__(model, **kwargs)

    monkeypatch.setattr(inference, "Predictor", CountingPredictor)
    gate = threading.Barrier(8)
    got: list[Predictor] = []

    def caller():
        gate.wait(timeout=30)
        got.append(get_predictor(str(tiny_model)))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert loads == [str(tiny_model)]
    assert len(got) == 8 and all(p is got[0] for p in got)


def test_cli_predict_refuses_a_huge_text_and_offers_int8(capsys, sentiment_run):
    from trainer_core.cli import main

    model = str(sentiment_run.output_dir)
    assert main(["predict", "--model", model, "--text", "cat " * 30_000]) == 2
    assert "The text has 120,000 characters; the limit is 100,000" in capsys.readouterr().err
    assert main(["predict", "--model", model, "--text", "a wonderful and brilliant film", "--int8", "--json"]) == 0
    assert '"label": "positive"' in capsys.readouterr().out.strip().splitlines()[-1]


def test_the_owner_turns_int8_on_for_the_app_on_cpu_only(tiny_model, empty_cache, monkeypatch):
    monkeypatch.delenv(inference.INT8_ENV, raising=False)
    assert not get_predictor(str(tiny_model)).quantized
    monkeypatch.setenv(inference.INT8_ENV, "1")
    assert get_predictor(str(tiny_model)).quantized
    monkeypatch.setattr(inference, "pick_device", lambda: "cuda")
    assert not inference.default_quantize()
