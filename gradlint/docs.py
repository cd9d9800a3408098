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



PARSE_ERROR_DOC = (
    "# GL000 parse-error\n\nFile could not be read, decoded or parsed: the file could not be "
    "read, decoded or parsed, so no rule checked it. The message gives the reason and the "
    "location.\n"
)

UNUSED_NOQA_DOC = """# GL100 unused-noqa

A `# noqa: GLxxx` comment that suppresses nothing

## What it does
Reports a gradlint code in a `# noqa: ...` comment when no finding of that code is reported
on that line (or on the statement that starts there).

## Why is this bad
A stale suppression hides the next real finding on that line, and it documents a problem
that is no longer there. After `--add-noqa` on an existing codebase, GL100 tells you which
suppressions the fixes made unnecessary.

## Example
```python
norm = torch.linalg.vector_norm(x)  # noqa: GL001
```

## Use instead
```python
norm = torch.linalg.vector_norm(x)
```

## Fix safety
Safe: the fix removes the unused codes (the whole comment when none is left). Other tools'
codes (`# noqa: E501`) and a bare `# noqa` are never reported or touched; neither are codes of
rules that are not enabled for the file, nor GL004 (a project rule, suppressed where it reports).
"""
