"""How long `python app.py` takes to serve its first page, next to an empty Gradio app on the same machine.

    nice -n 10 python bench/bench_startup.py [--runs 5]

Starts each app as a fresh process, alternating (empty, studio, empty, studio, ...) so both see the same
machine load, and times from the process start to the first 200 answer for "/" (the page's HTML, config
included). Prints both medians and their ratio; the ratio goes in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMPTY_APP = "import gradio as gr\nwith gr.Blocks() as demo:\n    gr.Markdown('empty')\ndemo.launch()\n"
TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_page_seconds(argv: list[str], home: Path) -> float:
    port = free_port()
    env = os.environ | {
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "TRAINER_STUDIO_HOME": str(home),
    }
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            if process.poll() is not None:
                raise RuntimeError(f"{argv} exited with {process.returncode} before serving a page")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    if answer.status == 200:
                        answer.read()
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{argv} served no page within {TIMEOUT_S} s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"empty gradio app": [], "python app.py": []}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        empty = Path(scratch) / "empty_app.py"
        empty.write_text(EMPTY_APP, encoding="utf-8")
        commands = {"empty gradio app": [sys.executable, str(empty)], "python app.py": [sys.executable, "app.py"]}
        first_page_seconds(commands["python app.py"], Path(scratch) / "warm")  # fill the OS file cache once
        for run in range(args.runs):
            for name, argv in commands.items():
                seconds = first_page_seconds(argv, Path(scratch) / f"home-{run}")
                times[name].append(seconds)
                print(f"run {run + 1}: {name}: {seconds:.2f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name}: median {median:.2f} s of {args.runs} ({', '.join(f'{t:.2f}' for t in times[name])})")
    print(f"ratio app / empty: {medians['python app.py'] / medians['empty gradio app']:.2f}")


if __name__ == "__main__":
    main()
