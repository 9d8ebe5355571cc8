"""Predictions from a trained model: one text, a text pair, or a batch.

A single-label classifier answers a probability per class (softmax), a multi-label one a probability per
label (a sigmoid each) and the labels over their thresholds, a regression model a number
(``Predictor.task_type``, read from the model's ``config.json``).

Every text is cut to what the model can read before it is tokenized (``trainer_core.data.cut_text``), so memory
stays bounded whatever a caller sends. Concurrent single predictions on one ``Predictor`` are gathered into
batches (``Predictor.predict``): while one forward pass runs, the callers that arrive queue up and the next
of them runs all of them in one pass, so fifty visitors cost a few passes instead of fifty. An asyncio server
gets the same from ``Predictor.predict_async``, where a waiting caller holds no thread at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from trainer_core import task_types as kinds
from trainer_core.config import DEFAULT_MAX_LENGTH, trained_config
from trainer_core.data import cut_text
from trainer_core.errors import Busy, InputError
from trainer_core.modeling import check_no_remote_code, load_model, load_tokenizer, max_positions
from trainer_core.stack import load_stack
from trainer_core.textlimits import check_prediction_texts

# The most single predictions one forward pass gathers from concurrent callers.
MAX_GATHERED = 64
# Callers of ``predict_async`` that may wait for one model before more are refused: past this the queue only
# grows while every one of them waits longer.
MAX_WAITING = 1024
# Forward passes of ``predict_async`` run here, off the event loop; two, so two models can answer at once.
_PASS_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="predict-pass")
# Set to 1 to serve the app's predictions with dynamic int8 linear layers when they run on the CPU.
INT8_ENV = "STUDIO_INT8"


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


class _Pending:
    """One caller's text (or pair) waiting to be gathered into a batch, and what came of it."""

    __slots__ = ("done", "error", "pair", "row", "text")

    def __init__(self, text: str, pair: str | None) -> None:
        self.text, self.pair = text, pair
        self.row: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class _AsyncQueue:
    """``predict_async``'s callers on one event loop, and the task that runs their passes."""

    __slots__ = ("drainer", "waiting")

    def __init__(self) -> None:
        self.waiting: list[tuple[_Pending, asyncio.Future[None]]] = []
        self.drainer: asyncio.Task[None] | None = None


