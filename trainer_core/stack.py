"""The heavy libraries (torch, transformers, datasets), imported once, by one thread at a time.

The app defers these imports until first use so that its first page is served quickly. First use can then
happen in several threads at once (the Demo's background preload, a visitor's run, another's preview), and
concurrent first imports race: ``datasets`` checks ``transformers.PreTrainedTokenizerBase`` whenever
``transformers`` is in ``sys.modules``, which it already is while another thread is still importing it
("module 'transformers' has no attribute 'PreTrainedTokenizerBase'"). Every entry point that reaches these
libraries calls ``load_stack()`` first; after the first call it costs one attribute read.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded = False


def load_stack() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        import datasets  # noqa: F401
        import torch  # noqa: F401
        import transformers

        # Resolve the lazy attributes other libraries look up, while no other thread can be importing them.
        _ = (transformers.PreTrainedTokenizerBase, transformers.PreTrainedModel, transformers.Trainer)
        _loaded = True


def is_loaded() -> bool:
    return _loaded
