"""Gradient clipping that reports pre- and post-clip norms from a single norm pass."""

from __future__ import annotations

import torch
from torch import Tensor

from . import _compat
from ._inputs import TensorsOrParameters, gradients
from .constants import CLIP_EPSILON
from .norms import check_order, raise_if_nonfinite, result_dtype, total_norm_f64


def clip_coefficient(total: Tensor, max_norm: float) -> Tensor:
    """``min(max_norm / (total + eps), 1)``, and 1 when ``total`` is NaN/inf.

    ``total`` comes from the safe float64 norm, so it is non-finite only when a gradient is,
    never because squares overflowed; leaving such gradients unscaled (instead of torch's
    multiply by 0 or NaN) keeps every finite gradient intact for the caller to inspect.
    """
    coef = torch.clamp(max_norm / (total + CLIP_EPSILON), max=1.0)
    return torch.where(torch.isfinite(total), coef, torch.ones_like(coef))


def scale_gradients_(grads: list[Tensor], coef: Tensor, foreach: bool | None = None) -> None:
    """Multiply gradients in place by a 0-dim ``coef``, one fused call per (device, dtype)."""
    groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for g in grads:
        groups.setdefault((g.device, g.dtype), []).append(g)
    mul_ = _compat.private_foreach_mul_()
    if foreach is True and mul_ is None:
        raise RuntimeError("foreach=True but this torch has no torch._foreach_mul_")
    for (device, dtype), group in groups.items():
        # Half types multiply by a float32 factor (computed in float32): a float16 copy of
        # a small coefficient would flush to 0.
        factor = coef.to(device=device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
        if mul_ is not None and foreach is not False:
            mul_(group, factor)
        else:
            for g in group:
                g.mul_(factor)


def clip_grad_norm(
    parameters: TensorsOrParameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """Clip gradients in place to total norm ``max_norm``; a safe ``clip_grad_norm_``.

    One norm pass: the post-clip norm is ``pre * coefficient``, not recomputed. No host read
    in the default path (the coefficient is applied unconditionally, 1 when not clipping).
    Unlike torch's, a norm too large for float32 never zeroes finite gradients, since the
    coefficient comes from the float64 norm; a NaN/inf norm leaves gradients unscaled.

    Args:
        parameters: a module, a tensor, or an iterable of parameters (their ``.grad`` are
            clipped; ``None`` grads skipped).
        max_norm: the largest total norm to allow.
        norm_type: the order, as in ``total_norm``.
        error_if_nonfinite: raise when the norm is NaN/inf (reads it: a host sync on GPU).
        foreach: ``None`` uses the fused private ops where present, ``False`` never.

    Returns:
        ``(pre_clip, post_clip)`` 0-dim tensors, float32 (float64 for float64 gradients), on
        the first gradient's device.
    """
    p = check_order(norm_type)
    grads = gradients(parameters)
    dtype = result_dtype(grads)
    _, total = total_norm_f64(grads, p, foreach, dtype=dtype)
    pre = total.to(dtype)
    if error_if_nonfinite:
        raise_if_nonfinite(pre, norm_type)
    coef = clip_coefficient(total, float(max_norm))
    scale_gradients_(grads, coef, foreach)
    return pre, (total * coef).to(dtype)
