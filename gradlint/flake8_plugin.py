"""A flake8 plugin (``flake8 --select GL``), as TorchFix ships one: gradlint's per-file rules
with the same settings resolution as ``gradlint check`` (the nearest config above each file).

flake8 checks one file at a time, so the project rule GL004 (duplicates across files) and
fixes are ``gradlint check``'s alone. flake8 applies ``# noqa`` itself.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from typing import Any

from gradlint import __version__

_ENGINES: dict[int, Any] = {}
_RESOLVER: Any = None


def _engine_for(filename: str) -> Any:
    global _RESOLVER
    from gradlint.cli import SettingsResolver
    from gradlint.engine import Engine

    if _RESOLVER is None:
        _RESOLVER = SettingsResolver()
    settings = _RESOLVER.for_file(filename)
    engine = _ENGINES.get(id(settings))
    if engine is None:
        engine = _ENGINES[id(settings)] = (Engine(settings), settings)
    return engine


class GradlintChecker:
    """flake8 calls ``run()`` once per file; errors are ``(row, col0, "GLxxx message", type)``."""

    name = "gradlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from gradlint.fileinfo import describe_file
        from gradlint.findings import PARSE_ERROR_CODE

        path = self.filename if self.filename not in ("-", "stdin") else os.path.join(os.getcwd(), "stdin.py")
        engine, settings = _engine_for(path)
        result = engine.check_text("".join(self.lines), describe_file(path))
        for finding in result.findings:
            # flake8 reports its own E999 for code that does not parse.
            if finding.code == PARSE_ERROR_CODE:
                continue
            yield finding.location.row, finding.location.column - 1, f"{finding.code} {finding.message}", type(self)
