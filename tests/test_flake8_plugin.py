"""The flake8 plugin, run by the real ``flake8`` as a user would: ``flake8 --select GL``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cli_support import FIXABLE, ROOT, UNFIXABLE, Project

pytest.importorskip("flake8")

ENTRY = "gradlint.flake8_plugin:GradlintChecker"


def test_entry_point_is_declared() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["entry-points"]["flake8.extension"] == {"GL": ENTRY}


def _installed() -> bool:
    return any(
        e.name == "GL" and e.value == ENTRY for e in importlib.metadata.entry_points(group="flake8.extension")
    )


def test_flake8_select_gl(project: Project) -> None:
    project.write("pyproject.toml", '[tool.gradlint]\nper-file-ignores = { "legacy/*" = ["GL002"] }\n')
    project.write("train.py", FIXABLE)
    project.write("legacy/old.py", UNFIXABLE)
    project.write("ok.py", "x = 1  # not torch\n")
    project.write("quiet.py", UNFIXABLE.replace("()\n", "()  # noqa: GL002\n"))
    args = [sys.executable, "-m", "flake8", "--isolated", "--select", "GL", "."]
    if not _installed():
        # Not installed from this checkout (the developer's environment points elsewhere):
        # load the same class through flake8's local-plugins setting. CI installs the
        # checkout (`pip install -e .`), so there the entry point itself is exercised.
        project.write(".flake8", f"[flake8:local-plugins]\nextension =\n    GL = {ENTRY}\npaths = {ROOT}\n")
        args = [sys.executable, "-m", "flake8", "--config", ".flake8", "--select", "GL", "."]
    result = subprocess.run(args, cwd=project.root, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = sorted(result.stdout.splitlines())
    assert [line.split(" ")[0:2] for line in lines] == [["./train.py:3:9:", "GL002"]], result.stdout
    if _installed():
        version = subprocess.run(
            [sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, check=False
        ).stdout
        assert "gradlint" in version, version
