"""pylint's parseable format: ``path:row: [CODE] message``."""

from __future__ import annotations

from gradlint.reporters import ReportContext
from gradlint.runner import RunResult


def render(run: RunResult, context: ReportContext | None = None) -> str:
    return "".join(f"{f.path}:{f.location.row}: [{f.code}] {f.message}\n" for f in run.findings)
