"""total_norm / norm / foreach_norm against a float64 reference, over the full dtype ranges."""

from __future__ import annotations

import math

import pytest
import torch
from gradlint_runtime import foreach_norm, norm, total_norm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REL_F32 = 1e-6  # a few float32 ulps
REL_F64 = 1e-12  # the property tests' reference is float64 itself (exact few-ulp tests: test_runtime_exactness)
# half-precision rows are normed by torch's native kernel (float32 accumulation inside, each
# row's norm rounded to the input dtype): at most the input's unit roundoff, never a copy
REL_HALF = {torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8}
DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
ORDERS = [2.0, 1.0, 3.0, 0.5, 7.5, math.inf, -math.inf, 0.0]


def _rel(dtype: torch.dtype) -> float:
    return REL_F64 if dtype == torch.float64 else REL_HALF.get(dtype, REL_F32)


# --- the overflow/underflow cases where torch's own norms are wrong (anchors, section 1) ----

EXTREME_CASES = {
    "fp32 elements 1e20": lambda: [torch.full((1000,), 1e20), torch.full((1000,), 1e20)],
    "fp32 elements 1e-25": lambda: [torch.full((2000,), 1e-25)],
    "fp32 1000 tensors of norm 1e19": lambda: [torch.full((100,), 1e18) for _ in range(1000)],
    "fp16 elements 300": lambda: [torch.full((100,), 300.0, dtype=torch.float16)] * 2,
    "fp16 norm above 65504": lambda: [torch.full((300,), 5477.0, dtype=torch.float16)],
    "fp16 elements 1e-4": lambda: [torch.full((2000,), 1e-4, dtype=torch.float16)],
    "bf16 elements 1e20": lambda: [torch.full((2000,), 1e20, dtype=torch.bfloat16)],
    "bf16 elements 1e-25": lambda: [torch.full((2000,), 1e-25, dtype=torch.bfloat16)],
    "fp64 elements 1e160": lambda: [torch.full((2000,), 1e160, dtype=torch.float64)],
    "fp64 elements 1e-170": lambda: [torch.full((2000,), 1e-170, dtype=torch.float64)],
    "fp64 subnormals": lambda: [torch.full((3000,), 5e-324, dtype=torch.float64)],
    "fp32 big tensor of 1e20 (row path)": lambda: [torch.full((50_000,), 1e20)],
    "fp32 big tensor of 1e-30 (row path)": lambda: [torch.full((50_000,), 1e-30)],
    "fp32 max": lambda: [torch.full((4,), 3.4e38)],
}


@pytest.mark.parametrize("case", sorted(EXTREME_CASES))
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_extreme_magnitudes_are_exact(case: str, p: float, norm_path: str, reference) -> None:
    tensors = EXTREME_CASES[case]()
    result = total_norm(tensors, p)
    reference.assert_close(result, reference.total_norm(tensors, p), _rel(tensors[0].dtype))


@pytest.mark.parametrize("n", [7, 1000, 1023, 1024, 4097, 8191, 100_003])
@pytest.mark.parametrize("value", [0.7, 3.3, 1e19, 1.1e-19])
def test_identical_values_worst_case_accumulation(n: int, value: float, norm_path: str) -> None:
    # identical values are the worst case for a float32 accumulator
    exact = math.sqrt(n) * float(torch.tensor(value, dtype=torch.float32))
    assert total_norm([torch.full((n,), value)]).item() == pytest.approx(exact, rel=REL_F32)


def test_torch_is_wrong_where_we_are_right() -> None:
    # Pins the motivation: if torch ever fixes this, the comparison tells us.
    big = [torch.full((1000,), 1e20), torch.full((1000,), 1e20)]
    tiny = [torch.full((2000,), 1e-25)]
    assert torch.nn.utils.get_total_norm(big).item() == math.inf
    assert torch.nn.utils.get_total_norm(tiny).item() == 0.0
    assert total_norm(big).item() == pytest.approx(math.sqrt(2000) * 1e20, rel=1e-6)
    assert total_norm(tiny).item() == pytest.approx(math.sqrt(2000) * 1e-25, rel=1e-6)


