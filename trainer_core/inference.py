"""Predictions from a trained classifier: one text, a text pair, or a batch."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from trainer_core.errors import InputError
from trainer_core.modeling import check_no_remote_code, load_model, load_tokenizer, max_positions

DEFAULT_MAX_LENGTH = 512


def pick_device() -> str:
    """Where predictions run. On ZeroGPU the main process has no GPU (``spaces`` makes
    ``torch.cuda.is_available()`` say True there, and any real CUDA call raises), so the CPU, decided from
    the environment and not from torch; a demo's single texts are fast enough there."""
    from trainer_core.runtime import on_zero_gpu

    if on_zero_gpu():
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class Predictor:
    """A loaded classifier. Batches are sorted by length so little padding is computed."""

    def __init__(
        self, model: str, *, token: str | None = None, revision: str | None = None, device: str | None = None
    ) -> None:
        import torch

        self.model_id = model
        config = check_no_remote_code(model, token, revision)
        self.tokenizer = load_tokenizer(model, token, revision)
        self.model = load_model(model, None, token=token, revision=revision)
        self.device = device or pick_device()
        self.model.to(self.device).eval()
        id2label = self.model.config.id2label
        self.label_names = [str(id2label[i]) for i in range(self.model.config.num_labels)]
        self.max_length = min(DEFAULT_MAX_LENGTH, max_positions(self.tokenizer, config) or DEFAULT_MAX_LENGTH)
        self._lock = threading.Lock()
        self._torch = torch

    def predict_proba(
        self, texts: Sequence[str], pairs: Sequence[str] | None = None, *, batch_size: int = 32
    ) -> np.ndarray:
        """Class probabilities, one row per text, in input order."""
        if pairs is not None and len(pairs) != len(texts):
            raise InputError(f"Got {len(texts)} texts but {len(pairs)} second texts: give one pair per row.")
        texts = ["" if t is None else str(t) for t in texts]
        pairs = None if pairs is None else ["" if t is None else str(t) for t in pairs]
        order = np.argsort([len(t) + (len(pairs[i]) if pairs else 0) for i, t in enumerate(texts)], kind="stable")
        probs = np.zeros((len(texts), len(self.label_names)), dtype=np.float32)
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                encoded = self.tokenizer(
                    [texts[i] for i in index],
                    [pairs[i] for i in index] if pairs is not None else None,
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**encoded).logits.float()
                probs[index] = torch.softmax(logits, dim=-1).cpu().numpy()
        return probs

    def predict(self, text: str, text_pair: str | None = None) -> dict[str, float]:
        """Probability of each label for one text (or pair), highest first."""
        if not text or not str(text).strip():
            raise InputError("The text is empty: type a sentence to classify.")
        if text_pair is not None and not str(text_pair).strip():
            raise InputError("The second text is empty: this model compares two texts, give both.")
        row = self.predict_proba([text], [text_pair] if text_pair is not None else None)[0]
        scores = {name: float(p) for name, p in zip(self.label_names, row, strict=True)}
        return dict(sorted(scores.items(), key=lambda item: -item[1]))


_CACHE: OrderedDict[tuple[str, str | None, str], Predictor] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 4


def get_predictor(model: str, *, token: str | None = None, revision: str | None = None) -> Predictor:
    """A cached Predictor. The key includes a hash of the token, so a model loaded with one visitor's
    token is never handed to a visitor without it."""
    token_key = hashlib.sha256(token.encode()).hexdigest() if token else ""
    key = (model, revision, token_key)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    predictor = Predictor(model, token=token, revision=revision)
    with _CACHE_LOCK:
        _CACHE[key] = predictor
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return predictor


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def top_label(scores: dict[str, float]) -> str:
    return max(scores, key=scores.get)


__all__ = ["Predictor", "clear_cache", "get_predictor", "top_label"]
