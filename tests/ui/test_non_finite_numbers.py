"""NaN and Infinity sent straight to the Train form's endpoint: an error answer, nothing runs.

gradio_client refuses to encode them, so these calls go through the plain HTTP API as any script could.
"""

from __future__ import annotations

import json

import httpx
import pytest

FORM = {
    "source": "Hub dataset",
    "task": "custom",
    "epochs": 1,
    "max_steps": 12,
    "batch_size": 8,
    "learning_rate": 5e-4,
    "max_length": 32,
    "seed": 1,
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "eval_steps": 6,
    "report_trackio": False,
    "private": False,
}


def call_train(studio, values: dict, raw: dict[str, str]) -> list[str]:
    """POST /train with ``raw`` JSON literals for some parameters; the streamed SSE lines."""
    info = studio.client.view_api(return_format="dict", print_info=False)
    names = [p["parameter_name"] for p in info["named_endpoints"]["/ui_train"]["parameters"]]
    data = ", ".join(raw[name] if name in raw else json.dumps(values.get(name)) for name in names)
    base = studio.demo.local_url.rstrip("/")
    posted = httpx.post(
        f"{base}/gradio_api/call/ui_train",
        content='{"data": [' + data + "]}",
        headers={"content-type": "application/json"},
    )
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    with httpx.stream("GET", f"{base}/gradio_api/call/ui_train/{event_id}", timeout=60) as answer:
        return list(answer.iter_lines())


@pytest.mark.parametrize(
    ("name", "literal", "expected"),
    [
        ("learning_rate", "NaN", "learning rate must be a finite number, got nan"),
        ("epochs", "Infinity", "epochs must be a finite number, got inf"),
    ],
)
def test_a_non_finite_number_is_answered_with_an_error(
    studio, visitor, sentiment_csv, tiny_model, name, literal, expected
):
    values = FORM | {"visitor": visitor, "dataset": str(sentiment_csv), "model": str(tiny_model)}
    lines = call_train(studio, values, {name: literal})
    assert "event: complete" in lines
    assert any(expected in line.lower().replace("_", " ") for line in lines), lines[:4]
    assert studio.ctx.jobs.list_runs(studio.identity(visitor)) == []
