"""gradlint-runtime: overflow-safe, sync-free gradient norms, clipping and health telemetry.

The names here are the targets of gradlint's autofixes; their signatures are a contract.
"""

from __future__ import annotations

from .clip import ClipNorms, clip_grad_norm, clip_grad_norm_, clip_grad_norm_pre_post, clip_grads_with_norm_
from .collectors import (
    GradientCollector,
    GradientHealthMetrics,
    GradientStats,
    collect_and_clip,
    collect_async,
    named_norms,
)
from .constants import (
    CLIP_EPSILON,
    EXPLODING_HEALTH_PENALTY,
    EXPLODING_THRESHOLD,
    RATIO_EPSILON,
    VANISHING_HEALTH_PENALTY,
    VANISHING_THRESHOLD,
)
from .devices import infer_device
from .dual import (
    DualGradientCollector,
    DualGradientHealthMetrics,
    DualGradientStats,
    collect_dual_async,
    materialize_dual,
)
from .norms import foreach_norm, norm, total_norm

__version__ = "0.1.0"

__all__ = [
    "CLIP_EPSILON",
    "EXPLODING_HEALTH_PENALTY",
    "EXPLODING_THRESHOLD",
    "RATIO_EPSILON",
    "VANISHING_HEALTH_PENALTY",
    "VANISHING_THRESHOLD",
    "ClipNorms",
    "DualGradientCollector",
    "DualGradientHealthMetrics",
    "DualGradientStats",
    "GradientCollector",
    "GradientHealthMetrics",
    "GradientStats",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_norm_pre_post",
    "clip_grads_with_norm_",
    "collect_and_clip",
    "collect_async",
    "collect_dual_async",
    "foreach_norm",
    "infer_device",
    "materialize_dual",
    "named_norms",
    "norm",
    "total_norm",
]
