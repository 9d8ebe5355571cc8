"""The Hugging Face Hub side of a run: tokens, access checks, model cards and pushes.

A token is only ever passed to huggingface_hub; it never goes into a message, an event, a log line or
a file. ``redact`` is the last line of defence for text that came from elsewhere (e.g. an exception).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer_core.errors import HubAccessError, HubError, PushError
from trainer_core.rundir import RESULTS_FILE

logger = logging.getLogger(__name__)

# Files of a run directory that are not part of the published model.
PUSH_IGNORE = ["checkpoint-*", "checkpoint-*/**", "_*", "events.jsonl", "*.lock", "runs/**", "trackio/**"]

TIMEOUT_ENV = "TRAINER_STUDIO_HUB_TIMEOUT"
DEFAULT_TIMEOUT = 60.0


def hub_timeout() -> float:
    """Seconds one Hub request may take in all (TRAINER_STUDIO_HUB_TIMEOUT, default 60; see hub_http)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


_LIBRARY_TIMEOUTS: dict[str, tuple[float, float, float]] = {}


def apply_timeouts() -> None:
    """Give every request of huggingface_hub (and so of transformers and datasets) a deadline.

    huggingface_hub's shared client waits forever by default (``timeout=None``): a Hub that accepts the
    connection and never answers hangs whoami, repo creation, preupload and commit with it, and a time-out
    per read alone does not end an answer sent a byte at a time (``hub_http``). The client is built lazily,
    so installing the factory here covers every later call in this process.
    """
    from huggingface_hub import constants, file_download
    from huggingface_hub.utils import _http

    from trainer_core.hub_http import client_factory

    seconds = hub_timeout()
    # Downloads pass their own time-outs (10 s by default, read when each download starts), and hf_hub_download
    # retries a failed metadata request once with a private 60 s one: none waits longer than ours. The
    # library's values are kept to restore when ours grows again.
    defaults = _LIBRARY_TIMEOUTS.setdefault(
        "values",
        (
            constants.HF_HUB_ETAG_TIMEOUT,
            constants.HF_HUB_DOWNLOAD_TIMEOUT,
            getattr(file_download, "_ETAG_RETRY_TIMEOUT", 60),
        ),
    )
    constants.HF_HUB_ETAG_TIMEOUT = min(defaults[0], seconds)
    constants.HF_HUB_DOWNLOAD_TIMEOUT = min(defaults[1], seconds)
    if hasattr(file_download, "_ETAG_RETRY_TIMEOUT"):
        file_download._ETAG_RETRY_TIMEOUT = min(defaults[2], seconds)

    current = getattr(_http, "_GLOBAL_CLIENT_FACTORY", None)
    if getattr(current, "trainer_studio_timeout", None) != seconds:
        _http.set_client_factory(client_factory(seconds))


def is_timeout(err: BaseException) -> bool:
    import httpx2

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, (httpx2.TimeoutException, TimeoutError)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def timeout_message(what: str) -> str:
    return (
        f"The Hugging Face Hub ({hub_endpoint()}) did not answer {what} within {hub_timeout():g} s, the "
        f"deadline of each Hub request. It may be down or slow (see https://status.huggingface.co): try again "
        f"later, or allow more time by setting {TIMEOUT_ENV} (seconds)."
    )


def resolve_token(explicit: str | bool | None = None) -> str | bool | None:
    """The token to use: the one given, else HF_TOKEN, else the stored login (huggingface-cli login).

    ``False`` means anonymous (a Space's visitor without a token) and stays ``False``: the server's own
    HF_TOKEN is never used for them.
    """
    if explicit is False:
        return False
    if explicit:
        return explicit.strip()
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"].strip()
    from huggingface_hub import get_token

    return get_token()


def redact(text: str, token: str | None) -> str:
    if token and len(token) >= 4:
        return text.replace(token, "hf_***")
    return text


