"""GL002 cases beyond the rule's own examples: aliases, guard shapes, scopes, suppression."""

from __future__ import annotations

import textwrap

import pytest

from gradlint.rules.gl002_unguarded_private_api import UnguardedPrivateApi
from gradlint.testing import rule_findings


def lines(source: str, path: str = "example.py", **options: object) -> list[int]:
    findings = rule_findings(UnguardedPrivateApi, textwrap.dedent(source), path, options)
    return [finding.location.row for finding in findings]


# -- aliases and spellings: each must be reported -------------------------------------------

FLAGGED = {
    "import-as": """
        import torch as T
        n = T._foreach_norm(g)
    """,
    "submodule-alias": """
        import torch.distributed as dist
        dist._all_gather_base(out, x)
    """,
    "from-submodule-alias": """
        from torch import distributed as D
        D._reduce_scatter_base(out, x)
    """,
    "from-import-private-as-public": """
        from torch.optim.lr_scheduler import _LRScheduler as LRScheduler
    """,
    "from-private-module": """
        from torch.utils._pytree import tree_map
    """,
    "import-private-module-as": """
        import torch.utils._pytree as pytree
    """,
    "star-from-private": """
        from torch._dynamo import *
    """,
    "deep-chain": """
        import torch
        f = torch.nn.utils._stateless.functional_call
    """,
    "private-in-the-middle": """
        import torch
        torch._C._nn.gelu(x)
    """,
    "from-import-of-public-module": """
        from torch import nn
        nn.modules.batchnorm._BatchNorm
    """,
    "base-class": """
        import torch
        class Sched(torch.optim.lr_scheduler._LRScheduler):
            pass
    """,
    "decorator": """
        import torch
        @torch._dynamo.disable
        def f(): ...
    """,
    "default-argument": """
        import torch
        def f(fn=torch._foreach_norm): ...
    """,
    "getattr-no-default": """
        import torch
        fn = getattr(torch.distributed, "_all_gather_base")
    """,
    "import-inside-function": """
        def f():
            from torch._dynamo import disable
            return disable
    """,
    "local-import-alias-in-function": """
        def f(x):
            import torch as th
            return th._foreach_norm(x)
    """,
    "lambda": """
        import torch
        norms = lambda g: torch._foreach_norm(g)
    """,
    "comprehension": """
        import torch
        out = [torch._foreach_norm(g) for g in groups]
    """,
}


@pytest.mark.parametrize("source", FLAGGED.values(), ids=FLAGGED.keys())
def test_flagged(source: str) -> None:
    assert len(lines(source)) == 1


# -- guard shapes beyond the examples ---------------------------------------------------------


def test_nested_guards_only_cover_their_own_attribute() -> None:
    source = """
        import torch
        if hasattr(torch, "_foreach_norm"):
            if hasattr(torch, "_foreach_mul_"):
                torch._foreach_mul_(g, 2)
                torch._foreach_norm(g)
            torch._foreach_add_(g, 1)
    """
    assert lines(source) == [7]


def test_elif_chain() -> None:
    source = """
        import torch
        if hasattr(torch, "_foreach_norm"):
            n = torch._foreach_norm(g)
        elif hasattr(torch, "_foreach_abs"):
            n = torch._foreach_abs(g)
            m = torch._foreach_norm(g)
        else:
            n = torch._foreach_sqrt(g)
    """
    # The elif body is where the first test was false; the else branch has no guard at all.
    assert lines(source) == [7, 9]


def test_negated_test_guards_the_else_branch() -> None:
    source = """
        import torch
        if not hasattr(torch, "_foreach_norm"):
            n = torch._foreach_norm(g)
        else:
            n = torch._foreach_norm(g)
    """
    assert lines(source) == [4]


def test_or_of_tests_guards_nothing_in_the_body() -> None:
    source = """
        import torch
        if hasattr(torch, "_foreach_norm") or hasattr(torch, "_foreach_abs"):
            n = torch._foreach_norm(g)
    """
    assert lines(source) == [4]


def test_early_return_guards_only_the_rest_of_its_block() -> None:
    source = """
        import torch
        def f(g):
            if not hasattr(torch, "_foreach_norm"):
                return None
            return torch._foreach_norm(g)
        def h(g):
            return torch._foreach_norm(g)
    """
    assert lines(source) == [8]


