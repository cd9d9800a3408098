"""GradNormMonitor in a real Trainer.fit, and the plain-PyTorch GradNormHook."""

from __future__ import annotations

import math
import warnings

import gradlint_runtime as gr
import pytest
import torch
import lightning.pytorch as pl  # the [lightning] extra, which CI installs
from gradlint_runtime.hooks import GradNormHook
from gradlint_runtime.lightning import GradNormMonitor
from lightning.pytorch.loggers import Logger

STEPS = 6


class _Capture(Logger):
    """Keeps every ``log_metrics`` call: {step: metrics}."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[int, dict[str, float]] = {}

    @property
    def name(self) -> str:
        return "capture"

    @property
    def version(self) -> str:
        return "0"

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        return None

    def log_metrics(self, metrics, step=None) -> None:
        self.steps.setdefault(step, {}).update(metrics)


class _Tiny(pl.LightningModule):
    """Two linear layers; records torch's own norms before and after the trainer clips."""

    def __init__(self, clip_elsewhere: float | None = None) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
        self.seed = torch.nn.Linear(3, 3)
        self.clip_elsewhere = clip_elsewhere
        self.pre: list[float] = []
        self.post: list[float] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.seed(self.net(x)) * 50.0, y)  # large gradients: clipping bites

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1e-3)

    def _norm(self) -> float:
        return torch.nn.utils.get_total_norm([p.grad for p in self.parameters() if p.grad is not None]).item()

    def on_before_optimizer_step(self, optimizer) -> None:  # runs after the callbacks' hook, before clipping
        self.pre.append(self._norm())

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:  # after the step: clipped gradients
        self.post.append(self._norm())


class _ClipsElsewhere(_Tiny):
    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        torch.nn.utils.clip_grad_value_(self.parameters(), self.clip_elsewhere)


def _fit(module: pl.LightningModule, monitor: GradNormMonitor, **trainer_kwargs) -> _Capture:
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(STEPS * 4, 6, generator=gen), torch.randn(STEPS * 4, 3, generator=gen))
    logger = _Capture()
    trainer = pl.Trainer(
        max_steps=STEPS,
        logger=logger,
        callbacks=[monitor],
        accelerator="cpu",
        devices=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_kwargs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on dataloader workers etc.
        trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=4))
    return logger


def _logged(logger: _Capture, key: str) -> list[float]:
    return [logger.steps[s][key] for s in sorted(logger.steps) if key in logger.steps[s]]


def test_trainer_fit_logs_torchs_pre_and_post_clip_norms_every_step() -> None:
    torch.manual_seed(0)
    module = _Tiny()
    logger = _fit(module, GradNormMonitor(per_parameter=True, seeds=lambda m: {"head": m.seed}),
                  gradient_clip_val=0.5, log_every_n_steps=1)
    pre, post = _logged(logger, "grad_norm_preclip"), _logged(logger, "grad_norm_postclip")
    assert len(pre) == len(post) == len(module.pre) == len(module.post) == STEPS
    assert min(module.pre) > 0.5  # every step clips: pre and post differ
    assert pre == pytest.approx(module.pre, rel=1e-5)
    assert post == pytest.approx(module.post, rel=1e-5)
    assert post == pytest.approx([0.5] * STEPS, rel=1e-5)
    last = logger.steps[max(logger.steps)]
    assert last["grad_health/num_tensors"] == 6.0 and "grad_health/health" in last
    assert "grad_2.0_norm/net.0.weight" in last and "grad_2.0_norm_total" in last
    assert last["grad_2.0_norm_total"] == pytest.approx(module.pre[-1], rel=1e-5)
    assert 0.0 < last["grad_seed/head/seed_share"] < 1.0 and "grad_seed/head/normalized_ratio" in last


def test_post_clip_is_measured_when_the_module_clips_elsewhere() -> None:
    torch.manual_seed(0)
    module = _ClipsElsewhere(clip_elsewhere=0.01)
    logger = _fit(module, GradNormMonitor(health=False), gradient_clip_val=None, log_every_n_steps=1)
    pre, post = _logged(logger, "grad_norm_preclip"), _logged(logger, "grad_norm_postclip")
    assert pre == pytest.approx(module.pre, rel=1e-5)
    assert post == pytest.approx(module.post, rel=1e-5)
    assert all(b < a for a, b in zip(pre, post))


def test_every_n_steps_logs_only_those_steps() -> None:
    torch.manual_seed(0)
    module = _Tiny()
    logger = _fit(module, GradNormMonitor(health=False), gradient_clip_val=1.0, log_every_n_steps=2)
    pre = _logged(logger, "grad_norm_preclip")
    assert pre == pytest.approx(module.pre[1::2], rel=1e-5)


# --- plain PyTorch -------------------------------------------------------------------------


def test_plain_hook_clips_and_logs_with_one_read(count_host_reads, device_path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logged: list[tuple[int, dict]] = []
    hook = GradNormHook(model, max_norm=0.1, every_n_steps=2, log=lambda v, s: logged.append((s, v)), per_parameter=True)
    handle = hook.attach(optimizer)
    expected_pre = []
    for step in range(4):
        optimizer.zero_grad(set_to_none=True)
        (model(torch.randn(4, 5)) * 100).sum().backward()
        expected_pre.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]).item())
        with device_path(), count_host_reads() as reads:
            optimizer.step()  # the pre-hook clips (and logs on even steps)
        assert reads.count == (1 if step % 2 else 0), reads.events
        assert gr.total_norm(model).item() == pytest.approx(0.1, rel=1e-5)
    handle.remove()
    assert [s for s, _ in logged] == [2, 4]
    for (_, values), pre in zip(logged, expected_pre[1::2]):
        assert values["grad_norm_preclip"] == pytest.approx(pre, rel=1e-5)
        assert values["grad_norm_postclip"] == pytest.approx(0.1, rel=1e-5)
        assert values["grad_health/num_tensors"] == 4 and "grad_2.0_norm/0.weight" in values
    measure_only = GradNormHook([p for p in model.parameters()])
    values = measure_only.step()
    assert values is not None and values["grad_norm_preclip"] == values["grad_norm_postclip"]
    assert not math.isnan(values["grad_norm_preclip"])
