"""Jupyter notebooks: code cells checked (magics skipped), ``cell N`` positions, the notebook
path in JSON, fixes written into the cells with the notebook's JSON formatting kept."""

from __future__ import annotations

import json
from typing import Any

from cli_support import Project, finding_lines, run_cli


def _notebook(*cells: tuple[str, str]) -> dict[str, Any]:
    return {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
             **({"execution_count": None, "outputs": []} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _write(project: Project, name: str, data: dict[str, Any]) -> str:
    # Jupyter's own layout: one-space indent, non-ASCII kept, a final newline.
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    project.write(name, text)
    return text


NOTEBOOK = _notebook(
    ("markdown", "# Grad norms ünïcode\nNot code: torch._foreach_norm(grads)\n"),
    ("code", "import torch\n"),
    ("code", "%time warm = 1\n!nvidia-smi\nnorms = torch._foreach_norm(grads, 2.0)\nstate = torch._C._get_tracing_state()"),
    ("code", "%%bash\necho torch._foreach_norm\n"),
    ("code", "def f(x):\n    if x:\n        %time y = 1\n    return torch._C._foo()\n"),
)


def test_findings_in_cells(project: Project) -> None:
    _write(project, "train.ipynb", NOTEBOOK)
    result = run_cli("check", "-n", ".")
    assert result.code == 1
    assert finding_lines(result.stdout) == [
        "train.ipynb:cell 3:3:9: GL002",
        "train.ipynb:cell 3:4:9: GL002",
        "train.ipynb:cell 5:4:12: GL002",
    ]
    rows = json.loads(run_cli("check", "-n", "--output-format", "json", ".").stdout)
    assert [(r["cell"], r["location"]["row"]) for r in rows] == [(3, 3), (3, 4), (5, 4)]
    assert all(r["filename"].endswith("train.ipynb") for r in rows)


def test_fix_rewrites_cells_and_keeps_formatting(project: Project) -> None:
    project.declare_runtime()
    _write(project, "train.ipynb", NOTEBOOK)
    result = run_cli("check", "-n", "--fix", ".")
    assert result.code == 1, result.stdout + result.stderr  # two findings without a fix remain
    raw = project.read("train.ipynb")
    data = json.loads(raw)
    assert raw == json.dumps(data, indent=1, ensure_ascii=False) + "\n", "formatting kept"
    cells = ["".join(cell["source"]) for cell in data["cells"]]
    assert cells[0] == "".join(NOTEBOOK["cells"][0]["source"])
    assert cells[1] == "import gradlint_runtime\nimport torch\n"
    assert cells[2] == (
        "%time warm = 1\n!nvidia-smi\nnorms = gradlint_runtime.foreach_norm(grads, 2.0)\n"
        "state = torch._C._get_tracing_state()"
    )
    assert cells[3] == "%%bash\necho torch._foreach_norm\n"
    assert cells[4] == "".join(NOTEBOOK["cells"][4]["source"])
    assert data["metadata"] == NOTEBOOK["metadata"]
    # Nothing more to do the second time.
    assert run_cli("check", "-n", "--fix", ".").stdout.count("fixed") == 1
    assert project.read("train.ipynb") == raw


def test_a_notebook_that_is_not_json_is_gl000(project: Project) -> None:
    project.write("broken.ipynb", "{not json")
    result = run_cli("check", "-n", ".")
    assert finding_lines(result.stdout) == ["broken.ipynb:1:1: GL000"]


def test_syntax_error_in_a_cell_points_at_the_cell(project: Project) -> None:
    _write(project, "bad.ipynb", _notebook(("code", "x = 1\n"), ("code", "def f(:\n    pass\n")))
    assert finding_lines(run_cli("check", "-n", ".").stdout) == ["bad.ipynb:cell 2:1:7: GL000"]
