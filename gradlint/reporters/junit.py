"""JUnit XML (ruff's layout): one test suite per file, one failing test case per finding."""

from __future__ import annotations

import os
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from gradlint.findings import Finding
from gradlint.reporters import ReportContext
from gradlint.runner import RunResult


def render(run: RunResult, context: ReportContext | None = None) -> str:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in run.findings:
        by_file[finding.path].append(finding)
    total = len(run.findings)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="gradlint" tests="{total}" skipped="0" failures="{total}" errors="0">',
    ]
    for path, findings in by_file.items():
        classname = os.path.splitext(path)[0]
        out.append(
            f"    <testsuite name={quoteattr(path)} tests=\"{len(findings)}\" skipped=\"0\" errors=\"0\" "
            f'failures="{len(findings)}" package="org.gradlint">'
        )
        for f in findings:
            where = f"line {f.location.row}, col {f.location.column}"
            out += [
                f'        <testcase name="org.gradlint.{f.code}" classname={quoteattr(classname)} '
                f'line="{f.location.row}" column="{f.location.column}">',
                f"            <failure message={quoteattr(f.message)}>{escape(where)}, {escape(f.message)}</failure>",
                "        </testcase>",
            ]
        out.append("    </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
