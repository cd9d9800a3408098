"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request,
with the fix's help line as ruff writes it."""

from __future__ import annotations

from gradlint.findings import Finding
from gradlint.reporters import ReportContext
from gradlint.reporters.text import position
from gradlint.runner import RunResult

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _line(finding: Finding) -> str:
    location, end = finding.location, finding.end_location
    properties = ",".join(
        [
            f"title={_escape_property(f'gradlint ({finding.code})')}",
            f"file={_escape_property(finding.path)}",
            f"line={location.row}",
            f"col={location.column}",
            f"endLine={end.row}",
            f"endColumn={end.column}",
        ]
    )
    message = f"{position(finding)}: {finding.code} {finding.message}"
    if finding.fix is not None:
        message += f"\n  help: {finding.fix.message}"
    return f"::error {properties}::{_escape_data(message)}"


def render(run: RunResult, context: ReportContext | None = None) -> str:
    return "".join(_line(finding) + "\n" for finding in run.findings)
