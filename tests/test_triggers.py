"""The text triggers must pass every file their rule reports on (a trigger that skips a file
loses its findings). GL001's are the old plain patterns made fast and must agree with them;
GL002's is checked against the rule itself, because the plain patterns both missed files
(whitespace inside a dotted name, ``torch._``) and passed far too many."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradlint.rules import all_rules
from gradlint.rules._triggers import (
    chain_words_before,
    dotted_chain_before,
    has_self_product,
    import_clause,
    literal_first,
)
from gradlint.testing import rule_findings

ROOT = Path(__file__).resolve().parent.parent
RULES = {rule.code: rule for rule in all_rules()}

# The plain patterns these triggers replace (slow: a leading \b is tried at every position).
SELF_PRODUCT = re.compile(r"\b([A-Za-z_][\w.]*(?:\(\))?)\s*\*\s*\1(?![\w.(])")
SQUARE = re.compile(r"\*\*|pow\(|square\(|" + SELF_PRODUCT.pattern)
# A gradient, a norm or a root (GL001 reports a root of any tensors' squared sums).
GL001_WORDS = re.compile(r"grad|norm|sqrt|pow|\*\*[\s(+-]*(?:\d[\d_]*)?(?:\.|[eE]|\s*/)")
PRODUCTS = [
    "g * g", "p.grad * p.grad", "a.g * g", "f() * f()", "x * xy", "x * x.y", "x *x", "x\n*\nx",
    "ab * b", "1 * 1", "x.0 * 0", "x ** x", "x *= x", "_a*_a", "a.b.c * b.c", "y = x*x(",
    "self.w * self.w)", "f(*args)", "a * b * a", "x * x", "*", "x *", "* x", "grad*grad", "é * é",
]
# Files GL002 reports on, in every spelling Python allows between the parts of a name.
GL002_REPORTED = [
    "import torch\ntorch._foreach_norm(x)\n", "import torch as T\nT._C\n",
    "import torch.nn as nn\ny = nn.utils._x\n", "from torch import nn\nnn.functional._pad\n",
    "from torch import (\n  nn,\n  _C,\n)\n", "import torch\ngetattr(torch, '_foreach_norm')\n",
    "from torch.optim import Adam as A\nA._step\n",
    # Found by the long fuzz profile: whitespace inside the module path, and a bare ``_``.
    "from torch\x0c.optim.lr_scheduler import _LRScheduler\n",
    "from torch.optim\x0c.lr_scheduler import _LRScheduler\n",
    "import torch\nv = torch._\n",
    "import torch\nv = torch.__x\n", "import torch\nv = torch . _C\n", "import torch\nv = torch\\\n._C\n",
    "import torch\nv = (torch  # the module\n     ._C)\n", "import torch\nv = (torch\n     .nn\n     ._x)\n",
    "from torch import nn, \\\n    F\nF._x\n", "import os, torch.nn as nn\nnn._x\n",
    "import torch.nn as nn\ny = (nn  # see f(x)\n  ._x)\n", "from torch import (a,  # f()\n _b)\n",
    "import torch\ngetattr(torch, '''_x''')\n", "import torch\ngetattr(torch, r'_x')\n",
    "from torch import _\n", "from  torch . nn  import  _reduction\n",
]
# Files it cannot report on, which the trigger should skip (the speed of the common case).
GL002_SKIPPED = [
    "import torch\nxtorch._x\n", "import torch\nself._torch._x\n", "import torch\nx = torch.__version__\n",
    "import torch\nx = torch.nn.functional.relu\n",
    "from torch.nn import Module\n\n\nclass A:\n    def f(self):\n        return self._x\n",
    "import torch\n" + "#" * 5000 + "\ngetattr(x, y)\n",
]


def gl002_reports(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    with monkeypatch.context() as patch:
        patch.setattr(RULES["GL002"], "may_match", classmethod(lambda cls, text: True))
        return bool(rule_findings(RULES["GL002"], text, "sample.py", {}))


@pytest.mark.parametrize("text", PRODUCTS)
def test_self_product_matches_the_plain_pattern(text: str) -> None:
    assert has_self_product(text) == bool(SELF_PRODUCT.search(text))


@pytest.mark.parametrize("text", GL002_REPORTED)
def test_gl002_trigger_passes_what_the_rule_reports(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gl002_reports(text, monkeypatch)
    assert RULES["GL002"].may_match(text)


@pytest.mark.parametrize("text", GL002_SKIPPED)
def test_gl002_trigger_skips_what_the_rule_cannot_report(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not gl002_reports(text, monkeypatch)
    assert not RULES["GL002"].may_match(text)


def _sources() -> list[str]:
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted((ROOT / "fixtures").rglob("*.py"))]
    for rule in all_rules():
        texts.extend(example.code for example in (*rule.VALID, *rule.INVALID))
    return texts


def test_triggers_pass_every_fixture_and_example_their_rule_reports_on(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _sources()
    assert len(texts) > 100
    for text in texts:
        assert RULES["GL001"].may_match(text) == (GL001_WORDS.search(text) is not None and SQUARE.search(text) is not None), text[:200]
        if not RULES["GL002"].may_match(text):
            assert not gl002_reports(text, monkeypatch), text[:200]


def test_literal_first_keeps_the_word_boundary() -> None:
    pattern = literal_first("torch", r"\._x")
    assert pattern.search("torch._x") and pattern.search("(torch._x")
    assert not pattern.search("mytorch._x")
    assert pattern.pattern.startswith("torch")


def test_dotted_chain_before() -> None:
    text = "y = a.b_1.c._x"
    assert dotted_chain_before(text, text.index("._x")) == "a.b_1.c"
    assert dotted_chain_before("f(x)._y", 4) == ""


def test_chain_words_before_reads_across_gaps() -> None:
    text = "y = (nn \\\n .functional\n ._x)"
    assert chain_words_before(text, text.index("._x")) == ["nn", "functional"]
    text = "y = (nn  # a comment\n ._x)"
    assert "nn" in chain_words_before(text, text.index("._x"))
    assert chain_words_before("f(x)._y", 4) == []


def test_import_clause_stops_where_the_statement_ends() -> None:
    assert import_clause("from torch import a, b\nc = 1\n", 17).split() == ["a,", "b"]
    assert import_clause("from torch import (a,  # f()\n  _b)\nc = 1\n", 17).split() == ["(a,", "_b)"]
    assert import_clause("from torch import a, \\\r\n  b\nc\n", 17).split() == ["a,", "\\", "b"]
