"""A cap on the size of every request body the app reads into memory.

The handlers refuse texts over 100,000 characters, but only after the web framework has read and parsed the
whole JSON body: one request of a few GB would exhaust the Space's memory before any check ran. This ASGI
middleware answers 413 as soon as a body is known (Content-Length) or seen (streamed chunks) to be larger
than ``max_bytes``. File uploads stream to disk and have their own limit (``launch(max_file_size=...)``), so
their route is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

# Two texts of 100,000 characters, JSON-escaped at up to 6 bytes a character (\\uXXXX), and room for the rest.
MAX_REQUEST_BYTES = 2 * 100_000 * 6 + 256 * 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RequestSizeLimit:
    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/").endswith("/upload"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> dict[str, Any]:
            # Past the cap the 413 goes out at once and the app is told the client left, so it stops reading.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not refused:  # after the 413, whatever the app answers has nowhere to go
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": f"The request is larger than {self.max_bytes // 1024:,} KiB. Send shorter texts "
                "(at most 100,000 characters each), or upload a file for batch predictions."
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
