"""Turn every rule's VALID/INVALID examples into checks (used by the test suite).

The same examples are rendered by ``gradlint explain``, so documentation and tests cannot
disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from gradlint.config import Settings
from gradlint.fileinfo import FileInfo
from gradlint.engine import Engine
from gradlint.findings import Finding
from gradlint.rule import NO_FIX, Invalid, Rule, Valid  # Rule: any rule class (ast or libcst)
from gradlint.rules import all_rules

_TEST_DIRS = {"tests", "test", "testing"}


def example_info(path: str) -> FileInfo:
    """File facts for an example's virtual path (no filesystem lookup)."""
    parts = path.split("/")
    name = parts[-1]
    return FileInfo(
        path=path,
        package=parts[0] if len(parts) > 1 else None,
        is_test_file=name.startswith("test_") or name == "conftest.py" or bool(set(parts[:-1]) & _TEST_DIRS),
    )


def engine_for(rule: type[Rule], options: Mapping[str, Any]) -> Engine:
    return Engine(replace(Settings(), select=(rule.code,), options=dict(options)))


def examples() -> Iterator[tuple[str, type[Rule], Valid | Invalid]]:
    for rule in all_rules():
        for index, valid in enumerate(rule.VALID):
            yield f"{rule.code}-valid-{index}", rule, valid
        for index, invalid in enumerate(rule.INVALID):
            yield f"{rule.code}-invalid-{index}", rule, invalid


def rule_findings(rule: type[Rule], code: str, path: str, options: Mapping[str, Any]) -> list[Finding]:
    engine = engine_for(rule, options)
    result = engine.check_text(code, example_info(path))
    findings = [finding for finding in result.findings if finding.code == rule.code]
    if rule.PROJECT:
        # The example is a one-file project: its facts go through the reduce step.
        facts = {path: result.facts[rule.code]} if result.facts.get(rule.code) else {}
        findings += rule.reduce(facts, engine.settings)
        findings.sort(key=lambda finding: finding.sort_key)
    return findings


def check_example(rule: type[Rule], example: Valid | Invalid) -> None:
    """Raise ``AssertionError`` with a readable message when an example does not hold."""
    findings = rule_findings(rule, example.code, example.path, example.options)
    if isinstance(example, Valid):
        assert not findings, f"{rule.code} must not report:\n{example.code}\ngot: {findings}"
        return
    assert len(findings) == example.count, (
        f"{rule.code} expected {example.count} finding(s) in:\n{example.code}\ngot: {findings}"
    )
    first = findings[0]
    if example.line is not None:
        assert first.location.row == example.line, f"line {first.location.row} != {example.line}"
    if example.column is not None:
        assert first.location.column == example.column, (
            f"column {first.location.column} != {example.column}"
        )
    if example.message is not None:
        assert example.message in first.message, f"{example.message!r} not in {first.message!r}"
    if example.expected_fix is None:
        return
    engine = engine_for(rule, example.options)
    info = example_info(example.path)
    fixed, _, errors = engine.fix_text(example.code, info, unsafe=True)
    assert not errors, errors
    if example.expected_fix == NO_FIX:
        assert all(f.fix is None for f in findings), "a fix was offered"
        assert fixed == example.code
        return
    assert fixed == example.expected_fix, f"fixed code differs:\n{fixed}\n---- expected ----\n{example.expected_fix}"
    again, _, _ = engine.fix_text(fixed, info, unsafe=True)
    assert again == fixed, "fixing twice changed the code again"
