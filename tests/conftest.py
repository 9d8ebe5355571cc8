# =================================================================================================================
# Hub double (tests/hub_double.py): a local, in-memory Hugging Face Hub for the tests.
#
# huggingface_hub, transformers and datasets read HF_ENDPOINT / HF_HOME / HF_TOKEN when they are *imported*, so
# this block runs first, before anything imports them: it points them at a local server on a free port and at a
# throw-away HF_HOME (no real cache, no stored token). Keep it at the top of this file.
#
# Fixtures:
#   hub_server -- session scope: the running HubDouble (state shared by every test; prefer `hub`).
#   hub        -- function scope: the same server, reset for the test, with the default users below, a fresh
#                 (empty) HF_HOME cache and fast huggingface_hub retries.
#   fast_hub_retries -- huggingface_hub's retry backoff (1 s, 2 s, 4 s, 8 s, 8 s) shrunk to milliseconds.
# =================================================================================================================
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

if any(name == mod or name.startswith(mod + ".") for name in sys.modules for mod in ("huggingface_hub", "datasets")):
    raise RuntimeError(
        "huggingface_hub/datasets was imported before tests/conftest.py could point HF_ENDPOINT at the hub double;"
        " make sure no pytest plugin or earlier conftest imports them."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HUB_PORT = _free_port()
HUB_ENDPOINT = f"http://127.0.0.1:{HUB_PORT}"
from session_files import _SESSION_PID, HF_HOME, SESSION_TMP  # noqa: E402  (sets TMPDIR first)


def pytest_unconfigure(config):
    if os.getpid() == _SESSION_PID:  # never from a forked worker that happens to run this
        shutil.rmtree(SESSION_TMP, ignore_errors=True)


for _var in (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_DATASETS_CACHE",
    "TRANSFORMERS_CACHE",
    "XDG_CACHE_HOME",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HUGGINGFACE_CO_STAGING",
):
    os.environ.pop(_var, None)
os.environ.update(
    {
        "HF_ENDPOINT": HUB_ENDPOINT,
        "HF_HOME": HF_HOME,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",  # plain HTTP uploads/downloads: the double has no Xet storage
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
)
# Keep the proxy (if any) away from the local server.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

if str(Path(__file__).parent) not in sys.path:  # also works with --import-mode=importlib
    sys.path.insert(0, str(Path(__file__).parent))

from hub_double import ALICE_TOKEN, BOB_TOKEN, HubDouble  # noqa: E402


@pytest.fixture(scope="session")
def hub_server():
    double = HubDouble(port=HUB_PORT).start()
    yield double
    double.stop()
    shutil.rmtree(HF_HOME, ignore_errors=True)


@pytest.fixture
def fast_hub_retries(monkeypatch):
    """Shrink huggingface_hub's exponential backoff (no env variable controls it) so retried errors stay fast.

    The number of attempts is unchanged: `http_backoff` makes 1 + 5 attempts on 408/429/5xx and on
    timeouts/network errors (preupload, tree/commits listings, HfFileSystem reads, LFS); a failed HEAD of
    `hf_hub_download` is retried (with backoff) once more as a whole when nothing is cached.
    """
    from huggingface_hub.utils import _http

    for fn in (_http.http_backoff, _http.http_stream_backoff):
        defaults = getattr(fn, "__wrapped__", fn).__kwdefaults__  # http_stream_backoff is a @contextmanager
        monkeypatch.setitem(defaults, "base_wait_time", 0.01)
        monkeypatch.setitem(defaults, "max_wait_time", 0.02)


@pytest.fixture
def hub(hub_server, fast_hub_retries):
    """The hub double, empty but for `alice` (write token ALICE_TOKEN) and `bob` (read-only BOB_TOKEN)."""
    hub_server.reset()
    hub_server.add_user("alice", token=ALICE_TOKEN, write=True)
    hub_server.add_user("bob", token=BOB_TOKEN, write=False)
    # Fresh client-side caches: nothing downloaded by an earlier test may mask this test's hub state.
    for child in Path(HF_HOME).iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    from huggingface_hub import HfFileSystem

    HfFileSystem.clear_instance_cache()
    yield hub_server
    hub_server.heal()


# ================================================ end of hub double ==============================================
