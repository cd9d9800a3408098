"""The text triggers are the old patterns made fast: they must pass every file the plain
patterns pass (a trigger that skips a file loses its findings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradlint.rules import all_rules
from gradlint.rules._triggers import dotted_chain_before, has_self_product, literal_first

ROOT = Path(__file__).resolve().parent.parent
RULES = {rule.code: rule for rule in all_rules()}

# The plain patterns these triggers replace (slow: a leading \b is tried at every position).
SELF_PRODUCT = re.compile(r"\b([A-Za-z_][\w.]*(?:\(\))?)\s*\*\s*\1(?![\w.(])")
SQUARE = re.compile(r"\*\*|pow\(|square\(|" + SELF_PRODUCT.pattern)
# A gradient, a norm or a root (GL001 reports a root of any tensors' squared sums).
GL001_WORDS = re.compile(r"grad|norm|sqrt|pow|\*\*[\s(+-]*(?:\d[\d_]*)?(?:\.|[eE]|\s*/)")
DIRECT = re.compile(
    r"\btorch(?:\.\w+)*\._[A-Za-z0-9]"
    r"|\bfrom\s+torch[\w.]*\s+import\s*\(?[^)\n]*(?:\n[^)]*)?\b_[A-Za-z0-9]"
    r"|\bgetattr\(\s*[\w.]+\s*,\s*['\"]_[A-Za-z0-9]"
)
ALIAS = re.compile(r"\bimport\s+torch[\w.]*\s+as\s+(\w+)|\bfrom\s+torch[\w.]*\s+import\s+([\w\s,()]+)")


def plain_gl002(text: str) -> bool:
    if "torch" not in text:
        return False
    if DIRECT.search(text):
        return True
    names: set[str] = set()
    for match in ALIAS.finditer(text):
        names.update([match.group(1)] if match.group(1) else re.findall(r"\w+", match.group(2)))
    names -= {"import", "as"}
    return bool(names) and re.search(r"\b(?:%s)(?:\.\w+)*\._[A-Za-z0-9]" % "|".join(map(re.escape, sorted(names))), text) is not None


PRODUCTS = [
    "g * g", "p.grad * p.grad", "a.g * g", "f() * f()", "x * xy", "x * x.y", "x *x", "x\n*\nx",
    "ab * b", "1 * 1", "x.0 * 0", "x ** x", "x *= x", "_a*_a", "a.b.c * b.c", "y = x*x(",
    "self.w * self.w)", "f(*args)", "a * b * a", "x * x", "*", "x *", "* x", "grad*grad", "é * é",
]
GL002_TEXTS = [
    "import torch\ntorch._foreach_norm(x)\n", "import torch\nxtorch._x\n", "import torch as T\nT._C\n",
    "import torch.nn as nn\ny = nn.utils._x\n", "from torch import nn\nnn.functional._pad\n",
    "from torch import (\n  nn,\n  _C,\n)\n", "import torch\ngetattr(torch, '_foreach_norm')\n",
    "import torch\nself._torch._x\n", "from torch.optim import Adam as A\nA._step\n",
    "import torch\nimport torch.distributed as dist\nz = other.dist._x\n", "import torch\nx = torch.nn.functional.relu\n",
]


@pytest.mark.parametrize("text", PRODUCTS)
def test_self_product_matches_the_plain_pattern(text: str) -> None:
    assert has_self_product(text) == bool(SELF_PRODUCT.search(text))


@pytest.mark.parametrize("text", GL002_TEXTS)
def test_gl002_trigger_matches_the_plain_patterns(text: str) -> None:
    assert RULES["GL002"].may_match(text) == plain_gl002(text)


def _sources() -> list[str]:
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted((ROOT / "fixtures").rglob("*.py"))]
    for rule in all_rules():
        texts.extend(example.code for example in (*rule.VALID, *rule.INVALID))
    return texts


def test_triggers_agree_with_the_plain_patterns_on_fixtures_and_examples() -> None:
    texts = _sources()
    assert len(texts) > 100
    for text in texts:
        assert RULES["GL001"].may_match(text) == (GL001_WORDS.search(text) is not None and SQUARE.search(text) is not None), text[:200]
        assert RULES["GL002"].may_match(text) == plain_gl002(text), text[:200]


def test_literal_first_keeps_the_word_boundary() -> None:
    pattern = literal_first("torch", r"\._x")
    assert pattern.search("torch._x") and pattern.search("(torch._x")
    assert not pattern.search("mytorch._x")
    assert pattern.pattern.startswith("torch")


def test_dotted_chain_before() -> None:
    text = "y = a.b_1.c._x"
    assert dotted_chain_before(text, text.index("._x")) == "a.b_1.c"
    assert dotted_chain_before("f(x)._y", 4) == ""
