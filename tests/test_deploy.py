"""Deploying to a Space (scripts/deploy_space.py): a snapshot commit whose whole history holds no binary blob.

The Hub refuses binary files sent through plain git in any commit of the pushed history; a bare repository
with a pre-receive hook that does the same stands in for the Space's git. The commit is built in a temporary
clone of this repository, so nothing is written to the repository itself.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "deploy_space.py"

# The Hub's check, as a hook: every blob reachable from a pushed commit must be text.
HOOK = f"""#!{sys.executable}
import subprocess, sys
for line in sys.stdin:
    old, new, ref = line.split()
    listing = subprocess.run(["git", "rev-list", "--objects", new], capture_output=True, text=True, check=True)
    for entry in listing.stdout.splitlines():
        oid, _, path = entry.partition(" ")
        if subprocess.run(["git", "cat-file", "-t", oid], capture_output=True, text=True).stdout.strip() != "blob":
            continue
        data = subprocess.run(["git", "cat-file", "blob", oid], capture_output=True, check=True).stdout
        if b"\\0" in data[:8000]:
            print(f"Your push was rejected because it contains binary files: {{path}}", file=sys.stderr)
            sys.exit(1)
"""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


def load_script():
    if "deploy_space" not in sys.modules:
        spec = importlib.util.spec_from_file_location("deploy_space", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["deploy_space"] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["deploy_space"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("deploy") / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def snap(clone):
    return load_script().snapshot(clone, "HEAD")


def binary_blobs(repo: Path, commit: str) -> list[str]:
    deploy = load_script()
    found = []
    for entry in git(repo, "rev-list", "--objects", commit).stdout.splitlines():
        oid, _, path = entry.partition(" ")
        if git(repo, "cat-file", "-t", oid).stdout.strip() != "blob":
            continue
        data = subprocess.run(["git", "cat-file", "blob", oid], cwd=repo, capture_output=True, check=True).stdout
        if deploy.is_binary(data):
            found.append(path)
    return found


def test_this_history_holds_binary_blobs_and_the_deploy_commits_holds_none(clone, snap):
    assert binary_blobs(clone, "HEAD"), "the problem this script solves: PNG versions in the history"
    assert git(clone, "rev-list", "--count", snap.commit).stdout.strip() == "1"  # no parent: its own history
    assert binary_blobs(clone, snap.commit) == []
    files = git(clone, "ls-tree", "-r", "--name-only", snap.commit).stdout.splitlines()
    assert {
        "app.py",
        "requirements.txt",
        "README.md",
        "trainer_core/jobs.py",
        "trainer_core/examples/sentiment.csv",
    } <= set(files)
    assert not [f for f in files if f.startswith(("tests/", "bench/", ".github/", ".ci/", "scripts/"))]
    assert {"docs/screenshots/train.png", "docs/screenshots/demo.png"} <= set(snap.binaries)
    assert git(clone, "status", "--porcelain").stdout == ""  # the clone's files and branches are untouched


def test_a_remote_that_refuses_binaries_like_the_hub_takes_the_deploy_commit_not_this_history(clone, snap, tmp_path):
    space = tmp_path / "space.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(space)], check=True)
    hook = space / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)

    refused = git(clone, "push", str(space), "HEAD:refs/heads/main", check=False)
    assert refused.returncode != 0 and "binary files" in refused.stderr  # a manual `git push` of this history

    load_script().push(clone, snap, str(space), token=None)
    assert git(space, "rev-parse", "main").stdout.strip() == snap.commit
    load_script().push(clone, snap, str(space), token=None)  # a second deploy replaces it: forced, no merge


def test_the_binary_files_reach_the_space_through_the_upload_api(clone, snap, hub):
    from hub_double import ALICE_TOKEN

    hub.create_repo("alice/trainer-studio", repo_type="space")
    load_script().upload(clone, snap, "alice/trainer-studio", ALICE_TOKEN, everything=False)
    files = hub.files("alice/trainer-studio", repo_type="space")
    assert set(snap.binaries) <= set(files)
    assert files["docs/screenshots/train.png"].startswith(b"\x89PNG")

    hub.create_repo("alice/via-api", repo_type="space")
    load_script().upload(clone, snap, "alice/via-api", ALICE_TOKEN, everything=True)
    files = hub.files("alice/via-api", repo_type="space")
    assert {"app.py", "README.md", "docs/screenshots/train.png"} <= set(files)
    assert not [f for f in files if f.startswith("tests/")]


def test_the_github_workflow_deploys_with_the_same_script():
    workflow = (ROOT / ".github" / "workflows" / "sync-to-space.yml").read_text(encoding="utf-8")
    commands = [line.strip() for line in workflow.splitlines()]
    assert not any(line.startswith("git push") for line in commands)
    assert any(line.startswith("python scripts/deploy_space.py") and "--via api" in line for line in commands)
