"""The libcst lookup behind every fix: positions measured per top-level statement must find
exactly the node a whole-module position pass finds, for every ast node of real-looking code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gradlint.fixing import _COUNTERPARTS, CstIndex, FixError, apply_fixes
from gradlint.rule import Fix, NodeEdit

ROOT = Path(__file__).resolve().parent.parent

# Shapes where the two trees line up differently: several statements on one line, decorators
# with comments between them, a form feed before a statement, nested blocks at module level,
# an async def, a class whose body holds the node, a docstring, a trailing comment.
TRICKY = (
    '"""Module docstring."""\n'
    "import torch; import math\n"
    "\n"
    "# a comment before a decorated function\n"
    "@torch.no_grad()\n"
    "# between decorators\n"
    "@staticmethod\n"
    "def total(grads, p=2.0):\n"
    "    return math.sqrt(sum((g ** 2).sum() for g in grads))\n"
    "\x0c\n"
    "if torch.cuda.is_available():\n"
    "    for step in range(3):\n"
    "        x = step * 2; y = x ** 2\n"
    "else:\n"
    "    x = 0\n"
    "\n"
    "class Clipper:\n"
    "    limit = 1.0\n"
    "\n"
    "    async def clip(self, grads):\n"
    "        return [g * self.limit for g in grads]\n"
    "\n"
    "value = total([torch.ones(3)])  # trailing comment\n"
)


def _whole_module(index: CstIndex) -> CstIndex:
    index._groups = [(1, 1, None)]
    index._starts = [1]
    index._located = {}
    return index


def _sources() -> list[tuple[str, str]]:
    files = sorted((ROOT / "fixtures").rglob("*.py"))
    sources = [("tricky", TRICKY)]
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        sources.append((str(path.relative_to(ROOT)), text))
    return sources


@pytest.mark.parametrize(("name", "text"), _sources(), ids=lambda value: value if len(value) < 60 else None)
def test_statement_positions_find_what_module_positions_find(name: str, text: str) -> None:
    tree = ast.parse(text)
    local = CstIndex(text, tree)
    whole = _whole_module(CstIndex(text, tree))
    if name == "tricky":
        assert [body for _, _, body in local._groups] == list(range(len(local.module.body)))
    # Identity only holds within one parse: compare the code each lookup found, and that
    # both either find a node or refuse.
    compared = 0
    for node in ast.walk(tree):
        if type(node) not in _COUNTERPARTS or not hasattr(node, "lineno"):
            continue
        try:
            expected = whole.module.code_for_node(whole.find(node))
        except FixError:
            expected = None
        try:
            found = local.module.code_for_node(local.find(node))
        except FixError:
            found = None
        assert found == expected, (name, type(node).__name__, node.lineno, node.col_offset)
        compared += 1
    assert compared > 0 or not tree.body


def test_a_fix_rewrites_only_its_statement_and_keeps_the_rest_byte_for_byte() -> None:
    tree = ast.parse(TRICKY)
    square = next(node for node in ast.walk(tree) if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and node.lineno == 13)
    import libcst as cst

    fix = Fix("safe", "use the precomputed square", (NodeEdit(square, lambda old: cst.parse_expression("y_sq")),))
    fixed = apply_fixes(CstIndex(TRICKY, tree), [fix])
    assert fixed == TRICKY.replace("y = x ** 2", "y = y_sq")
    compile(fixed, "tricky.py", "exec")


def test_without_a_tree_the_index_parses_one() -> None:
    tree = ast.parse(TRICKY)
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "total")
    index = CstIndex(TRICKY)
    assert index.module.code_for_node(index.find(call)) == "total([torch.ones(3)])"
