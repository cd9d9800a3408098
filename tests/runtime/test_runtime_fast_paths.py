"""The eager-CPU 2-norm shortcuts give the answers of the general paths.

- ``total_norm`` / ``clip_grad_norm_`` combine the fast parts directly and read the total once;
  only a total that may have over- or underflowed sends them to the per-tensor norms (a
  second read, on CPU only).
- ``GradientCollector`` reads the per-tensor norms (its one read) and, when all are in range,
  computes its statistics on the host: the same values as the tensor formulas.
"""

from __future__ import annotations

import math
from dataclasses import fields

import gradlint_runtime as gr
import pytest
import torch
from gradlint_runtime import GradientCollector

REL_F32 = 1e-6


def _params(*grads: torch.Tensor) -> list[torch.nn.Parameter]:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.empty_like(g))
        p.grad = g
        params.append(p)
    return params


def _mixed_grads() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return [
        torch.randn(300, 70, generator=gen),  # rows with a tail
        torch.randn(64, generator=gen) * 1e-9,  # vanishing
        torch.randn(64, generator=gen) * 1e-9,  # same shape: stacked
        torch.randn(5000, generator=gen) * 1e3,  # exploding
        torch.randn(40, 50, generator=gen).to(torch.bfloat16),
        torch.tensor([0.0, 1.0, 0.0, 2.0]),  # zero elements, for zero_count
        torch.randn(3, 3, 3, generator=gen),
    ]


@pytest.mark.parametrize(
    "options",
    [{}, {"count_zeros": True}, {"count_nonfinite": False}, {"vanishing_threshold": 1e-3, "exploding_threshold": 10.0}],
    ids=["default", "count_zeros", "no_nonfinite", "thresholds"],
)
def test_host_statistics_equal_the_tensor_formulas(options, device_path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = GradientCollector._host_stats
    monkeypatch.setattr(GradientCollector, "_host_stats", lambda self, *a: calls.append(1) or original(self, *a))
    collector = GradientCollector(**options)
    host = collector.collect(_params(*_mixed_grads()))
    assert calls == [1]  # the shortcut ran
    with device_path():
        tensor = collector.collect(_params(*_mixed_grads()))
    assert calls == [1]  # and the branch-free path did not take it
    # a bfloat16 tensor's norm is rounded to bfloat16 on CPU (the branch-free path keeps
    # float64): that tensor to bfloat16 rounding, the rest to float32 rounding
    rels = [2.0**-8 if g.dtype == torch.bfloat16 else REL_F32 for g in _mixed_grads()]
    for got, want, rel in zip(host.tensor_norms, tensor.tensor_norms, rels, strict=True):
        assert got == pytest.approx(want, rel=rel, abs=0.0)
    for f in fields(host):
        got, want = getattr(host, f.name), getattr(tensor, f.name)
        if f.name == "tensor_norms":
            continue
        if isinstance(want, float):  # totals and extremes: dominated by float32 tensors here
            assert got == pytest.approx(want, rel=1e-5, abs=0.0), f.name
        else:
            assert got == want, f.name
    assert host.vanishing_count >= 2 and host.exploding_count >= 1 and 0.0 < host.health < 1.0


def test_collector_with_a_flagged_tensor_keeps_the_tensor_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = GradientCollector._host_stats
    monkeypatch.setattr(GradientCollector, "_host_stats", lambda self, *a: calls.append(1) or original(self, *a))
    grads = _mixed_grads()
    grads[0][3, 4] = math.nan
    grads[3][10] = math.inf
    metrics = GradientCollector().collect(_params(*grads))
    assert not calls
    assert (metrics.nan_tensor_count, metrics.inf_tensor_count, metrics.nan_count, metrics.inf_count) == (1, 1, 1, 1)
    assert metrics.health == 0.0 and math.isnan(metrics.total_norm)


CASES = {
    "tiny alone (underflow)": lambda: [torch.full((3000,), 1e-25)],
    "tiny next to normal": lambda: [torch.full((3000,), 1e-25), torch.full((5000,), 0.5)],
    "subnormal squares alone": lambda: [torch.full((4096,), 3e-20), torch.full((100,), 1e-21)],
    "huge (overflow)": lambda: [torch.full((3000,), 1e20), torch.full((10,), 1.0)],
    "huge rows and small": lambda: [torch.full((3, 4096), 3e19), torch.full((64,), 2e19), torch.full((64,), 1e-3)],
    "bf16 huge": lambda: [torch.full((5000,), 1e30, dtype=torch.bfloat16)],
    "float64 next to float32": lambda: [torch.full((3000,), 1e-200, dtype=torch.float64), torch.full((9,), 1e-30)],
    "nan": lambda: [torch.ones(3000), torch.tensor([1.0, math.nan])],
    "inf": lambda: [torch.ones(3000), torch.tensor([1.0, math.inf])],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_total_is_exact_or_falls_back(case: str, reference, count_host_reads) -> None:
    grads = CASES[case]()
    with count_host_reads() as reads:
        result = gr.total_norm(grads)
    expected = reference.total_norm(grads, 2.0)
    rel = 2.0**-8 if grads[0].dtype == torch.bfloat16 else REL_F32
    reference.assert_close(result, expected, rel)
    assert 1 <= reads.count <= 2, reads.events  # the total; the per-tensor norms when it may be off
    params = _params(*[g.clone() for g in grads])
    reference.assert_close(gr.clip_grad_norm_(params, 1e30), expected, rel)


def test_fast_total_in_range_reads_once(count_host_reads) -> None:
    grads = _mixed_grads()
    with count_host_reads() as reads:
        gr.total_norm(grads)
        gr.clip_grad_norm_(_params(*grads), 1e30)
    assert reads.events == ["Tensor.tolist", "Tensor.tolist"]  # one each
