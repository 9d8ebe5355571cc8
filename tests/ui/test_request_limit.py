"""One request cannot make the app read gigabytes into memory: bodies over the cap get 413 before parsing."""

from __future__ import annotations

import httpx
import pytest
from ui_support import launched_app

from trainer_core.ui.request_limit import MAX_REQUEST_BYTES


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with launched_app(tmp_path_factory.mktemp("studio-limits")) as url:
        yield url


def test_an_oversized_body_is_refused_before_it_is_read(app_url):
    huge = b'{"data": ["' + b"a" * (MAX_REQUEST_BYTES + 1) + b'", null, ""]}'
    answer = httpx.post(f"{app_url}/gradio_api/call/predict", content=huge, timeout=60)
    assert answer.status_code == 413
    assert "at most 100,000 characters" in answer.json()["error"]


def test_a_streamed_oversized_body_is_refused_too(app_url):
    """No Content-Length (chunked): the bytes are counted as they arrive."""

    def chunks():
        for _ in range(MAX_REQUEST_BYTES // 65_536 + 2):
            yield b"a" * 65_536

    answer = httpx.post(f"{app_url}/gradio_api/call/predict", content=chunks(), timeout=60)
    assert answer.status_code == 413


def test_requests_under_the_cap_and_uploads_go_through(app_url):
    small = httpx.post(f"{app_url}/gradio_api/call/predict", json={"data": ["fine", None, ""]}, timeout=60)
    assert small.status_code == 200 and "event_id" in small.json()
    # Uploads stream to disk and have their own limit (max_file_size), well above the body cap.
    upload = httpx.post(
        f"{app_url}/gradio_api/upload",
        files={"files": ("big.csv", b"text,label\n" + b"a fine row,1\n" * (MAX_REQUEST_BYTES // 10))},
        timeout=60,
    )
    assert upload.status_code == 200, upload.text