def _status(err: Exception) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def whoami(token: str) -> dict[str, Any]:
    from huggingface_hub import HfApi

    apply_timeouts()
    try:
        return HfApi().whoami(token=token)
    except Exception as err:
        if is_timeout(err):
            raise HubError(timeout_message("the token check (whoami)")) from None
        status = _status(err)
        if status == 401:
            raise HubAccessError(
                "The Hub token was rejected (invalid or expired). Create a token with write access at "
                "https://huggingface.co/settings/tokens and set HF_TOKEN, or sign in again."
            ) from None
        raise HubError(
            "Could not reach the Hugging Face Hub to check the token "
            f"({type(err).__name__}). Check the network, or train without pushing and push later."
        ) from None


def full_repo_id(repo_id: str, user: dict[str, Any]) -> str:
    return repo_id if "/" in repo_id else f"{user['name']}/{repo_id}"


def check_write_access(repo_id: str, token: str | None) -> str:
    """Confirm before training that ``token`` can create and write ``repo_id``; return the full repo id.

    What whoami tells: the token's role, the namespaces of its user and the user's role in each
    organization. A fine-grained token's scopes are only known by trying (``prepare_repo``).
    """
    return _checked_access(repo_id, token)[0]


def _checked_access(repo_id: str, token: str | None) -> tuple[str, dict[str, Any]]:
    if not token:
        raise HubAccessError(
            f"Pushing to '{repo_id}' needs a Hub token with write access: set HF_TOKEN, run "
            "`hf auth login`, or sign in with Hugging Face in the app."
        )
    user = whoami(token)
    repo_id = full_repo_id(repo_id, user)
    namespace, name = repo_id.split("/")
    role = ((user.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise HubAccessError(
            "The Hub token is read-only, so it cannot create or push the repo. Use a token with write access."
        )
    orgs = {org.get("name"): org for org in user.get("orgs") or []}
    if namespace not in {user.get("name"), *orgs}:
        raise HubAccessError(
            f"The token belongs to '{user.get('name')}', who cannot write to the namespace '{namespace}'. "
            f"Push to '{user.get('name')}/{name}' or to an organization you belong to."
        )
    if orgs.get(namespace, {}).get("roleInOrg") == "read":
        raise HubAccessError(
            f"Cannot push to '{repo_id}': '{user.get('name')}' has the read role in '{namespace}', which cannot "
            f"create or write its repos. Ask an admin of '{namespace}' for the write role, or push to "
            f"'{user.get('name')}/{name}' instead."
        )
    return repo_id, user


def is_access_refusal(err: BaseException) -> bool:
    """The Hub answered 401 or 403: the token, or what it may do, is the problem."""
    return isinstance(err, Exception) and _status(err) in (401, 403)


def _server_answer(err: Exception, token: str | None) -> str | None:
    """ "HTTP 403: <what the Hub said>", from the Hub's own error message, if it sent one."""
    said = (getattr(err, "server_message", None) or "").strip()
    status = _status(err)
    if not said or status is None:
        return None
    return f"HTTP {status}: {redact(said.splitlines()[0], token)}"[:300]


def repo_creation_error(
    repo_id: str, err: Exception, token: str | None, owner: str | None = None, *, doing: str = "create the repo"
) -> HubError:
    """What to tell when the Hub would not create (or let us write to) ``repo_id``: what it answered, how to fix it."""
    if is_timeout(err):
        return HubError(timeout_message("when creating the repo" if doing == "create the repo" else "the write check"))
    status = _status(err)
    found = _server_answer(err, token) or describe_push_error(err, token)
    namespace, name = repo_id.split("/") if "/" in repo_id else ("", repo_id)
    elsewhere = f"; or push to '{owner}/{name}' instead" if owner and owner != namespace else ""
    if status == 401:
        return HubAccessError(
            f"The Hub rejected the token when asked to {doing} '{repo_id}' ({found}): it is invalid, expired or "
            "revoked. Create a token with write access at https://huggingface.co/settings/tokens and set HF_TOKEN, "
            "or sign in again. Nothing was trained."
        )
    if status == 403:
        return HubAccessError(
            f"The Hub refused to {doing} '{repo_id}'{f' for {owner!r}' if owner else ''} ({found}). A "
            f"fine-grained token needs write access to the repos of '{namespace}': edit its permissions at "
            f"https://huggingface.co/settings/tokens or use a token with the write role{elsewhere}. Nothing was "
            "trained."
        )
    return HubError(
        f"Could not {doing} '{repo_id}' on the Hub ({found}). Try again later, or train without pushing "
        "and push the model afterwards with `python -m trainer_core push`."
    )


def prepare_repo(repo_id: str, token: str | None, *, private: bool = False) -> str:
    """Check access and create ``repo_id`` (or find it) now, before any data or model work; return its full id.

    The Trainer would create it only once data and model are ready, so a token that may not create repos
    there (a fine-grained token without write access to the namespace, say) failed after all that work.
    """
    from huggingface_hub import HfApi

    repo_id, user = _checked_access(repo_id, token)
    apply_timeouts()
    api = HfApi()
    try:
        with_retries(lambda: api.create_repo(repo_id, token=token, private=private, exist_ok=True))
    except Exception as err:
        raise repo_creation_error(repo_id, err, token, user.get("name")) from None
    try:
        # create_repo(exist_ok=True) passes over a 403 when the repo exists: whether we may write to it is
        # another question, asked here rather than at the first commit, after training.
        with_retries(lambda: api.auth_check(repo_id, token=token, write=True))
    except Exception as err:
        raise repo_creation_error(repo_id, err, token, user.get("name"), doing="write to the repo") from None
    return repo_id


def push_token_problem(
    repo_id: str, token: str | bool | None, *, expires_at: float | None = None, now: float | None = None
) -> str | None:
    """Why ``token`` cannot push ``repo_id`` now, in words for the visitor; None when it can (or when only the
    network is in the way: the push then fails and says so). A run that lasted for days may outlive an 8-hour
    sign-in, and a restart of the app forgets every token."""
    now = time.time() if now is None else now
    if not token:
        return "no Hub token is at hand any more (the app restarted since the run began, or you were not signed in)"
    if expires_at is not None and expires_at <= now + 60:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at))
        return f"your Hugging Face sign-in expired at {when} (a sign-in lasts 8 hours; this run took longer)"
    try:
        check_write_access(repo_id, token)
    except HubAccessError as err:
        return f"the Hub refused the token: {err}"
    except HubError:
        return None
    return None


