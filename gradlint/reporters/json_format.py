"""JSON output with ruff's schema, so tools that read ``ruff --output-format json`` read ours;
``json-lines`` is the same objects, one per line."""

from __future__ import annotations

import json
import os
from typing import Any

from gradlint.findings import Edit, Finding, Location
from gradlint.reporters import ReportContext, level, rule_name, rule_url
from gradlint.runner import RunResult


def _location(location: Location) -> dict[str, int]:
    return {"column": location.column, "row": location.row}


def _edit(edit: Edit) -> dict[str, Any]:
    return {
        "content": edit.content,
        "end_location": _location(edit.end_location),
        "location": _location(edit.location),
    }


def finding_to_json(finding: Finding) -> dict[str, Any]:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "edits": [_edit(edit) for edit in finding.fix.edits],
            "message": finding.fix.message,
        }
    return {
        # In a notebook, the cell number; rows and columns are then within the cell.
        "cell": getattr(finding, "cell", None),
        "code": finding.code,
        "end_location": _location(finding.end_location),
        "filename": os.path.abspath(finding.path) if finding.path != "-" else "-",
        "fix": fix,
        "location": _location(finding.location),
        "message": finding.message,
        "name": rule_name(finding.code),
        "noqa_row": finding.noqa_row,
        "severity": "error" if level(finding.code) == "error" else "warning",
        "url": rule_url(finding.code),
    }


def render(run: RunResult, context: ReportContext | None = None) -> str:
    return json.dumps([finding_to_json(f) for f in run.findings], indent=2) + "\n"


def render_lines(run: RunResult, context: ReportContext | None = None) -> str:
    return "".join(json.dumps(finding_to_json(f), separators=(",", ":")) + "\n" for f in run.findings)