def test_early_exit_without_exit_statement_is_no_guard() -> None:
    source = """
        import torch
        def f(g):
            if not hasattr(torch, "_foreach_norm"):
                print("old torch")
            return torch._foreach_norm(g)
    """
    assert lines(source) == [6]


def test_uses_before_the_early_return_are_not_guarded() -> None:
    source = """
        import torch
        def f(g):
            first = torch._foreach_norm(g)
            if not hasattr(torch, "_foreach_norm"):
                return None
            return torch._foreach_norm(g)
    """
    assert lines(source) == [4]


def test_assert_hasattr() -> None:
    source = """
        import torch
        def f(g):
            assert hasattr(torch, "_foreach_norm"), "needs torch >= 1.13"
            return torch._foreach_norm(g)
        def h(g):
            return torch._foreach_norm(g)
    """
    assert lines(source) == [7]


def test_try_in_function_guards_but_def_in_try_does_not() -> None:
    source = """
        import torch
        def inside(g):
            try:
                return torch._foreach_norm(g)
            except AttributeError:
                return None
        try:
            def outside(g):
                return torch._foreach_norm(g)
            LAMBDA = lambda g: torch._foreach_norm(g)
            EAGER = torch._foreach_norm
        except AttributeError:
            pass
    """
    assert lines(source) == [10, 11]


def test_import_time_guards() -> None:
    source = """
        import torch
        try:
            from torch._dynamo import disable
        except ImportError:
            disable = None
        try:
            import torch._C as C
        except ModuleNotFoundError:
            C = None
        try:
            FN = torch._foreach_norm
        finally:
            pass
    """
    assert lines(source) == [12]


def test_guard_through_an_alias_of_the_owner() -> None:
    source = """
        import torch as T
        import torch
        if hasattr(T, "_foreach_norm"):
            a = torch._foreach_norm(g)
    """
    # The guard names the same qualified owner, whatever the local spelling.
    assert lines(source) == []


def test_guard_on_a_different_owner_does_not_count() -> None:
    source = """
        import torch
        import torch.distributed as dist
        if hasattr(torch, "_all_gather_base"):
            dist._all_gather_base(out, x)
    """
    assert lines(source) == [5]


def test_guard_name_rebinding_is_tracked_per_name() -> None:
    source = """
        import torch
        HAS_NORM = hasattr(torch, "_foreach_norm")
        HAS_OTHER = callable(getattr(torch, "_foreach_abs", None))
        if HAS_OTHER:
            torch._foreach_abs(g)
            torch._foreach_norm(g)
        if HAS_NORM and HAS_OTHER:
            torch._foreach_abs(g)
            torch._foreach_norm(g)
    """
    assert lines(source) == [7]


def test_version_gates() -> None:
    source = """
        import torch
        from packaging.version import Version
        if Version(torch.__version__) < Version("2.0"):
            from torch._six import inf
        else:
            from torch import inf
        if Version(torch.__version__) >= Version("2.0"):
            from torch._dynamo import disable
        if _TORCH_LESS_THAN_2_1:
            x = torch._foreach_norm(g)
        if is_torch_greater_than("2.1"):
            y = torch.compiler.disable
        else:
            y = torch._dynamo.disable
    """
    assert lines(source) == [9]


def test_type_checking_block_but_not_its_else() -> None:
    source = """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from torch._C import _TensorMeta
        else:
            from torch._C import _TensorMeta
    """
    assert lines(source) == [6]


def test_except_fallback_to_the_old_name() -> None:
    source = """
        try:
            from torch.optim.lr_scheduler import LRScheduler
        except ImportError:
            from torch.optim.lr_scheduler import _LRScheduler as LRScheduler
        try:
            from torch.compiler import disable
        except Exception:
            from torch._dynamo import disable
    """
    # ``except Exception`` is a guard for its try body, not a proof that the name is missing.
    assert lines(source) == [9]


# -- not torch, or exempt ---------------------------------------------------------------------

