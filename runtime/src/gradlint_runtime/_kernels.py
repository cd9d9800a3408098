"""Per-tensor norm kernels shared by the CPU and device strategies of ``_engine``."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from . import _compat

SCALED_CHUNK = 1 << 18
"""Elements per float64 temporary in the scaled/float64 paths (2 MiB): bounds their memory."""

INF = math.inf


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; every other floating dtype accumulates in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def foreach_norms(tensors: Sequence[Tensor], p: float, dtype: torch.dtype | None, foreach: bool | None) -> list[Tensor]:
    """Per-tensor ``vector_norm``; through the fused private op when allowed and present."""
    op = _compat.private_foreach_norm()
    if foreach is True and op is None:
        raise RuntimeError("foreach=True but this torch has no torch._foreach_norm")
    if op is not None and foreach is not False and (dtype is None or _compat.FOREACH_NORM_ACCEPTS_DTYPE):
        return list(op(list(tensors), p) if dtype is None else op(list(tensors), p, dtype=dtype))
    return [torch.linalg.vector_norm(t, p, dtype=dtype) for t in tensors]


def _chunks(t: Tensor, limit: int = SCALED_CHUNK) -> Iterator[Tensor]:
    """Views that cover ``t`` exactly once, each of at most ``limit`` elements (or one
    row of the innermost dimension), following the memory order: never a copy of ``t``."""
    if t.dim() == 0 or t.numel() <= limit:
        yield t
        return
    if t.dim() == 1:
        for start in range(0, t.shape[0], limit):
            yield t[start : start + limit]
        return
    inner = t[0].numel()
    if inner <= limit:
        step = max(limit // inner, 1)
        for start in range(0, t.shape[0], step):
            yield t[start : start + step]
        return
    for k in range(t.shape[0]):
        yield from _chunks(t[k], limit)


def memory_order(t: Tensor) -> tuple[Tensor, float]:
    """``t`` with its dimensions permuted into memory order (largest stride first), every
    broadcast (stride-0) dimension narrowed to one element, and how many copies of each
    element that removed: ``norm_p(t) = count ** (1/p) * norm_p(result)``."""
    copies = 1.0
    for dim in range(t.dim()):
        if t.stride(dim) == 0 and t.shape[dim] > 1:
            copies *= t.shape[dim]
            t = t.narrow(dim, 0, 1)
    if t.dim() > 1:
        order = sorted(range(t.dim()), key=lambda d: -t.stride(d))
        t = t.permute(order)
    return t, copies


def _powsum(chunk: Tensor, p: float) -> Tensor:
    """sum(|x| ** p) of a float64 chunk with torch's cascade summation (``vector_norm``
    accumulates naively on CPU: ~1e-14 relative in float64)."""
    if p == 2.0:
        return torch.sum(chunk * chunk)
    if p == 1.0:
        return torch.sum(chunk.abs())
    return torch.sum(chunk.abs() ** p)


def real_view(t: Tensor, p: float) -> Tensor:
    """The real tensor with the same p-norm: for complex ``z``, ``|z|`` (the 2-norm needs no
    copy: it is the 2-norm of the real and imaginary parts)."""
    if not t.is_complex():
        return t
    return torch.view_as_real(t) if p == 2.0 else t.abs()


def scaled_norm(t: Tensor, p: float) -> Tensor:
    """Exact-range p-norm of one tensor of any layout, float64, branch-free (no host read).

    The max-abs ``m`` is exact. Every element is divided by it (a power of two, split in two
    factors so float64 subnormals scale too, then the mantissa), which maps it into [0, 1]
    with the maximum at 1: ``|x|**p`` can neither overflow nor lose the dominant terms, for
    any ``p`` (even ``p >= 1075``, where ``0.5 ** p`` is 0). Non-finite or zero ``m`` is the
    answer. Strided and broadcast tensors are read in place, in bounded chunks: float64
    results are within a few ulps.
    """
    t, copies = memory_order(real_view(t, p))
    m = torch.linalg.vector_norm(t, INF).to(torch.float64)
    ok = torch.isfinite(m) & (m > 0)
    mant, e = torch.frexp(torch.where(ok, m, torch.ones_like(m)))
    e = e.to(torch.int64)
    e_hi = torch.div(e, 2, rounding_mode="floor")
    one = torch.ones_like(m)
    s_hi, s_lo = torch.ldexp(one, -e_hi), torch.ldexp(one, e_hi - e)
    powsum = torch.zeros_like(m)
    for chunk in _chunks(t):
        powsum = powsum + _powsum(chunk.to(torch.float64) * s_hi * s_lo / mant, p)
    if copies != 1.0:
        powsum = powsum * copies
    return torch.where(ok, powsum ** (1.0 / p) * mant / s_hi / s_lo, m)


def chunked_f64_norm(t: Tensor, p: float) -> Tensor:
    """float64-accumulated norm in bounded chunks (a float64 request copies on CPU), any layout."""
    t, copies = memory_order(real_view(t, p))
    powsum = torch.zeros((), dtype=torch.float64, device=t.device)
    for chunk in _chunks(t):
        powsum = powsum + _powsum(chunk.to(torch.float64), p)
    if copies != 1.0:
        powsum = powsum * copies
    return powsum ** (1.0 / p)


def nonzero_counts(tensors: Sequence[Tensor]) -> Tensor:
    """Non-zero counts as float64 (exact to 2**53, unlike ``vector_norm(ord=0)``), NaN kept."""
    out = []
    for t in tensors:
        count = torch.count_nonzero(t).to(torch.float64)
        nan_probe = torch.linalg.vector_norm(t, 1, dtype=accumulation_dtype(t.dtype))  # NaN only from NaN
        out.append(torch.where(torch.isnan(nan_probe), nan_probe.to(torch.float64), count))
    return torch.stack(out)
