"""Fixed fixture modules compute what the originals did, and stay finite where they overflowed.

Runs every function of each ``fixtures/fixes/gl00{1,3}/*.in.py`` / ``*.out.py`` pair on the same
inputs. Functions are named by what they take: ``grads_*`` a list of gradient tensors,
``params_*`` a list of parameters with ``.grad`` set, ``model_*`` a module.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gradlint_runtime")

ROOT = Path(__file__).resolve().parents[1]
FIXES = ROOT / "fixtures" / "fixes"


def _load(path: Path) -> ModuleType:
    name = "fixture_" + path.name.replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pairs(rule: str) -> list[tuple[ModuleType, ModuleType]]:
    pairs = []
    for source in sorted((FIXES / rule).glob("*.in.py")):
        pairs.append((_load(source), _load(source.with_name(source.name.replace(".in.py", ".out.py")))))
    return pairs


def _functions(module: ModuleType) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and name.startswith(("grads_", "params_", "model_"))
    ]


def _model(scale: float) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3))
    for p in model.parameters():
        p.grad = torch.randn_like(p) * scale
    return model


def _argument(name: str, model: torch.nn.Module):  # type: ignore[no-untyped-def]
    params = list(model.parameters())
    if name.startswith("grads_"):
        return [p.grad.clone() for p in params]
    if name.startswith("params_"):
        return params
    return model


def _value(result) -> float:  # type: ignore[no-untyped-def]
    return float(result) if not isinstance(result, torch.Tensor) or result.numel() == 1 else float("nan")


def _reference(name: str, model: torch.nn.Module) -> float:
    """The exact 2-norm (or 3-norm for ``*_p_norm``) in float64."""
    order = 3.0 if name.endswith("p_norm") else 2.0
    grads = [p.grad.double() for p in model.parameters()]
    if name == "grads_single":
        grads = grads[:1]
    return float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]), order))


GL001 = [(original, fixed, name) for original, fixed in _pairs("gl001") for name in _functions(original)]
GL003 = [(original, fixed, name) for original, fixed in _pairs("gl003") for name in _functions(original)]


@pytest.mark.parametrize(("original", "fixed", "name"), GL001, ids=[n for _, _, n in GL001])
def test_gl001_same_numbers_on_ordinary_gradients(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    model = _model(1.0)
    before = _value(getattr(original, name)(_argument(name, model)))
    after = _value(getattr(fixed, name)(_argument(name, model)))
    assert after == pytest.approx(before, rel=1e-5)
    assert after == pytest.approx(_reference(name, model), rel=1e-5)


@pytest.mark.parametrize(("original", "fixed", "name"), GL001, ids=[n for _, _, n in GL001])
def test_gl001_finite_where_the_original_overflowed(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    model = _model(1e20)
    before = _value(getattr(original, name)(_argument(name, model)))
    after = _value(getattr(fixed, name)(_argument(name, model)))
    assert math.isinf(before), "the hand-written norm was expected to overflow in float32"
    assert math.isfinite(after)
    assert after == pytest.approx(_reference(name, model), rel=1e-5)


@pytest.mark.parametrize(("original", "fixed", "name"), GL003, ids=[n for _, _, n in GL003])
def test_gl003_same_results_without_device(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    model = _model(1.0)
    before = getattr(original, name)(_argument(name, model))
    after = getattr(fixed, name)(_argument(name, model))
    assert after.device == before.device
    torch.testing.assert_close(after, before)


@pytest.mark.parametrize(("original", "fixed", "name"), GL003, ids=[n for _, _, n in GL003])
def test_gl003_does_not_consume_a_one_shot_iterator(original, fixed, name) -> None:  # type: ignore[no-untyped-def]
    if not name.startswith("params_"):
        pytest.skip("takes a re-iterable collection")
    model = _model(1.0)
    before = getattr(original, name)(iter(list(model.parameters())))
    after = getattr(fixed, name)(iter(list(model.parameters())))
    torch.testing.assert_close(after, before)


def test_every_fix_target_exists_in_the_runtime() -> None:
    import gradlint_runtime

    for attribute in ("total_norm", "norm", "infer_device"):
        assert callable(getattr(gradlint_runtime, attribute))
