"""Helpers the UI tests import by name (``conftest`` is not importable by name when several test folders
have one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def api_identity(client: Any) -> str:
    """Who the app takes a gradio_client ``Client`` for: the cookie it gave the client (trainer_core.ui.caller)."""
    from trainer_core.ui.caller import COOKIE, identity_of

    return identity_of(client.cookies[COOKIE])


def ui_client(url: str, **kwargs: Any):
    """A gradio_client Client that also sees the page's own events (``/ui_*``, undocumented endpoints),
    so the tests can drive them as the page does; the public API is the documented endpoints."""
    from gradio_client import Client
    from gradio_client import utils as client_utils

    class UIClient(Client):
        def _get_api_info(self):
            original = client_utils.RAW_API_INFO_URL
            client_utils.RAW_API_INFO_URL = original + "&all_endpoints=True"
            try:
                return super()._get_api_info()
            finally:
                client_utils.RAW_API_INFO_URL = original

    return UIClient(url, **kwargs)


@contextmanager
def launched_app(root: Path) -> Iterator[str]:
    """The app launched as ``app.py`` launches it (``launch_options``: routes, middleware, limits) on a free
    local port; yields its URL without the trailing slash and closes it afterwards."""
    from trainer_core.ui import build_app, launch_options

    demo = build_app(root)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()
