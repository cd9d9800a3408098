"""gradlint: a linter with autofix for PyTorch gradient-norm code."""

from __future__ import annotations

__version__ = "0.1.0"
