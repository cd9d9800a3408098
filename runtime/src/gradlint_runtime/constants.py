"""The one home of gradlint's gradient-health tuning constants.

Import these instead of repeating the literals (gradlint's GL004 flags the repetition):

- ``VANISHING_THRESHOLD``: a gradient tensor whose norm is below this is "vanishing".
- ``EXPLODING_THRESHOLD``: a gradient tensor whose norm is above this is "exploding".
- ``VANISHING_HEALTH_PENALTY``: health lost per unit of vanishing-tensor ratio.
- ``EXPLODING_HEALTH_PENALTY``: health lost per unit of exploding-tensor ratio.
- ``RATIO_EPSILON``: a group norm below this makes the dual collector's ``normalized_ratio`` 0.
- ``CLIP_EPSILON``: added to the norm in the clip coefficient, as ``torch.nn.utils`` does.
"""

from __future__ import annotations

from typing import Final

VANISHING_THRESHOLD: Final[float] = 1e-7
"""Per-tensor gradient norm below which the tensor counts as vanishing."""

EXPLODING_THRESHOLD: Final[float] = 100.0
"""Per-tensor gradient norm above which the tensor counts as exploding."""

VANISHING_HEALTH_PENALTY: Final[float] = 0.5
"""Health score lost per unit of the vanishing-tensor ratio (vanishing / total tensors)."""

EXPLODING_HEALTH_PENALTY: Final[float] = 0.8
"""Health score lost per unit of the exploding-tensor ratio (exploding / total tensors)."""

RATIO_EPSILON: Final[float] = 1e-12
"""Group norms below this make ``normalized_ratio`` 0 (no gradient to compare, never inf)."""

CLIP_EPSILON: Final[float] = 1e-6
"""Added to the total norm in ``max_norm / (norm + eps)``, matching ``clip_grad_norm_``."""

__all__ = [
    "CLIP_EPSILON",
    "EXPLODING_HEALTH_PENALTY",
    "EXPLODING_THRESHOLD",
    "RATIO_EPSILON",
    "VANISHING_HEALTH_PENALTY",
    "VANISHING_THRESHOLD",
]
