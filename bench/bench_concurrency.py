"""Many visitors at once: concurrent callers of the Demo's predictions, through Gradio's API and the plain route.

Starts the real app in its own process on 127.0.0.1 with a small BERT built from a config (no download) or
the model folder given with --model, measures one caller alone, then N concurrent client threads sending M
predictions each. Reports errors, latency percentiles, throughput, the ratio of the loaded p95 to the lone
caller's p50, CPU seconds of server and clients and the load average; the figures go in RELIABILITY.md.

Callers speak Gradio's plain HTTP API (POST /gradio_api/call/predict, then read the event stream) with one
keep-alive connection each, as API users and scripts do; ``--client gradio_client`` uses gradio_client
instead, whose per-call threads cost the bench process several times the server's CPU on a 2-core machine
(so it mostly measures itself). ``--baseline DIR`` runs the same measurement against the app from another
checkout (for example the main branch) in the same run, for a side-by-side comparison.

    python bench/bench_concurrency.py --clients 50 --requests 4 [--client http plain] [--baseline DIR] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
try:
    from trainer_core.ui import launch_options
except ImportError:  # a --baseline checkout from before launch_options
    def launch_options():
        return {}
demo = build_app(root=sys.argv[1])
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[2]), quiet=True, **launch_options())
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(root: Path, code: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The app in a process of its own, as on a Space: clients and server do not share one interpreter.

    ``code``: the checkout whose ``trainer_core`` the server imports (default: this one)."""
    import urllib.request

    port = _free_port()
    code = code or Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(code)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port)], cwd=code, env=env)
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


class HttpCaller:
    """One API user on one keep-alive connection: POST the inputs, then read the event stream to the end."""

    def __init__(self, url: str) -> None:
        import secrets

        import httpx

        self.url = url.rstrip("/") + "/gradio_api/call/predict"
        self.http = httpx.Client(timeout=300)
        # One session per caller, as a browser tab or a gradio_client Client keeps (Gradio builds a session's
        # state once, on its first request).
        self.session = secrets.token_hex(8)
        self.inputs: int | None = None

    def _arity(self) -> int:
        """How many inputs the app's /predict takes (older versions also took a visitor id)."""
        if self.inputs is None:
            info = self.http.get(self.url.replace("/call/predict", "/info")).raise_for_status().json()
            self.inputs = len(info["named_endpoints"]["/predict"]["parameters"])
        return self.inputs

    def predict(self, *data):
        data = [*data, *[None] * (self._arity() - len(data))]
        body = {"data": data, "session_hash": self.session}
        event_id = self.http.post(self.url, json=body).raise_for_status().json()["event_id"]
        event = None
        with self.http.stream("GET", f"{self.url}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: ") and event in ("complete", "error"):
                    payload = json.loads(line[len("data: ") :])
                    if event == "error":
                        raise RuntimeError(f"the app answered with an error: {payload}")
                    return payload[0]
        raise RuntimeError("the event stream ended without an answer")

    def close(self) -> None:
        self.http.close()


