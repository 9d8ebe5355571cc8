"""The caller cookie that tells API callers apart (trainer_core/ui/caller.py), without the launched app."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from trainer_core.errors import InputError
from trainer_core.ui.caller import COOKIE, CallerCookie, api_identity, identity_of


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"cookies": dict(request.cookies)})


@pytest.fixture
def app() -> TestClient:
    return TestClient(CallerCookie(Starlette(routes=[Route("/", echo)])))


def test_a_caller_without_the_cookie_gets_one_and_its_first_request_already_carries_it(app):
    answer = app.get("/", headers={"cookie": "other=1"})
    given = answer.cookies[COOKIE]
    assert answer.json()["cookies"] == {"other": "1", COOKIE: given}
    assert "httponly" in answer.headers["set-cookie"].lower()
    # Sent back, it is kept and not handed out again.
    again = app.get("/", headers={"cookie": f"{COOKIE}={given}"})
    assert again.json()["cookies"] == {COOKIE: given} and "set-cookie" not in again.headers
    # Each caller that comes without one is another caller.
    assert TestClient(app.app).get("/").cookies[COOKIE] != given


@pytest.mark.parametrize("sent", ["", "victim", "x" * 31, "x" * 32 + "!", "session:abc"])
def test_a_value_not_of_the_apps_form_is_replaced(app, sent):
    answer = app.get("/", headers={"cookie": f"a=b; {COOKIE}={sent}"})
    seen = answer.json()["cookies"]
    assert seen["a"] == "b" and seen[COOKIE] != sent and seen[COOKIE] == answer.cookies[COOKIE]


def test_the_identity_is_a_hash_of_the_cookie_and_needs_the_middleware():
    from types import SimpleNamespace

    seen = SimpleNamespace(cookies={COOKIE: "A" * 32}, session_hash="h")
    assert api_identity(seen) == identity_of("A" * 32) and "A" * 32 not in identity_of("A" * 32)

    # An app launched without launch_options(): no cookie, and the session hash is no fallback.
    bare = SimpleNamespace(cookies={}, session_hash="chosen-by-the-client")
    with pytest.raises(InputError, match=r"launch_options\(\)"):
        api_identity(bare)
