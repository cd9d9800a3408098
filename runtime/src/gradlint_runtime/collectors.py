"""Gradient-health telemetry in two steps: collect on device, then read once.

``collect_async`` derives everything from the per-tensor safe norms of one norm pass (a
safe norm is NaN exactly when its tensor holds a NaN and inf when it holds an inf), so the
vanishing/exploding counts and the non-finite flags cost no extra pass over the gradients.
NaN/Inf *element* counts are computed in ``collect_async`` too, so the stats hold no
reference to the gradients: on CPU only for the tensors the norm pass flagged (free), on
other devices for every tensor (one extra pass; ``count_nonfinite=False`` skips it).
``materialize`` stacks every result into one tensor and reads it with one ``tolist()``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import overload

import torch
from torch import Tensor

from ._engine import Suspects
from ._inputs import TensorsOrParameters, gradients, local_tensor
from .clip import clip_coefficient, scale_gradients_
from .constants import (
    EXPLODING_HEALTH_PENALTY,
    EXPLODING_THRESHOLD,
    VANISHING_HEALTH_PENALTY,
    VANISHING_THRESHOLD,
)
from .norms import check_order, result_dtype, total_norm_f64

# GradientStats' tensor fields in the order ``pack`` puts them, before the per-tensor norms
_PACKED = (
    "total_norm",
    "min_norm",
    "max_norm",
    "vanishing_count",
    "exploding_count",
    "nan_tensor_count",
    "inf_tensor_count",
    "nan_count",
    "inf_count",
    "zero_count",
    "health",
    "post_clip_norm",
    "clip_coefficient",
)
_SCALARS = len(_PACKED)


_INDEX = {name: k for k, name in enumerate(_PACKED)}


class _Statistic:
    """A 0-dim view of ``packed`` at this statistic's place, made on access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.index = _INDEX[name]

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Statistic: ...
    @overload
    def __get__(self, obj: GradientStats, owner: type | None = None) -> Tensor: ...
    def __get__(self, obj: GradientStats | None, owner: type | None = None) -> Tensor | _Statistic:
        return self if obj is None else obj.packed[self.index]


class _OptionalStatistic(_Statistic):
    """A statistic that may not have been computed: None then."""

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        self.name = name

    def __get__(self, obj: GradientStats | None, owner: type | None = None) -> Tensor | None | _Statistic:  # type: ignore[override]
        if obj is None:
            return self
        return None if self.name in obj.absent else obj.packed[self.index]


@dataclass(frozen=True)
class GradientStats:
    """Device tensors from ``collect_async``; nothing in here has been read to the host, and
    nothing refers to the gradients (they may be freed or changed right after collecting).

    Every statistic lives in one float64 vector (``packed``: the scalars in ``_PACKED``
    order, then the per-tensor norms), so that ``materialize`` reads it with one
    ``tolist()``; the named statistics (``total_norm``, ``norms``, ``health``, ...) are 0-dim
    (``norms``: 1-D) views of it, made when read. ``nan_count`` / ``inf_count`` are None when
    counting is off, ``zero_count`` unless ``count_zeros``; ``post_clip_norm`` /
    ``clip_coefficient`` unless the stats come from ``collect_and_clip_async`` (``absent``
    names the statistics that were not computed).
    """

    # slots by hand: ``slots=True`` rebuilds the class, and the rebuilt class's frozen
    # ``__setattr__`` then fails with a TypeError on names that are not fields (Python 3.11)
    __slots__ = ("absent", "num_elements", "num_tensors", "packed")

    packed: Tensor
    num_tensors: int
    num_elements: int
    absent: frozenset[str]

    total_norm = _Statistic()
    min_norm = _Statistic()
    max_norm = _Statistic()
    vanishing_count = _Statistic()
    exploding_count = _Statistic()
    nan_tensor_count = _Statistic()
    inf_tensor_count = _Statistic()
    nan_count = _OptionalStatistic()
    inf_count = _OptionalStatistic()
    zero_count = _OptionalStatistic()
    health = _Statistic()
    post_clip_norm = _OptionalStatistic()
    clip_coefficient = _OptionalStatistic()

    @property
    def norms(self) -> Tensor:
        """The per-tensor norms (1-D view)."""
        return self.packed[_SCALARS:]


def _stats(packed: Tensor, num_tensors: int, num_elements: int, absent: frozenset[str]) -> GradientStats:
    """``GradientStats`` over ``packed`` (its statistics are views made when read)."""
    return GradientStats(packed, num_tensors, num_elements, absent)


