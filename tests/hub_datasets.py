"""Tiny synthetic copies of the presets' Hub datasets, laid out as the real repos are, for the hub double.

Each copy has the real repo's id, files, configs, revision, column names and label names (read off the Hub's
dataset viewer in 2026), with a few rows of made-up text that the tiny model (tests/tiny.py) can learn:

* ``nyu-mll/glue``: one folder of parquet shards per config (``sst2/``, ``mrpc/``) and a card whose ``configs``
  and ``dataset_info`` name them; test splits carry label -1 (unlabelled), as GLUE's do.
* ``stanfordnlp/imdb``: config ``plain_text`` with train, test and an unlabelled ``unsupervised`` split.
* ``e9t/nsmc``: ``main`` holds only a loading script (which datasets 5 no longer runs); the data is on the
  ``refs/convert/parquet`` branch as ``default/{split}/0000.parquet``.
* ``Yelp/yelp_review_full``: config ``yelp_review_full`` marked default, five star labels.
"""

from __future__ import annotations

import io
import random
from typing import Any

import yaml
from tiny import FILLER, NEGATIVE, PARAPHRASE, POSITIVE

PARQUET_BRANCH = "refs/convert/parquet"


def _parquet(rows: list[dict[str, Any]], features: Any) -> bytes:
    from datasets import Dataset

    buffer = io.BytesIO()
    Dataset.from_list(rows, features=features).to_parquet(buffer)
    return buffer.getvalue()


def _opinion(rng: random.Random, positive: bool) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(3, 7))]
    words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if positive else NEGATIVE))
    return " ".join(words)


def _binary(n: int, seed: int, text: str, labelled: bool = True, ids: bool = False) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {text: _opinion(rng, bool(i % 2)), "label": i % 2 if labelled else -1}
        if ids:
            row = {"id": str(9_000_000 + i), **row}
        rows.append(row)
    return rows


def _pairs(n: int, seed: int, labelled: bool = True) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        first = rng.sample(PARAPHRASE, 4)
        second = rng.sample(first, 4) if i % 2 else rng.sample([w for w in PARAPHRASE if w not in first], 4)
        rows.append({"sentence1": " ".join(first), "sentence2": " ".join(second), "label": i % 2 if labelled else -1})
    return rows


def _stars(n: int, seed: int) -> list[dict[str, Any]]:
    # One clue word per star count: a signal the tiny model can pick up in a few steps.
    clues = ["awful", "poor", "film", "good", "superb"]
    rng = random.Random(seed)
    return [
        {"label": i % 5, "text": " ".join([clues[i % 5], *(rng.choice(FILLER) for _ in range(4))])} for i in range(n)
    ]


def _card(configs: list[dict[str, Any]], infos: list[dict[str, Any]]) -> str:
    return (
        "---\n"
        + yaml.safe_dump({"dataset_info": infos, "configs": configs}, sort_keys=False)
        + "---\n# Synthetic copy\n"
    )


def _info(name: str, features: Any, splits: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "config_name": name,
        "features": features._to_yaml_list(),
        "splits": [
            {"name": split, "num_bytes": 64 * len(rows), "num_examples": len(rows)} for split, rows in splits.items()
        ],
    }


def glue_sst2_features() -> Any:
    from datasets import ClassLabel, Features, Value

    return Features(
        {"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"]), "idx": Value("int32")}
    )


def glue_mrpc_features() -> Any:
    from datasets import ClassLabel, Features, Value

    return Features(
        {
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=["not_equivalent", "equivalent"]),
            "idx": Value("int32"),
        }
    )


def publish_glue(hub: Any, rows: int = 48) -> None:
    sst2 = {
        "train": _binary(rows, 1, "sentence"),
        "validation": _binary(16, 2, "sentence"),
        "test": _binary(8, 3, "sentence", labelled=False),
    }
    mrpc = {"train": _pairs(rows, 4), "validation": _pairs(16, 5), "test": _pairs(8, 6, labelled=False)}
    files: dict[str, bytes | str] = {}
    configs, infos = [], []
    for name, splits, features in (("mrpc", mrpc, glue_mrpc_features()), ("sst2", sst2, glue_sst2_features())):
        for split, split_rows in splits.items():
            indexed = [{**row, "idx": i} for i, row in enumerate(split_rows)]
            files[f"{name}/{split}-00000-of-00001.parquet"] = _parquet(indexed, features)
        configs.append(
            {
                "config_name": name,
                "data_files": [{"split": split, "path": f"{name}/{split}-00000-of-00001.parquet"} for split in splits],
            }
        )
        infos.append(_info(name, features, splits))
    files["README.md"] = _card(configs, infos)
    hub.upload("nyu-mll/glue", files, repo_type="dataset", author="nyu-mll")


def _publish_one_config(hub: Any, repo: str, config: str, features: Any, splits: dict[str, list]) -> None:
    """A dataset repo as the Hub's parquet conversion lays out a single default config: one parquet file a
    split under ``<config>/``, and the card's YAML naming its data files and features."""
    files: dict[str, bytes | str] = {
        f"{config}/{split}-00000-of-00001.parquet": _parquet(split_rows, features)
        for split, split_rows in splits.items()
    }
    configs = [
        {
            "config_name": config,
            "data_files": [{"split": s, "path": f"{config}/{s}-*"} for s in splits],
            "default": True,
        }
    ]
    files["README.md"] = _card(configs, [_info(config, features, splits)])
    hub.upload(repo, files, repo_type="dataset", author=repo.split("/")[0])


def publish_imdb(hub: Any, rows: int = 48) -> None:
    from datasets import ClassLabel, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    splits = {
        "train": _binary(rows, 7, "text"),
        "test": _binary(16, 8, "text"),
        "unsupervised": _binary(8, 9, "text", labelled=False),
    }
    _publish_one_config(hub, "stanfordnlp/imdb", "plain_text", features, splits)


def publish_nsmc(hub: Any, rows: int = 48) -> None:
    from datasets import ClassLabel, Features, Value

    features = Features(
        {"id": Value("string"), "document": Value("string"), "label": ClassLabel(names=["negative", "positive"])}
    )
    script = "import datasets\n\nclass NSMC(datasets.GeneratorBasedBuilder):\n    pass\n"
    hub.upload("e9t/nsmc", {"README.md": "# NSMC (synthetic copy)\n", "nsmc.py": script}, repo_type="dataset")
    hub.create_branch("e9t/nsmc", PARQUET_BRANCH, repo_type="dataset")
    splits = {"train": _binary(rows, 10, "document", ids=True), "test": _binary(16, 11, "document", ids=True)}
    files = {f"default/{split}/0000.parquet": _parquet(split_rows, features) for split, split_rows in splits.items()}
    hub.upload("e9t/nsmc", files, repo_type="dataset", branch=PARQUET_BRANCH, message="Update parquet files")


def publish_yelp(hub: Any, rows: int = 60) -> None:
    from datasets import ClassLabel, Features, Value

    names = ["1 star", "2 star", "3 stars", "4 stars", "5 stars"]
    features = Features({"label": ClassLabel(names=names), "text": Value("string")})
    splits = {"train": _stars(rows, 12), "test": _stars(20, 13)}
    _publish_one_config(hub, "Yelp/yelp_review_full", "yelp_review_full", features, splits)


PUBLISHERS = {
    "sst2": publish_glue,
    "mrpc": publish_glue,
    "imdb": publish_imdb,
    "nsmc": publish_nsmc,
    "yelp_review_full": publish_yelp,
}
