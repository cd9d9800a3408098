"""Gradient-health telemetry in two steps: collect on device, then read once.

``collect_async`` derives everything from the per-tensor safe norms of one norm pass (a
safe norm is NaN exactly when its tensor holds a NaN and inf when it holds an inf), so the
vanishing/exploding counts and the non-finite flags cost no extra pass over the gradients.
``materialize`` stacks every result into one tensor and reads it with one ``tolist()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ._inputs import TensorsOrParameters, gradients
from .constants import (
    EXPLODING_HEALTH_PENALTY,
    EXPLODING_THRESHOLD,
    VANISHING_HEALTH_PENALTY,
    VANISHING_THRESHOLD,
)
from .norms import check_order, total_norm_f64

# GradientStats' scalar fields in the order ``pack`` puts them, before the per-tensor norms
_PACKED = (
    "total_norm",
    "min_norm",
    "max_norm",
    "vanishing_count",
    "exploding_count",
    "nan_tensor_count",
    "inf_tensor_count",
    "zero_count",
    "health",
)
_SCALARS = len(_PACKED)


@dataclass(frozen=True, slots=True)
class GradientStats:
    """Device tensors from ``collect_async``; nothing in here has been read to the host.

    All tensors are float64 and 0-dim except ``norms`` (one per gradient). ``grads`` keeps
    references (not copies) so that NaN/Inf elements can be counted later, only if needed.
    """

    total_norm: Tensor
    norms: Tensor
    min_norm: Tensor
    max_norm: Tensor
    vanishing_count: Tensor
    exploding_count: Tensor
    nan_tensor_count: Tensor
    inf_tensor_count: Tensor
    zero_count: Tensor | None
    health: Tensor
    num_tensors: int
    grads: tuple[Tensor, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class GradientHealthMetrics:
    """Host values from ``materialize``.

    ``health`` is ``clamp(1 - VANISHING_HEALTH_PENALTY * vanishing/num_tensors -
    EXPLODING_HEALTH_PENALTY * exploding/num_tensors, 0, 1)``, 0 when any gradient is
    non-finite, 1 when there are no gradients. ``nan_tensor_count``/``inf_tensor_count``
    count tensors whose norm is NaN/inf (for float64 gradients, inf also when the norm itself
    exceeds float64's range). ``nan_count``/``inf_count`` are element counts,
    computed only when ``has_nonfinite`` (else 0), or None when counting was switched off.
    ``zero_count`` is None unless the collector was built with ``count_zeros=True``.
    """

    total_norm: float
    min_norm: float
    max_norm: float
    num_tensors: int
    vanishing_count: int
    exploding_count: int
    has_nonfinite: bool
    nan_tensor_count: int
    inf_tensor_count: int
    nan_count: int | None
    inf_count: int | None
    zero_count: int | None
    health: float
    tensor_norms: tuple[float, ...]


class GradientCollector:
    """Collects gradient-health statistics without host syncs, then reads them once.

    Args:
        vanishing_threshold: per-tensor norms below this count as vanishing.
        exploding_threshold: per-tensor norms above this count as exploding.
        norm_type: the order of the norms (see ``total_norm``).
        count_nonfinite: when the gradients turn out non-finite, ``materialize`` counts the
            NaN/Inf elements of the offending tensors (one extra pass and read, only then).
        count_zeros: also count exactly-zero elements (one extra pass over every gradient).
    """

    def __init__(
        self,
        vanishing_threshold: float = VANISHING_THRESHOLD,
        exploding_threshold: float = EXPLODING_THRESHOLD,
        *,
        norm_type: float = 2.0,
        count_nonfinite: bool = True,
        count_zeros: bool = False,
    ) -> None:
        self.vanishing_threshold = float(vanishing_threshold)
        self.exploding_threshold = float(exploding_threshold)
        self.norm_type = check_order(norm_type)
        self.count_nonfinite = count_nonfinite
        self.count_zeros = count_zeros

    def collect_async(self, parameters: TensorsOrParameters) -> GradientStats:
        """Compute the statistics on the gradients' device; no host read (see ``total_norm``
        for the one CPU-only read of the norm pass).

        Args:
            parameters: a module, or parameters (read through ``.grad``, ``None`` skipped), or
                gradient tensors.

        Returns:
            ``GradientStats`` of float64 device tensors.
        """
        grads = gradients(parameters)
        norms, total = total_norm_f64(grads, self.norm_type)
        n = len(grads)
        zero = torch.zeros((), dtype=torch.float64, device=total.device)
        # every count from the per-tensor norms, in one reduction
        flags = torch.stack(
            [norms < self.vanishing_threshold, norms > self.exploding_threshold, torch.isnan(norms), torch.isinf(norms)]
        )
        vanishing, exploding, nan_tensors, inf_tensors = flags.sum(dim=1, dtype=torch.float64).unbind()
        denominator = float(max(n, 1))
        penalty = vanishing * (VANISHING_HEALTH_PENALTY / denominator) + exploding * (
            EXPLODING_HEALTH_PENALTY / denominator
        )
        health = torch.where(flags[2:].any(), zero, torch.clamp(1.0 - penalty, 0.0, 1.0))
        low, high = torch.aminmax(norms) if n else (zero, zero)
        return GradientStats(
            total_norm=total,
            norms=norms,
            min_norm=low,
            max_norm=high,
            vanishing_count=vanishing,
            exploding_count=exploding,
            nan_tensor_count=nan_tensors,
            inf_tensor_count=inf_tensors,
            zero_count=_zero_count(grads, zero) if self.count_zeros else None,
            health=health,
            num_tensors=n,
            grads=tuple(grads),
        )

    def materialize(self, stats: GradientStats) -> GradientHealthMetrics:
        """Read the statistics to the host with exactly one read (one ``tolist()``).

        Only if a gradient is non-finite and ``count_nonfinite`` is on, a second pass over
        the offending tensors and a second read count their NaN/Inf elements.
        """
        values = pack(stats).tolist()
        return self.metrics_from(stats, values, self.nonfinite_counts([stats], [values])[0])

    def collect(self, parameters: TensorsOrParameters) -> GradientHealthMetrics:
        """``materialize(collect_async(parameters))``."""
        return self.materialize(self.collect_async(parameters))

    def nonfinite_counts(
        self, stats: Sequence[GradientStats], values: Sequence[list[float]]
    ) -> list[tuple[int, int] | None]:
        """(NaN, Inf) element counts per stats (internal; shared with ``dual``): only the
        tensors whose norm is not finite are scanned, and only when one exists."""
        if not self.count_nonfinite:
            return [None] * len(stats)
        if not any(_has_nonfinite(v) for v in values):
            return [(0, 0)] * len(stats)
        pending: list[Tensor] = []
        for s, v in zip(stats, values):
            flagged = [g for g, r in zip(s.grads, v[_SCALARS:]) if not math.isfinite(r)]
            pending.append(_nan_inf_counts(flagged, s.total_norm))
        read = torch.cat([t.to(pending[0].device) for t in pending]).tolist()  # rare second read
        return [(int(read[2 * i]), int(read[2 * i + 1])) for i in range(len(stats))]

    def metrics_from(
        self, stats: GradientStats, values: list[float], nan_inf: tuple[int, int] | None
    ) -> GradientHealthMetrics:
        """Build the metrics from the values read by ``materialize`` (internal; shared with ``dual``)."""
        named = dict(zip(_PACKED, values))
        return GradientHealthMetrics(
            total_norm=named["total_norm"],
            min_norm=named["min_norm"],
            max_norm=named["max_norm"],
            num_tensors=stats.num_tensors,
            vanishing_count=int(named["vanishing_count"]),
            exploding_count=int(named["exploding_count"]),
            has_nonfinite=_has_nonfinite(values),
            nan_tensor_count=int(named["nan_tensor_count"]),
            inf_tensor_count=int(named["inf_tensor_count"]),
            nan_count=None if nan_inf is None else nan_inf[0],
            inf_count=None if nan_inf is None else nan_inf[1],
            zero_count=None if stats.zero_count is None else int(named["zero_count"]),
            health=named["health"],
            tensor_norms=tuple(values[_SCALARS:]),
        )


def pack(stats: GradientStats) -> Tensor:
    """Every statistic in one float64 vector: the ``_PACKED`` scalars, then per-tensor norms."""
    absent = torch.zeros_like(stats.total_norm)
    scalars = [getattr(stats, name) for name in _PACKED]
    return torch.cat([torch.stack([absent if s is None else s for s in scalars]), stats.norms])


def _has_nonfinite(values: Sequence[float]) -> bool:
    """From read values: does any tensor have a NaN or inf norm?"""
    return bool(values[_PACKED.index("nan_tensor_count")] or values[_PACKED.index("inf_tensor_count")])


def _zero_count(grads: list[Tensor], zero: Tensor) -> Tensor:
    """Exactly-zero elements; ``numel - count_nonzero`` allocates nothing (``(g == 0).sum()``
    would build a mask and an int64 copy of it)."""
    total = zero
    for g in grads:
        total = total + (g.numel() - torch.count_nonzero(g)).to(device=zero.device, dtype=torch.float64)
    return total


def _nan_inf_counts(grads: list[Tensor], like: Tensor) -> Tensor:
    """[NaN elements, Inf elements] summed over ``grads``, float64 on ``like``'s device."""
    counts = torch.zeros(2, dtype=torch.float64, device=like.device)
    for g in grads:
        pair = torch.stack([torch.count_nonzero(torch.isnan(g)), torch.count_nonzero(torch.isinf(g))])
        counts = counts + pair.to(device=like.device, dtype=torch.float64)
    return counts


def collect_async(parameters: TensorsOrParameters) -> GradientStats:
    """``GradientCollector().collect_async(parameters)`` with the default thresholds."""
    return GradientCollector().collect_async(parameters)