# --- property test against the float64 reference ------------------------------------------


@st.composite
def tensor_lists(draw: st.DrawFn) -> list[torch.Tensor | None]:
    out: list[torch.Tensor | None] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 9)) == 0:
            out.append(None)
            continue
        dtype = draw(st.sampled_from(DTYPES))
        info = torch.finfo(dtype)
        lo = max(-30.0, math.log10(info.tiny) + 1)
        hi = min(30.0, math.log10(info.max) - 2)
        exponent = draw(st.floats(lo, hi))
        ndim = draw(st.integers(0, 3))
        big = draw(st.integers(0, 5)) == 0  # sometimes big enough for the row path
        shape = [draw(st.integers(0, 5 if ndim > 1 else 40)) for _ in range(ndim)]
        if big:
            shape = [draw(st.integers(8192, 20_000))]
        seed = draw(st.integers(0, 2**31 - 1))
        gen = torch.Generator().manual_seed(seed)
        values = torch.randn(shape, generator=gen, dtype=torch.float64) * 10.0**exponent
        if draw(st.booleans()):  # spread magnitudes inside the tensor too
            values = values * 10.0 ** torch.randint(-3, 3, shape, generator=gen, dtype=torch.float64)
        values = values.clamp(-info.max, info.max)
        inject = draw(st.sampled_from(["none"] * 6 + ["nan", "inf", "-inf", "zeros"]))
        if values.numel() and inject != "none":
            flat = values.view(-1)
            index = draw(st.integers(0, flat.numel() - 1))
            flat[index] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "zeros": 0.0}[inject]
            if inject == "zeros":
                values.zero_()
        out.append(values.to(dtype))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tensors=tensor_lists(), p=st.sampled_from(ORDERS), branch_free=st.booleans())
def test_total_norm_matches_float64_reference(tensors, p, branch_free, device_path, reference) -> None:
    present = [t for t in tensors if t is not None and t.numel() > 0]
    expected = reference.total_norm(tensors, p)
    with device_path() if branch_free else _nothing():
        result = total_norm(tensors, p)
    want = torch.float64 if any(t.dtype == torch.float64 for t in present) else torch.float32
    assert result.dtype == want and result.dim() == 0
    rel = max((_rel(t.dtype) for t in present), default=0.0)
    if p == 0 or not present:
        rel = 0.0
    reference.assert_close(result, expected, rel)


@settings(max_examples=60, deadline=None)
@given(tensors=tensor_lists(), p=st.sampled_from(ORDERS))
def test_norm_of_each_tensor_matches_reference(tensors, p, reference) -> None:
    for t in tensors:
        if t is None or (t.numel() == 0 and p == -math.inf):
            continue
        reference.assert_close(norm(t, p), reference.tensor_norm(t, p), 0.0 if p == 0 else _rel(t.dtype))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# --- 100M elements: the accuracy torch's CPU reduction loses -------------------------------


def test_accuracy_at_100m_elements(reference) -> None:
    gen = torch.Generator().manual_seed(0)
    # about 300 tensors, like the benchmark's 100M model: 290 x 344064 (divisible by the rows)
    tensors = [torch.randn(344_064, generator=gen) * 1e-3 for _ in range(290)] + [torch.randn(257)]
    assert sum(t.numel() for t in tensors) > 99_000_000
    exact = math.sqrt(sum(float(torch.linalg.vector_norm(t, dtype=torch.float64)) ** 2 for t in tensors))  # noqa: GL001 (float64 reference)
    ours = float(total_norm(tensors))
    assert abs(ours - exact) / exact <= 3e-6


# --- NaN / Inf propagation, orders, inputs --------------------------------------------------


@pytest.mark.parametrize("p", ORDERS)
def test_nan_stays_nan(p: float, norm_path: str) -> None:
    grads = [torch.ones(10), torch.tensor([1.0, math.nan, 2.0])]
    assert math.isnan(total_norm(grads, p).item())
    assert math.isnan(norm(grads[1], p).item())


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inf_stays_inf(p: float, dtype: torch.dtype, norm_path: str) -> None:
    grads = [torch.ones(10, dtype=dtype), torch.tensor([1.0, -math.inf, 2.0], dtype=dtype)]
    assert total_norm(grads, p).item() == math.inf


