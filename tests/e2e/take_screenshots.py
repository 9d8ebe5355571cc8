"""Take the README's screenshots from the real app: one PNG per tab in docs/screenshots/.

    python tests/e2e/take_screenshots.py [--out docs/screenshots] [--steps 60]

It launches the app on a local port, drives it in headless Chromium through the same steps as
tests/e2e/test_browser_flow.py (upload the sentiment example, preview, train, evaluate, predict) and saves
dataset.png, train.png, evaluate.png and demo.png at a 1280-pixel-wide viewport. Nothing is downloaded:
the model is a small BERT with random weights and a word vocabulary taken from the example data, saved as
a local folder (a local model folder is accepted when the app runs off a Space); 60 steps on a CPU take
seconds and reach about 97% accuracy on the held-out rows. Exits non-zero if the browser reports an error
or a step's check fails (the Train step checks that the loss chart draws both the train and the eval line).
Install an emoji font (Debian: fonts-noto-color-emoji) or the 🤗 in the header shows as a box.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (REPO, REPO / "tests", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHOTS = {"dataset": "dataset.png", "train": "train.png", "evaluate": "evaluate.png", "demo": "demo.png"}
DEMO_TEXT = "The staff were friendly and the pasta was excellent. Highly recommended."
LABELS = ("negative", "positive")


def make_model(directory: Path, texts: list[str]) -> Path:
    """A 2-layer BERT whose vocabulary is every word of ``texts`` (so nothing is an unknown token)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    # What BERT's pre-tokenizer makes of lower-cased text: runs of word characters and single punctuation marks.
    words = sorted({word for text in texts for word in re.findall(r"\w+|[^\w\s]", text.lower())})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(vocab)}, model_max_length=128)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
        num_labels=len(LABELS),
    )
    torch.manual_seed(0)  # the same starting weights every time, so the same pictures
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--steps", type=int, default=60, help="training steps of the run shown (default 60)")
    args = parser.parse_args(argv)

    import pandas as pd
    import studio_flow as flow
    from chromium import chromium_missing, is_ignored_console_error, launch_chromium
    from playwright.sync_api import sync_playwright

    from trainer_core.examples import EXAMPLES
    from trainer_core.ui import build_app, launch_options

    reason = chromium_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    csv = EXAMPLES["sentiment"].path
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trainer-studio-shots-") as tmp:
        work = Path(tmp)
        # The model is shown by the name it is given: a short relative folder reads better than a temp path.
        os.chdir(work)
        model = "./tiny-bert"
        make_model(work / "tiny-bert", pd.read_csv(csv)["text"].astype(str).tolist())
        demo = build_app(root=work / "data")
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
        try:
            with sync_playwright() as playwright:
                context = launch_chromium(playwright, work / "profile", {"width": 1280, "height": 900})
                context.set_default_timeout(30_000)
                page = context.new_page()
                errors: list[str] = []

                def on_console(message) -> None:
                    url = (message.location or {}).get("url")
                    if message.type == "error" and not is_ignored_console_error(message.text, url, demo.local_url):
                        errors.append(f"console: {message.text} (at {url})")

                page.on("console", on_console)
                page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

                def shot(name: str, *, full_page: bool = True) -> None:
                    page.mouse.move(0, 0)  # no hover highlight in the picture
                    page.evaluate("document.activeElement?.blur()")  # nor a focus outline
                    page.evaluate("window.scrollTo(0, 0)")
                    path = args.out / SHOTS[name]
                    page.screenshot(path=str(path), full_page=full_page)
                    print(f"{path} ({path.stat().st_size // 1024} KB)")

                flow.open_app(page, demo.local_url)
                flow.preview_upload(page, csv, model, labels=LABELS, rows=320)
                shot("dataset")
                run_id = flow.train(
                    page, model, max_steps=args.steps, eval_steps=10, learning_rate=2e-3, warmup_ratio=0
                )
                # The picture shows the form's main fields and both loss lines: the accordions the
                # steps opened (more options, the runs table) are closed again.
                page.get_by_text("More options", exact=True).click()
                page.get_by_text("Your runs as a table", exact=True).click()
                shot("train")
                flow.evaluate(page, run_id, labels=LABELS)
                shot("evaluate")
                flow.predict(page, run_id, DEMO_TEXT, labels=LABELS)
                shot("demo", full_page=False)
                context.close()
        finally:
            demo.close()
            os.chdir(REPO)
    if errors:
        print("the browser reported errors:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
