"""Turn what users pass (a module, parameters, gradients, one tensor) into a list of gradients."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

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


def local_tensor(t: Tensor) -> Tensor:
    """A DTensor's local shard (same storage, so in-place ops reach the DTensor); else ``t``."""
    if type(t) is Tensor:
        return t
    to_local = getattr(t, "to_local", None)
    return to_local() if to_local is not None and hasattr(t, "device_mesh") else t
