"""What every tab shares: the job manager, the hardware, and who the visitor is.

Pure helpers (no gradio import) so they are unit-tested directly.
"""

from __future__ import annotations

import os
import platform
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from trainer_core.errors import InputError
from trainer_core.jobs import JobManager, new_visitor_id
from trainer_core.runtime import Hardware, default_home, detect_hardware, on_space, on_zero_gpu

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


@dataclass
class AppContext:
    jobs: JobManager
    uploads_root: Path
    hardware: Hardware
    on_space: bool
    browser_secret: str

    @classmethod
    def create(cls, root: str | Path | None = None, *, train_fn=None) -> AppContext:
        root = Path(root or os.environ.get("TRAINER_STUDIO_HOME") or default_home()).resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(
            jobs=JobManager(root / "runs", train_fn=train_fn),
            uploads_root=root / "uploads",
            hardware=quick_hardware(),
            on_space=on_space(),
            browser_secret=_browser_secret(root),
        )


def quick_hardware() -> Hardware:
    """The hardware, without importing torch (about 2 s) where no accelerator can be present.

    The page is served sooner: on a machine with no NVIDIA driver that is not an Apple Silicon Mac, torch
    could only say "CPU". Elsewhere (and on ZeroGPU, which ``detect_hardware`` tells from the environment)
    the full check runs.
    """
    nvidia = Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()
    apple = sys.platform == "darwin" and platform.machine() == "arm64"
    if on_zero_gpu() or nvidia or apple or "torch" in sys.modules:
        return detect_hardware()
    return Hardware("cpu", "CPU", 1, False)


def _browser_secret(root: Path) -> str:
    """The key that encrypts each visitor's id in their browser; kept on disk so ids survive restarts."""
    if os.environ.get("TRAINER_STUDIO_SECRET"):
        return os.environ["TRAINER_STUDIO_SECRET"]
    path = root / ".browser_secret"
    if not path.is_file():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def visitor_identity(visitor_id: str | None, username: str | None = None) -> str:
    """The key a visitor's runs and uploads are filed under: their Hub name when signed in, else the
    random id kept (encrypted) in their browser."""
    if username:
        return f"hf:{username}"
    if visitor_id:
        return f"browser:{visitor_id}"
    raise InputError("Your session is not ready yet: reload the page and try again.")


def ensure_visitor_id(current: str | None) -> str:
    return current or new_visitor_id()


def pick_token(oauth_token: str | None, typed_token: str | None, *, on_space: bool) -> str | bool | None:
    """The Hub token for this request, decided once at the edge: the visitor's OAuth token, else a typed
    one, else off a Space the server's HF_TOKEN (the user is the owner). On a Space a visitor without a
    token gets ``False``, which every Hub call below reads as anonymous: ``None`` would make the Hub
    libraries fall back to the Space's own HF_TOKEN and lend the owner's access to the visitor."""
    if oauth_token:
        return oauth_token
    if typed_token and typed_token.strip():
        return typed_token.strip()
    if not on_space:
        from trainer_core.hub import resolve_token

        return resolve_token()
    return False
