"""Training throughput of trainer_core next to two common fine-tuning recipes, in one run.

The same small BERT (built once from a config, saved, and loaded fresh by every variant), the same
synthetic long-tailed sentiment data and the same hyperparameters are trained three ways:

* ``ours``: ``trainer_core.training.train`` end to end on a CSV (dynamic padding, length-grouped
  batches from the precomputed ``length`` column, eval + checkpoint every epoch, best model at end).
* ``tutorial``: the NSMC-tutorial recipe: the whole split tokenized up front with ``padding=True``
  (every row padded to the longest row of the split) into a ``torch.utils.data.Dataset`` of tensors,
  the stock ``Trainer`` with its default collator and random batches.
* ``course``: the Hugging Face course recipe: tokenized without padding, ``DataCollatorWithPadding``
  (dynamic padding), the stock ``Trainer`` and random batches (no length grouping).
* ``tokens``: ``ours`` with ``token_batches`` on: the length-grouped batches cut by padded tokens
  instead of rows (``trainer_core.batching``).

The stock variants get the very ``TrainingArguments`` that trainer_core builds for ``ours`` (same
eval/save/best-model schedule, precision, logging), except the sampling strategy. The headline
figure is *training-loop* throughput: time spent inside the epochs (data loading, forward,
backward, optimizer, step logging), excluding the per-epoch evaluation and checkpointing, measured
by a callback added to every Trainer. End-to-end wall time is reported next to it.

    python bench/bench_training.py                 # defaults: ~3 minutes on a quiet 2-core CPU
    python bench/bench_training.py --repeats 3 --json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VARIANTS = ("ours", "tutorial", "course", "tokens")
TARGETS = {"tutorial": 1.5, "course": 1.1}  # ours / variant, train samples per second

# ------------------------------------------------------------------------------------------ data

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = [
    "good", "great", "wonderful", "excellent", "lovely", "superb", "fun", "brilliant",
    "moving", "charming", "gripping", "delightful",
]  # fmt: skip
NEGATIVE = [
    "bad", "awful", "terrible", "boring", "dull", "poor", "horrible", "weak",
    "tedious", "clumsy", "bland", "painful",
]  # fmt: skip
_ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w"]
_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ou"]


def filler_words(count: int = 400, seed: int = 1234) -> list[str]:
    """Neutral pseudo-words (two or three syllables) that carry no sentiment."""
    rng = random.Random(seed)
    taken = set(POSITIVE) | set(NEGATIVE)
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(rng.choice((2, 3))))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


FILLER = filler_words()
VOCAB = SPECIAL + POSITIVE + NEGATIVE + FILLER


def text_length(rng: random.Random, max_length: int) -> int:
    """Words in one review: most short (log-normal around 14), 10% several times longer, 1% past max_length."""
    draw = rng.random()
    if draw < 0.01:
        return rng.randint(max_length - 16, max_length * 3 // 2)
    if draw < 0.11:
        return max(20, min(max_length - 20, round(rng.lognormvariate(math.log(max_length / 3), 0.35))))
    return max(3, round(rng.lognormvariate(math.log(14), 0.45)))


def sentiment_rows(n: int, seed: int, max_length: int, label_noise: float = 0.02) -> list[dict[str, str]]:
    """Reviews labelled by the majority of their opinion words (some of the other polarity mixed in).

    A share ``label_noise`` of labels is flipped, so accuracy tops out a little below 100%.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = [rng.choice(FILLER) for _ in range(text_length(rng, max_length))]
        major = rng.randint(1, 3)
        minor = rng.randint(0, major - 1)
        own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        # Opinions sit anywhere in the text, also past max_length where truncation hides them.
        for vocab, count in ((own, major), (other, minor)):
            for _ in range(count):
                words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
        if rng.random() < label_noise:
            label = 1 - label
        rows.append({"text": " ".join(words), "label": "positive" if label else "negative"})
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# ----------------------------------------------------------------------------------------- model


