"""Quality of trainer_core's defaults on real text, side by side with the course recipe and TF-IDF + LR.

For every encoder, task and seed, the same seeded draw of training and test rows (``quality_data``) is
learned three ways:

* ``ours``: ``trainer_core.training.train(TrainConfig(...))``, the function the CLI calls, with the
  dataset, columns, model, output dir and seed only (no hyperparameter options): the adaptive defaults
  choose the rest, including how much of the training rows to hold out.
* ``plain``: the plain recipe of issue 16: ``Dataset.map`` tokenization, ``DataCollatorWithPadding``, the
  stock ``Trainer`` with its defaults (learning rate 5e-5, linear decay, no warm-up, no weight decay), batch
  32, ONE epoch on all training rows, no evaluation or model selection.
* ``course``: the same as ``plain`` with the Hugging Face course's 3 epochs.
* ``tfidf``: word 1-2-gram TF-IDF and logistic regression (scikit-learn).

``--variants`` adds runs of ``ours`` with given training options (``ours[epochs=1]``), to test a rule before
changing it. Pair tasks (``quality_data.PAIR_TASKS``) pass ``text_pair`` as the second text everywhere.

All neural models are scored on the test rows by the same prediction code. Wall time is training
only: for ``ours`` the whole ``train()`` call (checks, tokenization, training, per-epoch evaluation,
checkpoints, final save), for ``course`` tokenization + ``Trainer.train()``. CPU time is the process's
CPU time over the same span: the machine may be shared, and CPU time moves less with other load.

    nice -n 19 python bench/bench_quality.py --encoders minilm --tasks tweets2 tweets3 --seeds 0 1 2
    nice -n 19 python bench/bench_quality.py --encoders minilm --tasks held-out --methods ours plain \
        --variants epochs=1
    python bench/bench_quality.py --summary results.jsonl      # the table of a finished run
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import quality_data  # noqa: E402

METHODS = ("ours", "plain", "course", "tfidf")
# The stock Trainer's learning rate and schedule, batch 32; the course trains 3 epochs, the plain recipe one.
COURSE = {"learning_rate": 5e-5, "batch_size": 32, "epochs": 3.0}
PLAIN = {**COURSE, "epochs": 1.0}


def _write_csv(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _scores(truth: list[str], guess: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(truth, guess)),
        "macro_f1": float(f1_score(truth, guess, average="macro")),
    }


def predict(model, tokenizer, texts: list[str], max_length: int, pairs: list[str] | None = None) -> list[str]:
    """Labels for ``texts`` (with ``pairs`` as second texts), batched by length; the same code scores every
    neural method."""
    import numpy as np
    import torch

    model.eval()
    order = np.argsort([len(t) + (len(pairs[i]) if pairs else 0) for i, t in enumerate(texts)], kind="stable")
    out: list[str] = [""] * len(texts)
    names = model.config.id2label
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            index = order[start : start + 64]
            second = [pairs[i] for i in index] if pairs else None
            batch = tokenizer(
                [texts[i] for i in index],
                second,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**batch).logits
            for i, label in zip(index, logits.argmax(-1).tolist(), strict=True):
                out[i] = str(names[label])
    return out


def _is_pair(rows: list[dict]) -> bool:
    return "text_pair" in rows[0]


def _predict_rows(model, tokenizer, rows: list[dict]) -> list[str]:
    pairs = [r["text_pair"] for r in rows] if _is_pair(rows) else None
    return predict(model, tokenizer, [r["text"] for r in rows], 256, pairs)


class Clock:
    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_ours(
    model_dir: Path, train_rows: list[dict], test_rows: list[dict], seed: int, work: Path, options: dict | None = None
) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from trainer_core.config import DataConfig, ModelConfig, TrainConfig, TrainingConfig
    from trainer_core.training import train

    csv = _write_csv(work / "train.csv", train_rows)
    config = TrainConfig(
        data=DataConfig(
            dataset=str(csv),
            text_column="text",
            text_pair_column="text_pair" if _is_pair(train_rows) else None,
            label_column="label",
        ),
        model=ModelConfig(model=str(model_dir)),
        training=TrainingConfig(output_dir=str(work / "ours"), seed=seed, **(options or {})),
    )
    events: list[dict] = []
    with Clock() as clock:
        result = train(config, on_event=events.append)
    chosen = next(e for e in events if e["type"] == "recipe")
    prepared = next(e for e in events if e["type"] == "prepared")
    model = AutoModelForSequenceClassification.from_pretrained(result.output_dir)
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    guess = _predict_rows(model, tokenizer, test_rows)
    return {
        **_scores([r["label"] for r in test_rows], guess),
        "wall_s": clock.wall,
        "cpu_s": clock.cpu,
        "steps": result.global_step,
        "trained_rows": prepared["train_rows"],
        "chosen": {c["option"]: c["value"] for c in chosen["choices"]},
    }


def run_course(
    model_dir: Path, train_rows: list[dict], test_rows: list[dict], seed: int, work: Path, recipe: dict = COURSE
) -> dict:
    """The stock Trainer as the course (``COURSE``) or the plain recipe (``PLAIN``) uses it."""
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    names = sorted({r["label"] for r in train_rows})
    with Clock() as clock:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        pair = _is_pair(train_rows)
        columns = {"text": [r["text"] for r in train_rows], "label": [names.index(r["label"]) for r in train_rows]}
        if pair:
            columns["text_pair"] = [r["text_pair"] for r in train_rows]
        dataset = Dataset.from_dict(columns)
        dataset = dataset.map(
            lambda b: tokenizer(b["text"], b["text_pair"] if pair else None, truncation=True, max_length=256),
            batched=True,
        )
        set_seed(seed)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
        )
        args = TrainingArguments(
            output_dir=str(work / "course"),
            learning_rate=recipe["learning_rate"],
            per_device_train_batch_size=recipe["batch_size"],
            num_train_epochs=recipe["epochs"],
            seed=seed,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            logging_steps=50,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        output = trainer.train()
    guess = _predict_rows(trainer.model, tokenizer, test_rows)
    return {
        **_scores([r["label"] for r in test_rows], guess),
        "wall_s": clock.wall,
        "cpu_s": clock.cpu,
        "steps": output.global_step,
        "trained_rows": len(train_rows),
    }


def run_tfidf(train_rows: list[dict], test_rows: list[dict], seed: int) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # A pair is one document to a bag of words: title and body joined (the words they share carry the signal).
    def joined(rows: list[dict]) -> list[str]:
        return [r["text"] + " " + r.get("text_pair", "") for r in rows]

    with Clock() as clock:
        pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=10.0, max_iter=2000, random_state=seed),
        )
        pipeline.fit(joined(train_rows), [r["label"] for r in train_rows])
    guess = list(pipeline.predict(joined(test_rows)))
    return {**_scores([r["label"] for r in test_rows], guess), "wall_s": clock.wall, "cpu_s": clock.cpu}


def run_all(opts: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(opts.threads)
    out = open(opts.out, "a", encoding="utf-8")  # noqa: SIM115 - appended to as each run finishes
    for encoder in opts.encoders:
        model_dir = quality_data.encoder(encoder)
        rows = opts.train_rows if encoder == "minilm" else opts.base_train_rows
        tests = opts.test_rows if encoder == "minilm" else opts.base_test_rows
        seeds = opts.seeds if encoder == "minilm" else opts.base_seeds
        for task in opts.tasks if encoder == "minilm" else opts.base_tasks:
            task_rows, task_tests = opts.task_rows.get(task, (rows, tests))
            for turn, seed in enumerate(seeds):
                train_rows, test_rows = quality_data.load_task(task, task_rows, task_tests, seed)
                # (method, options of ours): ours itself, then each --variants entry as ours with those options.
                runs = [(m, opts.ours_options if m == "ours" else None) for m in opts.methods if m != "tfidf"]
                runs += [("ours", variant) for variant in opts.variants]
                if turn % 2:  # alternate which neural method runs first, so drift in the machine's load evens out
                    runs.reverse()
                if "tfidf" in opts.methods:
                    runs.append(("tfidf", None))
                for method, options in runs:
                    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
                        work = Path(tmp)
                        if method == "ours":
                            scores = run_ours(model_dir, train_rows, test_rows, seed, work, options)
                        elif method in ("course", "plain"):
                            recipe = COURSE if method == "course" else PLAIN
                            scores = run_course(model_dir, train_rows, test_rows, seed, work, recipe)
                        else:
                            scores = run_tfidf(train_rows, test_rows, seed)
                    record = {"encoder": encoder if method != "tfidf" else "-", "task": task, "seed": seed,
                              "method": method, "train_rows": task_rows, "test_rows": task_tests, **scores}  # fmt: skip
                    if method == "ours" and options:
                        record["variant"] = ",".join(f"{k}={v}" for k, v in options.items())
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    print(json.dumps(record), flush=True)
    out.close()


# ------------------------------------------------------------------------------------------ summary


def _spread(values: list[float], digits: int = 3) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summarise(path: Path) -> str:
    """Mean ± standard deviation over seeds per task, draw size and method; then, against the plain recipe and
    the course recipe, each ours-like method's mean paired difference per corpus (± its standard error) and
    over the selection and held-out corpora; then each ours[...] variant − ours on the same seeds."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups: dict[tuple[str, int, int], dict[tuple[str, str], list[dict]]] = {}
    for r in records:
        draw = (r["task"], r["train_rows"], r["test_rows"])
        method = r["method"] + (f"[{r['variant']}]" if r.get("variant") else "")
        groups.setdefault(draw, {}).setdefault((method, r["encoder"]), []).append(r)
    lines = [
        "| task | train / test rows | method | seeds | accuracy | macro-F1 | wall s | CPU s |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for (task, train_rows, test_rows), methods in sorted(groups.items(), key=_draw_order):
        order = sorted(methods, key=lambda key: (METHODS.index(key[0].split("[")[0]), key[1], key[0]))
        for method, encoder in order:
            runs = sorted(methods[(method, encoder)], key=lambda r: r["seed"])
            name = f"{method} ({encoder})" if encoder != "-" else method
            seeds = ",".join(str(r["seed"]) for r in runs)
            lines.append(
                f"| {task} | {train_rows} / {test_rows} | {name} | {seeds} | "
                f"{_spread([r['accuracy'] for r in runs])} | {_spread([r['macro_f1'] for r in runs])} | "
                f"{_spread([r['wall_s'] for r in runs], 0)} | {_spread([r['cpu_s'] for r in runs], 0)} |"
            )
    for reference in ("plain", "course", "ours"):
        lines += _paired_table(groups, reference)
    lines.append("")
    lines.append(
        "(± in the first table: one standard deviation over seeds; in the paired tables: the standard error of "
        "the mean paired difference. Group rows pool every pair of the group's corpora.)"
    )
    return "\n".join(lines)


def _draw_order(item: tuple) -> tuple:
    (task, train_rows, test_rows), _ = item
    return (task not in quality_data.SELECTION, task, train_rows, test_rows)


def _paired_table(groups: dict, reference: str) -> list[str]:
    """method − reference on the same seeds, per encoder and draw, then pooled over each group of corpora."""

    def geo(values) -> str:
        kept = [v for v in values if v is not None]
        return f"{math.exp(statistics.fmean(math.log(v) for v in kept)):.2f}" if kept else "–"

    rows: list[tuple[str, str, str, list[tuple[float, float, float | None]]]] = []
    for (task, _train_rows, _test_rows), methods in sorted(groups.items(), key=_draw_order):
        for method, encoder in sorted(methods):
            is_ours = method == "ours" or method.startswith("ours[")
            if not is_ours or method == reference or (reference == "ours" and method == "ours"):
                continue
            base = {r["seed"]: r for r in methods.get((reference, encoder), [])}
            runs = {r["seed"]: r for r in methods[(method, encoder)]}
            # A CPU ratio only between runs of the same session: runs copied in from an earlier file
            # ("reused_from") ran under another day's load.
            paired = [
                (runs[s]["accuracy"] - base[s]["accuracy"], runs[s]["macro_f1"] - base[s]["macro_f1"],
                 runs[s]["cpu_s"] / base[s]["cpu_s"]
                 if runs[s].get("reused_from") == base[s].get("reused_from") else None)
                for s in sorted(set(runs) & set(base))
            ]  # fmt: skip
            if paired:
                rows.append((method, encoder, task, paired))
    if not rows:
        return []
    out = [
        "",
        f"| method | encoder | corpus | seeds | − {reference}, accuracy (± s.e.) | − {reference}, macro-F1 (± s.e.) "
        f"| CPU, method / {reference} |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for method, encoder, task, paired in rows:
        out.append(
            f"| {method} | {encoder} | {task} | {len(paired)} | {_paired([p[0] for p in paired])} | "
            f"{_paired([p[1] for p in paired])} | {geo(p[2] for p in paired)} |"
        )
    for group, names in (("selection", quality_data.SELECTION), ("held-out", quality_data.HELD_OUT)):
        for method, encoder in sorted({(m, e) for m, e, _t, _p in rows}):
            pooled = [p for m, e, t, ps in rows if (m, e) == (method, encoder) and t in names for p in ps]
            corpora = len({t for m, e, t, _p in rows if (m, e) == (method, encoder) and t in names})
            if pooled:
                out.append(
                    f"| **{method}** | {encoder} | **{group}: {corpora} corpora** | {len(pooled)} | "
                    f"{_paired([p[0] for p in pooled])} | {_paired([p[1] for p in pooled])} | "
                    f"{geo(p[2] for p in pooled)} |"
                )
    return out


def _paired(differences: list[float]) -> str:
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return f"{mean:+.3f}"
    return f"{mean:+.3f} ± {statistics.stdev(differences) / math.sqrt(len(differences)):.3f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=["minilm", "mpnet"], choices=("minilm", "mpnet"))
    groups = {"selection": quality_data.SELECTION, "held-out": quality_data.HELD_OUT}
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=["tweets2", "tweets3", "rotten3"],
        choices=sorted(quality_data.CORPORA) + sorted(groups),
        help="Corpora, or 'selection' / 'held-out' for every corpus of that group (quality_data.SELECTION).",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--test-rows", type=int, default=1000)
    parser.add_argument(
        "--base-tasks",
        nargs="+",
        default=["tweets3"],
        choices=sorted(quality_data.CORPORA) + sorted(groups),
        help="Tasks for the base-size encoder.",
    )
    parser.add_argument("--base-seeds", nargs="+", type=int, default=[0], help="Seeds for the base-size encoder.")
    parser.add_argument("--base-train-rows", type=int, default=1000)
    parser.add_argument("--base-test-rows", type=int, default=1000)
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS, help="None: --variants only.")
    parser.add_argument(
        "--ours-options",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="Training options given to ours (to explore a rule); such runs are summarised apart as ours[...].",
    )
    parser.add_argument(
        "--task-rows",
        nargs="+",
        default=[
            "amazon2=1900/1000",
            "nyt2=1700/1000",
            "bbc5=1200/1000",
            "news20=1000/500",
            "reuters8=1000/500",
            "bbc_titles=1000/500",
        ],
        metavar="TASK=TRAIN/TEST",
        help="Draw sizes for some tasks instead of --train-rows/--test-rows (a small corpus, or long rows).",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="Extra runs of ours, each with these training options (e.g. epochs=1), summarised as ours[...].",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads; one is fastest on a busy CPU.")
    parser.add_argument("--out", default="bench_quality.jsonl", help="Each finished run is appended here as JSON.")
    parser.add_argument("--summary", default=None, help="Print the tables of a finished --out file and exit.")
    opts = parser.parse_args(argv)
    import yaml

    def value(text: str):
        loaded = yaml.safe_load(text)
        try:  # YAML 1.1 reads 5e-5 (no dot) as a string
            return float(loaded) if isinstance(loaded, str) else loaded
        except ValueError:
            return loaded

    def options(items: list[str]) -> dict:
        pairs = [item.partition("=") for item in items]
        return {name: value(text) for name, _, text in pairs}

    opts.ours_options = options(opts.ours_options)
    opts.task_rows = {
        task: tuple(int(n) for n in size.split("/")) for task, _, size in (i.partition("=") for i in opts.task_rows)
    }
    opts.variants = [options(variant.split(",")) for variant in opts.variants]
    for name in ("tasks", "base_tasks"):
        setattr(opts, name, [t for item in getattr(opts, name) for t in groups.get(item, (item,))])
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    if opts.summary:
        print(summarise(Path(opts.summary)))
        return
    run_all(opts)
    print(summarise(Path(opts.out)))


if __name__ == "__main__":
    main()