def pending_push_message(repo_id: str, problem: str) -> str:
    return (
        f"The model is trained and kept here, but not pushed to {repo_id} yet: {problem}. Sign in again with "
        "Hugging Face (the button at the top of the page) or paste a token with write access, then press Retry push."
    )


@dataclass
class CardInfo:
    repo_id: str
    base_model: str
    dataset: str
    dataset_config: str | None
    label_names: list[str]
    metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    eval_split: str
    is_pair: bool = False
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    task_type: str = "single_label"
    thresholds: dict[str, float] | None = None  # multi_label: tuned per label, also in config.json


_KIND_TAGS = {"regression": ["text-regression"], "multi_label": ["multi-label-classification"]}


def render_model_card(info: CardInfo) -> str:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    is_hub_dataset = "/" in info.dataset and not Path(info.dataset).exists()
    dataset_id = info.dataset if is_hub_dataset else "custom"
    eval_results = [
        EvalResult(
            task_type="text-classification",
            task_name="Text Classification",
            dataset_type=dataset_id,
            dataset_name=info.dataset if is_hub_dataset else Path(info.dataset).name,
            dataset_config=info.dataset_config,
            dataset_split=info.eval_split,
            metric_type=name,
            metric_name=name.replace("_", " ").title(),
            metric_value=round(float(value), 4),
        )
        for name, value in info.metrics.items()
    ]
    data = ModelCardData(
        base_model=info.base_model,
        datasets=[info.dataset] if is_hub_dataset else None,
        language=info.language,
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["text-classification", "trainer-studio", *_KIND_TAGS.get(info.task_type, [])],
        model_name=info.repo_id,
        eval_results=eval_results or None,
    )
    hyper = "\n".join(f"| {key} | {value} |" for key, value in info.hyperparameters.items())
    scores = "\n".join(f"| {name} | {value:.4f} |" for name, value in info.metrics.items())
    call = (
        'classifier({"text": "The first sentence.", "text_pair": "A second sentence."}'
        if info.is_pair
        else 'classifier("I loved this film!"'
    )
    on = f"{info.dataset}{f' ({info.dataset_config})' if info.dataset_config else ''}"
    base = f"[{info.base_model}](https://huggingface.co/{info.base_model})"
    if info.task_type == "regression":
        what = f"A text regression model (it predicts the number in `{info.label_names[0]}`) fine-tuned from {base}"
        labels = f"## Target\n\nOne output: the predicted `{info.label_names[0]}`, on the scale of the training data."
        usage = f"""regressor = pipeline("text-classification", model="{info.repo_id}")
print({call.replace("classifier(", "regressor(")})[0]["score"])  # the predicted number"""
    elif info.task_type == "multi_label":
        what = f"A multi-label text classifier (any number of labels per text) fine-tuned from {base}"
        thresholds = info.thresholds or {}
        rows = "\n".join(f"| {i} | {name} | {thresholds.get(name, 0.5):g} |" for i, name in enumerate(info.label_names))
        labels = (
            "## Labels\n\nEach label has its own probability (a sigmoid) and its own threshold, tuned for F1 on "
            f"{info.eval_split} and stored in `config.json` (`label_thresholds`); a label applies when its "
            f"probability reaches its threshold.\n\n| id | label | threshold |\n|---|---|---|\n{rows}"
        )
        usage = f"""classifier = pipeline("text-classification", model="{info.repo_id}", top_k=None)
scores = {call})[0]  # every label, each with its own probability (a sigmoid)
thresholds = classifier.model.config.label_thresholds
print([s["label"] for s in scores if s["score"] >= thresholds[s["label"]]])"""
    else:
        what = f"A text classifier fine-tuned from {base}"
        rows = "\n".join(f"| {i} | {name} |" for i, name in enumerate(info.label_names))
        labels = f"## Labels\n\n| id | label |\n|---|---|\n{rows}"
        usage = f"""classifier = pipeline("text-classification", model="{info.repo_id}")
print({call}))"""
    tuned = (
        "\n\nThe thresholds were tuned on these same rows, so these scores are optimistic: evaluate on another "
        "split for an unbiased figure."
        if info.task_type == "multi_label" and info.thresholds
        else ""
    )
    body = f"""
# {info.repo_id.split("/")[-1]}

{what} on
{on} with Trainer Studio.

## Results on {info.eval_split}

| metric | value |
|---|---|
{scores}{tuned}

{labels}

## Usage

```python
from transformers import pipeline

{usage}
```

## Training hyperparameters

| name | value |
|---|---|
{hyper}
"""
    body += _choices_section(info.extra)
    return str(ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body))