@dataclass(frozen=True, slots=True)
class GradientHealthMetrics:
    """Host values from ``materialize``.

    ``health`` is ``clamp(1 - VANISHING_HEALTH_PENALTY * vanishing/num_tensors -
    EXPLODING_HEALTH_PENALTY * exploding/num_tensors, 0, 1)``, 0 when any gradient is
    non-finite, 1 when there are no gradients. ``nan_tensor_count``/``inf_tensor_count``
    count tensors whose norm is NaN/inf (for float64 gradients, inf also when the norm itself
    exceeds float64's range). ``nan_count``/``inf_count`` are element counts, or None when
    counting was switched off. ``num_elements`` is the number of gradient elements (the
    parameter count of the parameters that have a gradient). ``zero_count`` is None unless the
    collector was built with ``count_zeros=True``. ``post_clip_norm``/``clip_coefficient``
    are set by ``collect_and_clip`` (None otherwise).
    """

    total_norm: float
    min_norm: float
    max_norm: float
    num_tensors: int
    num_elements: int
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
    post_clip_norm: float | None = None
    clip_coefficient: float | None = None

    @property
    def has_vanishing(self) -> bool:
        """Some tensor's norm is below the vanishing threshold."""
        return self.vanishing_count > 0

    @property
    def has_exploding(self) -> bool:
        """Some tensor's norm is above the exploding threshold."""
        return self.exploding_count > 0

    @property
    def clipped(self) -> bool:
        """``collect_and_clip`` scaled the gradients down (False when not clipping)."""
        return self.clip_coefficient is not None and self.clip_coefficient < 1.0

    def is_healthy(self) -> bool:
        """No non-finite gradient, no vanishing and no exploding tensor."""
        return not (self.has_nonfinite or self.has_vanishing or self.has_exploding)

    def to_dict(self, prefix: str = "") -> dict[str, float | int | bool]:
        """Flat ``{prefix + name: float | int | bool}``, ready for ``log_dict``: every scalar
        field, ``has_vanishing``/``has_exploding``/``is_healthy``; fields that are None (not
        computed) and the per-tensor norms are left out (see ``named_norms`` for those)."""
        out: dict[str, float | int | bool] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and not isinstance(value, tuple):
                out[prefix + f.name] = value
        out[prefix + "has_vanishing"] = self.has_vanishing
        out[prefix + "has_exploding"] = self.has_exploding
        out[prefix + "is_healthy"] = self.is_healthy()
        return out


