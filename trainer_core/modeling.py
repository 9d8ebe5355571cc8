"""Loading tokenizers and sequence-classification models safely.

Weights load from safetensors only and remote code is never executed: a visitor's model id must not
be able to run code or unpickle data on the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_core.errors import HubUnreachableError, InputError

# Position limits above this are placeholders (e.g. 1e30 for "no limit" in tokenizer configs).
_NO_LIMIT = 1_000_000


def _model_error(model: str, err: Exception) -> Exception:
    name = type(err).__name__
    text = str(err)
    if name == "GatedRepoError":
        return InputError(
            f"Model '{model}' is gated: accept its conditions on its Hub page, then use a token of that account."
        )
    if (
        name in ("RepositoryNotFoundError", "RevisionNotFoundError")
        or "is not a local folder and is not a valid model" in text
        # A path that does not exist is taken for a repo id, and refused as one (HFValidationError).
        or "HFValidationError" in (name, type(err.__cause__).__name__)
    ):
        return InputError(
            f"Model '{model}' was not found: it is not a local directory and not a model on the Hub (or it is "
            "private and your token has no access). Check the id, e.g. bert-base-uncased or distilbert-base-uncased."
        )
    if "trust_remote_code" in text:
        return InputError(
            f"Model '{model}' needs custom code from its repo (trust_remote_code), which this app never runs. "
            "Choose a model whose architecture transformers supports natively."
        )
    if (
        name in ("OfflineModeIsEnabled", "LocalEntryNotFoundError", "ConnectError")
        or isinstance(err, (ConnectionError, TimeoutError))
        or "couldn't connect" in text
    ):
        return HubUnreachableError(
            f"Cannot reach the Hugging Face Hub to download '{model}' and it is not cached. Check the network, "
            "or use a local model directory, which works offline."
        )
    if "safetensors" in text.lower() or "pytorch_model.bin" in text or "model.safetensors" in text:
        return InputError(
            f"Model '{model}' has no safetensors weights. For safety only safetensors weights are loaded: "
            "choose a model that ships model.safetensors."
        )
    first_line = text.strip().splitlines()[0] if text.strip() else name
    return InputError(f"Could not load model '{model}': {first_line}")


def check_no_remote_code(model: str, token: str | None = None, revision: str | None = None) -> dict[str, Any]:
    """Read the model's config.json and refuse one that needs custom code. Returns the config dict."""
    from transformers import AutoConfig

    # The file list first: one request that fails at once when the Hub cannot be reached, where the config
    # download below would first retry for about 25 s (huggingface_hub's backoff when nothing is cached).
    names = _file_names(model, token, revision)
    try:
        config = AutoConfig.from_pretrained(model, token=token, revision=revision, trust_remote_code=False)
    except Exception as err:
        raise _model_error(model, err) from err
    raw = config.to_dict()
    if raw.get("auto_map"):
        raise InputError(
            f"Model '{model}' needs custom code from its repo (auto_map in config.json), which this app never "
            "runs. Choose a model whose architecture transformers supports natively."
        )
    _require_safetensors(model, names)
    return raw


def _file_names(model: str, token: str | None, revision: str | None) -> list[str]:
    """The files of a local model folder or a Hub model repo."""
    local = Path(model).expanduser()
    if model.startswith(("/", ".", "~")) and not local.is_dir():
        raise InputError(
            f"Model directory '{model}' does not exist. Give a trained run's output directory or a Hub id."
        )
    if local.is_dir():
        return [p.name for p in local.iterdir()]
    from huggingface_hub import HfApi

    try:
        return [s.rfilename for s in HfApi().model_info(model, revision=revision, token=token).siblings or []]
    except Exception as err:
        raise _model_error(model, err) from err


def _require_safetensors(model: str, names: list[str]) -> None:
    """Refuse a model without safetensors weights before anything would download (or unpickle) it."""
    if not any(name.endswith(".safetensors") or name == "model.safetensors.index.json" for name in names):
        raise InputError(
            f"Model '{model}' has no safetensors weights. For safety only safetensors weights are loaded: "
            "choose a model that ships model.safetensors."
        )


def load_tokenizer(model: str, token: str | None = None, revision: str | None = None) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model, token=token, revision=revision, trust_remote_code=False)
    except Exception as err:
        raise _model_error(model, err) from err


def load_model(
    model: str,
    label_names: list[str] | None = None,
    *,
    token: str | None = None,
    revision: str | None = None,
    task_type: str | None = None,
) -> Any:
    """A sequence-classification model; with ``label_names`` its head is sized and named for them.

    ``task_type`` (``trainer_core.task_types``) sets transformers' ``problem_type``, which picks the loss:
    cross-entropy for single_label, a sigmoid per label for multi_label, the squared error for regression
    (whose one output is named after the target: ``label_names`` is ``[target column]``).
    """
    from transformers import AutoModelForSequenceClassification

    kwargs: dict[str, Any] = {}
    if label_names is not None:
        kwargs.update(
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            # A base checkpoint has a head of a different size (or none): start it fresh.
            ignore_mismatched_sizes=True,
        )
        if task_type is not None:
            from trainer_core.task_types import PROBLEM_TYPES

            kwargs["problem_type"] = PROBLEM_TYPES[task_type]
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model, token=token, revision=revision, use_safetensors=True, trust_remote_code=False, **kwargs
        )
    except Exception as err:
        raise _model_error(model, err) from err


def start_regression_head(model: Any, mean: float) -> bool:
    """Set the bias of a fresh one-output head to the targets' mean, so training starts from the mean
    prediction instead of 0 (ratings from 1 to 5 would otherwise spend the first steps moving the bias).

    The head is the last linear layer with one output (``classifier``, or RoBERTa's ``classifier.out_proj``).
    Returns False when the model has none.
    """
    import torch

    heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
    if not heads or heads[-1].bias is None:
        return False
    with torch.no_grad():
        heads[-1].bias.fill_(float(mean))
    return True


def max_positions(tokenizer: Any, model_config: dict[str, Any] | None = None) -> int | None:
    """The most tokens the model accepts, from its config or tokenizer; None if unknown."""
    limits = []
    if model_config:
        positions = model_config.get("max_position_embeddings")
        if isinstance(positions, int) and positions > 0:
            # RoBERTa-style models reserve two positions for the padding offset.
            offset = 2 if model_config.get("model_type") in ("roberta", "xlm-roberta", "camembert") else 0
            limits.append(positions - offset)
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _NO_LIMIT:
        limits.append(tokenizer_limit)
    return min(limits) if limits else None


def check_max_length(model: str, max_length: int, tokenizer: Any, model_config: dict[str, Any] | None) -> None:
    limit = max_positions(tokenizer, model_config)
    if limit is not None and max_length > limit:
        raise InputError(
            f"max_length {max_length} is above what '{model}' accepts ({limit} tokens). Use --max-length {limit} or less."
        )


def read_label_names(model_dir: str | Path) -> list[str] | None:
    """Label names stored in a saved model's config.json, in id order."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        return None
    id2label = json.loads(path.read_text(encoding="utf-8")).get("id2label") or {}
    return [id2label[key] for key in sorted(id2label, key=int)] if id2label else None