class Predictor:
    """A loaded classifier. Batches are sorted by length so little padding is computed.

    ``quantize=True`` (CPU only) swaps the linear layers for dynamic int8 ones: smaller and faster on a CPU,
    with predictions that can differ slightly from the float model (see bench/RESULTS.md).
    """

    def __init__(
        self,
        model: str,
        *,
        token: str | None = None,
        revision: str | None = None,
        device: str | None = None,
        quantize: bool = False,
    ) -> None:
        import torch

        self.model_id = model
        self.device = device or pick_device()
        if quantize and self.device != "cpu":
            raise InputError(
                f"int8 quantization runs on the CPU only, and this model would run on '{self.device}'. "
                "Leave quantization off on a GPU, or pass device='cpu'."
            )
        config = check_no_remote_code(model, token, revision)
        self.tokenizer = load_tokenizer(model, token, revision)
        self.model = load_model(model, None, token=token, revision=revision)
        self.model.to(self.device).eval()
        self.quantized = bool(quantize)
        if quantize:
            self.model = _quantize_int8(self.model)
        id2label = self.model.config.id2label
        self.label_names = [str(id2label[i]) for i in range(self.model.config.num_labels)]
        self.task_type = kinds.of_model_config(self.model.config)
        # Multi-label: a label applies from its own threshold (tuned when it was trained, else 0.5).
        self.thresholds = (
            kinds.model_thresholds(self.model.config, self.label_names) if self.task_type == kinds.MULTI_LABEL else None
        )
        trained = trained_config(model) if Path(model).is_dir() else None
        # As many tokens as the model was trained on (a run records it), else the config's one default.
        wanted = (trained.data.max_length if trained is not None else None) or DEFAULT_MAX_LENGTH
        self.max_length = min(wanted, max_positions(self.tokenizer, config) or wanted)
        self._lock = threading.Lock()
        self._torch = torch
        # Gathering of concurrent single predictions (see ``predict``).
        self._gather = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False
        self.max_gathered = MAX_GATHERED
        # ``predict_async``'s callers, per event loop: their futures belong to that loop.
        self._async_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncQueue] = (
            weakref.WeakKeyDictionary()
        )

    def predict_proba(
        self, texts: Sequence[str], pairs: Sequence[str] | None = None, *, batch_size: int = 32
    ) -> np.ndarray:
        """Class probabilities, one row per text, in input order: a softmax over the classes, or for a
        multi-label model a sigmoid per label; for a regression model the one column is the predicted number.

        Each text is cut with ``data.cut_text`` before tokenization: the model reads no more than that, and
        the tokenizer's cost (quadratic for pairs) stays bounded.
        """
        if pairs is not None and len(pairs) != len(texts):
            raise InputError(f"Got {len(texts)} texts but {len(pairs)} second texts: give one pair per row.")
        texts = [cut_text("" if t is None else str(t), self.max_length) for t in texts]
        pairs = None if pairs is None else [cut_text("" if t is None else str(t), self.max_length) for t in pairs]
        probs = np.zeros((len(texts), len(self.label_names)), dtype=np.float32)
        if len(texts) == 1:
            order = np.zeros(1, dtype=np.int64)
        else:
            order = np.argsort([len(t) + (len(pairs[i]) if pairs else 0) for i, t in enumerate(texts)], kind="stable")
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                encoded = self.tokenizer(
                    [texts[i] for i in index],
                    [pairs[i] for i in index] if pairs is not None else None,
                    truncation=True,
                    max_length=self.max_length,
                    padding=len(index) > 1,
                    return_tensors="pt",
                )
                if self.device != "cpu":
                    encoded = encoded.to(self.device)
                logits = self.model(**encoded).logits.float()
                if self.task_type == kinds.MULTI_LABEL:
                    outputs = torch.sigmoid(logits)
                elif self.task_type == kinds.REGRESSION:
                    outputs = logits
                else:
                    outputs = torch.softmax(logits, dim=-1)
                probs[index] = outputs.cpu().numpy()
        return probs

    def predict(self, text: str, text_pair: str | None = None) -> dict[str, float]:
        """Probability of each label for one text (or pair), highest first.

        A text longer than ``textlimits.MAX_REQUEST_CHARS`` is refused. Callers on other threads that ask at
        the same time share forward passes: see ``_gathered``.
        """
        self._check_request(text, text_pair)
        row = self._gathered(str(text), None if text_pair is None else str(text_pair))
        return self._scores(row)

    async def predict_async(self, text: str, text_pair: str | None = None) -> dict[str, float]:
        """``predict`` for a caller on an event loop (the app's plain HTTP route).

        Callers that wait together share one forward pass, as in ``predict``, but a waiting caller is a
        future on the loop instead of a blocked thread, and the pass runs on a worker thread so the loop
        keeps accepting requests meanwhile. More than ``MAX_WAITING`` callers waiting for this model are
        refused with a ``Busy`` error.
        """
        self._check_request(text, text_pair)
        loop = asyncio.get_running_loop()
        queue = self._async_queues.get(loop)
        if queue is None:
            queue = self._async_queues[loop] = _AsyncQueue()
        if len(queue.waiting) >= MAX_WAITING:
            raise Busy(
                f"{len(queue.waiting):,} predictions are already waiting for this model: retry in a few seconds."
            )
        mine = _Pending(str(text), None if text_pair is None else str(text_pair))
        answered = loop.create_future()
        queue.waiting.append((mine, answered))
        if queue.drainer is None or queue.drainer.done():
            queue.drainer = loop.create_task(self._drain(queue))
        await answered
        if mine.error is not None:
            raise mine.error
        return self._scores(mine.row)

    async def _drain(self, queue: _AsyncQueue) -> None:
        """Run the waiting callers in passes of up to ``max_gathered`` until none is left."""
        loop = asyncio.get_running_loop()
        while queue.waiting:
            batch = queue.waiting[: self.max_gathered]
            del queue.waiting[: len(batch)]
            live = [(pending, answered) for pending, answered in batch if not answered.done()]  # not given up
            if not live:
                continue
            try:
                await loop.run_in_executor(_PASS_THREADS, self._run_gathered, [pending for pending, _ in live])
            finally:
                for _, answered in live:
                    if not answered.done():
                        answered.set_result(None)

    def _check_request(self, text: str, text_pair: str | None) -> None:
        check_prediction_texts(text, text_pair)

    def _scores(self, row: np.ndarray) -> dict[str, float]:
        scores = {name: float(p) for name, p in zip(self.label_names, row, strict=True)}
        if self.task_type == kinds.REGRESSION:
            return scores  # {target: predicted number}
        return dict(sorted(scores.items(), key=lambda item: -item[1]))

    def answer(self, scores: dict[str, float]) -> dict:
        """What ``predict`` returned, as the CLI and the APIs answer it.

        single_label: ``{"label": best, "scores": {label: probability}}``; multi_label: ``{"labels": [the
        labels over their thresholds], "scores": {label: probability}, "thresholds": {label: threshold}}``;
        regression: ``{"score": predicted number}``.
        """
        if self.task_type == kinds.REGRESSION:
            return {"score": next(iter(scores.values()))}
        if self.task_type == kinds.MULTI_LABEL:
            thresholds = dict(zip(self.label_names, self.thresholds or [], strict=True))
            labels = [name for name, p in scores.items() if p >= thresholds.get(name, kinds.DEFAULT_THRESHOLD)]
            return {"labels": labels, "scores": scores, "thresholds": thresholds}
        return {"label": top_label(scores), "scores": scores}

    def _gathered(self, text: str, pair: str | None) -> np.ndarray:
        """One row of probabilities, computed in a batch with whatever other callers are waiting.

        No thread of our own and no waiting window: the first caller runs at once; callers that arrive
        while a pass runs queue up, and when it ends one of them runs the whole queue (up to
        ``max_gathered``) in one pass. A lone caller pays nothing for this.
        """
        mine = _Pending(text, pair)
        with self._gather:
            self._queue.append(mine)
        while True:
            with self._gather:
                while self._busy and not mine.done:
                    self._gather.wait()
                if mine.done:
                    break
                self._busy = True
                batch = self._queue[: self.max_gathered]
                del self._queue[: len(batch)]
            try:
                self._run_gathered(batch)
            finally:
                with self._gather:
                    self._busy = False
                    self._gather.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.row

    def _run_gathered(self, batch: list[_Pending]) -> None:
        try:
            # A pair model and a single-text model call differ, so singles and pairs go in separate passes.
            for group in ([p for p in batch if p.pair is None], [p for p in batch if p.pair is not None]):
                if not group:
                    continue
                try:
                    rows = self.predict_proba(
                        [p.text for p in group],
                        None if group[0].pair is None else [p.pair for p in group],
                        batch_size=max(len(group), 1),
                    )
                except Exception as err:
                    if len(group) == 1:
                        group[0].error = err
                        continue
                    # One caller's input must not fail the others: each runs alone and gets its own answer.
                    self._run_each(group)
                    continue
                for pending, row in zip(group, rows, strict=True):
                    pending.row = row
        finally:
            for pending in batch:
                if pending.row is None and pending.error is None:
                    pending.error = RuntimeError("The prediction was interrupted; try again.")
                pending.done = True

    def _run_each(self, group: list[_Pending]) -> None:
        for pending in group:
            try:
                pair = None if pending.pair is None else [pending.pair]
                pending.row = self.predict_proba([pending.text], pair)[0]
            except Exception as err:
                pending.error = err


