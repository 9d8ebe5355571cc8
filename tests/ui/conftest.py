"""The app launched on a local port, driven through gradio_client as an API user would.

Fixtures:
  studio      -- module scope: the app launched as app.py launches it (``.client``, ``.ctx``, ``.demo``), data
                 under a temp dir.
  tiny_model  -- session scope: a 2-layer BERT saved as a local directory (used as the model id off a Space).
  sentiment_csv / paraphrase_csv -- small CSV files in a temp dir.
  visitor     -- a fresh random visitor id (what the browser keeps in localStorage).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tiny import make_tiny_model, paraphrase_rows, sentiment_rows, write_csv
from ui_support import ui_client


@dataclass
class Studio:
    client: Any
    ctx: Any
    demo: Any

    def identity(self, visitor: str) -> str:
        from trainer_core.ui.context import visitor_identity

        return visitor_identity(visitor)


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Studio:

    from trainer_core.ui import build_app, launch_options
    from trainer_core.ui.context import AppContext

    root = tmp_path_factory.mktemp("studio")
    ctx = AppContext.create(root / "data")
    assert not ctx.on_space, "the UI tests run as a local app (unset SPACE_ID / SYSTEM)"
    demo = build_app(context=ctx)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    try:
        client = ui_client(
            demo.local_url, verbose=False, download_files=str(root / "downloads"), analytics_enabled=False
        )
        yield Studio(client=client, ctx=ctx, demo=demo)
    finally:
        demo.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model") / "bert")


@pytest.fixture
def sentiment_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(48, string_labels=True, long_tail=True))


@pytest.fixture
def paraphrase_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "pairs.csv", paraphrase_rows(40))


@pytest.fixture
def visitor() -> str:
    return secrets.token_urlsafe(16)
