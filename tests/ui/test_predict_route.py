"""POST /api/predict: the plain JSON prediction route beside Gradio's queue (trainer_core/ui/predict_route.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from ui_support import launched_app

from trainer_core import inference
from trainer_core.ui import predict_route
from trainer_core.ui.demo_tab import DEFAULT_MODELS, SENTIMENT
from trainer_core.ui.predict_route import PATH, predict_routes
from trainer_core.ui.request_limit import MAX_REQUEST_BYTES


@pytest.fixture
def route(tmp_path):
    inference.clear_cache()
    with TestClient(Starlette(routes=predict_routes(on_space=False))) as client:
        yield client
    inference.clear_cache()


@pytest.fixture
def space_route():
    with TestClient(Starlette(routes=predict_routes(on_space=True))) as client:
        yield client


def test_a_text_gets_each_labels_probability_and_the_top_label(route, tiny_model):
    answer = route.post(PATH, json={"text": "cat dog red", "model": str(tiny_model)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = inference.get_predictor(str(tiny_model)).predict("cat dog red")
    assert body["scores"] == pytest.approx(expected, abs=1e-6)
    assert list(body["scores"]) == list(expected)  # highest first
    assert body["label"] == next(iter(expected))
    assert body["model"] == str(tiny_model)


def test_a_pair_is_classified_as_two_segments(route, tiny_model):
    answer = route.post(PATH, json={"text": "cat dog", "text_pair": "red blue", "model": str(tiny_model)})
    assert answer.status_code == 200, answer.text
    expected = inference.get_predictor(str(tiny_model)).predict("cat dog", "red blue")
    assert answer.json()["scores"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"model": "x/y"}, "'text' is missing"),
        ({"text": 3}, "'text' must be a string"),
        ({"text": "hi", "colour": "red"}, "Unknown field(s) 'colour'"),
        (["hi"], "JSON object"),
        ({"text": "hi", "model": "run:20260101-000000-abcdef"}, "private to the browser session"),
        ({"text": "hi", "text_pair": "there", "model": DEFAULT_MODELS[SENTIMENT]}, "trained on single texts"),
        ({"text": "   ", "model": "{model}"}, "The text is empty"),
        ({"text": ""}, "The text is empty"),  # checked before the default model is fetched
        ({"text": "two", "text_pair": " ", "model": "{model}"}, "The second text is empty"),
    ],
)
def test_bad_input_is_a_400_that_names_the_problem(route, tiny_model, body, words):
    if isinstance(body, dict) and body.get("model") == "{model}":
        body = {**body, "model": str(tiny_model)}
    answer = route.post(PATH, json=body)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_a_body_that_is_not_json_is_a_400(route):
    answer = route.post(PATH, content=b"text=hello", headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400
    assert "not JSON" in answer.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # 200 kB, within the body cap: Python's JSON reader gives up on the depth
        '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"text": "hi", "model": ' + '{"a":' * 50_000 + "1" + "}" * 50_001,
    ],
)
def test_deeply_nested_json_is_a_400_and_the_route_keeps_answering(route, tiny_model, body):
    answer = route.post(PATH, content=body.encode(), headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert "nested too deeply" in error and '{"text": "..."}' in error
    assert route.post(PATH, json={"text": "cat", "model": str(tiny_model)}).status_code == 200


def test_on_a_space_a_server_folder_is_refused(space_route, tiny_model):
    answer = space_route.post(PATH, json={"text": "cat", "model": str(tiny_model)})
    assert answer.status_code == 400
    assert "not a Hub model id" in answer.json()["error"]


def test_the_token_is_used_for_the_model_and_never_shown(route, monkeypatch):
    seen: list[object] = []

    def refuse(name, *, token=None, **kwargs):
        seen.append(token)
        raise inference.InputError(f"Cannot read {name} with token {token}")

    monkeypatch.setattr(predict_route, "get_predictor", refuse)
    answer = route.post(PATH, json={"text": "hi", "model": "owner/private"}, headers={"Authorization": "Bearer hf_x1"})
    assert seen == ["hf_x1"]
    assert answer.status_code == 400
    assert "hf_x1" not in answer.text


def test_too_many_waiting_callers_get_a_503(route, tiny_model, monkeypatch):
    monkeypatch.setattr(inference, "MAX_WAITING", 0)
    answer = route.post(PATH, json={"text": "cat", "model": str(tiny_model)})
    assert answer.status_code == 503
    assert "retry" in answer.json()["error"]


def test_callers_of_a_cold_model_share_one_load(route, tiny_model, monkeypatch):
    import threading
    import time

    loads: list[str] = []
    real = predict_route.get_predictor

    def slow_load(name, **kwargs):
        loads.append(threading.current_thread().name)
        time.sleep(0.5)  # every caller arrives while the model loads
        return real(name, **kwargs)

    monkeypatch.setattr(predict_route, "get_predictor", slow_load)

    async def ten(client):
        return await asyncio.gather(
            *(client.post(PATH, json={"text": "cat", "model": str(tiny_model)}) for _ in range(10))
        )

    async def main():
        transport = httpx.ASGITransport(app=route.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            return await ten(client)

    answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [200] * 10
    assert len(loads) == 1


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    with launched_app(tmp_path_factory.mktemp("studio-route")) as url:
        yield url
    inference.clear_cache()


def test_the_launched_app_serves_the_route_and_gathers_concurrent_callers(launched, tiny_model):
    """Through the real server: 40 callers at once are answered from far fewer forward passes."""
    predictor = inference.get_predictor(str(tiny_model))
    passes: list[int] = []
    handle = predictor.model.register_forward_pre_hook(
        lambda module, args, kwargs: passes.append(int(kwargs["input_ids"].shape[0])), with_kwargs=True
    )

    async def callers(count: int):
        async with httpx.AsyncClient(base_url=launched, timeout=60) as client:
            texts = [f"cat dog {'red' if i % 2 else 'blue'}" for i in range(count)]
            return await asyncio.gather(*(client.post(PATH, json={"text": t, "model": str(tiny_model)}) for t in texts))

    try:
        answers = asyncio.run(callers(40))
    finally:
        handle.remove()
    assert [a.status_code for a in answers] == [200] * 40
    assert all(abs(sum(a.json()["scores"].values()) - 1) < 1e-4 for a in answers)
    assert sum(passes) == 40 and len(passes) < 40


def test_the_route_has_the_same_body_cap_as_gradios(launched):
    huge = b'{"text": "' + b"a" * (MAX_REQUEST_BYTES + 1) + b'"}'
    answer = httpx.post(f"{launched}{PATH}", content=huge, timeout=60)
    assert answer.status_code == 413


@pytest.fixture
def unreachable_hub(monkeypatch):
    """The Hub at a port where nothing listens, with huggingface_hub's own retries left as they are."""
    import huggingface_hub.constants

    closed = "http://127.0.0.1:9"
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", closed)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", closed + "/{repo_id}/resolve/{revision}/{filename}"
    )


def test_a_model_that_cannot_be_fetched_is_a_502_at_once(route, unreachable_hub):
    """README: 502 when the model cannot be fetched (it was a 400), and no half-minute of retries first."""
    import time

    started = time.monotonic()
    answer = route.post(PATH, json={"text": "a lovely film"})
    assert answer.status_code == 502
    assert "Cannot reach the Hugging Face Hub" in answer.json()["error"]
    assert time.monotonic() - started < 10  # huggingface_hub's backoff when nothing is cached took about 26 s
    assert route.post(PATH, json={"text": ""}).status_code == 400  # an empty text is still the caller's to fix
