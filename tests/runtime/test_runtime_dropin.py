"""Drop-in replacements: torch's signatures and return types, no autograd graph, thread safety."""

from __future__ import annotations

import gc
import inspect
import math
import sys
import threading
import time
import weakref

import gradlint_runtime as gr
import pytest
import torch
from gradlint_runtime import _cpu_fast


def _params(*grads: torch.Tensor) -> list[torch.nn.Parameter]:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = g.clone()
        params.append(p)
    return params


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (gr.total_norm, torch.nn.utils.get_total_norm),
        (gr.clip_grad_norm_, torch.nn.utils.clip_grad_norm_),
        (gr.clip_grad_norm, torch.nn.utils.clip_grad_norm_),
        (gr.clip_grads_with_norm_, torch.nn.utils.clip_grads_with_norm_),
    ],
)
def test_signature_extends_torchs(ours, theirs) -> None:
    mine = list(inspect.signature(ours).parameters.values())
    torchs = list(inspect.signature(theirs).parameters.values())
    for a, b in zip(mine, torchs):
        assert (a.name, a.kind, a.default) == (b.name, b.kind, b.default), (a, b)
    assert all(extra.kind is inspect.Parameter.KEYWORD_ONLY for extra in mine[len(torchs) :])
    assert len(mine) >= len(torchs)


def test_clip_grad_norm_returns_the_total_norm_tensor_like_torch() -> None:
    torch.manual_seed(0)
    grads = [torch.randn(40, 30), torch.randn(30), torch.randn(5000)]
    ours, theirs = _params(*grads), _params(*grads)
    got = gr.clip_grad_norm_(ours, 1.0, 2.0, False, None)  # positional, as torch's
    want = torch.nn.utils.clip_grad_norm_(theirs, 1.0, 2.0, False, None)
    assert isinstance(got, torch.Tensor) and got.dim() == 0 and got.dtype == want.dtype
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=0)
    assert gr.total_norm(ours).item() == pytest.approx(1.0, rel=1e-5)


def test_clip_grads_with_norm_matches_torch() -> None:
    torch.manual_seed(1)
    grads = [torch.randn(100), torch.randn(7, 3)]
    ours, theirs = _params(*grads), _params(*grads)
    norm = torch.nn.utils.get_total_norm([p.grad for p in theirs])
    assert gr.clip_grads_with_norm_(ours, 0.5, norm) is None
    assert torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, norm) is None
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=0)
    untouched = _params(torch.ones(3))
    gr.clip_grads_with_norm_(untouched, 0.5, torch.tensor(math.nan))  # torch would make them NaN
    assert untouched[0].grad.tolist() == [1.0, 1.0, 1.0]


def test_total_norm_takes_get_total_norms_positional_arguments() -> None:
    grads = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]
    assert gr.total_norm(grads, 2.0, False, False).item() == 13.0
    assert gr.total_norm(tensors=grads, norm_type=1.0, error_if_nonfinite=True, foreach=None).item() == 19.0


def test_pre_post_form_keeps_its_own_name() -> None:
    result = gr.clip_grad_norm_pre_post(_params(torch.full((4,), 3.0)), 2.0)
    assert isinstance(result, gr.ClipNorms)
    pre, post = result
    assert pre.item() == pytest.approx(6.0) and post.item() == pytest.approx(2.0, rel=1e-6)


def test_error_if_nonfinite_reads_the_float64_norm() -> None:
    # finite float32 gradients whose norm exceeds float32's range: not an error (torch's is inf)
    grads = [torch.full((1000,), 3e37)]
    assert gr.total_norm(grads, error_if_nonfinite=True).item() == math.inf  # the float32 result
    params = _params(*grads)
    gr.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert gr.total_norm(params).item() == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(RuntimeError, match="non-finite"):
        gr.clip_grad_norm_(_params(torch.tensor([1.0, math.inf])), 1.0, error_if_nonfinite=True)


def test_infer_device_on_a_generator_says_what_to_pass() -> None:
    model = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"list\(model\.parameters\(\)\).*module"):
        gr.infer_device(model.parameters())
    assert gr.infer_device(model) == gr.infer_device(list(model.parameters())) == torch.device("cpu")


# --- autograd ----------------------------------------------------------------------------


