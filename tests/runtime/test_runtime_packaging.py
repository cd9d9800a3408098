"""The distribution depends on torch only and never drags in the linter's dependencies."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import gradlint_runtime
import tomllib

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def test_installed_metadata_depends_on_torch_only() -> None:
    requires = importlib.metadata.requires("gradlint-runtime") or []
    assert [r for r in requires if "extra ==" not in r] == ["torch>=2.1"]


def test_pyproject_declares_torch_only() -> None:
    project = tomllib.loads((RUNTIME / "pyproject.toml").read_text())["project"]
    assert project["name"] == "gradlint-runtime"
    assert project["dependencies"] == ["torch>=2.1"]


def test_ships_py_typed() -> None:
    assert (Path(gradlint_runtime.__file__).parent / "py.typed").is_file()


def test_import_leaves_libcst_and_click_out() -> None:
    code = "import sys, gradlint_runtime; print(sorted(m for m in ('libcst', 'click') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_is_exported() -> None:
    for name in gradlint_runtime.__all__:
        assert hasattr(gradlint_runtime, name), name
    for name in (
        "foreach_norm",
        "norm",
        "total_norm",
        "clip_grad_norm",
        "infer_device",
        "GradientCollector",
        "DualGradientCollector",
        "collect_dual_async",
    ):
        assert name in gradlint_runtime.__all__
