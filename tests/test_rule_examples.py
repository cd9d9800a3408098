"""Every rule's VALID and INVALID examples are tests (and ``gradlint explain`` text)."""

from __future__ import annotations

import pytest

from gradlint.rule import Rule
from gradlint.testing import check_example, examples

CASES = list(examples())


@pytest.mark.parametrize(("rule", "example"), [(r, e) for _, r, e in CASES], ids=[i for i, _, _ in CASES])
def test_example(rule: type[Rule], example) -> None:
    check_example(rule, example)


def test_every_rule_has_examples_and_doc_sections() -> None:
    from gradlint.rules import all_rules

    for rule in all_rules():
        assert rule.VALID and rule.INVALID, rule.code
        doc = rule.docstring()
        for section in ("## What it does", "## Why is this bad", "## Example", "## Use instead", "## Fix safety"):
            assert section in doc, f"{rule.code} docstring lacks {section}"
