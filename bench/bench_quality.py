"""Quality of trainer_core's defaults on real text, side by side with the course recipe and TF-IDF + LR.

For every encoder, task and seed, the same seeded draw of training and test rows (``quality_data``) is
learned three ways:

* ``ours``: ``trainer_core.training.train(TrainConfig(...))``, the function the CLI calls, with the
  dataset, columns, model, output dir and seed only (no hyperparameter options): the adaptive defaults
  choose the rest, including how much of the training rows to hold out.
* ``course``: the Hugging Face course recipe: ``Dataset.map`` tokenization, ``DataCollatorWithPadding``,
  the stock ``Trainer`` with its defaults (learning rate 5e-5, linear decay, no warm-up, no weight decay)
  with batch 32 and 3 epochs on all training rows, no evaluation or model selection.
* ``tfidf``: word 1-2-gram TF-IDF and logistic regression (scikit-learn).

Both neural models are scored on the test rows by the same prediction code. Wall time is training
only: for ``ours`` the whole ``train()`` call (checks, tokenization, training, per-epoch evaluation,
checkpoints, final save), for ``course`` tokenization + ``Trainer.train()``. CPU time is the process's
CPU time over the same span: the machine may be shared, and CPU time moves less with other load.

    nice -n 10 python bench/bench_quality.py --encoders minilm --tasks tweets2 tweets3 --seeds 0 1 2
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

METHODS = ("ours", "course", "tfidf")
COURSE = {"learning_rate": 5e-5, "batch_size": 32, "epochs": 3.0}


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


def predict(model, tokenizer, texts: list[str], max_length: int) -> list[str]:
    """Labels for ``texts``, batched by length; the same code scores every neural method."""
    import numpy as np
    import torch

    model.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out: list[str] = [""] * len(texts)
    names = model.config.id2label
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            index = order[start : start + 64]
            batch = tokenizer(
                [texts[i] for i in index], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            logits = model(**batch).logits
            for i, label in zip(index, logits.argmax(-1).tolist(), strict=True):
                out[i] = str(names[label])
    return out


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
        data=DataConfig(dataset=str(csv), text_column="text", label_column="label"),
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
    guess = predict(model, tokenizer, [r["text"] for r in test_rows], 256)
    return {
        **_scores([r["label"] for r in test_rows], guess),
        "wall_s": clock.wall,
        "cpu_s": clock.cpu,
        "steps": result.global_step,
        "trained_rows": prepared["train_rows"],
        "chosen": {c["option"]: c["value"] for c in chosen["choices"]},
    }


def run_course(model_dir: Path, train_rows: list[dict], test_rows: list[dict], seed: int, work: Path) -> dict:
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
        dataset = Dataset.from_dict(
            {"text": [r["text"] for r in train_rows], "label": [names.index(r["label"]) for r in train_rows]}
        )
        dataset = dataset.map(lambda b: tokenizer(b["text"], truncation=True, max_length=256), batched=True)
        set_seed(seed)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
        )
        args = TrainingArguments(
            output_dir=str(work / "course"),
            learning_rate=COURSE["learning_rate"],
            per_device_train_batch_size=COURSE["batch_size"],
            num_train_epochs=COURSE["epochs"],
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
    guess = predict(trainer.model, tokenizer, [r["text"] for r in test_rows], 256)
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

    with Clock() as clock:
        pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=10.0, max_iter=2000, random_state=seed),
        )
        pipeline.fit([r["text"] for r in train_rows], [r["label"] for r in train_rows])
    guess = list(pipeline.predict([r["text"] for r in test_rows]))
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
            for turn, seed in enumerate(seeds):
                train_rows, test_rows = quality_data.load_task(task, rows, tests, seed)
                methods = [m for m in opts.methods if m != "tfidf"]
                if turn % 2:  # alternate which neural method runs first, so drift in the machine's load evens out
                    methods.reverse()
                if "tfidf" in opts.methods:
                    methods.append("tfidf")
                for method in methods:
                    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
                        work = Path(tmp)
                        if method == "ours":
                            scores = run_ours(model_dir, train_rows, test_rows, seed, work, opts.ours_options)
                        elif method == "course":
                            scores = run_course(model_dir, train_rows, test_rows, seed, work)
                        else:
                            scores = run_tfidf(train_rows, test_rows, seed)
                    record = {"encoder": encoder if method != "tfidf" else "-", "task": task, "seed": seed,
                              "method": method, "train_rows": rows, "test_rows": tests, **scores}  # fmt: skip
                    if method == "ours" and opts.ours_options:
                        record["variant"] = ",".join(f"{k}={v}" for k, v in opts.ours_options.items())
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
    """Mean ± standard deviation over seeds per task, draw size and method; then ours − course per seed; then
    each ours[...] variant − ours on the same seeds."""
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
    gaps = []
    variants = []  # (variant, encoder, task, [(accuracy, macro-F1, CPU) of variant against ours, per seed])
    for (task, train_rows, test_rows), methods in sorted(groups.items()):
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
        for encoder in sorted({e for m, e in methods if m == "ours"}):
            ours = {r["seed"]: r for r in methods.get(("ours", encoder), [])}
            course = {r["seed"]: r for r in methods.get(("course", encoder), [])}
            for seed in sorted(set(ours) & set(course)):
                o, c = ours[seed], course[seed]
                gaps.append((encoder, task, seed, o["accuracy"] - c["accuracy"], o["macro_f1"] - c["macro_f1"],
                             o["wall_s"] / c["wall_s"], o["cpu_s"] / c["cpu_s"]))  # fmt: skip
            for method, variant_encoder in sorted(methods):
                if variant_encoder != encoder or not method.startswith("ours["):
                    continue
                runs = {r["seed"]: r for r in methods[(method, encoder)]}
                paired = [
                    (runs[s]["accuracy"] - ours[s]["accuracy"], runs[s]["macro_f1"] - ours[s]["macro_f1"],
                     runs[s]["cpu_s"] / ours[s]["cpu_s"])
                    for s in sorted(set(runs) & set(ours))
                ]  # fmt: skip
                if paired:
                    variants.append((method.removeprefix("ours"), encoder, task, paired))
    if gaps:
        lines += [
            "",
            "| encoder | task | seed | ours − course, accuracy | ours − course, macro-F1 | wall, ours / course "
            "| CPU, ours / course |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for encoder, task, seed, acc, f1, wall, cpu in gaps:
            lines.append(f"| {encoder} | {task} | {seed} | {acc:+.3f} | {f1:+.3f} | {wall:.2f} | {cpu:.2f} |")
        geo = lambda values: math.exp(statistics.fmean(math.log(v) for v in values))  # noqa: E731
        lines.append(
            f"| all | | {len(gaps)} pairs | {statistics.fmean(g[3] for g in gaps):+.3f} (mean) | "
            f"{statistics.fmean(g[4] for g in gaps):+.3f} (mean) | {geo(g[5] for g in gaps):.2f} (geo. mean) | "
            f"{geo(g[6] for g in gaps):.2f} (geo. mean) |"
        )
        # One row per encoder and task: the mean paired difference over seeds and its standard error.
        lines += [
            "",
            "| encoder | task | seeds | ours − course, accuracy (± s.e.) | ours − course, macro-F1 (± s.e.) "
            "| CPU, ours / course |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for encoder, task in sorted({(g[0], g[1]) for g in gaps}):
            rows = [g for g in gaps if (g[0], g[1]) == (encoder, task)]
            lines.append(
                f"| {encoder} | {task} | {len(rows)} | {_paired([g[3] for g in rows])} | "
                f"{_paired([g[4] for g in rows])} | {geo(g[6] for g in rows):.2f} |"
            )
    if variants:
        # A rule tried through --ours-options, against ours on the same seeds.
        lines += [
            "",
            "| variant | encoder | task | seeds | variant − ours, accuracy (± s.e.) | variant − ours, macro-F1 (± s.e.) "
            "| CPU, variant / ours |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for variant, encoder, task, paired in variants:
            cpu = math.exp(statistics.fmean(math.log(p[2]) for p in paired))
            lines.append(
                f"| {variant} | {encoder} | {task} | {len(paired)} | {_paired([p[0] for p in paired])} | "
                f"{_paired([p[1] for p in paired])} | {cpu:.2f} |"
            )
    return "\n".join(lines)


def _paired(differences: list[float]) -> str:
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return f"{mean:+.3f}"
    return f"{mean:+.3f} ± {statistics.stdev(differences) / math.sqrt(len(differences)):.3f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=["minilm", "mpnet"], choices=("minilm", "mpnet"))
    parser.add_argument(
        "--tasks", nargs="+", default=["tweets2", "tweets3", "rotten3"], choices=sorted(quality_data.CORPORA)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--test-rows", type=int, default=1000)
    parser.add_argument("--base-tasks", nargs="+", default=["tweets3"], help="Tasks for the base-size encoder.")
    parser.add_argument("--base-seeds", nargs="+", type=int, default=[0], help="Seeds for the base-size encoder.")
    parser.add_argument("--base-train-rows", type=int, default=1000)
    parser.add_argument("--base-test-rows", type=int, default=1000)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--ours-options",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="Training options given to ours (to explore a rule); such runs are summarised apart as ours[...].",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads; one is fastest on a busy CPU.")
    parser.add_argument("--out", default="bench_quality.jsonl", help="Each finished run is appended here as JSON.")
    parser.add_argument("--summary", default=None, help="Print the tables of a finished --out file and exit.")
    opts = parser.parse_args(argv)
    import yaml

    pairs = [item.partition("=") for item in opts.ours_options]
    opts.ours_options = {name: yaml.safe_load(value) for name, _, value in pairs}
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
