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


def check_prediction_texts(text: Any, text_pair: Any = None) -> None:
    """Refuse an empty text (or an empty second text of a pair) and texts over the request limit.

    Pure, so every caller checks before it fetches a model: an empty text is the caller's to fix, whatever
    state the Hub is in.
    """
    if not text or not str(text).strip():
        raise InputError("The text is empty: type a sentence to classify.")
    if text_pair is not None and not str(text_pair).strip():
        raise InputError("The second text is empty: this model compares two texts, give both.")
    check_request_texts([str(text)])
    if text_pair is not None:
        check_request_texts([str(text_pair)], what="The second text")


__all__ = ["MAX_REQUEST_CHARS", "check_prediction_texts", "check_request_texts"]
