"""The eager-CPU 2-norm: one pass in short rows, exact recompute of the rare suspects.

torch's CPU norm kernel accumulates naively (relative error ~1e-2 at 1e8 elements), so
tensors are viewed as rows of ``ROW`` elements and normed along the rows: each accumulator
sums a few terms, nearly as fast as the plain kernel and accurate to float32 rounding.

float16/bfloat16 rows run torch's native half-precision row kernel, which accumulates every
row in float32 inside the kernel and rounds each row's norm to the input dtype: no float32
copy of the tensor (``dtype=float32`` on CPU converts the whole tensor first: 25x slower and
a 2x-sized temporary). The row norms are then combined in float64, so the rounding of each
row (at most half an ulp of the input dtype) is independent from row to row.

Small tensors (fewer than ``CHUNKED_MIN_NUMEL`` terms, so just as accurate) of the same shape
and dtype are stacked and normed as rows too: one kernel instead of one per tensor. Row tails
and small tensors of a shape of their own go through one foreach call per dtype (a
half-precision tensor's norm is rounded to its dtype there too).

A fast norm can be wrong only by overflowing (inf) or by losing terms to underflow (tiny);
those tensors are recomputed with scaling. Finding them takes one read of the per-tensor norms
(their values, checked on the host against per-tensor floors), which on CPU waits for no device;
when only the total is wanted, the parts are combined directly and the total is the one read
(``cpu_gated_l2_total``). Everything that depends only on the tensors' shapes (row
plan, owner index, underflow floors) is cached per layout; the cache is safe under threads.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import torch
from torch import Tensor

from ._kernels import INF, accumulation_dtype, foreach_norms, scaled_norm

ROW = 2048
"""Row length. Measured (torch 2.13, 1 thread): worst case (identical values) 8e-7 relative,
~1e-8 on real gradients, 1.09-1.10x get_total_norm at 25M/100M. 1024 is no more accurate and
slower (1.13-1.14x); 4096 is faster (1.06x) but 2.4e-6 in the worst case."""

CHUNKED_MIN_NUMEL = ROW
"""Tensors at least this big are normed as rows; smaller ones whole, in one foreach call."""

MIN_ROW = 512
"""A tensor whose size has a divisor in [MIN_ROW, ROW] is cut into rows of that length, with no
tail (a tail costs a view and a norm of its own): real shapes nearly always have one."""

STACK_MAX_NUMEL = 16384
"""Elements per stacked group of same-shape tensors: bounds the copy that ``torch.stack`` makes
(64 KiB in float32, freed before the next group). Tensors up to half this size are stacked
(ResNet's convolutions and BatchNorms, a transformer's biases and norms)."""

UNDERFLOW_MARGIN = 64.0
"""A fast sum of squares below ``numel * tiny * margin`` may have lost terms to underflow."""

_PLAN_CACHE_SIZE = 64
_FP16_TINY = torch.finfo(torch.float16).tiny
_NARROW = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class _Rest:
    """Tensors (or row tails) normed whole, in one foreach call: one input dtype."""

    dtype: torch.dtype  # the accumulation dtype
    indices: tuple[int, ...]  # the tensors
    starts: tuple[int, ...] | None  # first element of each (a row tail), None if all start at 0


@dataclass(frozen=True)
class _Plan:
    """How to cut a list of tensors of one layout into parts, and which results to doubt."""

    rows: tuple[tuple[int, int, int], ...]  # (tensor index, number of rows, row length)
    row_views: tuple[tuple[int, tuple[int, int], tuple[int, int]], ...]  # (index, size, stride) of each
    stacks: tuple[tuple[tuple[int, ...], int], ...]  # (same-shape tensors, row length)
    rest: tuple[_Rest, ...]
    exact: tuple[int, ...]  # float64 tensors: always the scaled norm (float64 rounding)
    owners: Tensor  # for every part, the index of its tensor
    floors: Tensor  # per tensor: a norm below this may have underflowed
    ceilings: Tensor  # per tensor: float64's max (a norm above it is inf)
    zeros: Tensor  # per tensor: the (never written) base of the index_add
    floor_values: tuple[float, ...]  # ``floors`` as floats, for the check on the host
    total_floor: float  # sqrt(sum of floors**2): a fast total at least this big lost nothing
    numel: int  # elements in all the tensors
    narrow: bool  # every tensor is float32, float16 or bfloat16


_Layout = tuple[tuple[torch.Size, ...], tuple[torch.dtype, ...], tuple[bool, ...]]
_plans: dict[_Layout, _Plan] = {}
_plans_lock = threading.Lock()


def _layout(tensors: Sequence[Tensor]) -> _Layout:
    # shapes, not just sizes: only same-shape tensors stack. Three flat tuples built by map over
    # the C-level accessors: this key is built and hashed on every call
    return tuple(map(_shape_of, tensors)), tuple(map(_dtype_of, tensors)), tuple(map(Tensor.is_contiguous, tensors))


_shape_of = attrgetter("shape")
_dtype_of = attrgetter("dtype")


def _make_plan(tensors: Sequence[Tensor]) -> _Plan:
    rows: list[tuple[int, int]] = []
    rest: dict[torch.dtype, list[tuple[int, int]]] = {}
    small: dict[tuple[torch.dtype, torch.Size], list[int]] = {}
    exact: list[int] = []
    floors: list[float] = []
    for i, t in enumerate(tensors):
        n = t.numel()
        acc = accumulation_dtype(t.dtype)
        info = torch.finfo(acc)
        floor = max((n * info.tiny * UNDERFLOW_MARGIN) ** 0.5, info.tiny / info.eps)
        if t.dtype == torch.float64:
            exact.append(i)
        elif n < CHUNKED_MIN_NUMEL:
            small.setdefault((t.dtype, t.shape), []).append(i)
        elif t.is_contiguous():
            row = _row_length(n)
            if n % row == 0 and 2 * n <= STACK_MAX_NUMEL:
                small.setdefault((t.dtype, t.shape), []).append(i)
            else:
                rows.append((i, n // row, row))
                if n % row:
                    rest.setdefault(t.dtype, []).append((i, n - n % row))
        else:  # large and strided: the layout-aware exact norm (no copy of the tensor)
            exact.append(i)
        if t.dtype == torch.float16:  # every part's norm is a float16: keep parts out of its subnormals
            floor = max(floor, (n / MIN_ROW + 1.0) ** 0.5 * _FP16_TINY * 2.0)
        floors.append(floor)
    stacks: list[tuple[tuple[int, ...], int]] = []
    for (dtype, shape), indices in small.items():
        n = shape.numel()
        row = n if n < CHUNKED_MIN_NUMEL else _row_length(n)
        if len(indices) == 1:  # a shape of its own: stacking would only add a copy
            if row == n:
                rest.setdefault(dtype, []).append((indices[0], 0))
            else:
                rows.append((indices[0], n // row, row))
            continue
        per_stack = max(STACK_MAX_NUMEL // n, 1)
        stacks += [(tuple(indices[k : k + per_stack]), row) for k in range(0, len(indices), per_stack)]
    groups = tuple(_rest_group(dtype, group) for dtype, group in rest.items() if group)
    # parts come out in this order: every row of the row tensors, the stacks, then the rest
    owners = [i for i, count, _ in rows for _ in range(count)]
    owners += [i for indices, row in stacks for i in indices for _ in range(tensors[i].numel() // row)]
    owners += [i for group in groups for i in group.indices]
    n = len(tensors)
    return _Plan(
        rows=tuple(rows),
        row_views=tuple((i, (count, row), (row, 1)) for i, count, row in rows),
        stacks=tuple(stacks),
        rest=groups,
        exact=tuple(exact),
        owners=torch.tensor(owners, dtype=torch.int64),
        floors=torch.tensor(floors, dtype=torch.float64),
        ceilings=torch.full((n,), torch.finfo(torch.float64).max, dtype=torch.float64),
        zeros=torch.zeros(n, dtype=torch.float64),
        floor_values=tuple(floors),
        total_floor=math.sqrt(math.fsum(f * f for f in floors)),
        numel=sum(t.numel() for t in tensors),
        narrow=all(t.dtype in _NARROW for t in tensors),
    )


def _row_length(n: int) -> int:
    """The largest divisor of ``n`` in [MIN_ROW, ROW], else ROW (rows and a tail)."""
    for row in range(ROW, MIN_ROW - 1, -1):
        if n % row == 0:
            return row
    return ROW


def _rest_group(dtype: torch.dtype, group: list[tuple[int, int]]) -> _Rest:
    indices = tuple(i for i, _ in group)
    starts = tuple(first for _, first in group)
    return _Rest(dtype, indices, starts if any(starts) else None)


def _plan(tensors: Sequence[Tensor]) -> _Plan:
    key = _layout(tensors)
    plan = _plans.get(key)  # a dict read is atomic; only inserting and evicting take the lock
    if plan is None:
        plan = _make_plan(tensors)
        with _plans_lock:
            while len(_plans) >= _PLAN_CACHE_SIZE:
                _plans.pop(next(iter(_plans)))
            _plans[key] = plan
    return plan


def _rest_tensors(tensors: Sequence[Tensor], group: _Rest) -> list[Tensor]:
    if group.starts is None:  # the common case: small tensors only, no row tails
        return [tensors[i] for i in group.indices]
    return [tensors[i].view(-1)[first:] if first else tensors[i] for i, first in zip(group.indices, group.starts)]


def _parts(tensors: Sequence[Tensor], plan: _Plan, foreach: bool | None) -> Tensor | None:
    """Every part's fast norm (rows, stacked rows, whole small tensors), in ``plan.owners``
    order, concatenated; None when every tensor takes the exact path."""
    vector_norm = torch.linalg.vector_norm
    # the first rows * row elements of a contiguous tensor as a (rows, row) view: one op, with
    # or without a tail (the storage offset is kept); a comprehension: this loop is per call
    pieces = [vector_norm(tensors[i].as_strided(size, stride), 2, 1) for i, size, stride in plan.row_views]
    for indices, row in plan.stacks:
        block = torch.stack([tensors[i] for i in indices]).view(-1, row)  # rows of each tensor in turn
        pieces.append(torch.linalg.vector_norm(block, 2, dim=1))
    for group in plan.rest:
        pieces.append(torch.stack(foreach_norms(_rest_tensors(tensors, group), 2, None, foreach)))
    if not pieces:
        return None
    return torch.cat(pieces) if len(pieces) > 1 else pieces[0]


class L2Pass:
    """What one eager-CPU 2-norm pass learned besides the norms.

    ``flagged``: the recomputed tensors (every tensor with a NaN or inf is among them).
    ``values``: the per-tensor norms as floats when none was flagged (they are what the one
    read returned), else None. ``numel``: the elements of all the tensors.
    """

    __slots__ = ("flagged", "numel", "values")

    def __init__(self, flagged: list[int], values: list[float] | None, numel: int) -> None:
        self.flagged = flagged
        self.values = values
        self.numel = numel


def cpu_gated_l2_norms(tensors: Sequence[Tensor], foreach: bool | None, parts: Tensor | None = None) -> tuple[Tensor, L2Pass]:
    """Safe per-tensor 2-norms (1-D float64) of CPU tensors, with one read (of the norms).

    ``parts``: this layout's ``_parts``, when the caller already has them.
    """
    plan = _plan(tensors)
    if parts is None:
        parts = _parts(tensors, plan, foreach)
    if parts is not None:
        parts = parts.to(torch.float64)
        # float64 squares of float32-range parts cannot overflow (the float64 copy is ours)
        norms = plan.zeros.index_add(0, plan.owners, parts.mul_(parts)).sqrt_()
    else:
        norms = plan.zeros.clone()
    for i in plan.exact:
        norms[i] = scaled_norm(tensors[i], 2.0)
    values = norms.tolist()  # the one read (CPU only: it waits for no device)
    floors = plan.floor_values
    # suspect: below the underflow floor, inf (overflow or a real inf), or NaN (recomputed too,
    # harmlessly: it stays NaN). The common case in two C-level scans: a NaN or inf makes the
    # sum NaN or inf (a finite sum too large for a float only sends us to the exact check)
    if sum(values) < INF and not any(map(float.__gt__, floors, values)):
        return norms, L2Pass([], values, plan.numel)
    flagged = [i for i, (floor, value) in enumerate(zip(floors, values)) if not floor <= value < INF]
    exact = set(plan.exact)
    for i in flagged:
        if i not in exact:
            norms[i] = scaled_norm(tensors[i], 2.0)
    return norms, L2Pass(flagged, values if not flagged else None, plan.numel)


def cpu_gated_l2_total(tensors: Sequence[Tensor], foreach: bool | None) -> Tensor | None:
    """The total 2-norm (0-dim float64) of float32/float16/bfloat16 CPU tensors; None for any
    other dtype (the caller's general path).

    The fast parts are combined directly and the total is the one read: when it is finite and
    at least ``plan.total_floor``, no tensor can have overflowed, and what underflow may have
    lost is below float32 rounding of the total (each lost square is under 2**-149, the floors
    are 64x float32's tiny per element). Otherwise (a NaN/inf, or extreme magnitudes) the
    per-tensor norms are formed from the same parts and the flagged tensors recomputed: a
    second read.
    """
    plan = _plan(tensors)
    if not plan.narrow:
        return None
    parts = _parts(tensors, plan, foreach)
    if parts is not None and not plan.exact:
        total = torch.linalg.vector_norm(parts, 2, dtype=torch.float64)
        if plan.total_floor <= total.tolist() < INF:  # the one read
            return total
    norms, _ = cpu_gated_l2_norms(tensors, foreach, parts)
    return torch.linalg.vector_norm(norms, 2)  # float64 holds the square of every such norm
