"""The concise format, ``path:row:col: CODE [*] message``, the summary and ``--statistics``."""

from __future__ import annotations

import json
from collections import Counter

from gradlint.findings import Finding
from gradlint.reporters import ReportContext, rule_name
from gradlint.runner import RunResult


def position(finding: Finding) -> str:
    """``path:row:col``, or ``path:cell N:row:col`` in a notebook."""
    row, column = finding.location.row, finding.location.column
    cell = getattr(finding, "cell", None)
    if cell is not None:
        return f"{finding.path}:cell {cell}:{row}:{column}"
    return f"{finding.path}:{row}:{column}"


def _line(finding: Finding, context: ReportContext) -> str:
    marker = " [*]" if context.applicable(finding) else ""
    return f"{position(finding)}: {finding.code}{marker} {finding.message}"


def render(run: RunResult, context: ReportContext | None = None) -> str:
    context = context or ReportContext()
    return "".join(_line(finding, context) + "\n" for finding in run.findings)


def summary(run: RunResult, *, fixed: int, fixing: bool, unsafe: bool) -> str:
    findings = run.findings
    if not findings:
        if fixed:
            return f"Found {fixed} error{'s' * (fixed != 1)} ({fixed} fixed, 0 remaining).\n"
        if run.internal_errors:
            # Never "All checks passed!" when something was not checked.
            failed = len(run.internal_errors)
            return f"No findings, but {failed} error{'s' * (failed != 1)} stopped checking (see above).\n"
        return "All checks passed!\n"
    total = len(findings) + fixed
    if fixing:
        head = f"Found {total} error{'s' * (total != 1)} ({fixed} fixed, {len(findings)} remaining).\n"
    else:
        head = f"Found {total} error{'s' * (total != 1)}.\n"
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
    hidden = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "unsafe")
    if not fixing:
        fixable = safe + (hidden if unsafe else 0)
        if fixable:
            option = "`--fix --unsafe-fixes`" if unsafe and hidden else "`--fix`"
            head += f"[*] {fixable} fixable with the {option} option.\n"
    if hidden and not unsafe:
        head += f"({hidden} hidden fix{'es' * (hidden != 1)} can be enabled with the `--unsafe-fixes` option.)\n"
    return head


def _counts(run: RunResult, context: ReportContext) -> list[tuple[str, int, int]]:
    counts = Counter(finding.code for finding in run.findings)
    fixable = Counter(finding.code for finding in run.findings if context.applicable(finding))
    return [
        (code, count, fixable[code])
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def statistics(run: RunResult, context: ReportContext | None = None) -> str:
    context = context or ReportContext()
    lines = []
    for code, count, fixable in _counts(run, context):
        marker = "[*]" if fixable else "[ ]"
        lines.append(f"{count:>5}\t{code}\t{marker} {rule_name(code)}")
    return "".join(line + "\n" for line in lines)


def statistics_json(run: RunResult, context: ReportContext | None = None) -> str:
    """ruff's ``--statistics --output-format json``."""
    context = context or ReportContext()
    rows = [
        {"code": code, "name": rule_name(code), "count": count, "fixable": fixable > 0, "fixable_count": fixable}
        for code, count, fixable in _counts(run, context)
    ]
    return json.dumps(rows, indent=2) + "\n"
