"""A local stand-in for ZeroGPU's device API, the service ``spaces`` talks to (SPACES_ZERO_DEVICE_API_URL).

Endpoints as ``spaces`` 0.51.3 calls them (spaces/zero/api.py): ``POST /startup-report``; ``POST /schedule``
(query: cgroupPath, taskId, durationSeconds, token = the visitor's X-IP-Token) answered with a GPU (JSON), a
quota refusal (429 JSON ``{"left", "wait"}``) or a queue (server-sent events: ping, then succeeded or
failed); ``POST /allow`` (allowToken, pid of the worker process); ``POST /release`` (allowToken, fail).

Like the platform, it kills a worker (SIGKILL) that is still running when its booking runs out; tests
shorten that with ``kill_next``, queue answers with ``refuse_next`` / ``pass_next`` and keep calls waiting with
``hold_schedules``. Everything it saw is kept for assertions.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Booking:
    allow_token: str
    duration: int
    token: str | None
    scheduled: float
    allowed: float | None = None
    released: float | None = None
    failed: bool = False
    pid: int | None = None
    killed: bool = False
    timer: threading.Timer | None = field(default=None, repr=False)


class DeviceAPI:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.startup_reports = 0
        self.bookings: list[Booking] = []
        self.refusals: list[dict[str, Any]] = []  # answers for the next /schedule calls, in order
        self.kills: list[float] = []  # for the next /allow calls: kill the worker after this many seconds
        self.time_scale = 1.0  # booked seconds -> real seconds before the kill
        self.barrier: threading.Barrier | None = None
        self.schedule_calls = 0
        self._hold: tuple[int, threading.Event] | None = None
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ test controls
    def refuse_next(self, kind: str, **details: Any) -> None:
        with self.lock:
            self.refusals.append({"kind": kind, **details})

    def pass_next(self) -> None:
        """Answer the next /schedule normally: lets a later queued refusal hit a later call."""
        with self.lock:
            self.refusals.append({"kind": "pass"})

    def hold_schedules(self, after: int) -> None:
        """Let ``after`` more /schedule calls through, then hold every later one, unanswered, until
        ``release_holds`` (for a test that kills the app while a call waits for a GPU)."""
        with self.lock:
            self._hold = (self.schedule_calls + after, threading.Event())

    def release_holds(self) -> None:
        with self.lock:
            hold, self._hold = self._hold, None
        if hold is not None:
            hold[1].set()

    def kill_next(self, after_seconds: float) -> None:
        with self.lock:
            self.kills.append(after_seconds)

    def hold_schedules_until(self, parties: int, timeout: float) -> threading.Barrier:
        """Answer no /schedule until ``parties`` calls are waiting at once (or ``timeout`` passes)."""
        self.barrier = threading.Barrier(parties, timeout=timeout)
        return self.barrier

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DeviceAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                route = getattr(api, "_" + url.path.strip("/").replace("-", "_"), None)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                route(self, params)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for booking in self.bookings:
            if booking.timer is not None:
                booking.timer.cancel()

    # ------------------------------------------------------------------ endpoints
    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None):
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _startup_report(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        with self.lock:
            self.startup_reports += 1
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _schedule(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        with self.lock:
            index, self.schedule_calls = self.schedule_calls, self.schedule_calls + 1
            hold = self._hold
        if hold is not None and index >= hold[0]:
            hold[1].wait(300)
            return  # held past its caller's life (the test killed the app): nothing to answer
        if self.barrier is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait()
        with self.lock:
            refusal = self.refusals.pop(0) if self.refusals else None
        if refusal is not None and refusal["kind"] == "pass":
            refusal = None
        duration = int(params.get("durationSeconds", 60))
        if refusal is not None and refusal["kind"] == "quota":
            payload = {"left": refusal.get("left", 0), "wait": refusal.get("wait", 3600)}
            self._json(handler, 429, payload, {"X-Approve-Result": "quota-exceeded"})
            return
        booking = Booking(uuid.uuid4().hex, duration, params.get("token"), time.time())
        with self.lock:
            self.bookings.append(booking)
        answer = {"idle": False, "nvidiaIndex": 0, "nvidiaUUID": "GPU-stand-in", "allowToken": booking.allow_token}
        if refusal is not None and refusal["kind"] in ("queue", "queue_timeout"):
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("X-Queuing-Reason", "node")
            handler.end_headers()
            handler.wfile.write(b"event: ping\n\n")
            handler.wfile.flush()
            time.sleep(0.3)  # one event per read: spaces parses each chunk as one event
            if refusal["kind"] == "queue":
                handler.wfile.write(f"event: succeeded\ndata: {json.dumps(answer)}\n\n".encode())
            else:
                handler.wfile.write(b"event: failed\n\n")
            handler.wfile.flush()
            handler.close_connection = True
            return
        self._json(handler, 200, answer)

    def _find(self, allow_token: str) -> Booking | None:
        return next((b for b in self.bookings if b.allow_token == allow_token), None)

    def _allow(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        with self.lock:
            booking = self._find(params.get("allowToken", ""))
            if booking is None:
                self._json(handler, 404, {"error": "unknown allowToken"})
                return
            booking.allowed, booking.pid = time.time(), int(params["pid"])
            delay = self.kills.pop(0) if self.kills else booking.duration * self.time_scale
            booking.timer = threading.Timer(delay, self._kill, (booking,))
            booking.timer.daemon = True
            booking.timer.start()
        self._json(handler, 200, {})

    def _kill(self, booking: Booking) -> None:
        with self.lock:
            if booking.released is not None or booking.pid is None:
                return
            booking.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(booking.pid, signal.SIGKILL)

    def _release(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        with self.lock:
            booking = self._find(params.get("allowToken", ""))
            if booking is None or booking.released is not None:
                self._json(handler, 404, {})
                return
            booking.released, booking.failed = time.time(), params.get("fail") in ("true", "True", "1")
            if booking.timer is not None:
                booking.timer.cancel()
        self._json(handler, 200, {})
