"""What every tab needs, once: who is asking, which token to use, how an error is shown, and handler binding.

- Identity: a signed-in visitor is their Hub name; a browser keeps a random id (encrypted in its local
  storage) so runs survive a reload; an API client (gradio_client) is the random cookie the app gave it
  (``caller``), which lasts as long as its ``Client``, never its session hash, which the client picks.
  Nobody passes an identity by hand.
- Tokens: the visitor's OAuth token, else the typed one, else (off a Space) the server's HF_TOKEN.
- Errors: a callout (``error_update``) beside the control that caused it; never a token in the text.
- ``bind``: a module-level handler ``fn(ctx, ...)`` as gradio wants it, with ``ctx`` bound and the
  signature and type hints kept (gradio injects ``gr.Request`` and OAuth values by type hint).
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from trainer_core.errors import InputError, StudioError
from trainer_core.hub import redact
from trainer_core.ui.caller import api_identity
from trainer_core.ui.context import AppContext, pick_token, visitor_identity

logger = logging.getLogger(__name__)


@dataclass
class Header:
    """The page-wide components every tab reads: who the browser is, and the token typed at the top."""

    visitor: gr.BrowserState
    token: gr.Textbox


def caller_identity(visitor: str | None, profile: gr.OAuthProfile | None, request: gr.Request | None) -> str:
    """The key the caller's runs and uploads are filed under (see the module's docstring)."""
    username = getattr(profile, "username", None) if profile is not None else None
    if username or visitor:
        return visitor_identity(visitor, username)
    if request is not None:
        return api_identity(request)
    raise InputError("Your session is not ready yet: reload the page and try again.")


def secret(oauth_token: gr.OAuthToken | None, typed: str | None, ctx: AppContext) -> str | None:
    """The Hub token for this request (never shown, never logged)."""
    return pick_token(oauth_token.token if oauth_token is not None else None, typed, on_space=ctx.on_space)


def user_message(err: Exception, *tokens: str | None) -> str:
    """What to tell the person about ``err``, never carrying their token."""
    if isinstance(err, StudioError):
        message = str(err)
    else:
        logger.exception("unexpected error in the UI")
        message = (
            f"Something went wrong ({type(err).__name__}: {err}). The app is still running: check the input and retry."
        )
    for token in tokens:
        message = redact(message, (token or "").strip() or None)
    return message


def user_error(err: Exception, *tokens: str | None) -> gr.Error:
    """The error an API-only endpoint raises: gradio_client reports it as an AppError with this message."""
    return gr.Error(user_message(err, *tokens), duration=None)


def error_update(message: str | None) -> dict[str, Any]:
    """An error callout: shown with ``message`` beside the control that caused it, hidden when None."""
    if not message:
        return gr.update(value="", visible=False)
    return gr.update(value=f"⚠️ {message}", visible=True)


def error_box(elem_id: str) -> gr.Markdown:
    """The callout itself, placed right under the button (or field) whose errors it shows."""
    return gr.Markdown(visible=False, elem_id=elem_id, elem_classes=["ts-error"])


def bind(ctx: AppContext, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(ctx, ...)`` as a gradio handler: ``ctx`` bound, the rest of its signature and hints kept."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())[1:]
    hints = typing.get_type_hints(fn)
    if inspect.isasyncgenfunction(fn):

        async def handler(*args: Any, **kwargs: Any) -> Any:
            async for item in fn(ctx, *args, **kwargs):
                yield item
    elif inspect.iscoroutinefunction(fn):

        async def handler(*args: Any, **kwargs: Any) -> Any:
            return await fn(ctx, *args, **kwargs)
    else:

        def handler(*args: Any, **kwargs: Any) -> Any:
            return fn(ctx, *args, **kwargs)

    functools.update_wrapper(handler, fn)
    del handler.__wrapped__  # inspect must read the signature below, not fn's
    handler.__signature__ = signature.replace(parameters=params)
    handler.__annotations__ = {k: v for k, v in hints.items() if k != next(iter(signature.parameters))}
    return handler


def with_parameters(
    fn: Callable[..., Any], params: Sequence[inspect.Parameter], *, returns: Any = inspect.Signature.empty
) -> Callable[..., Any]:
    """``fn(**values)`` presented with the named parameters ``params`` (generated, e.g. from the form).

    gradio reads the names, defaults and type hints of a handler's signature for its API; the values
    arrive positionally and are passed on by name.
    """
    names = [p.name for p in params]
    is_async_gen = inspect.isasyncgenfunction(fn)

    if is_async_gen:

        async def handler(*args: Any, **kwargs: Any) -> Any:
            async for item in fn(**dict(zip(names, args, strict=False)), **kwargs):
                yield item
    else:

        def handler(*args: Any, **kwargs: Any) -> Any:
            return fn(**dict(zip(names, args, strict=False)), **kwargs)

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    handler.__signature__ = inspect.Signature(list(params), return_annotation=returns)
    handler.__annotations__ = {p.name: p.annotation for p in params} | (
        {} if returns is inspect.Signature.empty else {"return": returns}
    )
    return handler


def with_signature(
    fn: Callable[..., Any], params: Sequence[inspect.Parameter], *, returns: Any = inspect.Signature.empty
) -> Callable[..., Any]:
    """``fn(ctx, **values)`` presented, for ``bind``, as taking ``ctx`` and the named ``params`` (generated,
    e.g. from a form): gradio reads their names, defaults and type hints; every value is passed on by name."""
    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    signature = inspect.Signature([ctx, *params], return_annotation=returns)

    def handler(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return fn(**bound.arguments)

    functools.update_wrapper(handler, fn)
    del handler.__wrapped__  # inspect must read the signature below, not fn's
    handler.__signature__ = signature
    handler.__annotations__ = {p.name: p.annotation for p in params} | (
        {} if returns is inspect.Signature.empty else {"return": returns}
    )
    return handler
