"""TrainingArguments that never serialise the Hub token, and carry trainer_core's own options.

The Trainer pickles its arguments into every checkpoint (``training_args.bin``) and pushes that file to
the Hub; the stock class would carry ``hub_token`` along in plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments


@dataclass
class StudioTrainingArguments(TrainingArguments):
    token_batches: bool = field(
        default=False,
        metadata={"help": "Cut the length-grouped training batches by padded tokens (trainer_core.batching)."},
    )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["hub_token"] = None
        return state
