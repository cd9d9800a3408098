"""Turn what users pass (a module, parameters, gradients, one tensor) into a list of gradients."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from operator import attrgetter, is_not

import torch
from torch import Tensor

from . import _compat

TensorsOrParameters = Tensor | torch.nn.Module | Iterable[Tensor | None]


def as_gradient(item: Tensor) -> Tensor | None:
    """A parameter (or a leaf tensor that requires grad) stands for its ``.grad``; any other
    tensor already is a gradient."""
    if type(item) is Tensor and not item.requires_grad:  # fast path: a plain gradient
        return item
    if isinstance(item, torch.nn.Parameter) or (item.requires_grad and item.is_leaf):
        return item.grad
    return item


def gradients(source: TensorsOrParameters) -> list[Tensor]:
    """The gradients in ``source``, in order, with ``None`` and empty gradients dropped.

    Args:
        source: a module (its parameters), a single tensor, or an iterable of parameters,
            gradients or ``None``. An iterator is consumed: the callers of this function own
            the data they were given (see ``infer_device`` for the one that must not consume).

    Returns:
        The non-empty gradient tensors.
    """
    if isinstance(source, torch.nn.Module):
        items: Iterable[Tensor | None] = source.parameters()
    elif isinstance(source, Tensor):
        items = (source,)
    else:
        items = source
    if type(items) is list and not _compat.is_compiling():
        plain = _plain_gradients(items)
        if plain is not None:
            return plain
    grads: list[Tensor] = []
    for item in items:
        if item is None:
            continue
        kind = type(item)  # exact-type fast paths first: this loop runs on every call
        if kind is torch.nn.Parameter:
            grad = item.grad
        elif kind is Tensor and not item.requires_grad:
            grad = item
        else:
            grad = as_gradient(item)
        if grad is not None and grad.numel() > 0:
            grads.append(grad)
    return grads


def _plain_gradients(items: list[Tensor | None]) -> list[Tensor] | None:
    """The common lists in C-level scans: all parameters, or all plain tensors that require no
    grad (gradients); None for anything else (``gradients``' loop decides item by item)."""
    kinds = set(map(type, items))
    if kinds == _PARAMETERS:
        grads = [p.grad for p in items]  # type: ignore[union-attr]
        if not all(map(_is_not_none, grads)):
            grads = [g for g in grads if g is not None]
    elif kinds == _TENSORS and not any(map(_requires_grad, items)):
        grads = list(items)  # type: ignore[arg-type]
    else:
        return None
    if not all(map(Tensor.numel, grads)):  # type: ignore[arg-type]
        grads = [g for g in grads if g.numel() > 0]  # type: ignore[union-attr]
    return grads  # type: ignore[return-value]


_PARAMETERS = {torch.nn.Parameter}
_TENSORS = {Tensor}
_requires_grad = attrgetter("requires_grad")
_is_not_none = partial(is_not, None)


def local_tensor(t: Tensor) -> Tensor:
    """A DTensor's local shard (same storage, so in-place ops reach the DTensor); else ``t``."""
    if type(t) is Tensor:
        return t
    to_local = getattr(t, "to_local", None)
    return to_local() if to_local is not None and hasattr(t, "device_mesh") else t
