"""The install paths agree: the Space's requirements.txt, pyproject.toml, README's two commands and CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
ZEROGPU_TORCH = (Version("2.8"), Version("2.11.99"))  # the torch releases ZeroGPU documents


def _requirements(path: Path) -> dict[str, Requirement]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {(req := Requirement(line)).name.lower(): req for line in lines if line}


def test_the_space_pins_a_torch_that_zerogpu_supports():
    torch = _requirements(ROOT / "requirements.txt")["torch"]
    pinned = [spec for spec in torch.specifier if spec.operator == "=="]
    assert len(pinned) == 1, f"requirements.txt must pin one torch release for the Space, found '{torch}'"
    assert ZEROGPU_TORCH[0] <= Version(pinned[0].version) <= ZEROGPU_TORCH[1]


def test_pyproject_lists_the_space_libraries_without_the_torch_pin():
    space = _requirements(ROOT / "requirements.txt")
    project = {
        (req := Requirement(line)).name.lower(): req
        for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert project.keys() == space.keys()
    assert {name: str(req) for name, req in project.items() if name != "torch"} == {
        name: str(req) for name, req in space.items() if name != "torch"
    }
    # Any torch from 2.8 on: a CPU, CUDA or Mac build installed first is kept, and CI's 2.13 CPU build fits.
    assert not any(spec.operator == "==" for spec in project["torch"].specifier)
    assert project["torch"].specifier.contains("2.13.0") and project["torch"].specifier.contains("2.11.0")


def test_readme_ci_and_github_use_the_same_two_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set up") : readme.index("## Command line")]
    assert "pip install -e . && python app.py" in setup
    # CPU: torch alone from PyTorch's CPU index (no fallback to a CUDA build, no retries per package), then the rest.
    cpu = "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install -e . && python app.py"
    assert cpu in setup
    assert not [line for line in setup.splitlines() if line.startswith("python") and "--extra-index-url" in line]
    for case in ("CUDA", "CPU only", "Mac"):
        assert case in setup
    test_command = 'pip install -e ".[dev]" && python -m pytest'
    assert test_command in setup

    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[dev]"' in ci and "python -m pytest" in ci
    assert re.search(r"apt-get install .*chromium", ci)
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert ".ci/run" in workflow
    assert "playwright install" not in workflow, "Chromium comes from Debian everywhere, not playwright's download"
    assert "torch==2.13.0" in (ROOT / ".ci" / "constraints.txt").read_text()
