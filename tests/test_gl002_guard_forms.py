"""GL002 guard forms found on real code (issue 11): version flags and helpers, public-name
probes, version-range decorators, and the documented-underscore policy. Our own code, the
same shapes."""

from __future__ import annotations

import textwrap

import pytest

from gradlint.rules.gl002_unguarded_private_api import UnguardedPrivateApi
from gradlint.testing import rule_findings


def lines(source: str, **options: object) -> list[int]:
    findings = rule_findings(UnguardedPrivateApi, textwrap.dedent(source), "pkg/module.py", options)
    return [finding.location.row for finding in findings]


GUARDED = {
    "version-flag-computed-once": """
        import torch
        from packaging.version import parse
        WITH_PT23 = parse(torch.__version__) >= parse("2.3")

        def disable(fn):
            if WITH_PT23:
                return torch.compiler.disable(fn)
            return torch._dynamo.disable(fn)
    """,
    "version-flag-imported": """
        import torch
        from .compat import WITH_PT21

        def compiling():
            if not WITH_PT21:
                return torch._dynamo.is_compiling()
            return torch.compiler.is_compiling()
    """,
    "version-flag-else-branch": """
        import torch
        from .compat import TORCH_2_4
        if TORCH_2_4:
            from torch.distributed.tensor import DTensor
        else:
            from torch.distributed._tensor import DTensor
    """,
    "version-helper-with-operator": """
        import torch
        from .utils import is_torch_version

        def gather(out, x):
            if is_torch_version("<", "2.2"):
                torch.distributed._all_gather_base(out, x)
            else:
                torch.distributed.all_gather_into_tensor(out, x)
    """,
    "public-name-missing-from-dir": """
        import torch
        if "compiler" not in dir(torch):
            disable = torch._dynamo.disable
        else:
            disable = torch.compiler.disable
    """,
    "else-of-public-hasattr": """
        import torch
        if hasattr(torch, "compiler"):
            disable = torch.compiler.disable
        else:
            disable = torch._dynamo.disable
    """,
    "version-range-decorator-with-upper-bound": """
        import torch
        from .compat import implement_for

        @implement_for("torch", None, "2.3")
        def leaves(tree):
            return torch.utils._pytree.tree_leaves(tree)

        @implement_for("torch", "2.3", "2.4")
        def leaves(tree):
            return list(torch.utils._pytree.tree_iter(tree))
    """,
    "documented-underscore-name": """
        import torch
        def check(x):
            torch._assert(x.dim() == 2, "expected a matrix")
    """,
}

FLAGGED = {
    # The private name on the NEW branch of a gate is not guarded by it.
    "private-on-the-new-branch": """
        import torch
        from .compat import WITH_PT23
        if WITH_PT23:
            torch._dynamo.mark_static(x)
    """,
    "version-range-decorator-open-ended": """
        import torch
        from .compat import implement_for

        @implement_for("torch", "2.4")
        def leaves(tree):
            return list(torch.utils._pytree.tree_iter(tree))
    """,
    "private-name-probed-for-a-different-name": """
        import torch
        if hasattr(torch, "_nested_tensor_from_mask"):
            y = torch._nested_view_from_buffer(x)
    """,
    "hasattr-of-public-name-true-branch": """
        import torch
        if hasattr(torch, "compiler"):
            torch._dynamo.reset()
    """,
}


@pytest.mark.parametrize("source", GUARDED.values(), ids=GUARDED.keys())
def test_guarded(source: str) -> None:
    assert lines(source) == []


@pytest.mark.parametrize("source", FLAGGED.values(), ids=FLAGGED.keys())
def test_flagged(source: str) -> None:
    assert len(lines(source)) == 1


def test_documented_underscore_names_are_reported_when_the_policy_is_off() -> None:
    source = GUARDED["documented-underscore-name"]
    assert lines(source, **{"documented-private-is-public": False}) == [4]