class PlainCaller:
    """One API user of the plain JSON route (``POST /api/predict``) on one keep-alive connection."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/") + "/api/predict"
        self.http = httpx.Client(timeout=300)

    def predict(self, text, text_pair, model):
        answer = self.http.post(self.url, json={"text": text, "text_pair": text_pair, "model": model})
        if answer.status_code != 200:
            raise RuntimeError(f"the app answered {answer.status_code}: {answer.text[:200]}")
        return answer.json()["scores"]

    def close(self) -> None:
        self.http.close()


class _AsyncPlainCaller(PlainCaller):
    """For the warm-up call: the measured calls of ``plain-async`` go through ``_latencies_async``."""


class _GradioCaller:
    def __init__(self, url: str) -> None:
        from gradio_client import Client

        self.client = Client(url, verbose=False)

    def predict(self, *data):
        return self.client.predict(*data, api_name="/predict")

    def close(self) -> None:
        self.client.close()


CALLERS = {"http": HttpCaller, "gradio_client": _GradioCaller, "plain": PlainCaller, "plain-async": _AsyncPlainCaller}


def _latencies(
    url: str, model: str, clients: int, requests: int, kind: str = "http"
) -> tuple[list[float], list[str], float]:
    if kind == "plain-async":
        return _latencies_async(url, model, clients, requests)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def visitor(number: int) -> None:
        try:
            caller = CALLERS[kind](url)
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
            caller.close()
            return
        for i in range(requests):
            text = _text(number, i)
            began = time.perf_counter()
            try:
                scores = caller.predict(text, None, model)
                probabilities = [c["confidence"] for c in scores["confidences"]] if "confidences" in scores else []
                if not probabilities:
                    probabilities = list(scores.values())
                assert abs(sum(probabilities) - 1) < 1e-3, scores
            except Exception as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                latencies.append(time.perf_counter() - began)
        caller.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return latencies, errors, time.perf_counter() - began


async def _raw_post(reader, writer, host: str, body: bytes) -> dict:
    """POST /api/predict on an open keep-alive connection and read the JSON answer (Content-Length framed)."""
    writer.write(
        b"POST /api/predict HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    answer = json.loads(await reader.readexactly(length))
    if status != 200:
        raise RuntimeError(f"the app answered {status}: {answer}")
    return answer["scores"]


def _latencies_async(url: str, model: str, clients: int, requests: int) -> tuple[list[float], list[str], float]:
    """``_latencies`` for the plain route with callers that cost almost no CPU: one event loop, one keep-alive
    socket per caller, requests written by hand. On a Space the callers are other machines; here they share
    the server's two cores, and the thread-per-caller httpx clients cost several times the route's own CPU."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    errors: list[str] = []

    async def visitor(number: int, gate: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        await gate.wait()
        for i in range(requests):
            body = json.dumps({"text": _text(number, i), "model": model}).encode()
            began = time.perf_counter()
            try:
                scores = await _raw_post(reader, writer, parts.netloc, body)
                assert abs(sum(scores.values()) - 1) < 1e-3, scores
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")
                continue
            latencies.append(time.perf_counter() - began)
        writer.close()

    async def everyone() -> float:
        gate = asyncio.Event()
        tasks = [asyncio.create_task(visitor(n, gate)) for n in range(clients)]
        await asyncio.sleep(0.5)  # every caller connected
        began = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - began

    wall = asyncio.run(everyone())
    return latencies, errors, wall


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


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds used so far by a process (this one when ``pid`` is None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _text(number: int, i: int) -> str:
    return f"the movie was {'good' if (number + i) % 2 else 'bad'} and the plot was fun"


def compute_floor(model: str, clients: int, rounds: int = 7) -> dict:
    """What the model alone costs, measured in this process before the server starts: one text, and one
    forward pass over one text from each of ``clients`` callers (the best any server can gather them into).

    With N callers each waiting for an answer before asking again, a caller waits at least for the pass
    that answers it, so the loaded latency cannot fall below the batched pass time, whatever the server."""
    from trainer_core.inference import Predictor

    predictor = Predictor(model, device="cpu")
    texts = [_text(number, 0) for number in range(clients)]

    def median_seconds(batch: list[str]) -> float:
        predictor.predict_proba(batch, batch_size=len(batch))
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            predictor.predict_proba(batch, batch_size=len(batch))
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    one, gathered = median_seconds(texts[:1]), median_seconds(texts)
    return {"one_text_s": round(one, 4), f"{clients}_texts_one_pass_s": round(gathered, 4)}


def run(
    clients: int,
    requests: int,
    *,
    kinds: tuple[str, ...] = ("http",),
    model: str | None = None,
    code: Path | None = None,
) -> list[dict]:
    """For each client kind against the same running app: one caller alone, then ``clients`` at once."""
    from tiny import make_tiny_model

    work = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    model = model or str(make_tiny_model(work / "model"))
    floor = compute_floor(model, clients)
    server, url = start_server(work / "app", code)
    results = []
    try:
        for kind in kinds:
            warm = CALLERS[kind](url)
            warm.predict("warm up", None, model)
            warm.close()
            alone, alone_errors, alone_wall = _latencies(url, model, 1, 20, kind)
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            server_cpu, client_cpu = _cpu_seconds(server.pid), _cpu_seconds()
            loaded, errors, wall = _latencies(url, model, clients, requests, kind)
            server_cpu, client_cpu = _cpu_seconds(server.pid) - server_cpu, _cpu_seconds() - client_cpu
            results.append(
                {
                    "code": str(code or Path(__file__).resolve().parent.parent),
                    "client": kind,
                    "clients": clients,
                    "requests_per_client": requests,
                    "completed": len(loaded),
                    "errors": len(errors) + len(alone_errors),
                    "error_samples": (errors + alone_errors)[:5],
                    "alone": _summary(alone, alone_wall),
                    "concurrent": _summary(loaded, wall),
                    "wall_s": round(wall, 2),
                    # The goal (issue 10, case 9): p95 under load at most 3x one caller's latency, in the same run.
                    "p95_over_alone_p50": round(percentile(loaded, 0.95) / percentile(alone, 0.50), 2)
                    if loaded and alone
                    else None,
                    "model_alone": floor,
                    # No server answers N waiting callers faster than one pass over all their texts.
                    "p95_over_one_pass_of_all": round(
                        percentile(loaded, 0.95) / floor[f"{clients}_texts_one_pass_s"], 2
                    )
                    if loaded
                    else None,
                    "cpu_s_during_load": {"server": round(server_cpu, 1), "clients": round(client_cpu, 1)},
                    "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(loaded), 1), 2),
                    "loadavg_before_load": " ".join(load_before),
                }
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4, help="Predictions per client.")
    parser.add_argument(
        "--client",
        choices=sorted(CALLERS),
        nargs="+",
        default=["http", "plain", "plain-async"],
        help="Which API and client: http (Gradio's /gradio_api/call/predict, a thread and httpx client per caller), "
        "plain (/api/predict, the same clients), plain-async (/api/predict, callers on one event loop), gradio_client.",
    )
    parser.add_argument("--model", default=None, help="A model folder (default: a tiny BERT built here).")
    parser.add_argument("--baseline", type=Path, default=None, help="Another checkout to measure first.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    kinds = tuple(args.client)
    if args.baseline:
        results += run(args.clients, args.requests, kinds=kinds, model=args.model, code=args.baseline)
    results += run(args.clients, args.requests, kinds=kinds, model=args.model)
    if args.json:
        print(json.dumps(results))
        return
    for result in results:
        print()
        for key, value in result.items():
            print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
