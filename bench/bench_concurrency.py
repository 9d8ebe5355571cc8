"""Many visitors at once: concurrent gradio_client callers on the Demo tab's `predict` endpoint.

Starts the real app in its own process on 127.0.0.1 with a small BERT built from a config (no download),
measures one caller alone, then N concurrent client threads sending M predictions each. Reports errors,
latency percentiles and throughput; the figures go in RELIABILITY.md.

    python bench/bench_concurrency.py --clients 50 --requests 4 [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


SERVER = """
import sys
from trainer_core.ui import build_app
demo = build_app(root=sys.argv[1])
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[2]), quiet=True)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(root: Path) -> tuple[subprocess.Popen, str]:
    """The app in a process of its own, as on a Space: clients and server do not share one interpreter."""
    import urllib.request

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port)])
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the app process exited while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("the app did not start within 180 s")


def _latencies(url: str, model: str, clients: int, requests: int) -> tuple[list[float], list[str], float]:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def visitor(number: int) -> None:
        try:
            client = Client(url, verbose=False)
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
                scores = client.predict(text, None, model, None, api_name="/predict")
                assert abs(sum(scores.values()) - 1) < 1e-3, scores
            except Exception as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return latencies, errors, time.perf_counter() - began


def _summary(latencies: list[float], wall: float) -> dict:
    if not latencies:
        return {"p50_s": None, "p95_s": None, "max_s": None, "throughput_rps": 0.0}
    return {
        "p50_s": round(percentile(latencies, 0.50), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
        "mean_s": round(statistics.mean(latencies), 3),
        "throughput_rps": round(len(latencies) / wall, 2),
    }


def run(clients: int, requests: int) -> dict:
    """One caller alone, then ``clients`` callers at once, against the same running app."""
    from gradio_client import Client
    from tiny import make_tiny_model

    work = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    model = str(make_tiny_model(work / "model"))
    server, url = _start_server(work / "app")
    try:
        Client(url, verbose=False).predict("warm up", None, model, None, api_name="/predict")
        alone, alone_errors, alone_wall = _latencies(url, model, 1, 20)
        loaded, errors, wall = _latencies(url, model, clients, requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "clients": clients,
        "requests_per_client": requests,
        "completed": len(loaded),
        "errors": len(errors) + len(alone_errors),
        "error_samples": (errors + alone_errors)[:5],
        "alone": _summary(alone, alone_wall),
        "concurrent": _summary(loaded, wall),
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
