"""Exact for every layout and dtype: strided, broadcast and offset views, complex, huge p,
float64 to a few ulps (against an exact-sum reference), and DTensor on a one-process mesh."""

from __future__ import annotations

import math
import socket

import gradlint_runtime as gr
import pytest
import torch

REL_F32 = 1e-6
F64_ULP = 2.0**-52


def _identical(n: int, value: float = 0.7) -> float:
    """The exact 2-norm of ``n`` float32 copies of ``value`` (the worst case for torch's
    naive float32 accumulator)."""
    return math.sqrt(n) * float(torch.tensor(value, dtype=torch.float32))


LAYOUTS = {
    # name: (tensor, exact 2-norm); each is a view, never materialized
    "transposed 2000x3000": lambda: (torch.full((2000, 3000), 0.7).t(), _identical(6_000_000)),
    "every other element": lambda: (torch.full((8_000_000,), 0.7)[::2], _identical(4_000_000)),
    "broadcast stride 0": lambda: (torch.full((1,), 0.7).expand(10_000_000), _identical(10_000_000)),
    "broadcast 2-d": lambda: (torch.full((3000, 1), 0.7).expand(3000, 3000), _identical(9_000_000)),
    "offset view": lambda: (torch.full((4_000_003,), 0.7)[3:], _identical(4_000_000)),
    "offset rows": lambda: (torch.full((2001, 2048), 0.7)[1:], _identical(2000 * 2048)),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_views_are_exact_where_torch_is_not(name: str, norm_path: str) -> None:
    t, exact = LAYOUTS[name]()
    ours = gr.total_norm([t]).item()
    assert abs(ours - exact) <= REL_F32 * exact, (ours, exact)
    theirs = torch.nn.utils.get_total_norm([t]).item()
    assert abs(theirs - exact) > 1e-4 * exact  # torch's naive accumulator: the case is real
    assert gr.norm(t).item() == pytest.approx(ours, rel=REL_F32)


def test_views_with_huge_values_do_not_overflow(reference) -> None:
    base = torch.randn(3000, 700, generator=torch.Generator().manual_seed(0)) * 1e20
    views = [base.t(), base[::3], base[:, 1:].expand(2, -1, -1)]
    for v in views:
        reference.assert_close(gr.norm(v), reference.tensor_norm(v, 2.0), REL_F32)
    reference.assert_close(gr.total_norm(views), reference.total_norm(views, 2.0), REL_F32)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf, 0.0])
def test_complex_is_the_norm_of_the_modulus(dtype: torch.dtype, p: float, norm_path: str, reference) -> None:
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(5000, dtype=dtype, generator=gen)
    z[:10] *= 1e20 if dtype == torch.complex64 else 1e200
    modulus = z.abs().to(torch.float64)
    expected = reference.tensor_norm(modulus, p)
    result = gr.total_norm([z, z[::7]], p)
    assert result.dtype == (torch.float64 if dtype == torch.complex128 else torch.float32)
    reference.assert_close(result, reference.total_norm([modulus, modulus[::7]], p), 1e-6 if p else 0.0)
    reference.assert_close(gr.norm(z, p), expected, 1e-6 if p else 0.0)


@pytest.mark.parametrize("p", [1075.0, 2000.0, 1e4, 1e6])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_very_large_p(p: float, dtype: torch.dtype, norm_path: str) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(1000, generator=gen, dtype=dtype)
    a = x.double().abs().tolist()
    top = max(a)
    exact = top * math.fsum((v / top) ** p for v in a) ** (1 / p)  # the max term is exactly 1
    result = gr.norm(x, p).item()
    assert result >= float(x.max())  # the 0.5**p underflow used to give 0
    assert result == pytest.approx(exact, rel=1e-6 if dtype == torch.float32 else 8 * F64_ULP)


_SPLIT = 2.0**27 + 1.0


def _two_product(a: float, b: float) -> tuple[float, float]:
    """``a * b == hi + lo`` exactly (Dekker), for the exact sum of squares."""
    hi = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    a1, b1 = ca - (ca - a), cb - (cb - b)
    a2, b2 = a - a1, b - b1
    return hi, ((a1 * b1 - hi) + a1 * b2 + a2 * b1) + a2 * b2