def test_min_and_count_orders() -> None:
    grads = [torch.tensor([3.0, -1.0, 0.5]), torch.tensor([0.0, 2.0])]
    assert total_norm(grads, -math.inf).item() == 0.0
    assert total_norm(grads[:1], -math.inf).item() == 0.5
    assert total_norm(grads, math.inf).item() == 3.0
    assert total_norm(grads, 0).item() == 4.0


def test_count_has_no_2_pow_24_ceiling() -> None:
    n = 2**26 + 2**20  # exactly representable in float32
    ones = torch.ones(n)
    assert torch.linalg.vector_norm(ones, 0).item() < n  # torch's float32 counters saturate
    assert total_norm([ones], 0).item() == n


@pytest.mark.parametrize("bad", [-1.0, -0.5, math.nan])
def test_invalid_orders_raise(bad: float) -> None:
    with pytest.raises(ValueError):
        total_norm([torch.ones(3)], bad)
    with pytest.raises(ValueError):
        norm(torch.ones(3), bad)


def test_inputs_parameters_none_module_and_single_tensor() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model(torch.randn(5, 4)).sum().backward()
    model[1].bias.grad = None
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    expected = torch.nn.utils.get_total_norm(grads)
    assert total_norm(model).item() == pytest.approx(expected.item(), rel=1e-6)
    assert total_norm(list(model.parameters())).item() == pytest.approx(expected.item(), rel=1e-6)
    assert total_norm(p for p in model.parameters()).item() == pytest.approx(expected.item(), rel=1e-6)
    assert total_norm([None, *grads]).item() == pytest.approx(expected.item(), rel=1e-6)
    single = torch.tensor([3.0, 4.0])
    assert total_norm(single).item() == 5.0
    assert norm(single).item() == 5.0


def test_empty_inputs_give_zero() -> None:
    for empty in ([], [None], [torch.empty(0)], iter([])):
        result = total_norm(empty)
        assert result.item() == 0.0 and result.dtype == torch.float32 and result.dim() == 0
    assert norm(torch.empty(0)).item() == 0.0
    with pytest.raises(ValueError):
        norm(torch.empty(0), -math.inf)


def test_result_dtypes() -> None:
    assert total_norm([torch.ones(3, dtype=torch.float16)]).dtype == torch.float32
    assert total_norm([torch.ones(3, dtype=torch.bfloat16)]).dtype == torch.float32
    assert total_norm([torch.ones(3, dtype=torch.float64)]).dtype == torch.float64
    assert total_norm([torch.ones(3), torch.ones(3, dtype=torch.float64)]).dtype == torch.float64
    assert norm(torch.ones(3, dtype=torch.float16)).dtype == torch.float32


def test_mixed_dtypes_match_reference(norm_path: str, reference) -> None:
    grads = [
        torch.full((10,), 300.0, dtype=torch.float16),
        torch.full((10_000,), 1e20, dtype=torch.bfloat16),
        torch.full((9000,), 1e-25),
    ]
    reference.assert_close(total_norm(grads), reference.total_norm(grads, 2.0), REL_F32)


def test_non_contiguous_tensors(norm_path: str, reference) -> None:
    base = torch.randn(200, 300) * 1e20
    grads = [base.t(), base[:, ::2]]
    reference.assert_close(total_norm(grads), reference.total_norm(grads, 2.0), REL_F32)


