"""Guarded access to version-dependent torch API (the package supports torch >= 2.1)."""

from __future__ import annotations

import types

import pytest
import torch
from gradlint_runtime import _compat, total_norm


def test_is_compiling_falls_back_to_dynamo_on_old_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch 2.1: no torch.compiler.is_compiling, only torch._dynamo.is_compiling
    calls = []
    monkeypatch.setattr(torch, "compiler", types.SimpleNamespace())
    monkeypatch.setattr(torch, "_dynamo", types.SimpleNamespace(is_compiling=lambda: calls.append(1) or False))
    assert _compat.is_compiling() is False and calls == [1]
    assert total_norm([torch.tensor([3.0, 4.0])]).item() == 5.0


def test_is_compiling_without_any_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "compiler", types.SimpleNamespace())
    monkeypatch.setattr(torch, "_dynamo", None, raising=False)
    assert _compat.is_compiling() is False


def test_missing_private_ops_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch, "_foreach_norm")
    monkeypatch.delattr(torch, "_foreach_mul_")
    assert _compat.private_foreach_norm() is None
    assert _compat.private_foreach_mul_() is None
    assert _compat._foreach_norm_accepts_dtype() is False
