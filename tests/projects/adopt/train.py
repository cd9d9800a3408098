"""A small training step with the problems gradlint fixes (a project's code, not a test)."""

from __future__ import annotations

import torch
from torch import nn


def grad_norm(model: nn.Module) -> torch.Tensor:
    return sum(p.grad.pow(2).sum() for p in model.parameters() if p.grad is not None).sqrt()


def foreach_norms(grads: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(torch._foreach_norm(grads, 2.0))


def zeros_like_grads(grads: list[torch.Tensor], device: str = "cpu") -> torch.Tensor:
    return torch.zeros(len(grads), device=device)


def main() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    model(torch.randn(8, 4)).square().sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    total = grad_norm(model)
    per = foreach_norms(grads)
    reference = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert torch.allclose(total, reference, rtol=1e-5), (total, reference)
    assert torch.allclose(torch.stack(per), torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert zeros_like_grads(grads).shape == (len(grads),)
    print("ok", float(total))


if __name__ == "__main__":
    main()
