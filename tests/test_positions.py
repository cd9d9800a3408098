"""Positions computed per module-level statement must equal libcst's whole-file positions."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint.context import FileContext
from gradlint.fileinfo import FileInfo

_WHITESPACE = (
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.TrailingWhitespace,
)
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "gradlint").rglob("*.py"))

TRICKY = [
    "# header comment\n\n\nimport torch\n\n@decorator\n@other(1,\n  2)\ndef f(x):\n    return x\n",
    "a = 1; b = 2\nc = '''multi\nline'''\nif a:\n    pass\nelse:\n    pass\n",
    "x = (1 +\n     2)  # trailing\n\n\n# comment before\nclass C:\n    @property\n    def p(self): return 1\n",
    "\r\nimport os\r\n\r\ndef g():\r\n    return os.sep\r\n",
]


def _check(text: str) -> None:
    module = cst.parse_module(text)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ctx = FileContext(FileInfo("x.py", None, False), text, module)
    part = ctx.statement_positions(list(module.body), ast.parse(text))
    assert part, "no positions computed"
    checked = 0
    for node, span in part.items():
        # Zero-width whitespace at line boundaries has no meaningful place; findings are
        # never reported on it.
        if isinstance(node, _WHITESPACE):
            continue
        checked += 1
        assert full[node] == span, (type(node).__name__, full[node], span)
    assert checked


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_layouts(text: str) -> None:
    _check(text)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_real_files(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))