def _choices_section(extra: dict[str, Any]) -> str:
    """How unset options were chosen (trainer_core.recipe) and the search's trials, if any."""
    text = ""
    chosen = extra.get("chosen") or {}
    if chosen:
        rows = "\n".join(f"| {name} | {reason} |" for name, reason in chosen.items())
        text += f"\n## How the settings were chosen\n\n| option | why |\n|---|---|\n{rows}\n"
    search = extra.get("search")
    if search:
        rows = "\n".join(
            f"| {t['number']} | {', '.join(f'{k}={v:.3g}' if isinstance(v, float) else f'{k}={v}' for k, v in t['params'].items())}"
            f" | {'' if t['objective'] is None else format(t['objective'], '.4f')} | {t['seconds']:.0f} |"
            for t in search["trials"]
        )
        best = ", ".join(f"{k}={v}" for k, v in (search.get("best") or {}).items()) or "none"
        text += (
            f"\n## Hyperparameter search\n\n{len(search['trials'])} trial(s) in {search['seconds']:.0f} s, scored by "
            f"{search['metric']} on the held-out rows; chosen: {best}.\n\n"
            f"| trial | settings | {search['metric']} | seconds |\n|---|---|---|---|\n{rows}\n"
        )
    return text


def write_model_card(output_dir: str | Path, info: CardInfo) -> Path:
    path = Path(output_dir) / "README.md"
    path.write_text(render_model_card(info), encoding="utf-8")
    return path


