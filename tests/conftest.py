"""Fixtures shared by the linter tests (helpers live in ``cli_support``)."""

from __future__ import annotations

import os

from cli_support import project

__all__ = ["project"]

# The tests read findings as one line each (``path:row:col: CODE message``): the concise
# format. The default for users is ruff's ``full``; tests/test_output_formats.py checks that
# default with this variable removed.
os.environ["GRADLINT_OUTPUT_FORMAT"] = "concise"