class GradientCollector:
    """Collects gradient-health statistics without host syncs, then reads them once.

    Args:
        vanishing_threshold: per-tensor norms below this count as vanishing.
        exploding_threshold: per-tensor norms above this count as exploding.
        norm_type: the order of the norms (see ``total_norm``).
        count_nonfinite: count the NaN/Inf elements (in ``collect_async``). On CPU this costs
            nothing unless a gradient is non-finite; on other devices it is one extra pass.
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
        with torch.no_grad():
            return self._collect(gradients(parameters))[0]

    def collect_and_clip_async(
        self, parameters: TensorsOrParameters, max_norm: float, foreach: bool | None = None
    ) -> GradientStats:
        """``collect_async`` and clip the gradients to total norm ``max_norm`` with the same
        norms (one norm pass): the stats describe the gradients *before* clipping, plus
        ``post_clip_norm`` and ``clip_coefficient``. No host read (CPU: the one flag read)."""
        with torch.no_grad():
            stats, grads = self._collect(gradients(parameters))
            coef = clip_coefficient(stats.total_norm, float(max_norm))
            scale_gradients_(grads, coef, foreach)
            packed = stats.packed.clone()
            packed[_INDEX["post_clip_norm"]] = stats.total_norm * coef
            packed[_INDEX["clip_coefficient"]] = coef
            absent = stats.absent - {"post_clip_norm", "clip_coefficient"}
            return _stats(packed, stats.num_tensors, stats.num_elements, absent)

    def _collect(self, grads: list[Tensor]) -> tuple[GradientStats, list[Tensor]]:
        suspects = Suspects()
        norms, total = total_norm_f64(grads, self.norm_type, dtype=result_dtype(grads), suspects=suspects)
        if suspects.values is not None:
            return self._host_stats(suspects.values, suspects.numel or 0, grads), grads
        assert norms is not None
        n = len(grads)
        zero = torch.zeros((), dtype=torch.float64, device=total.device)
        # every count from the per-tensor norms, in one reduction:
        # [vanishing, exploding, NaN tensors, inf tensors]
        counts = torch.stack(
            [norms < self.vanishing_threshold, norms > self.exploding_threshold, torch.isnan(norms), torch.isinf(norms)]
        ).sum(dim=1, dtype=torch.float64)
        # health = clamp(1 - penalties, 0, 1), and 0 when a tensor is NaN/inf: a weight of -2
        # per non-finite tensor takes the score below 0 (the counts are finite integers)
        share = 1.0 / max(n, 1)
        weights = torch.tensor(
            [-VANISHING_HEALTH_PENALTY * share, -EXPLODING_HEALTH_PENALTY * share, -2.0, -2.0],
            dtype=torch.float64,
            device=total.device,
        )
        health = torch.clamp(1.0 + counts @ weights, 0.0, 1.0)
        low_high = torch.aminmax(norms) if n else (zero, zero)
        absent = set()
        if self.count_nonfinite:
            if suspects.indices is not None and not suspects.indices:
                nan_inf = torch.zeros(2, dtype=torch.float64, device=total.device)  # nothing flagged: no pass
            else:
                suspect = grads if suspects.indices is None else [grads[i] for i in suspects.indices]
                nan_inf = _nan_inf_counts(suspect, zero)
        else:
            nan_inf = torch.zeros(2, dtype=torch.float64, device=total.device)
            absent |= {"nan_count", "inf_count"}
        if self.count_zeros:
            zeros = _zero_count(grads, zero).reshape(1)
        else:
            zeros = zero.reshape(1)
            absent.add("zero_count")
        absent |= {"post_clip_norm", "clip_coefficient"}
        scalars = torch.cat(
            [
                torch.stack([total, low_high[0], low_high[1]]),
                counts,
                nan_inf,
                zeros,
                torch.stack([health, zero, zero]),
                norms,
            ]
        )
        numel = suspects.numel if suspects.numel is not None else sum(g.numel() for g in grads)
        stats = _stats(scalars, n, numel, frozenset(absent))
        return stats, grads

    def _host_stats(self, values: list[float], numel: int, grads: list[Tensor]) -> GradientStats:
        """The statistics from per-tensor norms the eager CPU pass has read anyway and found all
        in range (so none is NaN/inf): the formulas of ``_collect`` on floats, packed with one
        tensor construction instead of a dozen small tensor ops."""
        n = len(values)
        share = 1.0 / n
        vanishing = sum(map(self.vanishing_threshold.__gt__, values))
        exploding = sum(map(self.exploding_threshold.__lt__, values))
        penalty = vanishing * (-VANISHING_HEALTH_PENALTY * share) + exploding * (-EXPLODING_HEALTH_PENALTY * share)
        health = min(max(1.0 + penalty, 0.0), 1.0)
        # _PACKED order; the NaN/inf tensor and element counts are 0, the clip fields unset
        scalars = [math.hypot(*values), min(values), max(values), vanishing, exploding, 0, 0, 0, 0, 0, health, 0, 0]
        packed = torch.frombuffer(array("d", scalars + values), dtype=torch.float64)  # owns the array
        absent = {"post_clip_norm", "clip_coefficient"}
        if not self.count_nonfinite:
            absent |= {"nan_count", "inf_count"}
        if self.count_zeros:
            packed[_INDEX["zero_count"]] = _zero_count(grads, torch.zeros((), dtype=torch.float64))
        else:
            absent.add("zero_count")
        return _stats(packed, n, numel, frozenset(absent))

    def materialize(self, stats: GradientStats) -> GradientHealthMetrics:
        """Read the statistics to the host with exactly one read (one ``tolist()``)."""
        return self.metrics_from(stats, pack(stats).tolist())

    def collect(self, parameters: TensorsOrParameters) -> GradientHealthMetrics:
        """``materialize(collect_async(parameters))``."""
        return self.materialize(self.collect_async(parameters))

    def collect_and_clip(
        self, parameters: TensorsOrParameters, max_norm: float, foreach: bool | None = None
    ) -> GradientHealthMetrics:
        """``materialize(collect_and_clip_async(parameters, max_norm))``."""
        return self.materialize(self.collect_and_clip_async(parameters, max_norm, foreach))

    def metrics_from(self, stats: GradientStats, values: Sequence[float]) -> GradientHealthMetrics:
        """Build the metrics from the values read by ``materialize`` (internal; shared with ``dual``)."""
        named = dict(zip(_PACKED, values))

        absent = stats.absent

        def optional(name: str, kind: type) -> float | int | None:
            return None if name in absent else kind(named[name])

        return GradientHealthMetrics(
            total_norm=named["total_norm"],
            min_norm=named["min_norm"],
            max_norm=named["max_norm"],
            num_tensors=stats.num_tensors,
            num_elements=stats.num_elements,
            vanishing_count=int(named["vanishing_count"]),
            exploding_count=int(named["exploding_count"]),
            has_nonfinite=bool(named["nan_tensor_count"] or named["inf_tensor_count"]),
            nan_tensor_count=int(named["nan_tensor_count"]),
            inf_tensor_count=int(named["inf_tensor_count"]),
            nan_count=optional("nan_count", int),  # type: ignore[arg-type]
            inf_count=optional("inf_count", int),  # type: ignore[arg-type]
            zero_count=optional("zero_count", int),  # type: ignore[arg-type]
            health=named["health"],
            tensor_norms=tuple(values[_SCALARS : _SCALARS + stats.num_tensors]),
            post_clip_norm=optional("post_clip_norm", float),
            clip_coefficient=optional("clip_coefficient", float),
        )


def pack(stats: GradientStats) -> Tensor:
    """Every statistic in one float64 vector: the ``_PACKED`` scalars, then per-tensor norms."""
    return stats.packed


def _zero_count(grads: list[Tensor], zero: Tensor) -> Tensor:
    """Exactly-zero elements; ``numel - count_nonzero`` allocates nothing (``(g == 0).sum()``
    would build a mask and an int64 copy of it)."""
    total = zero
    for g in grads:
        g = local_tensor(g)
        total = total + (g.numel() - torch.count_nonzero(g)).to(device=zero.device, dtype=torch.float64)
    return total


def _nan_inf_counts(grads: list[Tensor], like: Tensor) -> Tensor:
    """[NaN elements, Inf elements] summed over ``grads``, float64 on ``like``'s device."""
    counts = torch.zeros(2, dtype=torch.float64, device=like.device)
    for g in grads:
        g = local_tensor(g)
        pair = torch.stack([torch.count_nonzero(torch.isnan(g)), torch.count_nonzero(torch.isinf(g))])
        counts = counts + pair.to(device=like.device, dtype=torch.float64)
    return counts


