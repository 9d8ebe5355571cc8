"""Many visitors at once: concurrent gradio_client callers on the Demo tab's `predict` endpoint.

Launches the real app on 127.0.0.1 with a small BERT built from a config (no download), then N client
threads each send M predictions. Reports errors and latency percentiles; the figures go in RELIABILITY.md.

    python bench/bench_concurrency.py --clients 50 --requests 4 [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(clients: int, requests: int) -> dict:
    from gradio_client import Client
    from tiny import make_tiny_model

    from trainer_core.ui import build_app

    work = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    model = make_tiny_model(work / "model")
    demo = build_app(root=work / "app")
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def visitor(number: int) -> None:
        try:
            client = Client(demo.local_url, verbose=False)
        except Exception as err:
            with lock:
                errors.append(f"connect: {err}")
            start_gate.abort()  # release the others instead of leaving them waiting for this one
            return
        try:
            start_gate.wait(timeout=120)
        except threading.BrokenBarrierError:
            with lock:
                errors.append("start: another client could not connect")
            return
        for i in range(requests):
            text = f"the movie was {'good' if (number + i) % 2 else 'bad'} and the plot was fun"
            began = time.perf_counter()
            try:
                scores = client.predict(text, None, str(model), None, api_name="/predict")
                assert abs(sum(scores.values()) - 1) < 1e-3, scores
            except Exception as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                latencies.append(time.perf_counter() - began)

    try:
        # Warm the model cache once, as a running Space would be.
        Client(demo.local_url, verbose=False).predict("warm up", None, str(model), None, api_name="/predict")
        began = time.perf_counter()
        threads = [threading.Thread(target=visitor, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        wall = time.perf_counter() - began
    finally:
        demo.close()
    return {
        "clients": clients,
        "requests_per_client": requests,
        "completed": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_s": round(percentile(latencies, 0.50), 3) if latencies else None,
        "p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.mean(latencies), 3) if latencies else None,
        "throughput_rps": round(len(latencies) / wall, 2),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4, help="Predictions per client.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.clients, args.requests)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
