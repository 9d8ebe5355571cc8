"""What a push to a Hugging Face Space checks: the README front matter and how binary files travel."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_short_description_fits_the_hubs_limit():
    description = front_matter()["short_description"]
    assert 0 < len(description) <= 60, (len(description), description)


def test_the_space_runs_a_python_that_transformers_supports():
    assert front_matter()["python_version"] in ("3.11", "3.12", "3.13")


def test_screenshots_reach_the_space_through_the_upload_api_not_git_history():
    workflow = (ROOT / ".github" / "workflows" / "sync-to-space.yml").read_text(encoding="utf-8")
    commands = [line.strip() for line in workflow.splitlines()]
    assert not any(line.startswith("git push") for line in commands)  # the Hub refuses PNG blobs in git history
    script = (ROOT / "scripts" / "deploy_space.py").read_text(encoding="utf-8")
    assert "upload_folder" in script and 'repo_type="space"' in script  # tests/test_deploy.py runs it
    attributes = (ROOT / ".gitattributes").read_text(encoding="utf-8")
    assert "*.png binary" in attributes
    assert list((ROOT / "docs" / "screenshots").glob("*.png")), "the README shows screenshots from docs/screenshots"
