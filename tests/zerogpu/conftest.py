"""The app served as on a ZeroGPU Space (real ``spaces``, SPACES_ZERO_GPU=true) against a stand-in device API.

Fixtures:
  device_api -- module scope: the stand-in (tests/zerogpu/device_api.py) the app's ``spaces`` talks to.
  space      -- module scope: app.py in its own process as a Space (SPACE_ID, SYSTEM=spaces, the owner's
                HF_TOKEN as its secret) on the Hub double, runs cut into slices of 4 steps; ``.client(...)``
                connects as a visitor, with an X-IP-Token header like the Hub's proxy adds; ``.restart()``
                kills the app and starts it again on the same home and port, as a Space restart does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from device_api import DeviceAPI
from hub_double import ALICE_TOKEN
from tiny import make_tiny_model
from zerogpu_support import PRIVATE_MODEL, PUBLIC_MODEL, SLICE_STEPS, ip_token

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Space:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen
    env: dict[str, str]
    port: int

    def client(self, visitor: str, *, x_ip_token: bool = True) -> Any:
        from gradio_client import Client

        headers = {"X-IP-Token": ip_token(visitor)} if x_ip_token else {}
        return Client(self.url, headers=headers, verbose=False, analytics_enabled=False)

    def kill(self) -> None:
        """End the app and its forked GPU workers at once, as a Space restart or a crash does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def restart(self) -> None:
        """Kill the app, then start it again on the same TRAINER_STUDIO_HOME and port (its log goes on)."""
        self.kill()
        self.process = _start_app(self.env, self.log, self.port)


def _start_app(env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "serve_app.py")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 240
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                raise RuntimeError(f"the app did not start:\n{log.read_text()[-4000:]}") from None
            time.sleep(0.5)


@pytest.fixture(scope="module")
def device_api():
    api = DeviceAPI().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def space(device_api, hub_server, tmp_path_factory):
    hub_server.reset()
    hub_server.add_user("alice", token=ALICE_TOKEN, write=True)
    model_dir = make_tiny_model(tmp_path_factory.mktemp("zerogpu-model") / "bert")
    files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
    hub_server.upload(PUBLIC_MODEL, files)
    hub_server.create_repo(PRIVATE_MODEL, private=True)
    hub_server.upload(PRIVATE_MODEL, files)

    home = tmp_path_factory.mktemp("zerogpu-space")
    port = _free_port()
    env = os.environ | {
        "SPACES_ZERO_GPU": "true",
        "SPACES_ZERO_DEVICE_API_URL": device_api.url,
        "SPACE_ID": "alice/trainer-studio",
        "SYSTEM": "spaces",
        "HF_TOKEN": ALICE_TOKEN,  # the owner's secret: never to be lent to a visitor
        "OAUTH_CLIENT_ID": "stand-in",
        "OAUTH_CLIENT_SECRET": "stand-in",
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": hub_server.url,
        "TRAINER_STUDIO_HOME": str(home),
        "TRAINER_STUDIO_SLICE_STEPS": str(SLICE_STEPS),
        "GRADIO_SERVER_PORT": str(port),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE.parent}",
    }
    log = home / "app.log"
    log.touch()
    process = _start_app(env, log, port)
    space = Space(f"http://127.0.0.1:{port}/", home, log, process, env, port)
    try:
        yield space
    finally:
        space.kill()
