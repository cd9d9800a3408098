"""``GradNormMonitor``: a ``lightning.pytorch`` callback that logs pre- and post-clip gradient norms.

Needs the optional extra: ``pip install gradlint-runtime[lightning]`` (the rest of the
package needs only torch).

    trainer = Trainer(gradient_clip_val=1.0, callbacks=[GradNormMonitor()])

On every logged step (``trainer.log_every_n_steps`` by default) it logs

- ``grad_norm_preclip``: the total norm of the optimizer's gradients before the trainer clips
  them (measured in ``on_before_optimizer_step``, which Lightning calls just before clipping);
- ``grad_norm_postclip``: the norm after clipping. With the trainer's norm clipping
  (``gradient_clip_algorithm="norm"``) it is derived from the pre-clip norm and
  ``gradient_clip_val`` with torch's rule; with value clipping, or when the module overrides
  ``configure_gradient_clipping`` (clipping elsewhere), it is measured after the optimizer step;
- with ``health=True``, the health metrics (``grad_health/...``); with ``per_parameter=True``,
  Lightning's ``grad_norm`` keys (``grad_2.0_norm/<name>``); with ``seeds``, a host/seed
  breakdown per seed module (``grad_seed/<name>/...``).

Everything logged on a step is read to the host with one read; unlogged steps cost nothing.
The values are Python floats, so Lightning's logging adds no read of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.model_helpers import is_overridden

from .collectors import GradientCollector, GradientStats, named_norms
from .dual import DualGradientCollector, DualGradientStats
from .hooks import measured_norm, metric_values, post_clip_norm
from .norms import check_order

__all__ = ["GradNormMonitor"]


class GradNormMonitor(Callback):
    """Log ``grad_norm_preclip`` / ``grad_norm_postclip`` (and health metrics) from Lightning.

    Args:
        every_n_steps: log every n optimizer steps; ``None`` follows ``log_every_n_steps``.
        norm_type: the order of the norms (2.0 like the trainer's clipping).
        health: also log ``GradientHealthMetrics.to_dict()`` under ``grad_health/``.
        per_parameter: also log each parameter's norm (Lightning's ``grad_norm`` keys).
        seeds: ``seeds(pl_module) -> {name: submodule}``: log each seed module against the
            rest of the model (the host, collected once per step): ``grad_seed/<name>/...``.
        measure_post_clip: ``None`` decides as described in the module docstring; ``True``
            always measures after the step; ``False`` always derives it.
        collector: a ``GradientCollector`` with your thresholds.
        prog_bar: also show the two norms in the progress bar.
    """

    def __init__(
        self,
        every_n_steps: int | None = None,
        *,
        norm_type: float = 2.0,
        health: bool = True,
        per_parameter: bool = False,
        seeds: Callable[[LightningModule], Mapping[str, torch.nn.Module]] | None = None,
        measure_post_clip: bool | None = None,
        collector: GradientCollector | None = None,
        prog_bar: bool = False,
    ) -> None:
        super().__init__()
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.norm_type = check_order(norm_type)
        self.health = health
        self.per_parameter = per_parameter
        self.seeds = seeds
        self.measure_post_clip = measure_post_clip
        self.collector = collector or GradientCollector(norm_type=self.norm_type)
        self.prog_bar = prog_bar
        self._pending: tuple[Any, ...] | None = None

    def _due(self, trainer: Trainer) -> bool:
        every = self.every_n_steps or trainer.log_every_n_steps
        if not every:
            return False
        # the step about to be taken is number global_step + 1: Lightning's logger writes
        # on-step values when that number is a multiple of log_every_n_steps
        return (trainer.global_step + 1) % every == 0

    def _measures(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        if self.measure_post_clip is not None:
            return self.measure_post_clip
        algorithm = str(getattr(trainer, "gradient_clip_algorithm", None) or "norm")
        return (
            is_overridden("configure_gradient_clipping", pl_module, LightningModule)
            or (bool(trainer.gradient_clip_val) and not algorithm.lower().endswith("norm"))
        )

    def on_before_optimizer_step(self, trainer: Trainer, pl_module: LightningModule, optimizer: Any) -> None:
        self._pending = None
        if not self._due(trainer):
            return
        params = [p for group in optimizer.param_groups for p in group["params"]]
        stats = self.collector.collect_async(params)
        named = named_norms(pl_module, self.norm_type) if self.per_parameter else None
        seeds = self._seed_stats(pl_module, params) if self.seeds is not None else None
        measure = self._measures(trainer, pl_module)
        post = None if measure else post_clip_norm(stats.total_norm, trainer.gradient_clip_val)
        self._pending = (params, stats, post, named, seeds)

    def _seed_stats(self, pl_module: LightningModule, params: list[Any]) -> dict[str, DualGradientStats]:
        assert self.seeds is not None
        modules = dict(self.seeds(pl_module))
        seed_ids = {id(p) for m in modules.values() for p in m.parameters()}
        dual = DualGradientCollector()
        dual.collector = self.collector
        host = dual.collect_host_async([p for p in params if id(p) not in seed_ids])
        return {name: dual.collect_seed_async(m, host) for name, m in modules.items()}

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any, **kwargs: Any) -> None:
        if self._pending is None:
            return
        params, stats, post, named, seeds = self._pending
        self._pending = None
        if post is None:  # clipped elsewhere: measure the gradients as the optimizer used them
            post = measured_norm(params, self.norm_type)
        extra, layout = _seed_pieces(seeds)
        values, rest = metric_values(self.collector, stats, post, health=self.health, named=named, extra=extra)
        values.update(_seed_values(self.collector, seeds, layout, rest))
        values = {k: float(v) for k, v in values.items()}  # Lightning logs numbers, not bools
        pl_module.log_dict(values, on_step=True, on_epoch=False, logger=True, prog_bar=False, batch_size=1)
        if self.prog_bar:
            bar = {k: values[k] for k in ("grad_norm_preclip", "grad_norm_postclip")}
            pl_module.log_dict(bar, on_step=True, on_epoch=False, logger=False, prog_bar=True, batch_size=1)


def _seed_pieces(seeds: dict[str, DualGradientStats] | None) -> tuple[torch.Tensor | None, list[tuple[str, int]]]:
    from .collectors import pack

    if not seeds:
        return None, []
    pieces, layout = [], []
    for name, s in seeds.items():
        packed = pack(s.seed)
        device = packed.device
        ratios = torch.stack([s.norm_ratio, s.seed_share, s.normalized_ratio]).to(device)
        pieces += [packed, ratios]
        layout.append((name, packed.numel()))
    return torch.cat([p.to(pieces[0].device) for p in pieces]), layout


def _seed_values(
    collector: GradientCollector,
    seeds: dict[str, DualGradientStats] | None,
    layout: list[tuple[str, int]],
    values: list[float],
) -> dict[str, float | int | bool]:
    out: dict[str, float | int | bool] = {}
    if not seeds:
        return out
    at = 0
    for name, size in layout:
        stats: GradientStats = seeds[name].seed
        metrics = collector.metrics_from(stats, values[at : at + size])
        ratio, share, normalized = values[at + size : at + size + 3]
        at += size + 3
        prefix = f"grad_seed/{name}/"
        out.update({prefix + "total_norm": metrics.total_norm, prefix + "health": metrics.health})
        out.update({prefix + "norm_ratio": ratio, prefix + "seed_share": share, prefix + "normalized_ratio": normalized})
        out[prefix + "is_healthy"] = metrics.is_healthy()
    return out
