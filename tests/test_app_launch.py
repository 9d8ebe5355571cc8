"""`python app.py` as README "Set up" runs it: a separate process, gradio's defaults (analytics on, whose
network call must fail quietly here), no helper variables. Only the port is chosen (GRADIO_SERVER_PORT, gradio's
own setting) so that tests can run beside a real app on 7860, and the Hub is the local double (HF_ENDPOINT, set
by tests/conftest.py) so that the default Demo checkpoint can be fetched."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tiny import make_tiny_model

from trainer_core.ui.demo_tab import DEFAULT_MODELS, SENTIMENT

ROOT = Path(__file__).resolve().parents[1]
START_UP_DEADLINE_S = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_process(hub, tmp_path):
    model = make_tiny_model(tmp_path / "model")
    hub.upload(DEFAULT_MODELS[SENTIMENT], {p.name: p.read_bytes() for p in model.iterdir() if p.is_file()})
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_")}
    env["GRADIO_SERVER_PORT"] = str(port)
    workdir = tmp_path / "clone"  # where a user runs it: studio_data/ is created in the working directory
    workdir.mkdir()
    log = tmp_path / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_UP_DEADLINE_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"python app.py exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(url + "/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"python app.py served no page in {START_UP_DEADLINE_S} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield url, process, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def test_python_app_py_starts_serves_the_page_and_predicts(app_process):
    url, process, log = app_process
    page = httpx.get(url + "/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()

    answer = httpx.post(url + "/api/predict", json={"text": "a wonderful film"}, timeout=120)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == DEFAULT_MODELS[SENTIMENT]
    assert sum(body["scores"].values()) == pytest.approx(1, abs=1e-4)

    time.sleep(3)  # analytics and other start-up threads have had their go: the server must still be up
    assert process.poll() is None, log.read_text()[-4000:]
    assert httpx.get(url + "/", timeout=30).status_code == 200
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]
