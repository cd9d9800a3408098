"""Adopting gradlint on an existing codebase: --add-noqa (idempotent) and GL100 unused-noqa."""

from __future__ import annotations

import json

from cli_support import CLEAN, FIXABLE, UNFIXABLE, Project, finding_lines, run_cli

LEGACY = (
    "import torch\n\n"
    "norms = torch._foreach_norm(grads, 2.0)  # noqa: E501\n"
    "state = torch._C._get_tracing_state()\n"
    'doc = """\n'
    "text\n"
    '""" + torch._C._foo()\n'
    "total = (\n"
    "    torch._C._bar()\n"
    ")\n"
)


def test_add_noqa_silences_every_finding_and_is_idempotent(project: Project) -> None:
    project.write("legacy.py", LEGACY)
    project.write("clean.py", CLEAN)
    before = finding_lines(run_cli("check", "-n", ".").stdout)
    assert len(before) == 4
    result = run_cli("check", "-n", "--add-noqa", ".")
    assert result.code == 0
    assert "Added 3 noqa directives." in result.stderr
    text = project.read("legacy.py")
    # Merged into the existing comment, other tools' codes kept.
    assert "norms = torch._foreach_norm(grads, 2.0)  # noqa: E501, GL002\n" in text
    assert "state = torch._C._get_tracing_state()  # noqa: GL002\n" in text
    # On the first line of the multi-line statement, never inside the string.
    assert "total = (  # noqa: GL002\n" in text
    assert 'doc = """\n' in text
    again = run_cli("check", "-n", "--add-noqa", ".")
    assert "Added 0 noqa directives." in again.stderr
    assert project.read("legacy.py") == text
    remaining = finding_lines(run_cli("check", "-n", ".").stdout)
    # The finding that sits where a comment would change a string is the one left.
    assert remaining == ["legacy.py:7:7: GL002"]
    assert project.read("clean.py") == CLEAN


def test_unused_noqa_is_reported_and_fixed(project: Project) -> None:
    project.write(
        "a.py",
        "import torch\n\n"
        "norms = torch._foreach_norm(grads, 2.0)  # noqa: GL002\n"
        "x = 1  # noqa: GL002, E501\n"
        "y = 2  # noqa: GL001\n"
        "z = 3  # noqa\n",
    )
    result = run_cli("check", "-n", ".")
    assert finding_lines(result.stdout) == ["a.py:4:8: GL100", "a.py:5:8: GL100"]
    assert "[*]" in result.stdout
    row = json.loads(run_cli("check", "-n", "--output-format", "json", ".").stdout)[0]
    assert row["code"] == "GL100" and row["fix"]["applicability"] == "safe"
    fixed = run_cli("check", "-n", "--fix", ".")
    assert fixed.code == 0, fixed.stdout
    assert project.read("a.py").splitlines()[2:] == [
        "norms = torch._foreach_norm(grads, 2.0)  # noqa: GL002",
        "x = 1  # noqa: E501",
        "y = 2",
        "z = 3  # noqa",
    ]


def test_unused_noqa_respects_selection(project: Project) -> None:
    project.write("a.py", "x = 1  # noqa: GL002\n")
    assert run_cli("check", "-n", "--ignore", "GL100", ".").code == 0
    # A code whose rule is off for this file is not judged.
    assert run_cli("check", "-n", "--select", "GL100,GL001", ".").code == 0
    assert run_cli("check", "-n", "--select", "GL100,GL002", ".").code == 1


def test_gl100_is_listed_and_explained(project: Project) -> None:
    assert "GL100  unused-noqa" in run_cli("rules").stdout
    assert "## Fix safety" in run_cli("explain", "GL100").stdout
    project.write("a.py", UNFIXABLE.replace("()\n", "()  # noqa: GL002\n") + FIXABLE.replace("import torch\n", ""))
    assert finding_lines(run_cli("check", "-n", ".").stdout) == ["a.py:5:9: GL002"]


def test_unused_noqa_checks_a_file_again_only_for_a_judged_code() -> None:
    """Other tools' codes and bare ``# noqa`` cannot give GL100, so the file is neither
    tokenized nor checked again for them (that second check cost as much as the first)."""
    from gradlint.suppression import unused_noqa_findings

    def recheck(text: str) -> list:  # type: ignore[type-arg]
        raise AssertionError("checked again")

    judged = frozenset({"GL001", "GL002"})
    for text in ("x = 1  # noqa: E501\n", "x = 1  # noqa\n", "x = 1  # noqa: F401, E501\ny = 'GL002'\n"):
        assert unused_noqa_findings(text, "a.py", [], recheck, judged) == []
    found = unused_noqa_findings("x = 1  # noqa: E501, GL002\n", "a.py", [], lambda text: [], judged)
    assert [finding.code for finding in found] == ["GL100"]
