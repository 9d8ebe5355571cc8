"""Debian Chromium under playwright, set up the same way for the tests and the screenshot script.

``TRAINER_STUDIO_CHROMIUM`` names another Chromium binary than /usr/bin/chromium (playwright's own
browser download is not used).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test skips, saying why
    sync_playwright = None

CHROMIUM = os.environ.get("TRAINER_STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if sync_playwright is None:
        return "the playwright Python package is not installed (pip install playwright)"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium binary at {CHROMIUM} (apt-get install chromium, or set TRAINER_STUDIO_CHROMIUM)"
    return None


def launch_chromium(playwright: Any, profile_dir: Path, viewport: dict[str, int] | None = None) -> Any:
    """A headless Chromium context on a fresh profile (a user data dir is passed the playwright way)."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=viewport or VIEWPORT,
    )


def is_ignored_console_error(text: str, url: str | None, app_url: str) -> bool:
    """Console errors that say nothing about the app, so they do not fail a test.

    Only one kind: a resource on *another* origin (a web font, a CDN script) that could not be loaded
    because the machine running the test has no internet. Chromium reports each as
    ``Failed to load resource: net::ERR_...`` with the resource's address as the message's location.
    The same failure for an address on the app's own origin is a broken app and is NOT ignored, nor is
    any other error. (Vega's "WARN ..." lines are console *warnings*, never collected.)
    """
    if not text.startswith("Failed to load resource"):
        return False
    if not url:
        return False
    return urlsplit(url).netloc not in ("", urlsplit(app_url).netloc)
