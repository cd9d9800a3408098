"""Training-loop integration without Lightning: clip, measure and log gradients in one pass.

``GradNormHook`` is called once per optimizer step, after ``backward()`` and before
``optimizer.step()`` (by hand, or installed with ``attach(optimizer)`` as an optimizer
step pre-hook). On logged steps it reads everything it logs with one host read; on the other
steps it only clips (no read at all).

    hook = GradNormHook(model, max_norm=1.0, every_n_steps=50, log=wandb.log)
    for batch in loader:
        loss = model(batch).loss
        loss.backward()
        hook.step()             # clips to 1.0; every 50 steps returns and logs the metrics
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

The logged keys are ``grad_norm_preclip``, ``grad_norm_postclip`` (equal to the pre-clip norm
when ``max_norm`` is None) and, with ``health=True``, ``GradientHealthMetrics.to_dict()``
under ``grad_health/``; with ``per_parameter=True`` the ``named_norms`` keys
(Lightning's ``grad_norm`` names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from .clip import clip_grad_norm_
from .collectors import GradientCollector, GradientStats, pack
from .norms import check_order, result_dtype, total_norm_f64

Values = dict[str, float | int | bool]


def metric_values(
    collector: GradientCollector,
    stats: GradientStats,
    post: Tensor,
    *,
    health: bool,
    named: dict[str, Tensor] | None = None,
    extra: Tensor | None = None,
) -> tuple[Values, list[float]]:
    """The logged values from device results, with exactly one host read.

    ``extra``: more float64 values to read in the same read (returned as the second item).
    """
    device = stats.total_norm.device
    pieces = [torch.stack([stats.total_norm, post.to(device=device, dtype=torch.float64)]), pack(stats)]
    names = list(named) if named else []
    if names:
        pieces.append(torch.stack([named[k].to(device=device, dtype=torch.float64) for k in names]))
    if extra is not None:
        pieces.append(extra.to(device=device, dtype=torch.float64))
    values = torch.cat(pieces).tolist()  # the one read
    out: Values = {"grad_norm_preclip": values[0], "grad_norm_postclip": values[1]}
    packed = values[2 : 2 + pieces[1].numel()]
    at = 2 + len(packed)
    if health:
        out.update(collector.metrics_from(stats, packed).to_dict("grad_health/"))
    for k, name in enumerate(names):
        out[name] = values[at + k]
    at += len(names)
    return out, values[at:]


def post_clip_norm(pre: Tensor, max_norm: float | None) -> Tensor:
    """The norm after ``clip_grad_norm_(max_norm)`` from the norm before it (torch's rule:
    ``pre * min(1, max_norm / (pre + 1e-6))``, applied as the coefficient is)."""
    from .clip import clip_coefficient

    if not max_norm or max_norm <= 0:
        return pre
    return pre * clip_coefficient(pre, float(max_norm))


def measured_norm(parameters: list[Tensor], norm_type: float) -> Tensor:
    """The current total norm of the parameters' gradients (float64, no host read)."""
    grads = [p.grad for p in parameters if p.grad is not None and p.grad.numel() > 0]
    return total_norm_f64(grads, check_order(norm_type), dtype=result_dtype(grads))[1]


class GradNormHook:
    """Clip and log gradient norms in a plain PyTorch loop (see the module docstring).

    Args:
        parameters: a module (its parameters, with names for ``per_parameter``) or parameters.
        max_norm: clip to this total norm (``None``: measure only, never clip).
        norm_type: the order of the norms.
        every_n_steps: log on every n-th call of ``step``; the other calls only clip.
        log: called as ``log(values, step)`` on logged steps (e.g. ``wandb.log``'s shape is
            ``log(values, step=step)``: wrap it in a lambda).
        health: also log the health metrics (``grad_health/...``).
        per_parameter: also log each parameter's norm (needs a module).
        collector: the ``GradientCollector`` (thresholds); default thresholds otherwise.
    """

    def __init__(
        self,
        parameters: torch.nn.Module | Iterable[torch.nn.Parameter],
        max_norm: float | None = None,
        *,
        norm_type: float = 2.0,
        every_n_steps: int = 1,
        log: Callable[[Values, int], Any] | None = None,
        health: bool = True,
        per_parameter: bool = False,
        collector: GradientCollector | None = None,
    ) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.module = parameters if isinstance(parameters, torch.nn.Module) else None
        if per_parameter and self.module is None:
            raise ValueError("per_parameter=True needs the module (for the parameter names)")
        self.parameters = list(parameters.parameters() if isinstance(parameters, torch.nn.Module) else parameters)
        self.max_norm = max_norm
        self.norm_type = check_order(norm_type)
        self.every_n_steps = every_n_steps
        self.log = log
        self.health = health
        self.per_parameter = per_parameter
        self.collector = collector or GradientCollector(norm_type=self.norm_type)
        self.steps = 0
        self.last: Values | None = None

    def step(self) -> Values | None:
        """Clip (when ``max_norm`` is set) and, on a logged step, return and log the values."""
        self.steps += 1
        if self.steps % self.every_n_steps:
            if self.max_norm is not None:
                clip_grad_norm_(self.parameters, self.max_norm, self.norm_type)
            return None
        named = None
        if self.per_parameter:
            from .collectors import named_norms

            assert self.module is not None
            named = named_norms(self.module, self.norm_type)
        if self.max_norm is not None:
            stats = self.collector.collect_and_clip_async(self.parameters, self.max_norm)
            post = stats.post_clip_norm
        else:
            stats = self.collector.collect_async(self.parameters)
            post = stats.total_norm
        assert post is not None
        values, _ = metric_values(self.collector, stats, post, health=self.health, named=named)
        self.last = values
        if self.log is not None:
            self.log(values, self.steps)
        return values

    def attach(self, optimizer: torch.optim.Optimizer) -> Any:
        """Run ``step()`` at the start of every ``optimizer.step()``; returns the hook handle
        (``handle.remove()`` detaches it). Use it when nothing else clips between backward and
        the step (the pre-hook runs before a closure, so not with closure-based optimizers
        such as LBFGS)."""

        def pre_hook(*_: Any) -> None:  # a step pre-hook must return None
            self.step()

        return optimizer.register_step_pre_hook(pre_hook)
