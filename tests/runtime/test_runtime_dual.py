"""DualGradientCollector: two groups, one read, a ratio that is defined at zero."""

from __future__ import annotations

import math

import pytest
import torch
from gradlint_runtime import DualGradientCollector, collect_dual_async, materialize_dual
from gradlint_runtime.dual import norm_ratio, seed_share


def _model(scale: float, n: int = 2) -> torch.nn.Module:
    model = torch.nn.Linear(n, n, bias=False)
    model.weight.grad = torch.full_like(model.weight, scale)
    return model


@pytest.mark.parametrize(
    "seed,host,ratio,share",
    [
        (0.0, 0.0, 0.0, 0.0),
        (3.0, 0.0, math.inf, 1.0),
        (0.0, 2.0, 0.0, 0.0),
        (3.0, 6.0, 0.5, 1 / 3),
        (math.nan, 1.0, math.nan, math.nan),
        (1.0, math.nan, math.nan, math.nan),
    ],
)
def test_ratio_definition(seed: float, host: float, ratio: float, share: float) -> None:
    s, h = torch.tensor(seed, dtype=torch.float64), torch.tensor(host, dtype=torch.float64)
    got, got_share = norm_ratio(s, h).item(), seed_share(s, h).item()
    assert (math.isnan(got) and math.isnan(ratio)) or got == pytest.approx(ratio)
    assert (math.isnan(got_share) and math.isnan(share)) or got_share == pytest.approx(share)


def test_collect_dual_both_groups() -> None:
    host, seed = _model(1.0), _model(0.5)
    metrics = DualGradientCollector().collect(host, seed)
    assert metrics.host.total_norm == pytest.approx(2.0)
    assert metrics.seed.total_norm == pytest.approx(1.0)
    assert metrics.norm_ratio == pytest.approx(0.5)
    assert metrics.seed_share == pytest.approx(1 / 3)


def test_generators_and_module_level_functions() -> None:
    host, seed = _model(1.0), _model(0.0)
    stats = collect_dual_async(host.parameters(), seed.parameters())
    metrics = materialize_dual(stats)
    assert metrics.host.num_tensors == 1 and metrics.seed.num_tensors == 1
    assert metrics.norm_ratio == 0.0 and metrics.seed.vanishing_count == 1


def test_device_is_inferred_not_defaulted() -> None:
    host = torch.nn.Linear(2, 2, device="meta")
    seed = torch.nn.Linear(2, 2, device="meta")
    for p in list(host.parameters()) + list(seed.parameters()):
        p.grad = torch.empty_like(p)
    stats = collect_dual_async(host, seed)
    assert stats.device == torch.device("meta") and stats.norm_ratio.device.type == "meta"
    empty_host = collect_dual_async([], seed)
    assert empty_host.device == torch.device("meta")
    explicit = DualGradientCollector().collect_async(_model(1.0), _model(1.0), device="cpu")
    assert explicit.device == torch.device("cpu")


def test_empty_groups() -> None:
    metrics = DualGradientCollector().collect([], [])
    assert metrics.norm_ratio == 0.0 and metrics.host.num_tensors == 0
