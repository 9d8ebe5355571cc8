"""What a run will need before it starts (trainer_core.plan): a pure function of numbers, checked here by hand."""

from __future__ import annotations

import math

import pytest

from trainer_core import plan, recipe, runtime

BERT_BASE = {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12, "intermediate_size": 3072}
TINY = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "intermediate_size": 64, "vocab_size": 60}


def test_a_tiny_run_fits_one_slice_of_an_anonymous_visitors_day():
    result = plan.plan_run(TINY, train_rows=304, eval_rows=16, mean_tokens=12, max_length=32, max_steps=12)
    estimate = result.estimate
    assert estimate.steps == 12
    assert estimate.slices == 1 and estimate.days == 1
    assert estimate.gpu_seconds == pytest.approx(estimate.train_seconds + runtime.SLICE_OVERHEAD_SECONDS)
    assert result.fits_today and result.options == []
    text = plan.describe(result)
    assert "fits in one GPU call" in text and "max steps given" in text


def test_the_steps_follow_the_recipe_the_run_will_use():
    # 400 rows and no epochs or batch given: the run takes 5 epochs of batches of 16 (trainer_core.recipe).
    estimate = plan.plan_run(BERT_BASE, train_rows=400, mean_tokens=40, max_length=128).estimate
    assert (estimate.epochs, estimate.batch_size) == (5, 16)
    assert estimate.steps == recipe.total_steps(400, 16, 1, 5, -1) == 125
    given = plan.plan_run(BERT_BASE, train_rows=400, mean_tokens=40, max_length=128, epochs=1, batch_size=8)
    assert given.estimate.steps == 50


def test_a_large_run_takes_days_and_offers_what_fits_today():
    result = plan.plan_run(
        BERT_BASE, train_rows=20_000, eval_rows=2_000, mean_tokens=200, max_length=256, epochs=3, batch_size=32,
        quota_seconds=plan.ANONYMOUS_QUOTA_SECONDS, max_run_minutes=30,
    )  # fmt: skip
    estimate = result.estimate
    assert estimate.steps == 3 * math.ceil(20_000 / 32)
    assert estimate.days > 1 and not result.fits_today
    assert estimate.slices >= estimate.days  # at most a day's quota per slice
    kinds = {option.kind: option for option in result.options}
    assert set(kinds) == {"steps", "rows", "model", "cpu", "own_hardware"}
    for kind in ("steps", "rows", "model"):
        assert kinds[kind].estimate is not None and kinds[kind].estimate.days == 1, kind
    assert 0 < kinds["steps"].change["max_steps"] < estimate.steps
    assert 0 < kinds["rows"].change["max_train_samples"] < 20_000
    assert kinds["model"].change["model"] in dict(plan.SMALLER_MODELS)
    # The same run on the Space's CPU is far over the Space's 30 minutes: said, not offered as a change.
    assert kinds["cpu"].change == {} and "30 minutes" in kinds["cpu"].text
    text = plan.describe(result)
    assert f"{estimate.days} days of your GPU quota" in text and "continues by itself" in text
    assert result.pro_days is not None and result.pro_days < estimate.days and "With PRO" in text


def test_more_quota_means_fewer_days_and_more_rows_mean_more():
    args = {"train_rows": 20_000, "mean_tokens": 120, "max_length": 128, "epochs": 3, "batch_size": 32}
    anonymous = plan.plan_run(BERT_BASE, quota_seconds=plan.ANONYMOUS_QUOTA_SECONDS, **args).estimate
    signed_in = plan.plan_run(BERT_BASE, quota_seconds=plan.SIGNED_IN_QUOTA_SECONDS, **args).estimate
    pro = plan.plan_run(BERT_BASE, quota_seconds=plan.PRO_QUOTA_SECONDS, **args).estimate
    assert anonymous.days >= signed_in.days >= pro.days >= 1 and anonymous.days > pro.days
    bigger = plan.plan_run(BERT_BASE, quota_seconds=plan.ANONYMOUS_QUOTA_SECONDS, **(args | {"train_rows": 40_000}))
    assert bigger.estimate.gpu_seconds > anonymous.gpu_seconds and bigger.estimate.days >= anonymous.days


def test_unknown_text_lengths_are_taken_at_max_length_and_said():
    known = plan.plan_run(BERT_BASE, train_rows=2_000, mean_tokens=30, max_length=256).estimate
    unknown = plan.plan_run(BERT_BASE, train_rows=2_000, mean_tokens=None, max_length=256).estimate
    assert unknown.tokens_per_row == 256 and unknown.train_seconds > known.train_seconds
    assert any("max_length" in note for note in unknown.notes)


def test_a_run_on_the_cpu_books_no_gpu_and_a_long_one_is_offered_fewer_steps():
    small = plan.plan_run(TINY, train_rows=304, mean_tokens=12, max_length=32, max_steps=12, use_cpu=True)
    assert small.estimate.gpu_seconds == 0 and small.estimate.slices == 0 and small.estimate.days == 0
    assert small.fits_today and "no GPU quota" in plan.describe(small)
    long = plan.plan_run(BERT_BASE, train_rows=20_000, mean_tokens=120, max_length=128, epochs=3, use_cpu=True,
                         max_run_minutes=30)  # fmt: skip
    assert not long.fits_today
    (steps,) = [option for option in long.options if option.kind == "steps"]
    assert steps.estimate.cpu_seconds <= 30 * 60


def test_a_call_shorter_than_a_slice_can_never_run():
    result = plan.plan_run(BERT_BASE, train_rows=20_000, mean_tokens=120, max_length=128, quota_seconds=20)
    assert result.estimate.days is None and not result.fits_today
    assert "cannot book" in plan.describe(result)
