"""GL002's fixes executed: the rewritten code runs and gives torch's own numbers."""

from __future__ import annotations

import pytest

from gradlint.rules.gl002_unguarded_private_api import UnguardedPrivateApi
from gradlint.testing import engine_for, example_info

torch = pytest.importorskip("torch")

SOURCE = (
    "import torch\n"
    "def norms(grads):\n"
    "    return torch._foreach_norm(grads, 2)\n"
)


def _fixed(options: dict[str, object]) -> str:
    engine = engine_for(UnguardedPrivateApi, options)
    fixed, applied, errors = engine.fix_text(SOURCE, example_info("pkg/norms.py"), unsafe=False)
    assert applied == 1 and not errors
    return fixed


@pytest.mark.parametrize("runtime", [True, False], ids=["runtime", "torch-only"])
def test_fixed_foreach_norm_gives_torchs_numbers(runtime: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = _fixed({"runtime-available": runtime})
    assert ("gradlint_runtime" in fixed) is runtime
    grads = [torch.randn(7, 3), torch.randn(5), torch.randn(2, 2, 2)]
    expected = [torch.linalg.vector_norm(g) for g in grads]
    namespace: dict[str, object] = {}
    exec(compile(fixed, "norms.py", "exec"), namespace)
    for got, want in zip(namespace["norms"](grads), expected):  # type: ignore[operator]
        assert torch.allclose(got, want, rtol=1e-6)
    if not runtime:
        # Where torch drops the private op, the inline fallback still gives the same numbers.
        monkeypatch.delattr(torch, "_foreach_norm")
        for got, want in zip(namespace["norms"](grads), expected):  # type: ignore[operator]
            assert torch.allclose(got, want, rtol=1e-6)
