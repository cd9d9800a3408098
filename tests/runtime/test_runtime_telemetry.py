"""Telemetry parity: element counts, flags, to_dict, the normalized ratio, host-once reuse and
Lightning-keyed per-parameter norms."""

from __future__ import annotations

import math

import gradlint_runtime as gr
import pytest
import torch
from gradlint_runtime import DualGradientCollector, GradientCollector


def _module(*grads: torch.Tensor) -> torch.nn.Module:
    module = torch.nn.Module()
    for k, g in enumerate(grads):
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = g.clone()
        module.register_parameter(f"p{k}", p)
    return module


def test_flags_counts_and_is_healthy() -> None:
    healthy = GradientCollector().collect(_module(torch.ones(30), torch.ones(2, 5)))
    assert healthy.num_elements == 40 and healthy.num_tensors == 2
    assert not healthy.has_vanishing and not healthy.has_exploding and healthy.is_healthy()
    vanishing = GradientCollector().collect(_module(torch.full((4,), 1e-12), torch.ones(3)))
    assert vanishing.has_vanishing and not vanishing.has_exploding and not vanishing.is_healthy()
    exploding = GradientCollector().collect(_module(torch.full((4,), 1e3)))
    assert exploding.has_exploding and not exploding.is_healthy()
    broken = GradientCollector().collect(_module(torch.tensor([1.0, math.nan])))
    assert broken.has_nonfinite and not broken.is_healthy()


def test_to_dict_is_flat_and_loggable() -> None:
    metrics = GradientCollector(count_zeros=True).collect(_module(torch.tensor([0.0, 3.0, 4.0])))
    values = metrics.to_dict("grad/")
    assert all(k.startswith("grad/") for k in values)
    assert all(type(v) in (float, int, bool) for v in values.values()), values
    assert values["grad/total_norm"] == 5.0 and values["grad/zero_count"] == 1
    assert values["grad/num_elements"] == 3 and values["grad/is_healthy"] is True
    assert "grad/post_clip_norm" not in values and "grad/tensor_norms" not in values
    clipped = gr.collect_and_clip(_module(torch.tensor([3.0, 4.0])), 1.0).to_dict()
    assert clipped["post_clip_norm"] == pytest.approx(1.0, rel=1e-6) and clipped["clip_coefficient"] < 1


def test_normalized_ratio_is_per_element_and_never_inf() -> None:
    host = _module(torch.full((400,), 1.0))  # norm 20, rms 1
    seed = _module(torch.full((4,), 0.5))  # norm 1, rms 0.5
    metrics = DualGradientCollector().collect(host, seed)
    assert metrics.norm_ratio == pytest.approx(1 / 20)
    assert metrics.normalized_ratio == pytest.approx(0.5)
    assert metrics.host.num_elements == 400 and metrics.seed.num_elements == 4
    zero_host = DualGradientCollector().collect(_module(torch.zeros(5)), seed)
    assert zero_host.norm_ratio == math.inf and zero_host.normalized_ratio == 0.0
    zero_seed = DualGradientCollector().collect(host, _module(torch.zeros(5)))
    assert zero_seed.normalized_ratio == 0.0
    nan = DualGradientCollector().collect(host, _module(torch.tensor([math.nan])))
    assert math.isnan(nan.normalized_ratio)
    flat = metrics.to_dict()
    assert flat["normalized_ratio"] == pytest.approx(0.5) and flat["host/num_elements"] == 400
    assert all(type(v) in (float, int, bool) for v in flat.values())


def test_host_once_many_seeds_one_read(count_host_reads, monkeypatch: pytest.MonkeyPatch) -> None:
    host = _module(torch.full((400,), 1.0))
    seeds = [_module(torch.full((4,), s)) for s in (0.5, 1.0, 2.0)]
    collector = DualGradientCollector()
    seen = []
    original = collector.collector.collect_async
    monkeypatch.setattr(collector.collector, "collect_async", lambda params: seen.append(1) or original(params))
    host_stats = collector.collect_host_async(host)
    many = [collector.collect_seed_async(seed, host_stats) for seed in seeds]
    assert len(seen) == 1 + len(seeds)  # the host group was collected once
    with count_host_reads() as reads:
        results = collector.materialize_all(many)
    assert reads.count == 1, reads.events
    assert [r.normalized_ratio for r in results] == pytest.approx([0.5, 1.0, 2.0])
    assert [r.seed.total_norm for r in results] == pytest.approx([1.0, 2.0, 4.0])
    assert all(r.host.total_norm == pytest.approx(20.0) for r in results)
    single = collector.materialize(collector.collect_async(host, seeds[0]))
    assert single.normalized_ratio == pytest.approx(0.5)


def test_named_norms_has_lightnings_keys_and_values() -> None:
    from lightning.pytorch.utilities import grad_norm

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    model(torch.randn(8, 5)).pow(2).sum().backward()
    model[2].bias.grad = None
    for p in (2, 1.0, "inf"):
        theirs = grad_norm(model, p)
        ours = gr.named_norms(model, p)
        assert list(ours) == list(theirs)
        for key, value in theirs.items():
            assert ours[key].item() == pytest.approx(value.item(), rel=1e-6), key
    assert list(gr.named_norms(model, 2, group_separator=".")) == list(grad_norm(model, 2, group_separator="."))
    with pytest.raises(ValueError):
        gr.named_norms(model, 0)


def test_named_norms_is_safe_where_lightnings_overflows() -> None:
    from lightning.pytorch.utilities import grad_norm

    model = _module(torch.full((1000,), 1e20), torch.full((10,), 1.0))
    assert grad_norm(model, 2)["grad_2.0_norm_total"].item() == math.inf
    ours = gr.named_norms(model, 2)
    assert ours["grad_2.0_norm/p0"].item() == pytest.approx(math.sqrt(1000) * 1e20, rel=1e-6)
    assert ours["grad_2.0_norm_total"].item() == pytest.approx(math.sqrt(1000) * 1e20, rel=1e-6)
