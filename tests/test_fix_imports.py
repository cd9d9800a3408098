"""Imports added by fixes land where isort puts them (ruff's I001 stays quiet)."""

from __future__ import annotations

import libcst as cst
import pytest

from gradlint.fix_imports import add_imports
from gradlint.rule import ImportSpec

CASES = {
    "third-party-sorted-before": (
        "import torch\nfrom torch import nn\n\nx = 1\n",
        [ImportSpec("gradlint_runtime")],
        "import gradlint_runtime\nimport torch\nfrom torch import nn\n\nx = 1\n",
    ),
    "after-future-and-stdlib": (
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\nimport torch\n',
        [ImportSpec("gradlint_runtime")],
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\nimport gradlint_runtime\nimport torch\n',
    ),
    "new-stdlib-group-between": (
        "from __future__ import annotations\n\nimport torch\n",
        [ImportSpec("math")],
        "from __future__ import annotations\n\nimport math\n\nimport torch\n",
    ),
    "straight-before-from-in-a-group": (
        "import numpy\nfrom torch import nn\n",
        [ImportSpec("torch")],
        "import numpy\nimport torch\nfrom torch import nn\n",
    ),
    "name-joins-its-from-line": (
        "import os\nfrom typing import Any\n",
        [ImportSpec("typing", "Optional")],
        "import os\nfrom typing import Any, Optional\n",
    ),
    "no-import-block": (
        '"""Doc."""\nx = 1\n',
        [ImportSpec("math")],
        '"""Doc."""\n\nimport math\n\nx = 1\n',
    ),
    "already-there": ("import math\n", [ImportSpec("math")], "import math\n"),
    "local-group-stays-last": (
        "import torch\n\nfrom . import util\n",
        [ImportSpec("gradlint_runtime")],
        "import gradlint_runtime\nimport torch\n\nfrom . import util\n",
    ),
}


@pytest.mark.parametrize(("source", "specs", "expected"), CASES.values(), ids=CASES.keys())
def test_added_import_is_where_isort_puts_it(source: str, specs: list[ImportSpec], expected: str) -> None:
    assert add_imports(cst.parse_module(source), specs).code == expected


@pytest.mark.parametrize("source", [case[0] for case in CASES.values()], ids=CASES.keys())
def test_ruff_agrees(source: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ruff = pytest.importorskip("ruff")
    import subprocess
    import sys

    specs = CASES[next(name for name, case in CASES.items() if case[0] == source)][1]
    path = tmp_path / "m.py"
    path.write_text(add_imports(cst.parse_module(source), specs).code)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I", "--no-cache", "--output-format", "concise", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout
