"""Public norms: a guarded ``foreach_norm`` and the overflow-safe ``norm`` / ``total_norm``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import torch
from torch import Tensor

from . import _compat, _distributed, _engine
from ._inputs import TensorsOrParameters, gradients
from ._kernels import foreach_norms, real_view


@torch.no_grad()
def foreach_norm(tensors: Iterable[Tensor], ord: float = 2.0, dtype: torch.dtype | None = None) -> list[Tensor]:
    """``torch._foreach_norm`` with a public fallback: same values, same dtypes.

    A drop-in for the private op (gradlint's GL002 safe fix): the fused op runs where this
    torch has it and it supports the arguments (``dtype=`` needs torch > 2.1), otherwise
    ``torch.linalg.vector_norm`` per tensor, which computes the identical result. It keeps
    torch's numerics, overflow included; use ``norm``/``total_norm`` for the safe ones.

    Args:
        tensors: the tensors to take norms of.
        ord: the order, as for ``torch.linalg.vector_norm``.
        dtype: accumulate and return in this dtype (``None``: the tensor's own).

    Returns:
        One 0-dim tensor per input tensor; ``[]`` for no tensors.
    """
    tensors = list(tensors)
    if not tensors:
        return []
    return foreach_norms(tensors, ord, dtype, None)


def check_order(norm_type: float) -> float:
    """The order as a float; any p > 0, inf, -inf or 0 (NaN and negative p are rejected)."""
    p = float(norm_type)
    if math.isnan(p) or (p < 0 and p != -math.inf):
        raise ValueError(f"norm_type must be > 0, 0, inf or -inf, got {norm_type!r}")
    return p


_WIDE = (torch.float64, torch.complex128)
_dtype_of = attrgetter("dtype")


class ResultDtype:
    """The result dtype of a gradient list, and whether it holds complex tensors (one scan)."""

    __slots__ = ("dtype", "complex")

    def __init__(self, grads: list[Tensor]) -> None:
        # a C-level scan in eager mode (this runs on every call); torch.compile traces the set
        dtypes = {g.dtype for g in grads} if _compat.is_compiling() else set(map(_dtype_of, grads))
        self.dtype = torch.float64 if not dtypes.isdisjoint(_WIDE) else torch.float32
        self.complex = not dtypes.isdisjoint(_COMPLEX)


def result_dtype(grads: list[Tensor]) -> ResultDtype:
    """float64 if any gradient is float64 (or complex128), else float32 (never a 16-bit
    result that overflows); ``.dtype`` is the torch dtype."""
    return ResultDtype(grads)


def prepare(grads: list[Tensor], p: float, dtype: ResultDtype | None = None) -> list[Tensor]:
    """Complex gradients become real ones with the same p-norm (a view for p = 2); DTensor
    gradients stay as they are (the engine reduces them over their mesh)."""
    if (dtype or ResultDtype(grads)).complex:
        grads = [real_view(g, p) for g in grads]
    return grads


_COMPLEX = (torch.complex64, torch.complex128, torch.complex32)


def total_norm_f64(
    grads: list[Tensor],
    p: float,
    foreach: bool | None = None,
    process_group: Any = None,
    dtype: ResultDtype | None = None,
    suspects: _engine.Suspects | None = None,
    want_norms: bool = True,
) -> tuple[Tensor | None, Tensor]:
    """(per-tensor norms, total norm), both float64, the total reduced over ``process_group``.

    ``dtype`` is ``result_dtype(grads)`` when the caller already has it. ``suspects``
    learns which tensors may hold a NaN/inf (see ``_engine.Suspects``). ``want_norms=False``:
    the caller needs only the total, and the per-tensor norms may come back as None (the
    2-norm of plain local tensors skips forming them; see ``_engine.l2_total``).
    """
    if not want_norms and p == 2.0 and process_group is None and grads and not _has_dtensor(grads):
        total = _engine.l2_total(grads, foreach)
        if total is not None:
            return None, total
    dtype = dtype or ResultDtype(grads)
    grads = prepare(grads, p, dtype)
    if process_group is not None:
        empty_device = None if grads else _distributed.communication_device(process_group)
        norms = _per_tensor(grads, p, foreach, empty_device, suspects)
        return norms, _distributed.global_norm(norms, p, process_group)
    norms = _per_tensor(grads, p, foreach, None, suspects)
    narrow = dtype.dtype == torch.float32
    return norms, _engine.combine(norms, p, narrow_inputs=narrow)


def _has_dtensor(grads: list[Tensor]) -> bool:
    dtensor = _distributed.dtensor_class()
    return dtensor is not None and any(isinstance(g, dtensor) for g in grads)


def _per_tensor(
    grads: list[Tensor], p: float, foreach: bool | None, empty_device: torch.device | None, suspects: _engine.Suspects | None
) -> Tensor:
    if not grads:
        return torch.zeros(0, dtype=torch.float64, device=empty_device or torch.device("cpu"))
    dtensor = _distributed.dtensor_class()
    if dtensor is not None and any(isinstance(g, dtensor) for g in grads):
        return _distributed.dtensor_norms(
            grads, p, lambda local: _engine.per_tensor_norms(local, p, foreach, suspects), dtensor
        )
    return _engine.per_tensor_norms(grads, p, foreach, suspects)


def raise_if_nonfinite(total: Tensor, norm_type: float) -> None:
    """Opt-in check of the float64 total (a float32 gradient set whose norm exceeds float32's
    range is finite); reading the flag is a host sync on accelerators (like torch's own)."""
    if not bool(torch.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )


@torch.no_grad()
def norm(tensor: Tensor, ord: float = 2.0) -> Tensor:
    """Overflow/underflow-safe p-norm of one tensor (under ``torch.no_grad()``: no graph).

    Args:
        tensor: any floating or complex tensor of any layout (its values; a parameter is
            *not* read through ``.grad``). Complex: the norm of ``|z|``.
        ord: p > 0 (any, however large), ``inf``, ``-inf`` (min ``|x|``) or 0 (exact non-zero
            count).

    Returns:
        0-dim float32 (float64 for float64/complex128 input), correct to float32 rounding over
        the whole finite range of the input dtype; NaN if the tensor holds a NaN, inf if an inf
        (for p > 0 and inf). An empty tensor has norm 0 (``-inf`` on an empty tensor raises).
    """
    p = check_order(ord)
    dtype = ResultDtype([tensor])
    if tensor.numel() == 0:
        if p == -math.inf:
            raise ValueError("the -inf norm (min |x|) of an empty tensor is undefined")
        return torch.zeros((), dtype=dtype.dtype, device=tensor.device)
    return _per_tensor(prepare([tensor], p, dtype), p, None, None, None)[0].to(dtype.dtype)


@torch.no_grad()
def total_norm(
    tensors: TensorsOrParameters,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
    *,
    process_group: Any = None,
) -> Tensor:
    """Total norm of many gradients, as if concatenated; a safe ``get_total_norm``.

    The first four parameters are ``torch.nn.utils.get_total_norm``'s, by name, position and
    default. Runs under ``torch.no_grad()`` (the result has no ``grad_fn``).

    Sync behaviour: on CUDA/other devices and under ``torch.compile`` no host read happens.
    On CPU tensors in eager mode (p = 2) the fast total is read once; only when it may have
    over- or underflowed (a NaN/inf gradient, extreme magnitudes) are the per-tensor norms
    read too, to pick the tensors that need the scaled recompute. A CPU read waits for no
    device, so it is not a sync.

    Args:
        tensors: a module, a tensor, or an iterable of parameters (read through ``.grad``;
            ``None`` grads skipped), gradient tensors, or ``None``. Any layout (strided,
            broadcast, offset views), complex (the norm of ``|z|``) and DTensor gradients.
        norm_type: p > 0, ``inf``, ``-inf`` (min ``|x|``) or 0 (count of non-zeros, exact).
        error_if_nonfinite: raise ``RuntimeError`` when the total is NaN/inf. Opt-in because
            it reads the result (a host sync on accelerators).
        foreach: ``None`` uses ``torch._foreach_norm`` where present, ``False`` never,
            ``True`` requires it.
        process_group: a ``torch.distributed`` group holding disjoint shards of the model; the
            result is then the global norm over all ranks (collective: every rank must call).

    Returns:
        0-dim float32 tensor (float64 if any gradient is float64) on the first gradient's
        device (CPU when there are none: then 0). Gradients on several devices have their
        per-tensor norms moved to the first device (a sync if that is the CPU). Correct to
        float32 rounding for any finite float32/float64 input (float64: a few float64 ulps)
        and to the input's rounding for float16/bfloat16 (see the README); NaN stays NaN and
        inf stays inf.
    """
    p = check_order(norm_type)
    grads = gradients(tensors)
    if p == 2.0 and process_group is None and grads and not _has_dtensor(grads):
        fast = _engine.l2_total(grads, foreach)  # eager CPU, 16/32-bit floats: a float32 result
        if fast is not None:
            if error_if_nonfinite:
                raise_if_nonfinite(fast, norm_type)
            return fast.to(torch.float32)
    dtype = ResultDtype(grads)
    _, total = total_norm_f64(grads, p, foreach, process_group, dtype)
    if error_if_nonfinite:
        raise_if_nonfinite(total, norm_type)
    return total.to(dtype.dtype)
