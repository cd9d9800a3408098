"""GL001 on value kinds and flow (issue 10): messages by shape, fixes without the runtime,
the hypot and single-tensor fix pairs executed, and a check path that never imports libcst."""

from __future__ import annotations

import importlib.util
import inspect
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from gradlint.config import Settings
from gradlint.fileinfo import describe_file
from gradlint.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / "fixtures" / "gl001" / "flow_shapes.py"
PAIRS = ROOT / "fixtures" / "fixes" / "gl001"


def _engine(**options: object) -> Engine:
    return Engine(replace(Settings(), select=("GL001",), options=options))


def _findings(text: str, **options: object):  # type: ignore[no-untyped-def]
    result = _engine(**options).check_text(text, describe_file("example.py"))
    return [finding for finding in result.findings if finding.code == "GL001"]


def _by_line(path: Path, **options: object) -> dict[int, str]:
    result = _engine(**options).check_text(path.read_text(encoding="utf-8"), describe_file(str(path)))
    return {f.location.row: f.message for f in result.findings if f.code == "GL001"}


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ('"sq": torch.stack(per_tensor).pow(2).sum()', "leaves the function"),
        ("squared_total=(stacked**2).sum()", "leaves the function"),
        ("self.host_sq = sum(", "leaves the function"),
        ("acc = acc + p.grad.square().sum()", "leaves the function"),
        ("acc += (p.grad**2).sum().item()", "N host syncs"),
        ("return math.sqrt(a * a + b * b)", "math.hypot"),
        ("return torch.sqrt(left**2 + right**2)", "total_norm([a, b])"),
        ("acc.add_(p.grad.pow(2).sum())", "by hand from squares"),
        ("sq = sum(p.grad.norm() ** 2 for p in params", "by hand from squares"),
    ],
)
def test_message_names_the_shape(needle: str, expected: str) -> None:
    messages = _by_line(FLOW)
    line = _line_of(FLOW, needle)
    assert expected in messages[line]


def test_messages_are_short() -> None:
    folder = ROOT / "fixtures" / "gl001"
    messages = [m for path in folder.glob("*.py") for m in _by_line(path).values()]
    messages += [m for path in folder.glob("*.py") for m in _by_line(path, **{"runtime-available": False}).values()]
    assert messages and max(len(m) for m in messages) < 80


def test_escaping_squared_total_has_no_fix_and_roots_elsewhere_are_not_reported_twice() -> None:
    text = (
        "import torch\n"
        "class Tracker:\n"
        "    def observe(self, model):\n"
        "        self.sq = sum(p.grad.pow(2).sum() for p in model.parameters())\n"
        "    def total(self):\n"
        "        return self.sq ** 0.5\n"
    )
    findings = _findings(text)
    assert [f.location.row for f in findings] == [4]
    assert findings[0].fix is None


def test_a_division_by_the_count_or_an_epsilon_stays_silent_whatever_the_names() -> None:
    for root in ("(grad_sq / count).sqrt()", "torch.sqrt(grad_sq + 1e-8)"):
        text = (
            "import torch\n"
            "def f(model, count):\n"
            "    grad_sq = sum(p.grad.pow(2).sum() for p in model.parameters())\n"
            f"    return {root}\n"
        )
        assert not _findings(text)


def test_neutral_names_are_found_from_kinds() -> None:
    text = (
        "import torch\n"
        "def f(model: torch.nn.Module):\n"
        "    xs = [p.grad for p in model.parameters()]\n"
        "    s = 0.0\n"
        "    for x in xs:\n"
        "        s += x.float().pow(2).sum()\n"
        "    return s ** 0.5\n"
    )
    assert [f.location.row for f in _findings(text)] == [6]


def test_without_the_runtime_only_the_self_contained_fix_remains() -> None:
    off = {"runtime-available": False}
    engine = _engine(**off)
    info = describe_file("example.py")
    text = (
        "import math\n"
        "def f(grads, host, seed):\n"
        "    a = host.grad.norm().item()\n"
        "    b = seed.grad.norm().item()\n"
        "    total = sum((g * g).sum() for g in grads).sqrt()\n"
        "    return total, math.sqrt(a * a + b * b)\n"
    )
    findings = [f for f in engine.check_text(text, info).findings if f.code == "GL001"]
    assert sorted(f.location.row for f in findings) == [5, 6]
    fixed, applied, errors = engine.fix_text(text, info, unsafe=True)
    assert not errors and applied == 1
    assert "gradlint_runtime" not in fixed and "math.hypot(a, b)" in fixed
    # With the runtime, both are fixed.
    fixed, applied, _ = _engine().fix_text(text, info, unsafe=True)
    assert applied == 2 and "gradlint_runtime.total_norm([g.detach() for g in grads])" in fixed


