"""Infer the device from the parameters instead of defaulting to a literal (gradlint GL003)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

DeviceLike = torch.device | str | int


def infer_device(
    parameters_or_tensors: torch.nn.Module | Tensor | Iterable[Tensor | None] | None,
    default: DeviceLike | None = None,
) -> torch.device:
    """The device of the first tensor found, without consuming anything the caller needs.

    Contract: a one-shot iterator (a generator, ``model.parameters()``, ``iter(list)``) is
    **rejected with TypeError** rather than peeked at: peeking would silently eat its first
    element, and reading on would eat everything. Pass a list (``list(model.parameters())``)
    or the module itself. Re-iterable containers (list, tuple, ``nn.ParameterList``, dict
    views) and modules are read freely.

    Args:
        parameters_or_tensors: a module (its parameters and buffers), a tensor, or a
            re-iterable collection of tensors/parameters (``None`` entries are skipped).
        default: returned when no tensor is found; ``None`` means CPU.

    Returns:
        The first tensor's device, else ``torch.device(default)``, else ``cpu``.

    Raises:
        TypeError: for a one-shot iterator, or an argument that is not iterable.
    """
    found = _first_tensor(parameters_or_tensors)
    if found is not None:
        return found.device
    return torch.device(default) if default is not None else torch.device("cpu")


def _first_tensor(source: object) -> Tensor | None:
    if source is None:
        return None
    if isinstance(source, Tensor):
        return source
    if isinstance(source, torch.nn.Module):
        first = next(iter(source.parameters()), None)
        return first if first is not None else next(iter(source.buffers()), None)
    if isinstance(source, Iterator):
        raise TypeError(
            "infer_device() got a one-shot iterator; reading its device would consume it. "
            "Pass a list (e.g. list(model.parameters())) or the module itself."
        )
    if not isinstance(source, Iterable):
        raise TypeError(
            f"infer_device() expects a module, a tensor or a collection of tensors, got {type(source).__name__}"
        )
    for item in source:
        if isinstance(item, Tensor):
            return item
    return None