def _retryable(err: Exception) -> bool:
    if is_timeout(err):
        # huggingface_hub already retried what it retries; waiting the full time-out again only delays the error.
        return False
    status = _status(err)
    return status is None or status >= 500 or status == 429


def with_retries(action: Callable[[], Any], *, attempts: int = 3, backoff: float = 1.0) -> Any:
    """Run ``action``, retrying server errors and network faults with exponential backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as err:
            if attempt == attempts or not _retryable(err):
                raise
            logger.warning("Hub request failed (%s), retrying (%d/%d)", type(err).__name__, attempt, attempts)
            time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


_LOCAL_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.+-]+/)+([\w.+-]*)")


def describe_push_error(err: BaseException, token: str | None) -> str:
    """One line about a failed push, fit for any visitor: no token and no folder of the server."""
    if is_timeout(err):
        return f"no answer from the Hub within {hub_timeout():g} s ({hub_endpoint()}; {TIMEOUT_ENV} sets this deadline)"
    status = _status(err) if isinstance(err, Exception) else None
    reason = f"HTTP {status}" if status else type(err).__name__
    detail = redact(str(err).strip().splitlines()[0] if str(err).strip() else "", token)
    # An OSError names the server's file; the name alone says enough.
    detail = _LOCAL_PATH.sub(lambda match: match.group(1) or "a local folder", detail)
    return f"{reason}: {detail}"[:300] if detail else reason


def push_folder(
    output_dir: str | Path,
    repo_id: str,
    token: str | None,
    *,
    private: bool = False,
    commit_message: str = "Upload model trained with Trainer Studio",
    attempts: int = 3,
    backoff: float = 1.0,
) -> str:
    """Upload the run's final model (not its checkpoints) to ``repo_id``; return the commit url.

    Safe to repeat: a retry after a failure uploads whatever the repo is missing. The error names neither
    the token nor ``output_dir`` (a server folder on a Space): callers add their own way to retry.
    """
    from huggingface_hub import HfApi

    apply_timeouts()
    api = HfApi()
    try:
        with_retries(
            lambda: api.create_repo(repo_id, token=token, private=private, exist_ok=True),
            attempts=attempts,
            backoff=backoff,
        )
        info = with_retries(
            lambda: api.upload_folder(
                repo_id=repo_id,
                folder_path=str(output_dir),
                commit_message=commit_message,
                token=token,
                ignore_patterns=PUSH_IGNORE,
            ),
            attempts=attempts,
            backoff=backoff,
        )
    except Exception as err:
        raise PushError(
            f"Pushing to '{repo_id}' failed ({describe_push_error(err, token)}). The model is kept: push it "
            "again once the problem is fixed."
        ) from None
    return str(getattr(info, "commit_url", info))


def record_push(output_dir: str | Path, repo_id: str) -> None:
    """After a successful retry, the run's ``results.json`` says the model is on the Hub and no push failed."""
    import json

    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        return
    result = json.loads(path.read_text(encoding="utf-8"))
    result.update(pushed_repo=repo_id, push_errors=[])
    result.pop("push_pending", None)
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
