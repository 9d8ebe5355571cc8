"""``POST /api/predict``: the Demo's prediction as one plain JSON request, beside Gradio's queue.

Gradio's API (``/gradio_api/call/predict``) costs about 13 ms of server CPU per call for its queue, event
stream and session state, more than a small model's forward pass, so fifty concurrent callers wait on Gradio
rather than on the model (bench/bench_concurrency.py, RELIABILITY.md). This route reads JSON and answers
JSON in the same request, and the callers of one model that wait together share a forward pass
(``Predictor.predict_async``) without holding a thread each.

Request body: ``{"text": "...", "text_pair": "..." (optional), "model": "owner/name" (optional)}``; a
``Authorization: Bearer hf_...`` header for a private model. Answers ``200 {"model", "label", "scores"}``
(a regression model ``{"model", "score"}``, a multi-label one ``{"model", "labels", "scores", "thresholds"}``),
``400`` for bad input, ``503`` when too many callers already wait for the model, ``502`` when the model
cannot be fetched, each with ``{"error": "..."}`` that names the problem and never the token.

A run (``run:<id>``) is private to the browser session that trained it, and this route has no session, so it
serves Hub models (and local folders when the app runs off a Space); a run's predictions go through Gradio's
``/predict``. The route is plain Starlette, added to Gradio's FastAPI app by ``launch_options``; it shares the
Demo tab's model choices and messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from trainer_core.errors import Busy, HubAccessError, HubError, InputError, StudioError
from trainer_core.textlimits import check_prediction_texts
from trainer_core.ui import sources
from trainer_core.ui.charts import label_output
from trainer_core.ui.common import user_message
from trainer_core.ui.context import pick_token
from trainer_core.ui.demo_tab import (
    DEFAULT_CHOICE,
    aliases_for,
    check_kind,
    default_model,
    get_predictor,
    known_kind,
)

PATH = "/api/predict"
FIELDS = ("text", "text_pair", "model")


def predict_routes(*, on_space: bool) -> list[Route]:
    """The route, for ``FastAPI(routes=...)``: ``on_space`` decides whether local model folders are refused."""

    async def predict(request: Request) -> JSONResponse:
        hf_token = pick_token(None, _bearer(request), on_space=on_space)
        try:
            text, pair, choice = _fields(await _json_body(request))
            check_prediction_texts(text, pair)  # an empty text is the caller's to fix, whatever the Hub does
            name = _model_for(choice, pair, on_space)
            predictor = await _predictor(name, hf_token)
            scores = await predictor.predict_async(text, pair)
        except Exception as err:
            return _error(err, hf_token)
        if getattr(predictor, "task_type", "single_label") != "single_label":
            # {"score"} for a regression, {"labels", "scores", "thresholds"} for a multi-label model
            return JSONResponse({"model": choice or name, **predictor.answer(scores)})
        shown = label_output(scores, aliases_for(name))
        return JSONResponse({"model": choice or name, "label": next(iter(shown)), "scores": shown})

    return [Route(PATH, predict, methods=["POST"])]


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f'The body is not JSON ({err}). Send {{"text": "..."}}.') from None
    except RecursionError:  # arrays or objects inside each other past the reader's depth limit (about 1,000)
        raise InputError(
            "The body is nested too deeply: arrays or objects inside each other thousands of levels down. The "
            'fields are plain strings: send {"text": "..."}.'
        ) from None


def _fields(body: Any) -> tuple[str, str | None, str | None]:
    if not isinstance(body, dict):
        raise InputError('The body must be a JSON object such as {"text": "I loved it"}.')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InputError(f"Unknown field(s) {', '.join(map(repr, unknown))}: the fields are {', '.join(FIELDS)}.")
    for field in FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise InputError(f"'{field}' must be a string, not {type(body[field]).__name__}.")
    text = body.get("text")
    if text is None:
        raise InputError("'text' is missing: send the text to classify.")
    pair = body.get("text_pair")
    return text, pair if pair not in (None, "") else None, (body.get("model") or "").strip() or None


def _model_for(choice: str | None, pair: str | None, on_space: bool) -> str:
    if choice in (None, DEFAULT_CHOICE):
        return default_model(None, pair)
    if choice.startswith(sources.RUN_PREFIX):
        raise InputError(
            "Runs are private to the browser session that trained them, and this route has no session: call "
            "the app's Gradio API (/predict, for example with gradio_client) from that session, or push the run "
            "to the Hub and name its model id."
        )
    check_kind(known_kind(choice), pair)
    # Runs are refused above, so the job manager is never asked.
    return sources.resolve_model(choice, jobs=None, identity=lambda: "", on_space=on_space)  # type: ignore[arg-type]


# Loads in progress, one per model and token: callers of a cold model await the same load instead of each
# holding a worker thread (shared with Gradio's handlers) while they wait for it.
_loads: dict[tuple[str, str], asyncio.Future[Any]] = {}


async def _predictor(name: str, hf_token: str | bool | None):
    """The loaded model without leaving the event loop; a first load runs on a worker thread."""
    inference = sys.modules.get("trainer_core.inference")
    predictor = inference.loaded_predictor(name, token=hf_token) if inference is not None else None
    if predictor is not None:
        return predictor
    token_key = hashlib.sha256(hf_token.encode()).hexdigest() if isinstance(hf_token, str) else ""
    key = (name, token_key)
    load = _loads.get(key)
    if load is None:
        load = _loads[key] = asyncio.ensure_future(run_in_threadpool(get_predictor, name, token=hf_token))
        load.add_done_callback(lambda _: _loads.pop(key, None))
    return await asyncio.shield(load)  # a caller who hangs up does not cancel the others' load


def _error(err: Exception, hf_token: str | bool | None) -> JSONResponse:
    if isinstance(err, HubError) and not isinstance(err, HubAccessError):
        status = 502  # the Hub could not serve the model (unreachable, timed out): not the caller's input
    elif isinstance(err, InputError):
        status = 400
    elif isinstance(err, Busy):
        status = 503
    else:
        status = 502 if isinstance(err, StudioError) else 500
    token = hf_token if isinstance(hf_token, str) else None
    return JSONResponse({"error": user_message(err, token)}, status_code=status)
