"""Gradient clipping: drop-ins for torch's ``clip_grad_norm_`` / ``clip_grads_with_norm_``, and a
form that also reports the post-clip norm, all from a single norm pass."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from . import _compat
from ._inputs import TensorsOrParameters, gradients, local_tensor
from .constants import CLIP_EPSILON
from .norms import check_order, raise_if_nonfinite, result_dtype, total_norm_f64


class ClipNorms(NamedTuple):
    """``clip_grad_norm_pre_post``'s result: 0-dim tensors, unpackable as ``pre, post``."""

    pre: Tensor
    post: Tensor


def clip_coefficient(total: Tensor, max_norm: float | Tensor) -> Tensor:
    """``min(max_norm / (total + eps), 1)``, and 1 when ``total`` is NaN/inf.

    ``total`` comes from the safe float64 norm, so it is non-finite only when a gradient is,
    never because squares overflowed; leaving such gradients unscaled (instead of torch's
    multiply by 0 or NaN) keeps every finite gradient intact for the caller to inspect.
    """
    coef = torch.clamp(max_norm / (total + CLIP_EPSILON), max=1.0)
    return torch.where(torch.isfinite(total), coef, torch.ones_like(coef))


def scale_gradients_(grads: list[Tensor], coef: Tensor, foreach: bool | None = None) -> None:
    """Multiply gradients in place by a 0-dim ``coef``, one fused call per (device, dtype).

    DTensor gradients are scaled through their local shard (the same storage)."""
    groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for g in grads:
        g = local_tensor(g)
        groups.setdefault((g.device, g.dtype), []).append(g)
    mul_ = _compat.private_foreach_mul_()
    if foreach is True and mul_ is None:
        raise RuntimeError("foreach=True but this torch has no torch._foreach_mul_")
    for (device, dtype), group in groups.items():
        # Half types multiply by a float32 factor (computed in float32): a float16 copy of
        # a small coefficient would flush to 0.
        wide = dtype in (torch.float64, torch.complex128)
        factor = coef.to(device=device, dtype=torch.float64 if wide else torch.float32)
        if mul_ is not None and foreach is not False:
            mul_(group, factor)
        else:
            for g in group:
                g.mul_(factor)


def _clip(
    parameters: TensorsOrParameters,
    max_norm: float,
    norm_type: float,
    error_if_nonfinite: bool,
    foreach: bool | None,
    process_group: Any,
) -> tuple[Tensor, Tensor, torch.dtype]:
    """(float64 total, float64 coefficient, result dtype); the gradients are scaled."""
    p = check_order(norm_type)
    grads = gradients(parameters)
    dtype = result_dtype(grads)
    _, total = total_norm_f64(grads, p, foreach, process_group, dtype=dtype, want_norms=False)
    if error_if_nonfinite:
        raise_if_nonfinite(total, norm_type)
    coef = clip_coefficient(total, float(max_norm))
    scale_gradients_(grads, coef, foreach)
    return total, coef, dtype.dtype


@torch.no_grad()
def clip_grad_norm_(
    parameters: TensorsOrParameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
    *,
    process_group: Any = None,
) -> Tensor:
    """Clip gradients in place to total norm ``max_norm``: a safe ``torch.nn.utils.clip_grad_norm_``.

    Same parameters (name, position, default) and return value as torch's: the total norm of
    the gradients before clipping, as a 0-dim tensor. No host read in the default path (the
    coefficient is applied unconditionally, 1 when not clipping). Unlike torch's, a norm too
    large for float32 never zeroes finite gradients, since the coefficient comes from the
    float64 norm; a NaN/inf norm leaves gradients unscaled.

    Args:
        parameters: a module, a tensor, or an iterable of parameters (their ``.grad`` are
            clipped; ``None`` grads skipped).
        max_norm: the largest total norm to allow.
        norm_type: the order, as in ``total_norm``.
        error_if_nonfinite: raise when the norm is NaN/inf (reads it: a host sync on GPU).
        foreach: ``None`` uses the fused private ops where present, ``False`` never.
        process_group: a group holding disjoint shards of the model: clip by the global norm.

    Returns:
        The pre-clip total norm: 0-dim float32 (float64 for float64 gradients; torch returns
        the gradients' dtype, which overflows at 65504 for float16), on the first gradient's
        device.
    """
    total, _, dtype = _clip(parameters, max_norm, norm_type, error_if_nonfinite, foreach, process_group)
    return total.to(dtype)


clip_grad_norm = clip_grad_norm_
"""The un-suffixed alias, as ``torch.nn.utils.clip_grad_norm`` (same signature and result)."""


@torch.no_grad()
def clip_grads_with_norm_(
    parameters: TensorsOrParameters,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale gradients by ``min(max_norm / (total_norm + 1e-6), 1)``: ``torch.nn.utils.clip_grads_with_norm_``.

    Same parameters and result (``None``) as torch's; no host read. A NaN/inf ``total_norm``
    leaves the gradients unscaled (torch multiplies them by 0 or NaN).
    """
    grads = gradients(parameters)
    if not grads:
        return
    total = torch.as_tensor(total_norm).to(torch.float64)
    scale_gradients_(grads, clip_coefficient(total, float(max_norm)), foreach)


@torch.no_grad()
def clip_grad_norm_pre_post(
    parameters: TensorsOrParameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
    *,
    process_group: Any = None,
) -> ClipNorms:
    """``clip_grad_norm_`` that also returns the post-clip norm: ``ClipNorms(pre, post)``.

    One norm pass: the post-clip norm is ``pre * coefficient``, not recomputed. Arguments
    as ``clip_grad_norm_``; both results are 0-dim tensors of its result dtype.
    """
    total, coef, dtype = _clip(parameters, max_norm, norm_type, error_if_nonfinite, foreach, process_group)
    return ClipNorms(total.to(dtype), (total * coef).to(dtype))
