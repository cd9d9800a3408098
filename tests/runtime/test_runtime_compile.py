"""torch.compile(fullgraph=True) of total_norm and collect_async: no graph breaks (CPU inductor)."""

from __future__ import annotations

import pytest
import torch
from gradlint_runtime import GradientStats, collect_async, total_norm

_dynamo = getattr(torch, "_dynamo", None)  # private, guarded: explain has no public twin


def _grads() -> list:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(64, 32, generator=gen), torch.randn(32, generator=gen), torch.full((100,), 1e20)]


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    reset = getattr(_dynamo, "reset", None)
    if reset is not None:
        reset()
    yield
    if reset is not None:
        reset()


@pytest.mark.parametrize("fn", [total_norm, collect_async], ids=["total_norm", "collect_async"])
def test_no_graph_breaks(fn) -> None:
    explain = getattr(_dynamo, "explain", None)
    assert explain is not None, "this torch has no torch._dynamo.explain"
    report = explain(fn)(_grads())
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


def test_fullgraph_inductor_total_norm_matches_eager() -> None:
    grads = _grads()
    compiled = torch.compile(total_norm, fullgraph=True)
    result = compiled(grads)
    eager = total_norm(grads)
    assert result.dtype == eager.dtype == torch.float32
    torch.testing.assert_close(result, eager, rtol=1e-6, atol=0)
    assert torch.isfinite(result)  # 1e20 elements: no overflow in the compiled path either


def test_fullgraph_inductor_collect_async() -> None:
    grads = _grads()
    stats = torch.compile(collect_async, fullgraph=True)(grads)
    assert isinstance(stats, GradientStats)
    torch.testing.assert_close(stats.total_norm, collect_async(grads).total_norm, rtol=1e-9, atol=0)
