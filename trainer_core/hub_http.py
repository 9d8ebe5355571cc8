"""huggingface_hub's HTTP client with a deadline on each whole request, not only on each read.

httpx's time-outs bound one connect, one write or one read. A Hub (or a proxy in front of it) that sends its
answer a byte every two seconds never lets a read time out, so the request would wait for hours. Here every
socket operation of a request is bounded by what is left of that request's deadline, in two parts: the
request must be sent within ``seconds`` of its start, and the answer must arrive within ``seconds`` of the
request being sent; each part gets one more second per ``MIN_RATE`` bytes it has moved so far. A large
upload or download that keeps moving at any usable speed is never cut, while a small answer sent as a
trickle fails about ``seconds`` after it was asked for, whatever came before it.

The deadline rides on a context variable set by the transport while it sends the request and reads its
answer; the network streams that httpcore reads and writes consult it. Streams used outside a request of
this client (none today) are left alone.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpcore2
import httpx2

logger = logging.getLogger(__name__)

MIN_RATE = 16 * 1024  # bytes per second: below it on average a transfer is treated as stalled
_WRITE_PIECE = 64 * 1024  # a large body is written in pieces, each bounded by the deadline left


class _Budget:
    """The time left to one request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.moved = 0
        self.answering = False

    def answer_begins(self) -> None:
        """The request is sent (HTTP/1.1 reads only after that): the answer gets its own time from now, so
        the credit earned by a large upload does not let its answer trickle in."""
        if not self.answering:
            self.answering = True
            self.start = time.monotonic()
            self.moved = 0

    def left(self) -> float:
        return self.start + self.seconds + self.moved / MIN_RATE - time.monotonic()

    def bound(self, timeout: float | None, error: type[Exception]) -> float:
        """The time-out for the next socket operation: at most what is left; raise if nothing is."""
        left = self.left()
        if left <= 0:
            raise error(self.message())
        return left if timeout is None else min(timeout, left)

    def spent(self) -> bool:
        return self.left() <= 0.001

    def message(self) -> str:
        return f"the request did not complete within its {self.seconds:g} s deadline"


_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("hub_request_budget", default=None)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _CURRENT.get()
        if budget is None:
            return self._inner.read(max_bytes, timeout)
        budget.answer_begins()
        try:
            data = self._inner.read(max_bytes, budget.bound(timeout, httpcore2.ReadTimeout))
        except httpcore2.ReadTimeout:
            if budget.spent():
                raise httpcore2.ReadTimeout(budget.message()) from None
            raise
        budget.moved += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = _CURRENT.get()
        if budget is None:
            self._inner.write(buffer, timeout)
            return
        view = memoryview(buffer)
        for start in range(0, len(view), _WRITE_PIECE):
            piece = view[start : start + _WRITE_PIECE]
            try:
                self._inner.write(bytes(piece), budget.bound(timeout, httpcore2.WriteTimeout))
            except httpcore2.WriteTimeout:
                if budget.spent():
                    raise httpcore2.WriteTimeout(budget.message()) from None
                raise
            budget.moved += len(piece)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        budget = _CURRENT.get()
        if budget is not None:
            timeout = budget.bound(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    @staticmethod
    def _bounded(timeout: float | None) -> float | None:
        budget = _CURRENT.get()
        return timeout if budget is None else budget.bound(timeout, httpcore2.ConnectTimeout)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kwargs: Any) -> Any:
        return _DeadlineStream(self._inner.connect_tcp(host, port, self._bounded(timeout), **kwargs))

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return _DeadlineStream(self._inner.connect_unix_socket(path, self._bounded(timeout), **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _BudgetedBody(httpx2.SyncByteStream):
    """The answer's body, read under the deadline of the request that asked for it."""

    def __init__(self, inner: Any, budget: _Budget) -> None:
        self._inner = inner
        self._budget = budget

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            # Set around each step only: a generator that set it once would leak it into the reader's context.
            token = _CURRENT.set(self._budget)
            try:
                chunk = next(chunks, None)
            finally:
                _CURRENT.reset(token)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _DeadlineTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds
        # httpx builds its connection pool itself and offers no argument for the network backend it passes to
        # httpcore, so ours goes in after the fact; without it reads keep only their own time-outs.
        pool = getattr(inner, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            logger.warning("Cannot set a deadline on Hub requests with this httpx2; each read keeps its time-out")
        elif not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        budget = _Budget(self._seconds)
        token = _CURRENT.set(budget)
        try:
            response = self._inner.handle_request(request)
        finally:
            _CURRENT.reset(token)
        response.stream = _BudgetedBody(response.stream, budget)
        return response

    def close(self) -> None:
        self._inner.close()


class DeadlineClient(httpx2.Client):
    """An ``httpx2.Client`` whose every transport (direct, or through a proxy from the environment) gives each
    request a total deadline of ``seconds`` (stretched by the bytes it moves, see the module's doc)."""

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        self._deadline_seconds = seconds
        super().__init__(**kwargs)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return _DeadlineTransport(super()._init_transport(*args, **kwargs), self._deadline_seconds)

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return _DeadlineTransport(super()._init_proxy_transport(*args, **kwargs), self._deadline_seconds)


def client_factory(seconds: float) -> Any:
    """A factory for ``huggingface_hub.set_client_factory``: the library's own client, plus the deadline."""
    from huggingface_hub.utils import _http

    def factory() -> httpx2.Client:
        library = _http.default_client_factory()  # its hooks and settings, so ours stays the library's client
        try:
            return DeadlineClient(
                seconds,
                event_hooks=library.event_hooks,
                follow_redirects=library.follow_redirects,
                headers=library.headers,
                trust_env=library.trust_env,
                timeout=httpx2.Timeout(seconds, connect=min(seconds, 10.0)),
            )
        finally:
            library.close()

    factory.trainer_studio_timeout = seconds  # type: ignore[attr-defined]
    return factory
