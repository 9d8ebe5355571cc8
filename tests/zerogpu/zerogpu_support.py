"""Names the ZeroGPU tests and their fixtures share (a module of its own: ``conftest`` is not importable by
name when several test folders have one)."""

from __future__ import annotations

import base64
import json

PUBLIC_MODEL = "alice/tiny-bert"
PRIVATE_MODEL = "alice/secret-bert"
SLICE_STEPS = 4


def ip_token(visitor: str) -> str:
    """A JWT-shaped X-IP-Token (spaces reads its payload, the stand-in only records it)."""
    payload = base64.urlsafe_b64encode(json.dumps({"user": visitor}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"
