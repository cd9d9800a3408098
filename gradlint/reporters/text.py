"""Human-readable output, one finding per line, in ruff's style."""

from __future__ import annotations

from collections import Counter

from gradlint.findings import Finding
from gradlint.registry import PARSE_ERROR_SUMMARY, meta_by_code
from gradlint.runner import RunResult


def _line(finding: Finding) -> str:
    marker = " [*]" if finding.fix is not None and finding.fix.applicability == "safe" else ""
    row, column = finding.location.row, finding.location.column
    return f"{finding.path}:{row}:{column}: {finding.code}{marker} {finding.message}"


def render(run: RunResult) -> str:
    return "".join(_line(finding) + "\n" for finding in run.findings)


def summary(run: RunResult, *, fixed: int, fixing: bool, unsafe: bool) -> str:
    findings = run.findings
    if not findings:
        if fixed:
            return f"Found {fixed} error{'s' * (fixed != 1)} ({fixed} fixed, 0 remaining).\n"
        return "All checks passed!\n"
    total = len(findings) + fixed
    if fixing:
        head = f"Found {total} error{'s' * (total != 1)} ({fixed} fixed, {len(findings)} remaining).\n"
    else:
        head = f"Found {total} error{'s' * (total != 1)}.\n"
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
    hidden = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "unsafe")
    if not fixing and safe:
        head += f"[*] {safe} fixable with the `--fix` option.\n"
    if hidden and not unsafe:
        head += f"({hidden} hidden fix{'es' * (hidden != 1)} can be enabled with the `--unsafe-fixes` option.)\n"
    return head


def statistics(run: RunResult) -> str:
    counts = Counter(finding.code for finding in run.findings)
    fixable = Counter(finding.code for finding in run.findings if finding.fix is not None)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = meta_by_code(code)
        name = rule.name if rule is not None else PARSE_ERROR_SUMMARY
        marker = "[*]" if fixable[code] else "   "
        lines.append(f"{count:>5}\t{code}\t{marker} {name}")
    return "".join(line + "\n" for line in lines)
