"""Training batches cut by padded tokens instead of rows: the ``token_batches`` option.

Length grouping sorts the rows of a random mega-batch by length and cuts them every ``batch_size`` rows,
so the batch that gets the mega-batch's few long texts pads its short ones to their length. Cut by tokens,
short texts travel in larger batches and long ones in smaller, and almost no padding is computed.

Each mega-batch is cut into as many batches as rows would give (an epoch keeps ``ceil(rows / batch_size)``
batches), so everything counted in steps stays as it was: epochs, warm-up, evaluations, the ZeroGPU
slices' step count. Among those cuts the one with the lightest heaviest batch is taken, so no batch holds
more padded tokens than the heaviest batch of rows would. The batches depend on the seed and the epoch
only: a run resumed mid-epoch (a slice, a signal) meets the same ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

MEGA_BATCH = 50  # the most batches' worth of rows sorted together, as in the stock length sampler


def mega_batches(rows: int, rows_per_batch: int) -> int:
    """How many batches' worth of rows are sorted together: as the stock length sampler, a quarter of an
    epoch's batches and at most 50. Sorted whole, a small epoch would batch the same rows together again
    every epoch (tests/test_batching.py measures it)."""
    return max(1, min(rows // (4 * rows_per_batch), MEGA_BATCH))


def run_ends(lengths: Sequence[int], budget: int) -> list[int]:
    """Where the fewest runs of ascending ``lengths`` end, each at most ``budget`` padded tokens
    (rows x its longest row, which is its last).

    Closing a run as late as the budget allows is optimal: any part of a run that fits also fits.
    """
    ends: list[int] = []
    start = 0
    for index, length in enumerate(lengths):
        if (index - start + 1) * length > budget:
            ends.append(index)
            start = index
    ends.append(len(lengths))
    return ends


def cut_evenly(lengths: Sequence[int], count: int) -> list[int]:
    """The ends of ``count`` runs of ascending ``lengths`` whose heaviest run holds the fewest padded tokens."""
    if not 1 <= count <= len(lengths):
        raise ValueError(f"cannot cut {len(lengths)} rows into {count} batches")
    longest = lengths[-1]
    low = longest  # the longest row alone
    high = math.ceil(len(lengths) / count) * longest  # equal runs of rows: always within count runs
    while low < high:
        middle = (low + high) // 2
        if len(run_ends(lengths, middle)) <= count:
            high = middle
        else:
            low = middle + 1
    ends = run_ends(lengths, low)
    # Fewer runs than asked: halve the run of most rows (halves are never heavier) until there are enough.
    while len(ends) < count:
        starts = [0, *ends[:-1]]
        widest = max(range(len(ends)), key=lambda i: ends[i] - starts[i])
        ends.insert(widest, (starts[widest] + ends[widest]) // 2)
    return ends


class TokenBatches:
    """A batch sampler: each epoch, lists of row indices cut by padded tokens (see the module's docstring).

    The heaviest batch comes first, as with the stock length sampler, so running out of memory shows on
    the first step rather than late in the epoch.
    """

    batch_size = None  # accelerate's shard wrapper reads this: None is its word for batches of varying size
    drop_last = False

    def __init__(self, lengths: Sequence[int], rows_per_batch: int, seed: int) -> None:
        if rows_per_batch < 1:
            raise ValueError(f"rows_per_batch must be at least 1, got {rows_per_batch}")
        self.lengths = [max(1, int(length)) for length in lengths]
        self.rows_per_batch = rows_per_batch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.rows_per_batch)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(self.epoch))

    def batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(f"token-batches/{self.seed}/{epoch}")
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        batches: list[list[int]] = []
        span = mega_batches(len(order), self.rows_per_batch) * self.rows_per_batch
        for start in range(0, len(order), span):
            rows = sorted(order[start : start + span], key=self.lengths.__getitem__)
            ends = cut_evenly([self.lengths[i] for i in rows], math.ceil(len(rows) / self.rows_per_batch))
            batches.extend(rows[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True))
        rng.shuffle(batches)
        if batches:
            heaviest = max(range(len(batches)), key=lambda i: self.padded_tokens(batches[i]))
            batches[0], batches[heaviest] = batches[heaviest], batches[0]
        return batches

    def padded_tokens(self, batch: Sequence[int]) -> int:
        return len(batch) * max(self.lengths[i] for i in batch)
