"""Guarded access to private or version-dependent torch API (torch >= 2.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def is_compiling() -> bool:
    """True while torch.compile traces; then only branch-free code may run."""
    compiler = getattr(torch, "compiler", None)
    check = getattr(compiler, "is_compiling", None)
    if check is None:  # torch 2.1 has it only under _dynamo
        check = getattr(getattr(torch, "_dynamo", None), "is_compiling", None)
    return bool(check()) if check is not None else False


def private_foreach_norm() -> Callable[..., Any] | None:
    """``torch._foreach_norm`` when this torch has it, else None."""
    return getattr(torch, "_foreach_norm", None)


def private_foreach_mul_() -> Callable[..., Any] | None:
    """``torch._foreach_mul_`` when this torch has it, else None."""
    return getattr(torch, "_foreach_mul_", None)


def _foreach_norm_accepts_dtype() -> bool:
    """Whether ``torch._foreach_norm`` takes ``dtype=`` (added after 2.1); probed once at import."""
    op = private_foreach_norm()
    if op is None:
        return False
    try:
        op([torch.zeros(1)], 2.0, dtype=torch.float32)
    except (TypeError, RuntimeError):
        return False
    return True


FOREACH_NORM_ACCEPTS_DTYPE: bool = _foreach_norm_accepts_dtype()
"""Probed at import so traced code reads a constant instead of calling a cached function."""
