"""Deploy this repository to a Hugging Face Space in a form the Hub accepts, by git or by its upload API.

The Hub refuses binary files (the README's PNG screenshots) sent through plain git unless Xet/LFS tracks them,
in any commit of the pushed history, and this repository's history holds its screenshots as ordinary git
blobs: `git push` of a branch of it to a Space is refused. So a Space never gets this history. A deploy is one
snapshot commit with no parent: the tree of a commit (HEAD by default) without what the Space does not run
(tests, benchmarks, CI, this script) and without binary files. Those (the screenshots) then go through the
Hub's upload API, which stores them in Xet, so the README shows them on the Space too.

    python scripts/deploy_space.py USER/SPACE              # push the snapshot with git (forced), then the images
    python scripts/deploy_space.py USER/SPACE --via api    # the same files through the upload API (GitHub CI)
    python scripts/deploy_space.py USER/SPACE --dry-run    # what would go, and what would be left out

The token (write access to the Space) comes from HF_TOKEN, else from `hf auth login`; it reaches git through
its environment, never its command line or output. ``--remote`` pushes somewhere else than the Space's own
git URL (a mirror, or a local repository to look at the commit).
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Not run by the Space (the same list the GitHub workflow used to leave out).
LEFT_OUT = ("tests/", "bench/", ".ci/", ".github/", "scripts/")
BRANCH = "main"


@dataclass
class Snapshot:
    """A deploy commit: ``commit`` (no parent) holds ``files``; ``binaries`` are left to the upload API."""

    commit: str
    source: str
    files: list[str] = field(default_factory=list)
    binaries: list[str] = field(default_factory=list)


def git(repo: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **(env or {})}, input=data, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def is_binary(data: bytes) -> bool:
    """Git's own test: a NUL byte in the first 8,000 bytes (what the Hub refuses through plain git)."""
    return b"\0" in data[:8000]


def _entries(repo: Path, ref: str) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of every file of ``ref``'s tree."""
    out = []
    for record in git(repo, "ls-tree", "-r", "-z", "--full-tree", ref).split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, kind, oid = meta.decode().split()
        if kind == "blob":
            out.append((mode, oid, path.decode()))
    return out


def snapshot(repo: Path, ref: str = "HEAD") -> Snapshot:
    """Write the deploy commit of ``ref`` into ``repo``'s object store (no branch moves, no file changes)."""
    source = git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    kept, binaries = [], []
    for mode, oid, path in _entries(repo, source):
        if path.startswith(LEFT_OUT):
            continue
        if is_binary(git(repo, "cat-file", "blob", oid)):
            binaries.append(path)
            continue
        kept.append((mode, oid, path))
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        listing = "".join(f"{mode} {oid}\t{path}\0" for mode, oid, path in kept).encode()
        git(repo, "update-index", "--add", "-z", "--index-info", env=index, data=listing)
        tree = git(repo, "write-tree", env=index).decode().strip()
    author = git(repo, "log", "-1", "--format=%an%n%ae", source).decode().splitlines()
    who = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
    who |= {"GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1]}
    message = f"Deploy {source[:10]}\n\nA snapshot with no history; binary files go through the Hub's upload API."
    commit = git(repo, "commit-tree", tree, "-m", message, env=who).decode().strip()
    return Snapshot(commit, source, [path for _, _, path in kept], binaries)


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _token() -> str | None:
    token = os.environ.get("HF_TOKEN")
    if token:
        return token.strip()
    try:
        from huggingface_hub import get_token
    except ImportError:
        return None
    return get_token()


def push(repo: Path, snap: Snapshot, remote: str, token: str | None) -> None:
    """Force-push the snapshot as the remote's ``main``: each deploy replaces the Space's one commit."""
    env = {}
    if token and remote.startswith(("http://", "https://")):
        basic = base64.b64encode(f"hf:{token}".encode()).decode()
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
               "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}  # fmt: skip
    done = subprocess.run(
        ["git", "push", "--force", remote, f"{snap.commit}:refs/heads/{BRANCH}"],
        cwd=repo, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        message = done.stderr.replace(token, "hf_***") if token else done.stderr
        raise SystemExit(f"git push to the Space failed:\n{message.strip()}")


def _export(repo: Path, ref: str, paths: list[str], folder: Path) -> None:
    by_path = {path: oid for _, oid, path in _entries(repo, ref)}
    for path in paths:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git(repo, "cat-file", "blob", by_path[path]))


def upload(repo: Path, snap: Snapshot, space: str, token: str | None, *, everything: bool) -> None:
    """Through the Hub's upload API (binary files stored in Xet): the binaries only, or ``everything`` (files the
    snapshot no longer has are then deleted on the Space)."""
    from huggingface_hub import HfApi

    paths = [*snap.files, *snap.binaries] if everything else snap.binaries
    if not paths:
        return
    with tempfile.TemporaryDirectory() as scratch:
        _export(repo, snap.source, paths, Path(scratch))
        HfApi(endpoint=_endpoint(), token=token).upload_folder(
            repo_id=space,
            repo_type="space",
            folder_path=scratch,
            commit_message=f"Deploy {snap.source[:10]}" + ("" if everything else ": binary files"),
            delete_patterns=["*"] if everything else None,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("space", help="the Space to deploy to, as user/name")
    parser.add_argument("--ref", default="HEAD", help="the commit to deploy (default: HEAD)")
    parser.add_argument("--via", choices=("git", "api"), default="git", help="git push (default) or the upload API")
    parser.add_argument("--remote", help="push here instead of the Space's git URL (with --via git)")
    parser.add_argument("--no-upload", action="store_true", help="with --via git: leave the binary files out")
    parser.add_argument("--dry-run", action="store_true", help="say what would go; push nothing")
    args = parser.parse_args(argv)
    repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel").decode().strip())
    snap = snapshot(repo, args.ref)
    print(f"deploy commit {snap.commit} of {snap.source[:10]}: {len(snap.files)} files")
    if snap.binaries:
        how = "left out" if args.no_upload and args.via == "git" else "sent through the upload API (Xet)"
        print(f"binary files {how}: {', '.join(snap.binaries)}")
    if args.dry_run:
        return 0
    token = _token()
    if args.via == "api":
        upload(repo, snap, args.space, token, everything=True)
    else:
        push(repo, snap, args.remote or f"{_endpoint()}/spaces/{args.space}", token)
        if not args.no_upload:
            upload(repo, snap, args.space, token, everything=False)
    print(f"deployed to {args.space}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
