"""Per-tensor p-norms that neither overflow nor underflow, and their combination.

Two strategies give the same values (to float32 rounding):

- **CPU, eager, p = 2** (``_cpu_fast``): one fast float32 pass in short rows (torch's CPU
  norm kernel accumulates naively and loses ~1e-2 at 1e8 elements), and a scaled recompute
  of the rare tensors whose fast norm may have overflowed or underflowed. Choosing them
  takes one read of the per-tensor norms (``l2_total``, which needs only the total, reads
  the fast total instead and forms per-tensor norms only when that may be off); on CPU
  there is no device to wait for, so this read costs nothing, but it is a read, and the
  tests count it.
- **Any other device, under torch.compile, or another p** (``_branch_free_norms``): no read
  at all. float32/float16/bfloat16 accumulate in float64 (one fused kernel on CUDA; bounded
  chunks on CPU, where a float64 request copies), which holds ``|x|**p`` of every such value
  for ``p <= F64_SAFE_MAX_P``; float64 inputs and larger ``p`` always take the scaled path.

All per-tensor results are float64 so combining them cannot overflow or underflow either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter

import torch
from torch import Tensor

from . import _compat
from ._cpu_fast import cpu_gated_l2_norms, cpu_gated_l2_total
from ._kernels import INF, chunked_f64_norm, foreach_norms, nonzero_counts, scaled_norm

F64_SAFE_MAX_P = 6.0
"""float64 represents ``|x|**p`` of every finite float32 when ``p <= 6`` (3.4e38**6 < 1.8e308)."""

CPU_HOST_READ = True
"""Allow the one flag read on CPU. Tests switch it off to run the device path on CPU."""


_is_cpu = attrgetter("is_cpu")


def all_cpu(tensors: Sequence[Tensor]) -> bool:
    """Every tensor on the CPU; computed once per call and passed down (it reads every tensor).
    In eager mode a C-level scan; under torch.compile the generator the compiler traces."""
    if _compat.is_compiling():
        return all(t.is_cpu for t in tensors)
    return all(map(_is_cpu, tensors))


def uses_host_read(tensors: Sequence[Tensor], on_cpu: bool | None = None) -> bool:
    """The fast gated path runs only in eager mode on CPU tensors (``on_cpu``: already known)."""
    if not CPU_HOST_READ or _compat.is_compiling():
        return False
    return all_cpu(tensors) if on_cpu is None else on_cpu


def _by_dtype(tensors: Sequence[Tensor]) -> dict[torch.dtype, list[int]]:
    groups: dict[torch.dtype, list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault(t.dtype, []).append(i)
    return groups


def _extreme_norms(tensors: Sequence[Tensor], p: float, foreach: bool | None) -> Tensor:
    """inf / -inf norms: a max or min of ``|x|`` is exact in the input dtype."""
    parts: list[Tensor] = [torch.empty(0)] * len(tensors)
    for indices in _by_dtype(tensors).values():
        for i, r in zip(indices, foreach_norms([tensors[i] for i in indices], p, None, foreach)):
            parts[i] = r.to(torch.float64)
    return torch.stack(parts)


def _branch_free_norms(tensors: Sequence[Tensor], p: float, foreach: bool | None) -> Tensor:
    # Eager CPU float64 requests copy whole tensors; chunk them there. Elsewhere one fused call.
    host_chunks = tensors[0].device.type == "cpu" and not _compat.is_compiling()
    parts: list[Tensor] = [torch.empty(0)] * len(tensors)
    for dtype, indices in _by_dtype(tensors).items():
        group = [tensors[i] for i in indices]
        if dtype != torch.float64 and p <= F64_SAFE_MAX_P:
            if host_chunks:
                results = [chunked_f64_norm(t, p) for t in group]
            else:
                results = foreach_norms(group, p, torch.float64, foreach)
        else:
            results = [scaled_norm(t, p) for t in group]
        for i, r in zip(indices, results):
            parts[i] = r
    return torch.stack(parts)


class Suspects:
    """Which tensors may hold a NaN/inf, as far as the norm pass knows without a read.

    ``indices`` is None when the path cannot tell (the branch-free path: any tensor may);
    otherwise the indices of the tensors the CPU pass flagged (a superset of those with a
    NaN/inf, found from the norms it reads anyway). ``values``: the per-tensor norms as
    floats when the CPU pass read them and flagged none (else None); ``numel``: the element
    count it knows from its cached plan (else None).
    """

    __slots__ = ("indices", "numel", "values")

    def __init__(self) -> None:
        self.indices: list[int] | None = None
        self.values: list[float] | None = None
        self.numel: int | None = None


def per_tensor_norms(
    tensors: Sequence[Tensor], p: float, foreach: bool | None = None, suspects: Suspects | None = None
) -> Tensor:
    """Safe p-norm of every (non-empty) tensor as a 1-D float64 tensor on the first device.

    Args:
        tensors: non-empty floating tensors, possibly on several devices and of mixed dtypes.
        p: the order: any p > 0, ``inf``, ``-inf`` (min ``|x|``) or 0 (non-zero count).
        foreach: passed to the per-group norm call (None: use the fused op when present).

    Returns:
        float64 norms, one per tensor, NaN for tensors with a NaN, inf for tensors with an inf.
    """
    on_cpu = all_cpu(tensors)
    if on_cpu:  # the common case, without building device objects
        return _same_device_norms(tensors, p, foreach, on_cpu=True, suspects=suspects)
    device = tensors[0].device
    by_device: dict[torch.device, list[int]] = {}
    for i, t in enumerate(tensors):
        by_device.setdefault(t.device, []).append(i)
    if len(by_device) == 1:
        return _same_device_norms(tensors, p, foreach, suspects=suspects)
    out: list[Tensor] = [torch.empty(0)] * len(tensors)
    for indices in by_device.values():
        norms = _same_device_norms([tensors[i] for i in indices], p, foreach).to(device)
        for i, r in zip(indices, norms.unbind()):
            out[i] = r
    return torch.stack(out)


def _same_device_norms(
    tensors: Sequence[Tensor],
    p: float,
    foreach: bool | None,
    on_cpu: bool | None = None,
    suspects: Suspects | None = None,
) -> Tensor:
    if p == 0:
        return nonzero_counts(tensors)
    if math.isinf(p):
        return _extreme_norms(tensors, p, foreach)
    if p == 2.0 and uses_host_read(tensors, on_cpu):  # torch's other-p CPU kernels lose ~1e-5 in float32
        norms, found = cpu_gated_l2_norms(tensors, foreach)
        if suspects is not None:
            suspects.indices, suspects.values, suspects.numel = found.flagged, found.values, found.numel
        return norms
    return _branch_free_norms(tensors, p, foreach)


def l2_total(tensors: Sequence[Tensor], foreach: bool | None) -> Tensor | None:
    """The total 2-norm (0-dim float64) of plain float32/float16/bfloat16 tensors in eager mode
    on CPU, without per-tensor norms (``cpu_gated_l2_total``: one read of the total, a second
    only when it may have over- or underflowed); None anywhere else (the caller's general path).
    """
    if not uses_host_read(tensors):
        return None
    return cpu_gated_l2_total(tensors, foreach)


def combine(norms: Tensor, p: float, narrow_inputs: bool = False) -> Tensor:
    """Total p-norm (0-dim float64) of per-tensor float64 norms; 0 when there are none.

    ``narrow_inputs``: no tensor was float64, so every norm is within float32's range times
    a count, and float64 holds its p-th power for ``p <= F64_SAFE_MAX_P``: one plain call.
    Otherwise the norms are scaled by their max first.
    """
    if norms.numel() == 0:
        return torch.zeros((), dtype=torch.float64, device=norms.device)
    if p == 0:
        return norms.sum()
    if p == INF:
        return norms.amax()
    if p == -INF:
        return norms.amin()
    if narrow_inputs and p <= F64_SAFE_MAX_P:
        total: Tensor = torch.linalg.vector_norm(norms, p)
        return total
    clean = torch.where(torch.isfinite(norms), norms, torch.zeros_like(norms))
    top = clean.amax()
    total = top * ((clean / torch.where(top > 0, top, torch.ones_like(top))) ** p).sum() ** (1.0 / p)
    total = torch.where(torch.isinf(norms).any(), torch.full_like(total, INF), total)
    return torch.where(torch.isnan(norms).any(), torch.full_like(total, math.nan), total)
