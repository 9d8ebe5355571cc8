"""Who an API caller is: a random secret the server hands out in a cookie, not the client's session hash.

Gradio's session hash is picked by the client (gradio_client makes one with ``uuid4`` and sends it with every
call; a raw HTTP caller writes any value into ``/queue/join``), so it names a session but proves nothing: a
second client that sends the first one's hash would be the first one. This middleware gives every caller
that arrives without one a cookie holding 192 random bits: ``Set-Cookie`` on the answer, and the same
cookie added to that request itself, so even its first call has it. gradio_client keeps the cookies of its
first answer (``/config``) and sends them with each later call, so a ``Client`` keeps one caller for its
whole life; a caller who does not keep cookies is a new caller on each request. The caller's identity is a
hash of the cookie (``identity_of``), so the secret itself is never written in a run's files.

The page does not depend on it: a browser is known by its visitor id (``gr.BrowserState``, encrypted with
the app's secret), a signed-in visitor by their Hub name (``common.caller_identity``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from trainer_core.errors import InputError

COOKIE = "trainer_studio_caller"
_VALUE = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _cookies(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            pairs.append((name.strip(), value.strip()))
    return pairs


class CallerCookie:
    """ASGI middleware: every HTTP request reaches the app with a valid caller cookie (see the module doc)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        sent = [pair for name, value in headers if name == b"cookie" for pair in _cookies(value.decode("latin-1"))]
        if any(name == COOKIE and _VALUE.fullmatch(value) for name, value in sent):
            await self.app(scope, receive, send)
            return
        value = secrets.token_urlsafe(24)
        # A value not of our form is replaced. One of our form but made up by the caller is kept: it names a
        # caller nobody else is (192 random bits cannot be guessed), like a cookie of ours would.
        kept = [(name, v) for name, v in sent if name != COOKIE] + [(COOKIE, value)]
        cookie = "; ".join(f"{name}={v}" for name, v in kept).encode("latin-1")
        scope = {**scope, "headers": [(n, v) for n, v in headers if n != b"cookie"] + [(b"cookie", cookie)]}
        forwarded = dict(headers).get(b"x-forwarded-proto", b"").decode("latin-1")
        secure = "; Secure" if scope.get("scheme") == "https" or forwarded == "https" else ""
        set_cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}".encode("latin-1")

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", set_cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def cookie_of(request: Any) -> str | None:
    """The caller cookie a request carried (a gr.Request, live or as gradio pickles it), if it is one of ours."""
    try:
        value = dict(getattr(request, "cookies", None) or {}).get(COOKIE)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, str) and _VALUE.fullmatch(value) else None


def identity_of(cookie: str) -> str:
    return "api:" + hashlib.sha256(cookie.encode()).hexdigest()[:32]


def api_identity(request: Any) -> str:
    """The identity of an API caller, from the cookie the app handed out (``CallerCookie``)."""
    cookie = cookie_of(request)
    if cookie is None:
        # Only when the app was launched without its middleware: telling API callers apart by their session
        # hash would let anyone who sends another caller's hash see that caller's runs.
        raise InputError(
            "This app cannot tell API callers apart: it was launched without its caller cookie. The app's owner "
            "should launch it with demo.launch(**trainer_core.ui.launch_options()), as app.py does."
        )
    return identity_of(cookie)
