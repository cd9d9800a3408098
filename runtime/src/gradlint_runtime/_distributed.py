"""Reduce local per-tensor norms to the global norm of a sharded model.

Each rank holds a disjoint shard of the gradients. The scaling trick survives the reduction:
first the global max of the per-tensor norms is all-reduced (MAX), then every rank sums its
p-th powers *relative to that shared scale* (SUM), so no rank ever forms a raw p-th power
that could overflow or underflow. NaN/inf travel as flags, since a MAX reduction is not
guaranteed to propagate NaN. Two small collectives, no host read.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
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


def _reduce(values: Tensor, op: Any, groups: list[Any]) -> Tensor:
    for group in groups:
        _all_reduce(values, op, group)
    return values


def reduce_per_tensor(norms: Tensor, p: float, groups: list[Any]) -> Tensor:
    """Per-tensor norms of sharded tensors from each rank's norms of its shards (1-D float64).

    Every rank holds a shard of *each* tensor (DTensor ``Shard`` placements): the same
    scaling as ``global_norm`` (a shared MAX, then a SUM of p-th powers relative to it),
    element-wise, over each process group in ``groups`` (one per sharded mesh dimension).
    """
    import torch.distributed as dist

    if not groups or norms.numel() == 0:
        return norms
    nan = torch.isnan(norms)
    if p == 0:
        clean = torch.where(nan, torch.zeros_like(norms), norms)
        packed = _reduce(torch.stack([clean, nan.to(torch.float64)]), dist.ReduceOp.SUM, groups)
        total = packed[0]
    elif p == math.inf or p == -math.inf:
        sign = 1.0 if p == math.inf else -1.0
        fill = 0.0 if p == math.inf else -math.inf
        local = torch.where(nan, torch.full_like(norms, fill), norms * sign)
        packed = _reduce(torch.stack([local, nan.to(torch.float64)]), dist.ReduceOp.MAX, groups)
        total = packed[0] * sign
    else:
        finite = torch.where(torch.isfinite(norms), norms, torch.zeros_like(norms))
        packed = _reduce(
            torch.stack([finite, torch.isinf(norms).to(torch.float64), nan.to(torch.float64)]), dist.ReduceOp.MAX, groups
        )
        top = packed[0]
        scale = torch.where(top > 0, top, torch.ones_like(top))
        powsum = _reduce((finite / scale) ** p, dist.ReduceOp.SUM, groups)
        total = torch.where(packed[1] > 0, torch.full_like(top, math.inf), top * powsum ** (1.0 / p))
        packed = packed[1:]
    return torch.where(packed[1] > 0, torch.full_like(total, math.nan), total)


def dtensor_class() -> type | None:
    """``DTensor`` when torch.distributed.tensor has been imported (a DTensor exists only then)."""
    module = sys.modules.get("torch.distributed.tensor")
    return getattr(module, "DTensor", None) if module is not None else None


def dtensor_norms(
    grads: list[Tensor], p: float, per_tensor: Callable[[list[Tensor]], Tensor], dtensor: type
) -> Tensor:
    """Per-tensor norms when some gradients are DTensors: each local shard is normed like any
    tensor (by ``per_tensor``), then reduced over the mesh dimensions it is sharded on.
    Replicated dimensions need no reduction (every rank holds the whole tensor); a
    ``Partial`` gradient is first reduced to ``Replicate`` (one collective, rare for gradients).
    """
    from torch.distributed.tensor import Replicate

    locals_: list[Tensor] = []
    groups: dict[tuple[Any, tuple[int, ...]], list[int]] = {}
    for i, g in enumerate(grads):
        if not isinstance(g, dtensor):
            locals_.append(g)
            continue
        placements = tuple(g.placements)
        if any(pl.is_partial() for pl in placements):
            placements = tuple(Replicate() if pl.is_partial() else pl for pl in placements)
            g = g.redistribute(g.device_mesh, placements)
        local = g.to_local()
        if local.numel() == 0:  # an empty shard: the neutral element of the reduction
            local = torch.full((1,), math.inf if p == -math.inf else 0.0, dtype=local.dtype, device=local.device)
        locals_.append(local)
        sharded = tuple(d for d, pl in enumerate(placements) if pl.is_shard())
        if sharded:
            groups.setdefault((g.device_mesh, sharded), []).append(i)
    norms = per_tensor(locals_)
    for (mesh, dims), indices in groups.items():
        index = torch.tensor(indices, device=norms.device)
        reduced = reduce_per_tensor(norms[index], p, [mesh.get_group(d) for d in dims])
        norms = norms.index_copy(0, index, reduced)
    return norms
