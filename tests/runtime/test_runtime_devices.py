"""infer_device: never consumes a one-shot iterator behind the caller's back."""

from __future__ import annotations

import pytest
import torch
from gradlint_runtime import infer_device


def test_generator_is_rejected_and_left_intact() -> None:
    model = torch.nn.Linear(2, 2)
    params = model.parameters()
    with pytest.raises(TypeError, match="list"):
        infer_device(params)
    assert len(list(params)) == 2  # nothing was consumed


def test_iter_of_list_is_rejected() -> None:
    items = iter([torch.ones(1)])
    with pytest.raises(TypeError):
        infer_device(items)
    assert next(items).item() == 1.0


@pytest.mark.parametrize(
    "source",
    [
        torch.nn.Linear(2, 2),
        list(torch.nn.Linear(2, 2).parameters()),
        tuple(torch.nn.Linear(2, 2).parameters()),
        torch.nn.ParameterList([torch.nn.Parameter(torch.ones(1))]),
        torch.ones(3),
        [None, torch.ones(1)],
        {"w": torch.ones(1)}.values(),
    ],
    ids=["module", "list", "tuple", "parameter-list", "tensor", "with-none", "dict-values"],
)
def test_reiterable_sources(source) -> None:
    assert infer_device(source) == torch.device("cpu")


def test_meta_device_is_found() -> None:
    assert infer_device([torch.empty(1, device="meta")]) == torch.device("meta")
    assert infer_device(torch.nn.Linear(2, 2, device="meta")) == torch.device("meta")


def test_buffers_only_module() -> None:
    module = torch.nn.BatchNorm1d(3, affine=False, device="meta")
    assert infer_device(module) == torch.device("meta")


@pytest.mark.parametrize("empty", [[], (), None, torch.nn.ReLU(), [None]])
def test_nothing_there_gives_default_or_cpu(empty) -> None:
    assert infer_device(empty) == torch.device("cpu")
    assert infer_device(empty, default="meta") == torch.device("meta")
    assert infer_device(empty, default=torch.device("meta")) == torch.device("meta")


def test_non_iterable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        infer_device(42)  # type: ignore[arg-type]
