"""Token batches: every row once an epoch, as many batches as rows would give, far less padding, and
the same batches for the same seed and epoch; then through the Trainer, end to end."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from tiny import sentiment_rows, tiny_train_config, write_csv

from trainer_core.batching import TokenBatches, cut_evenly
from trainer_core.config import TrainingConfig
from trainer_core.errors import InputError

pytest_plugins = ["core_fixtures"]  # tiny_model, single_thread


def long_tailed(n: int, seed: int = 0) -> list[int]:
    """Token lengths shaped like short reviews: most under 40, one in ten long, a few at the 256 cut."""
    rng = random.Random(seed)
    return [min(256, int(rng.lognormvariate(3, 0.8)) + 3) for _ in range(n)]


def length_grouped_tokens(lengths: list[int], rows_per_batch: int) -> list[int]:
    """Padded tokens of each batch that transformers' length-grouped sampler gives, cut every ``rows_per_batch``."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    order = list(LengthGroupedSampler(rows_per_batch, lengths=lengths, generator=torch.Generator().manual_seed(0)))
    batches = [order[start : start + rows_per_batch] for start in range(0, len(order), rows_per_batch)]
    return [len(batch) * max(lengths[i] for i in batch) for batch in batches]


@pytest.mark.parametrize(
    ("rows", "rows_per_batch"), [(1, 8), (7, 8), (8, 8), (9, 8), (200, 8), (1601, 32), (5000, 32), (300, 1)]
)
def test_each_row_comes_once_an_epoch_in_as_many_batches_as_rows_would_give(rows, rows_per_batch):
    sampler = TokenBatches(long_tailed(rows), rows_per_batch, seed=3)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == math.ceil(rows / rows_per_batch)
        assert sorted(itertools.chain.from_iterable(batches)) == list(range(rows))
        assert all(batches)


@pytest.mark.parametrize("rows", [1200, 20_000])
def test_far_less_padding_than_length_grouping_and_no_batch_heavier(rows):
    lengths = long_tailed(rows)
    sampler = TokenBatches(lengths, 32, seed=0)
    batches = sampler.batches(0)
    tokens = [sampler.padded_tokens(batch) for batch in batches]
    grouped = length_grouped_tokens(lengths, 32)

    padding = 1 - sum(lengths) / sum(tokens)
    padding_grouped = 1 - sum(lengths) / sum(grouped)
    assert padding < 0.6 * padding_grouped  # 17% against 30% at 1,200 rows, 3% against 10% at 20,000
    assert max(tokens) <= max(grouped)
    sizes = [len(batch) for batch in batches]
    assert min(sizes) < 32 < max(sizes), "long texts travel in smaller batches, short ones in larger"


def test_a_small_epoch_mixes_its_batches_anew_each_epoch():
    """600 rows: sorted whole, each epoch would batch the same neighbours by length again (77% of the pairs
    of rows that share a batch in one epoch shared one in the next); sorted by quarters, few do."""

    def pairs(batches: list[list[int]]) -> set[tuple[int, int]]:
        return {pair for batch in batches for pair in itertools.combinations(sorted(batch), 2)}

    sampler = TokenBatches(long_tailed(600), 16, seed=0)
    first, second = pairs(sampler.batches(0)), pairs(sampler.batches(1))
    assert len(first & second) < 0.3 * len(first)


def test_the_cut_has_the_lightest_heaviest_batch_possible():
    rng = random.Random(7)
    for _ in range(200):
        lengths = sorted(rng.randint(1, 60) for _ in range(rng.randint(1, 9)))
        count = rng.randint(1, len(lengths))
        ends = cut_evenly(lengths, count)
        assert len(ends) == count and ends[-1] == len(lengths)
        starts = [0, *ends[:-1]]
        assert all(a < b for a, b in zip(starts, ends, strict=True))
        got = max((b - a) * lengths[b - 1] for a, b in zip(starts, ends, strict=True))
        best = min(
            max((b - a) * lengths[b - 1] for a, b in zip((0, *cuts), (*cuts, len(lengths)), strict=True))
            for cuts in itertools.combinations(range(1, len(lengths)), count - 1)
        )
        assert got == best, (lengths, count)


