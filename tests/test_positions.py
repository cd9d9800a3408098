"""ast positions, turned into character columns, find the same code in libcst's tree.

Fixes are built on the libcst node at the range an ast finding points to
(:class:`gradlint.fixing.CstIndex`); this checks that mapping on tricky layouts and on every
file of the fixtures and of gradlint itself, non-ASCII lines included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from gradlint.fixing import CstIndex
from gradlint.positions import LineIndex, split_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "gradlint").rglob("*.py"))
_MAPPED = (ast.Call, ast.Attribute, ast.Name, ast.BinOp, ast.Subscript, ast.ImportFrom, ast.alias, ast.Constant)

TRICKY = [
    "# header comment\n\n\nimport torch\n\n@decorator\n@other(1,\n  2)\ndef f(x):\n    return x\n",
    "a = 1; b = 2\nc = '''multi\nline'''\nif a:\n    pass\nelse:\n    pass\n",
    "x = (1 +\n     2)  # trailing\n\n\n# comment before\nclass C:\n    @property\n    def p(self): return 1\n",
    "\r\nimport os\r\n\r\ndef g():\r\n    return os.sep\r\n",
    "s = 'ünïcödé ✓'; n = torch._foreach_norm(gräds)  # ✓\n",
    "x = 1\n\x0cy = torch.norm(x)\n\x0c\ndef f():\n    return (1,\n            2)\n",
    "from torch import (\n    _foreach_norm as fn,  # ä\n    nn,\n)\n",
]


def _squeeze(code: str) -> str:
    return "".join(code.split())


def _check(text: str) -> int:
    tree = ast.parse(text)
    index = CstIndex(text)
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, _MAPPED) or not hasattr(node, "end_col_offset"):
            continue
        found = index.find(node)
        expected = ast.get_source_segment(text, node)
        got = cst.Module(body=[]).code_for_node(found)
        assert expected is not None
        if isinstance(node, (ast.alias, ast.Constant)):
            assert _squeeze(expected) in _squeeze(got), (expected, got)
        else:
            assert _squeeze(got).strip("()") == _squeeze(expected).strip("()"), (type(node).__name__, expected, got)
        checked += 1
    return checked


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_layouts(text: str) -> None:
    assert _check(text)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_real_files(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))


def test_line_splitting_agrees_with_the_tokenizer() -> None:
    text = "a = 1\x0c\nb\x0b = 2\r\nc = '\u2028'\rd = '\x85'\n"
    assert split_lines(text) == ["a = 1\x0c", "b\x0b = 2", "c = '\u2028'", "d = '\x85'"]
    assert len(split_lines(text)) == max(getattr(n, "end_lineno", 0) or 0 for n in ast.walk(ast.parse(text.replace("\x0b", ""))))


def test_columns_are_characters_not_bytes() -> None:
    text = "s = 'äöü'; n = norm(x)\n"
    call = next(node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call))
    start, end = LineIndex(text).span(call)
    assert (start.column, end.column) == (text.index("norm") + 1, text.index(")") + 2)