def test_outputs_have_no_grad_fn_even_on_the_exact_recompute_path() -> None:
    x = torch.full((5000,), 1.0, requires_grad=True)
    big = x * 1e20  # float32 squares overflow: the scaled recompute runs
    results = [
        gr.norm(big),
        gr.norm(big, 3.0),
        gr.total_norm([big]),
        gr.total_norm([big.t(), big[::2]]),
        *gr.foreach_norm([big]),
        gr.named_norms(torch.nn.Linear(2, 2))["grad_2.0_norm_total"],
    ]
    for r in results:
        assert r.grad_fn is None and not r.requires_grad
    stats = gr.collect_async([big])
    assert all(t.grad_fn is None for t in (stats.total_norm, stats.norms, stats.health))


def test_in_place_clip_is_not_recorded_under_create_graph() -> None:
    w = torch.nn.Parameter(torch.randn(50))
    (w**3).sum().backward(create_graph=True)  # the gradient has a graph of its own
    before = w.grad.grad_fn
    assert before is not None
    pre = gr.clip_grad_norm_([w], 1e-3)
    assert pre.grad_fn is None
    assert w.grad.grad_fn is before  # the multiply was not recorded as a new node
    assert gr.total_norm([w]).item() == pytest.approx(1e-3, rel=1e-5)


# --- threads -----------------------------------------------------------------------------


class _SlowDict(dict):
    """A plan cache that yields the GIL inside ``pop``: widens any check-then-act race."""

    def pop(self, *args):
        time.sleep(1e-4)
        return super().pop(*args)


def test_plan_cache_is_safe_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cpu_fast, "_PLAN_CACHE_SIZE", 4)  # constant eviction
    monkeypatch.setattr(_cpu_fast, "_plans", _SlowDict())
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    errors: list[BaseException] = []
    wrong: list[tuple[int, float]] = []

    def work(k: int) -> None:
        try:
            for j in range(30):
                n = 2048 + 17 * ((k * 31 + j) % 23)  # many layouts: inserts and evictions race
                grads = [torch.full((n,), 2.0), torch.full((3, k + 1), 2.0)]
                got = gr.total_norm(grads).item()
                want = 2.0 * math.sqrt(n + 3 * (k + 1))
                if abs(got - want) > 1e-5 * want:
                    wrong.append((k, got))
        except BaseException as exc:  # noqa: BLE001 - the test reports every thread's failure
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert not wrong, wrong[:3]


# --- stats hold no gradient references -----------------------------------------------------


def test_stats_hold_no_reference_to_the_gradients() -> None:
    params = _params(torch.ones(3000), torch.ones(10))
    probe = weakref.ref(params[0].grad)
    collector = gr.GradientCollector()
    stats = collector.collect_async(params)
    for p in params:
        p.grad = None  # zero_grad(set_to_none=True)
    gc.collect()
    assert probe() is None
    assert collector.materialize(stats).num_elements == 3010


def test_counts_describe_the_gradients_at_collect_time() -> None:
    params = _params(torch.tensor([1.0, math.nan, math.inf]), torch.ones(5))
    collector = gr.GradientCollector()
    stats = collector.collect_async(params)
    params[0].grad.zero_()  # changed in place after collecting
    params[1].grad[0] = math.nan
    metrics = collector.materialize(stats)
    assert (metrics.nan_count, metrics.inf_count) == (1, 1)
    assert metrics.nan_tensor_count == 1 and metrics.has_nonfinite


# --- one pass: collect and clip --------------------------------------------------------------


def test_collect_and_clip_uses_one_norm_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint_runtime import collectors

    calls = []
    original = collectors.total_norm_f64
    monkeypatch.setattr(collectors, "total_norm_f64", lambda *a, **k: calls.append(1) or original(*a, **k))
    params = _params(torch.full((4,), 3.0), torch.full((100,), 1e-9))
    metrics = gr.collect_and_clip(params, 2.0)
    assert len(calls) == 1
    assert metrics.total_norm == pytest.approx(6.0)
    assert metrics.post_clip_norm == pytest.approx(2.0, rel=1e-6)
    assert metrics.clip_coefficient == pytest.approx(1 / 3, rel=1e-6) and metrics.clipped
    assert metrics.vanishing_count == 1
    assert gr.total_norm(params).item() == pytest.approx(2.0, rel=1e-6)
    unclipped = gr.GradientCollector().collect_and_clip(params, 10.0)
    assert unclipped.clip_coefficient == 1.0 and not unclipped.clipped
    assert unclipped.post_clip_norm == pytest.approx(unclipped.total_norm)
