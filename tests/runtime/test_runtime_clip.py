"""clip_grad_norm: pre/post norms from one pass, never zeroing finite gradients."""

from __future__ import annotations

import math

import pytest
import torch
from gradlint_runtime import clip_grad_norm_pre_post as clip_grad_norm
from gradlint_runtime import total_norm


def _params(*grads: torch.Tensor) -> list:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = g.clone()
        params.append(p)
    return params


def test_matches_torch_on_ordinary_gradients(norm_path: str) -> None:
    torch.manual_seed(0)
    grads = [torch.randn(50, 20), torch.randn(20), torch.randn(10_000)]
    ours, theirs = _params(*grads), _params(*grads)
    pre, post = clip_grad_norm(ours, 1.0)
    expected_pre = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert pre.item() == pytest.approx(expected_pre.item(), rel=1e-5)
    assert post.item() == pytest.approx(1.0, rel=1e-5)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=0)
    assert total_norm(ours).item() == pytest.approx(post.item(), rel=1e-5)


def test_post_is_derived_from_pre_without_a_second_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint_runtime import clip as clip_module

    calls = []
    original = clip_module.total_norm_f64
    monkeypatch.setattr(clip_module, "total_norm_f64", lambda *a, **k: calls.append(1) or original(*a, **k))
    pre, post = clip_grad_norm(_params(torch.full((4,), 3.0)), 2.0)
    assert len(calls) == 1
    assert pre.item() == pytest.approx(6.0) and post.item() == pytest.approx(2.0, rel=1e-6)


def test_no_clipping_below_max_norm() -> None:
    params = _params(torch.tensor([3.0, 4.0]))
    pre, post = clip_grad_norm(params, 10.0)
    assert pre.item() == post.item() == 5.0
    assert params[0].grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    "grad",
    [
        torch.tensor([1e20, 1e20, 1.0, 1.0]),  # float32 squares overflow
        torch.full((300,), 5477.0, dtype=torch.float16),  # norm 94868 > float16 max
        torch.full((1000,), 1e37),  # the norm itself exceeds float32's range
    ],
    ids=["fp32-square-overflow", "fp16-norm-overflow", "fp32-norm-above-max"],
)
def test_overflowing_norm_never_zeroes_finite_gradients(grad: torch.Tensor, norm_path: str) -> None:
    theirs = _params(grad)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert torch.count_nonzero(theirs[0].grad) < grad.numel()  # torch zeroes them
    ours = _params(grad)
    _pre, post = clip_grad_norm(ours, 1.0)
    assert torch.count_nonzero(ours[0].grad) == grad.numel()
    assert torch.isfinite(ours[0].grad).all()
    assert total_norm(ours).item() == pytest.approx(1.0, rel=1e-2)  # float16 rounding
    assert post.item() == pytest.approx(1.0, rel=1e-5)


def test_nonfinite_norm_leaves_gradients_untouched() -> None:
    params = _params(torch.tensor([1.0, math.nan]), torch.tensor([2.0, 3.0]))
    pre, post = clip_grad_norm(params, 1.0)
    assert math.isnan(pre.item()) and math.isnan(post.item())
    assert params[1].grad.tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm(params, 1.0, error_if_nonfinite=True)


def test_empty_and_none_grads() -> None:
    p = torch.nn.Parameter(torch.ones(3))
    pre, post = clip_grad_norm([p], 1.0)
    assert pre.item() == post.item() == 0.0
    pre, post = clip_grad_norm([], 1.0)
    assert pre.item() == 0.0


def test_module_generator_and_no_foreach(monkeypatch: pytest.MonkeyPatch) -> None:
    model = torch.nn.Linear(3, 2)
    model(torch.ones(4, 3)).sum().backward()
    _pre, _ = clip_grad_norm(model.parameters(), 0.5)
    assert total_norm(model).item() == pytest.approx(0.5, rel=1e-5)
    monkeypatch.delattr(torch, "_foreach_mul_")
    monkeypatch.delattr(torch, "_foreach_norm")
    pre2, post2 = clip_grad_norm(model, 0.25)
    assert pre2.item() == pytest.approx(0.5, rel=1e-5) and post2.item() == pytest.approx(0.25, rel=1e-5)
    with pytest.raises(RuntimeError, match="foreach=True"):
        clip_grad_norm(model, 0.25, foreach=True)


def test_float64_gradients_give_float64_norms() -> None:
    pre, post = clip_grad_norm(_params(torch.full((4,), 1e200, dtype=torch.float64)), 1.0)
    assert pre.dtype == post.dtype == torch.float64
    assert pre.item() == pytest.approx(2e200) and post.item() == pytest.approx(1.0)