def _quantize_int8(model):
    """Dynamic int8 for every ``nn.Linear``: weights stored as int8, activations quantized per call."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch marks the eager quantization API deprecated in favour of torchao; it still works in the
        # torch versions this project pins, and torchao would be a new dependency for a CPU-only option.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


_CACHE: OrderedDict[tuple[str, str | None, str, bool], Predictor] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 4
# One lock per model being loaded: fifty callers of a cold model wait for one load and then share the
# loaded Predictor (and its gathered passes) instead of loading it fifty times.
_LOADING: dict[tuple[str, str | None, str, bool], threading.Lock] = {}
# At most this many different models load at once, so a burst of requests naming many models cannot
# hold many copies of weights in memory together.
LOAD_SLOTS = threading.BoundedSemaphore(2)


def default_quantize() -> bool:
    """int8 for the app's predictors when the owner sets ``STUDIO_INT8=1`` and the model runs on the CPU."""
    return os.environ.get(INT8_ENV, "").strip().lower() in ("1", "true", "yes") and pick_device() == "cpu"


def get_predictor(
    model: str, *, token: str | None = None, revision: str | None = None, quantize: bool | None = None
) -> Predictor:
    """A cached Predictor. The key includes a hash of the token, so a model loaded with one visitor's
    token is never handed to a visitor without it. ``quantize=None`` follows ``default_quantize()``."""
    load_stack()
    if quantize is None:
        quantize = default_quantize()
    key = _cache_key(model, token, revision, quantize)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        loading = _LOADING.setdefault(key, threading.Lock())
    try:
        with loading:
            with _CACHE_LOCK:
                if key in _CACHE:  # loaded by the caller we waited for
                    _CACHE.move_to_end(key)
                    return _CACHE[key]
            with LOAD_SLOTS:
                predictor = Predictor(model, token=token, revision=revision, quantize=quantize)
            with _CACHE_LOCK:
                _CACHE[key] = predictor
                while len(_CACHE) > CACHE_SIZE:
                    _CACHE.popitem(last=False)
            return predictor
    finally:
        with _CACHE_LOCK:
            if _LOADING.get(key) is loading and not loading.locked():
                del _LOADING[key]


def _cache_key(
    model: str, token: str | None, revision: str | None, quantize: bool | None
) -> tuple[str, str | None, str, bool]:
    if quantize is None:
        quantize = default_quantize()
    token_key = hashlib.sha256(token.encode()).hexdigest() if isinstance(token, str) and token else ""
    return (model, revision, token_key, bool(quantize))


def loaded_predictor(
    model: str, *, token: str | None = None, revision: str | None = None, quantize: bool | None = None
) -> Predictor | None:
    """The cached Predictor ``get_predictor`` would return, or None when it is not loaded yet: a check that
    never blocks, for an event loop that must not wait for a download."""
    key = _cache_key(model, token, revision, quantize)
    with _CACHE_LOCK:
        predictor = _CACHE.get(key)
        if predictor is not None:
            _CACHE.move_to_end(key)
        return predictor


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def top_label(scores: dict[str, float]) -> str:
    return max(scores, key=scores.get)


__all__ = [
    "INT8_ENV",
    "Predictor",
    "clear_cache",
    "default_quantize",
    "get_predictor",
    "loaded_predictor",
    "top_label",
]
