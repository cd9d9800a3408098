"""The semantic model: bindings, qualified names, guards and value kinds, asked as rules ask."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gradlint.semantic import Kind, SemanticModel
from gradlint.semantic.walker import DispatchTable, analyse


class Probe:
    """A stand-in rule: at every call of ``probe(expr)`` records what the model says of ``expr``."""

    def __init__(self) -> None:
        self.model: SemanticModel | None = None
        self.seen: list[tuple[str | None, Kind, bool]] = []

    def visit_Call(self, node: ast.Call) -> None:
        assert self.model is not None
        if isinstance(node.func, ast.Name) and node.func.id == "probe":
            target = node.args[0]
            guarded = self.model.is_guarded(self.model.qualified_name(target) or "")
            self.seen.append((self.model.qualified_name(target), self.model.kind(target), guarded))


def probe(source: str) -> list[tuple[str | None, Kind, bool]]:
    text = textwrap.dedent(source)
    model = SemanticModel(ast.parse(text), text)
    rule = Probe()
    rule.model = model
    analyse(model, DispatchTable([rule]))
    return rule.seen


def qualified(source: str) -> list[str | None]:
    return [name for name, _, _ in probe(source)]


def kinds(source: str) -> list[Kind]:
    return [kind for _, kind, _ in probe(source)]


def guarded(source: str) -> list[bool]:
    return [flag for _, _, flag in probe(source)]


# -- qualified names ---------------------------------------------------------------------


def test_aliases_resolve_to_the_imported_names() -> None:
    assert qualified(
        """
        import torch as T
        import torch.distributed as dist
        from torch import _foreach_norm as fn
        from torch.nn import utils
        probe(T.nn.utils.clip_grad_norm_)
        probe(dist.all_reduce)
        probe(fn)
        probe(utils.clip_grad_norm_)
        """
    ) == [
        "torch.nn.utils.clip_grad_norm_",
        "torch.distributed.all_reduce",
        "torch._foreach_norm",
        "torch.nn.utils.clip_grad_norm_",
    ]


def test_a_local_that_shadows_an_import_is_not_the_module() -> None:
    assert qualified(
        """
        import torch
        def f(torch):
            probe(torch._foo)
        def g():
            torch = make()
            probe(torch._foo)
        def h():
            probe(torch._foo)
        """
    ) == [None, None, "torch._foo"]


def test_imports_after_the_use_and_inside_blocks_are_known() -> None:
    assert qualified(
        """
        def f():
            probe(torch.nn)
        try:
            import torch
        except ImportError:
            torch = None
        """
    ) == ["torch.nn"]


def test_class_scope_is_not_visible_from_methods() -> None:
    assert qualified(
        """
        import torch
        class C:
            torch = object()
            def m(self):
                probe(torch.nn)
        """
    ) == ["torch.nn"]


def test_global_declaration_binds_in_the_module() -> None:
    assert qualified(
        """
        def setup():
            global th
            import torch as th
        def use():
            probe(th.cuda)
        """
    ) == ["torch.cuda"]


def test_relative_imports_have_no_qualified_name() -> None:
    assert qualified("from . import torch\nprobe(torch.nn)\n") == [None]


# -- value kinds ---------------------------------------------------------------------------


def test_gradients_flow_through_loops_and_comprehensions() -> None:
    assert kinds(
        """
        import torch
        def f(model):
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            for g in grads:
                probe(g)
            probe(grads)
            for name, param in model.named_parameters():
                probe(param)
                probe(name)
            for i, g in enumerate(grads):
                probe(g)
            probe(grads[0].float())
        """
    ) == [Kind.GRADIENT, Kind.GRADIENTS, Kind.PARAMETER, Kind.STRING, Kind.GRADIENT, Kind.GRADIENT]


def test_norms_and_numbers() -> None:
    assert kinds(
        """
        import math
        import torch
        def f(grads: list[torch.Tensor], x: torch.Tensor):
            norms = torch._foreach_norm(grads, 2)
            probe(norms)
            probe(norms[0])
            probe(torch.stack(norms))
            probe(x.norm())
            probe(torch.linalg.vector_norm(x))
            probe(x.norm().item())
            probe(math.sqrt(2.0))
            probe(grads)
        """
    ) == [Kind.NORMS, Kind.NORM, Kind.NORMS, Kind.NORM, Kind.NORM, Kind.NUMBER, Kind.NUMBER, Kind.TENSORS]


def test_annotations_give_kinds() -> None:
    assert kinds(
        """
        from collections.abc import Callable, Iterator
        from typing import Optional
        import torch
        from torch import nn
        def f(
            params: Iterator[nn.Parameter],
            fn: Callable[[int], int],
            options: dict,
            maybe: Optional[torch.Tensor],
            new: torch.Tensor | None,
            quoted: "torch.Tensor",
            module: nn.Module,
            cfg: TrainConfig,
            other,
        ):
            probe(params); probe(fn); probe(options); probe(maybe); probe(new)
            probe(quoted); probe(module); probe(cfg); probe(other)
        """
    ) == [
        Kind.PARAMETERS, Kind.CALLABLE, Kind.MAPPING, Kind.TENSOR, Kind.TENSOR,
        Kind.TENSOR, Kind.MODULE, Kind.CONFIG, Kind.UNKNOWN,
    ]


def test_self_attributes_and_local_function_returns() -> None:
    assert kinds(
        """
        import torch
        from torch import nn
        def make_buffer():
            return torch.zeros(3)
        class Collector:
            def __init__(self, model: nn.Module):
                self.model = model
                self.buffer = make_buffer()
            def run(self):
                probe(self.model)
                probe(self.buffer)
                probe(self.model.parameters())
        """
    ) == [Kind.MODULE, Kind.TENSOR, Kind.PARAMETERS]


def test_unknown_stays_unknown_and_cycles_end() -> None:
    assert kinds(
        """
        def f(x):
            y = x
            y = y + 1
            probe(y)
            probe(unknown_call())
        """
    ) == [Kind.UNKNOWN, Kind.UNKNOWN]


# -- guards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\ntry:\n    probe(torch._x)\nexcept AttributeError:\n    pass\n", [True]),
        ("import torch\ntry:\n    probe(torch._x)\nexcept ValueError:\n    pass\n", [False]),
        ('import torch\nif hasattr(torch, "_x"):\n    probe(torch._x)\nprobe(torch._x)\n', [True, False]),
        ('import torch\nif hasattr(torch, "_y"):\n    probe(torch._x)\n', [False]),
        (
            "import torch\n"
            "def f():\n"
            '    if not hasattr(torch, "_x"):\n'
            "        return None\n"
            "    probe(torch._x)\n",
            [True],
        ),
        ("import torch\nif torch.__version__ < '2.0':\n    probe(torch._x)\nelse:\n    probe(torch._x)\n", [True, False]),
        ("import typing\nimport torch\nif typing.TYPE_CHECKING:\n    probe(torch._x)\n", [True]),
        # A try around a def does not guard the body: it runs later.
        ("import torch\ntry:\n    def f():\n        probe(torch._x)\nexcept AttributeError:\n    pass\n", [False]),
        ('import torch\nok = hasattr(torch, "_x")\nif ok:\n    probe(torch._x)\n', [True]),
        ('import torch\nx = torch._x if hasattr(torch, "_x") else None\nprobe(torch._x)\n', [False]),
    ],
)
def test_guards(source: str, expected: list[bool]) -> None:
    assert guarded(source) == expected


def test_deep_nesting_does_not_end_the_walk() -> None:
    depth = 95  # Python's own limit is 100 indentation levels
    nested = "".join("    " * i + "if x:\n" for i in range(depth)) + "    " * depth + "probe(torch._x)\n"
    elifs = "if a == 0:\n    pass\n" + "".join(f"elif a == {i}:\n    pass\n" for i in range(1, 400))
    elifs += "else:\n    probe(torch._y)\n"
    assert qualified("import torch\n" + nested + elifs) == ["torch._x", "torch._y"]
