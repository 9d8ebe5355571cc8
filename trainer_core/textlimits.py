"""How much of a text reaches the tokenizer, and how long a text a request may carry.

Tokenizing a text costs memory in proportion to its length, and truncating a text *pair* costs far more:
the fast tokenizers' pair truncation grows quadratically with the pair's length
(https://github.com/huggingface/tokenizers/issues/2035), so two 1.2M-character texts took one process past
20 GB. A model reads at most ``max_length`` tokens, so every text is cut to ``max_chars(max_length)``
characters before it is tokenized: for training, preview, evaluation, batch and single predictions alike.

The cut keeps enough characters that a text which had ``max_length`` tokens still has them after the cut
(a token is rarely more than ``CHARS_PER_TOKEN`` characters, whitespace included), so truncation gives the
same tokens as it would on the whole text, for single texts and for pairs: a pair's truncation keeps at most
``max_length`` tokens of either side whatever the other side's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trainer_core.errors import InputError

# English WordPiece/BPE averages 4 to 5 characters per token, Korean and Chinese 1 to 2; 16 leaves room for
# long words, URLs and runs of whitespace while keeping a 512-token model's input at 8,192 characters.
CHARS_PER_TOKEN = 16

# The most characters one text in one request may carry (the demo, its API and batch files). Past this the
# model would read well under 1% of the text; refusing keeps a request's size bounded before anything runs.
MAX_REQUEST_CHARS = 100_000


def max_chars(max_length: int) -> int:
    """How many characters of a text to keep for a model that reads ``max_length`` tokens."""
    if max_length <= 0:
        raise ValueError(f"max_length must be positive, got {max_length}")
    return max_length * CHARS_PER_TOKEN


def cut_text(text: Any, max_length: int) -> Any:
    """The start of ``text`` that a model reading ``max_length`` tokens can see; non-strings pass unchanged."""
    limit = max_chars(max_length)
    if isinstance(text, str) and len(text) > limit:
        return text[:limit]
    return text


def cut_texts(texts: Iterable[Any], max_length: int) -> list[Any]:
    """``cut_text`` on each text, as a list (for ``Dataset.map`` batches and tokenizer calls)."""
    limit = max_chars(max_length)
    return [t[:limit] if isinstance(t, str) and len(t) > limit else t for t in texts]


def check_request_texts(texts: Sequence[Any], *, what: str = "The text", limit: int | None = None) -> None:
    """Refuse a request whose text is longer than ``limit`` (``MAX_REQUEST_CHARS``) characters."""
    limit = MAX_REQUEST_CHARS if limit is None else limit
    for text in texts:
        if isinstance(text, str) and len(text) > limit:
            raise InputError(
                f"{what} has {len(text):,} characters; the limit is {limit:,}. The model reads only the "
                f"first few thousand characters (its max length in tokens), so send the start of the text."
            )


__all__ = ["CHARS_PER_TOKEN", "MAX_REQUEST_CHARS", "check_request_texts", "cut_text", "cut_texts", "max_chars"]
