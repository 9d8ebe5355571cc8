"""Uploaded files: safe names inside the visitor's own folder, at most a few per visitor.

Pure helpers (no gradio import), unit-tested directly.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

from trainer_core.errors import InputError
from trainer_core.files import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, format_names

MAX_UPLOADS_PER_VISITOR = 20


_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def sanitize_upload_name(name: str | None) -> str:
    """A safe file name for an upload, from what the browser called it.

    Only the last path component survives (both / and \\ count as separators), characters other than
    letters, digits, '_', '-' and '.' become '_', leading dots go (no hidden files, no '..'), the stem is
    kept short and the extension lower-cased. Raises InputError for a type ``read_table`` cannot read.
    """
    raw = unicodedata.normalize("NFKC", str(name or "")).replace("\x00", "")
    base = re.split(r"[\\/]", raw)[-1].strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = "." + suffix.lower() if suffix else ""
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "no extension"
        raise InputError(
            f"Cannot use a file with {shown}: upload a {', '.join(s.lstrip('.') for s in SUPPORTED_SUFFIXES)} file."
        )
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"_{2,}", "_", stem).strip("._-")[:80].rstrip("._-")
    return (stem or "upload") + suffix


def store_upload(source: str | Path, folder: str | Path, original_name: str | None = None) -> str:
    """Copy an uploaded file into ``folder`` (the visitor's own) under a sanitized name; return that name.

    The name comes from ``original_name`` (what the browser sent) or the source file's name; it never
    decides where the file goes beyond a single safe component. A same-named earlier upload is replaced.
    Only the newest ``MAX_UPLOADS_PER_VISITOR`` files are kept.
    """
    source = Path(source)
    name = sanitize_upload_name(original_name or source.name)
    if not source.is_file():
        raise InputError("The upload did not arrive: upload the file again.")
    size = source.stat().st_size
    if size > DEFAULT_MAX_BYTES:
        raise InputError(
            f"The file is {size / 2**20:.0f} MiB; uploads are limited to {DEFAULT_MAX_BYTES // 2**20} MiB. "
            "Put a large dataset on the Hub and give its id instead."
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / f".{name}.{os.getpid()}.part"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    for old in list_uploads(folder)[MAX_UPLOADS_PER_VISITOR:]:
        (folder / old).unlink(missing_ok=True)
    return name


def list_uploads(folder: str | Path) -> list[str]:
    """The names of the files in an uploads folder, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
    ]
    return [p.name for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]


def upload_path(folder: str | Path, name: str | None) -> Path:
    """The stored upload called ``name`` inside ``folder``; refuses names that are not plain stored names."""
    if not name or not str(name).strip():
        raise InputError(f"No uploaded file chosen: upload a {format_names()} file first.")
    name = str(name).strip()
    try:
        safe = sanitize_upload_name(name)
    except InputError:
        safe = None
    path = Path(folder) / name
    if safe != name or not path.is_file():
        raise InputError(f"No upload called '{name}' among your files: upload it again.")
    return path
