"""Fixtures shared by the linter tests (helpers live in ``cli_support``)."""

from __future__ import annotations

from cli_support import project

__all__ = ["project"]