def build_model(directory: Path, opts: argparse.Namespace) -> Path:
    """A small BERT with a word-level vocabulary, initialised once from ``opts.seed`` and saved."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    positions = max(512, opts.max_length)
    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(VOCAB)}, model_max_length=positions)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=opts.hidden,
        num_hidden_layers=opts.layers,
        num_attention_heads=opts.heads,
        intermediate_size=opts.intermediate or 2 * opts.hidden,
        max_position_embeddings=positions,
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    torch.manual_seed(opts.seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# --------------------------------------------------------------------------------- measurement


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def make_probe() -> Any:
    """A TrainerCallback timing each epoch's loop and recording the shape of every training batch.

    Epoch time runs from ``on_epoch_begin`` to ``on_epoch_end``; the Trainer evaluates and saves
    after ``on_epoch_end``, so that work is not in it. Batch shapes come from a forward pre-hook on
    the model (training mode only), so they are what the model computed on, padding included.
    """
    from transformers import TrainerCallback

    class Probe(TrainerCallback):
        def __init__(self) -> None:
            self.epoch_seconds: list[float] = []
            self.epoch_cpu_seconds: list[float] = []
            self.samples = 0
            self.computed_tokens = 0
            self.real_tokens: Any = 0  # a tensor on the model's device: no sync per step
            self._hook: Any = None
            self._started = 0.0
            self._cpu_started = 0.0

        def _record(self, module: Any, args: tuple, kwargs: dict) -> None:
            if not module.training:
                return
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is None:
                return
            rows, width = ids.shape[0], ids.shape[-1]
            self.samples += rows
            self.computed_tokens += rows * width
            mask = kwargs.get("attention_mask")
            self.real_tokens = self.real_tokens + (mask.sum() if mask is not None else rows * width)

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            if model is not None and self._hook is None:
                self._hook = model.register_forward_pre_hook(self._record, with_kwargs=True)

        def on_epoch_begin(self, args, state, control, **kwargs):
            _sync()
            self._started = time.perf_counter()
            self._cpu_started = time.process_time()

        def on_epoch_end(self, args, state, control, **kwargs):
            _sync()
            self.epoch_seconds.append(time.perf_counter() - self._started)
            self.epoch_cpu_seconds.append(time.process_time() - self._cpu_started)

        def on_train_end(self, args, state, control, **kwargs):
            if self._hook is not None:
                self._hook.remove()
                self._hook = None

        def padding(self) -> tuple[float, float]:
            """Computed tokens per sample, and the share of them that is padding."""
            real = float(self.real_tokens)
            if not self.samples or not self.computed_tokens:
                return 0.0, 0.0
            return self.computed_tokens / self.samples, 1.0 - real / self.computed_tokens

    return Probe()


@contextlib.contextmanager
def probe_every_trainer(probe: Any) -> Iterator[None]:
    """Add ``probe`` to every Trainer built inside the block, ours included (train() builds its own)."""
    from transformers import trainer as trainer_module

    trainer_module.DEFAULT_CALLBACKS.append(probe)
    try:
        yield
    finally:
        trainer_module.DEFAULT_CALLBACKS.remove(probe)


@dataclass
class Measurement:
    variant: str
    repeat: int
    train_rows: int
    eval_rows: int
    samples_trained: int
    loop_seconds: float
    train_samples_per_second: float
    loop_cpu_seconds: float  # process CPU time in the loop: less sensitive to other load on a shared CPU
    train_samples_per_cpu_second: float
    trainer_runtime: float  # the Trainer's train_runtime: the loop plus the per-epoch evals and checkpoint saves
    wall_seconds: float  # tokenization + training + final eval + final save
    tokens_per_sample: float
    padding_share: float
    eval_accuracy: float
    eval_f1: float
    load_average: float  # 1-minute load average when the run ended
    model_tflops_per_second: float | None = None  # CUDA only: useful model FLOPs (padding excluded) per second
    mfu: float | None = None  # CUDA only: model_tflops_per_second / the card's dense bf16/fp16 peak


# Dense (no sparsity) bf16/fp16 tensor-core peaks in TFLOPS, from NVIDIA's data sheets; matched by name.
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "V100": 125.0,
    "T4": 65.0,
}


def peak_tflops(device_name: str, override: float | None = None) -> float | None:
    if override:
        return override
    for key, value in PEAK_TFLOPS.items():
        if key in device_name:
            return value
    return None


def model_flops(model_dir: Path, real_tokens: float, tokens_per_sample: float) -> float:
    """Training FLOPs the model needs for ``real_tokens`` (padding excluded): forward + backward = 3 x forward;
    a forward does 2 FLOPs per weight of the layers per token, plus attention's QK^T and AV (2 x 2 x width x
    hidden per layer per token). The embedding lookups are not matmuls and are left out."""
    from trainer_core.recipe import model_size

    size = model_size(json.loads((model_dir / "config.json").read_text(encoding="utf-8")))
    per_token = 6 * size.body_parameters + 12 * size.layers * size.hidden_size * tokens_per_sample
    return per_token * real_tokens


# -------------------------------------------------------------------------------------- variants


@dataclass
class Setup:
    opts: argparse.Namespace
    csv: Path
    model_dir: Path
    work: Path
    config_factory: Callable[[str, bool], Any]  # (output_dir, group_by_length) -> TrainConfig
    train_rows: Any  # datasets.Dataset with text + label, exactly the rows train() trains on
    eval_rows: Any
    device_name: str = "cpu"


def make_config(setup_opts: argparse.Namespace, csv: Path, model_dir: Path) -> Callable[[str, bool], Any]:
    from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig

    def factory(output_dir: str, group_by_length: bool) -> Any:
        return TrainConfig(
            task="custom",
            data=DataConfig(
                dataset=str(csv),
                text_column="text",
                label_column="label",
                max_length=setup_opts.max_length,
                validation_size=setup_opts.eval_share,
            ),
            model=ModelConfig(model=str(model_dir)),
            training=TrainingConfig(
                output_dir=output_dir,
                epochs=setup_opts.epochs,
                batch_size=setup_opts.batch_size,
                eval_batch_size=setup_opts.eval_batch_size,
                learning_rate=setup_opts.lr,
                warmup_ratio=0.1,
                model_selection="best",  # as documented in RESULTS.md: every variant loads the best checkpoint
                seed=setup_opts.seed,
                mixed_precision="auto",
                group_by_length=group_by_length,
                logging_steps=50,
            ),
        )

    return factory


def _scores(metrics: dict[str, Any]) -> tuple[float, float]:
    def pick(name: str) -> float:
        return float(metrics.get(name, metrics.get(f"eval_{name}", float("nan"))))

    return pick("accuracy"), pick("f1")


def run_ours(setup: Setup, output_dir: Path, probe: Any, token_batches: bool = False) -> dict[str, Any]:
    from trainer_core.training import train

    config = setup.config_factory(str(output_dir), True)
    config.training.token_batches = token_batches
    started = time.perf_counter()
    with probe_every_trainer(probe):
        result = train(config)
    wall = time.perf_counter() - started
    accuracy, f1 = _scores(result.metrics)
    return {"wall": wall, "runtime": result.train_runtime, "accuracy": accuracy, "f1": f1}


def _stock_trainer(setup: Setup, output_dir: Path, model: Any, train_set: Any, eval_set: Any, **extra: Any) -> Any:
    """The stock Trainer with trainer_core's own TrainingArguments for this run, random sampling."""
    from transformers import Trainer
    from transformers.trainer_callback import PrinterCallback

    from trainer_core.metrics import build_compute_metrics, primary_metric
    from trainer_core.training import build_training_arguments

    config = setup.config_factory(str(output_dir), False)
    args = build_training_arguments(config, len(train_set), primary_metric(2), None, None)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        compute_metrics=build_compute_metrics(2),
        **extra,
    )
    trainer.remove_callback(PrinterCallback)  # as train() does: no log dicts on stdout
    return trainer


