"""Errors that carry a message meant for the person using the tool.

Every error raised on purpose by trainer_core is a ``StudioError``. Its message says what was
found and how to fix it; the CLI prints it without a traceback and the UI shows it next to the
input. ``InputError`` means the user's input is wrong (CLI exit status 2); anything else is an
environment or service problem (exit status 1).
"""

from __future__ import annotations


class StudioError(Exception):
    """An error whose message is written for the user."""

    exit_code = 1


class InputError(StudioError, ValueError):
    """The input (dataset, columns, options, ids, files) is wrong; nothing expensive was started."""

    exit_code = 2


class Busy(StudioError):
    """Too many callers already wait for the same thing (a model's predictions); retrying later works."""


class HubError(StudioError):
    """The Hugging Face Hub could not be reached or refused a request."""


class HubAccessError(HubError, InputError):
    """A token, repo id or permission problem the user can fix."""

    exit_code = 2


class HubUnreachableError(HubError, InputError):
    """The Hub is needed but cannot be reached (offline, DNS, refused); local files still work."""

    exit_code = 2


class PushError(HubError):
    """Pushing to the Hub failed; the local output is kept."""