SILENT = {
    "parameter-named-torch": "def f(torch):\n    return torch._x()\n",
    "lambda-parameter": "import torch\nf = lambda torch: torch._x()\n",
    "ops-handle": "import torch\nop = torch.ops.aten._to_copy.default\n",
    "ops-alias": "from torch import ops\nop = ops.aten._softmax\n",
    "dunder": "import torch\nv = torch.__version__\n",
    "relative-import": "from ._torch_compat import _foreach_norm\n",
    "torchvision": "import torchvision\ntorchvision._internal_thing()\n",
    "module-named-like-torch": "import torch_geometric as tg\ntg._helpers.x()\n",
    "string-mention": "doc = 'use torch._foreach_norm carefully'\n",
    "comment-mention": "import torch\n# torch._foreach_norm is private\n",
    "getattr-with-default": "import torch\nf = getattr(torch._C, '_get_tracing_state', None)\n",
}


@pytest.mark.parametrize("source", SILENT.values(), ids=SILENT.keys())
def test_silent(source: str) -> None:
    assert lines(source) == []


@pytest.mark.parametrize("path", ["torch/nn/utils/clip_grad.py", "functorch/_src/x.py", "torchgen/gen.py"])
def test_torch_own_source_is_exempt(path: str) -> None:
    assert lines("import torch\nx = torch._C._foo()\n", path=path) == []


def test_testing_internal_is_allowed_only_in_tests() -> None:
    source = "from torch.testing._internal.common_utils import run_tests\n"
    assert lines(source, path="tests/test_x.py") == []
    assert lines(source, path="test_x.py") == []
    assert lines(source, path="src/util.py") == [1]


def test_allowed_private_apis_patterns() -> None:
    source = "import torch\na = torch._C._foo\nb = torch._dynamo.config\nc = torch._foreach_norm\n"
    assert lines(source, **{"allowed-private-apis": ["torch._C"]}) == [3, 4]
    assert lines(source, **{"allowed-private-apis": ["torch._foreach_*", "torch._dynamo.*"]}) == [2]


def test_message_names_the_public_replacement() -> None:
    findings = rule_findings(
        UnguardedPrivateApi, "import torch.distributed as dist\ndist._reduce_scatter_base(a, b)\n", "x.py", {}
    )
    assert "`torch.distributed.reduce_scatter_tensor`" in findings[0].message
    assert findings[0].fix is None


# -- suppression ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\nn = torch._foreach_norm(g)  # noqa: GL002\n", []),
        ("import torch\nn = torch._foreach_norm(g)  # noqa:GL002,E501\n", []),
        ("import torch\nn = torch._foreach_norm(g)  # NOQA: gl002\n", []),
        ("import torch\nn = torch._foreach_norm(g)  # noqa\n", []),
        ("import torch\nn = torch._foreach_norm(g)  # noqa: E501\n", [2]),
        ("import torch\nn = torch._foreach_norm(g)  # noqa: GL001\n", [2]),
        ("import torch\nn = torch._foreach_norm(g)  # type: ignore  # noqa: GL002\n", []),
        ("import torch\nn = torch._foreach_norm(g)\n# noqa: GL002\n", [2]),
        ("import torch\ns = '# noqa'; n = torch._foreach_norm(g)\n", [2]),
        # First line of a multi-line statement.
        ("import torch\nn = torch._foreach_norm(  # noqa: GL002\n    g,\n)\n", []),
        ("import torch\nn = foo(  # noqa: GL002\n    torch._foreach_norm(g),\n)\n", []),
        ("import torch\nn = foo(\n    torch._foreach_norm(g),  # noqa: GL002\n)\n", []),
        ("import torch\nn = foo(\n    g,\n    torch._foreach_norm(g),\n)  # noqa: GL002\n", [4]),
        ("from torch.distributed import (  # noqa: GL002\n    ProcessGroup,\n    _all_gather_base,\n)\n", []),
        # File-level.
        ("# gradlint: noqa\nimport torch\nn = torch._foreach_norm(g)\n", []),
        ("import torch\n# gradlint: noqa: GL002\nn = torch._foreach_norm(g)\n", []),
        ("import torch\n# gradlint: noqa: GL001\nn = torch._foreach_norm(g)\n", [3]),
        # Like ``# ruff: noqa``, the file-level form must stand on its own line.
        ("import torch  # gradlint: noqa\nn = torch._foreach_norm(g)\n", [2]),
    ],
)
def test_noqa(source: str, expected: list[int]) -> None:
    assert lines(source) == expected
