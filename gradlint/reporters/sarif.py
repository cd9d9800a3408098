"""SARIF 2.1.0 output, with rule metadata, for code-scanning dashboards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gradlint import __version__
from gradlint.findings import PARSE_ERROR_CODE, Finding
from gradlint.registry import PARSE_ERROR_SUMMARY
from gradlint.runner import RunResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rules() -> list[dict[str, Any]]:
    # The full rule docs need the rule classes (and libcst); SARIF output is worth that.
    from gradlint.docs import rule_doc
    from gradlint.rules import all_rules

    rules = [
        {
            "id": PARSE_ERROR_CODE,
            "name": "parse-error",
            "shortDescription": {"text": PARSE_ERROR_SUMMARY},
            "defaultConfiguration": {"level": "error"},
        }
    ]
    for rule in all_rules():
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule_doc(rule), "markdown": rule_doc(rule)},
                "defaultConfiguration": {"level": "error"},
            }
        )
    return rules


def _uri(path: str) -> str:
    if os.path.isabs(path):
        return Path(path).as_uri()
    return Path(path).as_posix()


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    region = {
        "startLine": finding.location.row,
        "startColumn": finding.location.column,
        "endLine": finding.end_location.row,
        "endColumn": finding.end_location.column,
    }
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "error",
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": _uri(finding.path)}, "region": region}}
        ],
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    return result


def render(run: RunResult) -> str:
    rules = _rules()
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gradlint",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/gradlint/",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(finding, index) for finding in run.findings],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
