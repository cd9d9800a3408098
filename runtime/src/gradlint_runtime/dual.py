"""Health statistics of two parameter groups at once: a host model and a grafted "seed" module.

Both groups are collected on their own devices, moved (0-dim results only) to one device
inferred from the parameters, and read together with a single ``tolist()``.

Ratio definition (safe to log): ``norm_ratio = seed_norm / host_norm`` with ``0/0 -> 0`` (no
gradient anywhere: nothing to compare) and ``x/0 -> inf`` for ``x > 0``; NaN if either norm
is NaN. ``seed_share = seed_norm / (host_norm + seed_norm)`` is the bounded companion in
[0, 1] (0 when both are zero; NaN if either is NaN, or both are inf), for dashboards
that cannot plot inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._inputs import TensorsOrParameters
from .collectors import GradientCollector, GradientHealthMetrics, GradientStats, pack
from .constants import EXPLODING_THRESHOLD, VANISHING_THRESHOLD
from .devices import DeviceLike, infer_device


@dataclass(frozen=True, slots=True)
class DualGradientStats:
    """Device results of ``collect_dual_async``; ``norm_ratio``/``seed_share`` are 0-dim float64."""

    host: GradientStats
    seed: GradientStats
    norm_ratio: Tensor
    seed_share: Tensor
    device: torch.device


@dataclass(frozen=True, slots=True)
class DualGradientHealthMetrics:
    """Host values of both groups plus their norm ratio (see the module docstring)."""

    host: GradientHealthMetrics
    seed: GradientHealthMetrics
    norm_ratio: float
    seed_share: float


def norm_ratio(seed: Tensor, host: Tensor) -> Tensor:
    """``seed / host`` with ``0/0 -> 0`` and ``x/0 -> inf``; NaN if either is NaN."""
    safe_host = torch.where(host > 0, host, torch.ones_like(host))
    ratio = torch.where(host > 0, seed / safe_host, torch.where(seed > 0, torch.full_like(seed, math.inf), seed * 0))
    return torch.where(torch.isnan(seed) | torch.isnan(host), torch.full_like(ratio, math.nan), ratio)


def seed_share(seed: Tensor, host: Tensor) -> Tensor:
    """``seed / (host + seed)`` in [0, 1]; 0 when both are zero, NaN if either is NaN."""
    both = host + seed
    return torch.where(both > 0, seed / torch.where(both > 0, both, torch.ones_like(both)), both * 0)


class DualGradientCollector:
    """``GradientCollector`` for a host model and a seed module, read with one host read.

    Args:
        vanishing_threshold, exploding_threshold: as for ``GradientCollector``.
        count_nonfinite, count_zeros: as for ``GradientCollector``.
    """

    def __init__(
        self,
        vanishing_threshold: float = VANISHING_THRESHOLD,
        exploding_threshold: float = EXPLODING_THRESHOLD,
        *,
        count_nonfinite: bool = True,
        count_zeros: bool = False,
    ) -> None:
        self.collector = GradientCollector(
            vanishing_threshold, exploding_threshold, count_nonfinite=count_nonfinite, count_zeros=count_zeros
        )

    def collect_async(
        self,
        host_parameters: TensorsOrParameters,
        seed_parameters: TensorsOrParameters,
        device: DeviceLike | None = None,
    ) -> DualGradientStats:
        """Collect both groups without a host read.

        Args:
            host_parameters: the host model (module, parameters or gradients).
            seed_parameters: the grafted seed module (same forms).
            device: where the combined results live; ``None`` infers it from the host
                parameters, then the seed parameters, then CPU (never a silent literal).

        Returns:
            ``DualGradientStats``; per-group tensors stay on their gradients' device.
        """
        host = _as_list(host_parameters)
        seed = _as_list(seed_parameters)
        target = torch.device(device) if device is not None else infer_device(host, default=infer_device(seed))
        host_stats = self.collector.collect_async(host)
        seed_stats = self.collector.collect_async(seed)
        host_norm = host_stats.total_norm.to(target)
        seed_norm = seed_stats.total_norm.to(target)
        return DualGradientStats(
            host=host_stats,
            seed=seed_stats,
            norm_ratio=norm_ratio(seed_norm, host_norm),
            seed_share=seed_share(seed_norm, host_norm),
            device=target,
        )

    def materialize(self, stats: DualGradientStats) -> DualGradientHealthMetrics:
        """One host read for both groups and the ratio (a second only for non-finite counts)."""
        host_packed = pack(stats.host).to(stats.device)
        seed_packed = pack(stats.seed).to(stats.device)
        values = torch.cat([host_packed, seed_packed, torch.stack([stats.norm_ratio, stats.seed_share])]).tolist()
        cut = host_packed.numel()
        host_values, seed_values = values[:cut], values[cut : cut + seed_packed.numel()]
        counts = self.collector.nonfinite_counts([stats.host, stats.seed], [host_values, seed_values])
        return DualGradientHealthMetrics(
            host=self.collector.metrics_from(stats.host, host_values, counts[0]),
            seed=self.collector.metrics_from(stats.seed, seed_values, counts[1]),
            norm_ratio=values[-2],
            seed_share=values[-1],
        )

    def collect(
        self,
        host_parameters: TensorsOrParameters,
        seed_parameters: TensorsOrParameters,
        device: DeviceLike | None = None,
    ) -> DualGradientHealthMetrics:
        """``materialize(collect_async(...))``."""
        return self.materialize(self.collect_async(host_parameters, seed_parameters, device))


def _as_list(source: TensorsOrParameters) -> list[Tensor | None] | torch.nn.Module | Tensor:
    """Keep modules and tensors; turn anything else (generators included) into a list we own."""
    if isinstance(source, (torch.nn.Module, Tensor)):
        return source
    return list(source)


def collect_dual_async(
    host_parameters: TensorsOrParameters,
    seed_parameters: TensorsOrParameters,
    device: DeviceLike | None = None,
) -> DualGradientStats:
    """``DualGradientCollector().collect_async(...)`` with the default thresholds."""
    return DualGradientCollector().collect_async(host_parameters, seed_parameters, device)


def materialize_dual(stats: DualGradientStats) -> DualGradientHealthMetrics:
    """``DualGradientCollector().materialize(stats)``."""
    return DualGradientCollector().materialize(stats)
