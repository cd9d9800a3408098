"""ruff's ``full`` format: the finding, its place, a source frame with carets, the fix help."""

from __future__ import annotations

from gradlint.findings import Finding
from gradlint.positions import split_lines
from gradlint.reporters import ReportContext
from gradlint.reporters.text import position
from gradlint.runner import RunResult

CONTEXT_LINES = 2
MAX_SPAN_LINES = 6


def _frame(finding: Finding, lines: list[str]) -> list[str]:
    start, end = finding.location, finding.end_location
    if not 1 <= start.row <= len(lines):
        return []
    last = min(max(end.row, start.row), len(lines), start.row + MAX_SPAN_LINES - 1)
    first_shown = max(1, start.row - CONTEXT_LINES)
    last_shown = min(len(lines), last + CONTEXT_LINES)
    width = len(str(last_shown))
    gutter = " " * width + " |"
    out = [gutter]
    for number in range(first_shown, last_shown + 1):
        text = lines[number - 1].rstrip("\r\n")
        out.append(f"{number:>{width}} | {text}".rstrip())
        if start.row <= number <= last:
            begin = start.column - 1 if number == start.row else len(text) - len(text.lstrip())
            stop = end.column - 1 if number == end.row else len(text)
            stop = max(stop, begin + 1)
            out.append(f"{gutter} {' ' * begin}{'^' * (stop - begin)}")
    out.append(gutter)
    return out


def _block(finding: Finding, context: ReportContext, lines: list[str] | None) -> str:
    marker = " [*]" if context.applicable(finding) else ""
    out = [f"{finding.code}{marker} {finding.message}", f" --> {position(finding)}"]
    if lines is not None and getattr(finding, "cell", None) is None:
        out.extend(_frame(finding, lines))
    if finding.fix is not None:
        note = "" if context.applicable(finding) else " (unsafe: needs `--unsafe-fixes`)"
        out.append(f"help: {finding.fix.message}{note}")
    return "\n".join(out) + "\n"


def render(run: RunResult, context: ReportContext | None = None) -> str:
    context = context or ReportContext()
    blocks = []
    cache: dict[str, list[str] | None] = {}
    for finding in run.findings:
        if finding.path not in cache:
            text = context.source(finding.path)
            cache[finding.path] = None if text is None else split_lines(text, keepends=True)
        blocks.append(_block(finding, context, cache[finding.path]))
    return "".join(block + "\n" for block in blocks)
