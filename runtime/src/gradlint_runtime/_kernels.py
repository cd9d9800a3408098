"""Per-tensor norm kernels shared by the CPU and device strategies of ``_engine``."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def scaled_norm(t: Tensor, p: float) -> Tensor:
    """Exact-range p-norm of one tensor, float64, branch-free (no host read).

    The max-abs ``m = mant * 2**e`` is exact; dividing by ``2**e`` (split in two factors so
    float64 subnormals can be scaled too) maps every element into [0, 1], where ``|x|**p``
    can neither overflow nor lose the dominant terms. Non-finite or zero ``m`` is the answer.
    """
    m = torch.linalg.vector_norm(t, INF).to(torch.float64)
    ok = torch.isfinite(m) & (m > 0)
    _, e = torch.frexp(torch.where(ok, m, torch.ones_like(m)))
    e = e.to(torch.int64)
    e_hi = torch.div(e, 2, rounding_mode="floor")
    one = torch.ones_like(m)
    s_hi, s_lo = torch.ldexp(one, -e_hi), torch.ldexp(one, e_hi - e)
    flat = t.reshape(-1)
    powsum = torch.zeros_like(m)
    for start in range(0, flat.numel(), SCALED_CHUNK):
        chunk = flat[start : start + SCALED_CHUNK].to(torch.float64) * s_hi * s_lo
        powsum = powsum + torch.linalg.vector_norm(chunk, p) ** p  # noqa: GL001 (elements scaled into [0, 1]: the safe form)
    return torch.where(ok, powsum ** (1.0 / p) / s_hi / s_lo, m)


def chunked_f64_norm(t: Tensor, p: float) -> Tensor:
    """float64-accumulated norm in bounded chunks (a float64 request copies on CPU)."""
    flat = t.reshape(-1)
    powsum = torch.zeros((), dtype=torch.float64, device=t.device)
    for start in range(0, flat.numel(), SCALED_CHUNK):
        powsum = powsum + torch.linalg.vector_norm(flat[start : start + SCALED_CHUNK], p, dtype=torch.float64) ** p
    return powsum ** (1.0 / p)


def nonzero_counts(tensors: Sequence[Tensor]) -> Tensor:
    """Non-zero counts as float64 (exact to 2**53, unlike ``vector_norm(ord=0)``), NaN kept."""
    out = []
    for t in tensors:
        count = torch.count_nonzero(t).to(torch.float64)
        nan_probe = torch.linalg.vector_norm(t, 1, dtype=accumulation_dtype(t.dtype))  # NaN only from NaN
        out.append(torch.where(torch.isnan(nan_probe), nan_probe.to(torch.float64), count))
    return torch.stack(out)
