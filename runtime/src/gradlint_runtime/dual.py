"""Health statistics of two parameter groups at once: a host model and a grafted "seed" module.

Both groups are collected on their own devices, moved (0-dim results only) to one device
inferred from the parameters, and read together with a single ``tolist()``. For many seeds
on one host, collect the host once per step (``collect_host_async``), then each seed against
it (``collect_seed_async``), and read them all with one ``materialize_all``.

Ratio definitions (safe to log):

- ``norm_ratio = seed_norm / host_norm`` with ``0/0 -> 0`` (no gradient anywhere: nothing to
  compare) and ``x/0 -> inf`` for ``x > 0``; NaN if either norm is NaN.
- ``seed_share = seed_norm / (host_norm + seed_norm)``, the bounded companion in [0, 1] (0 when
  both are zero; NaN if either is NaN, or both are inf), for dashboards that cannot plot inf.
- ``normalized_ratio = (seed_norm / sqrt(seed_elements)) / (host_norm / sqrt(host_elements))``:
  the ratio of the per-element (root-mean-square) gradients, so a small seed is not "weak"
  just for being small. 0 when either norm is below ``RATIO_EPSILON`` (never inf: safe in an
  EMA); NaN if either norm is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._inputs import TensorsOrParameters
from .collectors import GradientCollector, GradientHealthMetrics, GradientStats, pack
from .constants import EXPLODING_THRESHOLD, RATIO_EPSILON, VANISHING_THRESHOLD
from .devices import DeviceLike, infer_device


@dataclass(frozen=True, slots=True)
class DualGradientStats:
    """Device results of ``collect_dual_async``; ``norm_ratio``/``seed_share`` are 0-dim float64."""

    host: GradientStats
    seed: GradientStats
    norm_ratio: Tensor
    seed_share: Tensor
    normalized_ratio: Tensor
    device: torch.device


@dataclass(frozen=True, slots=True)
class DualGradientHealthMetrics:
    """Host values of both groups plus their norm ratio (see the module docstring)."""

    host: GradientHealthMetrics
    seed: GradientHealthMetrics
    norm_ratio: float
    seed_share: float
    normalized_ratio: float

    def is_healthy(self) -> bool:
        """Both groups are healthy (see ``GradientHealthMetrics.is_healthy``)."""
        return self.host.is_healthy() and self.seed.is_healthy()

    def to_dict(self, prefix: str = "") -> dict[str, float | int | bool]:
        """Flat dict for ``log_dict``: ``host/...``, ``seed/...`` and the three ratios."""
        out = {**self.host.to_dict(prefix + "host/"), **self.seed.to_dict(prefix + "seed/")}
        out[prefix + "norm_ratio"] = self.norm_ratio
        out[prefix + "seed_share"] = self.seed_share
        out[prefix + "normalized_ratio"] = self.normalized_ratio
        out[prefix + "is_healthy"] = self.is_healthy()
        return out


def norm_ratio(seed: Tensor, host: Tensor) -> Tensor:
    """``seed / host`` with ``0/0 -> 0`` and ``x/0 -> inf``; NaN if either is NaN."""
    safe_host = torch.where(host > 0, host, torch.ones_like(host))
    ratio = torch.where(host > 0, seed / safe_host, torch.where(seed > 0, torch.full_like(seed, math.inf), seed * 0))
    return torch.where(torch.isnan(seed) | torch.isnan(host), torch.full_like(ratio, math.nan), ratio)


def seed_share(seed: Tensor, host: Tensor) -> Tensor:
    """``seed / (host + seed)`` in [0, 1]; 0 when both are zero, NaN if either is NaN."""
    both = host + seed
    return torch.where(both > 0, seed / torch.where(both > 0, both, torch.ones_like(both)), both * 0)


def normalized_ratio(seed: Tensor, host: Tensor, seed_elements: int, host_elements: int) -> Tensor:
    """Per-element (RMS) norm ratio; 0 when either norm is below ``RATIO_EPSILON``, NaN if
    either is NaN."""
    ok = (host >= RATIO_EPSILON) & (seed >= RATIO_EPSILON)
    scale = math.sqrt(max(host_elements, 1) / max(seed_elements, 1))
    ratio = torch.where(ok, seed / torch.where(ok, host, torch.ones_like(host)) * scale, torch.zeros_like(host))
    return torch.where(torch.isnan(seed) | torch.isnan(host), torch.full_like(ratio, math.nan), ratio)


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
        return self.collect_seed_async(seed, self.collect_host_async(host), target)

    def collect_host_async(self, host_parameters: TensorsOrParameters) -> GradientStats:
        """The host group's stats, to reuse for every seed of this step (no host read)."""
        return self.collector.collect_async(_as_list(host_parameters))

    def collect_seed_async(
        self, seed_parameters: TensorsOrParameters, host: GradientStats, device: DeviceLike | None = None
    ) -> DualGradientStats:
        """One seed against host stats from ``collect_host_async`` (the host is not re-read).

        ``device``: where the ratios live; ``None`` uses the host stats' device.
        """
        seed_stats = self.collector.collect_async(_as_list(seed_parameters))
        target = torch.device(device) if device is not None else host.total_norm.device
        host_norm = host.total_norm.to(target)
        seed_norm = seed_stats.total_norm.to(target)
        return DualGradientStats(
            host=host,
            seed=seed_stats,
            norm_ratio=norm_ratio(seed_norm, host_norm),
            seed_share=seed_share(seed_norm, host_norm),
            normalized_ratio=normalized_ratio(seed_norm, host_norm, seed_stats.num_elements, host.num_elements),
            device=target,
        )

    def materialize(self, stats: DualGradientStats) -> DualGradientHealthMetrics:
        """One host read for both groups and the ratios."""
        return self.materialize_all([stats])[0]

    def materialize_all(self, many: Sequence[DualGradientStats]) -> list[DualGradientHealthMetrics]:
        """Read several seeds' stats (sharing a host or not) with one host read in all."""
        if not many:
            return []
        device = many[0].device
        pieces: list[Tensor] = []
        for stats in many:
            pieces += [pack(stats.host).to(device), pack(stats.seed).to(device)]
            pieces.append(torch.stack([stats.norm_ratio, stats.seed_share, stats.normalized_ratio]).to(device))
        values = torch.cat(pieces).tolist()
        out = []
        at = 0
        for k, stats in enumerate(many):
            host_n, seed_n = pieces[3 * k].numel(), pieces[3 * k + 1].numel()
            host_values = values[at : at + host_n]
            seed_values = values[at + host_n : at + host_n + seed_n]
            ratio, share, normalized = values[at + host_n + seed_n : at + host_n + seed_n + 3]
            at += host_n + seed_n + 3
            out.append(
                DualGradientHealthMetrics(
                    host=self.collector.metrics_from(stats.host, host_values),
                    seed=self.collector.metrics_from(stats.seed, seed_values),
                    norm_ratio=ratio,
                    seed_share=share,
                    normalized_ratio=normalized,
                )
            )
        return out

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
