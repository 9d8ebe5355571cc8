"""Example datasets written for Trainer Studio, so the whole flow works with no Hub access.

``make_examples.py`` regenerates them; see README.md in this folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ExampleDataset:
    name: str
    title: str
    path: Path
    text_column: str
    label_column: str
    text_pair_column: str | None = None

    @property
    def is_pair(self) -> bool:
        return self.text_pair_column is not None


EXAMPLES: dict[str, ExampleDataset] = {
    example.name: example
    for example in (
        ExampleDataset(
            name="sentiment",
            title="Example: short reviews, negative / positive",
            path=EXAMPLES_DIR / "sentiment.csv",
            text_column="text",
            label_column="label",
        ),
        ExampleDataset(
            name="paraphrase",
            title="Example: sentence pairs, paraphrase or different",
            path=EXAMPLES_DIR / "paraphrase.csv",
            text_column="sentence1",
            text_pair_column="sentence2",
            label_column="label",
        ),
    )
}

__all__ = ["EXAMPLES", "EXAMPLES_DIR", "ExampleDataset"]
