"""Helpers for the linter tests: run the command line in-process, build throwaway projects.

A plain module (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

# A finding with a safe fix, one without a fix, and clean code.
FIXABLE = "import torch\n\nnorms = torch._foreach_norm(grads, 2.0)\n"
# FIXABLE fixed in a project that declares gradlint-runtime (``Project.declare_runtime``)...
FIXABLE_FIXED = "import gradlint_runtime\nimport torch\n\nnorms = gradlint_runtime.foreach_norm(grads, 2.0)\n"
# ... and in one that does not: the torch-only form.
FIXABLE_FIXED_TORCH_ONLY = (
    "import torch\n\nnorms = torch._foreach_norm(grads, 2.0) if hasattr(torch, \"_foreach_norm\") "
    "else [torch.linalg.vector_norm(t, 2.0) for t in grads]\n"
)
RUNTIME_PYPROJECT = '[project]\nname = "demo"\nversion = "0"\ndependencies = ["gradlint-runtime"]\n\n[tool.gradlint]\n'

UNFIXABLE = "import torch\n\nstate = torch._C._get_tracing_state()\n"
CLEAN = "import torch\n\nnorm = torch.linalg.vector_norm(x)\n"


@dataclass(frozen=True, slots=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, input: bytes | str | None = None) -> CliResult:
    """Invoke ``gradlint ARGS`` in this process (the working directory is the caller's)."""
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_subprocess(args: Sequence[str], cwd: Path | str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m gradlint ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gradlint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


class Project:
    """A temporary directory that is also the working directory of the test."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def declare_runtime(self) -> Path:
        """A pyproject that depends on gradlint-runtime: fixes may then import it."""
        return self.write("pyproject.toml", RUNTIME_PYPROJECT)

    def config(self, body: str) -> Path:
        return self.write("pyproject.toml", "[tool.gradlint]\n" + body)

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    # Keep a developer's own settings from leaking into the run.
    monkeypatch.delenv("GRADLINT_DEBUG", raising=False)
    return Project(root)


def finding_lines(stdout: str) -> list[str]:
    """``path:row:col: CODE`` for each text-format finding line."""
    lines = []
    for line in stdout.splitlines():
        head, _, rest = line.partition(": ")
        if rest[:2] == "GL" and head.count(":") >= 2:
            lines.append(f"{head}: {rest.split()[0]}")
    return lines


def posix(path: str | os.PathLike[str]) -> str:
    return str(path).replace(os.sep, "/")
