"""Done-when of issue 13: ``--fix --unsafe-fixes`` on a project that does not declare the
runtime leaves code that runs with torch alone; on one that declares it, code that uses the
runtime; in both, ``ruff check --select I,F401,UP`` reports nothing the fix introduced.

The fixes themselves belong to the rule owners (GL002: engine/lead; GL001, GL003: their
owners) and read the ``runtime-available`` and ``target-version`` options the config computes
(tests/test_project_facts.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import ROOT, run_subprocess

PROJECT = ROOT / "tests" / "projects" / "adopt"
ruff = pytest.importorskip("ruff")  # test extra

PYPROJECT = '[project]\nname = "adopt"\nrequires-python = ">=3.10"\ndependencies = [{deps}]\n'
# Runs train.py with gradlint_runtime unimportable: "torch alone".
WITHOUT_RUNTIME = (
    "import runpy, sys; sys.modules['gradlint_runtime'] = None; "
    "runpy.run_path('train.py', run_name='__main__')"
)


def _fixed(tmp_path: Path, deps: str) -> Path:
    project = tmp_path / "adopt"
    shutil.copytree(PROJECT, project)
    (project / "pyproject.toml").write_text(PYPROJECT.format(deps=deps))
    result = run_subprocess(["check", "-n", "--fix", "--unsafe-fixes", "--output-format", "concise", "."], cwd=project)
    assert result.returncode in (0, 1), result.stderr
    assert "fixed" in result.stdout, result.stdout
    return project


def _ruff(project: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I,F401,UP", "--target-version", "py310",
         "--output-format", "concise", "--no-cache", "."],
        cwd=project, capture_output=True, text=True, check=False,
    )
    return [line for line in result.stdout.splitlines() if ".py:" in line]


def test_the_fixture_is_clean_under_ruff_and_runs_before_fixing() -> None:
    assert _ruff(PROJECT) == []
    run = subprocess.run([sys.executable, "-c", WITHOUT_RUNTIME], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr


def test_with_the_runtime_declared_the_fix_uses_it(tmp_path: Path) -> None:
    project = _fixed(tmp_path, '"torch", "gradlint-runtime>=0.1"')
    text = (project / "train.py").read_text()
    assert "gradlint_runtime." in text
    run = subprocess.run([sys.executable, "train.py"], cwd=project, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr


def test_without_the_runtime_the_fixed_code_runs_with_torch_alone(tmp_path: Path) -> None:
    project = _fixed(tmp_path, '"torch"')
    assert "gradlint_runtime" not in (project / "train.py").read_text()
    run = subprocess.run([sys.executable, "-c", WITHOUT_RUNTIME], cwd=project, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr


@pytest.mark.parametrize("deps", ['"torch"', '"torch", "gradlint-runtime"'], ids=["no-runtime", "runtime"])
def test_fixed_code_passes_the_projects_ruff(tmp_path: Path, deps: str) -> None:
    assert _ruff(_fixed(tmp_path, deps)) == []
