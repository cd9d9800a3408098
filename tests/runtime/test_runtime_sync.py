"""Host reads (device syncs on GPU), counted on CPU and proven absent on meta tensors.

Two detectors: a dispatch mode plus Python-level patches that count every read on real CPU
tensors (see conftest), and meta tensors, which have no data, so any read raises.

The documented budget:
- device path (CUDA, any non-CPU device, torch.compile): 0 reads in total_norm,
  clip_grad_norm_pre_post, collect_async and collect_dual_async;
- eager CPU: total_norm reads its fast total, collect_async the per-tensor norms (1 read; on
  CPU a read waits for no device; a total that may have over/underflowed costs total_norm a
  second read, see test_runtime_fast_paths);
- materialize: exactly 1 read, NaN/Inf element counts included (they are computed in
  collect_async).
"""

from __future__ import annotations

import math

import pytest
import torch
from gradlint_runtime import (
    DualGradientCollector,
    GradientCollector,
    clip_grad_norm_pre_post,
    collect_async,
    collect_dual_async,
    foreach_norm,
    norm,
    total_norm,
)

ORDERS = [2.0, 1.0, 3.0, 7.5, math.inf, -math.inf, 0.0]


def _grads(device: str = "cpu", dtype: torch.dtype = torch.float32) -> list:
    shapes = [(64, 32), (32,), (20_000,), (3, 5, 7)]
    return [
        torch.randn(s, dtype=dtype, device=device) if device != "meta" else torch.empty(s, dtype=dtype, device=device)
        for s in shapes
    ]


def _params(device: str = "cpu") -> list:
    params = []
    for g in _grads(device):
        p = torch.nn.Parameter(torch.empty_like(g))
        p.grad = g
        params.append(p)
    return params


@pytest.mark.parametrize("p", ORDERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_device_path_total_norm_reads_nothing(p, dtype, count_host_reads, device_path) -> None:
    grads = _grads(dtype=dtype)
    with device_path(), count_host_reads() as reads:
        total_norm(grads, p)
        norm(grads[0], p)
    assert reads.count == 0, reads.events


def test_device_path_clip_and_collectors_read_nothing(count_host_reads, device_path) -> None:
    params = _params()
    seed = _params()
    with device_path(), count_host_reads() as reads:
        clip_grad_norm_pre_post(params, 1.0)
        collect_async(params)
        GradientCollector(count_zeros=True).collect_async(params)
        collect_dual_async(params, seed)
        foreach_norm([p.grad for p in params])
    assert reads.count == 0, reads.events


def test_cpu_eager_total_norm_reads_one_flag_vector(count_host_reads) -> None:
    grads = _grads()
    with count_host_reads() as reads:
        total_norm(grads)
    assert reads.events == ["Tensor.tolist"]
    with count_host_reads() as reads:
        collect_async(_params())
    assert reads.events == ["Tensor.tolist"]


@pytest.mark.parametrize("p", [math.inf, -math.inf, 0.0, 1.0, 3.0])
def test_cpu_eager_other_orders_read_nothing(p, count_host_reads) -> None:
    with count_host_reads() as reads:
        total_norm(_grads(), p)
    assert reads.count == 0, reads.events


def test_materialize_reads_exactly_once(count_host_reads) -> None:
    collector = GradientCollector(count_zeros=True)
    stats = collector.collect_async(_params())
    with count_host_reads() as reads:
        metrics = collector.materialize(stats)
    assert reads.count == 1, reads.events
    assert metrics.num_tensors == 4


def test_dual_materialize_reads_exactly_once(count_host_reads) -> None:
    collector = DualGradientCollector()
    stats = collector.collect_async(_params(), _params())
    with count_host_reads() as reads:
        collector.materialize(stats)
    assert reads.count == 1, reads.events


@pytest.mark.parametrize("branch_free", [False, True])
def test_nonfinite_element_counts_cost_no_extra_read(branch_free, count_host_reads, device_path) -> None:
    params = _params()
    params[2].grad[5] = math.nan
    params[2].grad[6] = math.inf
    params[0].grad[1, 2] = -math.inf
    collector = GradientCollector()
    with device_path() if branch_free else _nothing(), count_host_reads() as reads:
        stats = collector.collect_async(params)
    assert reads.count == (0 if branch_free else 1), reads.events
    with count_host_reads() as reads:
        metrics = collector.materialize(stats)
    assert reads.count == 1, reads.events
    assert (metrics.nan_count, metrics.inf_count) == (1, 2)
    assert (metrics.nan_tensor_count, metrics.inf_tensor_count) == (1, 1)
    quiet = GradientCollector(count_nonfinite=False)
    stats = quiet.collect_async(params)
    with count_host_reads() as reads:
        metrics = quiet.materialize(stats)
    assert reads.count == 1 and metrics.nan_count is None and metrics.has_nonfinite


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_counter_sees_the_usual_sync_patterns(count_host_reads) -> None:
    t = torch.ones(3)
    with count_host_reads() as reads:
        t.sum().item()
        float(t[0])
        bool(t.any())
        t.tolist()
        torch.nonzero(t)
        torch.nn.utils.get_total_norm([t], error_if_nonfinite=True)
    assert reads.count == 6, reads.events


def test_meta_tensors_never_read() -> None:
    # meta tensors have no data: any host read raises
    params = _params("meta")
    grads = [p.grad for p in params]
    for p in ORDERS:
        assert total_norm(grads, p).device.type == "meta"
    pre, post = clip_grad_norm_pre_post(params, 1.0)
    assert pre.device.type == post.device.type == "meta"
    stats = GradientCollector(count_zeros=True).collect_async(params)
    assert stats.total_norm.device.type == "meta"
    dual = collect_dual_async(params, _params("meta"))
    assert dual.norm_ratio.device.type == "meta"
    assert len(foreach_norm(grads)) == 4
    with pytest.raises((RuntimeError, NotImplementedError)):
        GradientCollector().materialize(stats)  # the one read: impossible on meta
