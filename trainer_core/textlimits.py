"""How long a text one request may carry.

Texts are cut to what the model reads before any tokenizer sees them by ``trainer_core.data.cut_text`` (one
rule for training, preview, evaluation, batch and single predictions). That bounds the tokenizer's work; this
module bounds the request itself: a text far longer than any model reads is refused with its size, so one
request cannot make the app hold and pass around tens of megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trainer_core.errors import InputError

# The most characters one text in one request may carry (the demo, its API, the CLI's predict). A 512-token
# model reads about 2,500 characters of English; at this size it would read well under 5% of the text.
MAX_REQUEST_CHARS = 100_000


def check_request_texts(texts: Sequence[Any], *, what: str = "The text", limit: int | None = None) -> None:
    """Refuse a request whose text is longer than ``limit`` (``MAX_REQUEST_CHARS``) characters."""
    limit = MAX_REQUEST_CHARS if limit is None else limit
    for text in texts:
        if isinstance(text, str) and len(text) > limit:
            raise InputError(
                f"{what} has {len(text):,} characters; the limit is {limit:,}. The model reads only the "
                f"first few thousand characters (its max length in tokens), so send the start of the text."
            )


__all__ = ["MAX_REQUEST_CHARS", "check_request_texts"]
