"""SARIF 2.1.0 output for code-scanning dashboards: rule metadata, levels by rule, URIs
relative to the project root (``%SRCROOT%``), percent-encoded, and partial fingerprints that
survive lines moving."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gradlint import __version__
from gradlint.findings import PARSE_ERROR_CODE, Finding
from gradlint.positions import split_lines
from gradlint.registry import PARSE_ERROR_SUMMARY
from gradlint.reporters import ReportContext, level, relative_uri_path, rule_url
from gradlint.runner import RunResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"


def _rules() -> list[dict[str, Any]]:
    # The full rule docs need the rule classes (and libcst); SARIF output is worth that.
    from gradlint.docs import rule_doc
    from gradlint.rules import all_rules

    rules = [
        {
            "id": PARSE_ERROR_CODE,
            "name": "parse-error",
            "shortDescription": {"text": PARSE_ERROR_SUMMARY},
            "defaultConfiguration": {"level": level(PARSE_ERROR_CODE)},
        }
    ]
    for rule in all_rules():
        entry: dict[str, Any] = {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "help": {"text": rule_doc(rule), "markdown": rule_doc(rule)},
            "defaultConfiguration": {"level": level(rule.code)},
        }
        url = rule_url(rule.code)
        if url:
            entry["helpUri"] = url
        rules.append(entry)
    return rules


def _artifact(path: str, root: str) -> dict[str, str]:
    relative = relative_uri_path(path, root) if path != "-" else "-"
    if relative is not None:
        return {"uri": quote(relative, safe="/"), "uriBaseId": ROOT_ID}
    return {"uri": Path(path).resolve().as_uri()}


def _line_text(context: ReportContext, path: str, row: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        text = context.source(path)
        cache[path] = [] if text is None else split_lines(text)
    lines = cache[path]
    return lines[row - 1].strip() if 1 <= row <= len(lines) else ""


def _result(finding: Finding, index: dict[str, int], context: ReportContext, fingerprint: str) -> dict[str, Any]:
    region = {
        "startLine": finding.location.row,
        "startColumn": finding.location.column,
        "endLine": finding.end_location.row,
        "endColumn": finding.end_location.column,
    }
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": level(finding.code),
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": _artifact(finding.path, context.root), "region": region}}
        ],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    return result


def render(run: RunResult, context: ReportContext | None = None) -> str:
    context = context or ReportContext()
    rules = _rules()
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    lines: dict[str, list[str]] = {}
    seen: Counter[str] = Counter()
    results = []
    for finding in run.findings:
        # The line's text, not its number: the fingerprint survives edits above it.
        text = _line_text(context, finding.path, finding.location.row, lines)
        digest = hashlib.sha256(f"{finding.code}\0{finding.path}\0{text}".encode()).hexdigest()[:16]
        seen[digest] += 1
        results.append(_result(finding, index, context, f"{digest}:{seen[digest]}"))
    root_uri = Path(context.root).resolve().as_uri().rstrip("/") + "/"
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gradlint",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {ROOT_ID: {"uri": root_uri}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