def test_the_check_path_never_imports_libcst() -> None:
    """GL001's check (the model walk, the analysis, the fix descriptions) with libcst blocked."""
    code = (
        "import ast, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'libcst' or name.startswith('libcst.'):\n"
        "            raise ImportError('libcst blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from gradlint.fileinfo import describe_file\n"
        "from gradlint.rules.gl001_manual_norm import ManualNorm\n"
        "from gradlint.semantic.model import SemanticModel\n"
        "from gradlint.semantic.walker import DispatchTable, analyse\n"
        f"path = {str(FLOW)!r}\n"
        "text = open(path, encoding='utf-8').read()\n"
        "rule = ManualNorm()\n"
        "model = SemanticModel(ast.parse(text), text, path)\n"
        "rule.begin_file(model, describe_file(path))\n"
        "analyse(model, DispatchTable([rule]))\n"
        "rule.end_file()\n"
        "assert len(rule.reports) >= 15 and any(r.fix is not None for r in rule.reports)\n"
        "print('libcst' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- executed fixes --------------------------------------------------------------------------

torch = pytest.importorskip("torch")
pytest.importorskip("gradlint_runtime")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("gl001_pair_" + path.name.replace(".", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(module: ModuleType, prefix: str) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and name.startswith(prefix)
    ]


def _grads(scale: float, dtype=None):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    shapes = [(4, 5), (4,), (3, 4), (3,)]
    return [torch.randn(shape, dtype=dtype or torch.float32) * scale for shape in shapes]


HYPOT = [(_load(PAIRS / "hypot.in.py"), _load(PAIRS / "hypot.out.py"), name) for name in _functions(_load(PAIRS / "hypot.in.py"), "norms_")]
SINGLE = [(_load(PAIRS / "single.in.py"), _load(PAIRS / "single.out.py"), name) for name in _functions(_load(PAIRS / "single.in.py"), "single_")]


def _hypot_reference(name: str, first, second, scale: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    parts = [torch.cat([g.double().flatten() for g in first]), torch.cat([g.double().flatten() for g in second])]
    if name == "norms_three":
        parts.append(second[0].double().flatten())
    return float(torch.linalg.vector_norm(torch.cat(parts) / scale)) * scale


@pytest.mark.parametrize(("original", "fixed", "name"), HYPOT, ids=[n for _, _, n in HYPOT])
def test_hypot_fix_gives_the_same_numbers(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    grads = _grads(1.0)
    first, second = grads[:2], grads[2:]
    before = getattr(original, name)(first, second)
    after = getattr(fixed, name)(first, second)
    assert isinstance(after, float) and isinstance(before, float)
    assert after == pytest.approx(before, rel=1e-12)
    assert after == pytest.approx(_hypot_reference(name, first, second), rel=1e-6)


@pytest.mark.parametrize(("original", "fixed", "name"), HYPOT, ids=[n for _, _, n in HYPOT])
def test_hypot_fix_is_finite_where_the_squares_overflowed(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    # Each norm is finite in float64 (24 elements of c: 1.2e308 squared), their squares' sum is not.
    c = math.sqrt(5e306)
    first = [torch.full((4, 5), c, dtype=torch.float64), torch.full((4,), c, dtype=torch.float64)]
    second = [torch.full((4, 5), c, dtype=torch.float64), torch.full((4,), c, dtype=torch.float64)]
    assert math.isinf(getattr(original, name)(first, second))
    after = getattr(fixed, name)(first, second)
    assert math.isfinite(after)
    assert after == pytest.approx(_hypot_reference(name, first, second, scale=c), rel=1e-9)


@pytest.mark.parametrize(("original", "fixed", "name"), SINGLE, ids=[n for _, _, n in SINGLE])
@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_single_norm_fix(original, fixed, name, scale: float) -> None:  # type: ignore[no-untyped-def]
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in _grads(1.0)]
    for p, g in zip(params, _grads(scale)):
        p.grad = g
    expected = float(torch.linalg.vector_norm(params[0].grad.double()))
    before = getattr(original, name)(params)
    after = getattr(fixed, name)(params)
    assert type(after) is type(before)
    if scale == 1.0:
        assert float(after) == pytest.approx(float(before), rel=1e-5)
    else:
        assert math.isinf(float(before))
    assert float(after) == pytest.approx(expected, rel=1e-5)


WEIGHTS = [(_load(PAIRS / "weights.in.py"), _load(PAIRS / "weights.out.py"), name) for name in _functions(_load(PAIRS / "weights.in.py"), "weights_")]


@pytest.mark.parametrize(("original", "fixed", "name"), WEIGHTS, ids=[n for _, _, n in WEIGHTS])
def test_weight_norm_fix_sums_the_weights_not_their_gradients(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    params = [torch.nn.Parameter(g) for g in _grads(1.0)]
    for p in params:
        p.grad = torch.full_like(p, 7.0)  # a different value: the fix must not read it
    expected = float(torch.linalg.vector_norm(torch.cat([p.detach().double().flatten() for p in params])))
    before = getattr(original, name)(params)
    after = getattr(fixed, name)(params)
    assert float(before) == pytest.approx(expected, rel=1e-5)
    assert float(after) == pytest.approx(expected, rel=1e-5)
