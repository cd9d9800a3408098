"""Every runtime name the linter's fixes emit exists in gradlint_runtime, with the documented
signature: the two distributions must agree on names and semantics."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from gradlint.rule import NO_FIX
from gradlint.rules import all_rules
from gradlint.rules._constant_groups import RUNTIME_CONSTANTS
from gradlint.rules._private_api_table import PUBLIC_EQUIVALENTS, RUNTIME

runtime = pytest.importorskip("gradlint_runtime")
ROOT = Path(__file__).resolve().parent.parent


def _runtime_names_in(code: str) -> set[str]:
    """``gradlint_runtime.x`` attributes and ``from gradlint_runtime[.mod] import x`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Attribute):
            parts: list[str] = []
            current: ast.AST = node
            while isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name) and current.id == "gradlint_runtime":
                names.add(".".join(reversed(parts)))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gradlint_runtime"):
            prefix = node.module[len("gradlint_runtime"):].lstrip(".")
            names.update(f"{prefix}.{alias.name}" if prefix else alias.name for alias in node.names)
    return names


def _emitted_names() -> set[str]:
    names: set[str] = set()
    for rule in all_rules():
        for example in rule.INVALID:
            if example.expected_fix not in (None, NO_FIX):
                names |= _runtime_names_in(example.expected_fix)
    for fixed in (ROOT / "fixtures" / "fixes").rglob("*.py"):
        if fixed.name.endswith(".in.py"):
            continue
        names |= _runtime_names_in(fixed.read_text(encoding="utf-8"))
    for equivalent in PUBLIC_EQUIVALENTS.values():
        if equivalent.name.startswith(RUNTIME + "."):
            names.add(equivalent.name[len(RUNTIME) + 1:])
    names |= {f"constants.{name}" for name in RUNTIME_CONSTANTS.values()}
    return names


def test_fixes_emit_runtime_names_at_all() -> None:
    emitted = _emitted_names()
    assert {"foreach_norm", "total_norm", "norm", "infer_device"} <= {n.split(".")[-1] for n in emitted}


@pytest.mark.parametrize("name", sorted(_emitted_names()))
def test_every_emitted_name_exists(name: str) -> None:
    target: object = runtime
    for part in name.split("."):
        if not hasattr(target, part):
            import importlib

            target = importlib.import_module(f"{target.__name__}.{part}")  # type: ignore[attr-defined]
        else:
            target = getattr(target, part)
    assert target is not None


def test_documented_signatures() -> None:
    # issue 12: total_norm takes torch.nn.utils.get_total_norm's parameters, positions included
    total = inspect.signature(runtime.total_norm).parameters
    assert list(total)[:4] == ["tensors", "norm_type", "error_if_nonfinite", "foreach"]
    assert total["process_group"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(runtime.norm).parameters)[:2] == ["tensor", "ord"]
    assert list(inspect.signature(runtime.foreach_norm).parameters)[:2] == ["tensors", "ord"]
    assert list(inspect.signature(runtime.infer_device).parameters)[:2] == ["parameters_or_tensors", "default"]
    from gradlint_runtime import constants

    assert (constants.VANISHING_THRESHOLD, constants.EXPLODING_THRESHOLD) == (1e-7, 100.0)
    assert (constants.VANISHING_HEALTH_PENALTY, constants.EXPLODING_HEALTH_PENALTY) == (0.5, 0.8)