def test_more_batches_than_rows_is_refused():
    with pytest.raises(ValueError, match="cannot cut 3 rows into 4 batches"):
        cut_evenly([1, 2, 3], 4)


def test_the_heaviest_batch_comes_first():
    sampler = TokenBatches(long_tailed(3000), 16, seed=1)
    for epoch in range(3):
        batches = sampler.batches(epoch)
        assert sampler.padded_tokens(batches[0]) == max(map(sampler.padded_tokens, batches))


def test_batches_follow_the_seed_and_epoch_and_nothing_else():
    import torch

    lengths = long_tailed(700)
    first = TokenBatches(lengths, 16, seed=5)
    random.seed(1)
    torch.manual_seed(1)
    epoch_one = first.batches(1)
    random.seed(2)
    torch.manual_seed(2)
    again = TokenBatches(lengths, 16, seed=5)
    again.set_epoch(1)
    assert list(again) == epoch_one, "a resumed run cuts the epoch it resumes the same way"
    assert first.batches(0) != epoch_one
    assert TokenBatches(lengths, 16, seed=6).batches(1) != epoch_one


def test_token_batches_need_length_grouping():
    with pytest.raises(InputError, match="turn group_by_length on, or token_batches off"):
        TrainingConfig(token_batches=True, group_by_length=False)


def token_trainer(config):
    """The Trainer ``train`` would build for ``config``, before it trains."""
    from trainer_core import data as data_lib
    from trainer_core.training import _build_trainer, prepare_run

    run = prepare_run(config)
    spec = run.data.columns
    train_set = data_lib.tokenize(run.data.train, run.tokenizer, spec, config.data.max_length)
    eval_set = data_lib.tokenize(run.data.eval, run.tokenizer, spec, config.data.max_length)
    trainer, _ = _build_trainer(run.config, run, train_set, eval_set, lambda event: None, None)
    return trainer, train_set


@pytest.mark.usefixtures("single_thread")
def test_the_trainer_trains_on_token_batches(tiny_model, tmp_path):
    from trainer_core.training import train

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(240, seed=4, long_tail=True))
    config = tiny_train_config(tiny_model, data, tmp_path / "out", token_batches=True, epochs=3.0)

    # What the Trainer's loader deals out: every training row once an epoch, in batches of varying size.
    trainer, train_set = token_trainer(config)
    sizes = [len(batch["labels"]) for batch in trainer.get_train_dataloader()]
    assert sum(sizes) == len(train_set) and len(sizes) == math.ceil(len(train_set) / 8)
    assert len(set(sizes)) > 2

    result = train(config)
    assert result.global_step == 3 * math.ceil(len(train_set) / 8)
    assert result.metrics["accuracy"] >= 0.9
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| token_batches | True |" in card


@pytest.mark.usefixtures("single_thread")
def test_a_row_weighs_the_same_in_a_small_batch_as_in_a_large_one(tiny_model, tmp_path):
    """The loss a token batch trains on is its rows' mean loss scaled by rows / batch size: summed over an
    epoch, each row counts 1 / batch size, as with batches of rows. Evaluation and the logged loss keep the
    plain mean."""
    import torch

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(240, seed=4, long_tail=True))
    trainer, _ = token_trainer(tiny_train_config(tiny_model, data, tmp_path / "out", token_batches=True))
    model = trainer.model
    batches = list(trainer.get_train_dataloader())[:6]
    assert len({len(batch["labels"]) for batch in batches}) > 1
    for batch in batches:
        rows = len(batch["labels"])
        model.eval()
        mean = model(**batch).loss
        assert trainer.compute_loss(model, batch).item() == pytest.approx(mean.item())
        model.train()
        torch.manual_seed(0)
        mean = model(**batch).loss
        torch.manual_seed(0)
        assert trainer.compute_loss(model, batch).item() == pytest.approx(mean.item() * rows / 8, rel=1e-5)
        # The step's reported loss, the one the curves show, stays the batch's plain mean.
        trainer.current_gradient_accumulation_steps = 1  # set by the training loop
        torch.manual_seed(0)
        assert trainer.training_step(model, dict(batch)).item() == pytest.approx(mean.item(), rel=1e-5)
