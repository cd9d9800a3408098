"""The edits in JSON output come from a view of the file with untouched definitions hidden:
they must be exactly the edits libcst gives on the whole file."""

from __future__ import annotations

import json

import pytest

import gradlint.fixing
from cli_support import FIXTURES, Project, run_cli

LONG_FILE = (
    "import torch\n\n\n"
    "def first(grads):\n    return torch._foreach_norm(grads, 2.0)\n\n\n"
    "class Hidden:\n    def method(self):\n        '''a docstring\n\n        over lines'''\n        return 1\n\n\n"
    "@staticmethod\ndef also_hidden(x):\n    return x\n"
    "norms = torch._foreach_norm(grads, 2.0)\n\n\n"  # right below a hidden definition
    "def last(grads):\n    if grads:\n        return torch._foreach_norm(grads, 2.0)\n    return []\n"
)


def _edits(*args: str, whole: bool) -> list[object]:
    with pytest.MonkeyPatch.context() as patch:
        if whole:
            patch.setattr(gradlint.fixing, "_hidden_view", lambda *_: None)
        result = run_cli("check", "--no-cache", "-j1", "--format", "json", *args)
    return [(f["filename"], f["location"], f["fix"]) for f in json.loads(result.stdout)]


def test_fixture_edits_are_those_of_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    found = _edits(".", whole=False)
    assert sum(1 for _, _, fix in found if fix and fix["edits"]) > 20
    assert found == _edits(".", whole=True)


def test_edits_next_to_hidden_lines_are_computed_from_the_whole_file(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("long.py", LONG_FILE)
    seen: list[bool] = []
    build = gradlint.fixing.CstIndex.__init__

    def recording(self, text: str, tree=None) -> None:  # type: ignore[no-untyped-def]
        seen.append("hidden from libcst" in text)
        build(self, text, tree)

    monkeypatch.setattr(gradlint.fixing.CstIndex, "__init__", recording)
    found = _edits("long.py", whole=False)
    assert seen == [True, False]  # the view, then the whole file for the statement below it
    assert found == _edits("long.py", whole=True)
    fixes = [fix for _, _, fix in found if fix]
    assert len(fixes) == 3 and all(fix["edits"] for fix in fixes)
    assert not any("hidden" in edit["content"] for fix in fixes for edit in fix["edits"])


def test_a_fixed_view_edit_applies_to_the_real_file(project: Project) -> None:
    """Each edit, applied alone to the original text, gives code that compiles."""
    project.write("long.py", LONG_FILE)
    for _, _, fix in _edits("long.py", whole=False):
        lines = LONG_FILE.splitlines(keepends=True)
        for edit in sorted(fix["edits"], key=lambda e: e["location"]["row"], reverse=True):  # type: ignore[index]
            first, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
            lines[first:end] = [edit["content"]]
        compile("".join(lines), "long.py", "exec")
