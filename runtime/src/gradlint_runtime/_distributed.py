"""Reduce local per-tensor norms to the global norm of a sharded model.

Each rank holds a disjoint shard of the gradients. The scaling trick survives the reduction:
first the global max of the per-tensor norms is all-reduced (MAX), then every rank sums its
p-th powers *relative to that shared scale* (SUM), so no rank ever forms a raw p-th power
that could overflow or underflow. NaN/inf travel as flags, since a MAX reduction is not
guaranteed to propagate NaN. Two small collectives, no host read.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def _flag(mask: Tensor) -> Tensor:
    return mask.any().to(torch.float64) if mask.numel() else torch.zeros((), dtype=torch.float64, device=mask.device)


def _all_reduce(values: Tensor, op: Any, group: Any) -> Tensor:
    import torch.distributed as dist

    dist.all_reduce(values, op=op, group=group)
    return values


def global_norm(norms: Tensor, p: float, group: Any) -> Tensor:
    """The p-norm over every rank's tensors, from this rank's float64 per-tensor norms.

    Args:
        norms: this rank's per-tensor norms (1-D float64, possibly empty), on the device the
            process group communicates on (CPU for gloo, CUDA for NCCL).
        p: the order (p > 0, inf, -inf or 0), as in ``total_norm``.
        group: the ``torch.distributed`` process group (or None for the default group).

    Returns:
        0-dim float64 global norm; NaN if any rank saw a NaN, inf if any saw an inf.
    """
    import torch.distributed as dist

    zero = torch.zeros((), dtype=torch.float64, device=norms.device)
    nan = _flag(torch.isnan(norms))
    clean = torch.where(torch.isnan(norms), torch.zeros_like(norms), norms)
    if p == 0:
        packed = _all_reduce(torch.stack([clean.sum(), nan]), dist.ReduceOp.SUM, group)
        total, nan_seen = packed[0], packed[1]
    elif p == math.inf:
        local = clean.amax() if norms.numel() else zero
        packed = _all_reduce(torch.stack([local, nan]), dist.ReduceOp.MAX, group)
        total, nan_seen = packed[0], packed[1]
    elif p == -math.inf:
        local = torch.where(torch.isnan(norms), torch.full_like(norms, math.inf), norms)
        local_min = local.amin() if norms.numel() else torch.full_like(zero, math.inf)
        present = torch.ones_like(zero) if norms.numel() else zero
        packed = _all_reduce(torch.stack([-local_min, nan, present]), dist.ReduceOp.MAX, group)
        total, nan_seen = torch.where(packed[2] > 0, -packed[0], zero), packed[1]
    else:
        finite = torch.where(torch.isfinite(norms), norms, torch.zeros_like(norms))
        top = finite.amax() if norms.numel() else zero
        inf = _flag(torch.isinf(norms))
        packed = _all_reduce(torch.stack([top, inf, nan]), dist.ReduceOp.MAX, group)
        scale = torch.where(packed[0] > 0, packed[0], torch.ones_like(zero))
        powsum = _all_reduce(((finite / scale) ** p).sum().reshape(1), dist.ReduceOp.SUM, group)[0]
        total = packed[0] * powsum ** (1.0 / p)
        total = torch.where(packed[1] > 0, torch.full_like(total, math.inf), total)
        nan_seen = packed[2]
    return torch.where(nan_seen > 0, torch.full_like(total, math.nan), total)


def communication_device(group: Any) -> torch.device:
    """Where an empty rank builds its (empty) contribution: CUDA for NCCL, else CPU."""
    import torch.distributed as dist

    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
