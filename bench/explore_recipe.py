"""The exploration behind the adaptive defaults: learning rate, batch and epochs for a small encoder.

Each variant trains once with the stock ``Trainer`` (dynamic padding, length-grouped batches, linear
schedule with 10% warmup) on the training rows and scores the *test* rows after every epoch, so one run
shows the whole epoch curve. Test scores are used here only to choose the defaults' rules, never by the
defaults themselves; ``bench_quality.py`` then checks the rules on other seeds and corpora.

    nice -n 10 python bench/explore_recipe.py --task tweets3 --encoder minilm \
        --variants 5e-5:32 1e-4:32 2e-4:32 1e-4:16 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality_data


def run(opts: argparse.Namespace, lr: float, batch: int) -> dict:
    import numpy as np
    import torch
    from datasets import Dataset
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    torch.set_num_threads(opts.threads)
    train_rows, test_rows = quality_data.load_task(opts.task, opts.train_rows, opts.test_rows, opts.seed)
    names = sorted({r["label"] for r in train_rows})
    path = quality_data.encoder(opts.encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)

    def encode(rows: list[dict]) -> Dataset:
        ds = Dataset.from_dict({"text": [r["text"] for r in rows], "label": [names.index(r["label"]) for r in rows]})
        return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=opts.max_length), batched=True)

    train_set, test_set = encode(train_rows), encode(test_rows)
    set_seed(opts.seed)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(names))
    curve: list[dict] = []

    def metrics(pred) -> dict:
        guess = np.argmax(pred.predictions, axis=-1)
        return {
            "accuracy": accuracy_score(pred.label_ids, guess),
            "macro_f1": f1_score(pred.label_ids, guess, average="macro"),
        }

    class Curve(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            curve.append(
                {
                    "epoch": round(state.epoch or 0, 2),
                    "acc": round(metrics["eval_accuracy"], 4),
                    "f1": round(metrics["eval_macro_f1"], 4),
                }
            )

    args = TrainingArguments(
        output_dir=str(Path(opts.scratch) / f"{lr}-{batch}"),
        num_train_epochs=opts.epochs,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=64,
        learning_rate=lr,
        weight_decay=0.01,
        warmup_steps=0.1,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="no",
        train_sampling_strategy="group_by_length",
        seed=opts.seed,
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=test_set,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=metrics,
        callbacks=[Curve()],
    )
    started = time.time()
    trainer.train()
    return {"lr": lr, "batch": batch, "wall_s": round(time.time() - started, 1), "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tweets3", choices=sorted(quality_data.CORPORA))
    parser.add_argument("--encoder", default="minilm", choices=("minilm", "mpnet"))
    parser.add_argument("--variants", nargs="+", default=["5e-5:32", "1e-4:32", "2e-4:32", "1e-4:16"])
    parser.add_argument("--epochs", type=float, default=4)
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--test-rows", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads; one is fastest on a busy CPU.")
    parser.add_argument("--scratch", default="/tmp/trainer_studio_explore")
    opts = parser.parse_args()
    for variant in opts.variants:
        lr, batch = variant.split(":")
        print(json.dumps({"task": opts.task, "encoder": opts.encoder, **run(opts, float(lr), int(batch))}), flush=True)


if __name__ == "__main__":
    main()
