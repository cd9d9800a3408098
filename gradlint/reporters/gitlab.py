"""GitLab Code Quality (Code Climate) JSON: paths relative to the project root, stable
fingerprints that survive lines moving."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Any

from gradlint.reporters import ReportContext, relative_uri_path
from gradlint.runner import RunResult

_SEVERITY = {"error": "major", "warning": "minor", "note": "info"}


def render(run: RunResult, context: ReportContext | None = None) -> str:
    from gradlint.reporters import level

    context = context or ReportContext()
    root = os.environ.get("CI_PROJECT_DIR") or context.root
    seen: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for f in run.findings:
        path = relative_uri_path(f.path, root) or os.path.abspath(f.path)
        base = hashlib.sha256(f"{path}\0{f.code}\0{f.message}".encode()).hexdigest()
        seen[base] += 1
        rows.append({
            "check_name": f.code,
            "description": f"{f.code}: {f.message}",
            "severity": _SEVERITY[level(f.code)],
            "fingerprint": hashlib.sha256(f"{base}\0{seen[base]}".encode()).hexdigest()[:16],
            "location": {
                "path": path,
                "positions": {
                    "begin": {"line": f.location.row, "column": f.location.column},
                    "end": {"line": f.end_location.row, "column": f.end_location.column},
                },
            },
        })
    return json.dumps(rows, indent=2) + "\n"
