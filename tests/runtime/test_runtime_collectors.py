"""GradientCollector: metrics from the per-tensor norms, health score, frozen results."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from gradlint_runtime import (
    EXPLODING_HEALTH_PENALTY,
    VANISHING_HEALTH_PENALTY,
    GradientCollector,
    GradientHealthMetrics,
    GradientStats,
    collect_async,
    total_norm,
)


def _params(*grads) -> list:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros_like(g) if g is not None else torch.zeros(1))
        p.grad = g
        params.append(p)
    return params


def test_metrics_match_a_direct_computation(norm_path: str) -> None:
    grads = [
        torch.full((10,), 1e-10),  # vanishing
        torch.full((100,), 50.0),  # exploding (norm 500)
        torch.randn(30),
        torch.full((5000,), 1e20),  # exploding, and would overflow a naive norm
    ]
    metrics = GradientCollector().collect(_params(*grads, None))
    norms = [float(torch.linalg.vector_norm(g.double())) for g in grads]
    assert metrics.num_tensors == 4
    assert metrics.total_norm == pytest.approx(float(total_norm(grads)), rel=1e-6)
    assert metrics.min_norm == pytest.approx(min(norms), rel=1e-6)
    assert metrics.max_norm == pytest.approx(max(norms), rel=1e-6)
    assert metrics.tensor_norms == pytest.approx(norms, rel=1e-6)
    assert (metrics.vanishing_count, metrics.exploding_count) == (1, 2)
    assert not metrics.has_nonfinite and (metrics.nan_count, metrics.inf_count) == (0, 0)
    expected = 1 - VANISHING_HEALTH_PENALTY * 1 / 4 - EXPLODING_HEALTH_PENALTY * 2 / 4
    assert metrics.health == pytest.approx(expected)
    assert metrics.zero_count is None


def test_health_is_clamped_at_zero() -> None:
    metrics = GradientCollector(exploding_threshold=0.0).collect(_params(torch.ones(3), torch.ones(2)))
    assert metrics.exploding_count == 2 and metrics.health == pytest.approx(1 - EXPLODING_HEALTH_PENALTY)
    # every tensor both vanishing and exploding: 1 - 0.5 - 0.8 < 0, clamped
    metrics = GradientCollector(vanishing_threshold=10.0, exploding_threshold=0.5).collect(_params(torch.ones(3)))
    assert (metrics.vanishing_count, metrics.exploding_count) == (1, 1)
    assert metrics.health == 0.0


def test_nonfinite_gradients_zero_health_and_are_counted(norm_path: str) -> None:
    a = torch.ones(20)
    a[3] = math.nan
    b = torch.ones(7)
    b[0], b[1] = math.inf, -math.inf
    metrics = GradientCollector().collect(_params(a, b, torch.ones(5)))
    assert metrics.has_nonfinite and metrics.health == 0.0
    assert (metrics.nan_tensor_count, metrics.inf_tensor_count) == (1, 1)
    assert (metrics.nan_count, metrics.inf_count) == (1, 2)
    assert math.isnan(metrics.total_norm)


def test_zero_count_is_opt_in() -> None:
    g = torch.tensor([0.0, 1.0, 0.0, 2.0])
    assert GradientCollector().collect(_params(g)).zero_count is None
    assert GradientCollector(count_zeros=True).collect(_params(g, torch.zeros(3))).zero_count == 5


def test_empty_collection() -> None:
    metrics = GradientCollector().collect([])
    assert metrics.num_tensors == 0 and metrics.total_norm == 0.0 and metrics.health == 1.0
    assert metrics.tensor_norms == ()


def test_collect_async_returns_float64_device_tensors() -> None:
    stats = collect_async(_params(torch.ones(4), torch.ones(9)))
    assert isinstance(stats, GradientStats)
    for name in ("total_norm", "min_norm", "max_norm", "vanishing_count", "health"):
        value = getattr(stats, name)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64 and value.dim() == 0
    assert stats.norms.shape == (2,)


def test_results_are_frozen_and_slotted() -> None:
    stats = collect_async(_params(torch.ones(4)))
    metrics = GradientCollector().materialize(stats)
    for obj in (stats, metrics):
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.total_norm = 0  # type: ignore[misc]
        assert not hasattr(obj, "__dict__")
    assert isinstance(metrics, GradientHealthMetrics)


def test_generator_of_parameters_is_accepted() -> None:
    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    assert GradientCollector().collect(model.parameters()).num_tensors == 2
    assert GradientCollector().collect(model).num_tensors == 2


def test_other_norm_orders() -> None:
    metrics = GradientCollector(norm_type=math.inf).collect(_params(torch.tensor([1.0, -3.0]), torch.tensor([2.0])))
    assert metrics.total_norm == 3.0 and metrics.tensor_norms == (3.0, 2.0)
