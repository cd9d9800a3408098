"""Rule documentation rendered from the rule's own source: docstring and examples."""

from __future__ import annotations

import inspect

from gradlint.rule import Rule


def rule_doc(rule: type[Rule]) -> str:
    """The docstring sections, then the rule's INVALID and VALID examples."""
    lines = [f"# {rule.code} {rule.name}", "", rule.summary, ""]
    lines.append(inspect.cleandoc(rule.docstring()).strip())
    if rule.INVALID:
        lines += ["", "## Flagged (examples that are also tests)"]
        for example in rule.INVALID:
            lines += ["", "```python", example.code.rstrip("\n"), "```"]
            if example.expected_fix and example.expected_fix != "<no fix>":
                lines += ["Fixed:", "```python", example.expected_fix.rstrip("\n"), "```"]
    if rule.VALID:
        lines += ["", "## Not flagged"]
        for example in rule.VALID:
            lines += ["", "```python", example.code.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"

