"""The app in a real browser: Debian Chromium driven by playwright.

Fixtures:
  tiny_model  -- session scope: a 2-layer BERT saved as a local directory (the model "id" off a Space).
  studio_app  -- module scope: the app launched on a local port (``.url``, ``.ctx``, ``.demo``), data in a temp dir.
  browser     -- module scope: a headless Chromium context with a fresh profile. Skips the test when the
                 playwright package or the Chromium binary is missing (``TRAINER_STUDIO_CHROMIUM`` names
                 another binary than /usr/bin/chromium).
  page        -- function scope: a ``BrowserPage``: the playwright page, the console errors and page errors
                 seen so far, and ``shot(name)`` saving a screenshot to tests/e2e/screenshots/. A failing
                 test leaves a ``<test name>-failed.png`` there as well.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from chromium import chromium_missing, is_ignored_console_error, launch_chromium, sync_playwright
from tiny import make_tiny_model

SCREENSHOTS = Path(__file__).parent / "screenshots"


@dataclass
class BrowserPage:
    page: Any
    app_url: str
    name: str
    console_errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url")
        line = f"{message.text} (at {url})" if url else message.text
        if is_ignored_console_error(message.text, url, self.app_url):
            self.ignored.append(line)
        else:
            self.console_errors.append(line)

    def on_page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path

    def problems(self) -> list[str]:
        """Every console error and uncaught page error not ignored, for an assertion message."""
        return [f"console error: {e}" for e in self.console_errors] + [f"page error: {e}" for e in self.page_errors]


@dataclass
class StudioApp:
    url: str
    ctx: Any
    demo: Any


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model") / "bert")


@pytest.fixture(scope="module")
def studio_app(tmp_path_factory) -> StudioApp:
    from trainer_core.ui import build_app, launch_options
    from trainer_core.ui.context import AppContext

    ctx = AppContext.create(tmp_path_factory.mktemp("studio-e2e") / "data")
    assert not ctx.on_space, "the browser tests run the app as a local app (unset SPACE_ID / SYSTEM)"
    demo = build_app(context=ctx)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    try:
        yield StudioApp(url=demo.local_url, ctx=ctx, demo=demo)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = chromium_missing()
    if reason:
        pytest.skip(f"browser tests need Chromium and playwright: {reason}")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, profile)
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(request, browser, studio_app) -> BrowserPage:
    view = BrowserPage(page=browser.new_page(), app_url=studio_app.url, name=request.node.name)
    view.page.on("console", view.on_console)
    view.page.on("pageerror", view.on_page_error)
    try:
        yield view
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print("browser errors before the failure:", *(view.problems() or ["none"]), sep="\n  ")
            try:
                view.shot(f"{request.node.name}-failed")
            except Exception as err:  # a crashed page cannot be photographed; the failure says enough
                print(f"no failure screenshot: {err}")
        view.page.close()
