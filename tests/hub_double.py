"""A local, in-memory double of the Hugging Face Hub HTTP API, for tests.

Point ``HF_ENDPOINT`` at :attr:`HubDouble.url` *before* ``huggingface_hub`` is imported (``tests/conftest.py``
does that) and ``huggingface_hub``, ``transformers`` and ``datasets`` talk to this server instead of the real Hub.

Implemented (the parts of the Hub API these libraries use to log in, create repos, push and pull):

* ``GET /api/whoami-v2``
* ``POST /api/repos/create``, ``DELETE /api/repos/delete``, ``PUT /api/{type}s/{id}/settings``
* ``POST /api/validate-yaml``
* ``GET /api/{type}s/{id}`` and ``/api/{type}s/{id}/revision/{rev}`` (repo info)
* ``GET /api/{type}s/{id}/tree/{rev}[/{path}]`` (``recursive``, ``expand``, cursor pagination with a Link header)
* ``POST /api/{type}s/{id}/paths-info/{rev}``
* ``POST /api/{type}s/{id}/preupload/{rev}`` (every file is ``"regular"``: no LFS / Xet upload)
* ``POST /api/{type}s/{id}/commit/{rev}`` (NDJSON: header, file, deletedFile, deletedFolder; ``create_pr``)
* ``GET /api/{type}s/{id}/commits/{rev}``, ``GET /api/{type}s/{id}/refs``
* ``POST|DELETE /api/{type}s/{id}/branch/{branch}``
* ``GET /api/{type}s/{id}/auth-check[/write]``
* ``GET|HEAD /[{type}s/]{id}/resolve/{rev}/{path}`` (``Range`` requests, ``X-Repo-Commit``, ``ETag``)
* ``GET /api/agent-harnesses`` (an empty registry: huggingface_hub fetches it once a day to tag agent traffic)

Anything else is answered ``404`` and recorded with ``endpoint == "unsupported"``.

Errors mimic the Hub's: the ``X-Error-Code`` header (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``,
``GatedRepo``) is what ``huggingface_hub.utils.hf_raise_for_status`` turns into ``RepositoryNotFoundError``,
``RevisionNotFoundError``, ``RemoteEntryNotFoundError`` and ``GatedRepoError``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import datetime as _dt
import hashlib
import http.server
import io
import itertools
import json
import mimetypes
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

REPO_TYPES = ("model", "dataset", "space")
_PLURAL_TO_TYPE = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}

#: Names accepted by :meth:`HubDouble.fail_next` / :meth:`HubDouble.fail_all` (``"*"`` matches every request).
ENDPOINTS = (
    "whoami",
    "create_repo",
    "delete_repo",
    "repo_settings",
    "validate_yaml",
    "repo_info",
    "tree",
    "paths_info",
    "preupload",
    "commit",
    "commits",
    "refs",
    "branch",
    "auth_check",
    "agent_harnesses",
    "resolve",
    "unsupported",
)

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"

_LFS_EXTENSIONS = (
    *("7z", "arrow", "bin", "bz2", "ckpt", "ftz", "gz", "h5", "joblib", "lfs", "mlmodel", "model", "msgpack"),
    *("npy", "npz", "onnx", "ot", "parquet", "pb", "pickle", "pkl", "pt", "pth", "rar", "safetensors", "tar"),
    *("tflite", "tgz", "wasm", "xz", "zip", "zst"),
)
# What the Hub writes in the first commit of every new repo (a short version of its LFS attributes file).
DEFAULT_GITATTRIBUTES = (
    "\n".join(f"*.{ext} filter=lfs diff=lfs merge=lfs -text" for ext in _LFS_EXTENSIONS)
    + "\n*tfevents* filter=lfs diff=lfs merge=lfs -text\n"
).encode()

_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX_PREFIX = re.compile(r"[0-9a-f]{7,40}")
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)


#: Tokens of the default users of the `hub` fixture (tests/conftest.py): alice can write, bob only read.
ALICE_TOKEN = "hf_alice_write_token"
BOB_TOKEN = "hf_bob_read_token"


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob (what the Hub reports as ``oid`` / ``ETag`` of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now_iso() -> str:
    now = _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _normalize_path(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError(f"invalid path in repo: {path!r}")
    return "/".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _User:
    name: str
    fullname: str
    orgs: list[str] = field(default_factory=list)
    read_orgs: list[str] = field(default_factory=list)  # member with the "read" role: sees, cannot write

    @property
    def namespaces(self) -> set[str]:
        return {self.name, *self.orgs, *self.read_orgs}

    @property
    def write_namespaces(self) -> set[str]:
        return {self.name, *self.orgs}


@dataclass
class _Token:
    value: str
    user: str
    write: bool
    display_name: str


@dataclass
class _Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    author: str
    date: str
    files: dict[str, bytes]


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    gated: str | bool = False
    granted: set[str] = field(default_factory=set)
    commits: dict[str, _Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    pull_requests: dict[int, str] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def head(self, branch: str = "main") -> _Commit:
        return self.commits[self.branches[branch]]

    def resolve(self, revision: str | None) -> _Commit | None:
        rev = revision or "main"
        if rev in self.branches:
            return self.commits[self.branches[rev]]
        match = re.fullmatch(r"refs/pr/(\d+)", rev)
        if match and int(match.group(1)) in self.pull_requests:
            return self.commits[self.pull_requests[int(match.group(1))]]
        if rev.startswith("refs/heads/") and rev[len("refs/heads/") :] in self.branches:
            return self.commits[self.branches[rev[len("refs/heads/") :]]]
        if _HEX40.fullmatch(rev):
            return self.commits.get(rev)
        if _HEX_PREFIX.fullmatch(rev):
            found = [c for oid, c in self.commits.items() if oid.startswith(rev)]
            if len(found) == 1:
                return found[0]
        return None

    def history(self, head: _Commit) -> list[_Commit]:
        """Commits reachable from ``head``, newest first."""
        out: list[_Commit] = []
        commit: _Commit | None = head
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return out


@dataclass(frozen=True)
class RecordedRequest:
    """One request the double answered. Authorization header values are never kept: only the user they map to."""

    method: str
    path: str
    status: int | None  # None: the connection was dropped without an answer (``mode="drop"``)
    endpoint: str
    query: str = ""
    user: str | None = None


@dataclass
class _Fault:
    endpoint: str
    status: int | None
    mode: str
    delay: float
    remaining: int | None  # None: until heal()
    method: str | None
    path_contains: str | None
    message: str
    drip_bytes: int = 1

    def matches(self, endpoint: str, method: str, path: str) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in path


class _StaleRequest(Exception):
    """The double was reset while this request was in flight."""


class _HubError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}


# ---------------------------------------------------------------------------------------------------------------
# The double
# ---------------------------------------------------------------------------------------------------------------


class HubDouble:
    """In-memory Hugging Face Hub served over HTTP on ``127.0.0.1``.

    >>> hub = HubDouble().start()
    >>> hub.add_user("alice", token="hf_alice", write=True)
    >>> # os.environ["HF_ENDPOINT"] = hub.url  (before huggingface_hub is imported)
    >>> hub.stop()
    """

    #: Entries per page of the ``tree`` listing (as on the Hub: 1000, and at most 50 with ``expand``).
    #: Lower it in a test to exercise pagination; reset() restores it.
    tree_page_size = 1000

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._oid_counter = itertools.count()
        self._wake_delays = threading.Event()
        self._generation = 0  # bumped by reset(): requests from before a reset are neither answered nor recorded
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> HubDouble:
        if self._server is not None:
            return self
        server = _Server((self.host, self._requested_port), _Handler)
        server.double = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="hub-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._wake_delays.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> HubDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("HubDouble is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint to put in ``HF_ENDPOINT``, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every user, token, repo, fault and recorded request (the server keeps running)."""
        with self._lock:
            self._users.clear()
            self._tokens.clear()
            self._repos.clear()
            self._faults.clear()
            self._requests.clear()
            self.__dict__.pop("tree_page_size", None)  # back to the class default
            # Cut short the delays of requests still sleeping from a previous test.
            self._wake_delays.set()
            self._wake_delays = threading.Event()
            self._generation += 1

    # -- users and tokens ----------------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        token: str | None = None,
        *,
        write: bool = True,
        fullname: str | None = None,
        orgs: list[str] | tuple[str, ...] = (),
        read_orgs: list[str] | tuple[str, ...] = (),
        token_name: str | None = None,
    ) -> None:
        """Register a user (and optionally one of its tokens). ``orgs``: organizations the user may write to;
        ``read_orgs``: organizations where the user has the "read" role (the Hub answers 403 to a write)."""
        with self._lock:
            user = self._users.get(name)
            if user is None:
                user = _User(name=name, fullname=fullname or name.capitalize())
                self._users[name] = user
            for org in orgs:
                if org not in user.orgs:
                    user.orgs.append(org)
            for org in read_orgs:
                if org not in user.read_orgs:
                    user.read_orgs.append(org)
            if token is not None:
                self.add_token(name, token, write=write, token_name=token_name)

    def add_token(self, user: str, token: str, *, write: bool = True, token_name: str | None = None) -> None:
        """Register another access token of an existing user (``write=False``: a read-only token)."""
        with self._lock:
            if user not in self._users:
                raise KeyError(f"unknown user {user!r}: call add_user first")
            display = token_name or f"{user}-{'write' if write else 'read'}"
            self._tokens[token] = _Token(value=token, user=user, write=write, display_name=display)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def token_for(self, user: str, *, write: bool | None = None) -> str:
        """A token registered for ``user`` (the first one, or the first with the given role)."""
        with self._lock:
            for tok in self._tokens.values():
                if tok.user == user and (write is None or tok.write == write):
                    return tok.value
        raise KeyError(f"no token registered for {user!r}")

    # -- repos ---------------------------------------------------------------------------------------------------

    def create_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "model",
        private: bool = False,
        gated: str | bool = False,
        exist_ok: bool = False,
    ) -> None:
        """Create a repo directly (no HTTP): same initial state as ``HfApi.create_repo`` (a ``.gitattributes``)."""
        _check_repo_type(repo_type)
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                if exist_ok:
                    return
                raise ValueError(f"{repo_type} repo {repo_id} already exists")
            self._create_repo_locked(repo_id, repo_type, private=private)
            self._repos[(repo_type, repo_id)].gated = gated

    def upload(
        self,
        repo_id: str,
        files: dict[str, bytes | str],
        *,
        repo_type: str = "model",
        message: str = "Upload files",
        branch: str = "main",
        delete: list[str] | tuple[str, ...] = (),
        author: str | None = None,
    ) -> str:
        """Commit files directly (no HTTP), creating the repo if needed. Returns the new commit oid."""
        _check_repo_type(repo_type)
        with self._lock:
            if (repo_type, repo_id) not in self._repos:
                self._create_repo_locked(repo_id, repo_type, private=False)
            repo = self._repos[(repo_type, repo_id)]
            ops: list[tuple[str, str, bytes]] = [("deletedFile", _normalize_path(p), b"") for p in delete]
            ops += [
                ("file", _normalize_path(p), c.encode() if isinstance(c, str) else bytes(c)) for p, c in files.items()
            ]
            try:
                commit = self._commit_locked(repo, branch, ops, message, "", author or repo.namespace)
            except _HubError as err:
                raise KeyError(err.message) from None
            return commit.oid

    def create_branch(self, repo_id: str, branch: str, *, repo_type: str = "model", orphan: bool = True) -> str:
        """Add ``branch`` directly (no HTTP). ``orphan``: it starts empty, as the Hub's ``refs/convert/parquet``
        does; otherwise at main's head. Returns the branch's commit oid."""
        _check_repo_type(repo_type)
        with self._lock:
            repo = self._repo_or_raise(repo_id, repo_type)
            if orphan:
                commit = _Commit(
                    oid=self._new_oid(repo_id + branch),
                    parent=None,
                    title=f"Create {branch}",
                    message="",
                    author=repo.namespace,
                    date=_now_iso(),
                    files={},
                )
                repo.commits[commit.oid] = commit
                repo.branches[branch] = commit.oid
            else:
                repo.branches[branch] = repo.head("main").oid
            return repo.branches[branch]

    def delete_repo(self, repo_id: str, *, repo_type: str = "model") -> None:
        with self._lock:
            self._repos.pop((repo_type, repo_id), None)

    def set_private(self, repo_id: str, private: bool = True, *, repo_type: str = "model") -> None:
        with self._lock:
            self._repo_or_raise(repo_id, repo_type).private = private

    def set_gated(self, repo_id: str, mode: str | bool = "auto", *, repo_type: str = "model") -> None:
        """Gate a repo (``"auto"`` / ``"manual"``; ``False`` un-gates). Creates the repo if it does not exist.

        Files of a gated repo only resolve for members of its namespace and users passed to :meth:`grant_access`;
        anonymous requests get ``401`` and other users ``403``, both with ``X-Error-Code: GatedRepo``.
        Its info, tree and paths-info stay readable, as on the Hub.
        """
        _check_repo_type(repo_type)
        with self._lock:
            if (repo_type, repo_id) not in self._repos:
                self._create_repo_locked(repo_id, repo_type, private=False)
            self._repos[(repo_type, repo_id)].gated = mode

    def grant_access(self, repo_id: str, user: str, *, repo_type: str = "model") -> None:
        with self._lock:
            self._repo_or_raise(repo_id, repo_type).granted.add(user)

    def repo_exists(self, repo_id: str, *, repo_type: str = "model") -> bool:
        with self._lock:
            return (repo_type, repo_id) in self._repos

    def is_private(self, repo_id: str, *, repo_type: str = "model") -> bool:
        with self._lock:
            return self._repo_or_raise(repo_id, repo_type).private

    def repos(self, repo_type: str | None = None) -> list[str]:
        with self._lock:
            return sorted(rid for (rtype, rid) in self._repos if repo_type in (None, rtype))

    def files(self, repo_id: str, *, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        """``{path: content}`` of the repo at ``revision`` (the latest commit of ``main`` by default)."""
        with self._lock:
            repo = self._repo_or_raise(repo_id, repo_type)
            commit = repo.resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return dict(commit.files)

    def commits(self, repo_id: str, *, repo_type: str = "model", revision: str = "main") -> list[str]:
        """Commit titles of ``revision``'s history, oldest first (newest last), the ``initial commit`` included."""
        with self._lock:
            repo = self._repo_or_raise(repo_id, repo_type)
            commit = repo.resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return [c.title for c in reversed(repo.history(commit))]

    def head(self, repo_id: str, *, repo_type: str = "model", branch: str = "main") -> str:
        """The commit oid ``branch`` points to."""
        with self._lock:
            return self._repo_or_raise(repo_id, repo_type).branches[branch]

    def branches(self, repo_id: str, *, repo_type: str = "model") -> dict[str, str]:
        with self._lock:
            return dict(self._repo_or_raise(repo_id, repo_type).branches)

    def pull_requests(self, repo_id: str, *, repo_type: str = "model") -> dict[int, str]:
        """``{pr_number: head commit oid}`` of the PRs opened with ``create_pr=True``."""
        with self._lock:
            return dict(self._repo_or_raise(repo_id, repo_type).pull_requests)

    # -- faults --------------------------------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        status: int | None = None,
        *,
        times: int = 1,
        mode: str = "status",
        delay: float = 0.0,
        method: str | None = None,
        path_contains: str | None = None,
        message: str = "Injected failure (hub double)",
        drip_bytes: int = 1,
    ) -> None:
        """Make the next ``times`` matching requests fail.

        ``mode="status"``: answer ``status`` (500 unless given) with a JSON ``{"error": message}``.
        ``mode="drop"``: read the request, then close the connection without any answer.
        ``mode="hang"``: read the request and answer nothing until :meth:`heal` or :meth:`reset` (or ``delay``
        seconds, 600 unless given), then close the connection: a Hub that accepted the call and hangs.
        ``mode="drip"``: answer as usual, but send the answer (status line, headers and body) ``drip_bytes``
        bytes at a time (1 unless given), ``delay`` seconds apart (2 unless given), until :meth:`heal` or
        :meth:`reset`: a Hub that answers so slowly that no single read ever times out.
        ``delay``: wait that many seconds first. With ``delay`` and neither ``status`` nor ``mode="drop"``,
        the request is then answered normally (a slow answer, not an error).
        ``method`` / ``path_contains`` narrow which requests match (e.g. ``method="GET"`` on ``"resolve"``).
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        self._add_fault(endpoint, status, times, mode, delay, method, path_contains, message, drip_bytes)

    def fail_all(
        self,
        endpoint: str,
        status: int | None = None,
        *,
        mode: str = "status",
        delay: float = 0.0,
        method: str | None = None,
        path_contains: str | None = None,
        message: str = "Injected failure (hub double)",
        drip_bytes: int = 1,
    ) -> None:
        """Like :meth:`fail_next`, for every matching request until :meth:`heal`."""
        self._add_fault(endpoint, status, None, mode, delay, method, path_contains, message, drip_bytes)

    def heal(self, endpoint: str | None = None) -> None:
        """Remove the injected faults (of one endpoint, or all)."""
        with self._lock:
            self._faults = [f for f in self._faults if endpoint is not None and f.endpoint != endpoint]
            # Hung requests give up now (their clients see the connection close).
            self._wake_delays.set()
            self._wake_delays = threading.Event()

    def _add_fault(
        self,
        endpoint: str,
        status: int | None,
        times: int | None,
        mode: str,
        delay: float,
        method: str | None,
        path_contains: str | None,
        message: str,
        drip_bytes: int = 1,
    ) -> None:
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS} or '*'")
        if mode not in ("status", "drop", "hang", "drip"):
            raise ValueError("mode must be 'status', 'drop', 'hang' or 'drip'")
        if drip_bytes < 1:
            raise ValueError("drip_bytes must be >= 1")
        if mode == "hang" and not delay:
            delay = 600.0
        if mode == "drip" and not delay:
            delay = 2.0
        if mode == "status" and status is None and not delay:
            status = 500
        fault = _Fault(
            endpoint=endpoint,
            status=status,
            mode=mode,
            delay=float(delay),
            remaining=times,
            method=method.upper() if method else None,
            path_contains=path_contains,
            message=message,
            drip_bytes=drip_bytes,
        )
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, endpoint: str, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(endpoint, method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return copy.copy(fault)
        return None

    # -- recorded requests ---------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far (a copy), oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._requests.append(request)

    # -- internals -----------------------------------------------------------------------------------------------

    def _repo_or_raise(self, repo_id: str, repo_type: str) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"no {repo_type} repo {repo_id!r} on the hub double")
        return repo

    def _new_oid(self, seed: str) -> str:
        data = f"{seed}\0{next(self._oid_counter)}\0{time.time_ns()}\0".encode() + os.urandom(8)
        return hashlib.sha1(data).hexdigest()

    def _create_repo_locked(self, repo_id: str, repo_type: str, *, private: bool) -> _Repo:
        if repo_id.count("/") != 1 or not all(repo_id.split("/")):
            raise ValueError(f"repo id must be 'namespace/name', got {repo_id!r}")
        now = _now_iso()
        repo = _Repo(repo_type=repo_type, repo_id=repo_id, private=private, created_at=now)
        initial = _Commit(
            oid=self._new_oid(repo_id),
            parent=None,
            title="initial commit",
            message="",
            author="system",
            date=now,
            files={".gitattributes": DEFAULT_GITATTRIBUTES},
        )
        repo.commits[initial.oid] = initial
        repo.branches["main"] = initial.oid
        self._repos[(repo_type, repo_id)] = repo
        return repo

    def _commit_locked(
        self,
        repo: _Repo,
        branch: str,
        ops: list[tuple[str, str, bytes]],
        title: str,
        description: str,
        author: str,
        *,
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> _Commit:
        """Apply ``ops`` (``(kind, path, content)``) on top of ``branch``; with ``create_pr``, open a PR instead."""
        if branch not in repo.branches:
            pr = re.fullmatch(r"refs/pr/(\d+)", branch)
            if pr and int(pr.group(1)) in repo.pull_requests:
                base = repo.commits[repo.pull_requests[int(pr.group(1))]]
            else:
                raise _HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        else:
            base = repo.head(branch)
        if parent_commit is not None and not base.oid.startswith(parent_commit):
            raise _HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(base.files)
        for kind, path, content in ops:
            if kind == "file":
                files[path] = content
            elif kind == "deletedFile":
                if path not in files:
                    raise _HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif kind == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                doomed = [p for p in files if p.startswith(prefix)]
                if not doomed:
                    raise _HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            else:  # pragma: no cover - filtered by the handler
                raise _HubError(400, f"unsupported operation {kind}")
        commit = _Commit(
            oid=self._new_oid(repo.repo_id + title),
            parent=base.oid,
            title=title,
            message=description,
            author=author,
            date=_now_iso(),
            files=files,
        )
        repo.commits[commit.oid] = commit
        if create_pr:
            number = max(repo.pull_requests, default=0) + 1
            repo.pull_requests[number] = commit.oid
        elif branch in repo.branches:
            repo.branches[branch] = commit.oid
        else:
            repo.pull_requests[int(branch.rsplit("/", 1)[1])] = commit.oid
        return commit

    def _wait(self, seconds: float) -> None:
        with self._lock:
            event = self._wake_delays
        event.wait(seconds)


def _check_repo_type(repo_type: str) -> None:
    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")


# ---------------------------------------------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    double: HubDouble


@dataclass
class _Req:
    """What the handler parsed from one request."""

    method: str
    raw_path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: Any
    body: bytes
    user: _User | None
    token: _Token | None
    endpoint: str = "unsupported"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubDouble/1.0"
    server: _Server

    # Silence the default stderr access log.
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        double = self.server.double
        with double._lock:
            generation = double._generation
        raw_path, _, raw_query = self.path.partition("?")
        body = self._read_body()
        req = _Req(
            method=method,
            raw_path=raw_path,
            query=parse_qs(raw_query, keep_blank_values=True),
            raw_query=raw_query,
            headers=self.headers,
            body=body,
            user=None,
            token=None,
        )
        router = _Router(double, req)
        req.endpoint = router.classify()
        # Map the token to a user (its value is never stored).
        auth = self.headers.get("Authorization", "")
        bad_token = False
        if auth:
            scheme, _, value = auth.partition(" ")
            with double._lock:
                tok = double._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
                if tok is not None:
                    req.token = tok
                    req.user = double._users.get(tok.user)
            bad_token = req.user is None

        fault = double._take_fault(req.endpoint, method, raw_path)
        drip = fault if fault is not None and fault.mode == "drip" else None
        if drip is not None:
            fault = None  # answered as usual, only slowly
        if fault is not None and fault.delay > 0:
            double._wait(fault.delay)
        with double._lock:
            stale = generation != double._generation
        if stale or (fault is not None and fault.mode in ("drop", "hang")):
            # A delayed request that outlived a reset() is dropped too: it must not touch the next test's state.
            double._record(self._recorded(req, None), generation)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.status is not None:
            status, payload, headers = fault.status, {"error": fault.message}, {}
        else:
            try:
                if bad_token:
                    raise _HubError(401, INVALID_CREDENTIALS)
                status, payload, headers = router.dispatch(generation)
            except _StaleRequest:
                self.close_connection = True
                return
            except _HubError as err:
                status, payload = err.status, {"error": err.message, **err.extra}
                headers = {"X-Error-Message": err.message, **err.headers}
                if err.code:
                    headers["X-Error-Code"] = err.code
            except Exception as exc:  # a bug in the double: answer 500 with the reason
                status, payload, headers = 500, {"error": f"hub double crashed: {exc!r}"}, {}
        with double._lock:
            woken = double._wake_delays
        if drip is not None and not self._drip(status, payload, headers, method == "HEAD", drip, woken):
            double._record(self._recorded(req, None), generation)
            return
        if drip is None:
            self._send(status, payload, headers, head_only=method == "HEAD")
        double._record(self._recorded(req, status), generation)

    @staticmethod
    def _recorded(req: _Req, status: int | None) -> RecordedRequest:
        return RecordedRequest(
            method=req.method,
            path=req.raw_path,
            status=status,
            endpoint=req.endpoint,
            query=req.raw_query,
            user=req.user.name if req.user else None,
        )

    def _drip(
        self, status: int, payload: Any, headers: dict[str, str], head_only: bool, fault: _Fault, woken: threading.Event
    ) -> bool:
        """Send the whole answer ``fault.drip_bytes`` at a time, ``fault.delay`` s apart; False if cut short."""
        real_wfile, self.wfile = self.wfile, io.BytesIO()
        try:
            self._send(status, payload, headers, head_only=head_only)
            answer = self.wfile.getvalue()
        finally:
            self.wfile = real_wfile
        for start in range(0, len(answer), fault.drip_bytes):
            if woken.wait(fault.delay):  # healed or reset: hang up, as "hang" does
                break
            try:
                self.wfile.write(answer[start : start + fault.drip_bytes])
                self.wfile.flush()
            except OSError:  # the client gave up
                break
        else:
            return True
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        return False

    def _send(self, status: int, payload: Any, headers: dict[str, str], *, head_only: bool) -> None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head_only:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)


Answer = tuple[int, Any, dict[str, str]]


class _Router:
    """Maps a request onto the double's state. Raises ``_HubError`` for Hub-style errors."""

    def __init__(self, double: HubDouble, req: _Req) -> None:
        self.double = double
        self.req = req
        self.segments = [unquote(s) for s in req.raw_path.split("/")[1:]]
        self._route: tuple[str, dict[str, Any]] | None = None

    # -- classification ------------------------------------------------------------------------------------------

    def classify(self) -> str:
        self._route = self._match()
        return self._route[0]

    def _match(self) -> tuple[str, dict[str, Any]]:
        s, m = self.segments, self.req.method
        if s[:1] == ["api"]:
            if s[1:] == ["whoami-v2"]:
                return "whoami", {}
            if s[1:] == ["repos", "create"] and m == "POST":
                return "create_repo", {}
            if s[1:] == ["repos", "delete"] and m == "DELETE":
                return "delete_repo", {}
            if s[1:] == ["validate-yaml"] and m == "POST":
                return "validate_yaml", {}
            if s[1:] == ["agent-harnesses"] and m == "GET":
                return "agent_harnesses", {}
            if len(s) >= 4 and s[1] in _PLURAL_TO_TYPE:
                repo_type = _PLURAL_TO_TYPE[s[1]]
                repo_id, rest = f"{s[2]}/{s[3]}", s[4:]
                args: dict[str, Any] = {"repo_type": repo_type, "repo_id": repo_id}
                verb = rest[0] if rest else ""
                if not rest and m in ("GET", "HEAD"):
                    return "repo_info", {**args, "revision": None}
                if verb == "revision" and m in ("GET", "HEAD"):
                    return "repo_info", {**args, "revision": "/".join(rest[1:])}
                if verb == "tree" and len(rest) >= 2 and m == "GET":
                    return "tree", {**args, "revision": rest[1], "path": "/".join(rest[2:])}
                if verb == "paths-info" and m == "POST":
                    return "paths_info", {**args, "revision": "/".join(rest[1:])}
                if verb == "preupload" and m == "POST":
                    return "preupload", {**args, "revision": "/".join(rest[1:])}
                if verb == "commit" and m == "POST":
                    return "commit", {**args, "revision": "/".join(rest[1:])}
                if verb == "commits" and m == "GET":
                    return "commits", {**args, "revision": "/".join(rest[1:]) or "main"}
                if verb == "refs" and len(rest) == 1 and m == "GET":
                    return "refs", args
                if verb == "branch" and len(rest) >= 2 and m in ("POST", "DELETE"):
                    return "branch", {**args, "branch": "/".join(rest[1:])}
                if verb == "auth-check" and m == "GET":
                    return "auth_check", {**args, "write": rest[1:] == ["write"]}
                if verb == "settings" and len(rest) == 1 and m == "PUT":
                    return "repo_settings", args
            return "unsupported", {}
        if m in ("GET", "HEAD"):
            repo_type = "model"
            start = 0
            if s and s[0] in _PLURAL_TO_TYPE:
                repo_type, start = _PLURAL_TO_TYPE[s[0]], 1
            if len(s) >= start + 5 and s[start + 2] == "resolve":
                repo_id = f"{s[start]}/{s[start + 1]}"
                rest = s[start + 3 :]
                # `datasets` sends `refs/convert/parquet` and `refs/pr/1` with literal slashes.
                if len(rest) >= 4 and rest[0] == "refs" and rest[1] in ("pr", "convert", "heads"):
                    revision, path = "/".join(rest[:3]), "/".join(rest[3:])
                else:
                    revision, path = rest[0], "/".join(rest[1:])
                return "resolve", {"repo_type": repo_type, "repo_id": repo_id, "revision": revision, "path": path}
        return "unsupported", {}

    def dispatch(self, generation: int) -> Answer:
        assert self._route is not None
        endpoint, args = self._route
        handler = getattr(self, f"_ep_{endpoint}")
        with self.double._lock:
            if generation != self.double._generation:
                raise _StaleRequest
            return handler(**args)

    # -- helpers -------------------------------------------------------------------------------------------------

    @property
    def user(self) -> _User | None:
        return self.req.user

    def _json_body(self) -> Any:
        if not self.req.body:
            return {}
        try:
            return json.loads(self.req.body)
        except ValueError as exc:
            raise _HubError(400, f"Invalid JSON body: {exc}") from exc

    def _flag(self, name: str) -> bool:
        values = self.req.query.get(name)
        return bool(values) and values[-1].lower() in ("1", "true", "yes")

    def _repo_url(self, repo: _Repo) -> str:
        return f"{self.double.url}/{_URL_PREFIX[repo.repo_type]}{repo.repo_id}"

    def _is_member(self, namespace: str) -> bool:
        return self.user is not None and namespace in self.user.namespaces

    def _visible_repo(self, repo_type: str, repo_id: str) -> _Repo:
        """The repo, or the Hub's "not found" (private repos of others look like missing ones)."""
        repo = self.double._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not self._is_member(repo.namespace)):
            status = 404 if self.user is not None else 401
            raise _HubError(status, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _revision(repo: _Repo, revision: str | None) -> _Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise _HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _require_auth(self) -> _User:
        if self.user is None:
            raise _HubError(401, INVALID_CREDENTIALS)
        return self.user

    def _require_write(self, repo: _Repo, action: str) -> _User:
        user = self._require_auth()
        if repo.namespace not in user.write_namespaces:
            raise _HubError(403, f"You don't have the rights to {action} in {repo.repo_type}s/{repo.repo_id}")
        if self.req.token is None or not self.req.token.write:
            raise _HubError(403, f"Your token is read-only: you don't have the rights to {action} in {repo.repo_id}")
        return user

    def _require_pr_rights(self) -> _User:
        """Anyone with a write-role token may open a pull request on a repo they can see."""
        user = self._require_auth()
        if self.req.token is None or not self.req.token.write:
            raise _HubError(403, "You need a write token to open a pull request")
        return user

    def _check_gate(self, repo: _Repo) -> None:
        if not repo.gated or self._is_member(repo.namespace):
            return
        if self.user is not None and self.user.name in repo.granted:
            return
        kind = repo.repo_type
        if self.user is None:
            message = (
                f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be authenticated"
                " to access it. Please log in."
            )
            raise _HubError(401, message, "GatedRepo")
        message = (
            f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list. Visit"
            f" {self._repo_url(repo)} to ask for access."
        )
        raise _HubError(403, message, "GatedRepo")

    @staticmethod
    def _card_data(files: dict[str, bytes]) -> dict[str, Any] | None:
        readme = files.get("README.md")
        if readme is None:
            return None
        match = _FRONT_MATTER.match(readme.decode("utf-8", errors="replace"))
        if not match:
            return None
        try:
            import yaml
        except ImportError:  # pragma: no cover - pyyaml is a dependency of the project
            return None
        try:
            data = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    def _last_commit_of(self, repo: _Repo, head: _Commit, path: str, is_dir: bool) -> dict[str, str]:
        history = repo.history(head)
        for commit, older in itertools.zip_longest(history, history[1:]):
            if older is None:
                break
            if is_dir:
                prefix = path + "/"
                mine = {p: c for p, c in commit.files.items() if p.startswith(prefix)}
                theirs = {p: c for p, c in older.files.items() if p.startswith(prefix)}
                if mine != theirs:
                    break
            elif commit.files.get(path) != older.files.get(path):
                break
        return {"id": commit.oid, "title": commit.title, "date": commit.date}

    def _entry(self, repo: _Repo, head: _Commit, path: str, *, expand: bool) -> dict[str, Any]:
        if path in head.files:
            data = head.files[path]
            entry: dict[str, Any] = {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}
            is_dir = False
        else:
            prefix = path + "/"
            listing = "\n".join(f"{p}:{git_blob_oid(c)}" for p, c in sorted(head.files.items()) if p.startswith(prefix))
            entry = {"type": "directory", "oid": hashlib.sha1(listing.encode()).hexdigest(), "size": 0, "path": path}
            is_dir = True
        if expand:
            entry["lastCommit"] = self._last_commit_of(repo, head, path, is_dir)
        return entry

    @staticmethod
    def _folders(files: dict[str, bytes]) -> set[str]:
        folders = set()
        for path in files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folders.add("/".join(parts[:i]))
        return folders

    def _paginate(self, items: list[Any], page_size: int) -> Answer:
        cursor = self.req.query.get("cursor", ["0"])[-1]
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor != "0" else 0
        except (ValueError, binascii.Error) as exc:
            raise _HubError(400, "Invalid cursor") from exc
        page = items[start : start + page_size]
        headers: dict[str, str] = {}
        if start + page_size < len(items):
            params = {k: v[-1] for k, v in self.req.query.items() if k != "cursor"}
            params["cursor"] = base64.urlsafe_b64encode(str(start + page_size).encode()).decode()
            headers["Link"] = f'<{self.double.url}{self.req.raw_path}?{urlencode(params)}>; rel="next"'
        return 200, page, headers

    # -- endpoints -----------------------------------------------------------------------------------------------

    def _ep_unsupported(self) -> Answer:
        raise _HubError(404, f"The hub double does not implement {self.req.method} {self.req.raw_path}")

    def _ep_whoami(self) -> Answer:
        user = self._require_auth()
        token = self.req.token
        assert token is not None
        return (
            200,
            {
                "type": "user",
                "id": hashlib.sha1(user.name.encode()).hexdigest()[:24],
                "name": user.name,
                "fullname": user.fullname,
                "email": f"{user.name}@example.com",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": f"{self.double.url}/avatars/{user.name}.svg",
                "orgs": [
                    {"type": "org", "name": org, "fullname": org, "roleInOrg": "write" if token.write else "read"}
                    for org in user.orgs
                ]
                + [{"type": "org", "name": org, "fullname": org, "roleInOrg": "read"} for org in user.read_orgs],
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": token.display_name,
                        "role": "write" if token.write else "read",
                        "createdAt": "2024-01-01T00:00:00.000Z",
                    },
                },
            },
            {},
        )

    def _ep_agent_harnesses(self) -> Answer:
        # huggingface_hub fetches this registry (at most daily) to tag requests made by AI agents.
        return 200, {"standardEnvVars": [], "harnesses": {}}, {}

    def _ep_validate_yaml(self) -> Answer:
        return 200, {"errors": [], "warnings": []}, {}

    def _ep_create_repo(self) -> Answer:
        user = self._require_auth()
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise _HubError(400, f"Invalid repo type: {repo_type}")
        name = payload.get("name") or ""
        namespace = payload.get("organization") or user.name
        if not re.fullmatch(r"[\w.\-]{1,96}", name) or "--" in name or ".." in name:
            raise _HubError(400, f"Invalid repo name: {name!r}")
        if namespace not in user.write_namespaces:
            raise _HubError(
                403, f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"'
            )
        if self.req.token is None or not self.req.token.write:
            raise _HubError(403, "You don't have the rights to create a repo with a read-only token")
        repo_id = f"{namespace}/{name}"
        existing = self.double._repos.get((repo_type, repo_id))
        if existing is not None:
            # The Hub answers the url of the existing repo too (HfApi.create_repo(exist_ok=True) reads it).
            raise _HubError(409, f"You already created this {repo_type} repo", extra={"url": self._repo_url(existing)})
        private = payload.get("visibility") == "private" or payload.get("private") is True
        repo = self.double._create_repo_locked(repo_id, repo_type, private=private)
        return 200, {"url": self._repo_url(repo), "name": repo_id, "id": repo_id}, {}

    def _ep_delete_repo(self) -> Answer:
        user = self._require_auth()
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or user.name}/{payload.get('name')}"
        repo = self._visible_repo(repo_type, repo_id)
        self._require_write(repo, "delete the repo")
        del self.double._repos[(repo_type, repo_id)]
        return 200, {}, {}

    def _ep_repo_settings(self, repo_type: str, repo_id: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        self._require_write(repo, "update the settings")
        payload = self._json_body()
        if "gated" in payload:
            repo.gated = payload["gated"]
        if "visibility" in payload:
            repo.private = payload["visibility"] == "private"
        if "private" in payload:
            repo.private = bool(payload["private"])
        return 200, {}, {}

    def _ep_repo_info(self, repo_type: str, repo_id: str, revision: str | None) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        commit = self._revision(repo, revision)
        with_blobs = self._flag("blobs")
        siblings = []
        for path in sorted(commit.files):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sibling.update(size=len(commit.files[path]), blobId=git_blob_oid(commit.files[path]))
            siblings.append(sibling)
        card = self._card_data(commit.files)
        tags = []
        if card:
            card_tags = card.get("tags") or []
            tags = [str(t) for t in (card_tags if isinstance(card_tags, list) else [card_tags])]
            if card.get("license"):
                tags.append(f"license:{card['license']}")
        info: dict[str, Any] = {
            "_id": hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": tags,
            "siblings": siblings,
            "usedStorage": sum(len(c) for c in commit.files.values()),
        }
        if card is not None:
            info["cardData"] = card
        if repo_type == "model":
            info["library_name"] = (card or {}).get("library_name")
            info["pipeline_tag"] = (card or {}).get("pipeline_tag")
            info["spaces"] = []
        elif repo_type == "space":
            info["sdk"] = (card or {}).get("sdk")
        return 200, info, {}

    def _ep_tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        commit = self._revision(repo, revision)
        path = path.strip("/")
        folders = self._folders(commit.files)
        if path and path not in folders:
            raise _HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        prefix = path + "/" if path else ""
        recursive = self._flag("recursive")
        expand = self._flag("expand")
        candidates = [p for p in sorted(folders | set(commit.files)) if p.startswith(prefix)]
        if not recursive:
            candidates = [p for p in candidates if "/" not in p[len(prefix) :]]
        # Folders first, then files (the Hub's order within a level).
        candidates.sort(key=lambda p: (p not in folders, p))
        page_size = min(50, self.double.tree_page_size) if expand else self.double.tree_page_size
        status, page, headers = self._paginate(candidates, page_size)
        entries = [self._entry(repo, commit, p, expand=expand) for p in page]
        return status, entries, {**headers, "X-Repo-Commit": commit.oid}

    def _ep_paths_info(self, repo_type: str, repo_id: str, revision: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        commit = self._revision(repo, revision)
        content_type = self.req.headers.get("Content-Type", "")
        if "json" in content_type:
            payload = self._json_body()
            paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        else:
            form = parse_qs(self.req.body.decode(), keep_blank_values=True)
            paths = form.get("paths", [])
            expand = (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
        if isinstance(paths, str):
            paths = [paths]
        folders = self._folders(commit.files)
        out = []
        for raw in paths:
            path = raw.strip("/")
            if path in commit.files or path in folders:
                out.append(self._entry(repo, commit, path, expand=expand))
        return 200, out, {"X-Repo-Commit": commit.oid}

    def _ep_preupload(self, repo_type: str, repo_id: str, revision: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        create_pr = self._flag("create_pr")
        if create_pr:
            self._require_pr_rights()
        else:
            self._require_write(repo, "upload files")
        commit = self._revision(repo, revision)
        payload = self._json_body()
        files = []
        for item in payload.get("files", []):
            path = item.get("path", "")
            existing = commit.files.get(path)
            files.append(
                {
                    "path": path,
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_oid(existing) if existing is not None else None,
                }
            )
        return 200, {"files": files, "commitOid": commit.oid}, {}

    def _ep_commit(self, repo_type: str, repo_id: str, revision: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        create_pr = self._flag("create_pr")
        # Opening a PR only needs a valid token; committing to a branch needs write rights on the namespace.
        user = self._require_pr_rights() if create_pr else self._require_write(repo, "create a commit")
        header, ops = self._parse_commit_body()
        title = (header.get("summary") or "").strip()
        if not title:
            raise _HubError(400, "A commit summary is required")
        commit = self.double._commit_locked(
            repo,
            revision or "main",
            ops,
            title,
            header.get("description") or "",
            user.name,
            parent_commit=header.get("parentCommit"),
            create_pr=create_pr,
        )
        base = self._repo_url(repo)
        pr_url = None
        if create_pr:
            number = max(repo.pull_requests)
            pr_url = f"{base}/discussions/{number}"
        return (
            200,
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{base}/commit/{commit.oid}",
                "pullRequestUrl": pr_url,
                "hookOutput": "",
            },
            {},
        )

    def _parse_commit_body(self) -> tuple[dict[str, Any], list[tuple[str, str, bytes]]]:
        header: dict[str, Any] = {}
        ops: list[tuple[str, str, bytes]] = []
        for line in self.req.body.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise _HubError(400, f"Invalid NDJSON line: {exc}") from exc
            key, value = item.get("key"), item.get("value") or {}
            if key == "header":
                header = value
                continue
            try:
                path = _normalize_path(value.get("path", ""))
            except ValueError as exc:
                raise _HubError(400, str(exc)) from exc
            if not path:
                raise _HubError(400, "Invalid empty path in commit operation")
            if key == "file":
                encoding = value.get("encoding", "utf-8")
                content = value.get("content", "")
                try:
                    data = base64.b64decode(content, validate=True) if encoding == "base64" else content.encode()
                except binascii.Error as exc:
                    raise _HubError(400, f"Invalid base64 content for {path}") from exc
                ops.append(("file", path, data))
            elif key in ("deletedFile", "deletedFolder"):
                ops.append((key, path, b""))
            elif key == "lfsFile":
                raise _HubError(
                    400,
                    f"The hub double cannot commit LFS pointers ({path}): its preupload answers 'regular' for all files",
                )
            else:
                raise _HubError(400, f"Unknown commit operation {key!r}")
        return header, ops

    def _ep_commits(self, repo_type: str, repo_id: str, revision: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        head = self._revision(repo, revision)
        items = [
            {
                "id": c.oid,
                "title": c.title,
                "message": c.message,
                "date": c.date,
                "authors": [{"user": c.author, "avatar": f"{self.double.url}/avatars/{c.author}.svg"}],
            }
            for c in repo.history(head)
        ]
        return self._paginate(items, 50)

    def _ep_refs(self, repo_type: str, repo_id: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        branches = [
            {"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid} for name, oid in repo.branches.items()
        ]
        out: dict[str, Any] = {"branches": branches, "converts": [], "tags": []}
        if self._flag("include_prs"):
            out["pullRequests"] = [
                {"name": str(n), "ref": f"refs/pr/{n}", "targetCommit": oid} for n, oid in repo.pull_requests.items()
            ]
        return 200, out, {}

    def _ep_branch(self, repo_type: str, repo_id: str, branch: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        if self.req.method == "DELETE":
            self._require_write(repo, "delete a branch")
            if branch not in repo.branches:
                raise _HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            if branch == "main":
                raise _HubError(403, "Cannot delete the default branch")
            del repo.branches[branch]
            return 200, {}, {}
        self._require_write(repo, "create a branch")
        if branch in repo.branches:
            raise _HubError(409, "Reference already exists")
        start = self._json_body().get("startingPoint")
        repo.branches[branch] = self._revision(repo, start).oid
        return 200, {}, {}

    def _ep_auth_check(self, repo_type: str, repo_id: str, write: bool) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        if write:
            self._require_write(repo, "write")
        else:
            self._check_gate(repo)
        return 200, {}, {}

    def _ep_resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> Answer:
        repo = self._visible_repo(repo_type, repo_id)
        commit = self._revision(repo, revision)
        self._check_gate(repo)
        data = commit.files.get(path)
        if data is None:
            raise _HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{git_blob_oid(data)}"',
            "Accept-Ranges": "bytes",
            "Content-Type": content_type,
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        }
        range_header = self.req.headers.get("Range")
        if range_header:
            span = self._byte_range(range_header, len(data))
            if span is None:
                raise _HubError(
                    416, "Requested Range Not Satisfiable", headers={"Content-Range": f"bytes */{len(data)}"}
                )
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, data[start : end + 1], headers
        return 200, data, headers

    @staticmethod
    def _byte_range(header: str, size: int) -> tuple[int, int] | None:
        match = _RANGE.match(header)
        if not match or "," in header:
            return None
        first, last = match.groups()
        if not first:
            if not last or int(last) == 0:
                return None
            return max(size - int(last), 0), size - 1
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return None
        return start, end