def collect_async(parameters: TensorsOrParameters) -> GradientStats:
    """``GradientCollector().collect_async(parameters)`` with the default thresholds."""
    return GradientCollector().collect_async(parameters)


def collect_and_clip(parameters: TensorsOrParameters, max_norm: float, norm_type: float = 2.0) -> GradientHealthMetrics:
    """Health metrics and clipping from one norm pass, with the default thresholds.

    Returns the metrics of the gradients before clipping, with ``post_clip_norm`` and
    ``clip_coefficient`` set; the gradients are clipped in place to total norm ``max_norm``.
    """
    return GradientCollector(norm_type=norm_type).collect_and_clip(parameters, max_norm)


def named_norms(
    module: torch.nn.Module, norm_type: float | str = 2.0, group_separator: str = "/"
) -> dict[str, Tensor]:
    """Per-parameter gradient norms by name plus the total: Lightning's ``grad_norm`` keys.

    Keys are ``f"grad_{float(norm_type)}_norm{group_separator}{name}"`` for every parameter
    with a gradient and ``f"grad_{float(norm_type)}_norm_total"``; values are 0-dim float32
    tensors (float64 for float64 gradients) from one safe norm pass, with no host read on
    accelerators (Lightning's builds its total with one read per parameter).

    Raises:
        ValueError: for ``norm_type <= 0`` other than ``inf`` (as Lightning's).
    """
    p = float(norm_type)
    if p <= 0 and p != math.inf:
        raise ValueError(f"`norm_type` must be a positive number or 'inf' (infinity norm). Got {norm_type}")
    with torch.no_grad():
        named = [(name, param.grad) for name, param in module.named_parameters() if param.grad is not None]
        grads = [g for _, g in named if g.numel() > 0]
        dtype = result_dtype(grads)
        norms, total = total_norm_f64(grads, check_order(p), dtype=dtype)
        values = norms.to(dtype.dtype).unbind() if grads else ()
        names = [name for name, g in named if g.numel() > 0]
        out = {f"grad_{p}_norm{group_separator}{name}": value for name, value in zip(names, values)}
        out[f"grad_{p}_norm_total"] = total.to(dtype.dtype)
    return out
