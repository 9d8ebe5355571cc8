"""NaN and Infinity sent straight to `/train` (the public API) and to the page's own Train event: an error
answer naming the field, nothing runs.

gradio_client refuses to encode them, so these calls go through the plain HTTP API as any script could.
"""

from __future__ import annotations

import json

import httpx
import pytest

FORM = {"epochs": 1, "max_steps": 12, "batch_size": 8, "learning_rate": 5e-4, "max_length": 32, "eval_steps": 6}
PAGE_FORM = FORM | {"source": "Hub dataset", "task": "custom", "seed": 1, "warmup_ratio": 0.0, "weight_decay": 0.0}


def call(studio, endpoint: str, values: dict, raw: dict[str, str]) -> list[str]:
    """POST ``endpoint`` with ``raw`` JSON literals for some parameters (the others: ``values``, else the
    endpoint's defaults); the streamed SSE lines."""
    from ui_support import ui_client

    info = ui_client(studio.demo.local_url, verbose=False).view_api(return_format="dict", print_info=False)
    parameters = info["named_endpoints"][f"/{endpoint}"]["parameters"]
    defaults = {p["parameter_name"]: p.get("parameter_default") for p in parameters}
    data = ", ".join(raw[name] if name in raw else json.dumps(values.get(name, defaults[name])) for name in defaults)
    base = studio.demo.local_url.rstrip("/")
    posted = httpx.post(
        f"{base}/gradio_api/call/{endpoint}",
        content='{"data": [' + data + "]}",
        headers={"content-type": "application/json"},
    )
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    with httpx.stream("GET", f"{base}/gradio_api/call/{endpoint}/{event_id}", timeout=60) as answer:
        return list(answer.iter_lines())


CASES = [
    ("learning_rate", "NaN", "Learning rate must be a finite number, got nan"),
    ("epochs", "Infinity", "Epochs must be a finite number, got inf"),
]


@pytest.mark.parametrize(("name", "literal", "expected"), CASES)
def test_a_non_finite_number_is_answered_with_an_error(studio, sentiment_csv, tiny_model, name, literal, expected):
    before = set(studio.ctx.jobs.root.glob("*/*"))
    values = FORM | {"dataset": str(sentiment_csv), "model": str(tiny_model)}
    lines = call(studio, "train", values, {name: literal})
    assert "event: error" in lines
    assert any(expected in line for line in lines), lines[:4]
    assert set(studio.ctx.jobs.root.glob("*/*")) == before  # nothing was started


@pytest.mark.parametrize(("name", "literal", "expected"), CASES)
def test_the_pages_train_event_answers_the_same(studio, visitor, sentiment_csv, tiny_model, name, literal, expected):
    values = PAGE_FORM | {"visitor": visitor, "dataset": str(sentiment_csv), "model": str(tiny_model)}
    lines = call(studio, "ui_train", values, {name: literal})
    assert "event: complete" in lines
    assert any(expected in line for line in lines), lines[:4]
    assert studio.ctx.jobs.list_runs(studio.identity(visitor)) == []