def _exact_norm(x: torch.Tensor, p: float) -> float:
    """The float64 p-norm to within about an ulp (p = 1, 2: the sum is exact, then rounded
    once; other p: each |x|**p is rounded once, then summed exactly)."""
    a = [abs(v) for v in x.double().tolist()]
    if p == 1.0:
        return math.fsum(a)
    if p == 2.0:
        return math.sqrt(math.fsum(v for pair in map(_two_product, a, a) for v in pair))
    return math.fsum(v**p for v in a) ** (1 / p)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.1])
def test_float64_within_a_few_ulps(p: float, norm_path: str) -> None:
    # a sum of n terms rounds at ~1 ulp even when cascaded; the p-th root divides the relative
    # error by p for p >= 1 and multiplies it by 1/p below 1: the bound is 4 ulps / min(p, 1)
    # (torch's vector_norm: 12-340 ulps on the same tensors)
    gen = torch.Generator().manual_seed(3)
    tensors = [torch.randn(n, dtype=torch.float64, generator=gen) * 10.0**k for n, k in [(300_000, 0), (5000, 3), (77, -2)]]
    bound = 4 * F64_ULP / min(p, 1.0)
    for t in tensors:
        exact = _exact_norm(t, p)
        assert abs(gr.norm(t, p).item() - exact) <= bound * exact
    flat = torch.cat(tensors)
    exact = _exact_norm(flat, p)
    assert abs(gr.total_norm(tensors, p).item() - exact) <= bound * exact
    naive, exact = torch.linalg.vector_norm(tensors[0], p).item(), _exact_norm(tensors[0], p)
    assert abs(naive - exact) > bound * exact  # torch's naive accumulator misses this bound


# --- DTensor on a one-process gloo mesh ------------------------------------------------------


@pytest.fixture(scope="module")
def mesh():
    dist = torch.distributed
    if not dist.is_available():
        pytest.fail("torch.distributed is required (the pinned torch has it)")
    from torch.distributed.device_mesh import init_device_mesh

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        yield init_device_mesh("cpu", (1,))
    finally:
        dist.destroy_process_group()


def _dtensor_params(mesh, grads: list[torch.Tensor], placements) -> list[torch.nn.Parameter]:
    from torch.distributed.tensor import distribute_tensor

    params = []
    for g, placement in zip(grads, placements):
        p = torch.nn.Parameter(distribute_tensor(torch.zeros_like(g), mesh, [placement]))
        p.grad = distribute_tensor(g.clone(), mesh, [placement])
        params.append(p)
    return params


def test_dtensor_gradients_everywhere(mesh, reference) -> None:
    from torch.distributed.tensor import DTensor, Replicate, Shard

    gen = torch.Generator().manual_seed(4)
    grads = [torch.randn(300, 20, generator=gen), torch.full((5000,), 1e20), torch.randn(7, generator=gen)]
    placements = [Shard(0), Shard(0), Replicate()]
    params = _dtensor_params(mesh, grads, placements)
    assert all(isinstance(p.grad, DTensor) for p in params)
    for p in (2.0, 1.0, math.inf, 0.0):
        reference.assert_close(gr.total_norm(params, p), reference.total_norm(grads, p), 1e-6 if p else 0.0)
    reference.assert_close(gr.norm(params[0].grad), reference.tensor_norm(grads[0], 2.0), 1e-6)
    metrics = gr.GradientCollector().collect(params)
    assert metrics.num_tensors == 3 and metrics.exploding_count == 1
    assert metrics.tensor_norms == pytest.approx([reference.tensor_norm(g, 2.0) for g in grads], rel=1e-6)
    # clipping scales the local shards in place, like torch's own clip_grad_norm_ on DTensor
    theirs = _dtensor_params(mesh, [g / 1e20 for g in grads], placements)
    ours = _dtensor_params(mesh, [g / 1e20 for g in grads], placements)
    want = torch.nn.utils.clip_grad_norm_(theirs, 0.5)
    got = gr.clip_grad_norm_(ours, 0.5)
    assert got.item() == pytest.approx(want.full_tensor().item(), rel=1e-6)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad.full_tensor(), b.grad.full_tensor(), rtol=1e-6, atol=0)
    # and the overflowing set, which torch zeroes, is clipped to exactly 0.5
    big = _dtensor_params(mesh, grads, placements)
    gr.clip_grad_norm_(big, 0.5)
    assert gr.total_norm(big).item() == pytest.approx(0.5, rel=1e-5)