def _finish(trainer: Any, output_dir: Path, started: float) -> dict[str, Any]:
    output = trainer.train()
    metrics = trainer.evaluate()
    trainer.save_model(str(output_dir))
    wall = time.perf_counter() - started
    accuracy, f1 = _scores(metrics)
    return {"wall": wall, "runtime": float(output.metrics["train_runtime"]), "accuracy": accuracy, "f1": f1}


def run_tutorial(setup: Setup, output_dir: Path, probe: Any) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    class TensorDataset(torch.utils.data.Dataset):
        """The tutorial's dataset: a dict of equally padded tensors, indexed row by row."""

        def __init__(self, encodings: Any, labels: list[int]) -> None:
            self.encodings = encodings
            self.labels = labels

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, idx: int) -> dict[str, Any]:
            item = {key: value[idx].clone().detach() for key, value in self.encodings.items()}
            item["labels"] = torch.tensor(self.labels[idx])
            return item

    max_length = setup.opts.max_length
    started = time.perf_counter()
    set_seed(setup.opts.seed)
    tokenizer = AutoTokenizer.from_pretrained(setup.model_dir)
    splits = []
    for rows in (setup.train_rows, setup.eval_rows):
        encodings = tokenizer(
            list(rows["text"]), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        splits.append(TensorDataset(encodings, list(rows["label"])))
    model = AutoModelForSequenceClassification.from_pretrained(setup.model_dir)
    with probe_every_trainer(probe):
        trainer = _stock_trainer(setup, output_dir, model, *splits)  # no tokenizer: default_data_collator
        return _finish(trainer, output_dir, started)


def _course_data(setup: Setup) -> tuple[Any, Any, Any]:
    """The course recipe's tokenization: each split mapped without padding (the collator pads each batch)."""
    from transformers import AutoTokenizer, set_seed

    set_seed(setup.opts.seed)
    tokenizer = AutoTokenizer.from_pretrained(setup.model_dir)

    def encode(batch: dict[str, list]) -> Any:
        return tokenizer(batch["text"], truncation=True, max_length=setup.opts.max_length)

    train_set, eval_set = (
        rows.map(encode, batched=True, remove_columns=["text"]) for rows in (setup.train_rows, setup.eval_rows)
    )
    return tokenizer, train_set, eval_set


def run_course(setup: Setup, output_dir: Path, probe: Any) -> dict[str, Any]:
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    started = time.perf_counter()
    tokenizer, train_set, eval_set = _course_data(setup)
    model = AutoModelForSequenceClassification.from_pretrained(setup.model_dir)
    with probe_every_trainer(probe):
        trainer = _stock_trainer(
            setup,
            output_dir,
            model,
            train_set,
            eval_set,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        return _finish(trainer, output_dir, started)


def run_tokens(setup: Setup, output_dir: Path, probe: Any) -> dict[str, Any]:
    """``ours`` with its ``token_batches`` option: the length-grouped batches cut by padded tokens."""
    return run_ours(setup, output_dir, probe, token_batches=True)


RUNNERS: dict[str, Callable[[Setup, Path, Any], dict[str, Any]]] = {
    "ours": run_ours,
    "tutorial": run_tutorial,
    "course": run_course,
    "tokens": run_tokens,
}


def measure(setup: Setup, variant: str, repeat: int) -> Measurement:
    output_dir = setup.work / f"{variant}-{repeat}"
    probe = make_probe()
    try:
        raw = RUNNERS[variant](setup, output_dir, probe)
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
    loop = sum(probe.epoch_seconds)
    cpu = sum(probe.epoch_cpu_seconds)
    tokens_per_sample, padding_share = probe.padding()
    tflops = mfu = None
    if setup.device_name != "cpu" and loop:
        flops = model_flops(setup.model_dir, float(probe.real_tokens), tokens_per_sample)
        tflops = flops / loop / 1e12
        peak = peak_tflops(setup.device_name, setup.opts.peak_tflops)
        mfu = round(tflops / peak, 4) if peak else None
        tflops = round(tflops, 2)
    return Measurement(
        variant=variant,
        repeat=repeat,
        train_rows=len(setup.train_rows),
        eval_rows=len(setup.eval_rows),
        samples_trained=probe.samples,
        loop_seconds=round(loop, 3),
        train_samples_per_second=round(probe.samples / loop, 2) if loop else 0.0,
        loop_cpu_seconds=round(cpu, 3),
        train_samples_per_cpu_second=round(probe.samples / cpu, 2) if cpu else 0.0,
        trainer_runtime=round(raw["runtime"], 3),
        wall_seconds=round(raw["wall"], 3),
        tokens_per_sample=round(tokens_per_sample, 1),
        padding_share=round(padding_share, 4),
        eval_accuracy=round(raw["accuracy"], 4),
        eval_f1=round(raw["f1"], 4),
        load_average=round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan"),
        model_tflops_per_second=tflops,
        mfu=mfu,
    )


def warm_up(model_dir: Path, max_length: int) -> None:
    """A few forward/backward passes so one-off costs (thread pools, allocator) hit no variant."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    model.train()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    for width in (16, 64, max_length):
        ids = torch.randint(5, model.config.vocab_size, (8, width), device=device)
        model(input_ids=ids, labels=torch.zeros(8, dtype=torch.long, device=device)).loss.backward()
    _sync()


# ------------------------------------------------------------------------------------- reporting


def summarise(results: list[Measurement], variants: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for variant in variants:
        runs = [r for r in results if r.variant == variant]
        summary[variant] = {
            key: statistics.median(getattr(r, key) for r in runs)
            for key in (
                "train_samples_per_second",
                "loop_seconds",
                "train_samples_per_cpu_second",
                "trainer_runtime",
                "wall_seconds",
                "tokens_per_sample",
                "padding_share",
                "eval_accuracy",
                "eval_f1",
                "load_average",
            )
        }
        for key in ("model_tflops_per_second", "mfu"):  # CUDA only
            values = [getattr(r, key) for r in runs if getattr(r, key) is not None]
            summary[variant][key] = statistics.median(values) if values else None
    ratios: dict[str, Any] = {}
    if "ours" in summary:
        ours = summary["ours"]
        for other in (v for v in variants if v != "ours"):
            theirs = summary[other]
            accuracy = (ours["eval_accuracy"] + theirs["eval_accuracy"]) / 2
            eval_rows = results[0].eval_rows
            # Two independent accuracies on n rows: the difference has a standard error of sqrt(2 p (1-p) / n).
            noise = 2 * math.sqrt(2 * accuracy * (1 - accuracy) / eval_rows) if eval_rows else float("nan")
            speedup = ours["train_samples_per_second"] / theirs["train_samples_per_second"]
            cpu_speedup = ours["train_samples_per_cpu_second"] / theirs["train_samples_per_cpu_second"]
            ratios[f"ours/{other}"] = {
                "train_samples_per_second": round(speedup, 3),
                "train_samples_per_cpu_second": round(cpu_speedup, 3),
                "wall_time_speedup": round(theirs["wall_seconds"] / ours["wall_seconds"], 3),
                "target": TARGETS.get(other),
                "meets_target": speedup >= TARGETS[other] if other in TARGETS else None,
                "accuracy_difference": round(ours["eval_accuracy"] - theirs["eval_accuracy"], 4),
                "accuracy_noise_2se": round(noise, 4),
                "accuracy_within_noise": abs(ours["eval_accuracy"] - theirs["eval_accuracy"]) <= noise,
            }
    return {"medians": summary, "ratios": ratios}


def environment(opts: argparse.Namespace) -> dict[str, Any]:
    import datasets
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "command": " ".join(["python", "bench/bench_training.py", *sys.argv[1:]]),
    }


def print_table(report: dict[str, Any]) -> None:
    env, setup = report["environment"], report["setup"]
    print(
        f"\n{setup['train_rows']} train / {setup['eval_rows']} eval rows, {setup['epochs']:g} epochs, batch "
        f"{setup['batch_size']}, max_length {setup['max_length']}, BERT hidden {setup['hidden']} x "
        f"{setup['layers']} layers, lr {setup['lr']}, seed {setup['seed']}, {setup['repeats']} repeat(s) (median)"
    )
    print(
        f"device {env['device']} ({env['cpu_count']} CPUs, {env['torch_threads']} torch threads), torch {env['torch']}"
    )
    print(f"token lengths of the train split: {setup['token_lengths']}\n")
    header = (
        f"{'variant':<9} {'train samples/s':>15} {'per CPU-s':>9} {'loop s':>7} {'train_runtime s':>15} "
        f"{'wall s':>7} {'tokens/sample':>13} {'padding':>8} {'eval acc':>8} {'eval f1':>8} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for variant, m in report["medians"].items():
        print(
            f"{variant:<9} {m['train_samples_per_second']:>15.1f} {m['train_samples_per_cpu_second']:>9.1f} "
            f"{m['loop_seconds']:>7.1f} {m['trainer_runtime']:>15.1f} {m['wall_seconds']:>7.1f} "
            f"{m['tokens_per_sample']:>13.1f} {m['padding_share']:>8.1%} {m['eval_accuracy']:>8.4f} "
            f"{m['eval_f1']:>8.4f} {m['load_average']:>5.1f}"
        )
    for variant, m in report["medians"].items():
        if m.get("model_tflops_per_second") is not None:
            mfu = f"{m['mfu']:.1%}" if m.get("mfu") is not None else "? (pass --peak-tflops)"
            print(f"{variant:<9} model TFLOPS/s {m['model_tflops_per_second']:.1f}, model FLOP utilisation {mfu}")
    print()
    for name, r in report["ratios"].items():
        if r["target"] is None:  # a variant compared for information (tokens): no goal for ours to meet
            verdict = "no target"
        else:
            verdict = f"{'meets' if r['meets_target'] else 'MISSES'} target x{r['target']}"
        accuracy = "within" if r["accuracy_within_noise"] else "OUTSIDE"
        print(
            f"{name:<14} train samples/s x{r['train_samples_per_second']:.2f} ({verdict}), "
            f"per CPU-second x{r['train_samples_per_cpu_second']:.2f}, "
            f"wall time x{r['wall_time_speedup']:.2f}; accuracy {r['accuracy_difference']:+.4f} "
            f"({accuracy} noise, 2 s.e. = {r['accuracy_noise_2se']:.4f})"
        )


def length_summary(train_rows: Any, model_dir: Path, max_length: int) -> dict[str, Any]:
    import numpy as np
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = np.array([len(ids) for ids in tokenizer(list(train_rows["text"]))["input_ids"]])
    clipped = np.minimum(lengths, max_length)
    return {
        "mean": round(float(clipped.mean()), 1),
        "median": int(np.median(clipped)),
        "p90": int(np.percentile(clipped, 90)),
        "p99": int(np.percentile(clipped, 99)),
        "max": int(clipped.max()),
        "truncated": int((lengths > max_length).sum()),
    }


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1500, help="Rows in the CSV; --eval-share of them are held out.")
    parser.add_argument("--eval-share", type=float, default=0.2, help="Share of rows held out for evaluation.")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4, help="Peak learning rate (the model starts from scratch).")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=None, help="Feed-forward size (default 2 x hidden).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=1, help="Runs per variant, interleaved; medians reported.")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="Comma-separated subset of: ours,tutorial,course,tokens."
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="The GPU's dense bf16/fp16 peak for model FLOP utilisation (default: from the device name).",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice); 1 is steadier on a busy CPU.",
    )
    parser.add_argument("--work-dir", default=None, help="Where to write the data, model and checkpoints (temp).")
    parser.add_argument("--json", action="store_true", help="Print one JSON document instead of the table.")
    opts = parser.parse_args(argv)
    opts.variants = [v.strip() for v in opts.variants.split(",") if v.strip()]
    unknown = set(opts.variants) - set(VARIANTS)
    if unknown or not opts.variants:
        parser.error(f"unknown variant(s) {', '.join(sorted(unknown)) or '(none)'}; choose from {', '.join(VARIANTS)}")
    if opts.repeats < 1 or opts.rows < 20:
        parser.error("--repeats must be >= 1 and --rows >= 20")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    # Before torch is imported: --device cpu hides any GPU from all three variants alike.
    if opts.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import datasets
    import torch
    import transformers

    if opts.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is available", file=sys.stderr)
        return 2
    if opts.threads:
        torch.set_num_threads(opts.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()

    from trainer_core.training import prepare_run

    owned = opts.work_dir is None
    work = Path(opts.work_dir or tempfile.mkdtemp(prefix="bench-training-"))
    work.mkdir(parents=True, exist_ok=True)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if opts.json else (lambda *a: print(*a, flush=True))
    try:
        csv = write_csv(work / "reviews.csv", sentiment_rows(opts.rows, opts.seed, opts.max_length))
        model_dir = build_model(work / "model", opts)
        factory = make_config(opts, csv, model_dir)
        # The exact split train() will use (prepare() holds out a seeded, stratified share).
        prepared = prepare_run(factory(str(work / "prepare"), True))
        device_name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        setup = Setup(opts, csv, model_dir, work, factory, prepared.data.train, prepared.data.eval, device_name)
        warm_up(model_dir, opts.max_length)

        results: list[Measurement] = []
        for repeat in range(opts.repeats):
            order = opts.variants[repeat % len(opts.variants) :] + opts.variants[: repeat % len(opts.variants)]
            for variant in order:
                log(f"[repeat {repeat + 1}/{opts.repeats}] {variant} ...")
                m = measure(setup, variant, repeat)
                log(
                    f"    {m.train_samples_per_second:.1f} train samples/s ({m.train_samples_per_cpu_second:.1f} per CPU-s), loop {m.loop_seconds:.1f} s, "
                    f"wall {m.wall_seconds:.1f} s, {m.tokens_per_sample:.1f} tokens/sample, "
                    f"padding {m.padding_share:.1%}, accuracy {m.eval_accuracy:.4f}"
                )
                results.append(m)

        report = {
            "environment": environment(opts),
            "setup": {
                "train_rows": len(setup.train_rows),
                "eval_rows": len(setup.eval_rows),
                **{k: getattr(opts, k) for k in ("epochs", "batch_size", "max_length", "hidden", "layers", "heads")},
                **{k: getattr(opts, k) for k in ("lr", "seed", "repeats", "variants")},
                "token_lengths": length_summary(setup.train_rows, model_dir, opts.max_length),
            },
            **summarise(results, opts.variants),
            "runs": [dataclasses.asdict(r) for r in results],
        }
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)

    if opts.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
