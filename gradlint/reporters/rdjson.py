"""reviewdog's rdjson (Reviewdog Diagnostic Format), with fix suggestions."""

from __future__ import annotations

import json
import os
from typing import Any

from gradlint.reporters import ReportContext, rule_url
from gradlint.runner import RunResult


def _range(start: Any, end: Any) -> dict[str, Any]:
    return {"start": {"line": start.row, "column": start.column}, "end": {"line": end.row, "column": end.column}}


def render(run: RunResult, context: ReportContext | None = None) -> str:
    diagnostics = []
    for f in run.findings:
        item: dict[str, Any] = {
            "code": {"value": f.code, **({"url": rule_url(f.code)} if rule_url(f.code) else {})},
            "location": {
                "path": os.path.abspath(f.path) if f.path != "-" else "-",
                "range": _range(f.location, f.end_location),
            },
            "message": f.message,
        }
        if f.fix is not None and f.fix.edits:
            item["suggestions"] = [
                {"range": _range(edit.location, edit.end_location), "text": edit.content} for edit in f.fix.edits
            ]
        diagnostics.append(item)
    document = {"diagnostics": diagnostics, "severity": "WARNING", "source": {"name": "gradlint"}}
    return json.dumps(document, indent=2) + "\n"