def test_same_shape_small_tensors_are_normed_per_tensor(reference) -> None:
    # the CPU path stacks same-shape small tensors (in bounded groups) into one row-wise norm:
    # every tensor must still get its own norm, extremes and non-finite values included
    from gradlint_runtime import GradientCollector

    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(300, generator=gen) * 10.0**k for k in range(-30, 31, 3) for _ in range(3)]
    grads[4] = torch.full((300,), 1e20)  # float32 squares overflow
    grads[7] = torch.full((300,), 1e-30)  # and underflow
    grads[9] = torch.tensor([1.0, math.nan] * 150)
    grads[11] = torch.tensor([1.0, math.inf] * 150)
    grads += [torch.randn(300, generator=gen).to(torch.bfloat16) for _ in range(3)]
    grads += [torch.full((3, 100), 2.0), torch.full((100, 3), 3.0), torch.tensor(5.0), torch.tensor(-6.0)]
    grads += [torch.randn(40, 30, generator=gen).t() for _ in range(2)]  # small and strided
    norms = GradientCollector().collect(grads).tensor_norms
    assert len(norms) == len(grads)
    for t, value in zip(grads, norms):
        expected = reference.tensor_norm(t, 2.0)
        if math.isnan(expected) or math.isinf(expected):
            assert value == expected or (math.isnan(value) and math.isnan(expected))
        else:
            assert value == pytest.approx(expected, rel=_rel(t.dtype))
    rel = max(_rel(t.dtype) for t in grads[12:])
    reference.assert_close(total_norm(grads[12:]), reference.total_norm(grads[12:], 2.0), rel)


def test_error_if_nonfinite() -> None:
    with pytest.raises(RuntimeError, match="non-finite"):
        total_norm([torch.tensor([1.0, math.inf])], error_if_nonfinite=True)
    assert total_norm([torch.tensor([3.0, 4.0])], error_if_nonfinite=True).item() == 5.0


def test_foreach_false_and_true_agree() -> None:
    grads = [torch.randn(100) for _ in range(5)] + [torch.randn(20_000)]
    assert torch.equal(total_norm(grads, foreach=False), total_norm(grads, foreach=True))


def test_foreach_true_without_private_op_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch, "_foreach_norm")
    with pytest.raises(RuntimeError, match="foreach=True"):
        total_norm([torch.ones(3)], foreach=True)
    assert total_norm([torch.tensor([3.0, 4.0])]).item() == 5.0


# --- foreach_norm: private op and public fallback --------------------------------------------

FOREACH_INPUTS = [
    [torch.randn(7), torch.randn(3, 4), torch.randn(20_000)],
    [torch.randn(5, dtype=torch.float16), torch.randn(6, dtype=torch.bfloat16), torch.randn(2, dtype=torch.float64)],
    [torch.full((1000,), 1e20), torch.tensor([math.nan, 1.0])],
]


@pytest.mark.parametrize("tensors", FOREACH_INPUTS)
@pytest.mark.parametrize("ord", [2.0, 1.0, 3.0, math.inf, -math.inf, 0.0])
@pytest.mark.parametrize("dtype", [None, torch.float64])
def test_foreach_norm_fallback_is_identical(
    tensors: list[torch.Tensor], ord: float, dtype: torch.dtype | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = getattr(torch, "_foreach_norm", None)  # guarded private API (gradlint GL002)
    assert private is not None, "the pinned torch has torch._foreach_norm"
    expected = list(private(tensors, ord) if dtype is None else private(tensors, ord, dtype=dtype))
    fused = foreach_norm(tensors, ord, dtype=dtype)
    monkeypatch.delattr(torch, "_foreach_norm")
    fallback = foreach_norm(tensors, ord, dtype=dtype)
    for a, b, c in zip(expected, fused, fallback):
        assert a.dtype == b.dtype == c.dtype
        assert torch.equal(a, b) or (a.isnan() and b.isnan())
        assert torch.equal(a, c) or (a.isnan() and c.isnan())


def test_foreach_norm_empty_and_generators(monkeypatch: pytest.MonkeyPatch) -> None:
    assert foreach_norm([]) == []
    values = foreach_norm(t for t in [torch.tensor([3.0, 4.0])])
    assert [v.item() for v in values] == [5.0]
    monkeypatch.delattr(torch, "_foreach_norm")
    assert foreach_norm([]) == []
    assert [v.item() for v in foreach_norm([torch.tensor([3.0, 4.0])])] == [5.0]


def test_foreach_norm_dtype_without_dtype_support_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint_runtime import _compat

    monkeypatch.setattr(_compat, "FOREACH_NORM_ACCEPTS_DTYPE", False)
    (value,) = foreach_norm([torch.full((4,), 1e20)], 2.0, dtype=torch.float64)
    assert value.dtype == torch.float64 and value.item() == pytest.approx(2e20)
