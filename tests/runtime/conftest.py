"""Fixtures for the gradlint_runtime tests: a host-read counter and a float64 reference norm."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import torch

try:  # private torch API, guarded: without it only the Python-level patches count
    from torch.utils._python_dispatch import TorchDispatchMode
except ImportError:  # pragma: no cover - torch without the dispatch-mode hook
    TorchDispatchMode = None  # type: ignore[assignment,misc]

from gradlint_runtime import _engine

# aten ops that need the value of a tensor on the host (a device sync on GPU).
_READ_OPS = {
    "_local_scalar_dense",
    "item",
    "equal",
    "is_nonzero",
    "nonzero",
    "masked_select",
    "unique",
    "_unique",
    "_unique2",
    "unique_dim",
    "unique_consecutive",
}
# Python-level reads that the dispatch mode cannot see (tolist, numpy) or sees as one op.
_PATCHED = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


class HostReads:
    """Counts host reads: aten-level data reads plus Python-level tensor-to-host calls."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._inside_patch = 0

    @property
    def count(self) -> int:
        return len(self.events)

    def record(self, name: str, *, from_patch: bool) -> None:
        if from_patch or self._inside_patch == 0:
            self.events.append(name)


if TorchDispatchMode is not None:

    class _ReadCounterMode(TorchDispatchMode):  # type: ignore[misc,valid-type]
        def __init__(self, reads: HostReads) -> None:
            super().__init__()
            self.reads = reads

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            name = func.overloadpacket.__name__
            if name in _READ_OPS:
                self.reads.record(f"aten.{name}", from_patch=False)
            elif name == "repeat_interleave" and kwargs.get("output_size") is None and len(args) == 1:
                self.reads.record("aten.repeat_interleave(no output_size)", from_patch=False)
            elif name in ("_to_copy", "copy_") and _is_device_to_host(name, args, kwargs):
                self.reads.record(f"aten.{name}(to cpu)", from_patch=False)
            return func(*args, **kwargs)


def _is_device_to_host(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    if name == "copy_":
        dst, src = args[0], args[1]
        return dst.device.type == "cpu" and src.device.type not in ("cpu", "meta")
    src, target = args[0], kwargs.get("device")
    return target is not None and torch.device(target).type == "cpu" and src.device.type not in ("cpu", "meta")


@contextlib.contextmanager
def _counting() -> Iterator[HostReads]:
    reads = HostReads()
    originals = {name: getattr(torch.Tensor, name) for name in _PATCHED}

    def wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            reads.record(f"Tensor.{name}", from_patch=True)
            reads._inside_patch += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                reads._inside_patch -= 1

        return patched

    for name, original in originals.items():
        setattr(torch.Tensor, name, wrap(name, original))
    mode = _ReadCounterMode(reads) if TorchDispatchMode is not None else contextlib.nullcontext()
    try:
        with mode:
            yield reads
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


@pytest.fixture(scope="session")
def count_host_reads() -> Callable[[], Any]:
    """``with count_host_reads() as reads: ...; assert reads.count == 0``."""
    return _counting


@contextlib.contextmanager
def _device_path() -> Iterator[None]:
    """Run the branch-free path that CUDA (and torch.compile) use, on CPU tensors."""
    saved = _engine.CPU_HOST_READ
    _engine.CPU_HOST_READ = False
    try:
        yield
    finally:
        _engine.CPU_HOST_READ = saved


@pytest.fixture(scope="session")
def device_path() -> Callable[[], Any]:
    return _device_path


@pytest.fixture(params=["cpu-gated", "branch-free"])
def norm_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test using this runs once per norm strategy."""
    if request.param == "branch-free":
        with _device_path():
            yield request.param
    else:
        yield request.param


def reference_tensor_norm(t: torch.Tensor, p: float) -> float:
    """Per-tensor p-norm from exact float64 values, scaled by the max so nothing overflows."""
    x = t.detach().to(torch.float64).abs().reshape(-1)
    if x.numel() == 0:
        return 0.0
    if torch.isnan(x).any():
        return math.nan
    if p == 0:
        return float(torch.count_nonzero(x))
    if p == math.inf:
        return float(x.max())
    if p == -math.inf:
        return float(x.min())
    top = float(x.max())
    if top == 0 or math.isinf(top):
        return top
    return _scaled_root(float(((x / top) ** p).sum()), top, p)


def _scaled_root(powsum: float, top: float, p: float) -> float:
    # top * powsum ** (1/p), in logs when the product would overflow a float
    try:
        return top * powsum ** (1.0 / p)
    except OverflowError:
        return math.inf


def reference_total_norm(tensors: Sequence[torch.Tensor | None], p: float) -> float:
    """Total p-norm of the non-None tensors, from the per-tensor references."""
    norms = [reference_tensor_norm(t, p) for t in tensors if t is not None and t.numel() > 0]
    if not norms:
        return 0.0
    if any(math.isnan(r) for r in norms):
        return math.nan
    if p == 0:
        return float(sum(norms))
    if p == math.inf:
        return max(norms)
    if p == -math.inf:
        return min(norms)
    top = max(norms)
    if top == 0 or math.isinf(top):
        return top
    return _scaled_root(sum((r / top) ** p for r in norms), top, p)


def assert_close_to_reference(result: torch.Tensor, expected: float, rel: float) -> None:
    """NaN/inf must match exactly; finite values to ``rel`` (or the dtype's subnormal step)."""
    value = float(result)
    if math.isnan(expected):
        assert math.isnan(value), f"expected NaN, got {value}"
        return
    info = torch.finfo(result.dtype)
    if expected > info.max * (1 + info.eps):
        assert value == math.inf, f"expected inf (reference {expected:.6e} exceeds {result.dtype}), got {value}"
        return
    if math.isinf(expected):
        assert value == math.inf, f"expected inf, got {value}"
        return
    floor = info.tiny * info.eps  # the dtype's smallest subnormal step
    assert abs(value - expected) <= rel * abs(expected) + floor, (
        f"got {value!r}, reference {expected!r}, rel err {abs(value - expected) / max(abs(expected), 1e-300):.3e}"
    )


@pytest.fixture(scope="session")
def reference() -> Any:
    """The reference helpers as a namespace (fixtures, so no test-package import is needed)."""

    class _Reference:
        tensor_norm = staticmethod(reference_tensor_norm)
        total_norm = staticmethod(reference_total_norm)
        assert_close = staticmethod(assert_close_to_reference)

    return _Reference
