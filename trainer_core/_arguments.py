"""TrainingArguments that never serialise the Hub token.

The Trainer pickles its arguments into every checkpoint (``training_args.bin``) and pushes that file to
the Hub; the stock class would carry ``hub_token`` along in plain text.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainingArguments


class StudioTrainingArguments(TrainingArguments):
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["hub_token"] = None
        return state
